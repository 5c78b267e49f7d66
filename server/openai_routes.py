"""OpenAI's speech API: /v1/audio/speech (raw audio; pcm, mp3 and opus streamed by sentence), /v1/models, voices."""
from __future__ import annotations

import asyncio
import base64
import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from common.formats import FORMATS, content_type
from common.errors import JobError
from jobcore.openai_compat import speech_job

from .body import MB, read_json
from .errors import ApiError, from_job_error
from .jobs import JobQueue

log = logging.getLogger(__name__)
MODEL_ALIASES = ("tts-1", "tts-1-hd")
SPEECH_LIMIT = 1 * MB   # a speech request is text and a few options


def openai_router(worker, queue: JobQueue) -> APIRouter:
    router = APIRouter(prefix="/v1")

    async def call(fn, *args):
        return await asyncio.wrap_future(queue.run_blocking(fn, *args))

    @router.post("/audio/speech")
    async def speech(request: Request):
        try:
            job = speech_job(await read_json(request, SPEECH_LIMIT))
        except JobError as exc:
            raise ApiError(400, exc.message, exc.code) from None
        fmt = FORMATS.get(str(job.get("format", "")).lower())
        if fmt is not None and fmt.concatenates:      # each sentence encoded alone; the pieces play as one
            return await streamed(job)
        result = await call(worker.handle, {**job, "output": "base64"}, None)
        if "error" in result:
            raise from_job_error(result["error"])
        return Response(base64.b64decode(result["audio_base64"]), media_type=result["content_type"])

    async def streamed(job: dict):
        items = worker.stream({**job, "stream": True}, None)
        first = await call(next, items, None)
        if not first or "audio_base64" not in first:   # errors (and empty texts) before any audio: a real status
            items.close()
            raise from_job_error(first["error"]) if first and "error" in first else ApiError(
                500, "no audio was produced", "internal_error")
        pending = None

        async def body():
            nonlocal pending
            item = first
            try:
                while item and "audio_base64" in item:
                    yield base64.b64decode(item["audio_base64"])
                    pending = queue.run_blocking(next, items, None)
                    item = await asyncio.wrap_future(pending)
                if item and "error" in item:   # too late for a status code: end the body early
                    log.warning("speech stream stopped: %s", item["error"])
            finally:
                if pending is None or pending.done():
                    items.close()
                else:                          # the client left mid-chunk: close once that chunk is made
                    pending.add_done_callback(lambda _: items.close())

        return StreamingResponse(body(), media_type=content_type(first["format"], first["sample_rate"]))

    @router.get("/models")
    async def models():
        names = [*MODEL_ALIASES, worker.backend.name]
        return {"object": "list",
                "data": [{"id": name, "object": "model", "created": 0, "owned_by": "tts-worker"} for name in names]}

    @router.get("/audio/voices")
    async def voices():
        result = await asyncio.to_thread(worker.handle, {"action": "voices.list"}, None)
        if "error" in result:
            raise from_job_error(result["error"])
        return {"voices": [{"id": v["id"], "name": v["name"], "language": v.get("language"),
                            "gender": v.get("gender")} for v in result["voices"] if v.get("usable")]}

    return router
