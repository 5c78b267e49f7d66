"""OpenAI speech requests as jobs: `POST /v1/audio/speech` bodies (and RunPod's `openai_route`/`openai_input`
passthrough) become synthesize jobs."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from common.errors import InvalidInput

SPEECH_ROUTE = "/v1/audio/speech"
# OpenAI speech fields (and our extensions seed, params, language) -> job fields
_FIELDS = {"input": "text", "voice": "voice", "response_format": "format", "speed": "speed", "model": "model",
           "seed": "seed", "params": "params", "language": "language"}
STREAM_FORMATS = ("audio", "sse")
# accepted but not passed to the job: `instructions` reaches no backend of ours (info: capabilities.instructions)
_NOT_PASSED = {"instructions", "stream_format"}


@dataclass(frozen=True)
class SpeechRequest:
    """One speech body: the job it becomes, how to stream it, and the fields accepted but ignored."""

    job: dict
    stream_format: str = "audio"
    ignored: list[str] = field(default_factory=list)


def speech_request(body: Any) -> SpeechRequest:
    """An OpenAI `POST /v1/audio/speech` body -> a synthesize job (mp3 unless response_format says otherwise)."""
    if not isinstance(body, dict):
        raise InvalidInput("openai_input must be a JSON object", hint='e.g. {"model": "tts-1", "input": "Hello"}')
    unknown = set(body) - set(_FIELDS) - _NOT_PASSED
    if unknown:
        raise InvalidInput(f"unknown field(s) for {SPEECH_ROUTE}: {', '.join(sorted(unknown))}",
                           hint=f"fields: {', '.join([*_FIELDS, *sorted(_NOT_PASSED)])}")
    job = {_FIELDS[k]: v for k, v in body.items() if k in _FIELDS and v is not None}
    voice = job.get("voice")
    if isinstance(voice, dict):          # the SDK's custom voice form: {"id": "voice_1234"}
        if set(voice) != {"id"} or not isinstance(voice["id"], str):
            raise InvalidInput('voice must be a name or {"id": "<voice id>"}')
        job["voice"] = voice["id"]
    job.setdefault("format", "mp3")
    stream_format = body.get("stream_format") or "audio"
    if stream_format not in STREAM_FORMATS:
        raise InvalidInput(f"stream_format {str(stream_format)[:20]!r} is not supported",
                           hint=f"use one of: {', '.join(STREAM_FORMATS)}")
    ignored = ["instructions"] if body.get("instructions") else []
    return SpeechRequest(job, stream_format, ignored)


def speech_job(body: Any) -> dict:
    """The synthesize job input of an OpenAI speech body."""
    return speech_request(body).job


def unwrap_openai(job_input: Any) -> Any:
    """Turn `{"openai_route": "/v1/audio/speech", "openai_input": {...}}` into a job input; pass others through."""
    if not isinstance(job_input, dict) or "openai_route" not in job_input:
        return job_input
    route = str(job_input.get("openai_route") or "")
    route = route.removeprefix("/openai")
    if route.rstrip("/") != SPEECH_ROUTE:
        raise InvalidInput(f"OpenAI route {route[:80]!r} is not served by this worker",
                           hint=f"only {SPEECH_ROUTE} is; use the job API for voices and info")
    extra = set(job_input) - {"openai_route", "openai_input"}
    if extra:
        raise InvalidInput(f"unexpected field(s) beside openai_input: {', '.join(sorted(extra))}")
    return speech_job(job_input.get("openai_input"))
