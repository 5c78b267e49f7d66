#!/usr/bin/env bash
# Build .venv-f5: the real f5-tts 1.1.22 (F5-TTS v1 + vocos) on CPU torch, for the slow tests. Idempotent.
#
# Order matters: CPU torch first; then f5-tts and torchaudio without their dependencies (f5-tts also pulls
# gradio, bitsandbytes and torchcodec, none of which inference uses); then the project with the `f5` extra
# (the modules f5-tts's inference path imports) and the test tools, constrained to the installed torch.
# pip then complains that f5-tts wants gradio etc.: expected, and harmless. torchaudio 2.11's compiled
# extensions link CUDA and fail to load on a CPU torch, so they are removed: f5-tts only uses its pure-Python
# parts (transforms.Resample, MelSpectrogram); the backend never calls torchaudio.load.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${F5_VENV:-.venv-f5}"
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
"${PIP[@]}" --no-deps f5-tts==1.1.22 torchaudio==2.11.0

CONSTRAINTS="$VENV/constraints.txt"
"$PY" -m pip freeze --all | grep -i -E '^(torch|torchaudio)==' >"$CONSTRAINTS"
"${PIP[@]}" -c "$CONSTRAINTS" -e '.[test,f5]'

find "$VENV"/lib/python3*/site-packages/torchaudio -name '*.so' -delete

"$PY" - <<'PYEOF'
import numpy, torch, torchaudio, vocos  # noqa: F401  (all must import)
from f5_tts.infer.utils_infer import infer_batch_process, load_model, load_vocoder  # noqa: F401
print(f"f5 venv ready: torch {torch.__version__}, torchaudio {torchaudio.__version__}, numpy {numpy.__version__}")
PYEOF
touch "$STAMP"
