"""Kokoro's start-up on the CPU: no warm-up synthesis (a fresh session's first run is no slower than later ones), and
one session for every call (a multi-sentence job builds no second one)."""
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


def test_a_multi_sentence_job_runs_its_sentences_at_once_on_the_one_session(kokoro_worker, monkeypatch):
    """The sentences after the first run one per core at once, all on the session built at start-up: a fresh
    worker's first multi-sentence job builds no second session (it used to build a single-threaded one, 0.6 s
    and a second copy of the weights), and what it says is what was asked, in order."""
    import onnxruntime

    backend = kokoro_worker.backend
    if backend._pool is None:
        pytest.skip("one core: sentences run one after another")
    built, running, most = [], [0], [0]
    real_run, lock = backend.session.run, threading.Lock()

    def counted_run(*args, **kwargs):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return real_run(*args, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(onnxruntime, "InferenceSession", lambda *a, **k: built.append(a))
    monkeypatch.setattr(backend.session, "run", counted_run, raising=False)
    sentences = ["The first sentence is here.", "A second one follows it.", "And a third.", "Then a fourth one."]
    chunks = list(backend.synthesize_many(sentences, next(v for v in backend.stock_voices() if v.id == "jm_kumo")
                                          .embedding))
    assert built == [] and most[0] >= 2
    audio = np.concatenate([c.audio for sentence in chunks for c in sentence])
    heard = transcribe(audio, 24_000)
    assert wer(" ".join(sentences), heard) <= 0.35, heard
