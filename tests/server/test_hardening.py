"""Attacks on the local server that a browser page or a careless client can make: each is refused."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from server import ServerSettings, create_app
from server.guard import check_exposure
from tests.support.fake_worker import FakeWorker
from tests.support.servers import Receiver, serve

KEY = "hardening-key"


@pytest.fixture
def worker():
    return FakeWorker()


def start(worker, **settings):
    return serve(create_app(worker, ServerSettings(**settings)))


# -- cross-site and rebinding requests ----------------------------------------------------------
def test_a_text_plain_post_runs_nothing(worker):
    """What a web page's form or fetch without preflight can send: refused before any job exists."""
    with start(worker) as url:
        body = json.dumps({"input": {"action": "voices.delete", "name": "x"}})
        r = httpx.post(f"{url}/run", content=body, headers={"content-type": "text/plain"})
        assert r.status_code == 415
        r = httpx.post(f"{url}/v1/audio/speech", content='{"input": "hi"}', headers={"content-type": "text/plain"})
        assert r.status_code == 415
        assert httpx.get(f"{url}/health").json()["jobs"]["inQueue"] == 0
    assert worker.calls == []


def test_a_foreign_origin_is_refused_even_without_a_body(worker):
    with start(worker) as url:
        r = httpx.post(f"{url}/purge-queue", headers={"origin": "http://evil.example"})
        assert r.status_code == 403
        r = httpx.post(f"{url}/run", json={"input": {"text": "hi"}}, headers={"origin": "null"})
        assert r.status_code == 403
        same = url.replace("http://", "http://")
        assert httpx.post(f"{url}/purge-queue", headers={"origin": same}).status_code == 200
    assert worker.calls == []


def test_a_rebound_host_name_is_refused(worker):
    """DNS rebinding: evil.example resolves to 127.0.0.1, the browser sends Host: evil.example."""
    with start(worker) as url:
        port = url.rsplit(":", 1)[1]
        r = httpx.post(f"{url}/run", json={"input": {"text": "hi"}}, headers={"host": f"evil.example:{port}"})
        assert r.status_code == 403 and "ALLOWED_HOSTS" in r.json()["error"]
        for host in (f"localhost:{port}", f"127.0.0.1:{port}", "localhost"):
            assert httpx.get(f"{url}/health", headers={"host": host}).status_code == 200
    assert worker.calls == []


def test_allowed_hosts_admit_a_proxy_name(worker):
    with start(worker, allowed_hosts=("tts.internal",)) as url:
        assert httpx.get(f"{url}/health", headers={"host": "tts.internal"}).status_code == 200
        assert httpx.get(f"{url}/health", headers={"host": "other.internal"}).status_code == 403


def test_no_listening_beyond_loopback_without_a_key():
    with pytest.raises(ValueError, match="SERVER_API_KEY"):
        check_exposure("0.0.0.0", None)
    check_exposure("0.0.0.0", "k")
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_exposure(host, None)
    run = subprocess.run([sys.executable, "-m", "server"], env={"HOST": "0.0.0.0", "PATH": "/usr/bin"},
                         cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "SERVER_API_KEY" in run.stderr


def test_docs_need_the_key_when_one_is_set(worker):
    with start(worker, api_key=KEY) as url:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert httpx.get(f"{url}{path}").status_code == 401, path
            assert httpx.get(f"{url}{path}", headers={"authorization": f"Bearer {KEY}"}).status_code == 200, path


# -- malformed and oversized bodies -------------------------------------------------------------
def test_json_nested_100000_deep_is_invalid_input(worker):
    deep = "[" * 100_000 + "]" * 100_000
    with start(worker) as url:
        r = httpx.post(f"{url}/run", content=deep, headers={"content-type": "application/json"})
        assert r.status_code == 400 and "JSON" in r.json()["error"]
        r = httpx.post(f"{url}/v1/audio/speech", content=deep, headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_input"


def test_a_body_over_the_limit_is_refused_with_or_without_content_length(worker):
    big = b'{"input": {"text": "' + b"a" * (11 * 1024 * 1024) + b'"}}'

    def chunks():
        for i in range(0, len(big), 65536):
            yield big[i:i + 65536]

    with start(worker) as url:
        for path in ("/run", "/v1/audio/speech"):
            assert post_status(f"{url}{path}", big) == 413
            assert post_status(f"{url}{path}", chunks()) in (413, None)   # None: closed mid-upload
    assert worker.calls == []


def post_status(url: str, content) -> int | None:
    """The status answered, or None when the server closed the connection before the client finished sending."""
    try:
        return httpx.post(url, content=content, headers={"content-type": "application/json"}, timeout=30).status_code
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        return None


# -- bounded queue, retention and logs ----------------------------------------------------------
def test_the_queue_is_bounded_with_a_hint(worker):
    worker.gate.clear()   # the first job holds the only thread
    try:
        with start(worker, max_queued_jobs=2) as url:
            ids = [httpx.post(f"{url}/run", json={"input": {"text": str(i)}}).json()["id"] for i in range(3)]
            deadline = time.monotonic() + 10
            while len(worker.calls) < 1 and time.monotonic() < deadline:
                time.sleep(0.02)
            r = httpx.post(f"{url}/run", json={"input": {"text": "one too many"}})
            assert r.status_code == 429 and "MAX_QUEUED_JOBS" in r.json()["error"]
            worker.gate.set()
            for job_id in ids:
                wait_done(url, job_id)
    finally:
        worker.gate.set()


def wait_done(url: str, job_id: str) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = httpx.get(f"{url}/status/{job_id}").json()
        if body.get("status") == "COMPLETED":
            return body
        time.sleep(0.02)
    pytest.fail(f"job {job_id} did not complete")


def test_finished_jobs_keep_no_input_and_bounded_outputs():
    worker = FakeWorker(output_bytes=1024 * 1024)
    app = create_app(worker, ServerSettings(max_retained_mb=2.5))
    with serve(app) as url:
        ids = []
        for _ in range(5):
            job_id = httpx.post(f"{url}/run", json={"input": {"text": "x" * 1000}}).json()["id"]
            wait_done(url, job_id)
            ids.append(job_id)
            assert app.state.queue.get(job_id).input is None
        assert app.state.queue.retained <= 2.5 * 1024 * 1024
        assert [httpx.get(f"{url}/status/{i}").status_code for i in ids] == [404, 404, 404, 200, 200]


def test_a_webhook_token_never_reaches_the_logs(worker, caplog):
    caplog.set_level(logging.DEBUG)
    with Receiver([]) as receiver, start(worker, allow_private_webhooks=True) as url:
        hook = f"{receiver.url}?token=SECRET-TOKEN-42"
        httpx.post(f"{url}/run", json={"input": {"text": "hi"}, "webhook": hook})
        assert receiver.wait_for(1, timeout=10)
        time.sleep(0.2)
    assert not [r for r in caplog.records if "SECRET-TOKEN-42" in r.getMessage()]


def test_the_webhook_backlog_is_bounded(caplog):
    """A receiver that never answers cannot make the server hold every finished job's payload."""
    import threading

    from server.webhooks import WebhookSender

    sender, release, started = WebhookSender(1, 0, 1, True, max_pending=2), threading.Event(), []
    sender._deliver = lambda url, payload: (started.append(payload["id"]), release.wait(10))
    try:
        for i in range(5):
            sender.send("http://127.0.0.1:9/hook", {"id": f"job-{i}", "output": "x" * 1000})
        assert "dropped" in caplog.text and "job-2" in caplog.text
        release.set()
        deadline = time.monotonic() + 5
        while sender._pending._value < 2 and time.monotonic() < deadline:   # both deliveries finished
            time.sleep(0.01)
        assert sorted(started) == ["job-0", "job-1"]
        sender.send("http://127.0.0.1:9/hook", {"id": "job-5"})   # room again once they are done
        deadline = time.monotonic() + 5
        while len(started) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert started[-1] == "job-5"
    finally:
        release.set()
        sender.close()
