"""RunPod's endpoint API on the local server, driven by the client: queue, status, stream, cancel, webhooks, auth."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import replace

import httpx
import pytest

from client import TTSClient, TTSHTTPError
from client.api import single_output
from jobcore.worker import Worker
from server import ServerSettings, create_app
from tests.support.servers import API_KEY, Receiver, serve, wait_idle

SENTENCES = ["The first sentence is short.", "Here comes the second one.", "A third follows it.",
             "Then a fourth sentence.", "The fifth is here.", "Six sentences make a long job."]


def test_run_then_status_completes(client):
    job_id = client.run({"text": "Hello there.", "format": "wav"})
    first = client.status(job_id)
    assert first["id"] == job_id and first["status"] in ("IN_QUEUE", "IN_PROGRESS", "COMPLETED")
    done = client.wait(job_id, timeout=60)
    assert done["status"] == "COMPLETED", done
    assert done["output"] == [single_output(done["output"])]   # the generator handler's one-item list (STREAMING)
    assert done["output"][0]["format"] == "wav" and done["output"][0]["audio_base64"]
    assert done["delayTime"] >= 0 and done["executionTime"] > 0


def test_job_error_becomes_failed_with_top_level_error(client):
    payload = client.runsync({"text": "Hi.", "voice": "nobody-at-all"})
    assert payload["status"] == "FAILED" and "output" not in payload
    assert json.loads(payload["error"])["code"] == "voice_not_found"


class GatedBackend:
    """The real Kokoro backend, except that every sentence after the first waits until the test opens `gate`:
    while the test looks at the first chunk the job is certainly still running, however loaded the machine."""

    def __init__(self, backend):
        self._backend, self.gate = backend, threading.Event()

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def synthesize_many(self, texts, voice, **options):
        spoken = self._backend.synthesize_many(texts, voice, **options)
        try:
            for index, chunks in enumerate(spoken):
                if index and not self.gate.wait(30):
                    raise RuntimeError("the test never opened the gate")
                yield chunks
        finally:
            spoken.close()


@pytest.fixture(scope="module")
def gated_backend(kokoro_worker):
    return GatedBackend(kokoro_worker.backend)


@pytest.fixture(scope="module")
def gated_url(kokoro_worker, gated_backend, tmp_path_factory):
    settings = replace(kokoro_worker.settings, voice_library_uri=str(tmp_path_factory.mktemp("gated-lib")))
    worker = Worker.from_settings(settings, backend=gated_backend)
    with serve(create_app(worker, ServerSettings(concurrency=1))) as url:
        yield url


@pytest.fixture
def gated(gated_url, gated_backend):
    """A client of the gated server, and its gate (closed at the start of each test, opened at the end)."""
    gated_backend.gate.clear()
    try:
        with TTSClient(gated_url, timeout=30) as c:
            yield c, gated_backend.gate
    finally:
        gated_backend.gate.set()


def test_stream_yields_first_chunk_before_the_job_completes(gated):
    client, gate = gated
    job_id = client.run({"text": " ".join(SENTENCES[:3]), "format": "pcm", "stream": True})
    stream = client.stream_job(job_id, timeout=60, poll_s=0.1)
    first = next(stream)
    assert first["chunk_index"] == 0
    assert client.status(job_id)["status"] == "IN_PROGRESS"   # the second sentence waits for the gate
    gate.set()
    items = [first, *stream]
    chunks, summary = items[:-1], items[-1]
    assert len(chunks) == 3 and summary["done"] and summary["chunks"] == 3
    assert [c["chunk_index"] for c in chunks] == [0, 1, 2]
    final = client.status(job_id)
    assert final["status"] == "COMPLETED" and final["output"][-1]["done"]   # the aggregate of the stream


def test_cancel_stops_a_streamed_job_between_chunks(gated):
    client, gate = gated
    job_id = client.run({"text": " ".join(SENTENCES), "format": "pcm", "stream": True})
    stream = client.stream_job(job_id, timeout=60, poll_s=0.1)
    first = next(stream)
    assert first["chunk_index"] == 0
    assert client.cancel(job_id)["status"] == "CANCELLED"      # the second sentence is still behind the gate
    gate.set()
    wait_idle(client)   # the sentence being made when cancel arrived finishes, then the job stops
    later = httpx.get(f"{client.base_url}/stream/{job_id}", timeout=10).json()
    assert later["status"] == "CANCELLED" and later["stream"] == []   # no chunk made after the cancel is handed out
    assert client.status(job_id)["status"] == "CANCELLED"
    stream.close()


def test_webhook_is_delivered_and_retried_after_a_500(client):
    with Receiver([500]) as receiver:
        job_id = client.run({"action": "info"}, webhook=receiver.url)
        bodies = receiver.wait_for(2, timeout=30)
        assert len(bodies) == 2, bodies
        for body in bodies:
            assert body["id"] == job_id and body["status"] == "COMPLETED" and single_output(body["output"])["backend"] == "kokoro"
        gap = receiver.deliveries[1][0] - receiver.deliveries[0][0]
        assert gap >= 0.15
        time.sleep(0.5)
        assert len(receiver.deliveries) == 2   # a 200 ends the retries


def test_webhook_reports_failures_too(client):
    with Receiver([]) as receiver:
        job_id = client.run({"action": "voices.get", "voice": "nobody-at-all"}, webhook=receiver.url)
        [body] = receiver.wait_for(1, timeout=30)
        assert body["id"] == job_id and body["status"] == "FAILED" and "voice_not_found" in body["error"]


def test_runsync_with_a_tiny_wait_answers_before_the_job_ends(client):
    wait_idle(client)
    response = httpx.post(f"{client.base_url}/runsync", params={"wait": 1},
                          json={"input": {"text": " ".join(SENTENCES[:2]), "format": "wav"}}, timeout=30)
    body = response.json()
    # 1 ms is shorter than a thread pool hand-off: RunPod too answers IN_QUEUE or IN_PROGRESS here
    assert response.status_code == 200 and body["status"] in {"IN_QUEUE", "IN_PROGRESS"} and set(body) == {"id", "status"}
    done = client.wait(body["id"], timeout=60)
    assert done["status"] == "COMPLETED" and single_output(done["output"])["duration_s"] > 1


def test_private_webhooks_are_refused_unless_allowed(keyed_url):
    with TTSClient(keyed_url, API_KEY) as c, pytest.raises(TTSHTTPError) as info:
        c.run({"action": "info"}, webhook="http://127.0.0.1:9/hook")
    assert info.value.status_code == 400 and "private" in str(info.value)


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "wrong"}])
def test_missing_or_wrong_api_key_is_401(keyed_url, headers):
    for method, path in [("POST", "/run"), ("GET", "/health"), ("GET", "/status/x"), ("POST", "/v1/audio/speech")]:
        response = httpx.request(method, keyed_url + path, headers=headers, json={"input": {}}, timeout=10)
        assert response.status_code == 401, (path, response.text)


@pytest.mark.parametrize("header", [f"Bearer {API_KEY}", API_KEY])
def test_bearer_or_bare_key_is_accepted(keyed_url, header):
    response = httpx.get(f"{keyed_url}/health", headers={"Authorization": header}, timeout=10)
    assert response.status_code == 200


def test_health_counts_jobs(keyed_url):
    with TTSClient(keyed_url, API_KEY) as c:
        before = c.health()
        assert c.runsync({"action": "info"})["status"] == "COMPLETED"
        assert c.runsync({"action": "voices.get", "voice": "nobody-at-all"})["status"] == "FAILED"
        after = c.health()
    assert after["jobs"]["completed"] == before["jobs"]["completed"] + 1
    assert after["jobs"]["failed"] == before["jobs"]["failed"] + 1
    assert after["jobs"]["inQueue"] == 0 and after["jobs"]["inProgress"] == 0 and after["jobs"]["retried"] == 0
    assert after["workers"]["ready"] == 1


def test_results_expire_after_the_ttl(keyed_url):
    with TTSClient(keyed_url, API_KEY) as c:
        job_id = c.run({"action": "info"})
        assert c.wait(job_id, timeout=30)["status"] == "COMPLETED"
        time.sleep(1.2)   # the keyed server keeps results 1 s
        with pytest.raises(TTSHTTPError) as info:
            c.status(job_id)
    assert info.value.status_code == 404


def test_bad_bodies_and_unknown_jobs(client):
    base = client.base_url
    assert httpx.post(f"{base}/run", content=b"not json", headers={"content-type": "application/json"},
                      timeout=10).status_code == 400
    assert httpx.post(f"{base}/run", json={"text": "no input wrapper"}, timeout=10).status_code == 400
    assert httpx.get(f"{base}/status/nope", timeout=10).status_code == 404
    assert httpx.post(f"{base}/cancel/nope", timeout=10).status_code == 404
