"""Thousands of generated job inputs through the worker: no exception, only stable error codes, still serving."""
import socket

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from jobcore.worker import Worker
from storage import open_store
from tests.support.jobs import error_of
from voice_library import ByteLRU, VoiceLibrary

STABLE_CODES = {"invalid_input", "text_too_long", "unsupported_format", "voice_not_found", "voice_exists",
                "cloning_unsupported", "audio_invalid", "storage_unavailable", "output_too_large"}
KEYS = ["action", "text", "input", "voice", "format", "response_format", "sample_rate", "speed", "seed", "params",
        "output", "stream", "captions", "gap_s", "segments", "model", "reference_audio", "reference_text", "name",
        "blend", "audio_base64", "audio_url", "id", "transcript", "tags", "language", "colour"]
ACTIONS = ["synthesize", "voices.list", "voices.get", "voices.create", "voices.delete", "info", "", "drop", None, 3]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40), st.floats(allow_nan=True),
                    st.text(max_size=40), st.sampled_from(["heart", "mp3", "pcm", "url", "srt", "Hello there.",
                                                           "https://example.invalid/a.wav", "../../etc", "AAAA"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.sampled_from(KEYS + ["x"]), inner, max_size=3)),
                      max_leaves=6)
plausible = {
    "format": st.sampled_from(["mp3", "opus", "flac", "wav", "pcm", "aac", "MP3"]),
    "sample_rate": st.sampled_from([8000, 16000, 22050, 24000, 44100, 48000, 7, 96000]),
    "speed": st.floats(0.3, 2.5), "seed": st.integers(-1, 2**33), "stream": st.booleans(),
    "captions": st.sampled_from(["srt", "vtt", "ass"]), "output": st.sampled_from(["auto", "base64", "url"]),
    "voice": st.sampled_from(["heart", "HEART", "nobody", ""]), "gap_s": st.floats(-1, 6),
}
nearly_valid = st.builds(lambda text, extra: {"text": text, **extra}, st.text(min_size=1, max_size=60),
                         st.fixed_dictionaries({}, optional={k: st.one_of(v, values) for k, v in plausible.items()}))
jobs = st.one_of(
    nearly_valid,
    st.builds(lambda d, a: {**d, "action": a}, st.dictionaries(st.sampled_from(KEYS), values, max_size=6),
              st.sampled_from(ACTIONS)),
    st.dictionaries(st.sampled_from(KEYS), values, max_size=6),
    values,
)


@pytest.fixture(scope="module")
def fuzz_worker(hibari_worker, tmp_path_factory):
    library = VoiceLibrary(open_store(str(tmp_path_factory.mktemp("fuzz-lib"))), ByteLRU(10_000_000))
    worker = Worker(hibari_worker.settings, hibari_worker.backend, library)
    worker.seed_stock_voices()
    return worker


@pytest.fixture(autouse=True)
def no_dns(monkeypatch):
    """Generated URLs must never leave the machine: every lookup fails as an unknown host would."""
    def refuse(*args, **kwargs):
        raise socket.gaierror("lookups are disabled in the fuzz test")
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(job=jobs)
def test_any_job_input_gives_a_result_or_a_stable_error(fuzz_worker, job):
    result = fuzz_worker.handle(job, "fuzz")
    assert isinstance(result, dict)
    if "error" in result:
        error = error_of(result)
        assert error["code"] in STABLE_CODES, error
        assert set(error) == {"code", "message", "hint"}
    for item in fuzz_worker.stream(job, "fuzz"):
        assert isinstance(item, dict)
        if "error" in item:
            assert error_of(item)["code"] in STABLE_CODES


def test_still_serving_after_the_fuzz(fuzz_worker):
    fuzz_worker.seed_stock_voices()                  # the fuzz may have deleted the stock voice
    assert "audio_base64" in fuzz_worker.handle({"text": "Still standing.", "voice": "heart"})
