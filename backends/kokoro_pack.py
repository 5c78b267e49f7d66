"""Bake the official Kokoro v1.0 ONNX model and voice pack (hub or directory) into a model directory."""
from __future__ import annotations

import json
import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

# The official source: the ONNX export of Kokoro-82M v1.0 on the Hugging Face hub, with every voice as a raw
# float32 (510, 1, 256) table (voices/<name>.bin). The same model and voices ship as kokoro-onnx's release
# assets (kokoro-v1.0.onnx, voices-v1.0.bin); a directory in either layout is accepted.
HUB_REPO = "onnx-community/Kokoro-82M-v1.0-ONNX"
HUB_PATTERNS = ("onnx/model.onnx", "voices/*.bin", "config.json")
MODEL_OUT = "kokoro-v1.0.onnx"
ROWS, STYLE_DIM = 510, 256


def bake_official(dest: Path, source: str, revision: str | None, download) -> None:
    """Fill `dest` with kokoro-v1.0.onnx (or the int8 one), voices-v1.0.bin and kokoro-timing.json.

    `source` is a hub repo id (fetched with `download(repo, dir, patterns, revision)`) or a directory holding
    either kokoro-onnx's layout (kokoro-v1.0[.int8].onnx + voices-v1.0.bin) or the hub's (onnx/model.onnx +
    voices/*.bin)."""
    from backends.kokoro import MODEL_FILES
    from common.errors import BackendUnavailable
    from backends.kokoro_voices import PACK_FILE, read_pack

    from .bake import BakeError

    with tempfile.TemporaryDirectory(prefix="kokoro-bake-") as tmp:
        root = Path(source)
        if not root.is_dir():
            root = Path(tmp)
            download(source, root, HUB_PATTERNS, revision)
        model = next((root / n for n in MODEL_FILES if (root / n).is_file()), root / "onnx" / "model.onnx")
        if not model.is_file():
            raise BakeError(f"no Kokoro model in {source}: expected {' or '.join(MODEL_FILES)}, or onnx/model.onnx")
        target = dest / (model.name if model.name in MODEL_FILES else MODEL_OUT)
        shutil.copyfile(model, target)
        if (root / PACK_FILE).is_file():
            try:
                read_pack(root / PACK_FILE)                   # refuses pickles and odd shapes before baking
            except BackendUnavailable as exc:
                raise BakeError(exc.message) from exc
            shutil.copyfile(root / PACK_FILE, dest / PACK_FILE)
        else:
            write_pack(sorted((root / "voices").glob("*.bin")), dest / PACK_FILE)
        write_timing(target, dest)


def write_pack(voice_files: list[Path], out: Path) -> None:
    """voices/<name>.bin (raw little-endian float32) -> one npz in the voices-v1.0.bin layout."""
    from .bake import BakeError

    if not voice_files:
        raise BakeError("the Kokoro source has no voices (voices-v1.0.bin or voices/*.bin)")
    tables = {}
    for path in voice_files:
        raw = np.fromfile(path, dtype="<f4")
        if raw.size != ROWS * STYLE_DIM:
            raise BakeError(f"{path.name} holds {raw.size} floats; a Kokoro voice has {ROWS} x {STYLE_DIM}")
        tables[path.stem] = raw.reshape(ROWS, 1, STYLE_DIM)
    with open(out, "wb") as f:
        np.savez(f, **tables)
    log.info("wrote %s: %d voices", out, len(tables))


def write_timing(model: Path, dest: Path) -> None:
    """Record the graph's duration tensor (found by structure with `onnx`) for exact word timestamps."""
    from backends.kokoro_timing import TIMING_FILE, find_duration_tensor

    tensor = find_duration_tensor(model.read_bytes())
    if tensor is None:
        log.warning("%s has no duration tensor: word timestamps will use whisper alignment", model.name)
    (dest / TIMING_FILE).write_text(json.dumps({"duration_tensor": tensor}) + "\n", encoding="utf-8")
