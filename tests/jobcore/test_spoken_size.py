"""The spoken-size limit counts what is spoken: acronym storms ("XQZV" said letter by letter, ~2.7x the audio per
character of prose) are refused like long text, before any synthesis; ordinary prose and shouting mostly keep their size."""
from __future__ import annotations

import pytest

from common.errors import TextTooLong
from jobcore.pipeline import spoken_size
from jobcore.schema import SynthesizeRequest


def plan(worker, text: str):
    return worker.synthesis.plan(SynthesizeRequest.model_validate({"text": text}))


def test_an_acronym_storm_is_refused_before_synthesis(hibari_worker, monkeypatch):
    monkeypatch.setattr(hibari_worker.backend, "synthesize_many", lambda *a, **k: pytest.fail("synthesized"))
    for storm in ("XQZV " * 3000, "xqzv bcdf " * 1500, "FBI CIA NSA " * 1300):
        assert len(storm) <= hibari_worker.settings.max_text_chars
        with pytest.raises(TextTooLong) as caught:
            plan(hibari_worker, storm)
        assert "acronyms" in caught.value.hint


def test_prose_and_shouting_keep_their_length(hibari_worker):
    prose = "The quick brown fox jumps over the lazy dog, and then it rests. " * 300
    shouting = "WELCOME EVERYONE TO TONIGHT'S MEETING. " * 450
    some = "The FBI and the CIA met the press at the museum on Friday afternoon. " * 250
    for text, most in ((prose, 1.0), (shouting, 1.15), (some, 1.3)):
        assert len(text) < 20_000 and plan(hibari_worker, text).spoken_chars <= most * len(text)
    assert spoken_size("XQZV XQZV") == 9 + 2 * 8
