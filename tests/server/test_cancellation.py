"""Cancel, executionTimeout, policy.ttl and a client that leaves an OpenAI stream stop the work within one sentence:
the worker thread is freed and the next queued job starts. The backend makes one sentence per step the test allows,
so a job that did not stop would wait at the gate forever (and the next job with it), however loaded the machine."""
from __future__ import annotations

import threading
import time
from dataclasses import replace

import httpx
import pytest

from jobcore.worker import Worker
from server import ServerSettings, create_app
from tests.support.servers import serve

LONG = " ".join(f"Sentence number {i} is here." for i in range(30))


class SteppedBackend:
    """The real hibari backend; every sentence after a job's first waits for a step from the test."""

    def __init__(self, backend):
        self._backend, self.steps, self.made = backend, threading.Semaphore(0), 0
        self.lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def synthesize_many(self, texts, voice, **options):
        spoken = self._backend.synthesize_many(texts, voice, **options)
        try:
            for index, chunks in enumerate(spoken):
                if index and not self.steps.acquire(timeout=60):
                    raise RuntimeError("the test gave no step")
                with self.lock:
                    self.made += 1
                yield chunks
        finally:
            spoken.close()


@pytest.fixture
def stepped(hibari_worker, tmp_path):
    backend = SteppedBackend(hibari_worker.backend)
    worker = Worker.from_settings(replace(hibari_worker.settings, voice_library_uri=str(tmp_path / "lib")),
                                  backend=backend)
    with serve(create_app(worker, ServerSettings(concurrency=1))) as url:
        yield url, backend
    for _ in range(100):              # let anything still waiting finish
        backend.steps.release()


def status(url: str, job_id: str) -> str:
    response = httpx.get(f"{url}/status/{job_id}", timeout=10)
    return "GONE" if response.status_code == 404 else response.json()["status"]


def wait_for(condition, what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def run_stopped(url: str, backend: SteppedBackend, stop, expected: tuple[str, ...] | str, policy: dict | None = None,
                stream: bool = False) -> None:
    """Start a long job, wait for its first sentence, stop it with `stop`, give exactly one more step (the
    sentence under way), then check a queued short job runs to its end and the long one made at most 2."""
    body = {"input": {"text": LONG, "format": "wav", "stream": stream}, **({"policy": policy} if policy else {})}
    long_id = httpx.post(f"{url}/run", json=body, timeout=10).json()["id"]
    wait_for(lambda: backend.made >= 1, "the long job never started")
    short_id = httpx.post(f"{url}/run", json={"input": {"text": "Short one.", "format": "wav"}}, timeout=10).json()["id"]
    stop(long_id)
    wait_for(lambda: status(url, long_id) in expected, f"the long job never became {expected}")
    backend.steps.release()                          # the sentence that was under way may finish
    wait_for(lambda: status(url, short_id) == "COMPLETED", "the next job never ran: the long one kept the worker")
    assert backend.made <= 3                         # first sentence, the one under way, the short job's
    with httpx.Client(timeout=10) as http:
        assert http.get(f"{url}/health").json()["workers"]["running"] == 0


def test_cancel_frees_the_worker_within_a_sentence(stepped):
    url, backend = stepped
    run_stopped(url, backend, lambda job_id: httpx.post(f"{url}/cancel/{job_id}", timeout=10), ("CANCELLED",))


def test_cancel_of_a_streamed_job_frees_the_worker(stepped):
    url, backend = stepped
    run_stopped(url, backend, lambda job_id: httpx.post(f"{url}/cancel/{job_id}", timeout=10), ("CANCELLED",),
                stream=True)


def test_execution_timeout_frees_the_worker_without_anyone_polling(stepped):
    url, backend = stepped
    run_stopped(url, backend, lambda job_id: None, ("TIMED_OUT",), policy={"executionTimeout": 1500})


def test_policy_ttl_frees_the_worker(stepped):
    url, backend = stepped
    # past its ttl the job ends (CANCELLED) and, as RunPod does, is removed at once (404)
    run_stopped(url, backend, lambda job_id: None, ("CANCELLED", "GONE"), policy={"ttl": 2500})


def test_a_batch_is_cancelled_between_items(stepped):
    url, backend = stepped
    batch = {"input": {"batch": [{"text": LONG, "format": "wav"} for _ in range(4)], "zip": True}}
    long_id = httpx.post(f"{url}/run", json=batch, timeout=10).json()["id"]
    wait_for(lambda: backend.made >= 1, "the batch never started")
    short_id = httpx.post(f"{url}/run", json={"input": {"text": "Short one.", "format": "wav"}}, timeout=10).json()["id"]
    httpx.post(f"{url}/cancel/{long_id}", timeout=10)
    backend.steps.release()
    wait_for(lambda: status(url, short_id) == "COMPLETED", "the batch kept the worker after its cancel")
    assert backend.made <= 3


def test_a_client_that_leaves_an_openai_stream_frees_the_worker(stepped):
    url, backend = stepped
    for stream_format in ("sse", "audio"):
        made_before = backend.made
        with httpx.Client(timeout=30) as http:
            with http.stream("POST", f"{url}/v1/audio/speech",
                             json={"input": LONG, "response_format": "wav", "stream_format": stream_format}) as resp:
                assert resp.status_code == 200
                next(resp.iter_raw())                # the first sentence arrived; then the client hangs up
        backend.steps.release()                      # the sentence under way may finish
        short_id = httpx.post(f"{url}/run", json={"input": {"text": "Short one.", "format": "wav"}},
                              timeout=10).json()["id"]
        wait_for(lambda job=short_id: status(url, job) == "COMPLETED", f"{stream_format}: the stream kept the worker")
        assert backend.made - made_before <= 3, stream_format
