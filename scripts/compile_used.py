"""The CPU images' `venv` stage: keep bytecode only for the library modules the worker runs. Deletes every
__pycache__ under site-packages, then starts the worker from the project tree (the current directory) on the baked
model and runs what a worker does (one job per output format, voices.list, info, the local server's imports, an S3
client call), so Python writes bytecode for exactly those modules: a cold start finds them compiled (the image runs
as a user who cannot write bytecode), and the ~35 MB of bytecode for modules never imported stays out of the image.

    cd <project> && MODEL_DIR=/models python <project>/scripts/compile_used.py
"""
from __future__ import annotations

import logging
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

log = logging.getLogger("compile_used")


def drop_bytecode(site: Path) -> int:
    caches = list(site.rglob("__pycache__"))
    for cache in caches:
        shutil.rmtree(cache, ignore_errors=True)
    return len(caches)


def exercise() -> None:
    """Import and run what the worker, the local server and the S3 store import, lazily included."""
    import handler
    from common.formats import FORMATS

    handler.import_runpod()
    import runpod.serverless  # noqa: F401  the queue loop's modules
    import runpod.serverless.modules.rp_fastapi  # noqa: F401  --rp_serve_api

    worker = handler.get_worker()
    for fmt in FORMATS:
        result = worker.handle({"text": "Hello there.", "format": fmt}, f"bytecode-{fmt}", None)
        if "error" in result:
            raise SystemExit(f"the {fmt} job failed while compiling: {result['error']}")
    list(worker.stream({"text": "One. Two.", "stream": True}, "bytecode-stream", None))
    worker.handle({"action": "voices.list"}, "bytecode-list", None)
    worker.handle({"action": "info"}, "bytecode-info", None)

    import boto3
    import uvicorn.lifespan.on  # noqa: F401  what uvicorn picks at run time ("auto")
    import uvicorn.loops.auto  # noqa: F401
    import uvicorn.protocols.http.auto  # noqa: F401
    import uvicorn.protocols.http.h11_impl  # noqa: F401
    import uvicorn.protocols.http.httptools_impl  # noqa: F401
    import uvicorn.protocols.websockets.auto  # noqa: F401
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError

    import server.__main__  # noqa: F401
    import server.app  # noqa: F401

    s3 = boto3.session.Session().client(
        "s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1", aws_access_key_id="compile",
        aws_secret_access_key="compile", config=Config(connect_timeout=1, read_timeout=1, retries={"max_attempts": 1}))
    s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"}, ExpiresIn=60)
    try:
        s3.head_object(Bucket="b", Key="k")       # nothing listens on port 9: the request path, then a refusal
    except (BotoCoreError, ClientError):
        pass


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    site = Path(sysconfig.get_paths()["purelib"])
    dropped = drop_bytecode(site)
    sys.path.insert(0, os.getcwd())
    with tempfile.TemporaryDirectory() as voices:
        os.environ["VOICE_LIBRARY_URI"] = voices
        exercise()
    kept = sum(1 for _ in site.rglob("*.pyc"))
    print(f"bytecode: {dropped} caches dropped, {kept} modules compiled by use")


if __name__ == "__main__":
    main()
