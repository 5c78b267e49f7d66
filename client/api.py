"""TTSClient: submit jobs, poll status and streams, and fetch audio from a RunPod-style endpoint."""
from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from .formats import DEFAULT_FORMAT, format_for_path

TERMINAL = frozenset({"COMPLETED", "FAILED", "CANCELLED", "TIMED_OUT"})
PENDING = frozenset({"IN_QUEUE", "IN_PROGRESS"})


class TTSError(Exception):
    """Any failure of the client."""


class TTSHTTPError(TTSError):
    def __init__(self, status_code: int, message: str):
        super().__init__(f"HTTP {status_code}: {message}")
        self.status_code = status_code


class TTSJobError(TTSError):
    """The job failed: `code`, `message` and `hint` from the worker's error JSON (or RunPod's own text)."""

    def __init__(self, error: Any, status: str = "FAILED"):
        parsed = _parse_error(error)
        self.code, self.message, self.hint = parsed.get("code"), parsed.get("message"), parsed.get("hint")
        self.status = status
        text = f"{self.code}: {self.message}" if self.code else str(self.message)
        super().__init__(text + (f" ({self.hint})" if self.hint else ""))


class TTSTimeout(TTSError):
    pass


class TTSRequestTimeout(TTSTimeout):
    """One HTTP request timed out (network trouble), as against a job that took too long."""


def _parse_error(error: Any) -> dict:
    if isinstance(error, dict):
        return error
    try:
        parsed = json.loads(error)
    except (TypeError, ValueError):
        parsed = None
    return parsed if isinstance(parsed, dict) else {"code": None, "message": str(error), "hint": None}


def single_output(output: Any) -> Any:
    """RunPod wraps a generator handler's output in a list (one item for a plain job): unwrap it."""
    if isinstance(output, list) and len(output) == 1:
        return output[0]
    return output


class TTSClient:
    """`TTSClient("http://127.0.0.1:8000")` for `python -m server`; `TTSClient.for_runpod(id, key)` for RunPod.

    RunPod returns a generator handler's output as a list (a plain job's one result in a one-item list);
    the local server returns the dict itself. Both are accepted.
    """

    def __init__(self, base_url: str, api_key: str | None = None, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)

    @classmethod
    def for_runpod(cls, endpoint_id: str, api_key: str, **kw) -> TTSClient:
        """A client for a deployed RunPod serverless endpoint (https://api.runpod.ai/v2/<endpoint_id>)."""
        return cls(f"https://api.runpod.ai/v2/{endpoint_id}", api_key, **kw)

    def __enter__(self) -> TTSClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- the endpoint API ------------------------------------------------------------------------
    def _call(self, method: str, path: str, **kw) -> dict:
        try:
            response = self._http.request(method, path, **kw)
        except httpx.TimeoutException as exc:
            raise TTSRequestTimeout(f"{method} {self.base_url}{path} timed out") from exc
        except httpx.HTTPError as exc:
            raise TTSError(f"{method} {self.base_url}{path} failed: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            try:
                detail = response.json().get("error") or response.text
            except (ValueError, AttributeError):
                detail = response.text
            raise TTSHTTPError(response.status_code, str(detail)[:500])
        return response.json()

    def run(self, input: dict, webhook: str | None = None, policy: dict | None = None,
            s3_config: dict | None = None) -> str:
        """Queue a job; returns its id. `policy`: {"executionTimeout": ms, "ttl": ms}; `s3_config`: RunPod's
        {"accessId", "accessSecret", "bucketName", "endpointUrl"} for this job's URL outputs."""
        body: dict[str, Any] = {"input": input}
        if webhook:
            body["webhook"] = webhook
        if policy:
            body["policy"] = policy
        if s3_config:
            body["s3Config"] = s3_config
        return self._call("POST", "/run", json=body)["id"]

    def runsync(self, input: dict, wait_s: float | None = None, timeout: float = 600.0) -> dict:
        """Run a job and return its final status payload; polls /status if /runsync answers before the end."""
        params = {"wait": int(wait_s * 1000)} if wait_s is not None else None
        request_timeout = (90.0 if wait_s is None else wait_s) + self.timeout
        started = time.monotonic()
        payload = self._call("POST", "/runsync", json={"input": input}, params=params, timeout=request_timeout)
        if payload.get("status") in PENDING:
            payload = self.wait(payload["id"], max(1.0, timeout - (time.monotonic() - started)))
        return payload

    def status(self, job_id: str) -> dict:
        return self._call("GET", f"/status/{job_id}")

    def cancel(self, job_id: str) -> dict:
        return self._call("POST", f"/cancel/{job_id}")

    def retry(self, job_id: str) -> dict:
        """Run a FAILED or TIMED_OUT job again under its id (RunPod's /retry)."""
        return self._call("POST", f"/retry/{job_id}")

    def health(self) -> dict:
        return self._call("GET", "/health")

    def wait(self, job_id: str, timeout: float = 600.0, first_delay: float = 0.2, max_delay: float = 5.0) -> dict:
        """Poll /status with exponential backoff until the job ends; TTSTimeout after `timeout` seconds."""
        deadline, delay = time.monotonic() + timeout, first_delay
        while True:
            payload = self.status(job_id)
            if payload.get("status") in TERMINAL:
                return payload
            left = deadline - time.monotonic()
            if left <= 0:
                raise TTSTimeout(f"job {job_id} still {payload.get('status')} after {timeout:.0f} s")
            time.sleep(min(delay, left))
            delay = min(delay * 2, max_delay)

    def stream(self, input: dict, timeout: float = 600.0, poll_s: float = 0.5) -> Iterator[dict]:
        """Submit with `stream: true` and yield the items as they arrive (chunks, then the summary).

        Leaving the loop early cancels the job. A failed job raises TTSJobError after its last items.
        """
        yield from self.stream_job(self.run({**input, "stream": True}), timeout, poll_s)

    def stream_job(self, job_id: str, timeout: float = 600.0, poll_s: float = 0.5) -> Iterator[dict]:
        """Poll /stream/{job_id} until the job ends, yielding each item; leaving early cancels the job."""
        deadline, finished = time.monotonic() + timeout, False
        try:
            while True:
                body = self._call("GET", f"/stream/{job_id}")
                for entry in body.get("stream") or []:
                    item = entry.get("output") if isinstance(entry, dict) else entry
                    if isinstance(item, dict) and "error" in item:
                        finished = True
                        raise TTSJobError(item["error"])
                    yield item
                status = body.get("status")
                if status in TERMINAL:
                    finished = True
                    if status != "COMPLETED":
                        raise TTSJobError(body.get("error") or f"the job ended {status}", status)
                    return
                if time.monotonic() > deadline:
                    raise TTSTimeout(f"stream {job_id} still {status} after {timeout:.0f} s")
                time.sleep(poll_s)
        finally:
            if not finished:
                try:
                    self.cancel(job_id)
                except TTSError:
                    pass

    # -- results ---------------------------------------------------------------------------------
    def result(self, input: dict, wait_s: float | None = None, timeout: float = 600.0) -> dict:
        """Run a job and return its output dict; TTSJobError when it fails."""
        payload = self.runsync(input, wait_s, timeout)
        if payload.get("status") != "COMPLETED":
            raise TTSJobError(payload.get("error") or f"the job ended {payload.get('status')}",
                              payload.get("status", "FAILED"))
        output = single_output(payload.get("output"))
        if isinstance(output, dict) and "error" in output:
            raise TTSJobError(output["error"])
        if not isinstance(output, dict):
            raise TTSError(f"unexpected job output: {str(output)[:200]}")
        return output

    def audio_bytes(self, output: dict) -> bytes:
        """The audio of a synthesize result: decoded from base64, or downloaded from its presigned URL."""
        if "audio_base64" in output:
            return base64.b64decode(output["audio_base64"])
        if "audio_url" in output:
            try:   # a presigned URL carries its own authorization: no API key to it
                response = httpx.get(output["audio_url"], timeout=max(self.timeout, 60.0), follow_redirects=True)
                response.raise_for_status()
            except httpx.HTTPError as exc:
                raise TTSError(f"downloading audio_url failed: {exc}") from exc
            return response.content
        raise TTSError("the result holds no audio_base64 or audio_url")

    def synthesize(self, text: str, voice: str | None = None, format: str = "mp3", timeout: float = 600.0,
                   **fields) -> bytes:
        """Text -> audio bytes in `format` (other job fields, e.g. speed or sample_rate, pass through)."""
        job = {"text": text, "format": format, **fields}
        if voice:
            job["voice"] = voice
        return self.audio_bytes(self.result(job, timeout=timeout))

    def save(self, text: str, path: str | Path, **kw) -> Path:
        """Synthesize into a file; the format follows the extension unless `format` is given."""
        path = Path(path)
        kw.setdefault("format", format_for_path(path.name) or DEFAULT_FORMAT)
        path.write_bytes(self.synthesize(text, **kw))
        return path

    # -- voices and info -------------------------------------------------------------------------
    def voices(self) -> list[dict]:
        return self.result({"action": "voices.list"})["voices"]

    def voice(self, name: str) -> dict:
        return self.result({"action": "voices.get", "voice": name})["voice"]

    def create_voice(self, name: str, clip: bytes | str | Path, **fields) -> dict:
        """Store a voice from a reference clip (bytes, or a path to a wav/flac/ogg/mp3 file)."""
        data = clip if isinstance(clip, bytes) else Path(clip).read_bytes()
        clip64 = base64.b64encode(data).decode("ascii")
        job = {"action": "voices.create", "name": name, "audio_base64": clip64, **fields}
        return self.result(job)["voice"]

    def delete_voice(self, name: str) -> str:
        return self.result({"action": "voices.delete", "voice": name})["deleted"]

    def info(self) -> dict:
        return self.result({"action": "info"})
