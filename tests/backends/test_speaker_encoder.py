"""The speaker encoder without torch (backends/speaker_encoder.py): resemblyzer's weights read from its wheel by a
restricted reader, the LSTM run in numpy; it tells Kokoro's voices apart; the same as resemblyzer's own (slow,
where torch and resemblyzer are installed)."""
from __future__ import annotations

import base64
import pickle

import numpy as np
import pytest

from backends.speaker_encoder import SpeakerEncoder, read_legacy_torch, weights_path
from jobcore import audio

TEXTS = ("Every morning I walk along the river and count the boats that pass by.",
         "The library closes early on Sundays, so we met at the cafe across the street instead.")


@pytest.fixture(scope="module")
def encoder() -> SpeakerEncoder:
    if weights_path() is None:
        pytest.fail("resemblyzer's weights are not installed: make installs them (pip install --no-deps resemblyzer)")
    return SpeakerEncoder.load()


def speech(worker, voice: str, text: str) -> tuple[np.ndarray, int]:
    result = worker.handle({"text": text, "voice": voice, "format": "wav"})
    return audio.decode(base64.b64decode(result["audio_base64"]))


def test_the_weights_load_without_torch(encoder):
    import sys

    assert "torch" not in sys.modules
    assert len(encoder.layers) == 3 and encoder.layers[0][0].shape == (40, 1024)


def test_the_reader_refuses_anything_but_tensors():
    class Payload:
        def __reduce__(self):
            return (print, ("pwned",))

    header = b"".join(pickle.dumps(x, protocol=2) for x in (0x1950A86A20F9469CFC6C, 1001, {}))
    with pytest.raises(pickle.UnpicklingError, match="refused global"):
        read_legacy_torch(header + pickle.dumps({"model_state": Payload()}, protocol=2))


def test_it_tells_voices_apart(kokoro_worker, encoder):
    """The same voice on two texts scores higher than two voices on the same text."""
    alpha = [encoder.embed(*speech(kokoro_worker, "jf_alpha", t)) for t in TEXTS]
    kumo = [encoder.embed(*speech(kokoro_worker, "jm_kumo", t)) for t in TEXTS]
    same = min(float(alpha[0] @ alpha[1]), float(kumo[0] @ kumo[1]))
    different = max(float(alpha[0] @ kumo[0]), float(alpha[1] @ kumo[1]))
    assert same > 0.85 and same - different > 0.1, (same, different)
    assert all(abs(np.linalg.norm(v) - 1) < 1e-5 and (v >= 0).all() for v in alpha + kumo)


@pytest.mark.slow
def test_it_equals_resemblyzers_own_encoder(kokoro_worker, encoder):
    torch_encoder = pytest.importorskip("resemblyzer", reason="needs torch and resemblyzer with its dependencies")
    samples, rate = speech(kokoro_worker, "jf_nezumi", TEXTS[0])
    wav = torch_encoder.preprocess_wav(samples, source_sr=rate)
    theirs = torch_encoder.VoiceEncoder(device="cpu", verbose=False).embed_utterance(wav)
    ours = encoder.embed_prepared(wav.astype(np.float32))
    assert float(ours @ theirs) > 0.9999


def test_mel_frames_match_the_frame_count_resemblyzer_expects(encoder):
    from backends.speaker_encoder import mel_spectrogram

    wav = np.zeros(16_000, np.float32)
    assert mel_spectrogram(wav).shape == (101, 40)
