"""Every output format decodes back at the requested rate with the WAV result's duration."""
import numpy as np
import pytest

from tests.support.speech import decode_result

TEXT = "Formats should all carry the same speech."


@pytest.fixture(scope="module")
def wav_duration(kokoro_worker):
    samples, rate = decode_result(kokoro_worker.handle({"text": TEXT, "format": "wav"}))
    return len(samples) / rate


@pytest.mark.parametrize("fmt,rate", [("mp3", None), ("mp3", 44100), ("opus", 48000), ("opus", None),
                                      ("flac", 16000), ("wav", 22050), ("pcm", None), ("pcm", 8000)])
def test_format_decodes_with_rate_and_duration(kokoro_worker, wav_duration, fmt, rate):
    job = {"text": TEXT, "format": fmt} | ({"sample_rate": rate} if rate else {})
    result = kokoro_worker.handle(job)
    samples, got_rate = decode_result(result)
    assert got_rate == (rate or 24_000) == result["sample_rate"]
    assert abs(len(samples) / got_rate - wav_duration) <= 0.02 * wav_duration
    assert np.sqrt(np.mean(samples ** 2)) > 0.01          # speech, not silence
    assert result["content_type"].startswith({"mp3": "audio/mpeg", "opus": "audio/ogg", "flac": "audio/flac",
                                              "wav": "audio/wav", "pcm": "audio/L16"}[fmt])


def test_mp3_is_the_default(kokoro_worker):
    result = kokoro_worker.handle({"text": TEXT})
    assert result["format"] == "mp3" and decode_result(result)[1] == 24_000


def test_openai_field_names(kokoro_worker):
    result = kokoro_worker.handle({"input": TEXT, "voice": "JM_KUMO", "response_format": "flac",
                                   "model": "tts-1", "speed": 1.0})
    assert result["format"] == "flac" and result["voice"] == "jm_kumo"
    decode_result(result)
