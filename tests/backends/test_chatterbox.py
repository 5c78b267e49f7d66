"""The chatterbox backend on the real chatterbox-tts library (CPU, random weights built by its own constructors)."""
from __future__ import annotations

import io
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("chatterbox.tts")

import soundfile as sf  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from backends.chatterbox import ChatterboxBackend, ChatterboxParams, files_revision, flatten_conditionals  # noqa: E402
from common.errors import InvalidInput  # noqa: E402
from tests.support.jobs import error_of  # noqa: E402
from tests.support.torch_models import (  # noqa: E402
    RATE,
    create_voice,
    decode_wav,
    differing_arrays,
    library_worker,
    manifest_revision,
    random_bake,
    reference_clip,
    stored_and_loaded,
    timed_load,
    write_random_chatterbox,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """The files ChatterboxTTS.from_local reads, from the library's own constructors, plus our manifest."""
    with random_bake(tmp_path_factory, "chatterbox") as path:
        write_random_chatterbox(path)
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
    assert error_of(bad)["code"] == "invalid_input"
    result = worker.handle({"text": "Hello there.", "voice": "tone", "format": "wav", "seed": 1,
                            "params": {"cfg_weight": 0.3}})
    assert "error" not in result, result
    audio, rate = decode_wav(result)
    assert rate == 24_000 and audio.size > 0


def test_start_up_hashes_the_weights_beside_the_engine_import_and_loads_the_worker(model_dir, tmp_path):
    """handler.py's start-up path: check_ahead hashes the baked files on a thread, the worker takes that revision."""
    from jobcore.settings import Settings
    from jobcore.startup import load_in_background
    from jobcore.worker import Worker

    settings = Settings(backend="chatterbox", model_dir=str(model_dir), device="cpu", warmup=False,
                        voice_library_uri=str(tmp_path / "lib"))
    worker = load_in_background(settings).result(timeout=600)
    assert isinstance(worker, Worker), getattr(worker, "error", None)
    assert worker.backend.revision == manifest_revision(model_dir)
    worker.backend.close()
