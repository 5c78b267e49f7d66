"""Join a document's parts: pcm in order with pauses into one file, timings offset onto it, chapters, captions."""
from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .api import TTSError
from .captions import captions
from .formats import FORMATS
from .split import DocPart


@dataclass(frozen=True)
class Pauses:
    """Silence between parts, in seconds. `sentence` is the worker's own SENTENCE_PAUSE_S (0.2 s) and falls
    where a long paragraph was cut; `paragraph` is also the gap the worker puts between the paragraphs of one
    job (its gap_s); `chapter` comes before each heading."""

    sentence: float = 0.2
    paragraph: float = 0.6
    chapter: float = 1.5

    def samples(self, kind: str, rate: int) -> int:
        return 0 if kind == "none" else int(round(getattr(self, kind) * rate))


def layout(parts: list[DocPart], records: list[dict], rate: int, pauses: Pauses) -> list[tuple[int, int]]:
    """(silence before, offset of the part's first sample) for each part, in samples on the joined audio."""
    out, position = [], 0
    for part, record in zip(parts, records):
        silence = pauses.samples(part.pause, rate)
        position += silence
        out.append((silence, position))
        position += int(record["samples"])
    return out


def chunks(parts: list[DocPart], records: list[dict], parts_dir: Path, rate: int, pauses: Pauses,
           block: int = 1 << 20, ready: Callable[[int], None] | None = None) -> Iterator[bytes]:
    """The joined s16le audio, a bounded block at a time (a book never sits in memory whole); `ready(i)`
    is called before part i is read (to wait until it is there)."""
    for part, record in zip(parts, records):
        if ready is not None:
            ready(part.index)
        silence = pauses.samples(part.pause, rate)
        if silence:
            yield bytes(2 * silence)
        with open(parts_dir / record["file"], "rb") as f:
            while data := f.read(block):
                yield data


def partial(path: Path) -> Path:
    return path.with_name(path.name + ".tmp")


def write_audio(path: Path, fmt: str, rate: int, data: Iterator[bytes]) -> None:
    """Encode s16le mono blocks into `path` (through `partial(path)`, renamed when complete)."""
    tmp = partial(path)
    if fmt == "pcm":
        with open(tmp, "wb") as f:
            for block in data:
                f.write(block)
    else:
        import soundfile as sf  # the documents extra: `pip install "./client[documents]"`

        mode = FORMATS[fmt].soundfile
        if mode is None:
            raise TTSError(f"a document cannot be stitched into {fmt}")
        sf_format, subtype = mode
        with sf.SoundFile(tmp, "w", samplerate=rate, channels=1, format=sf_format, subtype=subtype) as f:
            for block in data:
                f.buffer_write(block, dtype="int16")
    os.replace(tmp, path)


def timeline(parts: list[DocPart], records: list[dict], split_chapters: list[dict], rate: int,
             pauses: Pauses) -> dict:
    """Sentences (and words, when the worker gives them) of every part, offset onto the joined audio;
    chapters with their start and end."""
    sentences, words, position = [], [], 0
    for part, record, (_, offset) in zip(parts, records, layout(parts, records, rate, pauses)):
        shift = offset / rate
        for s in record.get("sentences") or []:
            sentences.append({"text": s["text"], "start_s": round(s["start_s"] + shift, 3),
                              "end_s": round(s["end_s"] + shift, 3), "part": part.index,
                              "paragraph": part.paragraphs[s.get("part", 0)], "chapter": part.chapter})
        for w in record.get("words") or []:
            words.append({**w, "start_s": round(w["start_s"] + shift, 3), "end_s": round(w["end_s"] + shift, 3),
                          "part": part.index})
        position = offset + int(record["samples"])
    duration = round(position / rate, 3)
    starts = [silence_offset[1] - silence_offset[0] for silence_offset in layout(parts, records, rate, pauses)]
    chapters = []   # contiguous: a chapter runs from the pause before its heading to the next one's
    for number, chapter in enumerate(split_chapters):
        end = starts[split_chapters[number + 1]["part"]] / rate if number + 1 < len(split_chapters) else duration
        chapters.append({"title": chapter["title"], "start_s": round(starts[chapter["part"]] / rate, 3),
                         "end_s": round(end, 3)})
    result = {"duration_s": duration, "sample_rate": rate, "chapters": chapters, "sentences": sentences}
    if words:
        result["words"] = words
    return result


def ffmetadata(chapters: list[dict], title: str | None = None) -> str:
    """Chapters as an FFmpeg metadata file: `ffmpeg -i book.mp3 -i book.ffmetadata -map_metadata 1
    -map_chapters 1 -c copy book.m4b` (or .mka / .mp3 with ID3 chapters) puts them into the file."""
    def escape(text: str) -> str:
        return "".join("\\" + ch if ch in "=;#\\\n" else ch for ch in text)

    lines = [";FFMETADATA1"] + ([f"title={escape(title)}"] if title else [])
    for chapter in chapters:
        lines += ["", "[CHAPTER]", "TIMEBASE=1/1000", f"START={round(chapter['start_s'] * 1000)}",
                  f"END={round(chapter['end_s'] * 1000)}", f"title={escape(chapter['title'])}"]
    return "\n".join(lines) + "\n"


def write_side_files(out: Path, timings: dict, caption_kind: str | None) -> dict[str, Path]:
    """`<stem>.timings.json`, `<stem>.ffmetadata` (when there are chapters), `<stem>.srt|vtt` (when asked)."""
    files = {"timings": out.with_suffix(".timings.json")}
    files["timings"].write_text(json.dumps(timings, indent=1, ensure_ascii=False))
    if timings["chapters"]:
        files["chapters"] = out.with_suffix(".ffmetadata")
        files["chapters"].write_text(ffmetadata(timings["chapters"], out.stem))
    if caption_kind:
        files["captions"] = out.with_suffix(f".{caption_kind}")
        files["captions"].write_text(captions(timings["sentences"], caption_kind))
    return files
