"""The local server as RunPod's own clients see it: the runpod SDK's Endpoint, handler output shapes, /retry,
ttl, progress, /ping."""
from __future__ import annotations

import base64
import io
import json
import threading
import time
from dataclasses import replace

import httpx
import pytest
import runpod
import soundfile as sf

from client import TTSClient
from common.errors import StorageUnavailable
from jobcore.worker import Worker
from server import ServerSettings, create_app
from tests.support.fake_worker import FakeWorker
from tests.support.servers import API_KEY, serve

SIX = ("The first sentence is short. Here comes the second one. A third follows it. "
       "Then a fourth sentence. The fifth is here. Six sentences make a long job.")
FOUR = "One is short. Two comes next. Three follows. Four ends it."


def seconds_of(item: dict) -> float:
    data, rate = sf.read(io.BytesIO(base64.b64decode(item["audio_base64"])))
    return len(data) / rate


@pytest.fixture(scope="module")
def streaming_url(kokoro_worker):
    """STREAMING on (the default): the server answers as RunPod does for the generator handler."""
    assert kokoro_worker.settings.streaming
    with serve(create_app(kokoro_worker, ServerSettings(api_key=API_KEY))) as url:
        yield url


@pytest.fixture(scope="module")
def plain_url(kokoro_worker):
    """STREAMING=0: the plain handler's answers."""
    worker = Worker(replace(kokoro_worker.settings, streaming=False), kokoro_worker.backend, kokoro_worker.library)
    with serve(create_app(worker)) as url:
        yield url


@pytest.fixture
def endpoint(streaming_url, monkeypatch):
    """runpod.Endpoint pointed at the local server. The SDK reads RUNPOD_ENDPOINT_BASE_URL once, at import,
    into `runpod.endpoint_url_base`; each client copies that attribute when it is built."""
    monkeypatch.setattr(runpod, "endpoint_url_base", f"{streaming_url}/v2")
    return runpod.Endpoint("local-endpoint", api_key=API_KEY)


def test_runpod_sdk_run_sync_and_run_get_runpods_output_shape(endpoint):
    output = endpoint.run_sync({"text": "Hello from the SDK.", "format": "wav"}, timeout=120)
    assert isinstance(output, list) and len(output) == 1       # the generator handler's aggregate
    assert output[0]["format"] == "wav" and seconds_of(output[0]) > 0.5
    job = endpoint.run({"input": {"text": "Queued through the SDK.", "format": "wav"}})
    result = job.output(timeout=120)
    assert job.status() == "COMPLETED" and seconds_of(result[0]) > 0.5


def test_runpod_sdk_stream_cancel_health_purge(endpoint):
    job = endpoint.run({"text": "One sentence here. And a second one.", "format": "pcm", "stream": True})
    items = list(job.stream())
    assert [i["chunk_index"] for i in items[:-1]] == [0, 1] and items[-1]["done"]
    long_job = endpoint.run({"text": SIX, "format": "pcm", "stream": True})
    assert long_job.cancel()["status"] == "CANCELLED"
    assert long_job.status() == "CANCELLED"
    health = endpoint.health()
    assert health["jobs"]["completed"] >= 1 and health["workers"]["ready"] == 1
    assert endpoint.purge_queue()["status"] == "completed"


def test_runpod_sdk_wrong_key_is_refused(streaming_url, monkeypatch):
    monkeypatch.setattr(runpod, "endpoint_url_base", f"{streaming_url}/v2")
    with pytest.raises(RuntimeError, match="Unauthorized"):
        runpod.Endpoint("local-endpoint", api_key="wrong").health()


def test_output_shape_follows_streaming_setting_and_client_takes_both(streaming_url, plain_url):
    job = {"text": "Shape check.", "format": "wav"}
    with TTSClient(streaming_url, API_KEY, timeout=60) as streaming, TTSClient(plain_url, timeout=60) as plain:
        listed = streaming.runsync(job)["output"]
        whole = plain.runsync(job)["output"]
        assert isinstance(listed, list) and len(listed) == 1 and isinstance(whole, dict)
        assert listed[0]["duration_s"] == whole["duration_s"]
        assert len(streaming.synthesize("Both shapes.", format="wav")) > 1000
        assert len(plain.synthesize("Both shapes.", format="wav")) > 1000
        refused = plain.runsync({**job, "stream": True})
    assert refused["status"] == "FAILED" and json.loads(refused["error"])["code"] == "invalid_input"
    assert "STREAMING" in json.loads(refused["error"])["message"]


def test_progress_shows_as_in_progress_output(plain_url):
    with TTSClient(plain_url, timeout=60) as c:
        job_id = c.run({"text": FOUR, "format": "wav"})
        seen, deadline = [], time.monotonic() + 120
        while (payload := c.status(job_id))["status"] != "COMPLETED":
            assert time.monotonic() < deadline and payload["status"] in ("IN_QUEUE", "IN_PROGRESS"), payload
            if payload["status"] == "IN_PROGRESS" and "output" in payload:
                seen.append(payload["output"])
            time.sleep(0.05)
    assert seen and all(p["sentences"] == 4 and 1 <= p["sentences_done"] <= 4 for p in seen)
    assert len(payload["output"]["sentences"]) == 4      # the result replaces the progress


def test_ping_answers_without_key(streaming_url):
    assert httpx.get(f"{streaming_url}/ping").status_code == 200
    assert httpx.get(f"{streaming_url}/health").status_code == 401


# -- queue semantics on a controllable worker ------------------------------------------------------------
class Gate(FakeWorker):
    """A worker whose jobs wait for `release`; input {"fail": n} fails the first n runs; reports progress."""

    def __init__(self):
        super().__init__()
        self.release, self.runs = threading.Event(), []
        self.release.set()

    def handle(self, job_input, job_id=None, progress=None, s3_config=None, cancellation=None):
        self.runs.append(job_id)
        if progress:
            progress({"step": 1})
        self.release.wait(30)
        if self.runs.count(job_id) <= job_input.get("fail", 0):
            return {"error": StorageUnavailable("flaky")}
        return {"ok": job_input.get("n", 0)}


@pytest.fixture
def gated():
    gate = Gate()
    app = create_app(gate, ServerSettings(result_ttl_s=1.0))
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield gate, http
    gate.release.set()


def wait_status(http, job_id, want, timeout=20):
    deadline = time.monotonic() + timeout
    while (body := http.get(f"/status/{job_id}").json())["status"] != want:
        assert time.monotonic() < deadline, body
        time.sleep(0.05)
    return body


def test_retry_reruns_a_failed_job_under_its_id(gated):
    gate, http = gated
    job_id = http.post("/v2/ep/run", json={"input": {"fail": 1, "n": 7}}).json()["id"]
    failed = wait_status(http, job_id, "FAILED")
    assert json.loads(failed["error"])["code"] == "storage_unavailable"
    assert http.post(f"/v2/ep/retry/{job_id}").json() == {"id": job_id, "status": "IN_QUEUE"}
    done = wait_status(http, job_id, "COMPLETED")
    assert done["output"] == [{"ok": 7}] and gate.runs.count(job_id) == 2
    refused = http.post(f"/retry/{job_id}")
    assert refused.status_code == 400 and "COMPLETED" in refused.json()["error"]
    assert http.get("/health").json()["jobs"]["retried"] == 1


def test_progress_update_is_the_in_progress_output(gated):
    gate, http = gated
    gate.release.clear()
    job_id = http.post("/run", json={"input": {"n": 1}}).json()["id"]
    running = wait_status(http, job_id, "IN_PROGRESS")
    deadline = time.monotonic() + 5
    while "output" not in running and time.monotonic() < deadline:
        running = http.get(f"/status/{job_id}").json()
    assert running["output"] == {"step": 1}
    gate.release.set()
    assert wait_status(http, job_id, "COMPLETED")["output"] == [{"ok": 1}]


def test_policy_ttl_drops_a_job_that_waits_too_long(gated):
    gate, http = gated
    gate.release.clear()
    blocker = http.post("/run", json={"input": {"n": 1}}).json()["id"]
    wait_status(http, blocker, "IN_PROGRESS")
    late = http.post("/run", json={"input": {"n": 2}, "policy": {"ttl": 300}}).json()["id"]
    time.sleep(0.5)
    gate.release.set()
    wait_status(http, blocker, "COMPLETED")
    assert http.get(f"/status/{late}").status_code == 404 and late not in gate.runs


def test_status_ttl_keeps_a_result_past_retention(gated):
    gate, http = gated
    kept = http.post("/run", json={"input": {"n": 1}}).json()["id"]
    dropped = http.post("/run", json={"input": {"n": 2}}).json()["id"]
    wait_status(http, kept, "COMPLETED")
    wait_status(http, dropped, "COMPLETED")
    assert http.get(f"/status/{kept}", params={"ttl": 5000}).status_code == 200
    time.sleep(1.5)   # past the server's 1 s result retention
    assert http.get(f"/status/{dropped}").status_code == 404
    assert http.get(f"/status/{kept}").json()["output"] == [{"ok": 1}]
    assert http.get(f"/status/{kept}", params={"ttl": 0}).status_code == 400


def test_retry_of_a_timed_out_job_is_not_touched_by_the_run_still_finishing(gated):
    gate, http = gated
    gate.release.clear()
    job_id = http.post("/run", json={"input": {"n": 3}, "policy": {"executionTimeout": 200}}).json()["id"]
    wait_status(http, job_id, "IN_PROGRESS")
    time.sleep(0.3)
    assert http.get(f"/status/{job_id}").json()["status"] == "TIMED_OUT"
    assert http.post(f"/retry/{job_id}").json()["status"] == "IN_QUEUE"
    gate.release.set()                        # the first run ends now; its result must be dropped
    assert wait_status(http, job_id, "COMPLETED")["output"] == [{"ok": 3}] and gate.runs.count(job_id) == 2


def test_client_retries_a_failed_job(gated):
    gate, http = gated
    with TTSClient(str(http.base_url), timeout=30) as c:
        job_id = c.run({"fail": 1, "n": 5}, policy={"ttl": 60_000})
        assert c.wait(job_id, timeout=20)["status"] == "FAILED"
        assert c.retry(job_id)["status"] == "IN_QUEUE"
        assert c.wait(job_id, timeout=20)["output"] == [{"ok": 5}]
