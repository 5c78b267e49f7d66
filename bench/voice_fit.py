"""Voices from a clip on Kokoro: speaker similarity to a clip of a voice Kokoro does not have (hibari's "heart"),
the voice fitted to it versus the nearest stock voice, judged on a text the clip does not say."""
from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from backends.speaker_encoder import SpeakerEncoder
from bench.common import save
from jobcore import audio
from jobcore.settings import Settings
from jobcore.worker import Worker

log = logging.getLogger(__name__)
CLIP_TEXT = ("Every morning I walk along the river and count the boats that pass by. Some are painted red, "
             "some are blue, and one old barge has no paint left at all.")
# judged on several sentences the fit never heard: one sentence's similarity moves by ±0.03, as much as the
# bundled stock voices differ from each other
HELD_OUT = ("The library closes early on Sundays, so we met at the cafe across the street instead.",
            "I left my umbrella on the train this morning, and by noon the rain had soaked my coat through.",
            "A good map shows the rivers, the roads and the hills, but never the weather you will meet.",
            "When the kettle whistled, everyone in the kitchen stopped talking and looked at the clock.")
COLUMNS = ("voice", "similarity to the clip", "ratio to the fitted voice")
JUDGE = """
import json, sys
import soundfile as sf
from resemblyzer import VoiceEncoder, preprocess_wav
encoder = VoiceEncoder(device="cpu", verbose=False)
def embed(path):
    x, r = sf.read(path, dtype="float32")
    return encoder.embed_utterance(preprocess_wav(x, source_sr=r))
clip = embed(sys.argv[1])
print(json.dumps({p: float(embed(p) @ clip) for p in sys.argv[2:]}))
"""


def wav(result: dict) -> tuple[np.ndarray, int]:
    return audio.decode(base64.b64decode(result["audio_base64"]))


def run() -> dict:
    encoder = SpeakerEncoder.load()
    with tempfile.TemporaryDirectory() as tmp:
        hibari = Worker.from_settings(Settings(backend="hibari", voice_library_uri=f"{tmp}/h", warmup=False))
        kokoro = Worker.from_settings(Settings(voice_library_uri=f"{tmp}/k", warmup=False))
        clip = hibari.handle({"text": CLIP_TEXT, "voice": "heart", "format": "wav"})
        started = time.perf_counter()
        made = kokoro.handle({"action": "voices.create", "name": "Heart Match", "audio_base64": clip["audio_base64"]})
        fit_s = time.perf_counter() - started
        voice = made["voice"]
        samples, rate = wav(clip)
        target = encoder.embed(samples, rate)
        files: dict[str | tuple[str, int], Path] = {"clip": Path(tmp) / "clip.wav"}
        sf.write(files["clip"], samples, rate)
        similarity = {}
        candidates = {"heart (hibari, same speaker)": (hibari, "heart"), "fitted": (kokoro, voice["id"])}
        candidates |= {v["id"]: (kokoro, v["id"]) for v in kokoro.handle({"action": "voices.list"})["voices"]
                       if v["source"] == "stock"}
        per_sentence: dict[str, list[float]] = {}
        for name, (worker, voice_id) in candidates.items():
            per_sentence[name] = []
            for i, sentence in enumerate(HELD_OUT):
                spoken, spoken_rate = wav(worker.handle({"text": sentence, "voice": voice_id, "format": "wav"}))
                per_sentence[name].append(round(float(encoder.embed(spoken, spoken_rate) @ target), 4))
                files[(name, i)] = Path(tmp) / f"{len(files)}.wav"
                sf.write(files[(name, i)], spoken, spoken_rate)
            similarity[name] = round(float(np.mean(per_sentence[name])), 4)
        judged = None
        if os.environ.get("RESEMBLYZER_PYTHON"):      # resemblyzer's own (torch) encoder as a second judge
            spoken_files = [str(f) for key, f in files.items() if key != "clip"]
            out = subprocess.run([os.environ["RESEMBLYZER_PYTHON"], "-c", JUDGE, str(files["clip"]), *spoken_files],
                                 capture_output=True, text=True, check=True)
            by_path = json.loads(out.stdout.strip().splitlines()[-1])
            judged = {n: round(float(np.mean([by_path[str(files[(n, i)])] for i in range(len(HELD_OUT))])), 4)
                      for n in similarity}
    stock = {k: v for k, v in similarity.items() if k not in ("fitted", "heart (hibari, same speaker)")}
    nearest = max(stock, key=lambda k: stock[k])
    result = {"benchmark": "voice_fit", "median_ms": similarity,
              "ratio_to_fitted": {k: round(v / similarity["fitted"], 3) for k, v in similarity.items()},
              "rounds": 1, "fitted_similarity": similarity["fitted"], "nearest_stock_voice": nearest,
              "nearest_stock_similarity": stock[nearest], "fit_report_similarity": voice["fit_similarity"],
              "fit_weights": voice["blend"], "fit_s": round(fit_s, 1), "per_held_out_sentence": per_sentence,
              **({"judged_by_resemblyzer_torch": judged} if judged else {}),
              "notes": "Clip: hibari's 'heart' (a voice Kokoro does not have) saying CLIP_TEXT. 'fitted' = the "
                       "Kokoro voice voices.create made from that clip (fit by default, budget 40, then its held-out "
                       "check against the best stock voices). Similarity = cosine of speaker embeddings "
                       "(resemblyzer's encoder, run in numpy) between the clip and each voice saying a held-out "
                       "sentence, the mean over the four HELD_OUT sentences (per_held_out_sentence has each); "
                       "'heart (hibari, same speaker)' is the ceiling. fit_report_similarity is what the fit "
                       "reported (its own held-out check, on other sentences). "
                       "judged_by_resemblyzer_torch repeats the scoring with resemblyzer's own torch encoder."}
    save("voice_fit", result)
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    print(run())
