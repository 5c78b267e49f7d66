"""`python -m bench [name ...]`: run the benchmarks and rewrite BENCHMARKS.md from their JSON results."""
from __future__ import annotations

import importlib
import json
import logging
import sys
from pathlib import Path

from bench.common import RESULTS_DIR, machine

BENCHMARKS = ["voice_resolution"]
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
                  f"{data.get('rounds', '?')} rounds.", "", "| variant | median ms | ratio |", "|---|---|---|"]
        ratio_key = next(k for k in data if k.startswith("ratio_to_"))
        for variant, ms in data["median_ms"].items():
            lines.append(f"| {variant} | {ms} | {data[ratio_key][variant]} |")
        lines.append("")
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
