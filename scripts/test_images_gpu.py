"""Build every GPU backend's image on this machine, one at a time, and run one short job in each (`make test-images-gpu`).

No GPU and no model hub here, so each image is built on the local base (CUDA_IMAGE = the image
../shared/tools/docker-here.sh makes) with torch from the package index pip already uses (PyPI's Linux torch wheels
are the CUDA builds and bring the NVIDIA libraries), and with random weights in the backend's real file layout
(tests/support/random_weights.py, made in the backend library's venv from scripts/setup_torch_venv.sh) baked from
out/gpu-weights/BACKEND through MODEL_SOURCE. The container runs with DEVICE=cpu and no network and answers one
job (test_input.json style: a short text and a one-off reference clip); random weights give noise, so the check is
that the job completed with WAV audio at 24 kHz of a plausible length, not speech.

After each backend its image goes and dangling images of that backend and dangling build cache are pruned (the
images are 7 to 10 GB). Results: out/gpu-images/results.md (and .json, merged across runs), logs beside them.

    python -m scripts.test_images_gpu [BACKEND ...]          (all six by default; make test-images-gpu BACKENDS=...)
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("chatterbox", "chatterbox-turbo", "chatterbox-multilingual", "xtts", "f5", "higgs")
#: the venv (scripts/setup_torch_venv.sh LIBRARY) whose library makes each backend's random weights
LIBRARY = {"chatterbox": "chatterbox", "chatterbox-turbo": "chatterbox", "chatterbox-multilingual": "chatterbox",
           "xtts": "xtts", "f5": "f5", "higgs": "higgs"}
#: random weights never stop by themselves: cap generation (env for the worker, params for the job)
CAPS_ENV = {"chatterbox": {"CHATTERBOX_MAX_NEW_TOKENS": "10"}, "chatterbox-turbo": {"CHATTERBOX_MAX_NEW_TOKENS": "10"},
            "chatterbox-multilingual": {"CHATTERBOX_MAX_NEW_TOKENS": "10"}, "xtts": {"XTTS_MAX_NEW_TOKENS": "10"}}
CAPS_PARAMS = {"f5": {"nfe_step": 2}, "higgs": {"max_new_tokens": 12}}
TEXT = "Hello there, this is a short test."
TRANSCRIPT = "A tone that glides up and down."
RATE = 24_000
OUT = ROOT / "out" / "gpu-images"
WEIGHTS = ROOT / "out" / "gpu-weights"
IMAGE = "tts-worker:{backend}-gpu-test"


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(cmd: list[str], log: Path | None = None, timeout: float | None = None, **kwargs) -> int:
    """Run `cmd`, its output appended to `log` (or inherited); its exit code (124 on timeout)."""
    if log is None:
        return subprocess.run(cmd, timeout=timeout, **kwargs).returncode
    with log.open("a") as f:
        f.write(f"$ {' '.join(cmd)}\n")
        f.flush()
        try:
            return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, timeout=timeout, **kwargs).returncode
        except subprocess.TimeoutExpired:
            f.write(f"\n(timed out after {timeout:.0f} s)\n")
            return 124


def pip_index_url() -> str:
    """The package index pip on this machine uses (TORCH_INDEX_URL for the builds): PyPI unless configured."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"].split()[0]
    for key in ("global.index-url", "install.index-url"):
        found = subprocess.run([sys.executable, "-m", "pip", "config", "get", key], capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    return "https://pypi.org/simple"


def local_base(docker_here: Path) -> str:
    """Start Docker here and build the local base if needed; the base image's name (the script's last line)."""
    if not docker_here.is_file():
        sys.exit(f"{docker_here} not found: it installs and starts Docker here and builds the local base image "
                 "(set DOCKER_HERE=/path/to/docker-here.sh, or CUDA_IMAGE= an image you have)")
    lines = subprocess.run(["bash", str(docker_here)], check=True, capture_output=True, text=True).stdout.split()
    return lines[-1]


def make_weights(backend: str, log: Path) -> Path:
    """out/gpu-weights/BACKEND with random weights in the backend's layout (made once; delete it to remake)."""
    dest = WEIGHTS / backend
    if dest.is_dir() and any(dest.iterdir()):
        say(f"{backend}: weights already in {dest.relative_to(ROOT)}")
        return dest
    library = LIBRARY[backend]
    venv = ROOT / f".venv-{library}"
    if not (venv / ".installed").is_file():
        say(f"{backend}: building .venv-{library} (scripts/setup_torch_venv.sh {library}, a few minutes)")
        if run(["bash", "scripts/setup_torch_venv.sh", library], log, cwd=ROOT) != 0:
            raise RuntimeError(f"scripts/setup_torch_venv.sh {library} failed (see {log})")
    partial = WEIGHTS / f".{backend}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    say(f"{backend}: writing random weights with .venv-{library}")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if run([str(venv / "bin" / "python"), "-m", "tests.support.random_weights", backend, str(partial)], log,
           cwd=ROOT, env=env) != 0:
        raise RuntimeError(f"making {backend}'s random weights failed (see {log})")
    partial.rename(dest)
    return dest


def build_files(backend: str) -> Path:
    """The Dockerfile without its `# syntax=` line (that pulls a frontend image) and, beside it, an ignore file that
    lets this backend's weights (under out/, which .dockerignore leaves out) into the build context."""
    build_dir = OUT / "build"
    build_dir.mkdir(parents=True, exist_ok=True)
    dockerfile = build_dir / "Dockerfile"
    text = (ROOT / "Dockerfile").read_text()
    dockerfile.write_text("".join(line for line in text.splitlines(keepends=True) if not line.startswith("# syntax=")))
    ignore = (ROOT / ".dockerignore").read_text()
    (build_dir / "Dockerfile.dockerignore").write_text(f"{ignore.rstrip()}\n!out/gpu-weights/{backend}\n")
    return dockerfile


def reference_wav(seconds: float = 6.0) -> bytes:
    """A voiced, gliding tone (what the slow tests use; Turbo wants more than 5 s), 16-bit WAV."""
    import soundfile as sf

    from tests.support.torch_models import tone

    f = io.BytesIO()
    sf.write(f, tone(RATE, seconds), RATE, format="WAV", subtype="PCM_16")
    return f.getvalue()


def job_input(backend: str) -> dict:
    job = {"text": TEXT, "reference_audio": base64.b64encode(reference_wav()).decode(), "reference_text": TRANSCRIPT,
           "format": "wav", "seed": 1}
    if backend in CAPS_PARAMS:
        job["params"] = CAPS_PARAMS[backend]
    return {"input": job}


def wav_facts(logs: str) -> dict:
    """What the job's logged result says: duration_s, sample_rate, and from the WAV itself its rate, length and the
    RMS of the samples logged (the SDK's log line cuts the base64 short, so the header and the first samples)."""
    facts: dict = {}
    for key in ("duration_s", "sample_rate"):
        found = re.search(rf"'{key}': ([0-9.]+)", logs)
        if found:
            facts[key] = float(found[1])
    audio = re.search(r"'audio_base64': '([A-Za-z0-9+/=]+)", logs)
    if not audio:
        return facts
    data = base64.b64decode(audio[1][: len(audio[1]) // 4 * 4])
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return facts
    pos, fmt = 12, None
    while pos + 8 <= len(data):
        chunk, size = data[pos:pos + 4], struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if chunk == b"fmt ":
            fmt = struct.unpack("<HHIIHH", data[pos + 8:pos + 24])     # format, channels, rate, _, align, bits
        elif chunk == b"data" and fmt:
            _, channels, rate, _, align, bits = fmt
            samples = np.frombuffer(data[pos + 8:pos + 8 + (len(data) - pos - 8) // 2 * 2], "<i2")
            facts.update(wav_rate=rate, wav_seconds=round(size / align / rate, 3),
                         wav_rms=round(float(np.sqrt(np.mean((samples / 32768.0) ** 2))), 4) if samples.size else 0.0)
            break
        pos += 8 + size + size % 2
    return facts


def judge(result: dict, logs: str) -> dict:
    """The job's status from its exit code and logs: COMPLETED needs 24 kHz WAV audio of plausible length, not
    silence (random weights speak noise)."""
    result = {**result, **wav_facts(logs)}
    completed = result.get("exit") == 0 and "completed successfully" in logs
    plausible = (result.get("wav_rate") == RATE and 0.05 < result.get("wav_seconds", 0) < 30
                 and result.get("wav_rms", 0) > 0)
    if completed and plausible:
        status = "COMPLETED"
    elif completed:
        status = "COMPLETED, audio not as expected"
    elif result.get("exit") == 124:
        status = "timed out"
    else:
        errors = re.findall(r"'error_message': '([^']{0,200})|([A-Za-z]*Error: [^\n]{0,200})", logs)
        last = next((a or b for a, b in reversed(errors)), "") if errors else ""
        status = f"failed (exit {result.get('exit')}){': ' + last if last else ''}"
    return {**result, "job": status}


def run_job(backend: str, image: str, docker: str, log: Path, timeout: float) -> dict:
    """One job in a container of `image` (CPU device, no network); status, seconds and the audio's facts."""
    job_file = OUT / f"{backend}.test_input.json"
    job_file.write_text(json.dumps(job_input(backend)))
    job_file.chmod(0o644)
    name = f"tts-gpu-test-{backend}"
    subprocess.run([docker, "rm", "-f", name], capture_output=True)
    env = {"DEVICE": "cpu", **CAPS_ENV.get(backend, {})}
    cmd = [docker, "run", "--name", name, "--network", "none", "-v", f"{job_file}:/app/test_input.json:ro",
           *(a for k, v in env.items() for a in ("-e", f"{k}={v}")), image]
    started = time.monotonic()
    code = run(cmd, log, timeout=timeout)
    seconds = time.monotonic() - started
    subprocess.run([docker, "rm", "-f", name], capture_output=True)
    return judge({"exit": code, "job_s": round(seconds, 1)}, log.read_text(errors="replace"))


def prune(backend: str, image: str, docker: str, log: Path) -> None:
    """The image, this backend's dangling images and dangling build cache go (never other tags or the base)."""
    run([docker, "image", "rm", "-f", image], log)
    run([docker, "image", "prune", "-f", "--filter", f"label=tts-worker.backend={backend}"], log)
    run([docker, "builder", "prune", "-f", "--filter", "type=regular"], log)


def test_backend(backend: str, args, base: str, slim: str | None, index: str) -> dict:
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / f"{backend}.log"
    log.write_text("")
    result: dict = {"backend": backend, "date": time.strftime("%Y-%m-%d %H:%M"), "base": base, "torch_index": index}
    try:
        weights = make_weights(backend, log)
    except RuntimeError as exc:
        return {**result, "builds": "not tried", "job": f"weights failed: {exc}"}
    image = IMAGE.format(backend=backend)
    dockerfile = build_files(backend)
    revision = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=ROOT).stdout.strip() or "unknown"
    if subprocess.run(["git", "diff", "--quiet", "HEAD", "--"], cwd=ROOT).returncode != 0:
        revision += "-dirty"                     # as `make image` labels it
    build_args = {"BACKEND": backend, "CUDA_IMAGE": base, **({"SLIM_IMAGE": slim} if slim else {}),
                  "TORCH_INDEX_URL": index, "MODEL_SOURCE": str(weights.relative_to(ROOT)), "REVISION": revision}
    cmd = [args.docker, "build", "--progress=plain", "-f", str(dockerfile),
           *(a for k, v in build_args.items() for a in ("--build-arg", f"{k}={v}")), "-t", image, "."]
    say(f"{backend}: building {image} (log: {log.relative_to(ROOT)})")
    started = time.monotonic()
    code = run(cmd, log, timeout=args.build_timeout, cwd=ROOT, env={**os.environ, "DOCKER_BUILDKIT": "1"})
    result["build_s"] = round(time.monotonic() - started)
    if code != 0:
        tail = log.read_text(errors="replace").splitlines()[-40:]
        failed = next((line for line in reversed(tail) if "ERROR" in line or "error" in line), "")
        say(f"{backend}: build failed: {failed}")
        prune(backend, image, args.docker, log)
        return {**result, "builds": "no", "job": "not run", "build_error": failed[:300]}
    size = subprocess.run([args.docker, "image", "inspect", "-f", "{{.Size}}", image], capture_output=True,
                          text=True).stdout.strip()
    result.update(builds="yes", size_mb=round(int(size) / 1e6) if size.isdigit() else None)
    say(f"{backend}: built in {result['build_s']} s, {result['size_mb']} MB; running one job")
    job_log = OUT / f"{backend}.job.log"
    job_log.write_text("")
    result.update(run_job(backend, image, args.docker, job_log, args.job_timeout))
    say(f"{backend}: job {result['job']} in {result['job_s']} s")
    if not args.keep:
        prune(backend, image, args.docker, log)
    return result


def table(results: dict[str, dict]) -> str:
    rows = ["| backend | builds | image size | the job | build time | job time (container start to exit) |",
            "|---|---|---|---|---|---|"]
    for backend in BACKENDS:
        r = results.get(backend)
        if not r:
            rows.append(f"| {backend} | not run | | | | |")
            continue
        size = f"{r['size_mb'] / 1000:.1f} GB" if r.get("size_mb") else ""
        job = r.get("job", "")
        if r.get("wav_rate"):
            job += f": WAV {r['wav_rate'] / 1000:g} kHz, {r['wav_seconds']:.2f} s"
        build_s = f"{r['build_s'] / 60:.0f} min" if r.get("build_s") else ""
        job_s = f"{r['job_s']:.0f} s" if r.get("job_s") else ""
        rows.append(f"| {backend} | {r['builds']} | {size} | {job} | {build_s} | {job_s} |")
    return "\n".join(rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("backends", nargs="*", default=os.environ.get("BACKENDS", "").split() or list(BACKENDS))
    parser.add_argument("--docker", default=os.environ.get("DOCKER", "/usr/bin/docker"))
    parser.add_argument("--docker-here", type=Path,
                        default=Path(os.environ.get("DOCKER_HERE", ROOT.parent / "shared/tools/docker-here.sh")))
    parser.add_argument("--cuda-image", default=os.environ.get("CUDA_IMAGE"),
                        help="the base (default: the local base docker-here.sh builds)")
    parser.add_argument("--slim-image", default=os.environ.get("SLIM_IMAGE"),
                        help="the base of the build's small requirements stage (default: the local base when "
                             "--cuda-image is not given, else the Dockerfile's default)")
    parser.add_argument("--torch-index-url", default=os.environ.get("TORCH_INDEX_URL"),
                        help="where torch comes from (default: the index pip uses here)")
    parser.add_argument("--build-timeout", type=float, default=3600)
    parser.add_argument("--job-timeout", type=float, default=900)
    parser.add_argument("--keep", action="store_true", help="keep each image (disk: 7 to 10 GB each)")
    parser.add_argument("--rejudge", action="store_true",
                        help="build nothing: judge the recorded jobs again from their logs and rewrite the table")
    args = parser.parse_args(argv)
    unknown = [b for b in args.backends if b not in BACKENDS]
    if unknown:
        parser.error(f"unknown backend(s) {', '.join(unknown)}; GPU backends: {', '.join(BACKENDS)}")
    store = OUT / "results.json"
    results = json.loads(store.read_text()) if store.is_file() else {}
    if args.rejudge:
        for backend, result in results.items():
            job_log = OUT / f"{backend}.job.log"
            if result.get("builds") == "yes" and job_log.is_file():
                logs = job_log.read_text(errors="replace")
                result.setdefault("exit", 0 if "completed successfully" in logs else None)
                results[backend] = judge(result, logs)
        store.write_text(json.dumps(results, indent=1))
        (OUT / "results.md").write_text(table(results))
        sys.stdout.write(table(results))
        return 0
    base = args.cuda_image or local_base(args.docker_here)
    slim = args.slim_image or (None if args.cuda_image else base)
    index = args.torch_index_url or pip_index_url()
    say(f"base {base}, torch from {index}, backends: {', '.join(args.backends)}")
    OUT.mkdir(parents=True, exist_ok=True)
    for backend in args.backends:
        results[backend] = test_backend(backend, args, base, slim, index)
        store.write_text(json.dumps(results, indent=1))
        (OUT / "results.md").write_text(table(results))
    sys.stdout.write(table(results))
    return 0 if all(results[b].get("job", "").startswith("COMPLETED") for b in args.backends) else 1


if __name__ == "__main__":
    sys.exit(main())
