"""Kokoro's voice fit and blends judged by the speaker encoder (resemblyzer's, run in numpy: no torch)."""
import base64
import uuid

from backends.speaker_encoder import SpeakerEncoder
from jobcore import audio


def test_a_blend_sounds_between_its_parents(kokoro_worker):
    worker = kokoro_worker
    name = f"Half {uuid.uuid4().hex[:8]}"
    worker.handle({"action": "voices.create", "name": name, "blend": {"jf_alpha": 1, "jm_kumo": 1}})
    encoder = SpeakerEncoder.load()
    text = "A blended voice should sound like both of its parents at once, more or less."

    def embedding(voice):
        result = worker.handle({"text": text, "voice": voice, "format": "wav"})
        samples, rate = audio.decode(base64.b64decode(result["audio_base64"]))
        return encoder.embed(samples, rate)

    a, b, mix = embedding("jf_alpha"), embedding("jm_kumo"), embedding(name)
    worker.handle({"action": "voices.delete", "voice": name})
    assert float(mix @ a) > float(b @ a) and float(mix @ b) > float(a @ b)
