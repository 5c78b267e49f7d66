"""Registry of TTS backends by name; each is imported only when chosen, so heavy libraries stay out (the interface in
.base, with numpy and pydantic, too: on first use of its names, so a start-up can begin with `start_early`)."""
from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from common.errors import BackendUnavailable

if TYPE_CHECKING:
    from .base import AudioChunk, Backend, Capabilities, Embedding, StockVoice, Weights, WordTiming

_BASE_NAMES = ("AudioChunk", "Backend", "Capabilities", "Embedding", "StockVoice", "Weights", "WordTiming")

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


#: what a backend starts before the rest of start-up is imported ("module:function", called with the model
#: directory, threads and device); its module must stay light (no numpy, no .base)
EARLY_START: dict[str, str] = {
    "kokoro": "backends.kokoro_session:start_session",
}


def __getattr__(name: str):
    if name in _BASE_NAMES:
        from . import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def start_early(name: str, model_dir: str | None, threads: int = 0, device: str = "auto") -> None:
    """The backend's EARLY_START, if it has one; a failure here is left for its load to report."""
    target = EARLY_START.get(name)
    if target is None:
        return
    module, _, attr = target.partition(":")
    try:
        getattr(importlib.import_module(module), attr)(model_dir, threads, device)
    except Exception as exc:
        logging.getLogger(__name__).debug("early start of %s skipped: %s", name, exc)


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
           "EARLY_START", "backend_class", "load_backend", "start_early"]
