"""Kokoro's start-up on the CPU: no warm-up synthesis (a fresh session's first run is no slower than later ones)."""
from __future__ import annotations

from backends.kokoro import KokoroBackend


def test_cpu_start_skips_the_warm_up_synthesis(monkeypatch):
    backend = KokoroBackend.load(None)
    calls = []
    monkeypatch.setattr(backend, "synthesize", lambda *a, **k: calls.append(a) or iter(()))
    backend.warmup()
    assert backend.device == "cpu" and calls == []
    backend.close()
