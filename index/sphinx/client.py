"""SphinxQL over pymysql: talking to a sharded, mirrored Sphinx/Manticore cluster.

Reads go to the distributed indexes (``kb``, ``kb_meta``) of any node, which fan out to one
mirror of every shard. Sphinx answers a query whose agent failed with the other shards' rows and
a warning in ``SHOW META``: such an answer is retried (the node then prefers a live mirror), and
if it stays short it is returned marked partial, never silently. Point reads go straight to a
shard's mirrors, one after the other. Writes go to the RT indexes of every mirror of one shard.
"""
from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field

from ..base import BackendUnavailable, QueryError
from .config import parse_nodes

try:
    import pymysql
except ImportError:  # pragma: no cover - the sphinx extra is not installed
    pymysql = None

Address = tuple[str, int]
# Sphinx's messages when an agent (a shard's mirror) could not answer; not its harmless remarks
# ("agent ...: remote query warning: quorum threshold too high ...").
_AGENT_TROUBLE = re.compile(r"connect\(\) failed|timed out|timeout|unexpected EOF|failed to receive|"
                            r"receive error|send error|network error|connection (reset|refused|closed)|"
                            r"no agents|is not available|server shutdown", re.I)
# pymysql escapes NUL and ^Z in a way SphinxQL reads back as '0' and 'Z': keep them out of text.
_UNSENDABLE = str.maketrans({"\x00": " ", "\x1a": " "})


def sendable(text: str) -> str:
    return text.translate(_UNSENDABLE)


@dataclass
class Answer:
    """The result sets of one statement (a FACET adds sets), SHOW META, and whether it is partial."""
    sets: list[list[tuple]]
    meta: dict[str, str] = field(default_factory=dict)
    partial: bool = False

    @property
    def rows(self) -> list[tuple]:
        return self.sets[0] if self.sets else []

    @property
    def total_found(self) -> int:
        return int(self.meta.get("total_found", len(self.rows)))


class SphinxQL:
    """Connections (one per node and thread, reused) and the three ways of talking to the cluster."""

    def __init__(self, nodes: str, connect_timeout: float = 2.0, read_timeout: float = 60.0,
                 retries: int = 3):
        if pymysql is None:
            raise BackendUnavailable("the sphinx backend needs pymysql: pip install 'kb[sphinx]'")
        self.shards: list[list[Address]] = parse_nodes(nodes)
        self.entries: list[Address] = [a for mirrors in self.shards for a in mirrors]
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.retries = retries
        self._local = threading.local()
        self._start = random.randrange(len(self.entries))

    # ------------------------------------------------------------------ connections

    def _connection(self, address: Address):
        pool = self._local.__dict__.setdefault("pool", {})
        conn = pool.get(address)
        if conn is None:
            try:
                conn = pymysql.connect(host=address[0], port=address[1], charset="utf8mb4",
                                       autocommit=True, connect_timeout=self.connect_timeout,
                                       read_timeout=self.read_timeout, write_timeout=self.read_timeout)
            except pymysql.MySQLError as exc:
                raise _Down(address, exc) from None
            pool[address] = conn
        return conn

    def _drop(self, address: Address) -> None:
        conn = self._local.__dict__.get("pool", {}).pop(address, None)
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a dead connection may fail to close
                pass

    def close(self) -> None:
        for address in list(self._local.__dict__.get("pool", {})):
            self._drop(address)

    def execute(self, address: Address, sql: str, args=None, meta: bool = False) -> Answer:
        """One statement on one node: every result set, and SHOW META when asked."""
        conn = self._connection(address)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                sets = [list(cur.fetchall())]
                while cur.nextset():
                    sets.append(list(cur.fetchall()))
                answer = Answer(sets)
                if meta:
                    cur.execute("SHOW META")
                    answer.meta = {str(k): str(v) for k, v in cur.fetchall()}
            return answer
        except (pymysql.err.OperationalError, pymysql.err.InterfaceError) as exc:
            self._drop(address)
            raise _Down(address, exc) from None
        except pymysql.MySQLError as exc:
            message = _message(exc)
            if _AGENT_TROUBLE.search(message):
                raise _Down(address, exc) from None
            raise QueryError(f"the search engine refused the query: {message}") from None

    # ------------------------------------------------------------------ reads

    def read(self, sql: str, args=None, meta: bool = True) -> Answer:
        """A statement on a distributed index, via any live node; retried while an agent fails."""
        last: Answer | None = None
        problem = None
        for attempt in range(self.retries):
            for address in self._entry_order():
                try:
                    answer = self.execute(address, sql, args, meta=True)
                except _Down as down:
                    problem = down
                    continue
                warning = answer.meta.get("warning", "")
                if warning and _AGENT_TROUBLE.search(warning):
                    last, problem = answer, warning
                    break  # the node answered without a shard: ask again (it avoids the dead mirror now)
                return answer
            time.sleep(0.05 * (attempt + 1))
        if last is not None:
            last.partial = True
            return last
        raise BackendUnavailable(f"no search node answers ({_describe(problem)})")

    def read_shard(self, shard: int, sql: str, args=None, meta: bool = False) -> Answer:
        """A statement on one shard's RT index: the first mirror that answers."""
        problem = None
        mirrors = list(self.shards[shard])
        for address in mirrors[self._start % len(mirrors):] + mirrors[:self._start % len(mirrors)]:
            try:
                return self.execute(address, sql, args, meta=meta)
            except _Down as down:
                problem = down
        raise BackendUnavailable(f"no mirror of shard {shard} answers ({_describe(problem)})")

    def any_node(self, sql: str, args=None) -> Answer:
        """A statement any node can answer (CALL SNIPPETS, CALL KEYWORDS on a local RT index)."""
        problem = None
        for address in self._entry_order():
            try:
                return self.execute(address, sql, args)
            except _Down as down:
                problem = down
        raise BackendUnavailable(f"no search node answers ({_describe(problem)})")

    def _entry_order(self) -> list[Address]:
        n = len(self.entries)
        self._start = (self._start + 1) % n
        return self.entries[self._start:] + self.entries[:self._start]

    # ------------------------------------------------------------------ writes

    def write_shard(self, shard: int, transactions: list[list[tuple[str, tuple | None]]]) -> None:
        """Apply each transaction (a list of statements) to every mirror of a shard, in order.

        Every mirror is checked first, so that a mirror known to be down stops the write before any
        mirror has it; one failing midway stops it with BackendUnavailable too. Mirrors must not
        silently diverge; writes are idempotent (REPLACE by stable ids), so re-running completes it."""
        for address in self.shards[shard]:
            try:
                self._ping(address)
            except _Down as down:
                raise BackendUnavailable(f"mirror {address[0]}:{address[1]} of shard {shard} does not answer "
                                         f"({_describe(down)}); nothing was written") from None
        for address in self.shards[shard]:
            for statements in transactions:
                try:
                    self._transaction(address, statements)
                except _Down as down:
                    raise BackendUnavailable(
                        f"mirror {address[0]}:{address[1]} of shard {shard} cannot be written "
                        f"({_describe(down)}); nothing was lost, run the write again when it is back"
                    ) from None

    def _ping(self, address: Address) -> None:
        conn = self._connection(address)
        try:
            conn.ping(reconnect=False)
        except pymysql.MySQLError as exc:
            self._drop(address)
            try:  # a connection the node dropped while idle: try once afresh
                self._connection(address).ping(reconnect=False)
            except pymysql.MySQLError:
                self._drop(address)
                raise _Down(address, exc) from None

    def _transaction(self, address: Address, statements) -> None:
        if len(statements) == 1:
            self.execute(address, *statements[0])
            return
        self.execute(address, "BEGIN")
        try:
            for sql, args in statements:
                self.execute(address, sql, args)
        except BaseException:
            try:
                self.execute(address, "ROLLBACK")
            except Exception:  # noqa: BLE001 - the connection may be gone already
                self._drop(address)
            raise
        self.execute(address, "COMMIT")


class _Down(Exception):
    """A node or an agent behind it did not answer."""

    def __init__(self, address: Address, cause):
        super().__init__(f"{address[0]}:{address[1]}: {_message(cause)}")


def _message(exc) -> str:
    args = getattr(exc, "args", ())
    text = args[1] if len(args) > 1 else str(exc)
    return str(text).replace("\x00", "").strip()


def _describe(problem) -> str:
    return str(problem)[:300] if problem else "no node configured"
