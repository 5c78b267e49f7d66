"""Voice names beyond ids: OpenAI's names as aliases (overridable by VOICE_ALIASES) and inline blends."""
from __future__ import annotations

import base64
import dataclasses

import numpy as np
import pytest

from common.errors import InvalidInput, VoiceNotFound
from jobcore import audio
from jobcore.settings import load_settings, parse_aliases
from jobcore.voices import OPENAI_VOICES, Voices
from tests.support.jobs import error_of
from voice_library import ByteLRU, VoiceLibrary


def test_openai_voice_names_map_onto_stock_voices_by_gender(kokoro_worker):
    aliases = kokoro_worker.voices.aliases
    assert set(OPENAI_VOICES) <= set(aliases)
    assert aliases["alloy"] == "jf_alpha" and aliases["echo"] == aliases["onyx"] == "jm_kumo"
    female = {aliases[n] for n, g in OPENAI_VOICES.items() if g == "female"}
    assert female == {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro"}   # spread over the stock voices
    result = kokoro_worker.handle({"text": "Hello.", "voice": "Alloy", "format": "wav"})
    assert result["voice"] == "jf_alpha"


def test_voice_aliases_setting_overrides_the_table(kokoro_worker):
    settings = dataclasses.replace(kokoro_worker.settings,
                                   voice_aliases=parse_aliases("alloy=jm_kumo, narrator = jf_nezumi"))
    voices = Voices(settings, kokoro_worker.backend, kokoro_worker.library)
    assert voices.resolve("alloy")[0].id == "jm_kumo" and voices.resolve("Narrator")[0].id == "jf_nezumi"
    assert voices.resolve("echo")[0].id == "jm_kumo"              # the rest of the default table stays
    assert load_settings({"VOICE_ALIASES": "alloy=jm_kumo"}).voice_aliases == (("alloy", "jm_kumo"),)
    with pytest.raises(InvalidInput):
        parse_aliases("alloy:jm_kumo")
    with pytest.raises(VoiceNotFound):
        Voices(dataclasses.replace(settings, voice_aliases=(("alloy", "nobody"),)),
               kokoro_worker.backend, kokoro_worker.library).resolve("alloy")


def test_inline_blend_is_the_blend_of_voices_create_and_is_cached(kokoro_worker):
    voices = kokoro_worker.voices
    meta, mixed = voices.resolve("jf_alpha(2)+jm_kumo(1)")
    assert meta.blend == {"jf_alpha": 0.6667, "jm_kumo": 0.3333} and meta.id == "jf_alpha(0.6667)+jm_kumo(0.3333)"
    expected = kokoro_worker.backend.blend([voices.resolve("jf_alpha")[1], voices.resolve("jm_kumo")[1]], [2, 1])
    assert np.allclose(mixed["style"], expected["style"], atol=1e-3)
    again = voices.resolve(" jm_kumo (1) + jf_alpha(2)")                 # same blend, written differently
    assert again[0].id == meta.id and again[1] is mixed
    even = voices.resolve("jf_alpha+jm_kumo")[1]
    assert not np.allclose(even["style"], mixed["style"])


def test_inline_blend_speaks(kokoro_worker):
    result = kokoro_worker.handle({"text": "Two voices, one mix.", "voice": "alloy+echo", "format": "wav"})
    assert result["voice"] == "jf_alpha(0.5)+jm_kumo(0.5)"
    samples, rate = audio.decode(base64.b64decode(result["audio_base64"]))
    assert len(samples) / rate > 0.8


@pytest.mark.parametrize("bad, code", [("jf_alpha(0)+jm_kumo", "invalid_input"), ("jf_alpha(x)+jm_kumo", "invalid_input"),
                                       ("jf_alpha+nobody", "voice_not_found"), ("+".join(["jf_alpha"] * 9), "invalid_input")])
def test_bad_inline_blends_are_refused_by_name(kokoro_worker, bad, code):
    result = kokoro_worker.handle({"text": "Hi.", "voice": bad})
    assert error_of(result)["code"] == code


def test_single_voice_backend_takes_every_openai_name(hibari_worker):
    assert hibari_worker.voices.aliases["onyx"] == hibari_worker.voices.aliases["nova"] == "heart"
    assert hibari_worker.handle({"text": "Hi.", "voice": "shimmer", "format": "wav"})["voice"] == "heart"
    # one voice under two names is that voice, not a blend (hibari cannot blend)
    assert hibari_worker.handle({"text": "Hi.", "voice": "heart+alloy(2)", "format": "wav"})["voice"] == "heart(1)"


class CountingStore:
    """A real store that counts its LIST calls."""

    def __init__(self, store):
        self.store, self.lists = store, 0

    def list(self, prefix: str) -> list[str]:
        self.lists += 1
        return self.store.list(prefix)

    def __getattr__(self, name):
        return getattr(self.store, name)


def test_aliases_resolve_without_listing_and_a_miss_lists_once(kokoro_worker):
    store = CountingStore(kokoro_worker.library.store)          # the session's directory library, stock voices in it
    library = VoiceLibrary(store, ByteLRU(50_000_000))
    voices = Voices(kokoro_worker.settings, kokoro_worker.backend, library)
    for ref, voice_id in (("alloy", "jf_alpha"), ("Echo", "jm_kumo"), ("jf_alpha", "jf_alpha")):
        assert voices.resolve(ref)[0].id == voice_id
    assert store.lists == 0
    with pytest.raises(VoiceNotFound) as info:
        voices.resolve("nobody-at-all")
    assert store.lists == 1 and "jf_alpha" in info.value.hint      # the one listing also names the voices
    assert voices.resolve("alloy+echo")[0].id == "jf_alpha(0.5)+jm_kumo(0.5)"   # a blend: not a stored name,
    assert store.lists == 2                                                      # its terms are aliases
