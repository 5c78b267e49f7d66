"""RunPod's endpoint API: /run, /runsync, /status, /stream, /cancel, /retry, /health, /purge-queue."""
from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request

from common.errors import InvalidInput

from .body import read_json
from .errors import ApiError
from .jobs import IN_QUEUE, Job, JobQueue, QueueFull
from .settings import ServerSettings
from .webhooks import check_webhook

RUN_LIMIT, RUNSYNC_LIMIT = 10 * 1024 * 1024, 20 * 1024 * 1024   # RunPod's request size limits
MAX_TTL_MS = 7 * 24 * 3600 * 1000    # the longest `?ttl=`, policy.ttl or policy.executionTimeout: 7 days


def runpod_router(queue: JobQueue, settings: ServerSettings) -> APIRouter:
    router = APIRouter()

    async def submit(request: Request, limit: int, prefix: str = "") -> Job:
        body = await read_json(request, limit)
        if not isinstance(body, dict) or "input" not in body:
            raise ApiError(400, 'the body must be a JSON object with "input", e.g. {"input": {"text": "Hello"}}')
        webhook = body.get("webhook")
        if webhook is not None:
            try:
                webhook = await asyncio.to_thread(check_webhook, webhook, settings.allow_private_webhooks)
            except InvalidInput as exc:        # the hint names the setting (ALLOW_PRIVATE_WEBHOOKS)
                raise ApiError(400, f"{exc.message} ({exc.hint})" if exc.hint else exc.message) from None
        policy = body.get("policy") if isinstance(body.get("policy"), dict) else {}
        try:
            return queue.submit(body["input"], webhook, _ms(policy.get("executionTimeout"), "policy.executionTimeout"),
                                prefix, _ms(policy.get("ttl"), "policy.ttl"), body.get("s3Config"))
        except QueueFull as exc:
            raise ApiError(429, f"{exc}: retry later, or raise MAX_QUEUED_JOBS") from None

    def find(job_id: str) -> Job:
        job = queue.get(job_id)
        if job is None:
            raise ApiError(404, f"job {job_id[:80]!r} not found (unknown, or its result expired)")
        return job

    @router.post("/run")
    async def run(request: Request):
        job = await submit(request, RUN_LIMIT)
        return {"id": job.id, "status": IN_QUEUE}

    @router.post("/runsync")
    async def runsync(request: Request, wait: int | None = None):
        """Wait up to `wait` ms (default 90 s); a job still running answers its id and current status."""
        wait_s = settings.runsync_wait_s if wait is None else wait / 1e3
        wait_s = min(max(wait_s, 0.0), settings.max_runsync_wait_s)
        job = await submit(request, RUNSYNC_LIMIT, prefix="sync-")
        try:
            await asyncio.wait_for(job.done.wait(), timeout=wait_s)
        except TimeoutError:
            snapshot = queue.snapshot(job)
            if snapshot["status"] in (IN_QUEUE, "IN_PROGRESS"):
                return {"id": job.id, "status": snapshot["status"]}
            return snapshot
        return queue.snapshot(job)

    @router.get("/status/{job_id}")
    @router.post("/status/{job_id}")      # one route per method: each its own operation id in /openapi.json
    async def status(job_id: str, ttl: int | None = None):
        """`?ttl=ms` keeps the job and its result that long from now (RunPod's status ttl), at most 7 days."""
        job = find(job_id)
        if ttl is not None:
            if not 0 < ttl <= MAX_TTL_MS:
                raise ApiError(400, f"ttl must be a number of milliseconds from 1 to {MAX_TTL_MS} (7 days)",
                               "invalid_input")
            queue.keep(job, ttl / 1e3)
        return queue.snapshot(job)

    @router.get("/stream/{job_id}")
    @router.post("/stream/{job_id}")      # as /status
    async def stream(job_id: str):
        return queue.take_stream(find(job_id))

    @router.post("/cancel/{job_id}")
    async def cancel(job_id: str):
        """A streamed job stops between chunks; a plain job finishes in its thread and its result is dropped."""
        return queue.cancel(find(job_id))

    @router.post("/retry/{job_id}")
    async def retry(job_id: str):
        """A FAILED or TIMED_OUT job runs again under the same id with the same input."""
        job = find(job_id)
        answer = queue.retry(job)
        if answer is None:
            raise ApiError(400, f"only a FAILED or TIMED_OUT job can be retried; this one is {job.status}")
        return answer

    @router.get("/health")
    async def health():
        return queue.health()

    @router.post("/purge-queue")
    async def purge_queue():
        return {"removed": queue.purge(), "status": "completed"}

    return router


def _ms(value, field: str) -> float | None:
    """A policy duration in ms as seconds; anything but a positive number means none; past 7 days a 400."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value > 0:
        return None
    if not value <= MAX_TTL_MS:          # NaN and Infinity included
        raise ApiError(400, f"{field} must be at most {MAX_TTL_MS} ms (7 days)", "invalid_input")
    return value / 1e3
