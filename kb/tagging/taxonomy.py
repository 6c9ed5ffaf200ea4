"""A taxonomy: topics with labels, descriptions, broader topics and the phrases that tag them,
read from YAML and validated line by line (``kb.tagging.check``)."""
from __future__ import annotations

import hashlib
import json
import os
import pathlib
from dataclasses import dataclass, field

from .check import TaxonomyError, find_problems, parse_yaml, read_text


def default_taxonomy_path() -> pathlib.Path:
    """The taxonomy shipped inside the package."""
    return pathlib.Path(__file__).resolve().parent.parent / "data" / "science-diplomacy.yaml"


@dataclass
class Topic:
    id: str
    label: str
    description: str = ""
    broader: list[str] = field(default_factory=list)
    synonyms: list[str] = field(default_factory=list)
    all_of: list[list[str]] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    min_hits: int = 1
    context: list[str] = field(default_factory=list)


@dataclass
class Taxonomy:
    version: int
    name: str
    topics: dict[str, Topic]
    fingerprint: str = ""   # of what the YAML says (comments and layout aside): two files, one taxonomy
    text: str = ""          # the YAML as given

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Taxonomy":
        """Read and validate a taxonomy file; raise TaxonomyError naming file and line."""
        return cls.from_text(read_text(path), str(path))

    @classmethod
    def from_text(cls, text: str, path: str = "taxonomy") -> "Taxonomy":
        """Validate and read taxonomy YAML (``path`` names it in errors and gives the default name)."""
        data = parse_yaml(text, path)
        for problem in find_problems(data, str(path)):
            if not problem.warning:
                raise TaxonomyError(problem.format(str(path)))
        topics: dict[str, Topic] = {}
        for tid, spec in data["topics"].items():
            spec = spec or {}
            topics[tid] = Topic(
                id=tid, label=spec["label"], description=spec.get("description") or "",
                broader=list(spec.get("broader") or []), synonyms=list(spec.get("synonyms") or []),
                all_of=[list(group) for group in spec.get("all_of") or []],
                exclude=list(spec.get("exclude") or []), min_hits=int(spec.get("min_hits", 1)),
                context=list(spec.get("context") or []))
        canonical = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
        return cls(version=int(data.get("version", 1)),
                   name=str(data.get("name") or pathlib.Path(path).stem), topics=topics,
                   fingerprint=hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16], text=text)

    def summary(self) -> dict:
        """What says which taxonomy this is: name, version, fingerprint, topic count."""
        return {"name": self.name, "version": self.version, "fingerprint": self.fingerprint,
                "topics": len(self.topics)}

    def to_list(self) -> list[dict]:
        return [{"tag": t.id, "label": t.label, "description": t.description, "broader": list(t.broader)}
                for t in self.topics.values()]


