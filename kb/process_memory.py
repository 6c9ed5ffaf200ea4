"""The memory an ingest holds: the resident size of this process and of its child processes (the
preparing workers), read from Linux's /proc; None where there is no /proc. Shown on `kb ingest`'s
progress line, so a long load shows whether it stays within bounds while it runs."""
from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")


def resident_bytes(pid: int | str = "self") -> int:
    """Resident set size of one process (0 when it is gone)."""
    try:
        return int((PROC / str(pid) / "statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def children(pid: int) -> list[int]:
    """The direct child processes of ``pid``."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:   # the command name, in parentheses, may hold spaces: the fields after it are fixed
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields and int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def held_bytes() -> int | None:
    """Resident bytes of this process and its children; None without /proc."""
    if not (PROC / "self" / "statm").exists():
        return None
    return resident_bytes() + sum(resident_bytes(child) for child in children(os.getpid()))
