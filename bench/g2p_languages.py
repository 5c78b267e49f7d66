"""Kokoro's G2P per language: its share of a sentence's synthesis time (G2P + ONNX, one thread pool, interleaved),
and what loading each language's G2P costs on its first use (a fresh process per language: imports included)."""
from __future__ import annotations

import json
import subprocess
import sys

from backends.kokoro import KokoroBackend
from bench.common import interleaved, save, summary
from jobcore.pipeline import prepare_text

ROUNDS = 3
VOICE = "jf_tebukuro"
TEXTS = {
    "en": "The ferry left the harbor at 7:45 with 312 passengers. The sea was calm.",
    "en-gb": "The colour of the harbour was grey at 6 o'clock. The theatre opened at 7.",
    "ja": "今日は12月2日です。会議は午後3時に始まります。",
    "zh": "我有3个苹果和2本书。今天天气很好。",
    "es": "Hola, me llamo Carlos. Tengo 3 hijos y el libro cuesta 12 €.",
    "fr": "Bonjour, je m'appelle Marie. J'ai 3 enfants et nous habitons à Paris depuis 10 ans.",
    "it": "Ciao, mi chiamo Marco. Ho 3 figli e viviamo a Roma da 10 anni.",
    "pt-br": "Olá, meu nome é Ana. Tenho 3 filhos e moramos em São Paulo há 10 anos.",
    "hi": "मेरे पास 25 किताबें हैं। आज मौसम बहुत अच्छा है।",
}
_LOAD = """
import json, sys, time
from hibari.g2p import G2P
from backends.kokoro_g2p import Phonemizers
phonemizers = Phonemizers(G2P())
started = time.perf_counter()
phonemizers.spoken("x", sys.argv[1])
print(json.dumps(round(time.perf_counter() - started, 3)))
"""


def load_seconds(language: str) -> float:
    """The first sentence's G2P in a fresh process, hibari already loaded (the backend loads it at start-up)."""
    out = subprocess.run([sys.executable, "-c", _LOAD, language], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run() -> dict:
    backend = KokoroBackend.load(None, threads=2)
    style = next(v for v in backend.stock_voices() if v.id == VOICE).embedding["style"]
    sentences = {lang: prepare_text(text, backend.capabilities.max_chars, lang) for lang, text in TEXTS.items()}
    candidates = {}
    for lang, said in sentences.items():
        candidates[f"{lang}_g2p"] = lambda said=said, lang=lang: [backend._spoken(s, lang) for s in said]
        candidates[f"{lang}_synthesis"] = lambda said=said, lang=lang: [
            backend._sentence(s, style, 1.0, backend.session, lang) for s in said]
    times = interleaved(candidates, ROUNDS)
    result = summary(times, "en_synthesis")
    medians = result["median_ms"]
    result["levels"] = {lang: {"g2p_ms": medians[f"{lang}_g2p"], "synthesis_ms": medians[f"{lang}_synthesis"],
                               "g2p_share": round(medians[f"{lang}_g2p"] / medians[f"{lang}_synthesis"], 3),
                               "first_load_s": 0.0 if lang == "en" else load_seconds(lang)}
                        for lang in TEXTS}
    result["notes"] = (f"Each language's two sentences on {VOICE} (2 threads): *_g2p = phonemes only, *_synthesis = "
                       "phonemes + the model (what a job does per sentence, without encoding). first_load_s = the "
                       "first sentence's G2P in a fresh process (imports, dictionaries; English: loaded at start-up, "
                       "beside the model). Start-up loads none of the others.")
    save("g2p_languages", result)
    return result


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
