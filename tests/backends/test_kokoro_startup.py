"""Kokoro's start-up on the CPU: no warm-up synthesis (a fresh session's first run is no slower than later ones), and
a fresh worker's first streamed chunk does not wait for the second session its later sentences run on."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from tests.support.speech import transcribe, wer


def test_cpu_start_skips_the_warm_up_synthesis(kokoro_worker, monkeypatch):
    backend = kokoro_worker.backend
    calls = []
    monkeypatch.setattr(backend, "synthesize", lambda *a, **k: calls.append(a) or iter(()))
    backend.warmup()
    assert backend.device == "cpu" and calls == []


def test_the_first_chunk_does_not_wait_for_the_single_threaded_session(kokoro_worker, monkeypatch):
    """On a worker's first multi-sentence job the pool builds its single-threaded session (0.6 s here); the first
    sentence is handed on before that (it used to wait: 1.06 s to the first chunk of a fresh worker, 0.45 s now)."""
    backend = kokoro_worker.backend
    if backend._pool is None:
        pytest.skip("one core: no second session")
    built, real = threading.Event(), backend.narrow_session
    allowed = threading.Event()

    def slow_narrow_session():
        allowed.wait(60)             # held until the first chunk has arrived
        built.set()
        return real()

    monkeypatch.setattr(backend, "narrow_session", slow_narrow_session)
    chunks = backend.synthesize_many(["The first sentence is here.", "A second one follows it.", "And a third."],
                                     next(v for v in backend.stock_voices() if v.id == "jm_kumo").embedding)
    got = []
    reader = threading.Thread(target=lambda: got.append(next(chunks)), daemon=True)
    reader.start()
    reader.join(60)
    assert got and not built.is_set(), "the first sentence waited for the second session"
    allowed.set()
    rest = list(chunks)
    pieces = [c for sentence in [got[0], *rest] for c in sentence]
    audio = np.concatenate([c.audio for c in pieces])
    heard = transcribe(audio, 24_000)
    assert wer("The first sentence is here. A second one follows it. And a third.", heard) <= 0.35, heard
