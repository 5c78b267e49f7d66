"""Fit a Kokoro voice to a reference clip: a black-box search over stock-voice blends scored by a speaker encoder.

This is voice *matching*, not cloning: the result is a mix of Kokoro's stock styles that a speaker
encoder (resemblyzer's, run in numpy by speaker_encoder.py, no torch) finds closest to the clip. The search
scores candidates on one probe sentence, and forty tries on one sentence can find a blend that suits only that
sentence; so the blend it found and the search's best stock voices are scored again on held-out speech
(CHECK_TEXT), and the blend is returned only if it beats the best of those stock voices there by BLEND_MARGIN
(else that stock voice is). The similarity reported is the held-out one: a true same-speaker match scores about
0.9, different speakers 0.4-0.75.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .kokoro_voices import STYLE_DIM

log = logging.getLogger(__name__)

PROBE_TEXT = "The quick brown fox jumps over the lazy dog, and then it runs back home."
# scored only for the finalists, after the search: speech the search never heard, two sentences long, since one
# sentence's speaker similarity moves by ±0.03, as much as the stock voices differ from each other
CHECK_TEXT = ("She keeps her bicycle by the garden gate, and rides to the market when the weather is fine. "
              "Our neighbours painted their fence bright yellow, which made the whole street look cheerful.")
FINALIST_STOCK_VOICES = 4      # the search's best stock voices, checked beside the blend it found
# a blend is kept only if it sounds clearly closer than the best stock voice on the check, beyond the check's own
# noise (two sentences: about ±0.02); else the stock voice is the answer, a voice users already know
BLEND_MARGIN = 0.02


@dataclass(frozen=True)
class FitResult:
    style: np.ndarray            # (510, 1, 256) table
    similarity: float            # cosine of speaker embeddings, chosen voice saying CHECK_TEXT vs the clip
    weights: dict[str, float]    # the stock-voice mix chosen ({name: 1.0} when a stock voice won the check)
    evaluations: int             # syntheses scored: the search's and the check's
    checked: dict[str, float]    # each finalist's similarity on CHECK_TEXT ("blend" is the search's own)


def _speaker_encoder():
    """resemblyzer's speaker encoder run in numpy (speaker_encoder.py): no torch."""
    from .speaker_encoder import SpeakerEncoder

    return SpeakerEncoder.load().embed


def fit_style(backend, reference: np.ndarray, rate: int, stock: dict[str, np.ndarray], budget: int = 40,
              seed: int = 0) -> FitResult:
    """Search blend weights of the `stock` tables whose speech sounds most like `reference`."""
    embed = _speaker_encoder()
    target = embed(reference, rate)
    names = sorted(stock)
    tables = np.stack([np.asarray(stock[n], np.float32).reshape(-1, STYLE_DIM) for n in names])
    probe, check = backend.phonemize(PROBE_TEXT), backend.phonemize(CHECK_TEXT)
    rng = np.random.default_rng(seed)

    def score(weights: np.ndarray, phonemes: str = probe) -> float:
        style = np.tensordot(weights, tables, axes=1)
        audio = backend.infer(phonemes, style)
        vector = embed(audio, backend.capabilities.sample_rate)
        return float(np.dot(vector, target) / (np.linalg.norm(vector) * np.linalg.norm(target)))

    candidates = [np.eye(len(names))[i] for i in range(len(names))]      # every stock voice first
    scored = [(score(w), w) for w in candidates[:budget]]
    best_score, best = max(scored, key=lambda s: s[0])
    sigma = 1.0
    for step in range(len(scored), budget):
        logits = np.log(np.maximum(best, 1e-3)) + rng.normal(0.0, sigma, len(names))
        weights = np.exp(logits) / np.exp(logits).sum()
        value = score(weights)
        if value > best_score:
            best_score, best = value, weights
        else:
            sigma = max(0.15, sigma * 0.92)
        log.debug("fit step %d: %.3f (best %.3f)", step, value, best_score)
    won, chosen, checked = held_out_choice(best, scored[:len(names)], names, lambda w: score(w, check))
    style = np.tensordot(chosen, tables, axes=1).reshape(-1, 1, STYLE_DIM).astype(np.float32)
    weights = {n: round(float(w), 4) for n, w in zip(names, chosen) if w >= 1e-3}
    log.info("voice fit: search %.3f on its probe; held out: %s", best_score,
             ", ".join(f"{k} {v:.3f}" for k, v in checked.items()))
    return FitResult(style, checked[won], weights, budget + len(checked), checked)


def held_out_choice(blend: np.ndarray, stock_scores: list[tuple[float, np.ndarray]], names: list[str],
                    score_check) -> tuple[str, np.ndarray, dict[str, float]]:
    """The search's blend against its best stock voices (by their search scores), each scored on the held-out
    speech by `score_check`; the blend wins only by BLEND_MARGIN. Returns the winner's name and weights, and every
    finalist's score ("blend" unless the blend is one of the stock voices)."""
    finalists = {names[int(np.argmax(w))]: w for _, w in sorted(stock_scores, key=lambda s: -s[0])[:FINALIST_STOCK_VOICES]}
    if not any(np.allclose(blend, w) for w in finalists.values()):
        finalists["blend"] = blend
    checked = {name: round(score_check(weights), 4) for name, weights in finalists.items()}
    stock = max((name for name in checked if name != "blend"), key=checked.get)
    won = "blend" if checked.get("blend", -1.0) > checked[stock] + BLEND_MARGIN else stock
    return won, finalists[won], checked
