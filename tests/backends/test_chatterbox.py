"""The chatterbox backend on the real chatterbox-tts library (CPU, random weights built by its own constructors)."""
from __future__ import annotations

import base64
import io
import json
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("chatterbox.tts")

import soundfile as sf  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from backends.chatterbox import ChatterboxBackend, ChatterboxParams, files_revision, flatten_conditionals  # noqa: E402
from builder.manifest import write_manifest  # noqa: E402
from jobcore.errors import InvalidInput  # noqa: E402
from jobcore.settings import Settings  # noqa: E402
from jobcore.worker import Worker  # noqa: E402
from voice_library import ByteLRU, VoiceLibrary, open_store  # noqa: E402
from voice_library.library import dump_embedding, load_embedding  # noqa: E402

pytestmark = pytest.mark.slow
RATE = 24_000


def char_tokenizer_json() -> str:
    """A character-level tokenizer.json in the layout EnTokenizer expects ([STOP]=0 ... [START]=255, ids < 704)."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers

    specials = {"[STOP]": 0, "[UNK]": 1, "[SPACE]": 2, "[START]": 255}
    chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-:;()"
    vocab = {**specials, **{c: 3 + i for i, c in enumerate(chars)}}
    vocab.update({f"[unused{i}]": i for i in range(len(vocab) - 1, 255)})   # no holes below [START]
    tokenizer = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    tokenizer.add_special_tokens(list(specials))
    return tokenizer.to_str()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """The files ChatterboxTTS.from_local reads, from the library's own constructors, plus our manifest."""
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.voice_encoder import VoiceEncoder
    from safetensors.torch import save_file

    path = tmp_path_factory.mktemp("chatterbox-model")
    torch.manual_seed(0)
    started = time.perf_counter()
    for name, build in (("ve.safetensors", VoiceEncoder), ("t3_cfg.safetensors", T3), ("s3gen.safetensors", S3Gen)):
        module = build()
        save_file({k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}, path / name)
        del module
    (path / "tokenizer.json").write_text(char_tokenizer_json(), encoding="utf-8")
    write_manifest(path, "chatterbox", source="random weights (tests)")
    print(f"\nbuilt random chatterbox weights in {time.perf_counter() - started:.1f}s")
    return path


@pytest.fixture(scope="module")
def backend(model_dir):
    started = time.perf_counter()
    be = ChatterboxBackend(model_dir=str(model_dir), device="cpu", max_new_tokens=10)
    print(f"\nChatterboxBackend loaded in {time.perf_counter() - started:.1f}s")
    yield be
    be.close()


def reference_clip(rate: int = RATE, seconds: float = 4.0) -> np.ndarray:
    """A voiced, pitch-gliding tone with noise: enough structure for the encoders, deterministic."""
    t = np.arange(int(rate * seconds)) / rate
    f0 = 120 + 40 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / rate
    voiced = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t) ** 2
    noise = np.random.default_rng(7).normal(0, 0.02, t.size)
    return (0.3 * voiced * envelope / 2 + noise).astype(np.float32)


@pytest.fixture(scope="module")
def voice(backend):
    return backend.embed(reference_clip(), RATE)


def test_loads_the_baked_directory_through_from_local(backend, model_dir):
    from chatterbox.tts import ChatterboxTTS

    manifest = json.loads((model_dir / "manifest.json").read_text())
    assert isinstance(backend.model, ChatterboxTTS)
    assert backend.revision == manifest["revision"] == files_revision(model_dir)
    assert backend.embedding_key == f"chatterbox@{manifest['revision']}"
    assert backend.stock_voices() == []          # no conds.pt baked
    assert backend.device == "cpu"


@pytest.mark.parametrize("rate", [RATE, 44_100])
def test_embed_from_an_array_equals_prepare_conditionals_from_a_file(backend, rate):
    clip = reference_clip(rate)
    wav = io.BytesIO()
    sf.write(wav, clip, rate, format="WAV", subtype="FLOAT")
    wav.seek(0)
    backend.model.prepare_conditionals(wav, exaggeration=0.5)
    try:
        expected = flatten_conditionals(backend.model.conds)
    finally:
        backend.model.conds = None
    got = backend.embed(clip, rate)
    assert sorted(got) == sorted(expected)
    assert {"t3.speaker_emb", "t3.cond_prompt_speech_tokens", "gen.prompt_token", "gen.prompt_token_len",
            "gen.prompt_feat", "gen.embedding"} <= set(got)
    for key in expected:
        assert got[key].dtype == expected[key].dtype, key
        np.testing.assert_allclose(got[key], expected[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_embedding_round_trips_through_safetensors_tensor_equal(backend, voice):
    back = load_embedding(dump_embedding(voice, backend.embedding_key))
    assert sorted(back) == sorted(voice)
    for key in voice:
        assert back[key].dtype == voice[key].dtype and np.array_equal(back[key], voice[key]), key
    a, b = backend.conditionals(voice, 0.7), backend.conditionals(back, 0.7)
    for name, value in a.t3.__dict__.items():
        other = getattr(b.t3, name)
        assert (value is None and other is None) or torch.equal(value, other), name
    assert float(a.t3.emotion_adv.flatten()[0]) == pytest.approx(0.7)
    for key, value in a.gen.items():
        assert (value is None and b.gen[key] is None) or torch.equal(value, b.gen[key]), key


def test_short_generate_returns_float32_audio_at_24k_and_is_seeded(backend, voice):
    params = ChatterboxParams(temperature=0.9, exaggeration=0.8)
    started = time.perf_counter()
    first = list(backend.synthesize("Hello there, this is a test.", voice, seed=3, params=params))
    print(f"\ngenerate (max_new_tokens=10): {time.perf_counter() - started:.1f}s")
    again = list(backend.synthesize("Hello there, this is a test.", voice, seed=3, params=params))
    assert len(first) == 1
    chunk = first[0]
    assert chunk.sample_rate == 24_000
    assert chunk.audio.dtype == np.float32 and chunk.audio.ndim == 1
    assert 0 < chunk.audio.size <= 10 * 2 * 480 + 24_000   # 10 tokens at 25 Hz, 2 mel frames of 480 samples each
    assert np.isfinite(chunk.audio).all()
    np.testing.assert_array_equal(again[0].audio, chunk.audio)


def test_params_reject_unknown_keys_and_out_of_range_values(backend, voice):
    with pytest.raises(ValidationError):
        ChatterboxParams.model_validate({"exaggeration": 0.5, "cfg_scale": 1.0})
    with pytest.raises(ValidationError):
        ChatterboxParams.model_validate({"temperature": 0})
    with pytest.raises(InvalidInput):
        list(backend.synthesize("Hi.", voice, speed=1.5))
    with pytest.raises(InvalidInput):
        list(backend.synthesize("Hi.", {"style": np.zeros(256, np.float32)}))


def test_worker_clones_a_voice_stores_it_and_speaks_with_it(backend, tmp_path):
    """The whole job path: voices.create embeds once into safetensors storage; synthesize reuses it."""
    settings = Settings(backend="chatterbox", voice_library_uri=str(tmp_path), warmup=False)
    worker = Worker(settings, backend, VoiceLibrary(open_store(str(tmp_path)), ByteLRU(64 << 20)))
    clip = io.BytesIO()
    sf.write(clip, reference_clip(), RATE, format="WAV")
    created = worker.handle({"action": "voices.create", "name": "Tone",
                             "audio_base64": base64.b64encode(clip.getvalue()).decode()})
    assert "error" not in created, created
    assert created["voice"]["embeddings"] == [backend.embedding_key]
    stored = list(tmp_path.rglob("*.safetensors"))
    assert len(stored) == 1
    bad = worker.handle({"text": "Hi.", "voice": "tone", "params": {"bogus": 1}})
    assert json.loads(bad["error"])["code"] == "invalid_input"
    result = worker.handle({"text": "Hello there.", "voice": "tone", "format": "wav", "seed": 1,
                            "params": {"cfg_weight": 0.3}})
    assert "error" not in result, result
    audio, rate = sf.read(io.BytesIO(base64.b64decode(result["audio_base64"])), dtype="float32")
    assert rate == 24_000 and audio.size > 0
