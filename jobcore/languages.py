"""Which language a text is spoken in: the job's `language`, else the text's script, else the voice's language."""
from __future__ import annotations

import re

from common.errors import InvalidInput

#: spellings people send -> the codes backends declare (ISO 639-1, plus regional variants such as en-gb, pt-br)
ALIASES = {"en-us": "en", "zh-cn": "zh", "zh-hans": "zh", "cmn": "zh", "jp": "ja", "pt-pt": "pt"}
_CODE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$")

# Scripts that say a language by themselves (kana and Devanagari), or a family of them (Han, Cyrillic, ...).
# Kana and Han count by character (about a syllable each), the alphabets by word.
_SCRIPTS = (
    ("kana", re.compile(r"[\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f]")),
    ("han", re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")),
    ("hi", re.compile(r"[\u0900-\u097f]+")),
    ("ko", re.compile(r"[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]+")),
    ("ru", re.compile(r"[\u0400-\u04ff]+")),
    ("ar", re.compile(r"[\u0600-\u06ff]+")),
    ("el", re.compile(r"[\u0370-\u03ff]+")),
    ("he", re.compile(r"[\u0590-\u05ff]+")),
    ("latin", re.compile(r"[A-Za-z\u00c0-\u024f]+")),
)
#: languages not written in Latin letters: a voice of one of these reading Latin text reads it as English
NON_LATIN = {"ja", "zh", "hi", "ko", "ru", "uk", "bg", "ar", "fa", "el", "he", "th"}


def canonical(code: str) -> str:
    """'pt_BR' -> 'pt-br', 'en-US' -> 'en', 'zh-CN' -> 'zh'."""
    code = code.strip().lower().replace("_", "-")
    return ALIASES.get(code, code)


def match(code: str, languages: tuple[str, ...]) -> str | None:
    """The backend's spelling of `code`: itself, its base language (en-gb on an English-only backend), or the one
    regional variant the backend has (pt -> pt-br on Kokoro, zh -> zh-cn on XTTS); None when it has none."""
    code = canonical(code)
    declared = {canonical(lang): lang for lang in languages}
    if code in declared:
        return declared[code]
    base = code.split("-")[0]
    if base in declared:
        return declared[base]
    variants = [lang for key, lang in declared.items() if key.split("-")[0] == base]
    return variants[0] if len(variants) == 1 else None


def check(code: str, languages: tuple[str, ...], backend: str) -> str:
    """`code` as the backend spells it, or InvalidInput naming what the backend speaks."""
    found = match(code, languages) if _CODE.match(canonical(code)) else None
    if found is None:
        raise InvalidInput(f"the {backend} backend cannot speak {code[:20]!r}",
                           hint=f"language is one of: {', '.join(languages)}")
    return found


def script_language(text: str, voice_language: str | None = None) -> str | None:
    """The language the text's letters say, when they say one: kana -> ja; Han only -> zh (ja for a Japanese
    voice); Devanagari -> hi; Hangul, Cyrillic, Arabic, Greek, Hebrew -> ko, ru, ar, el, he. Mixed text goes by its
    majority, kana and Han counted together (a Japanese sentence with an English brand name is Japanese).
    None for Latin (or no) letters."""
    counts = {name: len(pattern.findall(text)) for name, pattern in _SCRIPTS}
    japanese = counts.pop("kana")
    han = counts.pop("han")
    counts["ja" if japanese else "han"] = japanese + han
    best = max(counts, key=lambda name: counts[name])
    if not counts[best] or best == "latin" or counts[best] < counts["latin"]:
        return None
    if best == "han":
        return "ja" if voice_language and canonical(voice_language) == "ja" else "zh"
    return best


def choose(text: str, languages: tuple[str, ...], backend: str, *, requested: str | None = None,
           voice_language: str | None = None, voice_chosen: bool = True) -> str:
    """The language to speak `text` in, as the backend spells it.

    `requested` (the job's `language`) wins and must be one the backend speaks. Otherwise the script decides
    where it can (InvalidInput when the backend does not speak that language); Latin text goes by the voice's
    language when it is written in Latin letters (a Spanish voice reads Spanish), else English; a backend without
    English takes its first.
    `voice_chosen` False: the voice is the backend's default, not the job's pick, and does not make Han Japanese."""
    if requested:
        return check(requested, languages, backend)
    by_script = script_language(text, voice_language if voice_chosen else None)
    found = match(by_script, languages) if by_script else None
    if found:
        return found
    if by_script:               # its letters say a language this backend does not speak: no guessing in another
        raise InvalidInput(f"this text is written in a script the {backend} backend does not speak "
                           f"(it reads as {by_script!r})",
                           hint=f"the {backend} backend speaks {', '.join(languages)} (info: capabilities.languages)")
    if voice_language and canonical(voice_language).split("-")[0] not in NON_LATIN:
        found = match(voice_language, languages)
        if found:
            return found
    return match("en", languages) or languages[0]
