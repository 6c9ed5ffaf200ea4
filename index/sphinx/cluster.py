"""A development cluster of real ``searchd`` processes on loopback: shards × mirrors.

``start_cluster(DIR, shards=2, replicas=2)`` writes one config per node (``sphinx_config``),
starts the nodes on free loopback ports, and records them in ``DIR/cluster.json``;
``stop_cluster(DIR)`` stops them by their recorded pids, checking that each pid is still that
node's searchd; ``cluster_status(DIR)`` says which answer.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import asdict
from pathlib import Path

from .config import RT_INDEX, ClusterError, Node, free_port, node_config, nodes_value

STATE = "cluster.json"


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
    for attempt in range(3):  # a free port may be taken by another process before searchd binds it
        nodes = [Node(f"s{s}r{r}", s, r, host, free_port(host), free_port(host))
                 for s in range(shards) for r in range(replicas)]
        try:
            return _start_nodes(binary, nodes, directory, timeout, mem_limit)
        except ClusterError as exc:
            if "bind() failed" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _start_nodes(binary: str, nodes: list[Node], directory: Path, timeout: float, mem_limit: str) -> list[Node]:
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
    for port in (node.sql_port, node.api_port):  # taken since chosen? (searchd would retry for 30 s)
        with socket.socket() as probe:
            try:
                probe.bind((node.host, port))
            except OSError:
                raise ClusterError(f"searchd {node.name}: bind() failed on {node.host}:{port}") from None
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
