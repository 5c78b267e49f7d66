"""The xtts backend on the real coqui-tts library (CPU, a small XTTS built by its own constructors, random weights)."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("TTS.tts.models.xtts")

import soundfile as sf  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from backends.xtts import LANGUAGES, XttsBackend, XttsParams, files_revision  # noqa: E402
from common.errors import AudioInvalid, InvalidInput  # noqa: E402
from tests.support.jobs import error_of  # noqa: E402
from tests.support.random_weights import write_random_xtts  # noqa: E402
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
)

pytestmark = pytest.mark.slow
MAX_NEW_TOKENS = 10
STRIDE = 1024                 # model_args.gpt_code_stride_len: 22.05 kHz samples per GPT audio token


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """config.json, model.pth, vocab.json and speakers_xtts.pth as Xtts.load_checkpoint reads them, + a manifest."""
    with random_bake(tmp_path_factory, "xtts") as path:
        write_random_xtts(path)
    return path


@pytest.fixture(scope="module")
def backend(model_dir):
    be = timed_load(XttsBackend, model_dir, max_new_tokens=MAX_NEW_TOKENS)
    yield be
    be.close()


@pytest.fixture(scope="module")
def voice(backend):
    return backend.embed(reference_clip(), RATE)


def test_loads_the_baked_directory_through_load_checkpoint(backend, model_dir):
    from TTS.tts.models.xtts import Xtts

    revision = manifest_revision(model_dir)
    assert isinstance(backend.model, Xtts)
    assert backend.revision == revision == files_revision(model_dir)
    assert backend.embedding_key == f"xtts@{revision}"
    assert backend.languages == LANGUAGES
    assert backend.device == "cpu"
    stock = backend.stock_voices()
    assert [v.id for v in stock] == ["test_speaker"] and backend.default_voice == "test_speaker"
    assert stock[0].embedding["gpt_cond_latent"].shape == (1, 32, 256)
    assert stock[0].embedding["speaker_embedding"].shape == (1, 512, 1)


@pytest.mark.parametrize("rate", [22_050, 44_100])
def test_embed_from_an_array_equals_get_conditioning_latents_from_a_file(backend, rate, tmp_path, monkeypatch):
    """The library's file path, with only torchaudio.load (torchcodec, not installed) swapped for soundfile."""
    import TTS.tts.models.xtts as xtts_module

    def sf_load(path):
        data, sr = sf.read(path, dtype="float32", always_2d=True)
        return torch.from_numpy(data.T.copy()), sr

    monkeypatch.setattr(xtts_module.torchaudio, "load", sf_load)
    clip = reference_clip(rate)
    sf.write(tmp_path / "ref.wav", clip, rate, subtype="FLOAT")
    cfg = backend.config
    latent, speaker = backend.model.get_conditioning_latents(
        str(tmp_path / "ref.wav"), max_ref_length=cfg.max_ref_len, gpt_cond_len=cfg.gpt_cond_len,
        gpt_cond_chunk_len=cfg.gpt_cond_chunk_len, sound_norm_refs=cfg.sound_norm_refs)
    got = backend.embed(clip, rate)
    assert sorted(got) == ["gpt_cond_latent", "speaker_embedding"]
    assert got["gpt_cond_latent"].dtype == np.float32
    np.testing.assert_allclose(got["gpt_cond_latent"], latent.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["speaker_embedding"], speaker.numpy(), rtol=1e-5, atol=1e-6)


def test_embed_rejects_a_clip_too_short_for_the_gpt_latents(backend):
    with pytest.raises(AudioInvalid):
        backend.embed(reference_clip(seconds=0.2), RATE)


def test_embedding_round_trips_through_safetensors_tensor_equal(backend, voice):
    back = stored_and_loaded(voice, backend.embedding_key)
    assert differing_arrays(back, voice) == []
    for a, b in zip(backend._tensors(voice), backend._tensors(back)):
        assert torch.equal(a, b)


def test_short_generate_returns_float32_audio_at_24k_and_is_seeded(backend, voice):
    params = XttsParams(temperature=0.9, top_k=20)
    started = time.perf_counter()
    first = list(backend.synthesize("Hello there, this is a test.", voice, seed=3, params=params))
    print(f"\ninference (max_new_tokens={MAX_NEW_TOKENS}): {time.perf_counter() - started:.1f}s")
    again = list(backend.synthesize("Hello there, this is a test.", voice, seed=3, params=params))
    assert len(first) == 1
    chunk = first[0]
    assert chunk.sample_rate == 24_000
    assert chunk.audio.dtype == np.float32 and chunk.audio.ndim == 1
    assert 0 < chunk.audio.size <= (MAX_NEW_TOKENS + 1) * STRIDE * 24_000 / 22_050 + 1
    assert np.isfinite(chunk.audio).all()
    np.testing.assert_array_equal(again[0].audio, chunk.audio)


def test_speed_goes_through_the_library_speed_argument(backend, voice):
    normal = np.concatenate([c.audio for c in backend.synthesize("Speed test.", voice, seed=5)])
    fast = np.concatenate([c.audio for c in backend.synthesize("Speed test.", voice, seed=5, speed=2.0)])
    assert 0.4 < fast.size / normal.size < 0.6


def test_streaming_yields_several_chunks_from_inference_stream(backend, voice):
    started = time.perf_counter()
    chunks = list(backend.synthesize("Streaming test.", voice, seed=4, params=XttsParams(stream_chunk_size=4)))
    print(f"\ninference_stream (max_new_tokens={MAX_NEW_TOKENS}, 4 per chunk): {time.perf_counter() - started:.1f}s, "
          f"{len(chunks)} chunks")
    assert len(chunks) >= 2
    for chunk in chunks:
        assert chunk.sample_rate == 24_000 and chunk.audio.dtype == np.float32 and chunk.audio.ndim == 1
    total = sum(c.audio.size for c in chunks)
    assert 0 < total <= (MAX_NEW_TOKENS + 1) * STRIDE * 24_000 / 22_050 + 1


def test_params_reject_unknown_keys_out_of_range_values_and_unknown_languages(backend, voice):
    with pytest.raises(ValidationError):
        XttsParams.model_validate({"temperature": 0.7, "cfg_weight": 1.0})
    with pytest.raises(ValidationError):
        XttsParams.model_validate({"top_p": 0})
    with pytest.raises(ValidationError):
        XttsParams.model_validate({"stream_chunk_size": -1})
    with pytest.raises(InvalidInput):
        list(backend.synthesize("Hi.", voice, params=XttsParams(language="xx")))
    with pytest.raises(InvalidInput):
        list(backend.synthesize("Hi.", {"style": np.zeros(256, np.float32)}))
    assert XttsParams.model_validate({"language": "de", "top_k": 5}).top_k == 5


def test_worker_clones_a_voice_stores_it_and_speaks_with_it(backend, tmp_path):
    """The whole job path: voices.create embeds once into safetensors storage; synthesize reuses it."""
    worker = library_worker(backend, tmp_path)
    created = create_voice(worker)
    assert "error" not in created, created
    assert created["voice"]["embeddings"] == [backend.embedding_key]
    assert len(list(tmp_path.rglob("*.safetensors"))) == 1
    bad = worker.handle({"text": "Hi.", "voice": "tone", "params": {"bogus": 1}})
    assert error_of(bad)["code"] == "invalid_input"
    result = worker.handle({"text": "Hello there.", "voice": "tone", "format": "wav", "seed": 1,
                            "params": {"language": "en", "temperature": 0.5}})
    assert "error" not in result, result
    audio, rate = decode_wav(result)
    assert rate == 24_000 and audio.size > 0


def test_start_up_refuses_missing_or_altered_weights(model_dir, tmp_path):
    from common.errors import BackendUnavailable

    with pytest.raises(BackendUnavailable, match="lacks"):
        XttsBackend.load(str(tmp_path), device="cpu")
    manifest = json.loads((model_dir / "manifest.json").read_text())
    manifest["files"][0]["sha256"] = "0" * 64
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    for name in ("config.json", "model.pth", "vocab.json", "speakers_xtts.pth"):
        (tmp_path / name).symlink_to(model_dir / name)
    with pytest.raises(BackendUnavailable, match="sha256|bytes"):
        XttsBackend.load(str(tmp_path), device="cpu")
