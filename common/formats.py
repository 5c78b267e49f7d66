"""The output formats, defined once: name, file extension, content type, and whether pieces concatenate."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputFormat:
    name: str
    extension: str                 # file name extension, without the dot
    content_type: str
    #: a streamed answer's chunks join into one playable file as they arrive (flac's header is written last)
    concatenates: bool
    #: sample rates the encoder can write; None = any
    sample_rates: tuple[int, ...] | None = None


MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)

FORMATS: dict[str, OutputFormat] = {f.name: f for f in (
    OutputFormat("mp3", "mp3", "audio/mpeg", True, MP3_RATES),
    OutputFormat("opus", "ogg", "audio/ogg; codecs=opus", True, OPUS_RATES),
    OutputFormat("aac", "aac", "audio/aac", True, AAC_RATES),          # AAC-LC in ADTS frames
    OutputFormat("flac", "flac", "audio/flac", False),
    OutputFormat("wav", "wav", "audio/wav", True),
    OutputFormat("pcm", "pcm", "audio/L16", True),          # s16le, mono, no header
)}
DEFAULT_FORMAT = "mp3"
#: format -> (soundfile format, subtype): how the worker (and the client, stitching documents) writes each one
SOUNDFILE = {"mp3": ("MP3", "MPEG_LAYER_III"), "opus": ("OGG", "OPUS"), "flac": ("FLAC", "PCM_16"),
             "wav": ("WAV", "PCM_16"), "pcm": ("RAW", "PCM_16")}


def content_type(fmt: str, sample_rate: int) -> str:
    """The HTTP content type of `fmt` at `sample_rate` (raw pcm carries its rate and channel count)."""
    return f"audio/L16; rate={sample_rate}; channels=1" if fmt == "pcm" else FORMATS[fmt].content_type


def format_for_path(path: str) -> str | None:
    """The format a file name asks for by its extension (".opus" too), or None."""
    suffix = path.rsplit(".", 1)[-1].lower() if "." in path else ""
    if suffix == "opus":
        return "opus"
    return next((f.name for f in FORMATS.values() if f.extension == suffix), None)
