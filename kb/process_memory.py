"""The memory an ingest holds: the proportional set size of this process and of its child
processes (the preparing workers, a background merge), read from Linux's /proc; None where there is
no /proc. Shown on `kb ingest`'s progress line, so a long load shows whether it stays within bounds
while it runs. Proportional, not resident: the workers share the writer's pages from the fork and
every process maps the same segment files, and a sum of resident sizes counted those pages once
per process (about 300 MB too much at 50,000 passages)."""
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


def proportional_bytes(pid: int | str = "self") -> int:
    """Resident bytes of one process with each shared page divided among the processes that map it
    (``Pss``), so a sum over processes counts it once; the resident size where the kernel has no
    ``smaps_rollup`` (before Linux 4.14); 0 when the process is gone."""
    try:
        for line in (PROC / str(pid) / "smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return resident_bytes(pid)


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
    """Proportional bytes of this process and its children; None without /proc."""
    if not (PROC / "self" / "statm").exists():
        return None
    return proportional_bytes() + sum(proportional_bytes(child) for child in children(os.getpid()))
