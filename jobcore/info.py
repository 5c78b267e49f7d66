"""The `info` action: what this worker runs (backend, model, capabilities, params schema, limits, versions)."""
from __future__ import annotations

import platform
from importlib import metadata

from backends import REGISTRY, Backend, backend_class
from common.formats import FORMATS
from voice_library import VoiceLibrary

from .audio import SAMPLE_RATES
from .settings import Settings

REPORTED_PACKAGES = ("tts-worker", "runpod", "numpy", "pydantic", "soundfile")


def languages() -> dict[str, list[str]]:
    """Every backend's languages (from each one's light module: no engine is imported), this one's included."""
    return {name: list(backend_class(name).capabilities.languages) for name in REGISTRY}


def describe(settings: Settings, backend: Backend, library: VoiceLibrary, output_cache=None) -> dict:
    """`output_cache`: the worker's OutputCache, or None when it is off."""
    caps = backend.capabilities
    versions = {"python": platform.python_version(), **backend.versions()}
    for package in REPORTED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return {
        "backend": backend.name, "model": backend.model_name, "revision": backend.revision,
        "capabilities": {**caps.__dict__, "languages": list(caps.languages), "speed_range": list(caps.speed_range)},
        "params_schema": backend.Params.model_json_schema(),
        "languages": languages(),
        "default_voice": settings.default_voice or backend.default_voice,
        "voice_count": len(library.list()), "damaged_voices": len(library.damaged), "cache": library.cache.stats(),
        "formats": list(FORMATS), "sample_rates": list(SAMPLE_RATES),
        "output_cache": {"enabled": output_cache is not None,
                         **(output_cache.stats() if output_cache is not None else {})},
        "limits": {"max_text_chars": settings.max_text_chars, "max_batch_items": settings.max_batch_items,
                   "max_batch_chars": settings.max_batch_chars},
        "versions": versions,
    }
