"""OpenAI speech requests as jobs: RunPod's `openai_route`/`openai_input` passthrough becomes a synthesize job."""
from __future__ import annotations

from typing import Any

from common.errors import InvalidInput

SPEECH_ROUTE = "/v1/audio/speech"
# OpenAI speech fields -> job fields; `instructions` and `stream_format` have no counterpart and are dropped.
_FIELDS = {"input": "text", "voice": "voice", "response_format": "format", "speed": "speed", "model": "model"}
_IGNORED = {"instructions", "stream_format"}


def speech_job(body: Any) -> dict:
    """An OpenAI `POST /v1/audio/speech` body -> a synthesize job input (mp3 unless response_format says otherwise)."""
    if not isinstance(body, dict):
        raise InvalidInput("openai_input must be a JSON object", hint='e.g. {"model": "tts-1", "input": "Hello"}')
    unknown = set(body) - set(_FIELDS) - _IGNORED
    if unknown:
        raise InvalidInput(f"unknown field(s) for {SPEECH_ROUTE}: {', '.join(sorted(unknown))}",
                           hint=f"fields: {', '.join([*_FIELDS, *sorted(_IGNORED)])}")
    job = {_FIELDS[k]: v for k, v in body.items() if k in _FIELDS and v is not None}
    job.setdefault("format", "mp3")
    return job


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
