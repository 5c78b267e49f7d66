"""OpenAI's speech API on the local server, through the official `openai` package; the openai_route passthrough."""
from __future__ import annotations

import base64

import httpx
import numpy as np
import openai
import pytest

from client.api import single_output
from common.errors import InvalidInput
from jobcore import audio
from jobcore.openai_compat import unwrap_openai
from tests.support.jobs import error_of
from tests.support.servers import API_KEY
from tests.support.speech import transcribe, wer


@pytest.fixture
def oa(local_url):
    with openai.OpenAI(base_url=f"{local_url}/v1", api_key="unused-here", max_retries=0, timeout=120) as c:
        yield c


def test_speech_wav_decodes_and_transcribes(oa):
    text = "The quick brown fox jumps over the lazy dog."
    response = oa.audio.speech.create(model="tts-1", voice="jm_kumo", input=text, response_format="wav")
    assert response.response.headers["content-type"] == "audio/wav"
    samples, rate = audio.decode(response.content)
    assert rate == 24_000 and len(samples) / rate > 1.0
    assert wer(text, transcribe(samples, rate)) <= 0.15


def test_streamed_pcm_equals_the_whole_pcm(oa, client):
    text = "Streaming starts with the first sentence. The second one follows."
    with oa.audio.speech.with_streaming_response.create(model="tts-1", voice="jm_kumo", input=text,
                                                        response_format="pcm") as response:
        assert response.headers["content-type"].startswith("audio/L16")
        assert "content-length" not in response.headers    # chunked: sent as sentences are made
        streamed = b"".join(response.iter_bytes())
    whole = single_output(client.runsync({"text": text, "voice": "jm_kumo", "format": "pcm"})["output"])
    assert streamed == base64.b64decode(whole["audio_base64"])


def test_mp3_is_the_default_and_decodes(oa):
    response = oa.audio.speech.create(model="tts-1-hd", voice="jm_kumo", input="Hi.", speed=1.2,
                                      instructions="ignored here")
    assert response.response.headers["content-type"] == "audio/mpeg"
    samples, rate = audio.decode(response.content)
    assert len(samples) > rate * 0.2


def test_errors_take_openai_shape_and_status(oa):
    with pytest.raises(openai.BadRequestError) as info:
        oa.audio.speech.create(model="tts-1", voice="jm_kumo", input="Hi.", response_format="webm")
    assert info.value.status_code == 400 and info.value.code == "unsupported_format"
    assert info.value.body["type"] == "invalid_request_error" and "webm" in info.value.body["message"]
    with pytest.raises(openai.NotFoundError) as info:
        oa.audio.speech.create(model="tts-1", voice="nobody-at-all", input="Hi.", response_format="pcm")
    assert info.value.code == "voice_not_found"
    with pytest.raises(openai.BadRequestError):
        oa.audio.speech.create(model="tts-1", voice="jm_kumo", input="x" * 30_000, response_format="wav")


def test_models_and_voices(oa, local_url):
    ids = [m.id for m in oa.models.list()]
    assert {"tts-1", "tts-1-hd", "kokoro"} <= set(ids)
    voices = httpx.get(f"{local_url}/v1/audio/voices", timeout=10).json()["voices"]
    assert {"id": "jm_kumo", "name": "jm_kumo"}.items() <= next(v for v in voices if v["id"] == "jm_kumo").items()


def test_wrong_key_is_an_authentication_error(keyed_url):
    with openai.OpenAI(base_url=f"{keyed_url}/v1", api_key="wrong", max_retries=0) as c:
        with pytest.raises(openai.AuthenticationError):
            c.models.list()
    with openai.OpenAI(base_url=f"{keyed_url}/v1", api_key=API_KEY, max_retries=0) as c:
        assert any(m.id == "tts-1" for m in c.models.list())


def test_unwrap_openai_maps_speech_and_refuses_other_routes():
    job = unwrap_openai({"openai_route": "/v1/audio/speech",
                         "openai_input": {"model": "tts-1", "input": "Hi.", "voice": "af", "speed": 1.1,
                                          "instructions": "calm", "response_format": "wav"}})
    assert job == {"model": "tts-1", "text": "Hi.", "voice": "af", "speed": 1.1, "format": "wav"}
    assert unwrap_openai({"openai_route": "/v1/audio/speech", "openai_input": {"input": "Hi."}})["format"] == "mp3"
    plain = {"text": "Hi."}
    assert unwrap_openai(plain) is plain
    for bad in ({"openai_route": "/v1/chat/completions", "openai_input": {}},
                {"openai_route": "/v1/audio/speech", "openai_input": "Hi."},
                {"openai_route": "/v1/audio/speech", "openai_input": {"input": "Hi.", "temperature": 1}}):
        with pytest.raises(InvalidInput):
            unwrap_openai(bad)


def test_openai_route_job_synthesizes(kokoro_worker):
    job = {"openai_route": "/v1/audio/speech",
           "openai_input": {"model": "tts-1", "input": "Hello.", "voice": "jm_kumo", "response_format": "wav"}}
    result = kokoro_worker.handle(unwrap_openai(job), "passthrough")
    assert result["format"] == "wav" and result["voice"] == "jm_kumo"
    samples, rate = audio.decode(base64.b64decode(result["audio_base64"]))
    assert rate == 24_000 and np.abs(samples).max() > 0.01


def test_openai_route_through_the_job_api(kokoro_worker, client):
    """The worker unwraps RunPod's openai_route jobs itself: speech synthesizes, other routes are refused."""
    refused = error_of(kokoro_worker.handle({"openai_route": "/v1/models", "openai_input": {}}))
    assert refused["code"] == "invalid_input" and "is not served by this worker" in refused["message"]
    payload = client.runsync({"openai_route": "/v1/audio/speech",
                              "openai_input": {"model": "tts-1", "input": "Hello.", "voice": "jm_kumo",
                                               "response_format": "wav"}})
    output = single_output(payload["output"])
    assert payload["status"] == "COMPLETED" and output["format"] == "wav"
    samples, rate = audio.decode(base64.b64decode(output["audio_base64"]))
    assert rate == 24_000 and np.abs(samples).max() > 0.01
