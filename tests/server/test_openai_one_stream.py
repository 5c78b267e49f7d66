"""OpenAI's /v1/audio/speech answers one continuous stream in every format: a multi-sentence answer decodes to
its full length with libsndfile and FFmpeg (PyAV), with one stream header; the first bytes still leave after
the first sentence."""
from __future__ import annotations

import openai
import pytest

from tests.support.one_stream import assert_one_stream

TEXT = "The first sentence is short. The second one is a little longer than that. A third closes it."


@pytest.fixture(scope="module")
def oa(local_url):
    with openai.OpenAI(base_url=f"{local_url}/v1", api_key="unused-here", max_retries=0, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def seconds(oa) -> float:
    pcm = oa.audio.speech.create(model="tts-1", voice="jm_kumo", input=TEXT, response_format="pcm").content
    return len(pcm) / 2 / 24_000


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "wav", "flac"])
def test_speech_is_one_stream_of_the_whole_length(oa, seconds, fmt):
    with oa.audio.speech.with_streaming_response.create(model="tts-1", voice="jm_kumo", input=TEXT,
                                                        response_format=fmt) as response:
        pieces = list(response.iter_bytes())
    assert_one_stream(b"".join(pieces), fmt, seconds)


def test_the_default_format_is_one_mp3_stream(oa, seconds):
    """OpenAI's default format through the SDK's plain call, as a new user first tries it."""
    response = oa.audio.speech.create(model="tts-1", voice="jm_kumo", input=TEXT)
    assert response.response.headers["content-type"] == "audio/mpeg"
    assert_one_stream(response.content, "mp3", seconds)
