"""The output formats as the client needs them (file extension, sample rates, how stitching writes each).

The client installs alone (httpx only), so it keeps its own copy of the worker's table (common/formats.py);
tests/client/test_install.py checks that the two agree."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    name: str
    extension: str                              # file name extension, without the dot
    concatenates: bool                          # streamed chunks join into one file as they come (not flac)
    sample_rates: tuple[int, ...] | None = None  # rates the worker can write; None = any
    soundfile: tuple[str, str] | None = None     # (format, subtype) a stitched document is written with


_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("mp3", "mp3", True, _MP3_RATES, ("MP3", "MPEG_LAYER_III")),
    Format("opus", "ogg", True, (8000, 12000, 16000, 24000, 48000), ("OGG", "OPUS")),
    Format("aac", "aac", True, _MP3_RATES),
    Format("flac", "flac", False, None, ("FLAC", "PCM_16")),
    Format("wav", "wav", True, None, ("WAV", "PCM_16")),
    Format("pcm", "pcm", True, None, ("RAW", "PCM_16")),
)}
DEFAULT_FORMAT = "mp3"


def format_for_path(path: str) -> str | None:
    """The format a file name asks for by its extension (".opus" too), or None."""
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if suffix == "opus":
        return "opus"
    return next((f.name for f in FORMATS.values() if f.extension == suffix), None)
