"""Chatterbox (chatterbox-tts 0.1.7) on torch: zero-shot voice cloning from a baked model directory."""
from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from common.env import env_int
from common.errors import InvalidInput

from .base import AudioChunk, Capabilities, Embedding, StockVoice, Weights, check_reference
from .torch_support import (
    TorchBackend,
    hashed_revision,
    library_required,
    resolve_device,  # noqa: F401  (re-exported from its first home)
    use_torch,
)

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000                  # S3Gen's output and reference rate (chatterbox S3GEN_SR)
TOKENIZER_RATE = 16_000               # the voice encoder and the speech tokenizer (chatterbox S3_SR)
SPEECH_VOCAB = 6561                   # S3Gen accepts speech token ids below this
DEFAULT_MAX_NEW_TOKENS = 1000         # what ChatterboxTTS.generate() hard-codes
WEIGHT_FILES = ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json")
BUILTIN_VOICE_FILE = "conds.pt"       # optional: the model's own default voice
GEN_KEYS = ("prompt_token", "prompt_token_len", "prompt_feat", "prompt_feat_len", "embedding")
REQUIRED_KEYS = ("t3.speaker_emb", "gen.prompt_token", "gen.prompt_token_len", "gen.prompt_feat", "gen.embedding")
STOCK_VOICE = "chatterbox_default"
WEIGHTS = Weights(repo_id="ResembleAI/chatterbox", required=WEIGHT_FILES, optional=(BUILTIN_VOICE_FILE,))


class ChatterboxParams(BaseModel):
    """Per-request sampling settings (the defaults are ChatterboxTTS.generate()'s own)."""

    model_config = ConfigDict(extra="forbid")

    exaggeration: float = Field(0.5, ge=0.0, le=2.0,
                                description="Emotion intensity; 0.5 is neutral, higher is more expressive (and faster).")
    cfg_weight: float = Field(0.5, ge=0.0, le=1.0,
                              description="Classifier-free guidance weight; lower slows the pace, 0 turns guidance off.")
    temperature: float = Field(0.8, ge=0.05, le=5.0, description="Sampling temperature of the speech-token model.")
    top_p: float = Field(1.0, gt=0.0, le=1.0, description="Nucleus sampling: keep the smallest token set with this mass.")
    min_p: float = Field(0.05, ge=0.0, le=1.0, description="Drop tokens below this fraction of the top token's probability.")
    repetition_penalty: float = Field(1.2, ge=1.0, le=2.0, description="Penalty on repeating speech tokens.")


def files_revision(model_dir: Path) -> str:
    """Without a manifest: hash the model files themselves (the builder's scheme, so a fresh bake agrees)."""
    return hashed_revision(model_dir, WEIGHTS)


def flatten_conditionals(conds) -> Embedding:
    """chatterbox Conditionals -> plain arrays ("t3.<field>", "gen.<key>"); None values and emotion_adv left out."""
    flat = {f"t3.{k}": v for k, v in conds.t3.__dict__.items() if k != "emotion_adv"}
    flat.update({f"gen.{k}": v for k, v in conds.gen.items()})
    return {k: v.detach().cpu().numpy() for k, v in flat.items() if v is not None}


# -- the variant-specific steps: how a model loads, how a reference is prepared, how text becomes speech tokens --
class Speech(NamedTuple):
    """What a variant's generate step hands to the shared decoder: T3's speech tokens, and tokens to append
    after the invalid ids are masked (Turbo's trailing silence)."""

    tokens: Any
    suffix: Any = None


@dataclass(frozen=True)
class Variant:
    """One Chatterbox model family, as functions (no overriding): the ChatterboxBackend drives them."""

    #: (baked dir, device) -> the library's model object (ChatterboxTTS, ChatterboxTurboTTS, ...)
    load_model: Callable[[Path, str], Any]
    #: (model, text, conditionals, params, max_new_tokens) -> speech tokens; runs under the lock, seeded
    generate: Callable[[Any, str, Any, BaseModel, int], Speech]
    #: (model, mono float32 clip, its rate) -> the clip at 24 kHz, for variants that prepare it first
    prepare_reference: Callable[[Any, np.ndarray, int], np.ndarray] | None = None
    #: extra keyword arguments of s3gen.inference (Turbo's one-step meanflow decoder)
    decoder_options: Mapping[str, Any] = field(default_factory=dict)


def load_english(path: Path, device: str):
    """The library's own ChatterboxTTS.from_local over the baked directory."""
    from chatterbox.tts import ChatterboxTTS

    return ChatterboxTTS.from_local(path, device)


def cfg_rows(model, tokens):
    """The conditional and the unconditional row, padded with start/stop: t3.inference doubles its start
    token for CFG whatever cfg_weight is (cfg_weight 0 then weighs the unconditional row by zero)."""
    import torch
    import torch.nn.functional as F

    tokens = torch.cat([tokens, tokens], dim=0)
    tokens = F.pad(tokens, (1, 0), value=model.t3.hp.start_text_token)
    return F.pad(tokens, (0, 1), value=model.t3.hp.stop_text_token)


def generate_english(model, text: str, conds, p: ChatterboxParams, max_new_tokens: int) -> Speech:
    """ChatterboxTTS.generate()'s token step with our conditionals and token cap (it hard-codes 1000 and self.conds)."""
    import torch
    from chatterbox.models.s3tokenizer import drop_invalid_tokens
    from chatterbox.tts import punc_norm

    tokens = model.tokenizer.text_to_tokens(punc_norm(text)).to(model.device)
    with torch.inference_mode():
        speech = model.t3.inference(t3_cond=conds.t3, text_tokens=cfg_rows(model, tokens),
                                    max_new_tokens=max_new_tokens, temperature=p.temperature,
                                    cfg_weight=p.cfg_weight, repetition_penalty=p.repetition_penalty,
                                    min_p=p.min_p, top_p=p.top_p)
    return Speech(drop_invalid_tokens(speech[0]))


ENGLISH = Variant(load_model=load_english, generate=generate_english)


class ChatterboxBackend(TorchBackend):
    """generate() and embed() share the model's modules and buffers: both hold self._lock.
    The variants (Turbo, Multilingual) are this class with other declarations: weights, params and a `Variant`."""

    name = "chatterbox"
    capabilities = Capabilities(cloning=True, streaming=False, speed=False, languages=("en",),
                                max_chars=300, needs_transcript=False, sample_rate=SAMPLE_RATE)
    weights = WEIGHTS
    Params = ChatterboxParams
    variant: ClassVar[Variant] = ENGLISH
    default_voice = STOCK_VOICE      # present when the baked model has conds.pt
    model_name = "Chatterbox (Resemble AI), chatterbox-tts 0.1.7"
    imports = ("torch", "chatterbox.tts")
    packages = ("chatterbox-tts", "torch", "torchaudio", "transformers")
    no_warmup_voice = "no built-in voice (conds.pt) in the model directory"

    def __init__(self, model, *, device: str, revision: str, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS):
        super().__init__(model, device=device, revision=revision)
        self.max_new_tokens = max_new_tokens

    @classmethod
    def load(cls, model_dir: str | None, threads: int = 0, device: str = "auto", *,
             max_new_tokens: int | None = None) -> ChatterboxBackend:
        path, revision = cls.baked_dir(model_dir)
        max_new_tokens = max_new_tokens or env_int(os.environ, "CHATTERBOX_MAX_NEW_TOKENS", DEFAULT_MAX_NEW_TOKENS,
                                                   minimum=1)
        with library_required("chatterbox-tts", hint="install the chatterbox extra (see the Dockerfile)"):
            import chatterbox.tts  # noqa: F401
            import torch  # noqa: F401  (imported here so that a missing torch is named)
        device = use_torch(threads, device)
        backend = cls(cls.variant.load_model(path, device), device=device, revision=revision,
                      max_new_tokens=max_new_tokens)
        log.info("%s loaded from %s on %s (revision %s, max_new_tokens %d)", cls.name, path, device, revision,
                 max_new_tokens)
        return backend

    # -- voices ---------------------------------------------------------------------------------
    def embed(self, audio: np.ndarray, sample_rate: int, transcript: str | None = None) -> Embedding:
        """The conditionals ChatterboxTTS.prepare_conditionals() computes, from an array instead of a file."""
        import librosa
        import torch

        wav = check_reference(audio)
        if self.variant.prepare_reference is not None:
            wav, sample_rate = self.variant.prepare_reference(self.model, wav, sample_rate), SAMPLE_RATE
        if sample_rate != SAMPLE_RATE:     # what librosa.load(path, sr=24000) does inside prepare_conditionals
            wav = librosa.resample(wav, orig_sr=sample_rate, target_sr=SAMPLE_RATE)
        wav_16k = librosa.resample(wav, orig_sr=SAMPLE_RATE, target_sr=TOKENIZER_RATE)
        model = self.model
        with self._lock, torch.inference_mode():
            gen = model.s3gen.embed_ref(wav[:model.DEC_COND_LEN], SAMPLE_RATE, device=self.device)
            prompt_tokens = None
            if plen := model.t3.hp.speech_cond_prompt_len:
                prompt_tokens, _ = model.s3gen.tokenizer.forward([wav_16k[:model.ENC_COND_LEN]], max_len=plen)
                prompt_tokens = torch.atleast_2d(prompt_tokens)
            speaker = torch.from_numpy(model.ve.embeds_from_wavs([wav_16k], sample_rate=TOKENIZER_RATE))
            speaker = speaker.mean(axis=0, keepdim=True)
        flat = {"t3.speaker_emb": speaker, "t3.cond_prompt_speech_tokens": prompt_tokens,
                **{f"gen.{k}": v for k, v in gen.items()}}
        return {k: v.detach().cpu().numpy() for k, v in flat.items() if v is not None}

    def conditionals(self, voice: Embedding, exaggeration: float = 0.5):
        """Rebuild chatterbox's Conditionals from stored arrays; exaggeration is per request."""
        import torch
        from chatterbox.models.t3.modules.cond_enc import T3Cond
        from chatterbox.tts import Conditionals

        missing = [k for k in REQUIRED_KEYS if k not in voice]
        if missing:
            raise InvalidInput("this voice has no Chatterbox conditionals",
                               hint="pick a voice created on the chatterbox backend, or send reference_audio")

        def tensor(key: str):
            return torch.from_numpy(np.array(voice[key])) if key in voice else None   # a writable copy

        t3_fields = [f.name for f in dataclasses.fields(T3Cond) if f.name != "emotion_adv"]
        t3 = T3Cond(**{name: tensor(f"t3.{name}") for name in t3_fields},
                    emotion_adv=exaggeration * torch.ones(1, 1, 1))
        gen = {k: tensor(f"gen.{k}") for k in GEN_KEYS}
        return Conditionals(t3, gen).to(self.device)

    def stock_voices(self) -> list[StockVoice]:
        builtin = self.model is not None and self.model.conds
        if not builtin:
            return []
        return [StockVoice(id=STOCK_VOICE, name=STOCK_VOICE, language="en", gender=None,
                           embedding=flatten_conditionals(builtin),
                           description="Chatterbox's built-in voice (conds.pt baked with the weights)",
                           tags=("stock", "chatterbox"))]

    # -- synthesis ------------------------------------------------------------------------------
    def synthesize(self, text: str, voice: Embedding, *, speed: float = 1.0, seed: int | None = None,
                   params: BaseModel | None = None) -> Iterator[AudioChunk]:
        """No speed control (capabilities.speed is False: the worker refuses speed != 1.0)."""
        p = params if params is not None else self.Params()
        conds = self.conditionals(voice, getattr(p, "exaggeration", 0.5))
        with self._lock:
            audio = self.generate(text, conds, p, seed)
        if audio.size:
            yield AudioChunk(audio, SAMPLE_RATE)

    def generate(self, text: str, conds, p: BaseModel, seed: int | None = None) -> np.ndarray:
        """The variant's token step, then the shared decoder (call under the lock)."""
        import torch

        if seed is not None:
            torch.manual_seed(seed)       # seeds every device
        speech = self.variant.generate(self.model, text, conds, p, self.max_new_tokens)
        return self.speech_to_audio(speech, conds, text)

    def speech_to_audio(self, speech: Speech, conds, text: str) -> np.ndarray:
        """Speech tokens -> watermarked float32 audio. Ids S3Gen cannot take (>= 6561: start/stop and the unused
        rest of T3's head) are masked first; trained weights do not emit them, random ones do."""
        import torch

        tokens = speech.tokens[speech.tokens < SPEECH_VOCAB].to(self.device)
        if not tokens.numel():
            log.warning("%s produced no speech tokens for %d characters", self.name, len(text))
            return np.zeros(0, np.float32)
        if speech.suffix is not None:
            tokens = torch.cat([tokens, speech.suffix.to(self.device)])
        with torch.inference_mode():
            wav, _ = self.model.s3gen.inference(speech_tokens=tokens, ref_dict=conds.gen,
                                                **self.variant.decoder_options)
        wav = wav.squeeze(0).detach().cpu().numpy()
        # The library marks its output with Resemble's Perth watermark; we keep that step as it is.
        wav = self.model.watermarker.apply_watermark(wav, sample_rate=SAMPLE_RATE)
        return np.asarray(wav, dtype=np.float32).reshape(-1)
