"""The fit's held-out check: a blend that only suits the search's probe sentence loses to a stock voice that
sounds closer on a sentence the search never used (a made-up speaker space, so the outcome is known)."""
import numpy as np
import pytest

from backends import kokoro_fit
from backends.kokoro_voices import STYLE_DIM


class SpeakerSpace:
    """Stock voice "a" is style 0, "b" style 1; a blend's style is its share of "b". The clip's speaker is [1, 0].
    On the probe sentence the speaker drifts away from the clip as the style moves from 0.5; on the held-out
    sentence it drifts as the style moves from 0, so the probe favours a half-half blend and the check favours "a"."""
    class capabilities:
        sample_rate = 24_000

    def phonemize(self, text):
        return "probe" if text == kokoro_fit.PROBE_TEXT else "check"

    def infer(self, phonemes, style):
        share = float(np.mean(style))
        return np.array([1.0, abs(share - 0.5) if phonemes == "probe" else share])


@pytest.fixture
def space(monkeypatch):
    monkeypatch.setattr(kokoro_fit, "_speaker_encoder", lambda: lambda audio, rate: np.asarray(audio, float))
    stock = {"a": np.zeros((4, 1, STYLE_DIM)), "b": np.ones((4, 1, STYLE_DIM))}
    return SpeakerSpace(), stock


def test_a_blend_that_only_suits_the_probe_loses_to_the_stock_voice_on_the_held_out_sentence(space):
    backend, stock = space
    result = kokoro_fit.fit_style(backend, np.array([1.0, 0.0]), 24_000, stock, budget=30)
    assert result.weights == {"a": 1.0}
    assert result.checked["a"] == pytest.approx(1.0) and result.checked["blend"] < 0.99
    assert result.similarity == pytest.approx(1.0)
    assert np.allclose(result.style, 0.0) and result.evaluations == 30 + len(result.checked)


def test_the_blend_wins_when_it_is_closer_on_the_held_out_sentence_too(space, monkeypatch):
    backend, stock = space
    monkeypatch.setattr(SpeakerSpace, "infer", lambda self, phonemes, style: np.array([1.0, abs(np.mean(style) - 0.5)]))
    result = kokoro_fit.fit_style(backend, np.array([1.0, 0.0]), 24_000, stock, budget=30)
    assert set(result.weights) == {"a", "b"} and abs(result.weights["b"] - 0.5) < 0.2
    assert result.checked["blend"] > max(result.checked["a"], result.checked["b"])
    assert result.similarity == result.checked["blend"]


def test_a_blend_only_as_close_as_a_stock_voice_gives_way_to_it():
    """Within the check's noise (BLEND_MARGIN) the stock voice is the answer: a voice users already know."""
    stock = [(0.70, np.array([1.0, 0.0])), (0.60, np.array([0.0, 1.0]))]
    scores = {(1.0, 0.0): 0.70, (0.0, 1.0): 0.60, (0.6, 0.4): 0.70 + kokoro_fit.BLEND_MARGIN / 2}
    won, weights, checked = kokoro_fit.held_out_choice(np.array([0.6, 0.4]), stock, ["a", "b"],
                                                       lambda w: scores[tuple(np.round(w, 1))])
    assert won == "a" and np.array_equal(weights, [1.0, 0.0]) and checked["blend"] > checked["a"]
    scores[(0.6, 0.4)] = 0.70 + kokoro_fit.BLEND_MARGIN * 2
    assert kokoro_fit.held_out_choice(np.array([0.6, 0.4]), stock, ["a", "b"],
                                      lambda w: scores[tuple(np.round(w, 1))])[0] == "blend"
