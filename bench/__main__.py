"""`python -m bench [name ...]`: run the benchmarks and rewrite BENCHMARKS.md from their JSON results."""
from __future__ import annotations

import importlib
import json
import logging
import sys
from pathlib import Path

from bench.common import RESULTS_DIR, machine

BENCHMARKS = [
    "voice_quality",
    "voice_resolution",
    "handler_overhead",
    "kokoro_vs_kokoro_onnx",
    "cold_start",
    "streaming",
    "server_throughput",
    "output_cache",
    "batch",
]
EXTRA_TABLES = ("rtf", "breakdown_median_ms", "worker_stage_share", "hot_spots_ms", "levels")   # extra tables
SCALARS = ("paired_ratio_median", "non_synth_share", "first_chunk_over_stream_total", "audio_s", "chars", "kokoro_onnx")
REPORT = RESULTS_DIR.parent / "BENCHMARKS.md"


def render() -> str:
    lines = ["# Benchmarks", "", "Written by `make bench` (`python -m bench`); raw numbers in `bench/results/*.json`.",
             "Every ratio compares things measured side by side, interleaved, in one run on one machine.", "",
             f"Machine of the last run: {json.dumps(machine())}", ""]
    for name in BENCHMARKS:
        path = RESULTS_DIR / "results" / f"{name}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        module = importlib.import_module(f"bench.{name}")
        lines += [f"## {name}", "", (module.__doc__ or "").strip(), "", f"Run on {data['machine']['date']}, "
                  f"{data.get('rounds', '?')} rounds.", ""]
        ratio_key = next(k for k in data if k.startswith("ratio_to_"))
        lines += [f"| variant | median ms | {ratio_key.replace('_', ' ')} |", "|---|---|---|"]
        for variant, ms in data["median_ms"].items():
            lines.append(f"| {variant} | {ms} | {data[ratio_key][variant]} |")
        lines.append("")
        facts = [f"{k} = {data[k]}" for k in SCALARS if k in data]
        if facts:
            lines += ["; ".join(facts), ""]
        for key in EXTRA_TABLES:
            if key in data:
                rows = data[key].items() if isinstance(data[key], dict) else data[key]
                lines += [f"| {key} | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows), ""]
        if data.get("notes"):
            lines += [data["notes"], ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    for name in argv or BENCHMARKS:
        importlib.import_module(f"bench.{name}").run()
    REPORT.write_text(render())
    print(f"wrote {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
