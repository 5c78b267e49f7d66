"""The `python -m client` command line: say, document, voices list|get|create|delete, info."""
from __future__ import annotations

import argparse
import base64
import json
import logging
import os
import sys
from pathlib import Path

from .api import TTSClient, TTSError
from .document import render_document
from .formats import FORMATS
from .output import fix_wav_sizes, output_format
from .retries import Retries
from .stitch import Pauses

EXIT_FAILED, EXIT_INTERRUPTED, EXIT_PIPE = 1, 130, 141      # 130, 141: as a shell reports SIGINT, SIGPIPE


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get("TTS_URL", "http://127.0.0.1:8000"),
                        help="endpoint base URL: the local server, or https://api.runpod.ai/v2/<endpoint_id> "
                             "(default: $TTS_URL or http://127.0.0.1:8000)")
    common.add_argument("--endpoint", metavar="ID", help="a RunPod endpoint id (instead of --url)")
    common.add_argument("--api-key", default=os.environ.get("TTS_API_KEY") or os.environ.get("RUNPOD_API_KEY"),
                        help="API key (default: $TTS_API_KEY or $RUNPOD_API_KEY)")
    common.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for a job")
    common.add_argument("--retries", type=int, default=2,
                        help="tries again after a failure that may pass (network, HTTP 5xx/429, a worker fault): "
                             "submit, poll and download failures all count (default 2)")
    common.add_argument("--deadline", type=float, metavar="SECONDS",
                        help="give up when the whole command has run this long, retries included")

    parser = argparse.ArgumentParser(prog=f"python -m {__package__}", description="Text to speech on a RunPod-style endpoint.")
    commands = parser.add_subparsers(dest="command", required=True)
    say = commands.add_parser("say", parents=[common], help="synthesize text into a file")
    say.add_argument("text")
    say.add_argument("--voice")
    say.add_argument("-o", "--out", default="out.mp3",
                     help="output file; its extension picks the format (.mp3 .ogg/.opus .aac .flac .wav .pcm)")
    say.add_argument("--format", choices=list(FORMATS), help="default: from --out")
    say.add_argument("--speed", type=float)
    say.add_argument("--stream", action="store_true", help="write sentence by sentence as audio arrives")

    doc = commands.add_parser("document", parents=[common],
                              help="speak a whole document (any length) over parallel jobs, resumable")
    doc.add_argument("file", help="a text or markdown file (# headings and 'Chapter N' lines mark chapters)")
    doc.add_argument("-o", "--out", default="book.mp3",
                     help="output file; its extension picks the format (.mp3 .ogg/.opus .aac .flac .wav .pcm)")
    doc.add_argument("--format", choices=list(FORMATS), help="default: from --out")
    doc.add_argument("--voice")
    doc.add_argument("--speed", type=float)
    doc.add_argument("--sample-rate", type=int)
    doc.add_argument("--parallel", type=int, default=4, help="jobs in flight at once (default 4)")
    doc.add_argument("--part-chars", type=int, default=1000, help="characters per job (default 1000)")
    doc.add_argument("--captions", choices=["srt", "vtt"], help="also write <stem>.srt or <stem>.vtt")
    pauses = Pauses()
    doc.add_argument("--sentence-pause", type=float, default=pauses.sentence,
                     help=f"seconds where a long paragraph is cut between jobs (default {pauses.sentence})")
    doc.add_argument("--paragraph-pause", type=float, default=pauses.paragraph,
                     help=f"seconds between paragraphs (default {pauses.paragraph})")
    doc.add_argument("--chapter-pause", type=float, default=pauses.chapter,
                     help=f"seconds before a heading (default {pauses.chapter})")
    doc.add_argument("--keep-parts", action="store_true", help="keep <out>.parts/ and the manifest when done")
    doc.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    voices = commands.add_parser("voices", help="manage the voice library")
    actions = voices.add_subparsers(dest="action", required=True)
    actions.add_parser("list", parents=[common])
    get = actions.add_parser("get", parents=[common])
    get.add_argument("name")
    create = actions.add_parser("create", parents=[common])
    create.add_argument("name")
    create.add_argument("--file", required=True, help="reference clip (wav, flac, ogg or mp3)")
    create.add_argument("--transcript")
    delete = actions.add_parser("delete", parents=[common])
    delete.add_argument("name")
    commands.add_parser("info", parents=[common], help="backend, model, capabilities and versions")
    return parser


def say(client: TTSClient, args) -> str:
    out = Path(args.out)
    fmt = output_format(out, args.format)
    fields = {"speed": args.speed} if args.speed is not None else {}
    if args.voice:
        fields["voice"] = args.voice
    retries = Retries(args.retries, args.deadline)
    if not args.stream:
        data = retries.call(lambda: client.synthesize(args.text, format=fmt, timeout=retries.timeout(args.timeout),
                                                      **fields))
        out.write_bytes(data)
        return f"wrote {out}"
    chunks = 0          # the chunks are one encoder's successive bytes: written in order they are one file
    with open(out, "wb") as f:
        for item in client.stream({"text": args.text, "format": fmt, **fields}, timeout=retries.timeout(args.timeout)):
            if "audio_base64" in item and not item.get("done"):
                f.write(base64.b64decode(item["audio_base64"]))
                f.flush()
                chunks += bool(item.get("text"))      # a sentence (the encoder's last bytes come with none)
    if fmt == "wav":
        fix_wav_sizes(out)     # streamed with sizes unknown; the file now knows them
    return f"wrote {out} ({chunks} sentences)"


def document(client: TTSClient, args) -> str:
    text = Path(args.file).read_text(encoding="utf-8")
    fmt = output_format(Path(args.out), args.format)
    if FORMATS[fmt].soundfile is None:
        stitched = ", ".join(f".{f.extension}" for f in FORMATS.values() if f.soundfile is not None)
        raise TTSError(f"{args.out}: the client stitches documents into {stitched}, not {fmt}")
    result = render_document(
        client, text, args.out, voice=args.voice, format=fmt, parallel=args.parallel,
        part_chars=args.part_chars, speed=args.speed, sample_rate=args.sample_rate, captions=args.captions,
        pauses=Pauses(args.sentence_pause, args.paragraph_pause, args.chapter_pause), retries=args.retries,
        timeout=args.timeout, deadline=args.deadline, keep_parts=args.keep_parts, progress=not args.no_progress)
    extra = ", ".join(str(path) for path in result.files.values())
    return (f"wrote {result.out} ({result.duration_s:.1f} s of audio, {result.parts} parts, {result.reused} from "
            f"an earlier run, {result.submitted} jobs sent); {extra}")


def run(args) -> str:
    client = (TTSClient.for_runpod(args.endpoint, args.api_key) if args.endpoint
              else TTSClient(args.url, args.api_key))
    with client:
        if args.command == "say":
            return say(client, args)
        if args.command == "document":
            return document(client, args)
        retries = Retries(args.retries, args.deadline)
        if args.command == "info":
            return json.dumps(retries.call(client.info), indent=2)
        if args.action == "list":
            return "\n".join(f"{v['id']}\t{v['name']}\t{'usable' if v.get('usable') else 'not usable here'}"
                             + (f" ({v['reason']})" if not v.get("usable") and v.get("reason") else "")
                             for v in retries.call(client.voices))
        if args.action == "get":
            return json.dumps(retries.call(lambda: client.voice(args.name)), indent=2)
        if args.action == "create":        # not retried: a create that reached the worker would then clash
            return json.dumps(client.create_voice(args.name, args.file, **(
                {"transcript": args.transcript} if args.transcript else {})), indent=2)
        return f"deleted {client.delete_voice(args.name)}"


def main(argv: list[str] | None = None) -> int:
    """Exit 0 on success; on failure one line on stderr and 1; on Ctrl-C 130 (a document run resumes when
    the same command runs again); 141 when whoever reads stdout has gone (`| head`)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        print(run(args), flush=True)
    except KeyboardInterrupt:
        resume = " (finished parts are kept: run the same command again to go on)" if args.command == "document" else ""
        print(f"interrupted{resume}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)     # no second error when Python flushes stdout at exit
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE
    except (TTSError, OSError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_FAILED
    return 0
