"""COMPLETED means speech: text that yields nothing to speak for the backend fails with an error naming what could
not be spoken, in every path (plain, stream, batch, OpenAI speech), and is never cached."""
from __future__ import annotations

import uuid

import pytest

from jobcore.worker import Worker
from tests.support.jobs import error_of
from tests.support.seaweed import s3_settings

UNSPOKEN = "こんにちは。元気ですか。"


@pytest.fixture
def silent_for_one(kokoro_worker, monkeypatch):
    """The default backend, made to return no audio for the sentence "Silent sentence here." (a generic stand-in
    for any sentence a backend cannot speak), whatever language support other helpers add."""
    backend, real = kokoro_worker.backend, kokoro_worker.backend.synthesize_many

    def synthesize_many(texts, *args, **kwargs):
        made = list(real(texts, *args, **kwargs))
        return [[] if "silent sentence" in text.lower() else chunks for text, chunks in zip(texts, made)]

    monkeypatch.setattr(backend, "synthesize_many", synthesize_many)
    return kokoro_worker


def test_a_sentence_without_speech_fails_the_job_naming_it(silent_for_one):
    worker = silent_for_one
    for job in ({"text": "Silent sentence here."}, {"text": "Hello there. Silent sentence here. Goodbye now."},
                {"segments": [{"text": "Hello there."}, {"text": "Silent sentence here.", "voice": "jm_kumo"}]}):
        error = error_of(worker.handle({**job, "format": "wav"}))
        assert error["code"] == "invalid_input" and "Silent sentence here." in error["message"], error
        assert "kokoro" in error["message"] and "en" in error["hint"]
    items = list(worker.stream({"text": "Hello there. Silent sentence here.", "stream": True, "format": "wav"}))
    assert "Silent sentence here." in error_of(items[-1])["message"]
    batch = worker.handle({"batch": [{"text": "Silent sentence here."}, {"text": "Hello.", "format": "wav"}]})
    assert batch["failed"] == 1 and "Silent sentence here." in batch["results"][0]["error"]["message"]
    speech = worker.speech({"text": "Hello there. Silent sentence here.", "format": "wav"})
    with pytest.raises(Exception, match="Silent sentence here"):
        b"".join(speech.chunks)


def test_text_the_backend_cannot_speak_is_an_error_and_never_cached(silent_for_one, seaweed):
    worker = Worker.from_settings(s3_settings(silent_for_one.settings, seaweed, f"sp-{uuid.uuid4().hex[:12]}"),
                                  backend=silent_for_one.backend)
    for _ in range(2):
        error = error_of(worker.handle({"text": "Silent sentence here.", "format": "wav"}))
        assert "Silent sentence here." in error["message"]
    assert worker.library.store.list("outputs/cache/") == []


def test_japanese_on_an_english_only_backend_is_never_a_silent_success(kokoro_worker):
    """Today's default speaks English only; whichever languages it gains, it never answers COMPLETED with nothing
    spoken (either speech is made, or the job fails naming the sentence)."""
    for text in (UNSPOKEN, f"Hello there. {UNSPOKEN} Goodbye now."):
        result = kokoro_worker.handle({"text": text, "format": "wav"})
        if "error" in result:
            assert error_of(result)["code"] == "invalid_input" and "こんにちは" in error_of(result)["message"]
        else:
            assert result["duration_s"] > 0.3 and any("こんにちは" in s["text"] for s in result["sentences"])
