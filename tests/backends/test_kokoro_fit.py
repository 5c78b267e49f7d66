"""Fitting a Kokoro voice to a clip with the real resemblyzer speaker encoder (slow: needs torch)."""
import base64

import numpy as np
import pytest

pytest.importorskip("resemblyzer")
pytestmark = pytest.mark.slow

from jobcore import audio  # noqa: E402
from jobcore.settings import Settings  # noqa: E402
from jobcore.worker import Worker  # noqa: E402


def test_fit_finds_the_voice_a_clip_was_spoken_in(tmp_path):
    worker = Worker.from_settings(Settings(voice_library_uri=str(tmp_path), warmup=False))
    clip = worker.handle({"text": "Every morning I walk along the river and count the boats that pass by.",
                          "voice": "jf_nezumi", "format": "wav"})["audio_base64"]
    created = worker.handle({"action": "voices.create", "name": "Fitted", "audio_base64": clip,
                             "fit": True, "fit_budget": 10})
    voice = created["voice"]
    assert voice["source"] == "fit" and voice["usable"] and "not cloning" in voice["note"]
    assert voice["fit_similarity"] > 0.8
    assert max(voice["blend"], key=voice["blend"].get) == "jf_nezumi"
    result = worker.handle({"text": "The fitted voice speaks.", "voice": "fitted", "format": "wav"})
    samples, rate = audio.decode(base64.b64decode(result["audio_base64"]))
    assert rate == 24_000 and np.sqrt(np.mean(samples ** 2)) > 0.01


def test_a_blend_sounds_between_its_parents(tmp_path):
    from resemblyzer import VoiceEncoder, preprocess_wav

    worker = Worker.from_settings(Settings(voice_library_uri=str(tmp_path), warmup=False))
    worker.handle({"action": "voices.create", "name": "Half", "blend": {"jf_alpha": 1, "jm_kumo": 1}})
    encoder = VoiceEncoder(device="cpu", verbose=False)
    text = "A blended voice should sound like both of its parents at once, more or less."

    def embedding(voice):
        result = worker.handle({"text": text, "voice": voice, "format": "wav"})
        samples, rate = audio.decode(base64.b64decode(result["audio_base64"]))
        return encoder.embed_utterance(preprocess_wav(samples, source_sr=rate))

    a, b, mix = embedding("jf_alpha"), embedding("jm_kumo"), embedding("half")
    assert float(mix @ a) > float(b @ a) and float(mix @ b) > float(a @ b)
