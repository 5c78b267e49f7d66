"""The job contract: one pydantic model per action, with bounds and docs on the fields."""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, model_validator

from common.errors import InvalidInput, UnsupportedFormat
from common.formats import FORMATS

RequestT = TypeVar("RequestT", bound=BaseModel)


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True, allow_inf_nan=False)


class Segment(_Request):
    """One turn of a dialog."""

    voice: str | None = Field(None, max_length=200, description="Voice id or name; default: the job's voice.")
    text: str = Field(min_length=1, description="What this voice says.")
    speed: float | None = Field(None, ge=0.25, le=4.0, description="Default: the job's speed.")
    params: dict[str, Any] | None = Field(None, description="Default: the job's params.")
    language: str | None = Field(None, max_length=16, description="Default: the job's language.")


class SynthesizeRequest(_Request):
    action: Literal["synthesize"] = "synthesize"
    text: str | None = Field(None, validation_alias=AliasChoices("text", "input"), min_length=1,
                             description="Text to speak (OpenAI name: input). Normalized for speech by the worker.")
    segments: list[Segment] | None = Field(None, min_length=1, max_length=200,
                                           description="A dialog: turns spoken in order, each by its own voice.")
    voice: str | None = Field(None, max_length=200, description="Voice id or name; default: the backend's default voice.")
    format: str | None = Field(None, validation_alias=AliasChoices("format", "response_format"), max_length=16,
                               description="mp3 (default), opus, aac (ADTS), flac, wav or pcm (s16le mono).")
    sample_rate: int | None = Field(None, ge=8000, le=48000, description="Output rate; default: the model's own.")
    speed: float = Field(1.0, ge=0.25, le=4.0, description="Speaking rate, 1.0 = natural (OpenAI's range). Beyond "
                                                         "the backend's native range (info: capabilities.speed_range) "
                                                         "the audio is time-stretched, pitch kept.")
    seed: int | None = Field(None, ge=0, le=2**32 - 1, description="Fixes sampling for backends that sample.")
    language: str | None = Field(None, max_length=16, description="Language of the text: ISO 639-1 (es, ja, ...), "
                                 "or en-gb, pt-br. Default: the text's script (kana: ja; Han: zh, or ja with a "
                                 "Japanese voice; Devanagari: hi), else the voice's language, else English. info "
                                 "lists capabilities.languages.")
    params: dict[str, Any] = Field(default_factory=dict, description="Backend-specific parameters (see info).")
    output: Literal["auto", "base64", "url"] = Field(
        "auto", description="base64 in the result, a presigned URL, or auto (URL when the result is large).")
    stream: bool = Field(False, description="Yield audio sentence by sentence as it is made (RunPod /stream).")
    captions: Literal["srt", "vtt"] | None = Field(None, description="Add sentence captions to the result "
                                                                   "(word cues with timestamps=word).")
    timestamps: Literal["sentence", "word"] = Field(
        "sentence", description="word: add words [{word, start_s, end_s}] to the result (Kokoro: exact, from the "
                                "model's durations; other backends: aligned with whisper).")
    gap_s: float = Field(0.4, ge=0.0, le=5.0, description="Silence between dialog segments, seconds.")
    model: str | None = Field(None, max_length=100, description="Accepted for OpenAI compatibility; informational.")
    reference_audio: str | None = Field(None, description="One-off base64 clip to clone (cloning backends only); not stored.")
    reference_text: str | None = Field(None, max_length=2000, description="Transcript of reference_audio.")
    cache: bool = Field(True, description="Serve a repeat of a deterministic job from the output cache "
                                          "(S3 libraries; see OUTPUT_CACHE); false always synthesizes.")

    @model_validator(mode="after")
    def _text_or_segments(self):
        if (self.text is None) == (self.segments is None):
            raise ValueError("give exactly one of text (or input) and segments")
        return self

    @property
    def total_chars(self) -> int:
        return len(self.text) if self.text is not None else sum(len(s.text) for s in self.segments or ())


class BatchRequest(_Request):
    action: Literal["batch"] = "batch"
    batch: list[Any] = Field(min_length=1, max_length=10_000,
                             description="Synthesize jobs' inputs; at most MAX_BATCH_ITEMS. Each item is "
                                         "checked alone: a bad item fails only itself.")
    zip: bool = Field(False, description="Also return one ZIP of every item's file (and captions).")
    output: Literal["auto", "base64", "url"] = Field(
        "auto", description="How the ZIP comes back: base64, a presigned URL, or auto (URL when large).")


class VoicesListRequest(_Request):
    action: Literal["voices.list"]


class VoicesGetRequest(_Request):
    action: Literal["voices.get"]
    voice: str = Field(min_length=1, max_length=200, description="Voice id or name.")


class VoicesCreateRequest(_Request):
    action: Literal["voices.create"]
    name: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$", description="Display name; unique.")
    id: str | None = Field(None, pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$", description="Default: derived from the name.")
    audio_base64: str | None = Field(None, description="Reference clip (wav, flac, ogg or mp3), base64.")
    audio_url: str | None = Field(None, max_length=2048, description="Reference clip at a public http(s) URL.")
    transcript: str | None = Field(None, max_length=2000, description="What the clip says; transcribed if needed.")
    blend: dict[str, float] | None = Field(None, min_length=2, max_length=8,
                                           description="Weighted mix of existing voices (backends that blend).")
    fit: bool | None = Field(None, description="Backends that cannot clone but can match (Kokoro): search a mix of "
                                               "stock voices that sounds like the clip (voice matching, not cloning; "
                                               "tens of seconds). Default: on there; false stores the clip only.")
    fit_budget: int = Field(40, ge=6, le=200, description="Syntheses the fit may spend.")
    language: str = Field("en", max_length=16, description="What the voice speaks (one of info's "
                          "capabilities.languages): the language of Latin-script text spoken with it.")
    gender: str | None = Field(None, max_length=20)
    description: str = Field("", max_length=500)
    tags: list[str] = Field(default_factory=list, max_length=20)

    @model_validator(mode="after")
    def _one_source(self):
        sources = [s for s in ("audio_base64", "audio_url", "blend") if getattr(self, s) is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one of audio_base64, audio_url or blend")
        if self.blend is not None and any(w <= 0 for w in self.blend.values()):
            raise ValueError("blend weights must be positive")
        if self.fit and self.blend is not None:
            raise ValueError("fit needs a clip (audio_base64 or audio_url), not a blend")
        return self


class VoicesDeleteRequest(_Request):
    action: Literal["voices.delete"]
    voice: str = Field(min_length=1, max_length=200, description="Voice id or name.")


class InfoRequest(_Request):
    action: Literal["info"]


_FORMAT_FIELDS = {"format", "response_format"}


def describe_validation_error(exc: ValidationError) -> str:
    """One readable line per problem, naming the field."""
    lines = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(p) for p in err["loc"]) or "input"
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown field {where!r}")
        elif err["type"] == "missing":
            lines.append(f"missing field {where!r}")
        else:
            lines.append(f"field {where!r}: {err['msg']}")
    return "; ".join(lines)


def non_finite(value: Any, skip: tuple[str, ...] = ()) -> str | None:
    """The path (a.b.0) of the first NaN or ±Infinity anywhere in `value` (JSON parsers let them in), else None.
    Top-level keys in `skip` are not looked into. Iterative: any nesting depth."""
    todo: list[tuple[Any, str]] = [(value, "")]
    while todo:
        item, path = todo.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return path or "input"
        if isinstance(item, dict):       # pushed reversed: the first bad field in document order is named
            todo.extend(reversed([(v, f"{path}.{k}" if path else str(k)) for k, v in item.items()
                                  if path or k not in skip]))
        elif isinstance(item, (list, tuple)):
            todo.extend(reversed([(v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(item)]))
    return None


def validate_request(job_input: Any, models: Mapping[str, type[RequestT]]) -> RequestT:
    """Validate a job's `input` into the request model of its action (`models`: action name -> model)."""
    if not isinstance(job_input, dict):
        raise InvalidInput("the job input must be a JSON object", hint='e.g. {"input": {"text": "Hello"}}')
    action = job_input.get("action", "batch" if "batch" in job_input else "synthesize")
    model = models.get(action) if isinstance(action, str) else None
    if model is None:
        raise InvalidInput(f"unknown action {str(action)[:50]!r}", hint=f"actions: {', '.join(models)}")
    where = non_finite(job_input, skip=("batch",) if action == "batch" else ())   # batch items: checked alone
    if where is not None:
        raise InvalidInput(f"field {where!r}: NaN and Infinity are not numbers a job may hold",
                           hint="send a finite number")
    try:
        return model.model_validate(job_input)
    except ValidationError as exc:
        message = describe_validation_error(exc)
        locs = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
        if locs & _FORMAT_FIELDS:
            raise UnsupportedFormat(message, hint=f"use one of: {', '.join(FORMATS)}") from None
        raise InvalidInput(message, hint=f"fields of {action}: {', '.join(model.model_fields)}") from None
