"""`python -m server` in the image (load-balancing mode), reached from this machine: OpenAI's speech route, RunPod's
job routes, the container's health check; and the S3 voice library shared with the queue worker's container."""
from __future__ import annotations

import time

import httpx
import numpy as np
import pytest

from jobcore import audio
from tests.image.conftest import SERVER_KEY
from tests.support.speech import decode_result, transcribe, wer

pytestmark = pytest.mark.image

AUTH = {"Authorization": f"Bearer {SERVER_KEY}"}


def test_openai_speech_route(server):
    text = "The server in the container answers the speech route."
    reply = httpx.post(f"{server.url}/v1/audio/speech", headers=AUTH, timeout=300,
                       json={"model": "tts-1", "input": text, "voice": "alloy", "response_format": "wav"})
    assert reply.status_code == 200, reply.text[:500]
    samples, rate = audio.decode(reply.content)
    assert rate == 24000 and samples.dtype == np.float32
    # the server in the container speaks the text (the model's quality is judged in tests/backends and
    # bench/kokoro_graph.py): at most two of its nine words misheard by whisper tiny ("speech route" -> "speechlet")
    assert wer(text, transcribe(samples, rate)) <= 0.25
    assert httpx.post(f"{server.url}/v1/audio/speech", json={"input": "x", "voice": "alloy"}).status_code == 401


def test_runpod_routes(server):
    text = "And the job routes as well."
    done = httpx.post(f"{server.url}/v2/local/runsync", headers=AUTH, timeout=300,
                      json={"input": {"text": text, "format": "wav"}}).json()
    assert done["status"] == "COMPLETED", done
    (result,) = done["output"]                   # STREAMING=1 (default): outputs are lists, as on RunPod
    assert wer(text, transcribe(*decode_result(result))) <= 0.2
    queued = httpx.post(f"{server.url}/v2/local/run", headers=AUTH, json={"input": {"action": "info"}}).json()
    deadline = time.monotonic() + 120
    while (status := httpx.get(f"{server.url}/v2/local/status/{queued['id']}", headers=AUTH).json())["status"] \
            in ("IN_QUEUE", "IN_PROGRESS") and time.monotonic() < deadline:
        time.sleep(0.3)
    assert status["status"] == "COMPLETED" and status["output"][0]["backend"] == "kokoro"


def test_the_health_check_reports_the_server_healthy(server):
    deadline = time.monotonic() + 60
    while (health := server.state().get("Health", {})).get("Status") != "healthy" and time.monotonic() < deadline:
        time.sleep(1)
    assert health.get("Status") == "healthy", health


def test_a_voice_made_by_one_container_is_used_by_another(queue, queue_worker, server):
    made = queue.wait(queue.submit({"action": "voices.create", "name": "Image Mix",
                                    "blend": {"jf_alpha": 2, "jm_kumo": 1}}), 300)
    assert made.status == "COMPLETED", made.result
    assert made.output[0]["voice"]["id"] == "image-mix"
    text = "A voice from the shared library."
    done = httpx.post(f"{server.url}/v2/local/runsync", headers=AUTH, timeout=300,
                      json={"input": {"text": text, "voice": "Image Mix", "format": "wav"}}).json()
    assert done["status"] == "COMPLETED", done
    (result,) = done["output"]
    assert result["voice"] == "image-mix"
    assert wer(text, transcribe(*decode_result(result))) <= 0.25
