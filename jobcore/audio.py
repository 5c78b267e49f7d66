"""Audio in memory: resampling (soxr), whole-file encoding (soundfile; AAC through PyAV), decoding clips."""
from __future__ import annotations

import io
import struct

import numpy as np
import soundfile as sf
import soxr

from common.errors import AudioInvalid, UnsupportedFormat
from common.formats import FORMATS, MP3_RATES, SOUNDFILE

_ENCODERS = SOUNDFILE   # format -> (soundfile format, subtype), from common.formats; aac goes through PyAV
SAMPLE_RATES = MP3_RATES


def check_format(fmt: str, sample_rate: int) -> None:
    """Raise UnsupportedFormat for a format or a (format, rate) pair the encoder cannot write."""
    if fmt not in FORMATS:
        raise UnsupportedFormat(f"format {fmt!r} is not supported", hint=f"use one of: {', '.join(FORMATS)}")
    rates = FORMATS[fmt].sample_rates
    if rates is not None and sample_rate not in rates:
        raise UnsupportedFormat(f"{fmt} cannot be written at {sample_rate} Hz",
                                hint=f"{fmt} takes sample_rate in {', '.join(map(str, rates))}")


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if from_rate == to_rate:
        return audio
    return soxr.resample(audio, from_rate, to_rate, quality="HQ").astype(np.float32, copy=False)


def clipped(audio: np.ndarray) -> np.ndarray:
    return np.clip(np.nan_to_num(audio, nan=0.0, posinf=0.0, neginf=0.0), -1.0, 1.0).astype(np.float32, copy=False)


def pcm16(audio: np.ndarray) -> bytes:
    return (clipped(audio) * 32767.0).astype("<i2").tobytes()


def time_stretch(audio: np.ndarray, sample_rate: int, factor: float) -> np.ndarray:
    """Speed mono audio up (`factor` > 1) or down, keeping its pitch (Signalsmith Stretch, imported here only)."""
    if factor == 1.0 or audio.size == 0:
        return audio
    import python_stretch

    stretch = python_stretch.Signalsmith.Stretch(0)      # seeded: the same input stretches the same way
    stretch.preset(1, sample_rate)
    stretch.timeFactor = factor
    return np.asarray(stretch.process(audio[None, :].astype(np.float32)), np.float32)[0]


def encode(audio: np.ndarray, sample_rate: int, fmt: str) -> bytes:
    """Mono float32 audio -> bytes of the requested format, entirely in memory."""
    check_format(fmt, sample_rate)
    if fmt == "pcm":
        return pcm16(audio)
    if fmt == "aac":                        # PyAV, imported on first use
        from .pyav_codec import CodecStream

        encoder = CodecStream(fmt, sample_rate)
        return encoder.feed(clipped(audio)) + encoder.finish()
    sf_format, subtype = _ENCODERS[fmt]
    buf = io.BytesIO()
    sf.write(buf, clipped(audio), sample_rate, format=sf_format, subtype=subtype)
    return buf.getvalue()


def wav_stream_header(sample_rate: int) -> bytes:
    """A 16-bit mono WAV header for a stream of unknown length (sizes 0xFFFFFFFF, as ffmpeg and OpenAI write)."""
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVEfmt " +
            struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16) +
            b"data" + struct.pack("<I", 0xFFFFFFFF))


def decode(data: bytes, max_seconds: float | None = None, max_channels: int = 16,
           max_rate: int = 192_000, keep_seconds: float | None = None) -> tuple[np.ndarray, int]:
    """Any soundfile-readable clip (wav, flac, ogg, mp3) -> mono float32 and its sample rate.

    Clips longer than `max_seconds` (by header, or while reading) are refused; reading goes block by
    block and downmixes as it goes into one array, so memory stays bounded by the mono length whatever the
    header says. `keep_seconds`: decode only the clip's first that many seconds (the rest is never read).
    """
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            rate, channels = f.samplerate, f.channels
            if not 4000 <= rate <= max_rate or not 1 <= channels <= max_channels:
                raise AudioInvalid(f"unsupported audio: {rate} Hz, {channels} channels",
                                   hint=f"send 8-{max_rate // 1000} kHz audio with at most {max_channels} channels")
            limit = None if max_seconds is None else int(max_seconds * rate)
            if limit is not None and f.frames > limit and f.frames < 2**62:
                raise AudioInvalid(f"the audio is longer than {max_seconds:.0f} s", hint="send a shorter clip")
            keep = None if keep_seconds is None else int(keep_seconds * rate)
            bounds = [x for x in (keep, limit) if x is not None]   # the header's length is trusted only below them
            if 0 <= f.frames < 2**62:
                bounds.append(f.frames if bounds else min(f.frames, 2**22))
            mono = np.empty(min(bounds) if bounds else 65_536, np.float32)
            total = 0
            for block in f.blocks(blocksize=65_536, dtype="float32", always_2d=True):
                if keep is not None and total + len(block) > keep:
                    block = block[:keep - total]
                if limit is not None and total + len(block) > limit:
                    raise AudioInvalid(f"the audio is longer than {max_seconds:.0f} s", hint="send a shorter clip")
                if total + len(block) > len(mono):     # the header understated the length: grow
                    mono = np.resize(mono, max(total + len(block), 2 * len(mono)))
                np.mean(block, axis=1, out=mono[total:total + len(block)])
                total += len(block)
                if keep is not None and total >= keep:
                    break
    except AudioInvalid:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, MemoryError) as exc:
        raise AudioInvalid("the audio could not be decoded", hint="send wav, flac, ogg or mp3") from exc
    mono = mono[:total]
    if mono.size == 0 or not np.isfinite(mono).all():
        raise AudioInvalid("the audio is empty or holds non-finite samples")
    return mono, rate


def trim_silence(audio: np.ndarray, sample_rate: int, threshold: float = 0.005, pad_s: float = 0.02) -> np.ndarray:
    """Cut leading and trailing near-silence, keeping a short pad."""
    start, end = loud_span(audio, sample_rate, threshold, pad_s)
    return audio[start:end]


def loud_span(audio: np.ndarray, sample_rate: int, threshold: float = 0.005, pad_s: float = 0.02) -> tuple[int, int]:
    """The [start, end) samples trim_silence keeps (0, 0 for silence). Works on one boolean mask (no index
    array, no absolute-value copy): a minute of 96 kHz audio costs a few MB here."""
    loud = audio > threshold
    loud |= audio < -threshold
    if not loud.any():
        return 0, 0
    first, last = int(loud.argmax()), len(loud) - 1 - int(loud[::-1].argmax())
    pad = int(pad_s * sample_rate)
    return max(0, first - pad), min(len(audio), last + pad + 1)
