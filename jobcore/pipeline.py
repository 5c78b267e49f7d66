"""Text to audio pieces: normalize, split into sentences within the backend's limit, synthesize, time them."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

from backends.base import Backend, Embedding

from .audio import trim_silence
from common.errors import InvalidInput
from .text import chunk_text, normalize, split_sentences


def prepare_text(text: str, max_chars: int, language: str = "en") -> list[str]:
    """Sentences (long ones split further), each at most `max_chars` long; English is normalized for speech."""
    spoken = normalize(text) if language.lower().startswith("en") else " ".join(text.split())
    chunks = [c for sentence in split_sentences(spoken) for c in chunk_text(sentence, max_chars)
              if any(ch.isalnum() for ch in c)]
    if not chunks:
        raise InvalidInput("the text has nothing to speak", hint="send words, not only punctuation or spaces")
    return chunks


@dataclass(frozen=True)
class Part:
    """One voice's stretch of the output: its sentences and how to speak them."""

    sentences: list[str]
    voice_id: str
    embedding: Embedding
    speed: float = 1.0
    seed: int | None = None
    params: BaseModel | None = None


@dataclass(frozen=True)
class Piece:
    """Audio for one sentence, preceded by `lead` samples of silence (the pause before it)."""

    audio: np.ndarray
    sample_rate: int
    lead: int
    text: str
    part: int


def render(backend: Backend, parts: list[Part], pause_s: float, gap_s: float) -> Iterator[Piece]:
    """Synthesize sentence by sentence; pauses join sentences, longer gaps join parts (dialog turns)."""
    first = True
    for index, part in enumerate(parts):
        spoken = backend.synthesize_many(part.sentences, part.embedding, speed=part.speed, seed=part.seed,
                                         params=part.params)
        for number, (sentence, chunks) in enumerate(zip(part.sentences, spoken)):
            audio = []
            rate = backend.capabilities.sample_rate
            for chunk in chunks:
                rate = chunk.sample_rate
                trimmed = trim_silence(chunk.audio, sample_rate=rate)
                if trimmed.size:
                    audio.append(trimmed)
            if not audio:
                continue
            silence = 0.0 if first else (gap_s if number == 0 else pause_s)
            lead = int(silence * rate)
            body = audio[0] if len(audio) == 1 else np.concatenate(
                [x for a in audio for x in (a, np.zeros(int(pause_s * rate), np.float32))][:-1])
            yield Piece(np.concatenate([np.zeros(lead, np.float32), body]), rate, lead, sentence, index)
            first = False


def timeline(pieces: list[Piece]) -> list[dict]:
    """Start and end of each sentence in seconds, on the joined audio."""
    out, offset = [], 0
    for piece in pieces:
        start = offset + piece.lead
        offset += len(piece.audio)
        out.append({"text": piece.text, "start_s": round(start / piece.sample_rate, 3),
                    "end_s": round(offset / piece.sample_rate, 3), "part": piece.part})
    return out
