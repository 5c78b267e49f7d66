#!/usr/bin/env bash
# Build .venv-xtts: the real coqui-tts 0.28.0 (XTTS-v2) on CPU torch, for the slow tests. Idempotent.
#
# Order matters: CPU torch first (coqui-tts declares torch only in its cpu/cuda extras, so nothing below
# pulls another torch); torchaudio and torchcodec without their dependencies (XTTS imports torchaudio for
# MelSpectrogram and resample; `import TTS` refuses to start on torch >= 2.9 unless torchcodec is installed,
# though the backend never decodes a file with it); then the project with the `xtts` extra and the test
# tools, constrained to the installed torch.
# torchaudio 2.11's compiled extensions link CUDA and fail to load on a CPU torch, so they are removed:
# XTTS only uses its pure-Python parts (transforms.MelSpectrogram, functional.resample).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${XTTS_VENV:-.venv-xtts}"
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
"${PIP[@]}" --no-deps torchaudio==2.11.0 torchcodec==0.17.0

CONSTRAINTS="$VENV/constraints.txt"
"$PY" -m pip freeze --all | grep -i -E '^(torch|torchaudio)==' >"$CONSTRAINTS"
"${PIP[@]}" -c "$CONSTRAINTS" -e '.[test,xtts]'

find "$VENV"/lib/python3*/site-packages/torchaudio -name '*.so' -delete

"$PY" - <<'PYEOF'
import numpy, torch, torchaudio, transformers  # noqa: F401  (all must import)
from TTS.tts.models.xtts import Xtts  # noqa: F401
print(f"xtts venv ready: torch {torch.__version__}, torchaudio {torchaudio.__version__}, "
      f"transformers {transformers.__version__}, numpy {numpy.__version__}")
PYEOF
touch "$STAMP"
