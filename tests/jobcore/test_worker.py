"""The worker's dispatch: one parse per job, one error guard, the start-up stand-in, checks made once."""
from __future__ import annotations

from dataclasses import replace

import jobcore.worker as worker_module
from jobcore.settings import Settings
from jobcore.worker import BrokenWorker, start_worker
from tests.support.jobs import error_of


def test_stream_parses_the_job_input_once(hibari_worker, monkeypatch):
    calls = []
    real = worker_module.validate_request

    def counting(job_input, models):
        calls.append(job_input)
        return real(job_input, models)

    monkeypatch.setattr(worker_module, "validate_request", counting)
    items = list(hibari_worker.stream({"text": "Hello there.", "format": "wav"}, "job-1"))
    assert len(items) == 1 and "audio_base64" in items[0]
    assert len(calls) == 1


def test_unknown_action_names_every_action_of_the_table(hibari_worker):
    error = error_of(hibari_worker.handle({"action": "voices.rename"}))
    assert error["code"] == "invalid_input"
    for action in hibari_worker.actions:
        assert action in error["hint"]


def test_a_worker_that_cannot_start_answers_every_job_with_the_reason(tmp_path):
    broken = start_worker(Settings(backend="no-such-engine", voice_library_uri=str(tmp_path)))
    assert isinstance(broken, BrokenWorker)
    assert error_of(broken.handle({"text": "Hi."}))["code"] == "backend_unavailable"
    streamed = list(broken.stream({"text": "Hi.", "stream": True}))
    assert len(streamed) == 1 and error_of(streamed[0])["code"] == "backend_unavailable"
    assert list(tmp_path.iterdir()) == []          # nothing written for a worker that never started


def test_speed_without_native_control_is_time_stretched(hibari_worker, monkeypatch):
    caps = hibari_worker.backend.capabilities
    monkeypatch.setattr(hibari_worker.backend, "capabilities", replace(caps, speed=False))
    normal = hibari_worker.handle({"text": "Hello there, friend.", "speed": 1.0, "format": "wav"})
    fast = hibari_worker.handle({"text": "Hello there, friend.", "speed": 1.5, "format": "wav"})
    assert abs(fast["duration_s"] * 1.5 - normal["duration_s"]) < 0.05


def test_a_job_whose_text_grows_past_the_limit_when_spoken_is_refused(hibari_worker, monkeypatch):
    monkeypatch.setattr(hibari_worker.synthesis, "settings",
                        replace(hibari_worker.settings, max_text_chars=2_000))
    digits = " ".join(["1234567"] * 200)            # 1,599 characters, well over 2,000 when spoken
    error = error_of(hibari_worker.handle({"text": digits}))
    assert error["code"] == "text_too_long" and "spoken characters" in error["message"]
    turn = {"text": " ".join(["1234567"] * 20)}    # ~1,400 spoken characters: one turn fits, two do not
    assert "audio_base64" in hibari_worker.handle({"segments": [turn], "format": "wav"})
    assert error_of(hibari_worker.handle({"segments": [turn, turn]}))["code"] == "text_too_long"   # one budget
