"""Voice actions of the worker: resolve a voice to this backend's embedding, create, list, get, delete."""
from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from functools import cached_property

from backends import Backend, Embedding
from backends.base import StockVoice
from common.errors import CloningUnsupported, InvalidInput, VoiceExists, VoiceNotFound
from voice_library import DamagedVoice, VoiceLibrary, VoiceMeta
from voice_library.library import check_voice_id, slugify

from . import audio, languages
from .context import JobContext
from .reference import REFERENCE_RATE, decode_base64_audio, prepare_reference, to_flac
from .schema import VoicesCreateRequest
from .settings import Settings

log = logging.getLogger(__name__)

MAX_BLEND_TERMS = 8
BLEND_CACHE_ENTRIES = 64
_BLEND_TERM = re.compile(r"^(?P<name>[^()+]+?)\s*(?:\(\s*(?P<weight>\d+(?:\.\d*)?|\.\d+)\s*\))?$")
# OpenAI's built-in voice names and how they sound; by default each maps onto a stock voice of that kind
OPENAI_VOICES = {"alloy": "female", "ash": "male", "ballad": "male", "coral": "female", "echo": "male",
                 "fable": "male", "nova": "female", "onyx": "male", "sage": "female", "shimmer": "female",
                 "verse": "male", "marin": "female", "cedar": "male"}


def default_aliases(stock: list[StockVoice], fallback: str | None) -> dict[str, str]:
    """OpenAI's voice names -> this backend's stock voices, taking same-gender voices in turn (by id);
    a backend without such voices maps them onto any stock voice, or its default voice."""
    everyone = sorted(v.id for v in stock) or ([fallback] if fallback else [])
    table: dict[str, str] = {}
    turns = {"female": 0, "male": 0}
    for name, gender in OPENAI_VOICES.items():
        pool = sorted(v.id for v in stock if v.gender == gender) or everyone
        if pool:
            table[name] = pool[turns[gender] % len(pool)]
            turns[gender] += 1
    return table


class Voices:
    def __init__(self, settings: Settings, backend: Backend, library: VoiceLibrary):
        self.settings = settings
        self.backend = backend
        self.library = library
        self._blends: OrderedDict[tuple[str, str], Embedding] = OrderedDict()   # inline blends, least recent first
        self._blend_lock = threading.Lock()

    def seed_stock(self) -> None:
        """Write the backend's bundled voices into the library where they are missing."""
        for stock in self.backend.stock_voices():
            meta = VoiceMeta(id=stock.id, name=stock.name, language=stock.language, gender=stock.gender,
                             description=stock.description, tags=list(stock.tags), source="stock")
            if self.library.add_stock(meta, self.backend.embedding_key, stock.embedding):
                log.info("seeded stock voice %s", stock.id)

    def resolve(self, ref: str | None) -> tuple[VoiceMeta, Embedding]:
        """The voice and its embedding for this backend (computed and stored on first use by cloning backends).

        `ref` is a voice id or name, an alias (OpenAI's voice names by default, VOICE_ALIASES), or an inline
        blend such as `jf_alpha(2)+jm_kumo(1)` (weights default to 1, and are normalized)."""
        ref = ref or self.settings.default_voice or self.backend.default_voice
        if not ref:
            raise InvalidInput("no voice given and the backend has no default", hint="set voice")
        try:
            meta = self.find(ref)
        except VoiceNotFound:
            if "+" not in ref and not ref.rstrip().endswith(")"):
                raise
            return self._inline_blend(ref)
        return meta, self._embedding(meta)

    def find(self, ref: str) -> VoiceMeta:
        """A voice by alias first (OpenAI's names, VOICE_ALIASES: no listing of the library), else a stored voice
        by id or name (a miss lists the library once)."""
        target = self.aliases.get(ref.strip().lower())
        if target is not None and target.lower() != ref.strip().lower():
            return self.library.resolve(target)
        return self.library.resolve(ref)

    @cached_property
    def aliases(self) -> dict[str, str]:
        """Alias -> voice: OpenAI's names on this backend's stock voices, then VOICE_ALIASES over them."""
        return {**default_aliases(self.backend.stock_voices(), self.settings.default_voice or self.backend.default_voice),
                **dict(self.settings.voice_aliases)}

    def _embedding(self, meta: VoiceMeta) -> Embedding:
        embedding = self.library.embedding(meta.id, self.backend.embedding_key)
        if embedding is None and self.backend.capabilities.cloning:
            embedding = self._embed_stored(meta)
        if embedding is None:
            usable = [m.name for m, keys in self.library.list() if self.backend.embedding_key in keys]
            raise VoiceNotFound(f"voice {meta.name!r} has no embedding for the {self.backend.name} backend",
                                hint=f"voices usable here: {', '.join(usable) or 'none'}")
        return embedding

    def _inline_blend(self, expression: str) -> tuple[VoiceMeta, Embedding]:
        """`a(2)+b(1)`: the same blend as voices.create with `blend`, made once per normalized expression."""
        weights: dict[str, float] = {}
        metas: dict[str, VoiceMeta] = {}
        terms = expression.split("+")
        if len(terms) > MAX_BLEND_TERMS:
            raise InvalidInput(f"voice {expression[:80]!r} blends {len(terms)} voices; at most {MAX_BLEND_TERMS}")
        for term in terms:
            match = _BLEND_TERM.match(term.strip())
            if match is None or float(match["weight"] or 1) <= 0:
                raise InvalidInput(f"voice {expression[:80]!r}: {term.strip()[:40]!r} is not a voice or voice(weight)",
                                   hint="blend voices as jf_alpha+jm_kumo or jf_alpha(2)+jm_kumo(1)")
            meta = self.find(match["name"])
            metas[meta.id] = meta
            weights[meta.id] = weights.get(meta.id, 0.0) + float(match["weight"] or 1)
        total = sum(weights.values())
        normalized = {voice_id: round(w / total, 4) for voice_id, w in sorted(weights.items())}
        name = "+".join(f"{voice_id}({w:g})" for voice_id, w in normalized.items())
        meta = VoiceMeta(id=name, name=name, source="blend", blend=normalized)
        key = (self.backend.embedding_key, name)
        with self._blend_lock:
            cached = self._blends.get(key)
            if cached is not None:
                self._blends.move_to_end(key)
                return meta, cached
        if len(normalized) == 1:
            embedding = self._embedding(next(iter(metas.values())))
        else:
            embedding = self.backend.blend([self._embedding(metas[i]) for i in normalized], list(normalized.values()))
        with self._blend_lock:
            self._blends[key] = embedding
            while len(self._blends) > BLEND_CACHE_ENTRIES:
                self._blends.popitem(last=False)
        return meta, embedding

    def _embed_stored(self, meta: VoiceMeta) -> Embedding | None:
        """First use of a voice on this backend revision: embed its clip once and share it through storage."""
        flac = self.library.reference(meta.id)
        if flac is None:
            return None
        samples, rate = audio.decode(flac)
        embedding = self.backend.embed(samples, rate, meta.transcript or self._transcript(samples, rate, None))
        self.library.put_embedding(meta.id, self.backend.embedding_key, embedding)
        log.info("computed and stored the %s embedding of voice %s", self.backend.embedding_key, meta.id)
        return embedding

    def one_off(self, clip_base64: str, transcript: str | None) -> tuple[VoiceMeta, Embedding]:
        """A synthesize job's `reference_audio`: embedded for this job only, never stored."""
        if not self.backend.capabilities.cloning:
            raise CloningUnsupported(f"the {self.backend.name} backend cannot clone a voice from reference_audio",
                                     hint="use a stored voice or a blend; cloning needs a backend such as chatterbox")
        samples = prepare_reference(decode_base64_audio(clip_base64, self.settings.max_audio_bytes),
                                    self.settings.max_reference_s)
        embedding = self.backend.embed(samples, REFERENCE_RATE, self._transcript(samples, REFERENCE_RATE, transcript))
        return VoiceMeta(id="reference-audio", name="reference_audio", source="clip"), embedding

    def _transcript(self, samples, rate: int, given: str | None) -> str | None:
        if given or not self.backend.capabilities.needs_transcript:
            return given
        from .transcribe import transcribe

        return transcribe(samples, rate, self.settings.model_dir)

    def create(self, req: VoicesCreateRequest, job: JobContext | None = None) -> dict:
        """A new voice from a clip (embedded or fitted here) or a blend; `job`: the voices.create job it runs in."""
        t0 = time.perf_counter()
        voice_id = check_voice_id(req.id) if req.id else slugify(req.name)
        meta = VoiceMeta(id=voice_id, name=req.name, language=self._language(req.language), gender=req.gender,
                         description=req.description, tags=req.tags, transcript=req.transcript)
        for meta_other, _ in self.library.list():
            if meta_other.name.lower() == req.name.lower():
                raise VoiceExists(f"a voice named {req.name!r} already exists ({meta_other.id})")
        embeddings, reference = {}, None
        if req.blend is not None:
            parts = [self.resolve(name) for name in req.blend]
            embeddings[self.backend.embedding_key] = self.backend.blend([e for _, e in parts], list(req.blend.values()))
            meta.source, meta.blend = "blend", {m.id: w for (m, _), w in zip(parts, req.blend.values())}
        else:
            from .fetch import fetch_audio  # httpcore: imported by the first URL clip, not at every start-up

            raw = (decode_base64_audio(req.audio_base64, self.settings.max_audio_bytes) if req.audio_base64 is not None
                   else fetch_audio(str(req.audio_url), self.settings.max_audio_bytes, self.settings.url_timeout_s,
                                    self.settings.allow_private_urls))
            samples = prepare_reference(raw, self.settings.max_reference_s)
            reference = to_flac(samples)
            meta.reference_sha256 = hashlib.sha256(reference).hexdigest()
            meta.reference_duration_s = round(len(samples) / REFERENCE_RATE, 3)
            meta.transcript = self._transcript(samples, REFERENCE_RATE, req.transcript)
            if self.backend.capabilities.cloning:
                embeddings[self.backend.embedding_key] = self.backend.embed(samples, REFERENCE_RATE, meta.transcript)
            elif req.fit or (req.fit is None and self.backend.capabilities.fits):
                embedding, report = self.backend.fit(samples, REFERENCE_RATE, req.fit_budget)
                embeddings[self.backend.embedding_key] = embedding
                meta.source, meta.fit_similarity, meta.blend = "fit", report["similarity"], report["weights"]
        self.library.create(meta, reference, embeddings)
        result = self.describe(meta, sorted(embeddings))
        if not result["usable"]:
            result["note"] = unusable_reason(meta, sorted(embeddings), self.backend)
        elif meta.source == "fit":
            result["note"] = fit_note(meta.fit_similarity, meta.blend or {})
        return {"voice": result, "timings_ms": {"total": round((time.perf_counter() - t0) * 1e3, 1)}}

    def _language(self, code: str) -> str:
        """A new voice's language as this backend spells it (shared libraries may hold languages it lacks)."""
        if not re.fullmatch(r"[a-z]{2,3}(?:-[a-z0-9]{2,8})?", languages.canonical(code)):
            raise InvalidInput(f"language {code[:20]!r} is not a language code",
                               hint=f"ISO 639-1, or en-gb, pt-br; this backend speaks "
                                    f"{', '.join(self.backend.capabilities.languages)}")
        return languages.match(code, self.backend.capabilities.languages) or languages.canonical(code)

    @cached_property
    def _stock_languages(self) -> dict[str, str]:
        return {v.id: v.language for v in self.backend.stock_voices()}

    def language_of(self, meta: VoiceMeta) -> str | None:
        """The language a voice speaks by default: the backend's word for its stock voices (libraries seeded by
        older images may say otherwise), else what the voice's metadata records."""
        if meta.source == "stock" and meta.id in self._stock_languages:
            return self._stock_languages[meta.id]
        return meta.language

    def list(self) -> dict:
        return {"voices": [self.describe(meta, keys) for meta, keys in self.library.list()],
                "backend": self.backend.name}

    def get(self, ref: str) -> dict:
        meta = self.library.resolve(ref)
        keys = [k for m, k in self.library.list() if m.id == meta.id]
        return {"voice": self.describe(meta, keys[0] if keys else [])}

    def describe(self, meta: VoiceMeta, keys: Sequence[str]) -> dict:
        usable = self.backend.embedding_key in keys or (self.backend.capabilities.cloning and bool(meta.reference_sha256))
        described = {**meta.model_dump(), "embeddings": keys, "usable": usable}
        if not usable:
            described["reason"] = unusable_reason(meta, keys, self.backend)
        return described

    def delete(self, ref: str) -> dict:
        try:
            voice_id = self.library.resolve(ref).id
        except DamagedVoice:                 # a damaged voice.json: removable by its id
            voice_id = ref.strip()
        return {"deleted": self.library.delete(voice_id).id}


def unusable_reason(meta: VoiceMeta, keys: Sequence[str], backend: Backend) -> str:
    """Why a stored voice cannot speak on this backend, and what would make it."""
    if meta.reference_sha256 and backend.capabilities.fits:
        return (f"not usable here: stored as a clip without a {backend.name} voice; create it again from the clip "
                f'(the {backend.name} backend fits one unless "fit": false), or blend stock voices')
    if meta.reference_sha256:
        return (f"stored for cloning backends; the {backend.name} backend cannot clone, so this voice is not usable "
                "here (blend stock voices)")
    others = sorted({key.split("@")[0] for key in keys})
    return (f"made for {', '.join(others)}, with no {backend.name} embedding" if others
            else f"no {backend.name} embedding and no clip to make one from")


def fit_note(similarity: float | None, blend: dict[str, float]) -> str:
    """What a fitted voice is: matched, not cloned, and how closely (on a sentence the fit did not search on); a
    fit whose best was a single stock voice says so."""
    note = (f"voice matching, not cloning: speaker similarity {similarity} on a sentence the search did not use "
            "(the same speaker scores about 0.9)")
    if len(blend) == 1:
        note += f"; no blend sounded closer than the stock voice {next(iter(blend))}, so this voice is that one"
    return note
