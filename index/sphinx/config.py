"""How a kb Sphinx cluster is laid out: the index names, the RT index settings every shard must
share, the searchd config of one node, and the ``KB_SPHINX_NODES`` list of nodes.

Each node holds its shard in two RT indexes, ``kb_rt`` (passages) and ``kb_meta_rt`` (documents,
vocabulary, versions), and serves the distributed indexes ``kb`` and ``kb_meta`` that fan a query
out to one mirror of every shard. ``KB_SPHINX_NODES`` lists the SphinxQL addresses: shards
separated by ``,``, mirrors of a shard by ``|``. A production Manticore cluster needs the same
indexes and settings (README "Scaling out").
"""
from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from ..base import BackendUnavailable

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
            "    expansion_limit = 5000\n"
            "    agent_retry_count = 2\n"
            "    read_timeout = 5\n"
            "    client_timeout = 300\n"
            "    shutdown_timeout = 1\n"
            "}\n")
