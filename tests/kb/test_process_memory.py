"""The memory `kb ingest` reports holding: shared pages counted once across its processes."""
from __future__ import annotations

import multiprocessing
import os
import time
from pathlib import Path

import pytest

from kb import process_memory

pytestmark = pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux's /proc")


def test_a_sum_over_a_forked_child_counts_shared_pages_once():
    ballast = bytearray(64 * 2**20)   # resident in the parent, shared with the child after the fork
    ballast[::4096] = b"x" * len(ballast[::4096])
    child = multiprocessing.get_context("fork").Process(target=time.sleep, args=(30,))
    child.start()
    try:
        time.sleep(0.5)
        assert child.pid in process_memory.children(os.getpid())
        resident = process_memory.resident_bytes() + process_memory.resident_bytes(child.pid)
        held = process_memory.held_bytes()
        assert resident - held > 48 * 2**20   # the ballast, counted once instead of twice
        assert held >= process_memory.proportional_bytes() > 64 * 2**20 / 2
    finally:
        child.kill()
        child.join()
        del ballast


def test_a_gone_process_holds_nothing():
    assert process_memory.proportional_bytes(2**22 + 7) == 0
