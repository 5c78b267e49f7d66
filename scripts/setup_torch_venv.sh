#!/usr/bin/env bash
# Build .venv-<library>: one GPU backend's real library on CPU torch, for the slow tests. Idempotent.
#   usage: scripts/setup_torch_venv.sh chatterbox|xtts|f5|higgs
#
# Order matters (see shared/notes/offline-facts.md): CPU torch first; then the engine packages without their
# dependencies, because their own pins clash with ours (chatterbox-tts pins torch/torchaudio 2.6.0, numpy<2;
# f5-tts pulls gradio, bitsandbytes and torchcodec, which inference never uses; boson-multimodal pins
# boto3==1.35.36, ruff and s3fs, and descript-audiotools pins protobuf<3.20, none of which inference imports; coqui-tts declares torch only
# in its extras, and `import TTS` refuses torch >= 2.9 without torchcodec, which the backend never uses to
# decode); then the project with that library's extra and the test tools, held to the installed torch.
# pip then warns about the engines' unmet pins: expected, and harmless.
# torchaudio 2.11's compiled extensions link CUDA and fail to load on a CPU torch, so they are removed: the
# engines only use its pure-Python parts (Resample, MelSpectrogram, kaldi fbank, Spectrogram).
# The chatterbox venv also carries resemblyzer (Kokoro voice fitting; webrtcvad from its prebuilt -wheels fork).
set -euo pipefail
cd "$(dirname "$0")/.."

LIBRARY="${1:?usage: $0 chatterbox|xtts|f5|higgs}"
case "$LIBRARY" in
    chatterbox) NO_DEPS=(chatterbox-tts==0.1.7 torchaudio==2.11.0 s3tokenizer==0.3.0
                         resemblyzer==0.1.4 webrtcvad-wheels==2.0.14.post1)
                CHECK="import chatterbox.tts, perth, resemblyzer" ;;
    xtts)       NO_DEPS=(torchaudio==2.11.0 torchcodec==0.17.0)
                CHECK="from TTS.tts.models.xtts import Xtts" ;;
    f5)         NO_DEPS=(f5-tts==1.1.22 torchaudio==2.11.0)
                CHECK="import vocos; from f5_tts.infer.utils_infer import infer_batch_process, load_model, load_vocoder" ;;
    higgs)      NO_DEPS=(boson-multimodal==0.1.1 descript-audio-codec==1.0.0 descript-audiotools==0.7.2
                         torchaudio==2.11.0)
                CHECK="from boson_multimodal.serve.serve_engine import HiggsAudioServeEngine" ;;
    *) echo "unknown library $LIBRARY (chatterbox, xtts, f5 or higgs)" >&2; exit 2 ;;
esac

PYTHON="${PYTHON:-python3}"
VENV=".venv-$LIBRARY"
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
"${PIP[@]}" --no-deps "${NO_DEPS[@]}"

CONSTRAINTS="$VENV/constraints.txt"
"$PY" -m pip freeze --all | grep -i -E '^(torch|torchaudio)==' >"$CONSTRAINTS"
"${PIP[@]}" -c "$CONSTRAINTS" -e ".[test,$LIBRARY]"

find "$VENV"/lib/python3*/site-packages/torchaudio -name '*.so' -delete

"$PY" -c "import numpy, torch, torchaudio; $CHECK
print(f'$VENV ready: torch {torch.__version__}, torchaudio {torchaudio.__version__}, numpy {numpy.__version__}')"
touch "$STAMP"
