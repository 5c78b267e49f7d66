"""Bake the official Kokoro v1.0 ONNX model and voice pack (hub or directory) into a model directory.

Called by `builder bake` through `KokoroBackend.bake_source`; a bad source is BackendUnavailable."""
from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path

import numpy as np

from common.errors import BackendUnavailable

from .kokoro_graph import for_cpu
from .kokoro_layout import write_session_files
from .kokoro_timing import declare_duration_output, write_bake_record
from .kokoro_voices import PACK_FILE, ROWS, STYLE_DIM, read_pack

log = logging.getLogger(__name__)

# The official source: the ONNX export of Kokoro-82M v1.0 on the Hugging Face hub, with every voice as a raw
# float32 (510, 1, 256) table (voices/<name>.bin). The same model and voices ship as kokoro-onnx's release
# assets (kokoro-v1.0.onnx, voices-v1.0.bin); a directory in either layout is accepted.
HUB_REPO = "onnx-community/Kokoro-82M-v1.0-ONNX"
HUB_PATTERNS = ("onnx/model.onnx", "voices/*.bin", "config.json")
MODEL_OUT = "kokoro-v1.0.onnx"


def bake_official(dest: Path, source: str, revision: str | None, download, model_files: tuple[str, ...]) -> None:
    """Fill `dest` with kokoro-v1.0.onnx (or the int8 one; its graph rewritten for the CPU, as session files in
    kokoro_layout's layout), voices-v1.0.bin and kokoro-timing.json.

    `source` is a hub repo id (fetched with `download(repo, dir, patterns, revision)`) or a directory holding
    either kokoro-onnx's layout (kokoro-v1.0[.int8].onnx + voices-v1.0.bin) or the hub's (onnx/model.onnx +
    voices/*.bin); `model_files` the model names the backend reads, the first found is taken."""
    with tempfile.TemporaryDirectory(prefix="kokoro-bake-") as tmp:
        root = Path(source)
        if not root.is_dir():
            root = Path(tmp)
            download(source, root, HUB_PATTERNS, revision)
        model = next((root / n for n in model_files if (root / n).is_file()), root / "onnx" / "model.onnx")
        if not model.is_file():
            raise BackendUnavailable(f"no Kokoro model in {source}: expected {' or '.join(model_files)}, or onnx/model.onnx")
        if (root / PACK_FILE).is_file():
            read_pack(root / PACK_FILE)                   # refuses pickles and odd shapes before baking
            shutil.copyfile(root / PACK_FILE, dest / PACK_FILE)
        else:
            write_pack(sorted((root / "voices").glob("*.bin")), dest / PACK_FILE)
        target = dest / (model.name if model.name in model_files else MODEL_OUT)
        # float 2-D convolutions (kokoro_graph), the duration output declared (kokoro_timing)
        graph = for_cpu(model.read_bytes())
        declared, tensor = declare_duration_output(graph)
        if tensor is None:
            log.warning("%s has no duration tensor: word timestamps will use whisper alignment", model.name)
        write_bake_record(dest, graph, tensor, write_session_files(declared, target))


def write_pack(voice_files: list[Path], out: Path) -> None:
    """voices/<name>.bin (raw little-endian float32) -> one npz in the voices-v1.0.bin layout."""
    if not voice_files:
        raise BackendUnavailable("the Kokoro source has no voices (voices-v1.0.bin or voices/*.bin)")
    tables = {}
    for path in voice_files:
        raw = np.fromfile(path, dtype="<f4")
        if raw.size != ROWS * STYLE_DIM:
            raise BackendUnavailable(f"{path.name} holds {raw.size} floats; a Kokoro voice has {ROWS} x {STYLE_DIM}")
        tables[path.stem] = raw.reshape(ROWS, 1, STYLE_DIM)
    with open(out, "wb") as f:
        np.savez(f, **tables)
    log.info("wrote %s: %d voices", out, len(tables))
