"""The chatterbox backend on the real chatterbox-tts library (CPU, random weights built by its own constructors)."""
from __future__ import annotations

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
from common.errors import InvalidInput  # noqa: E402
from tests.support.torch_models import (  # noqa: E402
    RATE, char_tokenizer_json, create_voice, decode_wav, differing_arrays, library_worker, manifest_revision,
    random_bake, reference_clip, stored_and_loaded, timed_load)

pytestmark = pytest.mark.slow


def tokenizer_json() -> str:
    """A character-level tokenizer.json in the layout EnTokenizer expects ([STOP]=0 ... [START]=255, ids < 704)."""
    specials = {"[STOP]": 0, "[UNK]": 1, "[SPACE]": 2, "[START]": 255}
    chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?'\"-:;()"
    vocab = {**specials, **{c: 3 + i for i, c in enumerate(chars)}}
    vocab.update({f"[unused{i}]": i for i in range(len(vocab) - 1, 255)})   # no holes below [START]
    return char_tokenizer_json(vocab, list(specials))


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """The files ChatterboxTTS.from_local reads, from the library's own constructors, plus our manifest."""
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.voice_encoder import VoiceEncoder
    from safetensors.torch import save_file

    with random_bake(tmp_path_factory, "chatterbox") as path:
        for name, build in (("ve.safetensors", VoiceEncoder), ("t3_cfg.safetensors", T3),
                            ("s3gen.safetensors", S3Gen)):
            module = build()
            save_file({k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}, path / name)
            del module
        (path / "tokenizer.json").write_text(tokenizer_json(), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def backend(model_dir):
    be = timed_load(ChatterboxBackend, model_dir, max_new_tokens=10)
    yield be
    be.close()


@pytest.fixture(scope="module")
def voice(backend):
    return backend.embed(reference_clip(), RATE)


def test_loads_the_baked_directory_through_from_local(backend, model_dir):
    from chatterbox.tts import ChatterboxTTS

    revision = manifest_revision(model_dir)
    assert isinstance(backend.model, ChatterboxTTS)
    assert backend.revision == revision == files_revision(model_dir)
    assert backend.embedding_key == f"chatterbox@{revision}"
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
    back = stored_and_loaded(voice, backend.embedding_key)
    assert differing_arrays(back, voice) == []
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
        list(backend.synthesize("Hi.", {"style": np.zeros(256, np.float32)}))


def test_worker_clones_a_voice_stores_it_and_speaks_with_it(backend, tmp_path):
    """The whole job path: voices.create embeds once into safetensors storage; synthesize reuses it."""
    worker = library_worker(backend, tmp_path)
    created = create_voice(worker)
    assert "error" not in created, created
    assert created["voice"]["embeddings"] == [backend.embedding_key]
    stored = list(tmp_path.rglob("*.safetensors"))
    assert len(stored) == 1
    bad = worker.handle({"text": "Hi.", "voice": "tone", "params": {"bogus": 1}})
    assert json.loads(bad["error"])["code"] == "invalid_input"
    result = worker.handle({"text": "Hello there.", "voice": "tone", "format": "wav", "seed": 1,
                            "params": {"cfg_weight": 0.3}})
    assert "error" not in result, result
    audio, rate = decode_wav(result)
    assert rate == 24_000 and audio.size > 0
