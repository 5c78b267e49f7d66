# syntax=docker/dockerfile:1.7
# One image per backend, weights baked in, offline at run time (`make image BACKEND=...` passes the args below):
#   docker build -t tts-worker:chatterbox .                                  (default: BACKEND=chatterbox, CUDA)
#   docker build --build-arg BACKEND=kokoro -t tts-worker:kokoro .           (CPU, python-slim, official voices)
#   docker build --build-arg BACKEND=kokoro --build-arg GPU=1 ...            (Kokoro on the CUDA base, onnxruntime-gpu)
#   docker build --secret id=hf_token,env=HF_TOKEN ...                       (only for gated hub repos)
# Build args: MODEL_SOURCE (a hub repo id or a directory in the build context), MODEL_REVISION (hub revision; the
# resolved commit is recorded in /models/manifest.json), WHISPER_MODEL (backends that need a transcript, e.g. f5:
# a faster-whisper model such as small.en baked into /models/whisper; default: the bundled tiny.en),
# TORCH_VERSION / TORCHAUDIO_VERSION / TORCH_INDEX_URL (GPU backends), CUDA_IMAGE / SLIM_IMAGE (the bases).
# KOKORO_SOURCE (Kokoro's default source: the official hub repo; empty = the int8 model bundled on PyPI),
# GPU=1 (Kokoro on the CUDA base), REVISION (the source revision, recorded in the image's labels),
# LANGUAGES (Kokoro: `all`, the default, every language Kokoro speaks; `en` leaves out the G2P beyond English, the
# `languages` extra, about 470 MB: English and British English only).
#
# Stages: `deps` installs the backend's dependencies into /opt/venv from pyproject.toml alone (code edits keep
# that layer); `bake` adds the bake-only tools and writes the weights to /models; `venv` drops from /opt/venv what
# only building needs (pip, setuptools, weight packages already baked into /models, tools the worker never runs);
# the runtime stage holds that venv, /models and the code, runs as an unprivileged user, and has no build tools.
ARG BACKEND=chatterbox
ARG GPU=
ARG CUDA_IMAGE=nvidia/cuda:12.8.1-runtime-ubuntu24.04
ARG SLIM_IMAGE=python:3.11-slim-bookworm

# -- bases: GPU backends on a CUDA runtime, CPU backends on python-slim ------------------------------------------
FROM ${CUDA_IMAGE} AS base-gpu
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-venv ca-certificates \
    && rm -rf /var/lib/apt/lists/*

FROM ${SLIM_IMAGE} AS base-cpu

FROM base-gpu AS base-chatterbox
FROM base-gpu AS base-chatterbox-turbo
FROM base-gpu AS base-chatterbox-multilingual
FROM base-gpu AS base-xtts
FROM base-gpu AS base-f5
FROM base-gpu AS base-higgs
FROM base-cpu AS base-kokoro
FROM base-gpu AS base-kokoro-gpu
FROM base-cpu AS base-hibari

# -- requirements: the pinned lists read from pyproject.toml (the GPU backends get `transcribe` too: automatic
# transcripts for backends that need one, word timestamps by alignment for the rest) -------------------------------
FROM base-cpu AS requirements
ARG BACKEND
ARG LANGUAGES=all
WORKDIR /src
COPY pyproject.toml ./
COPY scripts/pyproject_requirements.py ./scripts/
RUN set -e; mkdir /requirements; \
    case "$BACKEND" in \
      chatterbox*) extras="chatterbox transcribe" ;; \
      xtts|f5|higgs) extras="$BACKEND transcribe" ;; \
      kokoro) case "$LANGUAGES" in \
                all) extras="languages" ;; en) extras="" ;; \
                *) echo "LANGUAGES is 'all' or 'en', not '$LANGUAGES'" >&2; exit 1 ;; \
              esac ;; \
      *) extras="" ;; \
    esac; \
    python3 scripts/pyproject_requirements.py $extras > /requirements/runtime.txt; \
    python3 scripts/pyproject_requirements.py --only bake > /requirements/bake.txt

# -- deps: the backend's dependencies in /opt/venv --------------------------------------------------------------
FROM base-${BACKEND}${GPU:+-gpu} AS deps
ARG BACKEND
ARG GPU
ARG TORCH_VERSION=2.11.0
ARG TORCHAUDIO_VERSION=2.11.0
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python3 -m venv /opt/venv
WORKDIR /src
# Engine libraries that cannot go through the project's extras (their own pins clash with ours; see pyproject.toml);
# Kokoro: resemblyzer's wheel for its speaker-encoder weights only (no torch; backends/speaker_encoder.py).
# torch and torchaudio as a matching pair from the PyTorch CUDA index, so torchaudio's compiled parts load.
RUN --mount=type=cache,target=/root/.cache/pip \
    case "$BACKEND" in \
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
# The project's pinned dependencies and the backend's extras, as listed by the `requirements` stage: this layer is
# rebuilt only when that list changes.
COPY --from=requirements /requirements/ /requirements/
RUN --mount=type=cache,target=/root/.cache/pip \
    set -e; \
    pip install -r /requirements/runtime.txt; \
    if [ -n "$GPU" ] && [ "$BACKEND" = kokoro ]; then \
      pip uninstall -y onnxruntime && pip install onnxruntime-gpu==1.31.1 ; \
    fi

# -- bake: weights into /models with manifest.json (checked at start-up) -----------------------------------------
FROM deps AS bake
ARG BACKEND
ARG KOKORO_SOURCE=onnx-community/Kokoro-82M-v1.0-ONNX
ARG MODEL_SOURCE=
ARG MODEL_REVISION=
ARG WHISPER_MODEL=
# Kokoro's official pack needs huggingface_hub; here only, never at run time (onnx, which rewrites the graph and finds
# its duration tensor, comes with the dependencies and is pruned from the runtime by scripts/prune_venv.sh).
RUN --mount=type=cache,target=/root/.cache/pip \
    if [ "$BACKEND" = kokoro ]; then pip install -r /requirements/bake.txt; fi
COPY common ./common
COPY storage ./storage
COPY backends ./backends
COPY builder ./builder
COPY jobcore ./jobcore
# The hub token, if any, exists only in this step; a MODEL_SOURCE directory is read from the build context through
# a bind mount, so it adds no layer.
RUN --mount=type=secret,id=hf_token,required=false \
    --mount=type=bind,target=/context \
    set -e; \
    src="$MODEL_SOURCE"; \
    if [ -z "$src" ] && [ "$BACKEND" = kokoro ]; then src="$KOKORO_SOURCE"; fi; \
    if [ -n "$src" ] && [ -d "/context/$src" ]; then src="/context/$src"; fi; \
    HF_TOKEN="$(cat /run/secrets/hf_token 2>/dev/null || true)" \
        python -m builder bake --backend "$BACKEND" --dest /models \
        ${src:+--source "$src"} ${MODEL_REVISION:+--revision "$MODEL_REVISION"} \
        ${WHISPER_MODEL:+--whisper "$WHISPER_MODEL"}

# -- venv: the dependencies minus what only building needs (scripts/prune_venv.sh says what and why) -------------
FROM deps AS venv
ARG BACKEND
COPY scripts/prune_venv.sh ./scripts/
RUN case "$BACKEND" in kokoro|hibari) \
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends binutils >/dev/null ;; \
    esac \
    && sh scripts/prune_venv.sh "$BACKEND"
# CPU images keep bytecode only for the modules the worker runs (scripts/compile_used.py runs the worker on the
# baked model, from the build context, to find them).
RUN --mount=type=bind,target=/context \
    --mount=type=bind,from=bake,source=/models,target=/models \
    case "$BACKEND" in kokoro|hibari) \
      cd /context && TTS_BACKEND="$BACKEND" MODEL_DIR=/models python scripts/compile_used.py ;; \
    esac

# -- the worker ------------------------------------------------------------------------------------------------
FROM base-${BACKEND}${GPU:+-gpu} AS runtime
ARG BACKEND
ARG GPU
ARG REVISION=unknown
ARG LANGUAGES=all
LABEL org.opencontainers.image.title="tts-worker (${BACKEND})" \
      org.opencontainers.image.description="Serverless text-to-speech worker for RunPod; backend ${BACKEND}" \
      org.opencontainers.image.revision="${REVISION}" \
      tts-worker.backend="${BACKEND}" \
      tts-worker.gpu="${GPU}" \
      tts-worker.languages="${LANGUAGES}"
# An unprivileged user; the default voice library (.voices under /app) is the only place it writes.
RUN useradd --create-home --uid 10001 --user-group worker \
    && mkdir -p /app/.voices && chown worker:worker /app/.voices
COPY --from=venv /opt/venv /opt/venv
COPY --from=bake /models /models
WORKDIR /app
COPY handler.py test_input.json ./
COPY common ./common
COPY storage ./storage
COPY backends ./backends
COPY voice_library ./voice_library
COPY jobcore ./jobcore
COPY server ./server
# Bytecode now: the unprivileged user cannot write it at start-up, and compiling on every cold start costs time.
RUN /opt/venv/bin/python -m compileall -q /app
# RUNPOD_DEBUG_LEVEL: the SDK logs at DEBUG by default, every job's output included; an endpoint's own
# RUNPOD_DEBUG_LEVEL or RUNPOD_LOG_LEVEL replaces this.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    TTS_BACKEND=${BACKEND} \
    MODEL_DIR=/models \
    RUNPOD_DEBUG_LEVEL=INFO \
    NUMBA_CACHE_DIR=/tmp/numba-cache
USER worker
# Load-balancing mode (`python -m server`): healthy once GET /ping answers 200; the queue worker (handler.py) has no
# HTTP port and is always reported healthy.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 CMD ["python", "/app/server/healthcheck.py"]
CMD ["python", "-u", "handler.py"]
