"""A speaker encoder without torch: resemblyzer's VoiceEncoder (a 3-layer LSTM over 40-band mel frames, 256-d
L2-normalised embeddings) run in numpy, reading the weights its PyPI wheel ships (`pretrained.pt`).

The wheel is installed with `--no-deps` (its torch, librosa and webrtcvad are not needed) and never imported:
the weights file is found by the package's location and read by `read_legacy_torch`, which parses torch's
legacy serialization with an unpickler that builds only tensors, storages and ordered dicts (any other global
is refused), so no code from the file runs. Preprocessing follows resemblyzer's: 16 kHz, volume raised to
-30 dBFS, librosa's mel spectrogram (25 ms Hann windows, 10 ms hop, slaney mel bands, power 2), 1.6 s partial
windows at 1.3 per second averaged; resemblyzer's webrtcvad trimming of silences longer than ~0.2 s is
replaced by cutting frames far below the clip's speech level.
"""
from __future__ import annotations

import importlib.util
import io
import os
import pickle
import struct
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

import numpy as np

from common.errors import BackendUnavailable

RATE = 16_000
N_FFT, HOP, N_MELS = 400, 160, 40          # 25 ms windows, 10 ms hop
PARTIAL_FRAMES = 160                       # 1.6 s per partial utterance
HIDDEN, LAYERS = 256, 3
WEIGHTS_ENV = "SPEAKER_ENCODER_WEIGHTS"
INSTALL_HINT = ("install the speaker encoder's weights: pip install --no-deps resemblyzer==0.1.4 (17 MB, no "
                "torch; `make run`'s environment and the Kokoro image have it), or set SPEAKER_ENCODER_WEIGHTS "
                "to its pretrained.pt")


def weights_path() -> Path | None:
    """SPEAKER_ENCODER_WEIGHTS, else `pretrained.pt` inside the installed resemblyzer package (not imported)."""
    if os.environ.get(WEIGHTS_ENV):
        return Path(os.environ[WEIGHTS_ENV])
    spec = importlib.util.find_spec("resemblyzer")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "pretrained.pt"
    return path if path.is_file() else None


# -- torch's legacy format, read without torch --------------------------------------------------------------
class _Storage:
    def __init__(self, dtype: np.dtype, numel: int):
        self.dtype, self.numel, self.data = dtype, numel, None


class _Tensor:
    def __init__(self, storage: _Storage, offset: int, size: tuple, stride: tuple):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self) -> np.ndarray:
        base = self.storage.data
        item = base.itemsize
        view = np.lib.stride_tricks.as_strided(base[self.offset:], shape=self.size,
                                               strides=tuple(s * item for s in self.stride))
        return np.array(view)


_DTYPES = {"FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
           "LongStorage": np.int64, "IntStorage": np.int32}


def _rebuild_tensor(storage, offset, size, stride, *rest):
    return _Tensor(storage, offset, size, stride)


class _Restricted(pickle.Unpickler):
    """Only what a state dict of tensors needs; anything else in the file is refused."""

    def __init__(self, file, storages: dict):
        super().__init__(file)
        self.storages = storages

    def find_class(self, module: str, name: str):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor
        if module == "torch" and name in _DTYPES:
            return name
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        raise pickle.UnpicklingError(f"refused global {module}.{name} in the speaker encoder's weights")

    def persistent_load(self, saved_id):
        kind, storage_type, key, _location, numel, *_ = saved_id
        if kind != "storage" or storage_type not in _DTYPES:
            raise pickle.UnpicklingError(f"unexpected persistent id {kind!r}")
        return self.storages.setdefault(key, _Storage(np.dtype(_DTYPES[storage_type]), int(numel)))


def read_legacy_torch(data: bytes) -> dict:
    """A `torch.save` file of the legacy (pre-zip) format -> its object, tensors as numpy arrays."""
    f = io.BytesIO(data)
    for _ in range(3):                      # magic number, protocol version, system info
        pickle.Unpickler(f).load()
    storages: dict[str, _Storage] = {}
    result = _Restricted(f, storages).load()
    keys = pickle.Unpickler(f).load()
    for key in keys:
        storage = storages[key]
        (numel,) = struct.unpack("<q", f.read(8))
        raw = f.read(numel * storage.dtype.itemsize)
        if numel != storage.numel or len(raw) != numel * storage.dtype.itemsize:
            raise ValueError("the speaker encoder's weights file is truncated")
        storage.data = np.frombuffer(raw, storage.dtype)

    def convert(value):
        if isinstance(value, _Tensor):
            return value.array()
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        return value

    return convert(result)


# -- the model -------------------------------------------------------------------------------------------
def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    f = np.asarray(f, np.float64)
    mel = f / (200.0 / 3)
    log = f >= 1000.0
    return np.where(log, 15.0 + np.log(np.maximum(f, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, np.float64)
    return np.where(m >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (m - 15.0)), m * (200.0 / 3))


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40): slaney mel scale and area normalisation."""
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / RATE)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(RATE / 2), N_MELS + 2))
    fdiff, ramps = np.diff(mel_f), mel_f[:, None] - freqs[None, :]
    lower, upper = -ramps[:-2] / fdiff[:-1, None], ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    return (weights * (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]).astype(np.float32)


def mel_spectrogram(wav: np.ndarray) -> np.ndarray:
    """(frames, 40) power mel frames, as librosa.feature.melspectrogram(center=True, pad_mode="constant")."""
    padded = np.pad(wav.astype(np.float32), N_FFT // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)   # periodic Hann
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    return (power.astype(np.float32) @ mel_filters().T).astype(np.float32)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))          # 1 / (1 + e^-x), without overflow


class SpeakerEncoder:
    def __init__(self, state: dict[str, np.ndarray]):
        self.layers = [(state[f"lstm.weight_ih_l{n}"].T.copy(), np.ascontiguousarray(state[f"lstm.weight_hh_l{n}"]),
                        state[f"lstm.bias_ih_l{n}"] + state[f"lstm.bias_hh_l{n}"]) for n in range(LAYERS)]
        self.linear_w, self.linear_b = state["linear.weight"].T.copy(), state["linear.bias"]

    @classmethod
    @lru_cache(maxsize=1)
    def load(cls) -> SpeakerEncoder:
        path = weights_path()
        if path is None or not path.is_file():
            raise BackendUnavailable("the speaker encoder's weights (resemblyzer's pretrained.pt) are not installed",
                                     hint=INSTALL_HINT)
        checkpoint = read_legacy_torch(path.read_bytes())
        return cls(checkpoint["model_state"])

    def forward(self, mels: np.ndarray) -> np.ndarray:
        """(batch, frames, 40) -> (batch, 256) L2-normalised embeddings (the final hidden state of the top layer,
        through a linear layer and a ReLU), as resemblyzer's VoiceEncoder.forward."""
        x = mels.astype(np.float32)
        for w_ih, w_hh, bias in self.layers:
            batch, steps, _ = x.shape
            h = np.zeros((batch, HIDDEN), np.float32)
            c = np.zeros((batch, HIDDEN), np.float32)
            inputs = (x.reshape(batch * steps, -1) @ w_ih).reshape(batch, steps, -1) + bias   # every step at once
            out = np.empty((batch, steps, HIDDEN), np.float32)
            for t in range(steps):       # one matrix-vector product per row: a (batch x 256) matmul per step
                recurrent = np.stack([w_hh.dot(row) for row in h])      # makes BLAS spin threads for nothing
                gates = inputs[:, t] + recurrent
                i, f, g, o = np.split(gates, 4, axis=1)              # PyTorch's gate order
                c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
                h = _sigmoid(o) * np.tanh(c)
                out[:, t] = h
            x = out
        raw = np.maximum(h @ self.linear_w + self.linear_b, 0.0)
        return raw / np.linalg.norm(raw, axis=1, keepdims=True)

    def embed(self, audio: np.ndarray, sample_rate: int) -> np.ndarray:
        """A clip (any rate) -> its 256-d speaker embedding, as resemblyzer's embed_utterance(preprocess_wav(...))."""
        return self.embed_prepared(preprocess(audio, sample_rate))

    def embed_prepared(self, wav: np.ndarray) -> np.ndarray:
        """Embedding of 16 kHz audio already preprocessed (resemblyzer's embed_utterance, rate 1.3, coverage 0.75)."""
        n_frames = int(np.ceil((len(wav) + 1) / HOP))
        step = int(np.round((RATE / 1.3) / HOP))
        starts = list(range(0, max(1, n_frames - PARTIAL_FRAMES + step + 1), step))
        last = starts[-1] * HOP
        if len(starts) > 1 and (len(wav) - last) / (PARTIAL_FRAMES * HOP) < 0.75:
            starts = starts[:-1]
        end = (starts[-1] + PARTIAL_FRAMES) * HOP
        if end >= len(wav):
            wav = np.pad(wav, (0, end - len(wav)))
        mel = mel_spectrogram(wav)
        partials = self.forward(np.stack([mel[s:s + PARTIAL_FRAMES] for s in starts]))
        mean = partials.mean(axis=0)
        return (mean / np.linalg.norm(mean)).astype(np.float32)


def preprocess(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """16 kHz, volume raised (never lowered) to -30 dBFS, long silences cut (resemblyzer's preprocess_wav, with an
    energy gate in place of webrtcvad: 30 ms windows 40 dB below the loudest tenth, runs past 0.2 s, go)."""
    import soxr

    wav = np.asarray(audio, np.float32)
    if sample_rate != RATE:
        wav = soxr.resample(wav, sample_rate, RATE).astype(np.float32)
    rms = float(np.sqrt(np.mean((wav * 32767.0) ** 2))) if wav.size else 0.0
    if rms > 0:
        change = -30.0 - 20 * np.log10(rms / 32767.0)
        if change > 0:
            wav = wav * np.float32(10 ** (change / 20))
    return _trim_long_silences(wav)


def _trim_long_silences(wav: np.ndarray, window: int = 480, keep: int = 7) -> np.ndarray:
    wav = wav[:len(wav) - len(wav) % window]
    if wav.size == 0:
        return wav
    energy = np.sqrt(np.mean(wav.reshape(-1, window) ** 2, axis=1)) + 1e-9
    voiced = energy > np.percentile(energy, 90) * 10 ** (-40 / 20)
    kept = np.convolve(voiced.astype(np.int32), np.ones(keep, np.int32), mode="same") > 0     # dilation
    return wav[np.repeat(kept, window)]
