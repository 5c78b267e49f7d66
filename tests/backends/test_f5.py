"""The f5 backend on the real f5-tts + vocos libraries (CPU, a small DiT and a vocos built by their own constructors,
random weights)."""
from __future__ import annotations

import shutil
import time

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("f5_tts.infer.utils_infer")

import soundfile as sf  # noqa: E402
from pydantic import ValidationError  # noqa: E402

from backends.f5 import VOCAB, F5Backend, F5Params, files_revision, normalize_ref_text  # noqa: E402
from common.errors import InvalidInput  # noqa: E402
from tests.support.random_weights import write_random_f5  # noqa: E402
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
    tone,
)

pytestmark = pytest.mark.slow
HOP = 256
STEPS = 2                     # ODE steps per generation (the default is 32)
TRANSCRIPT = "A tone that glides up and down"

@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """The checkpoint, vocab, model config and vocos files where the backend's loading path reads them."""
    with random_bake(tmp_path_factory, "f5", "f5 + vocos") as path:
        write_random_f5(path)
    return path


@pytest.fixture(scope="module")
def backend(model_dir):
    be = timed_load(F5Backend, model_dir)
    yield be
    be.close()


def long_clip(rate: int) -> np.ndarray:
    """18 s: three 5 s phrases with 1.5 s of digital silence between them (the library clips it to ~12 s)."""
    gap = np.zeros(int(1.5 * rate), np.float32)
    return np.concatenate([tone(rate, 5, 1), gap, tone(rate, 5, 2), gap, tone(rate, 5, 3)])


@pytest.fixture(scope="module")
def voice(backend):
    return backend.embed(reference_clip(), RATE, TRANSCRIPT)


def expected_samples(voice, text: str, speed: float = 1.0) -> int:
    """infer_batch_process()'s duration rule: reference frames scaled by the text's byte-length ratio (it appends
    one more space to a reference text ending in a 1-byte character); vocos' centered ISTFT gives (frames - 1) hops."""
    ref_frames = voice["ref_audio"].size // HOP
    ref_bytes = voice["ref_text"].size + 1
    return (int(ref_frames / ref_bytes * len(text.encode("utf-8")) / speed) - 1) * HOP


def test_loads_the_baked_directory_through_load_model_and_load_vocoder(backend, model_dir):
    from f5_tts.model import CFM
    from vocos import Vocos

    revision = manifest_revision(model_dir)
    assert isinstance(backend.model, CFM) and isinstance(backend.vocoder, Vocos)
    assert backend.model.transformer.dim == 128 and len(backend.model.transformer.transformer_blocks) == 2
    assert backend.revision == revision == files_revision(model_dir)
    assert backend.embedding_key == f"f5@{revision}"
    assert backend.device == "cpu"
    assert backend.capabilities.needs_transcript


@pytest.mark.parametrize("rate", [RATE, 44_100])
def test_embed_matches_preprocess_ref_audio_text_on_a_file(backend, rate, tmp_path):
    """Our in-memory reference processing gives the samples the library's file-based preprocessing writes."""
    from f5_tts.infer.utils_infer import preprocess_ref_audio_text

    clip = long_clip(rate)
    sf.write(tmp_path / "ref.wav", clip, rate, subtype="PCM_16")
    pcm16, _ = sf.read(tmp_path / "ref.wav", dtype="float32")
    processed_path, text = preprocess_ref_audio_text(str(tmp_path / "ref.wav"), TRANSCRIPT, show_info=lambda *a: None)
    expected, expected_rate = sf.read(processed_path, dtype="float32")
    assert expected_rate == rate
    got = backend.embed(pcm16, rate, TRANSCRIPT)
    assert set(got) == {"ref_audio", "ref_text"}
    assert got["ref_text"].dtype == np.uint8 and got["ref_text"].tobytes().decode() == text == TRANSCRIPT + ". "
    assert got["ref_audio"].dtype == np.float32 and got["ref_audio"].ndim == 1
    assert 6 * RATE < got["ref_audio"].size < 12.2 * RATE           # clipped at a silence, as the library does
    if rate == RATE:
        np.testing.assert_allclose(got["ref_audio"], expected, atol=1.0 / 32768)
    else:
        import torchaudio

        resampled = torchaudio.transforms.Resample(rate, RATE)(torch.from_numpy(expected)[None])[0].numpy()
        np.testing.assert_allclose(got["ref_audio"], resampled, atol=2e-4)


def test_transcript_is_required_and_normalized(backend):
    with pytest.raises(InvalidInput):
        backend.embed(reference_clip(), RATE, None)
    with pytest.raises(InvalidInput):
        backend.embed(reference_clip(), RATE, "   ")
    assert normalize_ref_text("Hello there.") == "Hello there. "
    assert normalize_ref_text("你好。") == "你好。"


def test_embedding_round_trips_through_safetensors_equal(backend, voice):
    back = stored_and_loaded(voice, backend.embedding_key)
    assert sorted(back) == ["ref_audio", "ref_text"]
    assert differing_arrays(back, voice) == []
    assert backend.reference(back)[1] == TRANSCRIPT + ". "
    np.testing.assert_array_equal(backend.reference(back)[0], backend.reference(voice)[0])


def test_short_generate_returns_float32_audio_at_24k_of_the_planned_length_and_is_seeded(backend, voice):
    text = "Hello there, this is a test."
    params = F5Params(nfe_step=STEPS, cfg_strength=2.0)
    started = time.perf_counter()
    first = list(backend.synthesize(text, voice, seed=3, params=params))
    print(f"\ngenerate ({STEPS} steps): {time.perf_counter() - started:.1f}s")
    again = list(backend.synthesize(text, voice, seed=3, params=params))
    assert len(first) == 1
    chunk = first[0]
    assert chunk.sample_rate == 24_000
    assert chunk.audio.dtype == np.float32 and chunk.audio.ndim == 1
    assert chunk.audio.size == expected_samples(voice, text)
    assert np.isfinite(chunk.audio).all()
    np.testing.assert_array_equal(again[0].audio, chunk.audio)


def test_speed_goes_through_the_library_speed_argument(backend, voice):
    text = "Speed makes this shorter."
    fast = list(backend.synthesize(text, voice, speed=2.0, seed=1, params=F5Params(nfe_step=STEPS)))
    assert fast[0].audio.size == expected_samples(voice, text, 2.0)


def test_params_reject_unknown_keys_and_out_of_range_values(backend, voice):
    with pytest.raises(ValidationError):
        F5Params.model_validate({"nfe_step": 8, "temperature": 0.7})
    with pytest.raises(ValidationError):
        F5Params.model_validate({"nfe_step": 0})
    with pytest.raises(InvalidInput):
        list(backend.synthesize("Hi there.", {"style": np.zeros(256, np.float32)}))


def test_worker_clones_a_voice_with_its_transcript_and_speaks_with_it(backend, tmp_path):
    worker = library_worker(backend, tmp_path)
    created = create_voice(worker, transcript=TRANSCRIPT)
    assert "error" not in created, created
    assert created["voice"]["embeddings"] == [backend.embedding_key]
    assert len(list(tmp_path.rglob("*.safetensors"))) == 1
    result = worker.handle({"text": "Hello there.", "voice": "tone", "format": "wav", "seed": 1,
                            "params": {"nfe_step": STEPS}})
    assert "error" not in result, result
    audio, rate = decode_wav(result)
    assert rate == 24_000 and audio.size > 0


def test_start_up_refuses_missing_or_altered_weights(model_dir, tmp_path):
    from common.errors import BackendUnavailable

    with pytest.raises(BackendUnavailable, match="lacks"):
        F5Backend.load(str(tmp_path), device="cpu")
    shutil.copytree(model_dir, tmp_path / "copy")
    with open(tmp_path / "copy" / VOCAB, "a", encoding="utf-8") as f:
        f.write("x\n")
    with pytest.raises(BackendUnavailable, match="sha256|bytes"):
        F5Backend.load(str(tmp_path / "copy"), device="cpu")


def test_worker_transcribes_a_clip_sent_without_a_transcript(backend, tmp_path):
    """voices.create without a transcript: the worker's whisper (the transcribe extra) writes one, F5 embeds."""
    import base64
    import io

    from backends.kokoro import KokoroBackend
    from tests.support.speech import wer

    sentence = "The library opens at nine in the morning and closes early on Sundays."
    kokoro = KokoroBackend.load(None, threads=1)
    try:
        voice = next(v for v in kokoro.stock_voices() if v.id == kokoro.default_voice).embedding
        speech = np.concatenate([c.audio for c in kokoro.synthesize(sentence, voice)])
    finally:
        kokoro.close()
    clip = io.BytesIO()
    sf.write(clip, speech, 24_000, format="WAV")
    worker = library_worker(backend, tmp_path)
    created = worker.handle({"action": "voices.create", "name": "Spoken",
                             "audio_base64": base64.b64encode(clip.getvalue()).decode()})
    assert "error" not in created, created
    assert wer(sentence, created["voice"]["transcript"]) <= 0.15, created["voice"]["transcript"]
    assert created["voice"]["embeddings"] == [backend.embedding_key]
