"""The official Kokoro voice pack (voices-v1.0.bin: an npz of (510, 1, 256) tables) as stock voices."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from common.errors import BackendUnavailable, InvalidInput

from .base import Embedding, StockVoice

PACK_FILE = "voices-v1.0.bin"
ROWS, STYLE_DIM = 510, 256          # a voice table: one style vector per input length (tokens)
# Kokoro's voice names start with a language letter and a gender letter (af_heart: American English, female).
LANGUAGES = {"a": ("en-us", "American English"), "b": ("en-gb", "British English"), "e": ("es", "Spanish"),
             "f": ("fr", "French"), "h": ("hi", "Hindi"), "i": ("it", "Italian"), "j": ("ja", "Japanese"),
             "p": ("pt-br", "Brazilian Portuguese"), "z": ("zh", "Mandarin Chinese")}
ALIASES = {"en-us": "en"}            # a voice's language code -> the G2P language (kokoro_g2p.LANGUAGES) it needs
GENDERS = {"f": "female", "m": "male"}
PREFERRED_DEFAULT = "af_heart"


def read_pack(path: str | Path) -> dict[str, np.ndarray]:
    """Every table of the pack, as float32 (510, 1, 256); pickled entries are refused, never loaded."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as pack:
            tables = {name: pack[name] for name in pack.files}
    except ValueError as exc:          # numpy: "Object arrays cannot be loaded when allow_pickle=False"
        raise BackendUnavailable(f"the voice pack {path.name} holds pickled data; it is refused",
                                 hint="use the official voices-v1.0.bin (plain float32 arrays)") from exc
    except (OSError, zipfile.BadZipFile) as exc:
        raise BackendUnavailable(f"cannot read the voice pack {path}: {exc}") from exc
    out = {}
    for name, table in tables.items():
        if table.dtype.kind != "f" or table.size % STYLE_DIM or not table.size:
            raise BackendUnavailable(f"voice {name!r} in {path.name} is not a table of {STYLE_DIM}-d styles "
                                     f"({table.dtype}, shape {table.shape})")
        out[name] = table.astype(np.float32).reshape(-1, 1, STYLE_DIM)
    if not out:
        raise BackendUnavailable(f"the voice pack {path} holds no voices")
    return out


def language_of(name: str) -> tuple[str, str]:
    """(code, English name) of a voice's language, from the first letter of its name."""
    return LANGUAGES.get(name[:1], (name[:1] or "?", f"unknown language {name[:1]!r}"))


def stock_voices(tables: dict[str, np.ndarray]) -> list[StockVoice]:
    voices = []
    for name, table in sorted(tables.items()):
        code, language = language_of(name)
        voices.append(StockVoice(
            id=name, name=name, language=code, gender=GENDERS.get(name[1:2]),
            embedding={"style": table, "language": np.frombuffer(code.encode(), np.uint8).copy()},
            description=f"Kokoro-82M v1.0 official voice ({language})", tags=("stock", "kokoro", code)))
    return voices


def default_voice(tables: dict[str, np.ndarray]) -> str:
    if PREFERRED_DEFAULT in tables:
        return PREFERRED_DEFAULT
    english = sorted(n for n in tables if language_of(n)[0] in ("en-us", "en-gb"))
    return (english or sorted(tables))[0]


def spoken_language(voice: Embedding) -> str:
    """The G2P language of a voice when the job names none: English unless the voice's marker says otherwise."""
    marker = voice.get("language")
    if marker is None:
        return "en"
    code = bytes(np.asarray(marker, np.uint8)).decode("ascii", "replace")
    code = ALIASES.get(code, code)
    if code not in {ALIASES.get(c, c) for c, _ in LANGUAGES.values()}:
        raise InvalidInput(f"this voice speaks an unknown language ({code!r})",
                           hint="give the job a language, or pick a voice named after a Kokoro language (af_heart, "
                                "ef_dora, jf_alpha, ...)")
    return code
