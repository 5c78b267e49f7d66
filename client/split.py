"""Split a long document into jobs: paragraphs and sentences, chapters from headings, packed up to a size."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

MAX_SEGMENTS = 100          # paragraphs per job (the job schema takes up to 200 segments)
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$")
_NAMED_HEADING = re.compile(   # "Chapter 3", "PART IV: The Sea", "Prologue" (no sentence inside)
    r"^\s*(?:(?:chapter|part|book)\s+(?:\d+|[ivxlc]+|(?:twenty|thirty|forty|fifty)[\w-]*|one|two|three|four|five"
    r"|six|seven|eight|nine|ten|eleven|twelve|\w+teen)|prologue|epilogue|preface|introduction|afterword)"
    r"\b[^.!?\n]{0,60}$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_BULLET = re.compile(r"^\s*(?:[-*+>]|\d+[.)])\s+")


@dataclass(frozen=True)
class Block:
    """One paragraph of the document (or a heading, which opens a chapter)."""

    text: str
    paragraph: int
    heading: bool = False


@dataclass
class DocPart:
    """One job: paragraphs (or pieces of one long paragraph) of one chapter, and the pause before it."""

    index: int
    segments: list[str]
    paragraphs: list[int]       # the document paragraph of each segment
    chapter: int                # index into the chapters list; -1 before the first heading
    pause: str = "none"         # before this part: none (the first), sentence, paragraph or chapter

    @property
    def chars(self) -> int:
        return sum(len(s) for s in self.segments)

    @property
    def text_hash(self) -> str:
        return hashlib.sha256("\x1e".join(self.segments).encode()).hexdigest()[:16]


@dataclass
class Split:
    parts: list[DocPart] = field(default_factory=list)
    chapters: list[dict] = field(default_factory=list)   # {"title", "part"}: the part its heading opens


def blocks(document: str) -> list[Block]:
    """Paragraphs separated by blank lines (hard-wrapped lines joined); headings on lines of their own.

    A heading is a markdown `#` line, or a short paragraph of one line starting "Chapter", "Part", "Prologue"...
    Paragraphs with nothing to speak (scene breaks such as "* * *") are dropped.
    """
    out: list[Block] = []
    for raw in re.split(r"\n\s*\n", document.replace("\r\n", "\n").replace("\r", "\n")):
        lines, current = raw.split("\n"), []

        def flush(current: list[str] = current) -> None:   # this paragraph's lines
            text = " ".join(" ".join(current).split())
            if any(ch.isalnum() for ch in text):
                out.append(Block(text, len(out)))
            current.clear()

        for line in lines:
            heading = _MD_HEADING.match(line)
            if heading:
                flush()
                if any(ch.isalnum() for ch in heading.group(1)):
                    out.append(Block(" ".join(heading.group(1).split()), len(out), heading=True))
            else:
                current.append(_BULLET.sub("", line))
        if len(lines) == 1 and current and _NAMED_HEADING.match(current[0]) and len(current[0].strip()) <= 80:
            text = " ".join(current[0].split())
            current.clear()
            out.append(Block(text, len(out), heading=True))
        flush()
    return out


def sentences(paragraph: str) -> list[str]:
    """Sentences of one paragraph (a light splitter: the worker splits and normalizes each part again)."""
    return [s.strip() for s in _SENTENCE_END.split(paragraph) if s.strip()]


def pieces(paragraph: str, max_chars: int) -> list[str]:
    """A paragraph longer than `max_chars` as whole sentences packed up to `max_chars` (a longer sentence
    is cut at spaces)."""
    out, current = [], ""
    for sentence in sentences(paragraph):
        while len(sentence) > max_chars:
            cut = sentence.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            if current:
                out.append(current)
                current = ""
            out.append(sentence[:cut].strip())
            sentence = sentence[cut:].strip()
        if current and len(current) + 1 + len(sentence) > max_chars:
            out.append(current)
            current = ""
        current = f"{current} {sentence}".strip()
    if current:
        out.append(current)
    return out


def split_document(document: str, part_chars: int = 1000) -> Split:
    """Jobs of at most `part_chars` characters: whole paragraphs packed together, long paragraphs cut at
    sentences. A heading always starts a new part (so the chapter pause falls between jobs)."""
    split, current = Split(), None
    chapter = -1

    def start(pause: str) -> DocPart:
        part = DocPart(len(split.parts), [], [], chapter, "none" if not split.parts else pause)
        split.parts.append(part)
        return part

    for block in blocks(document):
        if block.heading:
            chapter += 1
            current = start("chapter")
            split.chapters.append({"title": block.text, "part": current.index})
            current.segments.append(block.text)
            current.paragraphs.append(block.paragraph)
            continue
        if len(block.text) > part_chars:
            for number, piece in enumerate(pieces(block.text, part_chars)):
                part = start("paragraph" if number == 0 else "sentence")
                part.segments.append(piece)
                part.paragraphs.append(block.paragraph)
            current = None      # the next paragraph starts a part of its own
            continue
        if current is None or current.chars + len(block.text) > part_chars or len(current.segments) >= MAX_SEGMENTS:
            current = start("paragraph")
        current.segments.append(block.text)
        current.paragraphs.append(block.paragraph)
    return split
