"""Streaming: time to the first audio chunk (`stream: true`) versus the whole result, for a 2,000-character text."""
from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time

from backends.kokoro import KokoroBackend
from bench.common import interleaved, save, summary
from common.logs import setup_logging
from jobcore.settings import Settings
from jobcore.worker import Worker

log = logging.getLogger(__name__)
ROUNDS = 1
VOICE = "jm_kumo"
PASSAGE = (
    "The lighthouse on Gull Point was built in 1874, after three ships were lost on the reef in a single winter. "
    "For the next ninety years a keeper climbed its 112 steps every evening to light the lamp. "
    "The last keeper, a woman named Ada Pearce, kept a logbook from 1951 to 1963. "
    "Her entries are short and practical. She noted the wind, the state of the sea and the ships that passed. "
    "On a calm night she might write only two words: all quiet. "
    "On the night of 14 March 1958 she wrote four pages. "
    "A storm had come in from the southwest with gusts of more than 70 miles per hour. "
    "A fishing boat with six men on board had lost its engine about 2 miles off the point. "
    "Ada could see its lights rising and falling between the waves. "
    "She telephoned the harbour master, then kept the lamp turning and watched. "
    "The lifeboat reached the fishing boat at a quarter past eleven, and all six men came home. "
    "Today the lighthouse is automatic. A small solar panel charges the batteries, and the lamp is an LED "
    "that uses about 40 watts, less than a household light bulb. "
    "The keeper's cottage has become a museum. Visitors can read a copy of the logbook, climb the stairs and "
    "look out over the reef where the old wrecks still lie. "
    "About 25,000 people visit each summer. Most of them come for the view. "
    "Some of them come for Ada, and they leave notes in the guest book thanking her. "
    "One note, written by a girl of nine, says simply: thank you for watching. "
    "Last year the museum counted 312 notes like it, in 14 languages, and the curator has started to collect "
    "them in a folder behind the front desk. "
    "The oldest visitor so far was 97, a retired sailor who said he had seen the light from the deck of a "
    "cargo ship in 1946 and had always wanted to stand beside it. "
    "The museum's curator says that line is the best summary of the keeper's job she has ever read. "
    "In the winter the museum closes, the visitors leave, and the lamp goes on turning by itself, "
    "every ten seconds, all night long, as it has for more than 150 years."
)


def run() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        worker = Worker.from_settings(Settings(voice_library_uri=tmp))   # CPU default, warmed up
        job = {"text": PASSAGE, "voice": VOICE, "format": "mp3", "output": "base64"}
        firsts: list[float] = []
        stream_totals: list[float] = []
        audio_s: list[float] = []

        def stream():
            started, first = time.perf_counter(), None
            for item in worker.stream({**job, "stream": True}):
                assert "error" not in item, item
                if first is None:
                    first = time.perf_counter() - started
                if item.get("done"):
                    audio_s.append(item["duration_s"])
            firsts.append(first)
            stream_totals.append(time.perf_counter() - started)

        def handle():
            assert "audio_base64" in worker.handle(job)

        # the same worker with sentences one after another on one all-core session (TTS_THREADS set explicitly)
        sequential = Worker(worker.settings, KokoroBackend.load(None, threads=os.cpu_count() or 1), worker.library)

        def handle_sequential():
            assert "audio_base64" in sequential.handle(job)

        times = interleaved({"handle_whole_result": handle, "stream": stream,
                             "handle_sentences_sequential": handle_sequential}, ROUNDS, warmup=0)
    times = {"first_chunk": firsts, "stream_all_chunks": times["stream"],
             "handle_whole_result": times["handle_whole_result"],
             "handle_sentences_sequential": times["handle_sentences_sequential"]}
    result = {"benchmark": "streaming", "chars": len(PASSAGE), "audio_s": audio_s[-1],
              **summary(times, "handle_whole_result"),
              "first_chunk_over_stream_total": round(statistics.median(f / t for f, t in zip(firsts, stream_totals)),
                                                     4),
              "notes": "One round = a Worker.handle job and a `stream: true` Worker.stream job of the same text "
                       "(mp3, base64), back to back. first_chunk = until the first sentence's chunk is yielded; "
                       "stream_all_chunks = until the summary item. handle_sentences_sequential = the same job with "
                       "every sentence on one all-core session (TTS_THREADS set), i.e. without Kokoro's per-core "
                       "sentence parallelism. Ratios are to handle_whole_result."}
    save("streaming", result)
    return result


if __name__ == "__main__":
    setup_logging(level="WARNING")
    print(run())
