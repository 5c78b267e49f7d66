# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test lint test-slow serve bench clean browser image test-image test-images-gpu

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,languages]'
	# the speaker encoder's weights (Kokoro voices from a clip, run in numpy): the wheel's files only, no torch
	$(PY) -m pip install -q --no-deps resemblyzer==0.1.4
	touch $(STAMP)

## make run: synthesize test_input.json through the RunPod handler on the CPU default, audio into out/
run: $(STAMP)
	$(PY) -m scripts.run_job test_input.json --out out

## make lint: ruff (lint + import order) over the tree, mypy over common/, storage/, voice_library/, jobcore/
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m mypy

## make browser: Debian's Chromium for the web page's tests (Playwright drives it; never `playwright install`)
CHROMIUM := /usr/bin/chromium
browser: $(CHROMIUM)
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver

## make test: lint, then the whole fast suite (real Kokoro, real whisper, real SeaweedFS, the web page in
## Chromium); tests/image: make test-image
test: lint $(CHROMIUM)
	$(PY) -m pytest -q -m "not slow and not image"

CB_VENV  := .venv-chatterbox
CB_STAMP := $(CB_VENV)/.installed

XTTS_VENV  := .venv-xtts
XTTS_STAMP := $(XTTS_VENV)/.installed
F5_VENV    := .venv-f5
F5_STAMP   := $(F5_VENV)/.installed
HIGGS_VENV  := .venv-higgs
HIGGS_STAMP := $(HIGGS_VENV)/.installed

$(CB_STAMP): pyproject.toml scripts/setup_torch_venv.sh
	PYTHON=$(PYTHON) bash scripts/setup_torch_venv.sh chatterbox

$(XTTS_STAMP): pyproject.toml scripts/setup_torch_venv.sh
	PYTHON=$(PYTHON) bash scripts/setup_torch_venv.sh xtts

$(F5_STAMP): pyproject.toml scripts/setup_torch_venv.sh
	PYTHON=$(PYTHON) bash scripts/setup_torch_venv.sh f5

$(HIGGS_STAMP): pyproject.toml scripts/setup_torch_venv.sh
	PYTHON=$(PYTHON) bash scripts/setup_torch_venv.sh higgs

## make test-slow: the real GPU libraries (chatterbox, xtts, f5, higgs), the Kokoro fit and the 600-job soak, each in its own venv
test-slow: $(CB_STAMP) $(XTTS_STAMP) $(F5_STAMP) $(HIGGS_STAMP)
	$(CB_VENV)/bin/python -m pytest -q -m slow
	$(XTTS_VENV)/bin/python -m pytest -q -m slow tests/backends/test_xtts.py
	$(F5_VENV)/bin/python -m pytest -q -m slow tests/backends/test_f5.py
	$(HIGGS_VENV)/bin/python -m pytest -q -m slow tests/backends/test_higgs.py

## make serve: local server with RunPod's endpoint API and OpenAI's /v1/audio/speech on http://127.0.0.1:8000
serve: $(STAMP)
	$(PY) -m server

clean:
	rm -rf $(VENV) $(CB_VENV) $(XTTS_VENV) $(F5_VENV) $(HIGGS_VENV) $(FK_VENV) out .voices .pytest_cache .mypy_cache .ruff_cache

BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[test,languages,bench]'
	touch $(BENCH_STAMP)

# fastkokoro, the OpenAI-compatible Kokoro server bench/kokoro_peers.py compares against, in a venv of its own
FK_VENV  := .venv-fastkokoro
FK_STAMP := $(FK_VENV)/.installed
$(FK_STAMP):
	test -x $(FK_VENV)/bin/python || $(PYTHON) -m venv $(FK_VENV)
	$(FK_VENV)/bin/python -m pip install -q 'fastkokoro[cpu]==0.7.0'
	touch $(FK_STAMP)

## make bench: run bench/ and rewrite BENCHMARKS.md (numbers from this machine, side by side; ~15 min)
bench: $(BENCH_STAMP) $(FK_STAMP)
	$(PY) -m bench

## make image BACKEND=kokoro: build one backend's image (tts-worker:BACKEND); SLIM_IMAGE, CUDA_IMAGE, TORCH_INDEX_URL,
## MODEL_SOURCE, MODEL_REVISION, KOKORO_SOURCE, WHISPER_MODEL, GPU and LANGUAGES (Kokoro: all or en) are passed to
## the build when given
BACKEND    ?= kokoro
IMAGE      ?= tts-worker:$(BACKEND)$(if $(GPU),-gpu)
DOCKER     ?= docker
DOCKERFILE ?= Dockerfile
IMAGE_ARGS := $(foreach v,SLIM_IMAGE CUDA_IMAGE TORCH_INDEX_URL MODEL_SOURCE MODEL_REVISION KOKORO_SOURCE WHISPER_MODEL GPU LANGUAGES,\
                $(if $(filter-out undefined default,$(origin $(v))),--build-arg $(v)=$($(v))))
REVISION   := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD -- 2>/dev/null || echo -dirty)

image:
	DOCKER_BUILDKIT=1 $(DOCKER) build -f $(DOCKERFILE) --build-arg BACKEND=$(BACKEND) $(IMAGE_ARGS) \
	    --build-arg REVISION=$(REVISION) -t $(IMAGE) .

## make test-image: build the Kokoro CPU images from this tree (bundled model; every language, and LANGUAGES=en) with
## Docker on this machine (../shared/tools/docker-here.sh) and run tests/image against containers of them
DOCKER_HERE ?= ../shared/tools/docker-here.sh
TEST_IMAGE  ?= tts-worker:kokoro-test

test-image: $(STAMP)
	@test -f "$(DOCKER_HERE)" || { echo "make test-image: $(DOCKER_HERE) not found. It installs and starts Docker on this machine" \
	    "and builds the local base image; CI has shared/ beside the clone. Set DOCKER_HERE=/path/to/docker-here.sh." >&2; exit 1; }
	@mkdir -p out/image
	sed '/^# syntax=/d' Dockerfile > out/image/Dockerfile
	base=$$(bash "$(DOCKER_HERE)" | tail -n 1) && \
	    $(MAKE) --no-print-directory image BACKEND=kokoro KOKORO_SOURCE= SLIM_IMAGE=$$base DOCKER=/usr/bin/docker \
	        DOCKERFILE=out/image/Dockerfile IMAGE=$(TEST_IMAGE) && \
	    $(MAKE) --no-print-directory image BACKEND=kokoro KOKORO_SOURCE= SLIM_IMAGE=$$base DOCKER=/usr/bin/docker \
	        DOCKERFILE=out/image/Dockerfile IMAGE=$(TEST_IMAGE)-en LANGUAGES=en
	/usr/bin/docker image prune -f --filter label=tts-worker.backend >/dev/null   # earlier builds of these tags
	TTS_IMAGE=$(TEST_IMAGE) TTS_IMAGE_EN=$(TEST_IMAGE)-en DOCKER=/usr/bin/docker $(PY) -m pytest -q -m image tests/image

## make test-images-gpu: build each GPU backend's image here, one at a time (BACKENDS="chatterbox xtts ..." picks; all six
## by default), on the local base with torch from the index pip uses (CUDA_IMAGE, SLIM_IMAGE, TORCH_INDEX_URL override), random
## weights in each backend's layout baked from out/gpu-weights/BACKEND (made in .venv-LIBRARY), and run one job in a
## container (DEVICE=cpu, no network); each image is removed and dangling cache pruned after it. Results in
## out/gpu-images/results.md. Not part of `make test` or CI: about 40 minutes for all six, 7-10 GB of disk per image.
test-images-gpu: $(STAMP)
	DOCKER_HERE=$(DOCKER_HERE) $(if $(filter-out undefined,$(origin BACKENDS)),BACKENDS="$(BACKENDS)") \
	    $(PY) -m scripts.test_images_gpu $(if $(filter-out undefined default,$(origin CUDA_IMAGE)),--cuda-image $(CUDA_IMAGE)) \
	    $(if $(filter-out undefined default,$(origin TORCH_INDEX_URL)),--torch-index-url $(TORCH_INDEX_URL)) \
	    $(if $(filter-out undefined default,$(origin SLIM_IMAGE)),--slim-image $(SLIM_IMAGE))
