"""Random weights in each GPU backend's real file layout, built by the libraries' own constructors: what the slow
tests load, and what `make test-images-gpu` bakes into the GPU images (`MODEL_SOURCE` = a build-context directory).

    python -m tests.support.random_weights BACKEND DEST     (in the backend library's venv, scripts/setup_torch_venv.sh)

Heavy imports stay inside the functions, so importing this costs nothing where torch is missing.
"""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from pathlib import Path

from tests.support.torch_models import char_tokenizer_json, reference_clip, write_random_chatterbox

log = logging.getLogger(__name__)


def save_state(module, path) -> None:
    from safetensors.torch import save_file

    save_file({k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}, path)


# -- chatterbox-turbo ---------------------------------------------------------------------------------------------
def gpt2_tokenizer_files(path: Path) -> None:
    """GPT-2 BPE files as in ResembleAI/chatterbox-turbo (vocab.json, merges.txt, configs, added tags), tiny."""
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(["Hello there, this is a test of the turbo model."] * 3, vocab_size=300,
                            min_frequency=1, special_tokens=["<|endoftext|>"], show_progress=False)
    bpe.save_model(str(path))
    size = len(json.loads((path / "vocab.json").read_text()))
    (path / "added_tokens.json").write_text(json.dumps({"[laugh]": size, "[chuckle]": size + 1}))
    eos = "<|endoftext|>"
    (path / "special_tokens_map.json").write_text(json.dumps({"bos_token": eos, "eos_token": eos, "unk_token": eos}))
    (path / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "GPT2Tokenizer", "model_max_length": 1024, "add_prefix_space": False,
        "bos_token": eos, "eos_token": eos, "unk_token": eos}))


def write_random_chatterbox_turbo(path: Path) -> None:
    """The files ChatterboxTurboTTS.from_local reads, from the library's own constructors (its turbo T3 config)."""
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.t3.modules.t3_config import T3Config
    from chatterbox.models.voice_encoder import VoiceEncoder

    hp = T3Config(text_tokens_dict_size=50276)           # as from_local sets it up
    hp.llama_config_name, hp.speech_tokens_dict_size, hp.input_pos_emb = "GPT2_medium", 6563, None
    hp.speech_cond_prompt_len, hp.use_perceiver_resampler, hp.emotion_adv = 375, False, False
    for name, build in (("ve.safetensors", VoiceEncoder), ("t3_turbo_v1.safetensors", lambda: T3(hp)),
                        ("s3gen_meanflow.safetensors", lambda: S3Gen(meanflow=True))):
        module = build()
        save_state(module, path / name)
        del module
    gpt2_tokenizer_files(path)


# -- chatterbox-multilingual --------------------------------------------------------------------------------------
CANGJIE = ["你\tonf", "好\tvnd"]       # the entry format of Cangjie5_TC.json: "glyph<TAB>code"


def grapheme_tokenizer_json() -> str:
    """A character-level tokenizer in MTLTokenizer's layout ([STOP]=0 ... [START]=255, [xx] language and
    [cj_*] tokens; ids < 2454, T3Config.multilingual()'s text vocabulary)."""
    from backends.chatterbox_multilingual import LANGUAGES

    specials = {"[STOP]": 0, "[UNK]": 1, "[SPACE]": 2, "[START]": 255}
    chars = "abcdefghijklmnopqrstuvwxyz0123456789.,!?'\"-:;()\u0300\u0301\u0302\u0303\u0308\u0327"  # NFKD marks
    vocab = {**specials, **{c: 3 + i for i, c in enumerate(chars)}}
    vocab.update({f"[unused{i}]": i for i in range(len(vocab) - 1, 255)})   # no holes below [START]
    extra = [f"[{code}]" for code in LANGUAGES] + [f"[cj_{c}]" for c in "abcdefghijklmnopqrstuvwxyz."]
    vocab.update({token: 256 + i for i, token in enumerate(extra)})
    return char_tokenizer_json(vocab, [*specials, *extra])


def write_random_chatterbox_multilingual(path: Path) -> None:
    """The files ChatterboxMultilingualTTS.from_local reads (ve.pt and s3gen.pt are torch state dicts)."""
    import torch
    from chatterbox.models.s3gen import S3Gen
    from chatterbox.models.t3 import T3
    from chatterbox.models.t3.modules.t3_config import T3Config
    from chatterbox.models.voice_encoder import VoiceEncoder

    torch.save(VoiceEncoder().state_dict(), path / "ve.pt")
    t3 = T3(T3Config.multilingual())
    save_state(t3, path / "t3_mtl23ls_v2.safetensors")
    del t3
    s3gen = S3Gen()
    torch.save(s3gen.state_dict(), path / "s3gen.pt")
    del s3gen
    (path / "grapheme_mtl_merged_expanded_v1.json").write_text(grapheme_tokenizer_json(), encoding="utf-8")
    (path / "Cangjie5_TC.json").write_text(json.dumps(CANGJIE, ensure_ascii=False), encoding="utf-8")


# -- xtts ---------------------------------------------------------------------------------------------------------
def char_vocab_json() -> str:
    """A character-level tokenizer in the layout VoiceBpeTokenizer expects ([STOP] [UNK] [SPACE] [lang] [START])."""
    from backends.xtts import LANGUAGES

    specials = ["[STOP]", "[UNK]", "[SPACE]", *(f"[{lang}]" for lang in LANGUAGES), "[START]"]
    chars = "abcdefghijklmnopqrstuvwxyz0123456789.,!?'\"-:;()"
    return char_tokenizer_json({token: i for i, token in enumerate([*specials, *chars])}, specials)


def small_xtts_config():
    """XTTS-v2's own config with a 2-layer, 256-wide GPT (the decoder and speaker encoder keep their real size)."""
    from TTS.tts.configs.xtts_config import XttsArgs, XttsConfig

    args = XttsArgs(gpt_layers=2, gpt_n_model_channels=256, gpt_n_heads=4, decoder_input_dim=256,
                    gpt_num_audio_tokens=1026, gpt_start_audio_token=1024, gpt_stop_audio_token=1025,
                    gpt_use_perceiver_resampler=True, gpt_max_audio_tokens=605, gpt_max_text_tokens=402,
                    gpt_max_prompt_tokens=70)
    return XttsConfig(model_args=args, temperature=0.75, repetition_penalty=5.0, gpt_cond_len=6,
                      gpt_cond_chunk_len=2, max_ref_len=10)


def write_random_xtts(path: Path) -> None:
    """config.json, model.pth, vocab.json and speakers_xtts.pth as Xtts.load_checkpoint reads them."""
    import torch
    from TTS.tts.layers.xtts.tokenizer import VoiceBpeTokenizer
    from TTS.tts.models.xtts import Xtts

    (path / "vocab.json").write_text(char_vocab_json(), encoding="utf-8")
    config = small_xtts_config()
    model = Xtts(config)
    model.tokenizer = VoiceBpeTokenizer(vocab_file=str(path / "vocab.json"))
    model.init_models()                                   # what load_checkpoint does once it has the vocab
    torch.save({"model": model.state_dict()}, path / "model.pth")
    config.save_json(str(path / "config.json"))
    # one stock speaker, as the hub's speakers_xtts.pth holds them: name -> latents
    clip = torch.from_numpy(reference_clip(22_050))[None]
    model.eval()
    speakers = {"Test Speaker": {"gpt_cond_latent": model.get_gpt_cond_latents(clip, 22_050, 6, 2).clone(),
                                 "speaker_embedding": model.get_speaker_embedding(clip, 22_050).clone()}}
    torch.save(speakers, path / "speakers_xtts.pth")
    del model


# -- f5 -----------------------------------------------------------------------------------------------------------
# charactr/vocos-mel-24khz's own config.yaml (what load_vocoder(is_local=True) reads)
VOCOS_CONFIG = """\
feature_extractor:
  class_path: vocos.feature_extractors.MelSpectrogramFeatures
  init_args:
    sample_rate: 24000
    n_fft: 1024
    hop_length: 256
    n_mels: 100
    padding: center
backbone:
  class_path: vocos.models.VocosBackbone
  init_args:
    input_channels: 100
    dim: 512
    intermediate_dim: 1536
    num_layers: 8
head:
  class_path: vocos.heads.ISTFTHead
  init_args:
    dim: 512
    n_fft: 1024
    hop_length: 256
    padding: center
"""


def small_f5_yaml() -> str:
    """The package's F5TTS_v1_Base.yaml with a 2-layer, 128-wide DiT."""
    from importlib.resources import files

    from omegaconf import OmegaConf

    cfg = OmegaConf.load(str(files("f5_tts").joinpath("configs/F5TTS_v1_Base.yaml")))
    cfg.model.name = "F5TTS_v1_Small_test"
    cfg.model.arch.update({"dim": 128, "depth": 2, "heads": 2, "text_dim": 64, "conv_layers": 1})
    return OmegaConf.to_yaml(cfg)


def write_random_f5(path: Path) -> None:
    """The checkpoint, vocab, model config and vocos files where the backend's loading path reads them."""
    from importlib.resources import files

    import torch
    from f5_tts.infer.utils_infer import hop_length, n_fft, n_mel_channels, target_sample_rate, win_length
    from f5_tts.model import CFM, DiT
    from f5_tts.model.utils import get_tokenizer
    from omegaconf import OmegaConf
    from safetensors.torch import save_file
    from vocos import Vocos

    from backends.f5 import CHECKPOINT, VOCAB

    (path / CHECKPOINT).parent.mkdir(parents=True)
    shutil.copyfile(str(files("f5_tts").joinpath("infer/examples/vocab.txt")), path / VOCAB)   # the real vocab
    (path / "model.yaml").write_text(small_f5_yaml(), encoding="utf-8")
    arch = OmegaConf.to_container(OmegaConf.load(path / "model.yaml").model.arch)
    vocab_char_map, vocab_size = get_tokenizer(str(path / VOCAB), "custom")
    model = CFM(transformer=DiT(**arch, text_num_embeds=vocab_size, mel_dim=n_mel_channels),
                mel_spec_kwargs=dict(n_fft=n_fft, hop_length=hop_length, win_length=win_length,
                                     n_mel_channels=n_mel_channels, target_sample_rate=target_sample_rate,
                                     mel_spec_type="vocos"),
                odeint_kwargs=dict(method="euler"), vocab_char_map=vocab_char_map)
    # the released checkpoints hold the EMA weights under "ema_model."
    save_file({f"ema_model.{k}": v.detach().clone().contiguous() for k, v in model.state_dict().items()},
              path / CHECKPOINT)
    (path / "vocos").mkdir()
    (path / "vocos" / "config.yaml").write_text(VOCOS_CONFIG, encoding="utf-8")
    vocos = Vocos.from_hparams(str(path / "vocos" / "config.yaml"))
    torch.save(vocos.state_dict(), path / "vocos" / "pytorch_model.bin")


# -- higgs --------------------------------------------------------------------------------------------------------
HIGGS_CODEBOOKS = 4             # the released tokenizer and model use 8
HIGGS_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
                  "<|eom_id|>", "<|recipient|>", "<|audio_bos|>", "<|audio_eos|>", "<|audio_out_bos|>", "<|AUDIO|>",
                  "<|AUDIO_OUT|>", "<|scene_desc_start|>", "<|scene_desc_end|>"]
AUDIO_TOKENIZER_CONFIG = {      # bosonai/higgs-audio-v2-tokenizer's layout, with fewer codebooks
    "n_filters": 32, "D": 128, "target_bandwidths": [0.5, 1, 1.5, 2], "ratios": [8, 5, 4, 2, 3],
    "sample_rate": 24000, "bins": 1024, "n_q": HIGGS_CODEBOOKS, "semantic_techer": "hubert_base_general",
    "last_layer_semantic": True, "merge_mode": "concat", "downsample_mode": "step_down", "semantic_mode": "classic",
    "vq_scale": 1, "semantic_sample_rate": 16000,
}


def higgs_text_tokenizer(path: Path) -> dict[str, int]:
    """A character-level fast tokenizer with the Llama-3 / Higgs special tokens; their ids."""
    from tokenizers import Tokenizer, decoders
    from transformers import PreTrainedTokenizerFast

    chars = [chr(c) for c in range(32, 127)] + ["\n", "\n\n"]
    vocab = {"[UNK]": 0, **{ch: i + 1 for i, ch in enumerate(chars)}}
    tokenizer = Tokenizer.from_str(char_tokenizer_json(vocab, HIGGS_SPECIALS))
    tokenizer.decoder = decoders.Fuse()       # generate()'s stop strings decode tokens back to text
    (path / "tokenizer.json").write_text(tokenizer.to_str(), encoding="utf-8")
    (path / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|begin_of_text|>",
         "eos_token": "<|end_of_text|>", "unk_token": "[UNK]"}), encoding="utf-8")
    tok = PreTrainedTokenizerFast(tokenizer_file=str(path / "tokenizer.json"))
    return {name: tok.convert_tokens_to_ids(name) for name in HIGGS_SPECIALS} | {"size": len(tok)}


def tiny_higgs(ids: dict[str, int]):
    """HiggsAudioModel from the library's own config class: 2 Llama layers, 64 wide, dual-FFN audio adapter."""
    from boson_multimodal.model.higgs_audio import HiggsAudioConfig, HiggsAudioModel

    text = {"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": ids["size"],
            "max_position_embeddings": 8192, "bos_token_id": ids["<|begin_of_text|>"],
            "eos_token_id": ids["<|end_of_text|>"]}
    encoder = {"num_mel_bins": 16, "encoder_layers": 1, "encoder_attention_heads": 2, "encoder_ffn_dim": 64,
               "d_model": 32, "max_source_positions": 64, "pad_token_id": ids["<|end_of_text|>"]}
    config = HiggsAudioConfig(
        text_config=text, audio_encoder_config=encoder, audio_adapter_type="dual_ffn_fast_forward",
        audio_dual_ffn_layers=[0, 1], audio_ffn_hidden_size=64, audio_ffn_intermediate_size=128,
        encode_whisper_embed=False, skip_audio_tower=True, use_delay_pattern=True,
        audio_num_codebooks=HIGGS_CODEBOOKS, audio_codebook_size=1024, audio_stream_bos_id=1024,
        audio_stream_eos_id=1025, audio_in_token_idx=ids["<|AUDIO|>"], audio_out_token_idx=ids["<|AUDIO_OUT|>"],
        pad_token_id=ids["<|end_of_text|>"], audio_out_bos_token_id=ids["<|audio_out_bos|>"],
        audio_eos_token_id=ids["<|audio_eos|>"], torch_dtype="float32")
    return HiggsAudioModel(config)


def write_random_higgs(path: Path) -> None:
    """The generation model (sharded safetensors + index), its text tokenizer, the audio tokenizer (config.json +
    model.pth) and the HuBERT semantic model, each where the backend's loading path reads it."""
    import torch
    from boson_multimodal.audio_processing.higgs_audio_tokenizer import HiggsAudioTokenizer
    from transformers import HubertConfig, HubertModel

    from backends.higgs import SEMANTIC_DIR, TOKENIZER_DIR, baked_hub_ids

    ids = higgs_text_tokenizer(path)
    tiny_higgs(ids).save_pretrained(path, max_shard_size="1MB", safe_serialization=True)
    HubertModel(HubertConfig(hidden_size=768, num_hidden_layers=1, num_attention_heads=12,
                             intermediate_size=256)).save_pretrained(path / SEMANTIC_DIR)
    (path / TOKENIZER_DIR).mkdir()
    (path / TOKENIZER_DIR / "config.json").write_text(json.dumps(AUDIO_TOKENIZER_CONFIG), encoding="utf-8")
    with baked_hub_ids(path):
        tokenizer = HiggsAudioTokenizer(**AUDIO_TOKENIZER_CONFIG, device="cpu")
    torch.save(tokenizer.state_dict(), path / TOKENIZER_DIR / "model.pth")


WRITERS = {
    "chatterbox": write_random_chatterbox,
    "chatterbox-turbo": write_random_chatterbox_turbo,
    "chatterbox-multilingual": write_random_chatterbox_multilingual,
    "xtts": write_random_xtts,
    "f5": write_random_f5,
    "higgs": write_random_higgs,
}
#: the venv (scripts/setup_torch_venv.sh LIBRARY) whose library builds each backend's weights
LIBRARY = {"chatterbox": "chatterbox", "chatterbox-turbo": "chatterbox", "chatterbox-multilingual": "chatterbox",
           "xtts": "xtts", "f5": "f5", "higgs": "higgs"}


def write_random(backend: str, path: Path, seed: int = 0) -> None:
    """`backend`'s random weights into the empty directory `path` (no manifest: a bake or random_bake writes one)."""
    import torch

    torch.manual_seed(seed)
    started = time.perf_counter()
    WRITERS[backend](path)
    log.info("built random %s weights in %s in %.1f s", backend, path, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backend", choices=sorted(WRITERS))
    parser.add_argument("dest", type=Path, help="a new or empty directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.dest.exists() and any(args.dest.iterdir()):
        parser.error(f"{args.dest} is not empty")
    args.dest.mkdir(parents=True, exist_ok=True)
    write_random(args.backend, args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
