"""What tests share besides fixtures: where things are, real servers and clusters
(``servers``), and tools for breaking things on purpose (``trials``)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
KB_BIN = Path(sys.executable).with_name("kb")
SHARED = ROOT.parent / "shared"    # the team's evaluation data; a clone alone has none
API_TOKEN = "test-token-0123456789abcdef"


def shared_present() -> bool:
    """Whether the evaluation data is beside this clone (tests marked ``shared`` compare with it)."""
    return (SHARED / "eval").is_dir()
