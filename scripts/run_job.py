"""Run a job file through the same handler RunPod calls, save the audio and say what happened."""
from __future__ import annotations

import argparse
import base64
import json
import sys
import time
from pathlib import Path

from common.logs import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("job", type=Path, help="a JSON file like test_input.json ({\"input\": {...}})")
    parser.add_argument("--out", type=Path, default=Path("out"), help="directory for the audio")
    args = parser.parse_args(argv)
    setup_logging()

    started = time.perf_counter()
    import handler  # the RunPod entry module; the worker is built on first use

    job = json.loads(args.job.read_text())
    worker = handler.get_worker()
    ready = time.perf_counter()
    result = handler.handler({"id": "local-" + time.strftime("%Y%m%d-%H%M%S"), "input": job.get("input", job)})
    if "error" in result:
        print(f"job failed: {result['error']}", file=sys.stderr)
        return 1
    summary = {k: v for k, v in result.items() if k != "audio_base64"}
    if "audio_base64" in result:
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / f"{args.job.stem}.{'ogg' if result['format'] == 'opus' else result['format']}"
        path.write_bytes(base64.b64decode(result["audio_base64"]))
        summary["saved_to"] = str(path)
    summary["startup_s"] = round(ready - started, 2)
    summary["backend_revision"] = getattr(getattr(worker, "backend", None), "revision", None)
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
