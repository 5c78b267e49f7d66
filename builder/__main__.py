"""Command line: `python -m builder bake ...` and `python -m builder voices import ...`."""
from __future__ import annotations

import argparse
import logging
import sys
from collections import Counter
from pathlib import Path

from common.errors import JobError
from common.logs import setup_logging

log = logging.getLogger("builder")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m builder", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    bake = commands.add_parser("bake", help="put a backend's weights in a directory, with manifest.json")
    bake.add_argument("--backend", required=True)
    bake.add_argument("--dest", required=True, help="the model directory (MODEL_DIR at run time)")
    bake.add_argument("--source", help="a local directory, or a Hugging Face repo id (default: the backend's own)")
    bake.add_argument("--revision", help="hub revision (branch, tag or commit) to download; default: the backend's "
                                         "pinned commit, else the head of main (its commit goes in the manifest)")
    bake.add_argument("--whisper", help="also bake a whisper model for automatic transcripts into DEST/whisper: "
                                        "a faster-whisper name (e.g. small.en) or a local CTranslate2 model directory")
    voices = commands.add_parser("voices", help="voice library tools")
    voice_commands = voices.add_subparsers(dest="voices_command", required=True)
    imp = voice_commands.add_parser("import", help="import a folder of clips (wav/flac/ogg/mp3 + optional .txt)")
    imp.add_argument("directory")
    imp.add_argument("--library", required=True, help="a directory or s3://bucket/prefix")
    imp.add_argument("--backend", help="the backend that embeds the voices (default: TTS_BACKEND)")
    imp.add_argument("--fit", action=argparse.BooleanOptionalAction, default=None,
                     help="fit a voice to each clip (default: the backend's choice; Kokoro fits, about a minute a "
                          "clip on 2 cores); --no-fit stores the clips only")
    args = parser.parse_args(argv)
    setup_logging()

    if args.command == "bake":
        from .bake import BakeError, bake as run_bake

        try:
            manifest = run_bake(args.backend, args.dest, args.source, args.revision, args.whisper)
        except (BakeError, JobError, OSError) as exc:
            log.error("bake failed: %s", exc)
            return 1
        log.info("baked %s into %s: %d files, revision %s (source %s@%s)", args.backend, args.dest,
                 len(manifest["files"]), manifest["revision"], manifest["source"], manifest["source_revision"])
        return 0

    from .voices import find_clips, import_voices

    directory = Path(args.directory)
    if not directory.is_dir() or not find_clips(directory):
        log.error("%s holds no audio clips (%s)", directory, ", ".join(("wav", "flac", "ogg", "mp3")))
        return 1
    try:
        results = import_voices(directory, args.library, args.backend, fit=args.fit)
    except JobError as exc:
        log.error("voice import failed: %s (%s)", exc.message, exc.hint or "")
        return 1
    counts = Counter(r.status for r in results)
    log.info("voices import: %d created, %d skipped, %d failed", counts["created"], counts["skipped"],
             counts["failed"])
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
