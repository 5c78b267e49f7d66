"""OpenAI's speech API: /v1/audio/speech (raw audio streamed by sentence, or SSE), /v1/models, /v1/audio/voices."""
from __future__ import annotations

import asyncio
import base64
import json
import logging
from contextlib import aclosing
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from common.errors import JobError
from jobcore.context import Cancellation
from jobcore.interface import JobWorker
from jobcore.openai_compat import speech_request

from .body import MB, read_json
from .errors import ApiError
from .jobs import JobQueue

log = logging.getLogger(__name__)
MODEL_ALIASES = ("tts-1", "tts-1-hd")
SPEECH_LIMIT = 1 * MB   # a speech request is text and a few options
VOICE_LIMIT = 32 * MB   # a reference clip (MAX_AUDIO_BYTES, 20 MB) as base64 or a form part
VOICE_FORM_FIELDS = ("id", "transcript", "language", "gender", "description")   # optional voices.create fields


def openai_router(worker: JobWorker, queue: JobQueue) -> APIRouter:
    router = APIRouter(prefix="/v1")

    async def call(fn, *args):
        return await asyncio.wrap_future(queue.run_blocking(fn, *args))

    @router.post("/audio/speech")
    async def speech(request: Request):
        try:
            speech = speech_request(await read_json(request, SPEECH_LIMIT))
        except JobError as exc:
            raise ApiError(400, exc.message, exc.code) from None
        cancellation = Cancellation()                       # set when the client leaves mid-stream
        try:
            made = await call(worker.speech, speech.job, cancellation)
            chunks = made.chunks
            first = await call(next, chunks, None)          # errors before any audio get a real status
        except JobError as exc:
            raise ApiError.of(exc) from None
        headers = {"X-Ignored-Fields": ", ".join(speech.ignored)} if speech.ignored else {}
        if speech.stream_format == "sse":
            text = str(speech.job.get("text", ""))
            return StreamingResponse(sse_events(first, chunks, len(text), cancellation),
                                     media_type="text/event-stream", headers={**headers, "Cache-Control": "no-cache"})
        return StreamingResponse(audio_body(first, chunks, cancellation), headers=headers,
                                 media_type=made.content_type)

    async def audio_body(first: bytes | None, chunks, cancellation: Cancellation):
        """Raw output bytes as the job core makes them (every format streams; see encoders.StreamEncoder).
        A client that leaves cancels the synthesis: it stops before its next sentence, work queued ahead too."""
        pending, item, ended = None, first, False
        try:
            while item is not None:
                yield item
                pending = queue.run_blocking(next, chunks, None)
                item = await asyncio.wrap_future(pending)
            ended = True
        except JobError as exc:                          # too late for a status code: end the body early
            ended = True
            log.warning("speech stream stopped: %s %s", exc.code, exc.message)
        except Exception:
            ended = True
            log.exception("speech stream crashed")
        finally:
            if not ended:
                cancellation.cancel("the client left")
            if pending is None or pending.done():
                chunks.close()
            else:                                        # the client left mid-chunk: close once that chunk is made
                pending.add_done_callback(lambda _: chunks.close())

    async def sse_events(first: bytes | None, chunks, input_chars: int, cancellation: Cancellation):
        """OpenAI's speech SSE: `speech.audio.delta` events (base64 audio), then `speech.audio.done` with usage
        (token counts are estimates: about four characters a token in, none counted for audio out)."""
        async with aclosing(audio_body(first, chunks, cancellation)) as body:   # closed at once if the client leaves
            async for data in body:
                yield sse({"type": "speech.audio.delta", "audio": base64.b64encode(data).decode("ascii")})
        tokens = -(-input_chars // 4)
        yield sse({"type": "speech.audio.done",
                   "usage": {"input_tokens": tokens, "output_tokens": 0, "total_tokens": tokens}})

    @router.get("/models")
    async def models():
        names = [*MODEL_ALIASES, worker.backend_name]
        return {"object": "list",
                "data": [{"id": name, "object": "model", "created": 0, "owned_by": "tts-worker"} for name in names]}

    @router.get("/audio/voices")
    async def voices():
        """Every stored voice, with `usable` on this backend and, when not, the `reason` (and what would fix it)."""
        result = await call(worker.handle, {"action": "voices.list"}, None)
        if "error" in result:
            raise ApiError.of(result["error"])
        return {"object": "list", "voices": [
            {"id": v["id"], "name": v["name"], "language": v.get("language"), "gender": v.get("gender"),
             "object": "audio.voice", "type": v.get("source"), "usable": bool(v.get("usable")),
             **({"reason": v["reason"]} if v.get("reason") else {})} for v in result["voices"]]}

    @router.post("/audio/voices")
    async def create_voice(request: Request):
        """OpenAI's voice upload (multipart: name, audio_sample, consent), or JSON with the fields of the
        voices.create job (audio_url, audio_base64 or blend); both run voices.create on the same library."""
        if request.headers.get("content-type", "").lower().startswith("multipart/form-data"):
            declared = request.headers.get("content-length", "")
            if not declared.isdigit() or int(declared) > VOICE_LIMIT:     # the form parser spools whole parts
                raise ApiError(413 if declared.isdigit() else 411,
                               f"a voice upload needs a Content-Length of at most {VOICE_LIMIT // MB} MB",
                               "request_too_large")
            job = await voice_form(request)
        else:
            body = await read_json(request, VOICE_LIMIT)
            if not isinstance(body, dict):
                raise ApiError(400, "the body must be a JSON object", "invalid_input")
            job = {k: v for k, v in body.items() if k not in ("consent", "type", "action")}
        result = await call(worker.handle, {**job, "action": "voices.create"}, None)
        if "error" in result:
            raise ApiError.of(result["error"])
        return JSONResponse(voice_object(result["voice"]), status_code=201)

    async def voice_form(request: Request) -> dict:
        form = await request.form()
        clip = form.get("audio_sample")
        if clip is None or isinstance(clip, str):
            raise ApiError(400, "audio_sample must be an uploaded audio file", "invalid_input")
        job = {"name": form.get("name") or "", "audio_base64": base64.b64encode(await clip.read()).decode("ascii")}
        unknown = set(form) - {"audio_sample", "name", "consent", "type", "fit", "fit_budget", *VOICE_FORM_FIELDS}
        if unknown:
            raise ApiError(400, f"unknown form field(s): {', '.join(sorted(unknown))}", "invalid_input")
        job.update({key: form[key] for key in VOICE_FORM_FIELDS if form.get(key)})
        for key in ("fit", "fit_budget"):                  # form fields are text: "true"/"false", "40"
            value = form.get(key)
            if isinstance(value, str) and value.strip():
                job[key] = value.strip().lower() if key == "fit" else value.strip()
        return job

    @router.delete("/audio/voices/{voice_id}")
    async def delete_voice(voice_id: str):
        result = await call(worker.handle, {"action": "voices.delete", "voice": voice_id}, None)
        if "error" in result:
            raise ApiError.of(result["error"])
        return {"id": result["deleted"], "object": "audio.voice.deleted", "deleted": True}

    return router


def voice_object(voice: dict) -> dict:
    """A voices.create result as OpenAI's voice object (with `usable` and any note about this backend)."""
    try:
        created = int(datetime.fromisoformat(voice.get("created_at", "")).timestamp())
    except (TypeError, ValueError):
        created = 0
    kind = "audio_sample" if voice.get("source") in ("clip", "fit") else voice.get("source")
    extra = {"note": voice["note"]} if voice.get("note") else {}
    return {"id": voice["id"], "object": "audio.voice", "created_at": created, "name": voice["name"], "type": kind,
            "usable": voice.get("usable", False), **extra}


def sse(event: dict) -> bytes:
    return f"data: {json.dumps(event, separators=(',', ':'))}\n\n".encode()
