"""Captions for a stitched document: SubRip or WebVTT, one cue per sentence (or per word).

The client's own copy of the worker's common/captions.py (the client installs alone); tests check they agree."""
from __future__ import annotations


def stamp(seconds: float, sep: str) -> str:
    ms = int(round(seconds * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}{sep}{ms % 1000:03d}"


def captions(sentences: list[dict], kind: str) -> str:
    """`sentences` hold text (or word, for word timings), start_s and end_s; `kind` is "srt" or "vtt"."""
    sep = "," if kind == "srt" else "."
    cues = [f"{stamp(s['start_s'], sep)} --> {stamp(s['end_s'], sep)}\n{s.get('text') or s['word']}"
            for s in sentences]
    if kind == "srt":
        return "\n\n".join(f"{i}\n{cue}" for i, cue in enumerate(cues, 1)) + "\n"
    return "WEBVTT\n\n" + "\n\n".join(cues) + "\n"
