"""XTTS-v2 (coqui-tts 0.28) on torch: multilingual zero-shot cloning and streaming from a baked model directory."""
from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from common.env import env_int
from common.errors import AudioInvalid, InvalidInput, TextTooLong

from .base import AudioChunk, Capabilities, Embedding, StockVoice, Weights, check_reference
from .torch_support import TorchBackend, hashed_revision, library_required, use_torch

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000                  # the HiFi-GAN decoder's output rate (model_args.output_sample_rate)
COND_RATE = 22_050                    # get_conditioning_latents() loads references at this rate
WEIGHT_FILES = ("config.json", "model.pth", "vocab.json")
SPEAKERS_FILE = "speakers_xtts.pth"   # optional: the model's own stock speakers (latents, not audio)
REQUIRED_KEYS = ("gpt_cond_latent", "speaker_embedding")
WEIGHTS = Weights(repo_id="coqui/XTTS-v2", required=WEIGHT_FILES, optional=(SPEAKERS_FILE,))
LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "pl", "tr", "ru", "nl", "cs", "ar", "zh-cn", "hu", "ko", "ja", "hi")


class XttsParams(BaseModel):
    """Per-request settings; sampling values left unset take the baked config.json's own."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field("en", description="Language of the text, one of the model's languages (config.json).")
    temperature: float | None = Field(None, ge=0.05, le=5.0, description="Sampling temperature of the GPT.")
    length_penalty: float | None = Field(None, ge=-10.0, le=10.0,
                                         description="Exponent on the sequence length in beam scoring.")
    repetition_penalty: float | None = Field(None, ge=1.0, le=20.0, description="Penalty on repeating audio tokens.")
    top_k: int | None = Field(None, ge=1, le=1000, description="Sample only from the k most likely audio tokens.")
    top_p: float | None = Field(None, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    enable_text_splitting: bool = Field(False, description="Let XTTS split sentences itself (the job core already "
                                                           "chunks text, so this is off).")
    stream_chunk_size: int = Field(0, ge=0, le=400,
                                   description="0 = one chunk per call (inference); N > 0 = stream with "
                                               "inference_stream, one audio chunk per N GPT tokens.")


def files_revision(model_dir: Path) -> str:
    """Without a manifest: hash the model files themselves (the builder's scheme, so a fresh bake agrees)."""
    return hashed_revision(model_dir, WEIGHTS)


def voice_id(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "speaker"


class XttsBackend(TorchBackend):
    """The GPT keeps per-call state (prefix embeddings) on the module: embed() and synthesize() hold self._lock."""

    name = "xtts"
    capabilities = Capabilities(cloning=True, streaming=True, speed=True, languages=LANGUAGES,
                                max_chars=250, needs_transcript=False, sample_rate=SAMPLE_RATE)
    weights = WEIGHTS
    Params = XttsParams
    model_name = "XTTS-v2 (Coqui), coqui-tts 0.28.0"
    imports = ("torch", "TTS.tts.models.xtts")
    packages = ("coqui-tts", "torch", "torchaudio", "transformers")
    no_warmup_voice = "no stock speakers (speakers_xtts.pth) in the model directory"

    def __init__(self, model, config, *, device: str, revision: str, max_new_tokens: int | None = None):
        """`model` an Xtts with its checkpoint loaded, `config` its XttsConfig; max_new_tokens None = the
        model's own cap (model_args.gpt_max_audio_tokens)."""
        super().__init__(model, device=device, revision=revision)
        self.config = config
        self.languages = tuple(config.languages)
        self.max_new_tokens = max_new_tokens
        voices = self.stock_voices()
        self.default_voice = voices[0].id if voices else None

    @classmethod
    def load(cls, model_dir: str | None, threads: int = 0, device: str = "auto", *,
             max_new_tokens: int | None = None) -> XttsBackend:
        path, revision = cls.baked_dir(model_dir)
        # None = the model's own cap; set to bound generation time
        max_new_tokens = max_new_tokens or env_int(os.environ, "XTTS_MAX_NEW_TOKENS", 0, minimum=1) or None
        with library_required("coqui-tts", hint="install the xtts extra (see scripts/setup_torch_venv.sh xtts)"):
            import torch  # noqa: F401  (imported here so that a missing torch is named)
            from TTS.tts.configs.xtts_config import XttsConfig
            from TTS.tts.models.xtts import Xtts
        device = use_torch(threads, device)
        config = XttsConfig()
        config.load_json(str(path / "config.json"))
        model = Xtts(config)
        model.load_checkpoint(config, checkpoint_dir=str(path), eval=True, use_deepspeed=False)
        backend = cls(model.to(device), config, device=device, revision=revision, max_new_tokens=max_new_tokens)
        log.info("xtts loaded from %s on %s (revision %s, %d stock speakers, languages %s)", path, device, revision,
                 len(backend.stock_voices()), ",".join(backend.languages))
        return backend

    # -- voices ---------------------------------------------------------------------------------
    def embed(self, audio: np.ndarray, sample_rate: int, transcript: str | None = None) -> Embedding:
        """What Xtts.get_conditioning_latents() computes from a file, from an array (no temp file)."""
        import torch
        import torchaudio

        wav = check_reference(audio)
        cfg = self.config
        model = self.model
        with self._lock, torch.inference_mode():
            clip = torch.from_numpy(wav.copy())[None]
            if sample_rate != COND_RATE:       # what load_audio(path, 22050) does
                clip = torchaudio.functional.resample(clip, sample_rate, COND_RATE)
            clip = clip.clip(-1, 1)[:, :COND_RATE * cfg.max_ref_len].to(self.device)
            if cfg.sound_norm_refs:
                clip = (clip / torch.abs(clip).max()) * 0.75
            speaker = model.get_speaker_embedding(clip, COND_RATE)
            try:
                latent = model.get_gpt_cond_latents(clip, COND_RATE, length=cfg.gpt_cond_len,
                                                    chunk_length=cfg.gpt_cond_chunk_len)
            except RuntimeError as exc:
                if "too short" in str(exc):
                    raise AudioInvalid("the reference clip is too short for XTTS",
                                       hint="send at least 3 seconds of speech") from exc
                raise
        return {"gpt_cond_latent": latent.detach().float().cpu().numpy(),
                "speaker_embedding": speaker.detach().float().cpu().numpy()}

    def _tensors(self, voice: Embedding):
        import torch

        missing = [k for k in REQUIRED_KEYS if k not in voice]
        if missing:
            raise InvalidInput("this voice has no XTTS latents",
                               hint="pick a voice created on the xtts backend, or send reference_audio")
        return tuple(torch.from_numpy(np.array(voice[k], dtype=np.float32)).to(self.device) for k in REQUIRED_KEYS)

    def stock_voices(self) -> list[StockVoice]:
        manager = getattr(self.model, "speaker_manager", None)
        if manager is None:
            return []
        voices = []
        for name, latents in manager.speakers.items():
            arrays = {k: latents[k].detach().float().cpu().numpy() for k in REQUIRED_KEYS if k in latents}
            if len(arrays) != len(REQUIRED_KEYS):
                continue
            voices.append(StockVoice(id=voice_id(name), name=name, language="en", gender=None, embedding=arrays,
                                     description="an XTTS-v2 stock speaker (speakers_xtts.pth)",
                                     tags=("stock", "xtts", "multilingual")))
        return voices

    # -- synthesis ------------------------------------------------------------------------------
    def synthesize(self, text: str, voice: Embedding, *, speed: float = 1.0, seed: int | None = None,
                   params: BaseModel | None = None) -> Iterator[AudioChunk]:
        import torch

        p = params if params is not None else XttsParams()
        language = self._language(p.language)
        latent, speaker = self._tensors(voice)
        tokens = len(self.model.tokenizer.encode(text.strip().lower(), lang=language))
        if tokens >= self.model.args.gpt_max_text_tokens and not p.enable_text_splitting:
            raise TextTooLong(f"the text is {tokens} XTTS tokens; one call takes fewer than "
                              f"{self.model.args.gpt_max_text_tokens}", hint="send shorter sentences")
        cfg = self.config
        kwargs = {"temperature": p.temperature if p.temperature is not None else cfg.temperature,
                  "length_penalty": p.length_penalty if p.length_penalty is not None else cfg.length_penalty,
                  "repetition_penalty": p.repetition_penalty if p.repetition_penalty is not None
                  else cfg.repetition_penalty,
                  "top_k": p.top_k if p.top_k is not None else cfg.top_k,
                  "top_p": p.top_p if p.top_p is not None else cfg.top_p,
                  "speed": speed, "enable_text_splitting": p.enable_text_splitting}
        if self.max_new_tokens:
            kwargs["max_new_tokens"] = self.max_new_tokens    # handed on to transformers' generate()
        with self._lock:
            if seed is not None:
                torch.manual_seed(seed)
            if p.stream_chunk_size:
                for chunk in self.model.inference_stream(text, language, latent, speaker,
                                                         stream_chunk_size=p.stream_chunk_size, **kwargs):
                    audio = chunk.detach().float().cpu().numpy().reshape(-1)
                    if audio.size:
                        yield AudioChunk(audio, SAMPLE_RATE)
                return
            out = self.model.inference(text, language, latent, speaker, **kwargs)
        audio = np.asarray(out["wav"], dtype=np.float32).reshape(-1)
        if audio.size:
            yield AudioChunk(audio, SAMPLE_RATE)

    def _language(self, language: str) -> str:
        wanted = language.strip().lower()
        wanted = "zh-cn" if wanted == "zh" else wanted
        if wanted not in self.languages:
            raise InvalidInput(f"XTTS does not speak {language!r}",
                               hint=f"params.language is one of: {', '.join(self.languages)}")
        return wanted
