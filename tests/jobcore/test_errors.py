"""Each error code comes from a real bad job, as a JSON string, and the worker keeps serving."""
import pytest

from tests.support.jobs import error_of
from tests.support.speech import decode_result


@pytest.mark.parametrize("job,code,mentions", [
    ({"text": "hi", "colour": "blue"}, "invalid_input", "colour"),
    ({"text": "hi", "speed": 9}, "invalid_input", "speed"),
    ({"text": "hi", "params": {"temperature": 0.5}}, "invalid_input", "temperature"),
    ({"text": ""}, "invalid_input", "text"),
    ({}, "invalid_input", "text"),
    ({"text": "!!! ... ???"}, "invalid_input", "nothing to speak"),
    ({"action": "voices.explode"}, "invalid_input", "voices.explode"),
    ({"text": "hi", "output": "url"}, "invalid_input", "S3"),
    ({"text": "hi", "voice": "nobody-here"}, "voice_not_found", "nobody-here"),
    ({"action": "voices.get", "voice": "Nobody"}, "voice_not_found", "Nobody"),
    ({"text": "x" * 20_001}, "text_too_long", "20000"),
    ({"text": "hi", "format": "webm"}, "unsupported_format", "webm"),
    ({"text": "hi", "format": "opus", "sample_rate": 44100}, "unsupported_format", "44100"),
])
def test_bad_job_gives_its_code(kokoro_worker, job, code, mentions):
    err = error_of(kokoro_worker.handle(job))
    assert err["code"] == code
    assert mentions in err["message"]


@pytest.mark.parametrize("bad_input", [None, "text", 42, ["text"]])
def test_non_object_input_is_invalid(kokoro_worker, bad_input):
    assert error_of(kokoro_worker.handle(bad_input))["code"] == "invalid_input"


def test_voice_not_found_hint_lists_available_voices(kokoro_worker):
    err = error_of(kokoro_worker.handle({"text": "hi", "voice": "nobody"}))
    assert "jm_kumo" in err["hint"] and "jf_alpha" in err["hint"]


def test_corrupt_stored_embedding_is_a_structured_error(tmp_path):
    from jobcore.settings import Settings
    from jobcore.worker import Worker

    settings = Settings(backend="hibari", voice_library_uri=str(tmp_path), warmup=False)
    Worker.from_settings(settings)                       # seeds the library
    path = next(tmp_path.glob("voices/heart/embeddings/*.safetensors"))
    path.write_bytes(b"\x80\x04not safetensors")   # a pickle header must never be unpickled
    worker = Worker.from_settings(settings)
    err = error_of(worker.handle({"text": "hello", "voice": "heart"}))
    assert err["code"] == "storage_unavailable"


def test_worker_keeps_serving_after_bad_jobs(kokoro_worker):
    for job in ({"text": 5}, {"voice": []}, {"text": "hi", "format": None, "sample_rate": "fast"}):
        assert "error" in kokoro_worker.handle(job)
    samples, rate = decode_result(kokoro_worker.handle({"text": "Still here.", "format": "wav"}))
    assert len(samples) / rate > 0.3
