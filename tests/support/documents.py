"""A generated long document (paragraphs, headings, numbers) for the document fan-out tests and bench."""
from __future__ import annotations

import random

WORDS = ("the quick brown fox jumps over a lazy dog while seven bright stars watch quietly from far above "
         "the silent river and one old sailor counts his boats").split()


def document(chars: int = 20_000, seed: int = 7) -> str:
    """Chapters (markdown and "Chapter N" headings) of paragraphs of varied length, some longer than a part."""
    rng, paragraphs, chapter = random.Random(seed), [], 0

    def sentence() -> str:
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 16)))
        return text[0].upper() + text[1:] + rng.choice(".!?.")

    while sum(map(len, paragraphs)) < chars:
        if len(paragraphs) % 9 == 0:
            chapter += 1
            paragraphs.append(f"# Chapter {chapter}" if chapter % 2 else f"Chapter {chapter}")
        paragraphs.append(" ".join(sentence() for _ in range(rng.randint(2, 8 if len(paragraphs) % 6 else 22))))
    return "\n\n".join(paragraphs)[:chars].rsplit(" ", 1)[0] + "."
