"""Registry of TTS backends by name; each is imported only when chosen, so heavy libraries stay out."""
from __future__ import annotations

import importlib

from common.errors import BackendUnavailable

from .base import AudioChunk, Backend, Capabilities, Embedding, StockVoice, Weights, WordTiming

REGISTRY: dict[str, str] = {
    "kokoro": "backends.kokoro:KokoroBackend",
    "hibari": "backends.hibari:HibariBackend",
    "chatterbox": "backends.chatterbox:ChatterboxBackend",
    "chatterbox-turbo": "backends.chatterbox_turbo:ChatterboxTurboBackend",
    "chatterbox-multilingual": "backends.chatterbox_multilingual:ChatterboxMultilingualBackend",
    "xtts": "backends.xtts:XttsBackend",
    "f5": "backends.f5:F5Backend",
    "higgs": "backends.higgs:HiggsBackend",
}


def backend_class(name: str) -> type[Backend]:
    """The named backend's class: imports only its light module (capabilities, weights, params), no engine."""
    try:
        target = REGISTRY[name]
    except KeyError:
        raise BackendUnavailable(f"unknown backend {name!r}", hint=f"TTS_BACKEND is one of: {', '.join(REGISTRY)}") from None
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def load_backend(name: str, model_dir: str | None = None, threads: int = 0, device: str = "auto") -> Backend:
    """Import the named backend and load it (its weights, its engine)."""
    return backend_class(name).load(model_dir, threads=threads, device=device)


__all__ = ["AudioChunk", "Backend", "Capabilities", "Embedding", "StockVoice", "Weights", "WordTiming", "REGISTRY",
           "backend_class", "load_backend"]
