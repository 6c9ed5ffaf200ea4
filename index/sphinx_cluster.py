"""A development cluster of real ``searchd`` processes on loopback: shards × mirrors.

``start_cluster(DIR, shards=2, replicas=2)`` writes one config per node (the RT indexes
``kb_rt`` (passages) and ``kb_meta_rt`` (documents, vocabulary, version) of that node's shard,
and the distributed indexes ``kb`` and ``kb_meta`` that fan a query out to every shard, one
mirror each), starts the nodes, and records them in ``DIR/cluster.json``. ``stop_cluster(DIR)``
stops them by their recorded pids (checking that each pid is still that node's searchd).
The ``KB_SPHINX_NODES`` value lists the SphinxQL addresses: shards separated by ``,``,
mirrors of a shard by ``|``.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .base import BackendUnavailable

STATE = "cluster.json"
RT_INDEX = "kb_rt"
DIST_INDEX = "kb"
META_RT_INDEX = "kb_meta_rt"
META_DIST_INDEX = "kb_meta"

# Shared by every node and by production configs (README "Scaling out"): the analysis must be
# the same on every shard. The charset table folds accents and case (see ``charset_table``);
# apostrophes and dots are ignored so that "China's" is "chinas" (stemmed "china") and "U.S."
# is "us", as in the embedded engine.
RT_SETTINGS = """\
    type = rt
    rt_mem_limit = {mem_limit}
    dict = keywords
    morphology = stem_en
    charset_table = {charset_table}
    ignore_chars = U+27, U+2019, U+2E
    min_prefix_len = 1
    index_exact_words = 1
    index_field_lengths = 1
    rt_field = content
    rt_field = title
    rt_field = section
    rt_field = keys
    rt_attr_uint = ordinal
    rt_attr_bigint = doc_key
    rt_attr_multi = tag_ids
    rt_attr_string = document_id
    rt_attr_string = tags
    rt_attr_string = data
"""

META_SETTINGS = """\
    type = rt
    rt_mem_limit = {mem_limit}
    dict = keywords
    charset_table = {charset_table}
    min_prefix_len = 1
    rt_field = word
    rt_field = grams
    rt_attr_uint = kind
    rt_attr_uint = ordinal
    rt_attr_bigint = doc_key
    rt_attr_string = document_id
    rt_attr_string = data
"""


# Letters and digits of these blocks are word characters (Latin, Greek, Cyrillic, Hebrew,
# Arabic, kana, CJK ideographs, Hangul); everything else separates words, as ``\\w`` does.
WORD_BLOCKS = ((0xC0, 0x24F), (0x370, 0x52F), (0x5D0, 0x5EA), (0x620, 0x64A), (0x3041, 0x30FF),
               (0x4E00, 0x9FFF), (0xAC00, 0xD7A3))


def charset_table() -> str:
    """Sphinx ``charset_table``: ASCII letters and digits, ``_``, and the letters of
    ``WORD_BLOCKS`` lowercased with accents folded (``É`` → ``e``), like the embedded analyzer."""
    import unicodedata
    parts = ["0..9", "A..Z->a..z", "_", "a..z"]
    run_start = run_end = None
    for block_start, block_end in WORD_BLOCKS:
        for code in range(block_start, block_end + 1):
            char = chr(code)
            if not (char.isalpha() or char.isdigit()):
                continue
            base = "".join(c for c in unicodedata.normalize("NFKD", char.lower())
                           if not unicodedata.combining(c))
            target = base if len(base) == 1 and (base.isalpha() or base.isdigit()) else char.lower()
            if len(target) != 1:
                target = char
            if target == char:  # a letter of its own: extend the identity run
                if run_end is not None and code == run_end + 1:
                    run_end = code
                    continue
                if run_start is not None:
                    parts.append(_range(run_start, run_end))
                run_start = run_end = code
            else:
                parts.append(f"U+{code:X}->{_char(target)}")
    if run_start is not None:
        parts.append(_range(run_start, run_end))
    lines, line = [], []
    for part in parts:  # searchd refuses long config lines: continue them with a backslash
        line.append(part)
        if sum(len(p) + 2 for p in line) > 900:
            lines.append(", ".join(line))
            line = []
    lines.append(", ".join(line))
    return ", \\\n        ".join(line for line in lines if line)


def _char(char: str) -> str:
    return char if char.isascii() and char.isalnum() else f"U+{ord(char):X}"


def _range(start: int, end: int) -> str:
    return f"U+{start:X}" if start == end else f"U+{start:X}..U+{end:X}"


class ClusterError(BackendUnavailable):
    """The cluster cannot be started, stopped or read; the message says which node and why."""


@dataclass
class Node:
    name: str
    shard: int
    replica: int
    host: str
    sql_port: int
    api_port: int
    pid: int = 0

    @property
    def sql_address(self) -> str:
        return f"{self.host}:{self.sql_port}"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def nodes_value(nodes: list[Node]) -> str:
    """The ``KB_SPHINX_NODES`` value: ``h:p|h:p,h:p|h:p`` (shards by ``,``, mirrors by ``|``)."""
    shards: dict[int, list[str]] = {}
    for node in sorted(nodes, key=lambda n: (n.shard, n.replica)):
        shards.setdefault(node.shard, []).append(node.sql_address)
    return ",".join("|".join(mirrors) for _, mirrors in sorted(shards.items()))


def parse_nodes(value: str) -> list[list[tuple[str, int]]]:
    """``h:p|h:p,h:p`` → ``[[(h, p), (h, p)], [(h, p)]]``; a clear error when malformed."""
    shards = []
    for shard_text in (value or "").split(","):
        mirrors = []
        for address in shard_text.split("|"):
            host, sep, port = address.strip().rpartition(":")
            if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ClusterError(f"KB_SPHINX_NODES: '{address.strip()}' is not host:port "
                                   "(shards separated by ',', mirrors by '|')")
            mirrors.append((host, int(port)))
        shards.append(mirrors)
    return shards


def node_config(node: Node, nodes: list[Node], home: Path, mem_limit: str = "64M") -> str:
    """searchd.conf of one node: its shard's RT indexes and the distributed indexes over all."""
    shards: dict[int, list[Node]] = {}
    for n in sorted(nodes, key=lambda n: (n.shard, n.replica)):
        shards.setdefault(n.shard, []).append(n)

    def agents(index: str) -> str:
        return "\n".join("    agent = " + "|".join(f"{m.host}:{m.api_port}:{index}" for m in mirrors)
                         for _, mirrors in sorted(shards.items()))

    table = charset_table()
    dist_options = ("    agent_connect_timeout = 300\n    agent_query_timeout = 10000\n"
                    "    ha_strategy = nodeads\n")
    return (f"index {RT_INDEX}\n{{\n    path = {home / 'data' / RT_INDEX}\n"
            f"{RT_SETTINGS.format(mem_limit=mem_limit, charset_table=table)}}}\n\n"
            f"index {META_RT_INDEX}\n{{\n    path = {home / 'data' / META_RT_INDEX}\n"
            f"{META_SETTINGS.format(mem_limit='32M', charset_table=table)}}}\n\n"
            f"index {DIST_INDEX}\n{{\n    type = distributed\n{agents(RT_INDEX)}\n{dist_options}}}\n\n"
            f"index {META_DIST_INDEX}\n{{\n    type = distributed\n{agents(META_RT_INDEX)}\n"
            f"{dist_options}}}\n\n"
            "searchd\n{\n"
            f"    listen = {node.host}:{node.sql_port}:mysql41\n"
            f"    listen = {node.host}:{node.api_port}\n"
            f"    log = {home / 'searchd.log'}\n"
            f"    query_log = {home / 'query.log'}\n"
            f"    pid_file = {home / 'searchd.pid'}\n"
            f"    binlog_path = {home / 'data'}\n"
            "    workers = threads\n"
            "    watchdog = 0\n"
            "    collation_server = binary\n"
            "    max_packet_size = 128M\n"
            "    expansion_limit = 500\n"
            "    agent_retry_count = 2\n"
            "    read_timeout = 5\n"
            "    client_timeout = 300\n"
            "    shutdown_timeout = 1\n"
            "    seamless_rotate = 0\n"
            "}\n")


# ---------------------------------------------------------------------- lifecycle

def start_cluster(directory: str | os.PathLike, shards: int = 2, replicas: int = 2,
                  host: str = "127.0.0.1", searchd: str = "searchd", timeout: float = 30.0,
                  mem_limit: str = "64M") -> list[Node]:
    """Write the configs, start every node, wait until each answers SphinxQL."""
    directory = Path(directory).resolve()
    if shards < 1 or replicas < 1:
        raise ClusterError("a cluster needs at least one shard and one replica")
    binary = shutil.which(searchd)
    if binary is None:
        raise ClusterError(f"'{searchd}' not found: install sphinxsearch (apt-get install sphinxsearch)")
    state = directory / STATE
    if state.exists() and any(_alive(n, directory) for n in _load(directory)):
        raise ClusterError(f"a cluster is already running in {directory} (kb cluster stop --dir {directory})")
    directory.mkdir(parents=True, exist_ok=True)
    nodes = [Node(f"s{s}r{r}", s, r, host, free_port(host), free_port(host))
             for s in range(shards) for r in range(replicas)]
    for node in nodes:
        home = directory / node.name
        (home / "data").mkdir(parents=True, exist_ok=True)
        (home / "searchd.conf").write_text(node_config(node, nodes, home, mem_limit), encoding="utf-8")
    started: list[Node] = []
    try:
        for node in nodes:
            node.pid = _start_node(binary, node, directory / node.name)
            started.append(node)
            _save(directory, nodes)
        for node in nodes:
            _wait_ready(node, directory / node.name, timeout)
    except BaseException:
        _stop_nodes(started, directory)
        raise
    _save(directory, nodes)
    return nodes


def _start_node(binary: str, node: Node, home: Path) -> int:
    pid_file = home / "searchd.pid"
    pid_file.unlink(missing_ok=True)
    with open(home / "startup.log", "w") as log:
        done = subprocess.run([binary, "--config", str(home / "searchd.conf")], stdout=log,
                              stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, timeout=60)
    if done.returncode != 0:
        raise ClusterError(f"searchd {node.name} failed to start: {_tail(home / 'startup.log')}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        text = pid_file.read_text().strip() if pid_file.exists() else ""
        if text.isdigit():
            return int(text)
        time.sleep(0.05)
    raise ClusterError(f"searchd {node.name} wrote no pid file: {_tail(home / 'searchd.log')}")


def _wait_ready(node: Node, home: Path, timeout: float) -> None:
    import pymysql
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(node.pid):
            raise ClusterError(f"searchd {node.name} exited: {_tail(home / 'searchd.log')}")
        try:
            pymysql.connect(host=node.host, port=node.sql_port, connect_timeout=1).close()
            return
        except pymysql.MySQLError:
            time.sleep(0.1)
    raise ClusterError(f"searchd {node.name} did not answer on {node.sql_address} within {timeout:g} s")


def stop_cluster(directory: str | os.PathLike, timeout: float = 15.0) -> list[Node]:
    """Stop every recorded node of the cluster in DIR; returns the nodes that were running."""
    directory = Path(directory).resolve()
    nodes = _load(directory)
    return _stop_nodes(nodes, directory, timeout)


def stop_node(directory: str | os.PathLike, name: str, hard: bool = False) -> Node:
    """Stop one node (SIGKILL with ``hard``): used to take a mirror down."""
    directory = Path(directory).resolve()
    for node in _load(directory):
        if node.name == name:
            if _alive(node, directory):
                os.kill(node.pid, signal.SIGKILL if hard else signal.SIGTERM)
                _wait_gone(node.pid, 15.0)
            return node
    raise ClusterError(f"no node '{name}' in {directory}")


def _stop_nodes(nodes: list[Node], directory: Path, timeout: float = 15.0) -> list[Node]:
    running = [n for n in nodes if _alive(n, directory)]
    for node in running:
        os.kill(node.pid, signal.SIGTERM)
    for node in running:
        if not _wait_gone(node.pid, timeout):
            os.kill(node.pid, signal.SIGKILL)
            _wait_gone(node.pid, 5.0)
    return running


def cluster_status(directory: str | os.PathLike) -> list[dict]:
    """Each node: name, shard, replica, address, pid, running, answering, rows in its shard."""
    import pymysql
    directory = Path(directory).resolve()
    out = []
    for node in _load(directory):
        row = {**asdict(node), "address": node.sql_address, "running": _alive(node, directory),
               "answering": False, "rows": None}
        if row["running"]:
            try:
                conn = pymysql.connect(host=node.host, port=node.sql_port, connect_timeout=2)
                with conn.cursor() as cur:
                    cur.execute(f"SHOW INDEX {RT_INDEX} STATUS")
                    status = dict(cur.fetchall())
                conn.close()
                row["answering"] = True
                row["rows"] = int(status.get("indexed_documents", 0))
            except pymysql.MySQLError:
                pass
        out.append(row)
    return out


def load_nodes(directory: str | os.PathLike) -> list[Node]:
    return _load(Path(directory).resolve())


# ---------------------------------------------------------------------- state

def _load(directory: Path) -> list[Node]:
    path = directory / STATE
    if not path.exists():
        raise ClusterError(f"no cluster in {directory} (no {STATE}; start one with kb cluster start)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [Node(**n) for n in data["nodes"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ClusterError(f"{path}: unreadable cluster state ({exc})") from None


def _save(directory: Path, nodes: list[Node]) -> None:
    tmp = directory / f".{STATE}.tmp"
    tmp.write_text(json.dumps({"nodes": [asdict(n) for n in nodes], "KB_SPHINX_NODES": nodes_value(nodes)},
                              indent=2), encoding="utf-8")
    os.replace(tmp, directory / STATE)


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped) is not alive
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def _alive(node: Node, directory: Path) -> bool:
    """The recorded pid is alive and is this node's searchd (not a recycled pid)."""
    if not _pid_alive(node.pid):
        return False
    try:
        cmdline = Path(f"/proc/{node.pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return True
    conf = str(directory / node.name / "searchd.conf").encode()
    return any(part == conf for part in cmdline)


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def _tail(path: Path, lines: int = 3) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    relevant = [line for line in text if "FATAL" in line or "ERROR" in line or "WARNING" in line]
    return " | ".join((relevant or text)[-lines:]) or "(empty log)"
