"""Kokoro's start-up on the CPU: no warm-up synthesis (a fresh session's first run is no slower than later ones)."""
from __future__ import annotations


def test_cpu_start_skips_the_warm_up_synthesis(kokoro_worker, monkeypatch):
    backend = kokoro_worker.backend
    calls = []
    monkeypatch.setattr(backend, "synthesize", lambda *a, **k: calls.append(a) or iter(()))
    backend.warmup()
    assert backend.device == "cpu" and calls == []
