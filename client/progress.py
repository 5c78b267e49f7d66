"""A one-line progress bar on the terminal (stderr), redrawn in place; silent when stderr is not a terminal."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class ProgressBar:
    def __init__(self, total_chars: int, parts: int, stream: TextIO | None = None, width: int = 28):
        self.total_chars, self.parts, self.width = max(1, total_chars), parts, width
        self.stream = stream or sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.done_chars = self.done_parts = 0
        self.audio_s = 0.0
        self.reused_chars = 0       # finished by an earlier run: not part of this run's rate
        self.note = ""

    def advance(self, chars: int, audio_s: float, note: str = "", fresh: bool = True) -> None:
        """One part finished (`fresh`: made in this run, so it counts toward the rate)."""
        self.done_chars += chars
        self.done_parts += 1
        self.audio_s += audio_s
        self.note = note
        if not fresh:
            self.reused_chars += chars
        self.draw()

    def draw(self) -> None:
        if not self.enabled:
            return
        share = self.done_chars / self.total_chars
        filled = int(share * self.width)
        elapsed = time.monotonic() - self.started
        made = self.done_chars - self.reused_chars
        eta = (self.total_chars - self.done_chars) * elapsed / made if made else None
        line = (f"\r[{'#' * filled}{'.' * (self.width - filled)}] {share:4.0%} {self.done_parts}/{self.parts} parts"
                f"  audio {clock(self.audio_s)}  elapsed {clock(elapsed)}"
                + (f"  eta {clock(eta)}" if eta is not None else "") + (f"  {self.note}" if self.note else ""))
        self.stream.write(line[:160].ljust(100))
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
