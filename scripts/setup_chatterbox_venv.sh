#!/usr/bin/env bash
# Build .venv-chatterbox: the real chatterbox-tts 0.1.7 (and resemblyzer) on CPU torch, for the slow tests. Idempotent.
#
# Order matters (see shared/notes/offline-facts.md): CPU torch first; then chatterbox-tts, torchaudio and
# s3tokenizer without their dependencies (chatterbox pins torch/torchaudio 2.6.0); then their other needs
# (pyproject's `chatterbox` extra, with setuptools<81 because Perth imports pkg_resources) constrained to the
# installed torch. pip then complains that chatterbox-tts wants torch 2.6.0 etc.: expected, and harmless.
# torchaudio 2.11's compiled extensions link CUDA and fail to load on a CPU torch, so they are removed:
# chatterbox only uses its pure-Python parts (Resample, kaldi fbank, Spectrogram).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${CHATTERBOX_VENV:-.venv-chatterbox}"
PY="$VENV/bin/python"
STAMP="$VENV/.installed"
# Elsewhere than this machine (where a CPU wheel lies in pip's find-links), point pip at the CPU wheels,
# e.g. TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu".
TORCH_PIP_ARGS="${TORCH_PIP_ARGS:-}"

if [[ -f "$STAMP" && "$STAMP" -nt pyproject.toml && "$STAMP" -nt "$0" ]]; then
    echo "$VENV is up to date"
    exit 0
fi

test -x "$PY" || "$PYTHON" -m venv "$VENV"
PIP=("$PY" -m pip install -q --disable-pip-version-check)

# shellcheck disable=SC2086
"${PIP[@]}" torch==2.13.0 $TORCH_PIP_ARGS
"${PIP[@]}" --no-deps chatterbox-tts==0.1.7 torchaudio==2.11.0 s3tokenizer==0.3.0
# The speaker encoder for Kokoro voice fitting (its webrtcvad dependency comes as the prebuilt -wheels fork).
"${PIP[@]}" --no-deps resemblyzer==0.1.4 webrtcvad-wheels==2.0.14.post1

# Everything else resolves with torch held where it is: the project with its own pins (numpy 2.4.6, which
# chatterbox 0.1.7 runs with, as in the image), the chatterbox extra (its other needs) and the test tools.
CONSTRAINTS="$VENV/constraints.txt"
"$PY" -m pip freeze --all | grep -i '^torch==' >"$CONSTRAINTS"
"${PIP[@]}" -c "$CONSTRAINTS" -e '.[test,chatterbox]'

find "$VENV"/lib/python3*/site-packages/torchaudio -name '*.so' -delete

"$PY" - <<'EOF'
import numpy, torch, torchaudio, chatterbox.tts, perth, resemblyzer  # noqa: F401  (all must import)
print(f"chatterbox venv ready: torch {torch.__version__}, torchaudio {torchaudio.__version__}, numpy {numpy.__version__}")
EOF
touch "$STAMP"
