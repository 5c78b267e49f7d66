"""F5-TTS v1 (f5-tts 1.1.22) on torch: zero-shot cloning from reference audio + transcript, vocos vocoder, baked dir."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.errors import AudioInvalid, BackendUnavailable, InvalidInput

from .base import AudioChunk, Capabilities, Embedding, Weights, check_reference, known_language
from .torch_support import TorchBackend, hashed_revision, library_required, use_torch

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000                  # f5-tts target_sample_rate; vocos-mel-24khz's output rate
CHECKPOINT = "F5TTS_v1_Base/model_1250000.safetensors"
VOCAB = "F5TTS_v1_Base/vocab.txt"
VOCOS_DIR = "vocos"                   # load_vocoder(is_local=True) reads config.yaml + pytorch_model.bin here
WEIGHT_FILES = (CHECKPOINT, VOCAB, f"{VOCOS_DIR}/config.yaml", f"{VOCOS_DIR}/pytorch_model.bin")
MODEL_CONFIG = "model.yaml"           # optional: an f5-tts model config; default: the package's F5TTS_v1_Base.yaml
DEFAULT_CONFIG = "F5TTS_v1_Base"
MAX_REF_MS = 12_000                   # preprocess_ref_audio_text() clips references to 12 s
REQUIRED_KEYS = ("ref_audio", "ref_text")
# F5-TTS v1 Base; its vocos vocoder lives in another repo (charactr/vocos-mel-24khz: config.yaml, pytorch_model.bin),
# baked into vocos/ of the same directory (from a local copy via --source).
WEIGHTS = Weights(repo_id="SWivid/F5-TTS", required=WEIGHT_FILES, optional=(MODEL_CONFIG,))

LANGUAGES = ("en", "zh")              # F5-TTS v1 Base was trained on English and Mandarin (Emilia)


class F5Params(BaseModel):
    """Per-request sampling settings (the defaults are f5-tts's infer_process() defaults)."""

    model_config = ConfigDict(extra="forbid")

    nfe_step: int = Field(32, ge=1, le=128, description="Flow-matching ODE steps; fewer is faster and rougher.")
    cfg_strength: float = Field(2.0, ge=0.0, le=10.0, description="Classifier-free guidance strength.")
    sway_sampling_coef: float = Field(-1.0, ge=-1.0, le=1.0, description="Sway sampling of the ODE time steps.")
    language: str = Field("en", description="Language of the text (the job core sets it from the job's language or "
                          "the text's script). F5 takes no language argument (it reads Han as pinyin itself): the "
                          "language chooses how numbers and symbols are written out.",
                          json_schema_extra={"enum": list(LANGUAGES)})

    @field_validator("language", mode="before")
    @classmethod
    def _known_language(cls, value):
        return known_language(value, LANGUAGES)


def files_revision(model_dir: Path) -> str:
    """Without a manifest: hash the model files themselves (the builder's scheme, so a fresh bake agrees)."""
    return hashed_revision(model_dir, WEIGHTS)


def normalize_ref_text(text: str) -> str:
    """What preprocess_ref_audio_text() does to the transcript: end it with a sentence stop and a space."""
    text = text.strip()
    if not text.endswith(". ") and not text.endswith("。"):
        text += " " if text.endswith(".") else ". "
    return text


def preprocess_reference(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """preprocess_ref_audio_text()'s audio steps on an in-memory pydub segment (no file, no ffmpeg):
    cut at long (then short) silences to at most ~12 s, trim the edges, add 50 ms of silence. int16, as
    the library's own WAV round trip."""
    from f5_tts.infer.utils_infer import remove_silence_edges
    from pydub import AudioSegment, silence

    pcm = np.clip(np.round(audio * 32768.0), -32768, 32767).astype("<i2")
    aseg = AudioSegment(data=pcm.tobytes(), sample_width=2, frame_rate=sample_rate, channels=1)
    for min_silence_len, thresh in ((1000, -50), (100, -40)):
        kept = AudioSegment.silent(duration=0)
        for seg in silence.split_on_silence(aseg, min_silence_len=min_silence_len, silence_thresh=thresh,
                                            keep_silence=1000, seek_step=10):
            if len(kept) > 6000 and len(kept + seg) > MAX_REF_MS:
                break
            kept += seg
        if len(kept) <= MAX_REF_MS:
            break
    aseg = kept if len(kept) else aseg
    if len(aseg) > MAX_REF_MS:
        aseg = aseg[:MAX_REF_MS]
    aseg = remove_silence_edges(aseg) + AudioSegment.silent(duration=50)   # pydub's default rate, as there
    return np.asarray(aseg.get_array_of_samples(), dtype=np.float32) / 32768.0


class F5Backend(TorchBackend):
    name = "f5"
    capabilities = Capabilities(cloning=True, streaming=False, speed=True, languages=LANGUAGES,
                                max_chars=135, needs_transcript=True, sample_rate=SAMPLE_RATE)
    weights = WEIGHTS
    Params = F5Params
    model_name = "F5-TTS v1 Base (SWivid), f5-tts 1.1.22, vocos-mel-24khz"
    imports = ("torch", "f5_tts.model")
    packages = ("f5-tts", "vocos", "torch", "torchaudio")
    no_warmup_voice = "the model has no built-in voice"

    def __init__(self, model, vocoder, *, device: str, revision: str):
        """`model` the CFM model from f5-tts's load_model, `vocoder` its vocos vocoder."""
        super().__init__(model, device=device, revision=revision)
        self.vocoder = vocoder

    @classmethod
    def load(cls, model_dir: str | None, threads: int = 0, device: str = "auto") -> F5Backend:
        path, revision = cls.baked_dir(model_dir)
        with library_required("f5-tts", hint="install the f5 extra (see scripts/setup_torch_venv.sh f5)"):
            import f5_tts.model as f5_models
            import torch  # noqa: F401  (imported here so that a missing torch is named)
            from f5_tts.infer.utils_infer import load_model, load_vocoder
            from omegaconf import OmegaConf
        device = use_torch(threads, device)
        cfg = OmegaConf.load(cls._config_path(path))
        mel = cfg.model.mel_spec
        if mel.mel_spec_type != "vocos" or mel.target_sample_rate != SAMPLE_RATE or mel.n_mel_channels != 100:
            raise BackendUnavailable("the f5 backend runs vocos 24 kHz, 100-mel models only",
                                     hint=f"check {MODEL_CONFIG} in the model directory")
        model_cls = getattr(f5_models, cfg.model.backbone)
        arch = OmegaConf.to_container(cfg.model.arch, resolve=True)
        model = load_model(model_cls, arch, str(path / CHECKPOINT), mel_spec_type="vocos",
                           vocab_file=str(path / VOCAB), ode_method="euler", use_ema=True, device=device)
        vocoder = load_vocoder("vocos", is_local=True, local_path=str(path / VOCOS_DIR), device=device)
        log.info("f5 loaded from %s on %s (revision %s, %s %s)", path, device, revision,
                 cfg.model.backbone, cfg.model.name)
        return cls(model, vocoder, device=device, revision=revision)

    def _release(self) -> None:
        super()._release()
        self.vocoder = None

    @staticmethod
    def _config_path(path: Path):
        if (path / MODEL_CONFIG).is_file():
            return str(path / MODEL_CONFIG)
        from importlib.resources import files

        return str(files("f5_tts").joinpath(f"configs/{DEFAULT_CONFIG}.yaml"))

    # -- voices ---------------------------------------------------------------------------------
    def embed(self, audio: np.ndarray, sample_rate: int, transcript: str | None = None) -> Embedding:
        """The processed 24 kHz reference samples and its transcript (as UTF-8 bytes): what inference conditions on."""
        import torch
        import torchaudio

        if not transcript or not transcript.strip():
            raise InvalidInput("F5-TTS needs the reference clip's transcript",
                               hint="send reference_text, or let the worker transcribe the clip")
        wav = preprocess_reference(check_reference(audio), sample_rate)
        if wav.size < sample_rate // 2:
            raise AudioInvalid("the reference clip has under half a second of sound")
        if sample_rate != SAMPLE_RATE:     # infer_batch_process() resamples with this same transform
            wav = torchaudio.transforms.Resample(sample_rate, SAMPLE_RATE)(torch.from_numpy(wav)[None])[0].numpy()
        text = normalize_ref_text(transcript)
        return {"ref_audio": np.ascontiguousarray(wav, dtype=np.float32),
                "ref_text": np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()}

    @staticmethod
    def reference(voice: Embedding) -> tuple[np.ndarray, str]:
        missing = [k for k in REQUIRED_KEYS if k not in voice]
        if missing:
            raise InvalidInput("this voice has no F5-TTS reference",
                               hint="pick a voice created on the f5 backend, or send reference_audio")
        text = np.asarray(voice["ref_text"], dtype=np.uint8).tobytes().decode("utf-8")
        return np.asarray(voice["ref_audio"], dtype=np.float32).reshape(-1), text

    # -- synthesis ------------------------------------------------------------------------------
    def synthesize(self, text: str, voice: Embedding, *, speed: float = 1.0, seed: int | None = None,
                   params: BaseModel | None = None) -> Iterator[AudioChunk]:
        import torch
        from f5_tts.infer.utils_infer import infer_batch_process

        p = params if params is not None else F5Params()
        ref_audio, ref_text = self.reference(voice)
        if not text.strip():
            return
        with self._lock:
            if seed is not None:
                torch.manual_seed(seed)
            wave, rate, _ = next(infer_batch_process(
                (torch.from_numpy(ref_audio.copy())[None], SAMPLE_RATE), ref_text, [text], self.model, self.vocoder,
                mel_spec_type="vocos", progress=None, nfe_step=p.nfe_step, cfg_strength=p.cfg_strength,
                sway_sampling_coef=p.sway_sampling_coef, speed=speed, device=self.device))
        if wave is None:
            return
        audio = np.asarray(wave, dtype=np.float32).reshape(-1)
        if audio.size:
            yield AudioChunk(audio, int(rate))
