"""OpenAI's speech API: /v1/audio/speech (raw audio streamed by sentence, or SSE), /v1/models, voices."""
from __future__ import annotations

import asyncio
import base64
import json
import logging

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from common.formats import content_type
from common.errors import JobError
from jobcore.openai_compat import speech_request

from .errors import ApiError, from_job_error
from .jobs import JobQueue

log = logging.getLogger(__name__)
MODEL_ALIASES = ("tts-1", "tts-1-hd")


def openai_router(worker, queue: JobQueue) -> APIRouter:
    router = APIRouter(prefix="/v1")

    async def call(fn, *args):
        return await asyncio.wrap_future(queue.run_blocking(fn, *args))

    @router.post("/audio/speech")
    async def speech(request: Request):
        try:
            speech = speech_request(json.loads(await request.body()))
        except ValueError:
            raise ApiError(400, "the body must be JSON", "invalid_input") from None
        except JobError as exc:
            raise ApiError(400, exc.message, exc.code) from None
        if not hasattr(worker, "speech"):                  # a stand-in worker: its error, as a status
            result = await call(worker.handle, speech.job, None)
            raise from_job_error(result.get("error", "")) if "error" in result else ApiError(
                500, "this worker cannot serve speech", "internal_error")
        try:
            plan, chunks = await call(worker.speech, speech.job)
            first = await call(next, chunks, None)          # errors before any audio get a real status
        except JobError as exc:
            raise from_job_error(exc.to_job_error()) from None
        headers = {"X-Ignored-Fields": ", ".join(speech.ignored)} if speech.ignored else {}
        if speech.stream_format == "sse":
            text = str(speech.job.get("text", ""))
            return StreamingResponse(sse_events(first, chunks, len(text)), media_type="text/event-stream",
                                     headers={**headers, "Cache-Control": "no-cache"})
        return StreamingResponse(audio_body(first, chunks), headers=headers,
                                 media_type=content_type(plan.format, plan.sample_rate))

    async def audio_body(first: bytes | None, chunks):
        """Raw output bytes as the job core makes them (every format streams; see audio.StreamEncoder)."""
        pending, item = None, first
        try:
            while item is not None:
                yield item
                pending = queue.run_blocking(next, chunks, None)
                item = await asyncio.wrap_future(pending)
        except JobError as exc:                          # too late for a status code: end the body early
            log.warning("speech stream stopped: %s %s", exc.code, exc.message)
        except Exception:
            log.exception("speech stream crashed")
        finally:
            if pending is None or pending.done():
                chunks.close()
            else:                                        # the client left mid-chunk: close once that chunk is made
                pending.add_done_callback(lambda _: chunks.close())

    async def sse_events(first: bytes | None, chunks, input_chars: int):
        """OpenAI's speech SSE: `speech.audio.delta` events (base64 audio), then `speech.audio.done` with usage
        (token counts are estimates: about four characters a token in, none counted for audio out)."""
        async for data in audio_body(first, chunks):
            yield sse({"type": "speech.audio.delta", "audio": base64.b64encode(data).decode("ascii")})
        tokens = -(-input_chars // 4)
        yield sse({"type": "speech.audio.done",
                   "usage": {"input_tokens": tokens, "output_tokens": 0, "total_tokens": tokens}})

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


def sse(event: dict) -> bytes:
    return f"data: {json.dumps(event, separators=(',', ':'))}\n\n".encode()
