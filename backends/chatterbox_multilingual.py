"""Chatterbox Multilingual (chatterbox-tts 0.1.7 `ChatterboxMultilingualTTS`): 23 languages, one voice model.

The model is built from a baked directory with the library's own constructors and the file names its
`from_local` reads. We do not call `from_local` itself: it builds `MTLTokenizer`, whose Chinese converter calls
`hf_hub_download` for Cangjie5_TC.json (and `spacy_pkuseg.pkuseg()`, which downloads a model when that package
is installed). Here the tokenizer is the library's `MTLTokenizer` with its converter filled from the baked
Cangjie5_TC.json: no hub call, no HF_HUB_OFFLINE, no download. Chinese word segmentation is then skipped,
exactly as the library does when spacy-pkuseg is not installed.
Conditionals come from arrays and are stored flat like the base chatterbox adapter, which drives this variant's
load and token steps declared below (ChatterboxMultilingualTTS.prepare_conditionals() is the base computation).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

from pydantic import Field, field_validator

from common.errors import InvalidInput

from .base import Capabilities, Weights
from .chatterbox import ChatterboxBackend, ChatterboxParams, Speech, Variant, cfg_rows

log = logging.getLogger(__name__)

SAMPLE_RATE = 24_000                  # S3GEN_SR
#: chatterbox.mtl_tts.SUPPORTED_LANGUAGES of 0.1.7 (the tests check they are equal; synthesize re-checks the library's)
LANGUAGES = ("ar", "da", "de", "el", "en", "es", "fi", "fr", "he", "hi", "it", "ja", "ko", "ms", "nl", "no", "pl",
             "pt", "ru", "sv", "sw", "tr", "zh")
VE_FILE, T3_FILE, S3GEN_FILE = "ve.pt", "t3_mtl23ls_v2.safetensors", "s3gen.pt"
TOKENIZER_FILE, CANGJIE_FILE = "grapheme_mtl_merged_expanded_v1.json", "Cangjie5_TC.json"
WEIGHT_FILES = (VE_FILE, T3_FILE, S3GEN_FILE, TOKENIZER_FILE, CANGJIE_FILE)   # what from_pretrained fetches
BUILTIN_VOICE_FILE = "conds.pt"       # optional: the model's own default voice


class ChatterboxMultilingualParams(ChatterboxParams):
    """Per-request settings: the language and what ChatterboxMultilingualTTS.generate() takes (its defaults)."""

    language: str = Field("en", description="Language of the text (ISO 639-1).",
                          json_schema_extra={"enum": list(LANGUAGES)})
    repetition_penalty: float = Field(2.0, ge=1.0, le=3.0, description="Penalty on repeating speech tokens.")

    @field_validator("language", mode="before")
    @classmethod
    def _known_language(cls, value):
        code = value.strip().lower() if isinstance(value, str) else value
        if code not in LANGUAGES:
            raise ValueError(f"unsupported language {value!r}; one of: {', '.join(LANGUAGES)}")
        return code


def load_tokenizer(model_dir: Path):
    """The library's MTLTokenizer over the baked files, built without its hub download (see the module doc)."""
    from chatterbox.models.tokenizers import MTLTokenizer
    from chatterbox.models.tokenizers.tokenizer import ChineseCangjieConverter
    from tokenizers import Tokenizer

    converter = ChineseCangjieConverter.__new__(ChineseCangjieConverter)
    converter.word2cj, converter.cj2word, converter.segmenter = {}, {}, None
    for entry in json.loads((model_dir / CANGJIE_FILE).read_text(encoding="utf-8")):   # as the converter parses it
        word, code = entry.split("\t")[:2]
        converter.word2cj[word] = code
        converter.cj2word.setdefault(code, []).append(word)
    tokenizer = MTLTokenizer.__new__(MTLTokenizer)
    tokenizer.tokenizer = Tokenizer.from_file(str(model_dir / TOKENIZER_FILE))
    tokenizer.cangjie_converter = converter
    tokenizer.check_vocabset_sot_eot()
    return tokenizer


def load_model(model_dir: Path, device: str):
    """ChatterboxMultilingualTTS.from_local's steps (same constructors, files and loaders), our tokenizer."""
    import torch
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.t3.modules.t3_config import T3Config
    from chatterbox.models.voice_encoder import VoiceEncoder
    from chatterbox.mtl_tts import ChatterboxMultilingualTTS, Conditionals
    from safetensors.torch import load_file

    cpu = torch.device("cpu")
    ve = VoiceEncoder()
    ve.load_state_dict(torch.load(model_dir / VE_FILE, map_location=cpu, weights_only=True))
    ve.to(device).eval()
    t3 = T3(T3Config.multilingual())
    state = load_file(model_dir / T3_FILE)
    if "model" in state:
        state = state["model"][0]
    t3.load_state_dict(state)
    del state
    t3.to(device).eval()
    s3gen = S3Gen()
    s3gen.load_state_dict(torch.load(model_dir / S3GEN_FILE, map_location=cpu, weights_only=True))
    s3gen.to(device).eval()
    conds = None
    if (model_dir / BUILTIN_VOICE_FILE).is_file():
        conds = Conditionals.load(model_dir / BUILTIN_VOICE_FILE, map_location=cpu).to(device)
    return ChatterboxMultilingualTTS(t3, s3gen, ve, load_tokenizer(model_dir), device, conds=conds)


def generate_multilingual(model, text: str, conds, p: ChatterboxMultilingualParams, max_new_tokens: int) -> Speech:
    """ChatterboxMultilingualTTS.generate()'s token step with our conditionals and token cap (it uses self.conds
    and 1000), without the forward hooks each call leaves behind."""
    import torch
    from chatterbox.models.s3tokenizer import drop_invalid_tokens
    from chatterbox.mtl_tts import SUPPORTED_LANGUAGES, punc_norm

    if p.language not in SUPPORTED_LANGUAGES:
        raise InvalidInput(f"the installed chatterbox-tts does not support language {p.language!r}",
                           hint=f"one of: {', '.join(SUPPORTED_LANGUAGES)}")
    tokens = model.tokenizer.text_to_tokens(punc_norm(text), language_id=p.language).to(model.device)
    with torch.inference_mode(), _drop_new_forward_hooks(_aligned_attention_layers(model.t3)):
        speech = model.t3.inference(t3_cond=conds.t3, text_tokens=cfg_rows(model, tokens),
                                    max_new_tokens=max_new_tokens, temperature=p.temperature,
                                    cfg_weight=p.cfg_weight, repetition_penalty=p.repetition_penalty,
                                    min_p=p.min_p, top_p=p.top_p)
    return Speech(drop_invalid_tokens(speech[0]))


class ChatterboxMultilingualBackend(ChatterboxBackend):
    name = "chatterbox-multilingual"
    capabilities = Capabilities(cloning=True, streaming=False, speed=False, languages=LANGUAGES,
                                max_chars=300, needs_transcript=False, sample_rate=SAMPLE_RATE)
    weights = Weights(repo_id="ResembleAI/chatterbox", required=WEIGHT_FILES, optional=(BUILTIN_VOICE_FILE,))
    Params = ChatterboxMultilingualParams
    variant = Variant(load_model=load_model, generate=generate_multilingual)
    model_name = "Chatterbox Multilingual (Resemble AI), chatterbox-tts 0.1.7"
    imports = ("torch", "chatterbox.mtl_tts")


def _aligned_attention_layers(t3) -> list:
    """The attention modules AlignmentStreamAnalyzer hooks on every multilingual t3.inference() call."""
    from chatterbox.models.t3.inference.alignment_stream_analyzer import LLAMA_ALIGNED_HEADS

    return [t3.tfmr.layers[layer].self_attn for layer, _ in LLAMA_ALIGNED_HEADS]


def is_alignment_hook(hook) -> bool:
    return getattr(hook, "__module__", None) == "chatterbox.models.t3.inference.alignment_stream_analyzer"


class _drop_new_forward_hooks:
    """chatterbox 0.1.7 registers 3 forward hooks (one AlignmentStreamAnalyzer) per multilingual inference and
    never removes them: in a long-lived worker they pile up (each copies attention maps to the CPU on every step).
    Remove the analyzer hooks a call added; leave every other hook (transformers installs its own once)."""

    def __init__(self, modules: list):
        self.modules = modules

    def __enter__(self):
        self.before = [set(m._forward_hooks) for m in self.modules]
        return self

    def __exit__(self, *exc):
        for module, before in zip(self.modules, self.before):
            for hook_id in [h for h, hook in module._forward_hooks.items()
                            if h not in before and is_alignment_hook(hook)]:
                for hooks in (module._forward_hooks, getattr(module, "_forward_hooks_with_kwargs", {}),
                              getattr(module, "_forward_hooks_always_called", {})):
                    hooks.pop(hook_id, None)
        return False
