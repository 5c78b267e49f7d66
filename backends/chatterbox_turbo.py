"""Chatterbox-Turbo (chatterbox-tts 0.1.7 `ChatterboxTurboTTS`): the GPT-2 based, one-step-decoder variant.

Loaded from a baked directory with the library's own `ChatterboxTurboTTS.from_local`; conditionals are computed
from arrays and stored flat exactly like the base chatterbox adapter, which drives this variant's steps
(load, reference preparation, token generation) declared below.
English only; a reference clip must be longer than 5 seconds (the library asserts it).
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from common.errors import AudioInvalid

from .base import Capabilities, Weights
from .chatterbox import ChatterboxBackend, Speech, Variant

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000                  # S3GEN_SR
MIN_REFERENCE_S = 5.0                 # ChatterboxTurboTTS.prepare_conditionals asserts len > 5 s
N_CFM_TIMESTEPS = 2                   # what ChatterboxTurboTTS.generate() passes to the meanflow decoder
#: what ChatterboxTurboTTS.from_local reads: three weight files and the GPT-2 tokenizer files that
#: AutoTokenizer.from_pretrained(dir) reads (added_tokens.json holds the paralinguistic tags such as [laugh])
WEIGHT_FILES = ("ve.safetensors", "t3_turbo_v1.safetensors", "s3gen_meanflow.safetensors",
                "vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json")
BUILTIN_VOICE_FILE = "conds.pt"       # optional: the model's own default voice


class ChatterboxTurboParams(BaseModel):
    """Per-request sampling settings: what ChatterboxTurboTTS.generate() uses (its own defaults).

    Turbo ignores exaggeration, cfg_weight and min_p (the library only warns); they are rejected here instead.
    """

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.8, ge=0.05, le=5.0, description="Sampling temperature of the speech-token model.")
    top_k: int = Field(1000, ge=0, le=6563, description="Sample from the k most likely speech tokens; 0 turns it off.")
    top_p: float = Field(0.95, gt=0.0, le=1.0, description="Nucleus sampling: keep the smallest token set with this mass.")
    repetition_penalty: float = Field(1.2, ge=1.0, le=2.0, description="Penalty on repeating speech tokens.")


def load_turbo(path: Path, device: str):
    from chatterbox.tts_turbo import ChatterboxTurboTTS

    return ChatterboxTurboTTS.from_local(path, device)


def prepare_reference(model, wav: np.ndarray, sample_rate: int) -> np.ndarray:
    """ChatterboxTurboTTS.prepare_conditionals()'s first steps on an array: > 5 s, at 24 kHz, loudness-normalised."""
    import librosa

    seconds = wav.size / sample_rate
    if seconds <= MIN_REFERENCE_S:
        raise AudioInvalid(f"the reference clip is {seconds:.1f} s; Chatterbox-Turbo needs more than "
                           f"{MIN_REFERENCE_S:g} s", hint="send a clip of 6-15 s of clear speech")
    if sample_rate != SAMPLE_RATE:     # what librosa.load(path, sr=24000) does
        wav = librosa.resample(wav, orig_sr=sample_rate, target_sr=SAMPLE_RATE)
    return np.asarray(model.norm_loudness(wav, SAMPLE_RATE), dtype=np.float32)   # the library's own step


def generate_turbo(model, text: str, conds, p: ChatterboxTurboParams, max_new_tokens: int) -> Speech:
    """ChatterboxTurboTTS.generate()'s token step with our conditionals and token cap (it uses self.conds and 1000).
    Turbo's T3 has no emotion input; the library appends three silence tokens before decoding."""
    import torch
    from chatterbox.models.s3gen.const import S3GEN_SIL
    from chatterbox.tts_turbo import punc_norm

    tokens = model.tokenizer(punc_norm(text), return_tensors="pt", padding=True, truncation=True)
    with torch.inference_mode():
        # inference_turbo samples one token, then up to max_gen_len more
        speech = model.t3.inference_turbo(
            t3_cond=conds.t3, text_tokens=tokens.input_ids.to(model.device), temperature=p.temperature,
            top_k=p.top_k, top_p=p.top_p, repetition_penalty=p.repetition_penalty, max_gen_len=max_new_tokens - 1)
    silence = torch.tensor([S3GEN_SIL] * 3, dtype=torch.long, device=model.device)
    return Speech(speech, suffix=silence)


class ChatterboxTurboBackend(ChatterboxBackend):
    name = "chatterbox-turbo"
    capabilities = Capabilities(cloning=True, streaming=False, speed=False, languages=("en",),
                                max_chars=300, needs_transcript=False, sample_rate=SAMPLE_RATE)
    weights = Weights(repo_id="ResembleAI/chatterbox-turbo", required=WEIGHT_FILES, optional=(BUILTIN_VOICE_FILE,))
    Params = ChatterboxTurboParams
    variant = Variant(load_model=load_turbo, generate=generate_turbo, prepare_reference=prepare_reference,
                      decoder_options={"n_cfm_timesteps": N_CFM_TIMESTEPS})
    model_name = "Chatterbox-Turbo (Resemble AI), chatterbox-tts 0.1.7"
    imports = ("torch", "chatterbox.tts_turbo")
