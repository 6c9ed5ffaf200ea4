"""Where an index lives under the knowledge base home, and the lock every writer takes.

``HOME/CURRENT`` names the live index directory (``HOME/whoosh-<n>``). A rebuild writes a new
directory and then replaces ``CURRENT`` atomically (``os.replace``), so a reader sees either the
old index or the new one, never a mix, and a kill at any moment leaves one of them live.
``HOME/write.lock`` is an ``flock`` lock: the kernel drops it when its process dies, so a killed
writer never leaves a stale lock behind (Whoosh's own ``MAIN_WRITELOCK`` is an ``flock`` too).

A writer killed mid-commit leaves debris that never becomes live (Whoosh only reads segments named
in the newest complete TOC, written to a temporary name and renamed): half-written segment files,
Whoosh's ``MAIN.tmp`` pool directory, a TOC temporary, a half-built rebuild directory, a background
merge's work directory. The next writer removes it all, under the lock, before it writes
(``remove_debris``).
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import shutil
import time
from pathlib import Path

from .base import IndexBusy

POINTER = "CURRENT"
LOCK = "write.lock"
MERGE_SUFFIX = ".merge"   # a background merge's work directory in the live index (index.whoosh.background_merge)
MERGE_LOCK = "lock"       # held by the process whose merge it is
_TOC_TEMP = re.compile(r"^_\w+_\d+\.toc\.[\d.]+$")       # Whoosh's TOC before its rename
_POINTER_TEMP = re.compile(r"^\.%s\.\d+\.tmp$" % POINTER)   # ours, before os.replace


def live_dir(home: Path, prefix: str = "whoosh") -> Path:
    """The live index directory, created (with its pointer) on first use."""
    pointer = home / POINTER
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        name = f"{prefix}-1"
        (home / name).mkdir(parents=True, exist_ok=True)
        switch_to(home, name)
    return home / name


def new_dir(home: Path, prefix: str = "whoosh") -> Path:
    """A fresh, empty directory for a rebuild, named after the highest existing one."""
    numbers = [int(p.name.rsplit("-", 1)[1]) for p in home.glob(f"{prefix}-*")
               if p.name.rsplit("-", 1)[1].isdigit()]
    path = home / f"{prefix}-{max(numbers, default=0) + 1}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def switch_to(home: Path, name: str) -> None:
    """Make ``name`` the live index in one atomic step."""
    tmp = home / f".{POINTER}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, home / POINTER)
    with contextlib.suppress(OSError):
        fd = os.open(home, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def remove_stale_dirs(home: Path, keep: str, prefix: str = "whoosh") -> None:
    """Delete index directories other than the live one (left by a finished or killed rebuild)."""
    for path in home.glob(f"{prefix}-*"):
        if path.name != keep and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


def remove_debris(home: Path, prefix: str = "whoosh") -> None:
    """Clear what killed writers left behind; call only while holding the write lock.

    Stale index directories (a killed rebuild's half-built one, an old one a rebuild could not
    remove), our pointer temporaries, and inside the live index Whoosh's pool directory, TOC and
    word-list temporaries and the work directories of background merges no live process holds.
    Unreferenced segment files are Whoosh's to delete: every commit does."""
    live = live_dir(home, prefix)
    remove_stale_dirs(home, keep=live.name, prefix=prefix)
    for entry in os.scandir(home):
        if _POINTER_TEMP.match(entry.name):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
    if _held(live / "MAIN_WRITELOCK"):   # a Whoosh writer outside kb's lock: its files are not debris
        return
    for entry in os.scandir(live):
        if entry.is_dir(follow_symlinks=False) and entry.name.endswith(".tmp"):
            shutil.rmtree(entry.path, ignore_errors=True)
        elif entry.is_dir(follow_symlinks=False) and entry.name.endswith(MERGE_SUFFIX):
            if not _held(Path(entry.path) / MERGE_LOCK):
                shutil.rmtree(entry.path, ignore_errors=True)
        elif _TOC_TEMP.match(entry.name) or (entry.name.endswith(".tmp") and entry.is_file(follow_symlinks=False)):
            with contextlib.suppress(OSError):   # a TOC before its rename, a word list before its rename
                os.unlink(entry.path)


def _held(path: Path) -> bool:
    """Whether a live process holds an flock on ``path`` (a probe that lets go at once)."""
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def pointer_stamp(home: Path) -> int:
    try:
        return (home / POINTER).stat().st_mtime_ns
    except FileNotFoundError:
        return 0


@contextlib.contextmanager
def write_lock(home: Path, timeout: float):
    """Hold the knowledge base's single write lock, or raise IndexBusy after ``timeout`` s."""
    fd = os.open(home / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise IndexBusy(f"another writer holds the index lock (waited {timeout:g} s)") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def dir_size(path: Path) -> int:
    """Bytes in the index directory; files a commit deletes while we look are not counted."""
    total = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(path):
            with contextlib.suppress(FileNotFoundError):
                if entry.is_file(follow_symlinks=False):
                    total += entry.stat().st_size
    return total
