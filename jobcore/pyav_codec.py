"""mp3, Ogg Opus and ADTS AAC through PyAV (FFmpeg, imported here only), one encoder per answer fed piece by piece."""
from __future__ import annotations

import io
from typing import cast

import numpy as np

QUIET = 1.0 / 65_536          # quieter than half a 16-bit step: silence, whatever the resampler left


def decoder_lead(fmt: str, sample_rate: int) -> int:
    """Samples a decoder plays beyond the audio of a stream whose header cannot say how many to skip: the
    lead-in (LAME's 576-sample encoder delay + the layer III decoder's 529; AAC's 1024 priming samples) plus
    half a frame, the mean of the padding that completes the last frame (so the length is off by at most
    half a frame either way: 12 ms at 24 kHz)."""
    if fmt == "mp3":
        return 576 + 529 + (1152 if sample_rate >= 32_000 else 576) // 2
    return 1024 + 512 if fmt == "aac" else 0


class _Sink(io.RawIOBase):
    """A write-only file for FFmpeg's muxer whose bytes are taken away as they come (`take`)."""

    def __init__(self):
        super().__init__()
        self._data, self._pos = bytearray(), 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:           # muxers then skip what needs rewriting (mp3's Xing frame)
        return False

    def write(self, data) -> int:
        self._data += data
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def take(self) -> bytes:
        data = bytes(self._data)
        self._data.clear()
        return data


class CodecStream:
    """mp3 (LAME, CBR), Ogg Opus or AAC-LC in ADTS through PyAV (imported here only), fed piece by piece.

    Ogg Opus carries its own start and end trimming (pre-skip, last granule), so it decodes to the exact
    length. mp3 and ADTS cannot: their length is unknown when the first bytes leave, so decoders play the
    encoder's lead-in first and the last frame's padding (decoder_lead). That much silence is taken out of the
    first pause long enough to hold it (between the first two sentences), so the stream decodes to the
    answer's length (within half a frame) and every sentence after that pause starts where the result's
    timings say. A streamed mp3 has no Xing/Info frame:
    its frame count is unknown when it would be sent, and FFmpeg plays an Info frame without one as a silent
    frame (the whole-file encode, audio.encode, writes a complete one)."""

    CODECS = {"mp3": ("mp3", "libmp3lame"), "opus": ("ogg", "libopus"), "aac": ("adts", "aac")}

    def __init__(self, fmt: str, sample_rate: int):
        import av

        container, codec = self.CODECS[fmt]
        options = {"mp3": {"write_xing": "0", "id3v2_version": "0"},
                   "opus": {"page_duration": "20000"}}.get(fmt, {})   # opus: a page per packet, sent at once
        self._av, self.fmt, self.sample_rate = av, fmt, sample_rate
        self._sink = _Sink()
        self._container = av.open(self._sink, "w", format=container, options=options)
        self._stream = cast(av.AudioStream, self._container.add_stream(codec, rate=sample_rate))
        self._stream.layout = "mono"
        self._stream.bit_rate = {"mp3": 128_000 if sample_rate >= 32_000 else 64_000, "aac": 96_000,
                                 "opus": 48_000}[fmt]
        self._owed = decoder_lead(fmt, sample_rate)

    def feed(self, audio: np.ndarray) -> bytes:
        """`audio`: float32 mono in [-1, 1] (audio.clipped)."""
        audio = self._pay_lead(audio)
        if audio.size:
            frame = self._av.AudioFrame.from_ndarray(audio[None, :], format="flt", layout="mono")
            frame.sample_rate = self.sample_rate
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        return self._take()

    def finish(self) -> bytes:
        for packet in self._stream.encode(None):
            self._container.mux(packet)
        self._container.close()
        return self._take()

    def _pay_lead(self, audio: np.ndarray) -> np.ndarray:
        """Drop the decoder's lead-in from the first run of silence long enough to hold it."""
        if self._owed <= 0 or audio.size < self._owed:
            return audio
        quiet = np.concatenate([[0], (np.abs(audio) <= QUIET).astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(quiet))
        for start, end in zip(edges[::2], edges[1::2]):
            if end - start >= self._owed:
                audio = np.concatenate([audio[:start], audio[start + self._owed:]])
                self._owed = 0
                break
        return audio

    def _take(self) -> bytes:
        return self._sink.take()
