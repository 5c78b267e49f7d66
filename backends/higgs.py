"""Higgs Audio v2 (boson-multimodal 0.1.1) on torch: cloning from reference audio tokens + transcript, baked dir."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.errors import AudioInvalid, BackendUnavailable, InvalidInput
from common.manifest import listed_sha256

from .base import AudioChunk, Capabilities, Embedding, Weights, check_reference, known_language
from .torch_support import TorchBackend, library_required, use_torch

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000                  # the v2 audio tokenizer's rate (its config.json sample_rate)
TOKENIZER_DIR = "audio_tokenizer"     # bosonai/higgs-audio-v2-tokenizer: config.json + model.pth
SEMANTIC_DIR = "hubert_base"          # bosonai/hubert_base, the audio tokenizer's semantic model
PROCESSOR_DIR = "whisper_processor"   # openai/whisper-large-v3-turbo's processor, read when encode_whisper_embed
#: hub ids the library hard-codes (AutoModel/AutoProcessor.from_pretrained) -> their baked subdirectory
BAKED_HUB_IDS = {"bosonai/hubert_base": SEMANTIC_DIR, "openai/whisper-large-v3-turbo": PROCESSOR_DIR}
INDEX = "model.safetensors.index.json"
SINGLE = "model.safetensors"
REQUIRED_KEYS = ("ref_codes", "ref_text")
SYSTEM_PROMPT = ("Generate audio following instruction.\n\n"
                 "<|scene_desc_start|>\nAudio is recorded from a quiet room.\n<|scene_desc_end|>")
LANGUAGES = ("en", "zh", "ko", "de", "es")   # what the model card reports it speaks
KV_CACHE_LENGTHS = (1024, 4096, 8192)  # the serve engine's default static caches
WEIGHTS = Weights(
    repo_id="bosonai/higgs-audio-v2-generation-3B-base",
    required=("config.json", "tokenizer.json", "tokenizer_config.json",
              f"{TOKENIZER_DIR}/config.json", f"{TOKENIZER_DIR}/model.pth", f"{SEMANTIC_DIR}/config.json"),
    optional=(SINGLE, INDEX, "model-*-of-*.safetensors", "special_tokens_map.json", "generation_config.json",
              f"{SEMANTIC_DIR}/*.safetensors", f"{SEMANTIC_DIR}/pytorch_model.bin", f"{SEMANTIC_DIR}/*.py",
              f"{SEMANTIC_DIR}/preprocessor_config.json",
              *(f"{PROCESSOR_DIR}/{name}" for name in (
                  "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json", "vocab.json", "merges.txt",
                  "normalizer.json", "added_tokens.json", "special_tokens_map.json"))),
    subrepos=((TOKENIZER_DIR, "bosonai/higgs-audio-v2-tokenizer"), (SEMANTIC_DIR, "bosonai/hubert_base"),
              (PROCESSOR_DIR, "openai/whisper-large-v3-turbo")),
)


class HiggsParams(BaseModel):
    """Per-request sampling settings (defaults: the model card's generation example)."""

    model_config = ConfigDict(extra="forbid")

    temperature: float = Field(0.3, ge=0.0, le=2.0, description="Sampling temperature; 0 is greedy.")
    top_p: float = Field(0.95, gt=0.0, le=1.0, description="Nucleus sampling mass.")
    top_k: int = Field(50, ge=1, le=1024, description="Sample among the k likeliest audio tokens.")
    max_new_tokens: int = Field(1024, ge=1, le=4096,
                                description="Cap on generated tokens (25 audio tokens are one second).")
    ras_win_len: int = Field(7, ge=0, le=64, description="Repetition-aware sampling window; 0 turns it off.")
    language: str = Field("en", description="Language of the text (the job core sets it from the job's language or "
                          "the text's script). The serve engine takes no language argument (the model reads the "
                          "text itself): the language chooses how numbers and symbols are written out.",
                          json_schema_extra={"enum": list(LANGUAGES)})

    @field_validator("language", mode="before")
    @classmethod
    def _known_language(cls, value):
        return known_language(value, LANGUAGES)


def weight_files(path: Path) -> list[str]:
    """The safetensors files from_pretrained will read: the shards an index names, or the single file."""
    if (path / INDEX).is_file():
        try:
            shards = sorted(set(json.loads((path / INDEX).read_text(encoding="utf-8"))["weight_map"].values()))
        except (OSError, ValueError, KeyError, AttributeError) as exc:
            raise BackendUnavailable(f"{path / INDEX} is not a safetensors index") from exc
        return [INDEX, *shards]
    return [SINGLE]


def check_model_files(path: Path) -> None:
    """The generation model's weights are there and, with a manifest, listed in it (read verified)."""
    files = weight_files(path)
    missing = [name for name in files if not (path / name).is_file()]
    if missing:
        raise BackendUnavailable(f"the higgs model in {path} lacks {', '.join(missing)}",
                                 hint="bake it with: python -m builder bake --backend higgs")
    for name in files:
        listed_sha256(path, name)


@contextmanager
def baked_hub_ids(path: Path) -> Iterator[None]:
    """While the engine loads: the hub ids boson-multimodal hard-codes resolve to their baked subdirectories.

    HiggsAudioTokenizer.__init__ calls `AutoModel.from_pretrained("bosonai/hubert_base", trust_remote_code=True)`
    and HiggsAudioServeEngine.__init__ `AutoProcessor.from_pretrained("openai/whisper-large-v3-turbo", ...)` (when
    the model's config says encode_whisper_embed): both read the baked copy here, local files only."""
    from boson_multimodal.audio_processing import higgs_audio_tokenizer
    from boson_multimodal.serve import serve_engine

    patched = [(higgs_audio_tokenizer, "AutoModel"), (serve_engine, "AutoProcessor")]
    originals = [getattr(module, name) for module, name in patched]

    def redirect(real):
        class Baked:
            @staticmethod
            def from_pretrained(name, *args, **kwargs):
                if name not in BAKED_HUB_IDS:
                    raise BackendUnavailable(f"the higgs engine asks for {name} from the hub, which is not baked")
                local = path / BAKED_HUB_IDS[name]
                if not (local / "config.json").is_file() and not (local / "preprocessor_config.json").is_file():
                    raise BackendUnavailable(f"the higgs model in {path} lacks {BAKED_HUB_IDS[name]}/ ({name})",
                                             hint="bake it with: python -m builder bake --backend higgs")
                kwargs.pop("device", None)
                kwargs.pop("trust_remote", None)
                return real.from_pretrained(str(local), *args, local_files_only=True, **kwargs)
        return Baked

    for (module, name), real in zip(patched, originals):
        setattr(module, name, redirect(real))
    try:
        yield
    finally:
        for (module, name), real in zip(patched, originals):
            setattr(module, name, real)


def engine_class():
    """HiggsAudioServeEngine whose reference audio arrives as audio tokens (a stored voice), not as a waveform:
    `_prepare_inputs` is the library's own, with the tokenizer's encode() replaced by the tokens in sample.misc."""
    from dataclasses import asdict

    import torch
    from boson_multimodal.dataset.chatml_dataset import ChatMLDatasetSample, prepare_chatml_sample
    from boson_multimodal.serve.serve_engine import HiggsAudioServeEngine

    class TokenEngine(HiggsAudioServeEngine):
        def _prepare_inputs(self, chat_ml_sample, force_audio_gen: bool = False):
            input_tokens, _, _, _ = prepare_chatml_sample(chat_ml_sample, self.tokenizer)
            postfix = "<|start_header_id|>assistant<|end_header_id|>\n\n"
            if force_audio_gen:
                postfix += "<|audio_out_bos|>"
            input_tokens.extend(self.tokenizer.encode(postfix, add_special_tokens=False))
            codes = [torch.as_tensor(c, dtype=torch.long) for c in (chat_ml_sample.misc or {}).get("audio_codes", [])]
            starts = concat = None
            if codes:
                starts = torch.tensor(np.cumsum([0] + [c.shape[1] for c in codes])[:-1], dtype=torch.long,
                                      device=self.device)
                concat = torch.cat(codes, dim=1)
            sample = ChatMLDatasetSample(
                input_ids=torch.LongTensor(input_tokens), label_ids=None, audio_ids_concat=concat,
                audio_ids_start=starts, audio_waveforms_concat=None, audio_waveforms_start=None,
                audio_sample_rate=None, audio_speaker_indices=None)
            inputs = asdict(self.collator([sample]))
            return {k: v.to(self.model.device) if isinstance(v, torch.Tensor) else v for k, v in inputs.items()}

    return TokenEngine


class HiggsBackend(TorchBackend):
    name = "higgs"
    capabilities = Capabilities(cloning=True, streaming=False, speed=False, languages=LANGUAGES,
                                max_chars=400, needs_transcript=True, sample_rate=SAMPLE_RATE)
    weights = WEIGHTS
    Params = HiggsParams
    model_name = "Higgs Audio v2 generation 3B base (bosonai), boson-multimodal 0.1.1"
    imports = ("torch", "boson_multimodal.serve.serve_engine")
    packages = ("boson-multimodal", "transformers", "torch", "torchaudio")
    no_warmup_voice = "cloning only: the model has no built-in voice"

    @classmethod
    def load(cls, model_dir: str | None, threads: int = 0, device: str = "auto",
             kv_cache_lengths: tuple[int, ...] = KV_CACHE_LENGTHS) -> HiggsBackend:
        path, revision = cls.baked_dir(model_dir)
        check_model_files(path)
        hint = "install the higgs extra (see scripts/setup_torch_venv.sh higgs)"
        with library_required("boson-multimodal", hint=hint):
            import boson_multimodal.serve.serve_engine  # noqa: F401
            import torch
        device = use_torch(threads, device)
        with baked_hub_ids(path):
            engine = engine_class()(str(path), str(path / TOKENIZER_DIR), device=device,
                                    torch_dtype=torch.float32 if device == "cpu" else "auto",
                                    kv_cache_lengths=list(kv_cache_lengths))
        log.info("higgs loaded from %s on %s (revision %s, %d codebooks, tokenizer at %d Hz)", path, device,
                 revision, engine.audio_num_codebooks, engine.audio_tokenizer.sampling_rate)
        return cls(engine, device=device, revision=revision)

    # -- voices ---------------------------------------------------------------------------------
    def embed(self, audio: np.ndarray, sample_rate: int, transcript: str | None = None) -> Embedding:
        """The reference clip as the audio tokenizer's codes [codebooks, frames] and its transcript (UTF-8 bytes):
        what generation conditions on, so the clip is encoded once, when the voice is made."""
        import torch

        if not transcript or not transcript.strip():
            raise InvalidInput("Higgs Audio needs the reference clip's transcript",
                               hint="send reference_text, or let the worker transcribe the clip")
        wav = check_reference(audio)
        if wav.size < sample_rate // 2:
            raise AudioInvalid("the reference clip has under half a second of sound")
        with self._lock, torch.no_grad():
            codes = self.model.audio_tokenizer.encode(wav, sample_rate)   # resamples to its own rate (librosa)
        codes = np.asarray(codes.cpu().numpy(), dtype=np.int32)             # [codebooks, frames]
        return {"ref_codes": np.ascontiguousarray(codes.reshape(codes.shape[-2], codes.shape[-1])),
                "ref_text": np.frombuffer(transcript.strip().encode("utf-8"), dtype=np.uint8).copy()}

    @staticmethod
    def reference(voice: Embedding) -> tuple[np.ndarray, str]:
        missing = [k for k in REQUIRED_KEYS if k not in voice]
        if missing or np.asarray(voice["ref_codes"]).ndim != 2:
            raise InvalidInput("this voice has no Higgs Audio reference",
                               hint="pick a voice created on the higgs backend, or send reference_audio")
        text = np.asarray(voice["ref_text"], dtype=np.uint8).tobytes().decode("utf-8")
        return np.asarray(voice["ref_codes"], dtype=np.int64), text

    def chat(self, text: str, voice: Embedding):
        """The ChatML sample of the library's voice-cloning example: the reference transcript as the user's turn,
        its audio as the assistant's answer, then the new text."""
        from boson_multimodal.data_types import AudioContent, ChatMLSample, Message

        codes, ref_text = self.reference(voice)
        if codes.shape[0] != self.model.audio_num_codebooks:
            raise InvalidInput(f"this voice has {codes.shape[0]} codebooks; the model uses "
                               f"{self.model.audio_num_codebooks}", hint="make the voice again on this model")
        messages = [Message(role="system", content=SYSTEM_PROMPT), Message(role="user", content=ref_text),
                    Message(role="assistant", content=AudioContent(audio_url="placeholder")),
                    Message(role="user", content=text)]
        return ChatMLSample(messages=messages, misc={"audio_codes": [codes]})

    # -- synthesis ------------------------------------------------------------------------------
    def synthesize(self, text: str, voice: Embedding, *, speed: float = 1.0, seed: int | None = None,
                   params: BaseModel | None = None) -> Iterator[AudioChunk]:
        p = params if params is not None else HiggsParams()
        sample = self.chat(text, voice)
        if not text.strip():
            return
        with self._lock:
            response = self.model.generate(
                chat_ml_sample=sample, max_new_tokens=p.max_new_tokens, temperature=p.temperature, top_k=p.top_k,
                top_p=p.top_p, force_audio_gen=True, ras_win_len=p.ras_win_len or None, seed=seed)
        if response.audio is None:
            return
        audio = np.asarray(response.audio, dtype=np.float32).reshape(-1)
        if audio.size:
            yield AudioChunk(np.clip(audio, -1.0, 1.0), int(response.sampling_rate))
