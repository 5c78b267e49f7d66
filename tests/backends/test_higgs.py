"""The higgs backend on the real boson-multimodal library (CPU, a tiny Higgs Audio model, audio tokenizer and HuBERT
built by their own constructors, random weights), read from one baked directory without the hub."""
from __future__ import annotations

import base64
import io
import shutil
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("boson_multimodal.serve.serve_engine")

import soundfile as sf  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from backends.higgs import PROCESSOR_DIR, SEMANTIC_DIR, TOKENIZER_DIR, HiggsBackend, HiggsParams, baked_hub_ids  # noqa: E402
from common.errors import BackendUnavailable, InvalidInput  # noqa: E402
from tests.support.offline import offline as network_guard  # noqa: E402
from tests.support.random_weights import HIGGS_CODEBOOKS, write_random_higgs  # noqa: E402
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
N_Q = HIGGS_CODEBOOKS           # codebooks (the released tokenizer and model use 8)
HOP = 960                       # 24 kHz / 25 Hz: the v2 tokenizer's ratios [8, 5, 4, 2, 3]
TOKENS = 12                     # generated tokens per test synthesis (random weights never stop by themselves)
TRANSCRIPT = "A tone that glides up and down."
@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """The generation model (sharded safetensors + index), its text tokenizer, the audio tokenizer (config.json +
    model.pth) and the HuBERT semantic model, each where the backend's loading path reads it."""
    with random_bake(tmp_path_factory, "higgs", "higgs + audio tokenizer + hubert") as path:
        write_random_higgs(path)
    return path


def offline():
    """Any TCP/UDP connection or hub snapshot download inside fails the test."""
    from boson_multimodal.audio_processing import higgs_audio_tokenizer

    return network_guard(higgs_audio_tokenizer, "snapshot_download")


@pytest.fixture(scope="module")
def backend(model_dir):
    with offline():
        be = timed_load(HiggsBackend, model_dir, kv_cache_lengths=(1024,))
    yield be
    be.close()


@pytest.fixture(scope="module")
def voice(backend):
    return backend.embed(reference_clip(), RATE, TRANSCRIPT)


def params(**kw) -> HiggsParams:
    return HiggsParams(max_new_tokens=TOKENS, **kw)


def test_loads_model_tokenizers_and_semantic_model_from_the_baked_directory(backend, model_dir):
    from boson_multimodal.audio_processing.higgs_audio_tokenizer import HiggsAudioTokenizer
    from boson_multimodal.model.higgs_audio import HiggsAudioModel
    from transformers import HubertModel

    engine = backend.model
    assert isinstance(engine.model, HiggsAudioModel) and isinstance(engine.audio_tokenizer, HiggsAudioTokenizer)
    assert len(list(model_dir.glob("model-*-of-*.safetensors"))) > 1       # the sharded layout, read via the index
    semantic = engine.audio_tokenizer.semantic_model
    assert isinstance(semantic, HubertModel)
    assert semantic.config._name_or_path == str(model_dir / SEMANTIC_DIR)
    assert engine.audio_num_codebooks == N_Q and engine.audio_tokenizer.sampling_rate == 24_000
    revision = manifest_revision(model_dir)
    assert backend.revision == revision and backend.embedding_key == f"higgs@{revision}"
    assert backend.device == "cpu" and backend.capabilities.needs_transcript


def test_hub_ids_the_library_hard_codes_resolve_to_the_bake_or_fail_without_the_network(model_dir, tmp_path):
    from boson_multimodal.audio_processing import higgs_audio_tokenizer
    from boson_multimodal.serve import serve_engine

    real = higgs_audio_tokenizer.AutoModel
    with baked_hub_ids(model_dir):
        loaded = higgs_audio_tokenizer.AutoModel.from_pretrained("bosonai/hubert_base", trust_remote_code=True)
        assert loaded.config._name_or_path == str(model_dir / SEMANTIC_DIR)
        with pytest.raises(BackendUnavailable, match="facebook/hubert-base-ls960"):
            higgs_audio_tokenizer.AutoModel.from_pretrained("facebook/hubert-base-ls960")
    with baked_hub_ids(tmp_path):
        with pytest.raises(BackendUnavailable, match=PROCESSOR_DIR):
            serve_engine.AutoProcessor.from_pretrained("openai/whisper-large-v3-turbo", trust_remote=True)
    assert higgs_audio_tokenizer.AutoModel is real


def test_embed_is_the_tokenizers_codes_of_the_clip_file_and_the_transcript(backend, voice, tmp_path):
    """The stored codes are what the library's own encode() gives for the clip read from a WAV file."""
    sf.write(tmp_path / "ref.wav", reference_clip(), RATE, subtype="FLOAT")
    expected = backend.model.audio_tokenizer.encode(str(tmp_path / "ref.wav")).squeeze(0).numpy()
    assert set(voice) == {"ref_codes", "ref_text"}
    assert voice["ref_codes"].dtype == np.int32 and voice["ref_codes"].shape == (N_Q, 4 * 25)
    np.testing.assert_array_equal(voice["ref_codes"], expected)
    assert voice["ref_text"].tobytes().decode() == TRANSCRIPT


def test_inputs_from_stored_codes_equal_the_librarys_inputs_from_the_waveform(backend, voice):
    """Our _prepare_inputs (codes from the voice) builds the same model inputs as the library's (the clip as base64
    WAV, encoded on the fly)."""
    from boson_multimodal.data_types import AudioContent
    from boson_multimodal.serve.serve_engine import HiggsAudioServeEngine

    text = "Hello there."
    ours = backend.model._prepare_inputs(backend.chat(text, voice), force_audio_gen=True)
    wav = io.BytesIO()
    sf.write(wav, reference_clip(), RATE, format="WAV", subtype="FLOAT")
    sample = backend.chat(text, voice)
    sample.messages[2].content = AudioContent(audio_url="", raw_audio=base64.b64encode(wav.getvalue()).decode())
    sample.misc = None
    theirs = HiggsAudioServeEngine._prepare_inputs(backend.model, sample, force_audio_gen=True)
    assert ours.keys() == theirs.keys()
    for key, value in theirs.items():
        if isinstance(value, torch.Tensor):
            assert torch.equal(ours[key], value), key
        else:
            assert ours[key] == value, key


def test_embedding_round_trips_through_safetensors_equal(backend, voice):
    back = stored_and_loaded(voice, backend.embedding_key)
    assert differing_arrays(back, voice) == []
    codes, text = backend.reference(back)
    assert text == TRANSCRIPT and codes.shape == (N_Q, 100)


def test_short_generate_returns_float32_audio_at_24k_whole_frames_and_is_seeded(backend, voice):
    text = "Hello there, this is a test."
    started = time.perf_counter()
    first = list(backend.synthesize(text, voice, seed=3, params=params(temperature=1.0)))
    print(f"\ngenerate ({TOKENS} tokens): {time.perf_counter() - started:.1f}s")
    again = list(backend.synthesize(text, voice, seed=3, params=params(temperature=1.0)))
    assert len(first) == 1
    chunk = first[0]
    assert chunk.sample_rate == 24_000
    assert chunk.audio.dtype == np.float32 and chunk.audio.ndim == 1
    assert 0 < chunk.audio.size <= TOKENS * HOP and chunk.audio.size % HOP == 0
    assert np.isfinite(chunk.audio).all()
    np.testing.assert_array_equal(again[0].audio, chunk.audio)


def test_params_reject_unknown_keys_and_out_of_range_values_and_foreign_voices(backend, voice):
    with pytest.raises(ValidationError):
        HiggsParams.model_validate({"max_new_tokens": 8, "nfe_step": 8})
    with pytest.raises(ValidationError):
        HiggsParams.model_validate({"max_new_tokens": 0})
    with pytest.raises(InvalidInput):
        list(backend.synthesize("Hi there.", {"ref_audio": np.zeros(24_000, np.float32)}))
    wrong = {**voice, "ref_codes": voice["ref_codes"][:2]}
    with pytest.raises(InvalidInput, match="codebooks"):
        list(backend.synthesize("Hi there.", wrong, params=params()))
    with pytest.raises(InvalidInput):
        backend.embed(reference_clip(), RATE, "  ")


def test_worker_clones_a_voice_with_its_transcript_and_speaks_with_it(backend, tmp_path):
    worker = library_worker(backend, tmp_path)
    created = create_voice(worker, transcript=TRANSCRIPT)
    assert "error" not in created, created
    assert created["voice"]["embeddings"] == [backend.embedding_key]
    result = worker.handle({"text": "Hello there.", "voice": "tone", "format": "wav", "seed": 1,
                            "params": {"max_new_tokens": TOKENS}})
    assert "error" not in result, result
    audio, rate = decode_wav(result)
    assert rate == 24_000 and audio.size > 0


def test_start_up_refuses_missing_or_altered_weights(model_dir, tmp_path):
    with pytest.raises(BackendUnavailable, match="lacks"):
        HiggsBackend.load(str(tmp_path), device="cpu")
    shutil.copytree(model_dir, tmp_path / "copy")
    shard = sorted((tmp_path / "copy").glob("model-*-of-*.safetensors"))[-1]
    shard.unlink()
    with pytest.raises(BackendUnavailable, match=shard.name):
        HiggsBackend.load(str(tmp_path / "copy"), device="cpu")
    shutil.rmtree(tmp_path / "copy")
    shutil.copytree(model_dir, tmp_path / "copy")
    with open(tmp_path / "copy" / TOKENIZER_DIR / "model.pth", "ab") as f:
        f.write(b"x")
    with pytest.raises(BackendUnavailable, match="sha256|bytes"):
        HiggsBackend.load(str(tmp_path / "copy"), device="cpu")
