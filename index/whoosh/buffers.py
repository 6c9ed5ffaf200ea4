"""Reading a memory-mapped segment without copying it.

Whoosh opens each file inside a compound segment (``.seg``: postings, terms, columns) as a
``BufferFile`` over a slice of the segment's ``mmap``, and ``BufferFile`` wraps that slice in
``io.BytesIO``, which copies a memoryview whole: every searcher, and every reader a merge opens,
held a private copy of every segment's postings and terms (113 MB per searcher at 55,000 records,
the ingest's memory growing with the index). Here the file reads the mapping in place, through a
C ``BufferedReader`` so that Whoosh's many small reads stay fast; pages are read when touched and
are the kernel's page cache, shared and reclaimable, not the process's heap."""
from __future__ import annotations

import io

from whoosh.filedb import structfile


class MemoryRaw(io.RawIOBase):
    """A read-only, seekable raw file over a buffer (no copy)."""

    def __init__(self, buf):
        super().__init__()
        self._view = memoryview(buf).cast("B")
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        view, pos = self._view, self._pos
        n = max(0, min(len(b), len(view) - pos))
        b[:n] = view[pos:pos + n]
        self._pos = pos + n
        return n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """As ``BytesIO.seek``: a negative absolute position is refused, a relative one stops at 0."""
        if whence == io.SEEK_SET:
            if offset < 0:
                raise ValueError(f"negative seek value {offset}")
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = max(0, self._pos + offset)
        elif whence == io.SEEK_END:
            pos = max(0, len(self._view) + offset)
        else:
            raise ValueError(f"invalid whence ({whence}, should be 0, 1 or 2)")
        self._pos = pos
        return pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        if not self.closed:
            self._view.release()
        super().close()


COPYING_INIT = structfile.BufferFile.__init__   # Whoosh's own (BytesIO: a copy)


def _buffer_file_init(self, buf, name=None, onclose=None):
    self._buf = buf
    self._name = name
    self.file = io.BufferedReader(MemoryRaw(buf), buffer_size=4096)
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


def install() -> None:
    """Make Whoosh's BufferFile read its buffer in place (idempotent; ``index.whoosh`` does it on
    import, so every process that reads a segment through kb, a merge's child too, reads in place)."""
    structfile.BufferFile.__init__ = _buffer_file_init
