"""Text to one audio array: normalize, chunk to the backend's limit, synthesize, join with short pauses."""
from __future__ import annotations

import numpy as np

from backends.base import Backend, Embedding

from .audio import trim_silence
from .errors import InvalidInput
from .text import chunk_text, normalize


def prepare_text(text: str, max_chars: int) -> list[str]:
    """Normalized chunks, each at most `max_chars` long."""
    chunks = [c for c in chunk_text(normalize(text), max_chars) if any(ch.isalnum() for ch in c)]
    if not chunks:
        raise InvalidInput("the text has nothing to speak", hint="send words, not only punctuation or spaces")
    return chunks


def synthesize_chunks(backend: Backend, chunks: list[str], voice: Embedding, *, speed: float = 1.0,
                      seed: int | None = None, params=None, pause_s: float = 0.2) -> tuple[np.ndarray, int]:
    """Synthesize each chunk, trim its edges and join them with `pause_s` of silence."""
    rate = backend.capabilities.sample_rate
    gap = np.zeros(int(pause_s * rate), np.float32)
    pieces: list[np.ndarray] = []
    for text in chunks:
        for chunk in backend.synthesize(text, voice, speed=speed, seed=seed, params=params):
            audio = trim_silence(chunk.audio, sample_rate=chunk.sample_rate)
            if audio.size:
                if pieces:
                    pieces.append(gap)
                pieces.append(audio)
            rate = chunk.sample_rate
    if not pieces:
        return np.zeros(0, np.float32), rate
    return np.concatenate(pieces), rate
