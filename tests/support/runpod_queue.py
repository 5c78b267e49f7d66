"""A stand-in for RunPod's job queue, speaking to runpod-python's serverless worker (1.12) as an endpoint does:
the worker GETs `RUNPOD_WEBHOOK_GET_JOB` (200 with `{"id", "input"}`, or 204), long-polls the stop channel derived
from it (`/job-stop/`), POSTs each streamed item to `RUNPOD_WEBHOOK_POST_STREAM` and progress updates
(`{"status": "IN_PROGRESS"}`) and the result to `RUNPOD_WEBHOOK_POST_OUTPUT` (`$ID` and `$RUNPOD_POD_ID` replaced,
`&isStream=` appended, a JSON body under a form content type), and GETs `RUNPOD_WEBHOOK_PING`. Every request must
carry the worker's API key. A result with `error` is a FAILED job, as RunPod records it."""
from __future__ import annotations

import itertools
import json
import queue
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

API_KEY = "rp-test-key"
ENDPOINT = "ep-test"
POD_ID = "pod-test"
_PATH = re.compile(r"^/v2/(?P<endpoint>[^/]+)/(?P<kind>job-take|job-stop|job-done|job-stream|ping)/(?P<pod>[^/]+)"
                   r"(?:/(?P<job>[^/]+))?$")


@dataclass
class QueuedJob:
    id: str
    input: dict
    status: str = "IN_QUEUE"                            # IN_QUEUE, IN_PROGRESS, COMPLETED, FAILED
    taken_at: float | None = None
    finished_at: float | None = None                    # when the final POST arrived (time.time())
    stream: list = field(default_factory=list)          # each POST to the stream URL, as sent
    progress: list = field(default_factory=list)        # each progress update's output
    result: dict | None = None                          # the final POST's body
    is_stream: str | None = None                        # the final POST's isStream query value
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def output(self):
        return None if self.result is None else self.result.get("output")

    @property
    def error(self):
        return None if self.result is None else self.result.get("error")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:   # a worker leaving mid-poll is no test's business
        pass


class RunPodQueue:
    """`with RunPodQueue(host) as q:` serves on host:port; `q.worker_env(host_seen_by_worker)` is the environment
    a worker needs; `q.submit(input)` queues a job; `q.wait(id)` waits for its result."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        if not host:
            raise ValueError("the queue needs an address to listen on (an empty one means every interface)")
        self._pending: queue.Queue[QueuedJob] = queue.Queue()
        self.jobs: dict[str, QueuedJob] = {}
        self.takes: list[dict] = []           # query arguments of every job-take request
        self.take_times: list[float] = []     # and when each came (time.time())
        self.pings: list[dict] = []
        self.unauthorized: list[str] = []     # paths requested without the API key
        self.unknown: list[str] = []
        self._ids = itertools.count(1)
        self._closing = threading.Event()
        self._server = _Server((host, port), self._handler_class())
        self.host, self.port = self._server.server_address[:2]
        self._thread = threading.Thread(target=self._server.serve_forever, name="runpod-queue", daemon=True)

    def __enter__(self) -> RunPodQueue:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()

    def worker_env(self, host: str | None = None) -> dict[str, str]:
        """The variables RunPod sets on a serverless worker, pointing at this queue as `host` reaches it."""
        base = f"http://{host or self.host}:{self.port}/v2/{ENDPOINT}"
        return {
            "RUNPOD_WEBHOOK_GET_JOB": f"{base}/job-take/$ID?gpu=CPU",
            "RUNPOD_WEBHOOK_POST_OUTPUT": f"{base}/job-done/$RUNPOD_POD_ID/$ID?gpu=CPU",
            "RUNPOD_WEBHOOK_POST_STREAM": f"{base}/job-stream/$RUNPOD_POD_ID/$ID?gpu=CPU",
            "RUNPOD_WEBHOOK_PING": f"{base}/ping/$RUNPOD_POD_ID?gpu=CPU",
            "RUNPOD_PING_INTERVAL": "1000",
            "RUNPOD_AI_API_KEY": API_KEY,
            "RUNPOD_POD_ID": POD_ID,
            "RUNPOD_ENDPOINT_ID": ENDPOINT,
            # the SDK's own system checks (memory, disk, and a connection to 8.8.8.8): no traffic off this machine
            "RUNPOD_SKIP_AUTO_SYSTEM_CHECKS": "true",
        }

    def submit(self, job_input: dict, job_id: str | None = None) -> str:
        job = QueuedJob(id=job_id or f"job-{next(self._ids)}", input=job_input)
        self.jobs[job.id] = job
        self._pending.put(job)
        return job.id

    def wait(self, job_id: str, timeout: float = 300.0) -> QueuedJob:
        job = self.jobs[job_id]
        if not job.done.wait(timeout):
            raise TimeoutError(f"job {job_id} not finished within {timeout:.0f} s (status {job.status})")
        return job

    # -- the HTTP side ---------------------------------------------------------------------------------------
    def _take(self) -> QueuedJob | None:
        try:
            job = self._pending.get_nowait()
        except queue.Empty:
            return None
        job.status, job.taken_at = "IN_PROGRESS", time.time()
        return job

    def _posted(self, kind: str, job_id: str, query: dict, body: bytes) -> int:
        job = self.jobs.get(job_id)
        if job is None:
            return 404
        data = json.loads(body.decode("utf-8"))
        if kind == "job-stream":
            job.stream.append(data)
        elif data.get("status") == "IN_PROGRESS":
            job.progress.append(data.get("output"))
        else:
            job.result, job.is_stream = data, query.get("isStream", [None])[0]
            job.status = "FAILED" if data.get("error") else "COMPLETED"
            job.finished_at = time.time()
            job.done.set()
        return 200

    def _handler_class(self):
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:   # quiet: the tests read the records instead
                pass

            def _route(self):
                parts = urlsplit(self.path)
                match = _PATH.match(parts.path)
                if match is None:
                    owner.unknown.append(self.path)
                    return None, {}
                if self.headers.get("Authorization", "") != API_KEY:
                    owner.unauthorized.append(self.path)
                return match, parse_qs(parts.query)

            def _reply(self, status: int, body: bytes = b"", content_type: str = "application/json") -> None:
                self.send_response(status)
                if body:
                    self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                match, query = self._route()
                if match is None:
                    return self._reply(404)
                kind = match["kind"]
                if kind == "job-take":
                    owner.takes.append(query)
                    owner.take_times.append(time.time())
                    job = owner._take()
                    if job is None:
                        return self._reply(204)
                    return self._reply(200, json.dumps({"id": job.id, "input": job.input}).encode())
                if kind == "job-stop":             # a long poll with nothing to stop
                    owner._closing.wait(2.0)
                    return self._reply(204)
                if kind == "ping":
                    owner.pings.append(query)
                    return self._reply(200)
                return self._reply(405)

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                match, query = self._route()
                if match is None or match["kind"] not in ("job-done", "job-stream") or not match["job"]:
                    return self._reply(404)
                return self._reply(owner._posted(match["kind"], match["job"], query, body))

        return Handler
