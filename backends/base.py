"""The interface every TTS engine implements: load once, embed a reference clip, synthesize chunks."""
from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from common.errors import CloningUnsupported

log = logging.getLogger(__name__)
Embedding = dict[str, np.ndarray]   # storable: safetensors of plain arrays


@dataclass(frozen=True)
class AudioChunk:
    """Mono float32 audio in [-1, 1] with its own sample rate."""

    audio: np.ndarray
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.audio) / self.sample_rate


@dataclass(frozen=True)
class Capabilities:
    cloning: bool
    streaming: bool
    speed: bool
    languages: tuple[str, ...]
    max_chars: int                  # longest text one synthesize() call should get
    needs_transcript: bool
    sample_rate: int
    #: the same input always gives the same audio (no sampling, or a fixed default seed); backends that
    #: sample are deterministic only for jobs that give a seed
    deterministic: bool = False


@dataclass(frozen=True)
class StockVoice:
    """A voice that ships with the backend's weights (no reference clip)."""

    id: str
    name: str
    language: str
    gender: str | None
    embedding: Embedding
    description: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)


class NoParams(BaseModel):
    """A backend without tunable parameters accepts none."""

    model_config = ConfigDict(extra="forbid")


class Backend(ABC):
    """One TTS engine. Construct once (loads weights); then call embed/synthesize per job."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    Params: ClassVar[type[BaseModel]] = NoParams
    default_voice: ClassVar[str | None] = None

    #: identifies the weights; embeddings are stored per (backend, revision)
    revision: str = "unknown"
    model_name: str = ""

    @property
    def embedding_key(self) -> str:
        return f"{self.name}@{self.revision}"

    def embed(self, audio: np.ndarray, sample_rate: int, transcript: str | None = None) -> Embedding:
        """Turn a mono float32 reference clip into a storable voice embedding."""
        raise CloningUnsupported(f"the {self.name} backend cannot clone a voice from audio",
                                 hint="use a stock voice, or a backend with cloning (e.g. chatterbox)")

    def fit(self, audio: np.ndarray, sample_rate: int, budget: int = 40) -> tuple[Embedding, dict]:
        """Match a clip without a clip encoder (slow search); returns the embedding and a report."""
        raise CloningUnsupported(f"the {self.name} backend cannot fit a voice to a clip")

    def blend(self, embeddings: list[Embedding], weights: list[float]) -> Embedding:
        """A weighted mix of voices, for backends whose embeddings mix meaningfully."""
        raise CloningUnsupported(f"the {self.name} backend cannot blend voices")

    @abstractmethod
    def synthesize(self, text: str, voice: Embedding, *, speed: float = 1.0, seed: int | None = None,
                   params: BaseModel | None = None) -> Iterator[AudioChunk]:
        """Yield audio chunks for `text` (already normalized, at most capabilities.max_chars)."""

    def synthesize_many(self, texts: list[str], voice: Embedding, *, speed: float = 1.0, seed: int | None = None,
                        params: BaseModel | None = None) -> Iterator[list[AudioChunk]]:
        """Each text's chunks, in order. Backends that can work on several sentences at once override this."""
        for text in texts:
            yield list(self.synthesize(text, voice, speed=speed, seed=seed, params=params))

    def stock_voices(self) -> list[StockVoice]:
        return []

    def versions(self) -> dict[str, str]:
        return {}

    def warmup(self) -> None:
        for _ in self.synthesize("Hello.", self.stock_voices()[0].embedding if self.stock_voices() else {}):
            pass

    def close(self) -> None:
        """Free the model's memory."""


def safe_g2p(g2p, text: str):
    """G2P that survives odd input: on a failure, retry with plain letters, digits and punctuation only."""
    try:
        return g2p(text)
    except Exception:  # the G2P is third-party code; one odd character must not fail the job
        log.warning("G2P failed on a sentence; retrying it with plain characters")
        return g2p(re.sub(r"[^A-Za-z0-9 .,!?;:'-]+", " ", text))
