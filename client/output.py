"""The output file: its format from the name (refusing names the worker cannot write), and wav sizes fixed."""
from __future__ import annotations

import struct
from pathlib import Path

from .api import TTSError
from .formats import DEFAULT_FORMAT, FORMATS, format_for_path

EXTENSIONS = ".mp3 .ogg/.opus .aac .flac .wav .pcm"


def output_format(out: Path, explicit: str | None = None) -> str:
    """The format `out`'s extension names (or `explicit`; mp3 for a name without an extension). An extension the
    worker cannot write (.m4b, .txt) or one that contradicts `explicit` is refused rather than written wrongly."""
    named = format_for_path(out.name)
    suffix = out.suffix.lower()
    if explicit is not None:
        explicit = explicit.lower()
        if explicit not in FORMATS:
            raise TTSError(f"format {explicit!r} is not one of {', '.join(FORMATS)}")
        if named is not None and named != explicit:
            raise TTSError(f"--format {explicit} but {out.name} names {named}: drop one of them")
        return explicit
    if named is not None:
        return named
    if suffix:
        raise TTSError(f"{out.name}: the worker cannot write {suffix} files; name the output {EXTENSIONS} "
                       f"(an .m4b or .m4a is made from the .mp3 and its .ffmetadata with ffmpeg), or pass --format")
    return DEFAULT_FORMAT


def fix_wav_sizes(path: Path) -> None:
    """Write the real RIFF and data sizes into a 16-bit wav that was streamed with sizes unknown (0xFFFFFFFF)."""
    size = path.stat().st_size
    with open(path, "r+b") as f:
        head = f.read(44)
        if size < 44 or head[:4] != b"RIFF" or head[36:40] != b"data":
            return
        f.seek(4)
        f.write(struct.pack("<I", size - 8))
        f.seek(40)
        f.write(struct.pack("<I", size - 44))
