"""Helpers the torch backends' slow tests share: random-weight bakes, reference tones, timed loads, worker round trips.
Heavy imports stay inside the functions, so importing this costs nothing where torch is missing."""
from __future__ import annotations

import base64
import io
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

RATE = 24_000


def tone(rate: int, seconds: float, seed: int = 7) -> np.ndarray:
    """A voiced, pitch-gliding tone with noise: enough structure for the encoders, deterministic."""
    t = np.arange(int(rate * seconds)) / rate
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    noise = np.random.default_rng(seed).normal(0, 0.02, t.size)
    return (0.3 * voiced * envelope / 2 + noise).astype(np.float32)


def reference_clip(rate: int = RATE, seconds: float = 4.0) -> np.ndarray:
    return tone(rate, seconds)


def char_tokenizer_json(vocab: dict[str, int], specials: list[str]) -> str:
    """A character-level WordLevel tokenizer (one token per character) over `vocab`, `specials` kept whole."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tokenizer.add_special_tokens(specials)
    return tokenizer.to_str()


def chatterbox_tokenizer_json() -> str:
    """A character-level tokenizer.json in the layout EnTokenizer expects ([STOP]=0 ... [START]=255, ids < 704)."""
    specials = {"[STOP]": 0, "[UNK]": 1, "[SPACE]": 2, "[START]": 255}
    chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-:;()"
    vocab = {**specials, **{c: 3 + i for i, c in enumerate(chars)}}
    vocab.update({f"[unused{i}]": i for i in range(len(vocab) - 1, 255)})   # no holes below [START]
    return char_tokenizer_json(vocab, list(specials))


def write_random_chatterbox(path: Path) -> None:
    """The files ChatterboxTTS.from_local reads, full size, random weights from the library's own constructors."""
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.voice_encoder import VoiceEncoder
    from safetensors.torch import save_file

    for name, build in (("ve.safetensors", VoiceEncoder), ("t3_cfg.safetensors", T3), ("s3gen.safetensors", S3Gen)):
        module = build()
        save_file({k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}, path / name)
        del module
    (path / "tokenizer.json").write_text(chatterbox_tokenizer_json(), encoding="utf-8")


@contextmanager
def random_bake(tmp_path_factory, backend: str, what: str | None = None) -> Iterator[Path]:
    """A fresh model directory for `backend`, torch seeded; on leaving, our manifest is written and the time printed."""
    import torch

    from common.manifest import write_manifest

    path = tmp_path_factory.mktemp(f"{backend}-model")
    torch.manual_seed(0)
    started = time.perf_counter()
    yield path
    write_manifest(path, backend, source="random weights (tests)")
    print(f"\nbuilt random {what or backend} weights in {time.perf_counter() - started:.1f}s")


def timed_load(backend_cls, model_dir: Path, **kwargs):
    """The backend on the CPU from `model_dir`, its load time printed."""
    started = time.perf_counter()
    be = backend_cls.load(str(model_dir), device="cpu", **kwargs)
    print(f"\n{backend_cls.__name__} loaded in {time.perf_counter() - started:.1f}s")
    return be


def manifest_revision(model_dir: Path) -> str:
    import json

    return json.loads((model_dir / "manifest.json").read_text())["revision"]


def stored_and_loaded(voice: dict[str, np.ndarray], key: str) -> dict[str, np.ndarray]:
    """The embedding after a round trip through the voice library's safetensors format."""
    from voice_library.library import dump_embedding, load_embedding

    return load_embedding(dump_embedding(voice, key))


def differing_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> list[str]:
    """Keys whose arrays differ in dtype or values, or that only one side has."""
    return sorted(k for k in a.keys() | b.keys()
                  if k not in a or k not in b or a[k].dtype != b[k].dtype or not np.array_equal(a[k], b[k]))


def library_worker(backend, library: Path):
    """A job worker on `backend` with its voice library in `library` (no warm-up)."""
    from jobcore.settings import Settings
    from jobcore.worker import Worker
    from storage import open_store
    from voice_library import ByteLRU, VoiceLibrary

    settings = Settings(backend=backend.name, voice_library_uri=str(library), warmup=False)
    return Worker(settings, backend, VoiceLibrary(open_store(str(library)), ByteLRU(64 << 20)))


def create_voice(worker, **fields) -> dict:
    """voices.create "Tone" from reference_clip() sent as a base64 WAV, with any extra request fields."""
    import soundfile as sf

    clip = io.BytesIO()
    sf.write(clip, reference_clip(), RATE, format="WAV")
    return worker.handle({"action": "voices.create", "name": "Tone", **fields,
                          "audio_base64": base64.b64encode(clip.getvalue()).decode()})


def decode_wav(result: dict) -> tuple[np.ndarray, int]:
    import soundfile as sf

    return sf.read(io.BytesIO(base64.b64decode(result["audio_base64"])), dtype="float32")
