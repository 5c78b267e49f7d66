"""`python -m bench [name ...]`: run the benchmarks and rewrite BENCHMARKS.md from their JSON results
(`python -m bench --render`: rewrite it from the stored results without running anything)."""
from __future__ import annotations

import importlib
import importlib.util
import json
import logging
import sys

from bench.common import RESULTS_DIR, machine
from common.logs import setup_logging

BENCHMARKS = [
    "voice_quality",
    "voice_resolution",
    "handler_overhead",
    "kokoro_vs_kokoro_onnx",
    "kokoro_peers",  # needs fastkokoro in .venv-fastkokoro (`make bench` installs it)
    "kokoro_graph",
    "cold_start",
    "streaming",
    "stream_encoding",
    "server_throughput",
    "word_timestamps",
    "g2p_languages",
    "document_fanout",
    "output_cache",
    "batch",
    "voice_fit",     # RESEMBLYZER_PYTHON=<a python with torch + resemblyzer> adds resemblyzer's own scores
    "container_start",   # needs Docker and the image (make test-image builds tts-worker:kokoro-test); skipped without
    "gpu_start",     # needs chatterbox-tts: `.venv-chatterbox/bin/python -m bench gpu_start` (make test-slow builds it)
]
# extra tables: result key -> (first column, value column); `levels` rows are dicts, one column per field
EXTRA_TABLES = {"rtf": ("variant", "real-time factor"), "breakdown_median_ms": ("step", "median ms"),
                "worker_stage_share": ("stage", "share of the job's time"), "hot_spots_ms": ("function", "own ms"),
                "levels": ("variant", None), "wer_by_voice": ("voice", None),
                "judged_by_resemblyzer_torch": ("voice", "similarity, resemblyzer's torch encoder"),
                "by_image": ("image", None)}
SCALARS = ("load_average", "overhead_ms", "image_mb", "word_cost_synthesis", "word_cost_job", "paired_ratio_median",
           "non_synth_share", "first_chunk_over_stream_total", "audio_s", "chars", "kokoro_onnx", "weights_gb", "torch",
           "long_text_time_ratio", "fastkokoro", "fitted_similarity", "nearest_stock_voice", "nearest_stock_similarity",
           "fit_report_similarity", "fit_s", "fit_weights", "mean_wer", "session_build_ms")
REPORT = RESULTS_DIR.parent / "BENCHMARKS.md"


def main_columns(module, ratio_key: str) -> tuple[str, str, str]:
    """The main table's headers: the module's COLUMNS when its `median_ms` holds something else than times."""
    return getattr(module, "COLUMNS", ("variant", "median ms", ratio_key.replace("_", " ")))


def table(key: str, value, row_name: str) -> list[str]:
    first, second = EXTRA_TABLES[key]
    first = row_name if first == "variant" else first
    rows = list(value.items() if isinstance(value, dict) else value)
    if rows and isinstance(rows[0][1], dict):      # one column per field of the row
        fields = list(rows[0][1])
        return [f"| {first} | {' | '.join(fields)} |", "|---|" + "---|" * len(fields),
                *(f"| {k} | {' | '.join(str(v.get(f)) for f in fields)} |" for k, v in rows), ""]
    return [f"| {first} | {second} |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows), ""]


def render() -> str:
    results = {name: json.loads(path.read_text()) for name in BENCHMARKS
               if (path := RESULTS_DIR / "results" / f"{name}.json").exists()}
    latest = max((data["machine"] for data in results.values()), key=lambda m: m["date"], default=machine())
    lines = ["# Benchmarks", "", "Written by `make bench` (`python -m bench`); raw numbers in `bench/results/*.json`.",
             "Every ratio compares things measured side by side, interleaved, in one run on one machine.", "",
             f"Machine of the last run: {json.dumps(latest)}", ""]
    for name, data in results.items():
        module = importlib.import_module(f"bench.{name}")
        lines += [f"## {name}", "", (module.__doc__ or "").strip(), "", f"Run on {data['machine']['date']}, "
                  f"{data.get('rounds', '?')} rounds.", ""]
        ratio_key = next(k for k in data if k.startswith("ratio_to_"))
        lines += ["| {} | {} | {} |".format(*main_columns(module, ratio_key)), "|---|---|---|"]
        for variant, ms in data["median_ms"].items():
            lines.append(f"| {variant} | {ms} | {data[ratio_key][variant]} |")
        lines.append("")
        facts = [f"{k} = {data[k]}" for k in SCALARS if k in data]
        if facts:
            lines += ["; ".join(facts), ""]
        for key in EXTRA_TABLES:
            if key in data:
                lines += table(key, data[key], main_columns(module, ratio_key)[0])
        if data.get("notes"):
            lines += [data["notes"], ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    setup_logging(level="WARNING")
    for name in [] if argv == ["--render"] else argv or BENCHMARKS:
        module = importlib.import_module(f"bench.{name}")
        needs = getattr(module, "NEEDS", None)
        if needs and importlib.util.find_spec(needs.partition(".")[0]) is None:
            logging.warning("skipping %s: it needs %s (see bench/%s.py)", name, needs, name)
            continue
        module.run()
    REPORT.write_text(render())
    print(f"wrote {REPORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
