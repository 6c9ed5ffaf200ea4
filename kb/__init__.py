"""kb as a library: ``from kb import KnowledgeBase, __version__``.

The names load on first use (module ``__getattr__``), so that ``import kb`` stays light and
``kb.cli``, ``kb.settings`` or ``kb.readers`` import without the index and the taxonomy behind
``KnowledgeBase``."""
from __future__ import annotations

from importlib import import_module, metadata

__all__ = ["Filters", "KnowledgeBase", "SearchRequest", "Settings", "__version__"]

_LAZY = {"KnowledgeBase": "kb.core", "Settings": "kb.settings", "SearchRequest": "index", "Filters": "index"}


def __getattr__(name: str):
    if name == "__version__":
        try:
            value = metadata.version("kb")
        except metadata.PackageNotFoundError:   # running from a source tree
            value = "0+unknown"
    elif name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'kb' has no attribute '{name}'")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
