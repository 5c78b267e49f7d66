"""hibari: a 7.9 MB single-voice ("heart") English TTS on onnxruntime, very fast on a CPU."""
from __future__ import annotations

import importlib.metadata
import importlib.resources as resources
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from common.manifest import MANIFEST, verify_manifest

from .base import AudioChunk, Backend, Capabilities, Embedding, NoParams, StockVoice, Weights, safe_g2p

SAMPLE_RATE = 24_000
MODEL_FILE = "hibari.onnx"


class HibariBackend(Backend):
    name = "hibari"
    capabilities = Capabilities(cloning=False, streaming=True, speed=True, languages=("en",),
                                max_chars=400, needs_transcript=False, sample_rate=SAMPLE_RATE,
                                deterministic=True)
    weights = Weights(required=(MODEL_FILE,), package="hibari-tts")
    Params = NoParams
    default_voice = "heart"
    model_name = "hibari heart (distilled from Kokoro af_heart)"

    def __init__(self, tts, *, revision: str):
        """`tts` a loaded hibari.Hibari."""
        self.tts = tts
        self.revision = revision

    @classmethod
    def load(cls, model_dir: str | None, threads: int = 0, device: str = "auto") -> HibariBackend:
        from hibari import Hibari
        from hibari.voices import VOICES

        if model_dir and (Path(model_dir) / MANIFEST).is_file():    # a baked copy is checked against its manifest
            verify_manifest(model_dir, must_list=cls.weights.required)
        tts = Hibari(voice="heart", model=f"{model_dir}/{MODEL_FILE}" if model_dir else None, threads=threads or 1)
        return cls(tts, revision=VOICES["heart"]["sha256"][:12])

    @classmethod
    def write_packaged_weights(cls, dest: Path) -> None:
        with resources.as_file(resources.files("hibari") / "assets" / MODEL_FILE) as path:
            shutil.copyfile(path, dest / MODEL_FILE)

    def synthesize(self, text: str, voice: Embedding, *, speed: float = 1.0, seed: int | None = None,
                   params=None) -> Iterator[AudioChunk]:
        # hibari's vocoder adds noise; a fixed default seed keeps the same job's audio identical
        rng = np.random.default_rng(0 if seed is None else seed)
        for phonemes in safe_g2p(self.tts.phonemize, text):
            audio = self.tts.from_ids(self.tts.ids(phonemes), speed, rng)
            if audio.size:
                yield AudioChunk(np.asarray(audio, dtype=np.float32), SAMPLE_RATE)

    def stock_voices(self) -> list[StockVoice]:
        return [StockVoice(id="heart", name="heart", language="en", gender="female", embedding={},
                           description="hibari's bundled American English voice", tags=("stock", "hibari"))]

    def versions(self) -> dict[str, str]:
        import onnxruntime

        return {"onnxruntime": onnxruntime.__version__, "hibari-tts": importlib.metadata.version("hibari-tts")}

    def close(self) -> None:
        self.tts = None
