"""Kokoro word timestamps: synthesis on the original graph versus the graph with its durations output plus word
mapping, and whole jobs with and without `timestamps: "word"`."""
from __future__ import annotations

import copy
import tempfile

import onnxruntime as ort

from backends.kokoro import KokoroBackend, onnx_session, phoneme_pieces, read_bundled_model
from bench.common import interleaved, save, summary
from jobcore.pipeline import prepare_text
from jobcore.settings import Settings
from jobcore.worker import Worker

ROUNDS = 5
VOICE = "jf_tebukuro"
TEXT = ("On March 3rd, 2024, the ferry left the harbor at 7:45 with 312 passengers aboard. "
        "The sea was calm, and the captain expected to arrive in about 90 minutes.")


def run() -> dict:
    backend = KokoroBackend.load(None, threads=2)
    plain = copy.copy(backend)                       # the same code on the graph as shipped (no extra output)
    plain.session, plain.timed = onnx_session(ort, read_bundled_model()[0], 2), False
    style = next(v for v in backend.stock_voices() if v.id == VOICE).embedding
    sentences = prepare_text(TEXT, backend.capabilities.max_chars)
    with tempfile.TemporaryDirectory() as lib:
        worker = Worker.from_settings(Settings(backend="kokoro", voice_library_uri=lib, warmup=False), backend=backend)
        job = {"text": TEXT, "format": "wav", "voice": VOICE}

        def before():                                # what synthesis did before word timestamps existed
            return [backend.infer(p, style["style"], 1.0, plain.session) for s in sentences
                    for p in phoneme_pieces(backend.phonemize(s))]

        def with_words():
            chunks = [c for s in sentences for c in backend.synthesize(s, style)]
            assert all(c.words for c in chunks)
            return chunks

        times = interleaved({
            "synth_plain_graph": before,
            "synth_with_words": with_words,
            "job_sentence_timestamps": lambda: worker.handle(job),
            "job_word_timestamps": lambda: worker.handle({**job, "timestamps": "word", "captions": "vtt"}),
        }, ROUNDS)
    result = summary(times, "synth_plain_graph")
    medians = result["median_ms"]
    result["word_cost_synthesis"] = round(medians["synth_with_words"] / medians["synth_plain_graph"] - 1, 4)
    result["word_cost_job"] = round(medians["job_word_timestamps"] / medians["job_sentence_timestamps"] - 1, 4)
    result["notes"] = ("synth_* = the backend alone on two sentences (2 threads); job_* = Worker.handle, wav, "
                       "the job with words also writes word-level VTT captions. word_cost_* = extra time "
                       "relative to the variant without words.")
    save("word_timestamps", result)
    return result
