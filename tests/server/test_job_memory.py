"""Everything the job queue keeps counts: inputs kept for /retry count against MAX_RETAINED_MB like outputs, and
`?ttl=` / policy durations have a maximum (out of range: 400 invalid_input, never a 500)."""
from __future__ import annotations

import time

import httpx

from common.errors import BackendUnavailable
from server import ServerSettings, create_app
from tests.support.fake_worker import FakeWorker
from tests.support.servers import serve

MB = 1024 * 1024


class FailingWorker(FakeWorker):
    """Fails every job at once (the input stays kept for /retry)."""

    def handle(self, job_input, job_id=None, progress=None, s3_config=None, cancellation=None):
        return {"error": BackendUnavailable("down")}


def wait_done(url: str, job_id: str) -> dict:
    deadline = time.monotonic() + 30
    while (body := httpx.get(f"{url}/status/{job_id}").json())["status"] in ("IN_QUEUE", "IN_PROGRESS"):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return body


def test_inputs_kept_for_retry_count_against_the_retention_bound():
    app = create_app(FailingWorker(), ServerSettings(max_retained_mb=2.5))
    queue = app.state.queue
    with serve(app) as url:
        ids = []
        for _ in range(6):
            job_id = httpx.post(f"{url}/run", json={"input": {"text": "x" * MB}}).json()["id"]
            assert wait_done(url, job_id)["status"] == "FAILED"
            ids.append(job_id)
            assert queue.retained <= 2.5 * MB
        assert [httpx.get(f"{url}/status/{i}").status_code for i in ids] == [404] * 4 + [200] * 2
        assert queue.retained >= 2 * MB                  # the two kept ones are counted
        again = httpx.post(f"{url}/retry/{ids[-1]}")     # a kept input still retries
        assert again.status_code == 200 and again.json()["status"] == "IN_QUEUE"
        assert wait_done(url, ids[-1])["status"] == "FAILED"
        assert queue.retained <= 2.5 * MB


def test_ttl_out_of_range_is_a_400_never_a_500():
    app = create_app(FailingWorker(), ServerSettings())
    with serve(app) as url:
        job_id = httpx.post(f"{url}/run", json={"input": {"text": "hi"}}).json()["id"]
        wait_done(url, job_id)
        for ttl in ("999999999999999", "1" + "0" * 400, "0", "-5"):
            response = httpx.get(f"{url}/status/{job_id}", params={"ttl": ttl})
            assert response.status_code == 400, (ttl, response.text)
            assert "7 days" in response.text or "ttl" in response.text
        assert httpx.get(f"{url}/status/{job_id}", params={"ttl": "604800000"}).status_code == 200
        for policy in ({"ttl": 10 ** 400}, {"executionTimeout": 1e300}, {"ttl": 604800001}):
            response = httpx.post(f"{url}/run", json={"input": {"text": "hi"}, "policy": policy})
            assert response.status_code == 400 and "7 days" in response.text, (policy, response.text)
        raw = '{"input": {"text": "hi"}, "policy": {"executionTimeout": Infinity}}'
        response = httpx.post(f"{url}/run", content=raw, headers={"content-type": "application/json"})
        assert response.status_code == 400
