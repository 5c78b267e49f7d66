"""Fit a Kokoro voice to a reference clip: a black-box search over stock-voice blends scored by a speaker encoder.

This is voice *matching*, not cloning: the result is a mix of Kokoro's stock styles that a speaker
encoder (resemblyzer's, run in numpy by speaker_encoder.py, no torch) finds closest to the clip. It reports
the cosine similarity it reached; a true same-speaker match scores about 0.9, different speakers 0.4-0.75.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .kokoro_voices import STYLE_DIM

log = logging.getLogger(__name__)

PROBE_TEXT = "The quick brown fox jumps over the lazy dog, and then it runs back home."


@dataclass(frozen=True)
class FitResult:
    style: np.ndarray            # (510, 1, 256) table
    similarity: float            # cosine of speaker embeddings, fitted voice vs clip
    weights: dict[str, float]    # the stock-voice mix found
    evaluations: int


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
    phonemes = backend.phonemize(PROBE_TEXT)
    rng = np.random.default_rng(seed)

    def score(weights: np.ndarray) -> float:
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
    style = np.tensordot(best, tables, axes=1).reshape(-1, 1, STYLE_DIM).astype(np.float32)
    weights = {n: round(float(w), 4) for n, w in zip(names, best) if w >= 1e-3}
    return FitResult(style, round(best_score, 4), weights, budget)
