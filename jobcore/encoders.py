"""Streamed output encoding: one encoder per answer, fed sentence by sentence, its bytes handed out as made."""
from __future__ import annotations

import numpy as np

from .audio import check_format, clipped, encode, pcm16, wav_stream_header
from .pyav_codec import CodecStream


class StreamEncoder:
    """Encodes one output piece by piece; `feed` and `finish` return the bytes ready to send. Joined, they
    are one stream with one header, whatever the format.

    pcm and wav stream raw samples (wav behind a header of unknown length); mp3, opus and aac keep one
    PyAV (FFmpeg) encoder for the whole answer; flac cannot stream from memory (its header is rewritten at
    the end), so it is encoded whole at `finish`."""

    def __init__(self, fmt: str, sample_rate: int):
        check_format(fmt, sample_rate)
        self.fmt, self.sample_rate = fmt, sample_rate
        self._started, self._held = False, list[np.ndarray]()
        self._codec = CodecStream(fmt, sample_rate) if fmt in CodecStream.CODECS else None

    def feed(self, audio: np.ndarray) -> bytes:
        header = b""
        if not self._started and self.fmt == "wav":
            header = wav_stream_header(self.sample_rate)
        self._started = True
        if self.fmt in ("pcm", "wav"):
            return header + pcm16(audio)
        if self._codec is not None:
            return self._codec.feed(clipped(audio))
        self._held.append(audio)             # flac
        return b""

    def finish(self) -> bytes:
        if self._codec is not None:
            return self._codec.finish()
        if self.fmt == "flac":
            held = np.concatenate(self._held) if self._held else np.zeros(0, np.float32)
            return encode(held, self.sample_rate, "flac")
        return wav_stream_header(self.sample_rate) if self.fmt == "wav" and not self._started else b""
