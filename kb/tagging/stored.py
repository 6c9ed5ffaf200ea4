"""The taxonomy a knowledge base owns: stored with its index when the knowledge base is created
(the file given, or the bundled default), read back by every later command, changed only by
switching it (``kb taxonomy use``), which re-tags every passage in the same step.

It lives in the index as the property ``taxonomy`` (``{"name", "fingerprint", "stored_at",
"source", "yaml"}``), so a rebuild switches passages and taxonomy together, and every write
checks that the taxonomy it tagged with is still the one stored (``expect``). A copy for people
is kept at ``KB_HOME/taxonomy.yaml`` (rewritten when it differs; editing it changes nothing).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from .check import TaxonomyError
from .taxonomy import Taxonomy, default_taxonomy_path

PROPERTY = "taxonomy"
COPY = "taxonomy.yaml"
SWITCH = "kb taxonomy use"


class TaxonomyMismatch(TaxonomyError):
    """A taxonomy given to a knowledge base that has another one; the message says how to switch."""


def record(taxonomy: Taxonomy, source: str, stored_at: str) -> str:
    """The property's value for this taxonomy."""
    return json.dumps({"name": taxonomy.name, "fingerprint": taxonomy.fingerprint, "version": taxonomy.version,
                       "stored_at": stored_at, "source": source, "yaml": taxonomy.text}, ensure_ascii=False)


def from_record(value: str) -> tuple[Taxonomy, dict]:
    """(the taxonomy, its record without the YAML) from the property's value."""
    data = json.loads(value)
    taxonomy = Taxonomy.from_text(data["yaml"], f"the knowledge base's taxonomy '{data.get('name', '')}'")
    return taxonomy, {k: v for k, v in data.items() if k != "yaml"}


def given(path: str | os.PathLike | None) -> tuple[Taxonomy, str]:
    """(the taxonomy of the file given, or of the bundled default; where it came from)."""
    source = Path(path) if path else default_taxonomy_path()
    return Taxonomy.load(source), ("bundled default" if not path else str(source))


def mismatch(stored: Taxonomy, offered: Taxonomy, path: str | os.PathLike) -> TaxonomyMismatch:
    return TaxonomyMismatch(
        f"this knowledge base uses the taxonomy '{stored.name}' ({stored.fingerprint}), not {path} "
        f"('{offered.name}', {offered.fingerprint}); a knowledge base never mixes two: to switch, "
        f"run `{SWITCH} {path}` (it re-tags every passage), or leave --taxonomy/KB_TAXONOMY out")


def write_copy(home: Path, taxonomy: Taxonomy) -> None:
    """``KB_HOME/taxonomy.yaml``, the stored taxonomy for people to read (atomically replaced)."""
    path = home / COPY
    try:
        if path.exists() and path.read_text(encoding="utf-8") == taxonomy.text:
            return
        tmp = home / f".{COPY}.{os.getpid()}.tmp"
        tmp.write_text(taxonomy.text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError:   # a read-only home still answers; the copy is for people only
        pass
