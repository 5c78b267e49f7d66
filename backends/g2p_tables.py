"""hibari's English G2P tables (lexicons, tagger, tokenizer exceptions) as marshal files baked beside the model: read
at start-up in about a third of the time hibari's own gzip + json loading takes (see `english_g2p`)."""
from __future__ import annotations

import hashlib
import importlib.metadata
import logging
import marshal
import sys
import threading
from pathlib import Path

from common.errors import BackendUnavailable
from common.manifest import listed_sha256

log = logging.getLogger(__name__)

TABLES_DIR = "g2p-tables"
_SWAP = threading.Lock()     # one G2P built with the swapped table reader at a time


def tables_key() -> str:
    """The folder a set of tables lives in: marshal's format is Python's own, and the tables are hibari's."""
    return (f"hibari-{importlib.metadata.version('hibari-tts')}-py{sys.version_info.major}{sys.version_info.minor}"
            f"-marshal{marshal.version}")


def _table_reader(module):
    return getattr(module, "_load_json", None)


def write_tables(dest: Path) -> list[str]:
    """At bake: every table hibari's American G2P reads (the British one loads on first use), as `<name>.marshal` under
    `dest/g2p-tables/<tables_key()>/`; returns their paths relative to `dest` (none if hibari reads them otherwise)."""
    from hibari import g2p as module

    read = _table_reader(module)
    if read is None:
        log.warning("hibari %s has no table reader to replace; its G2P tables are not baked", tables_key())
        return []
    tables: dict[str, object] = {}

    def recording(name):
        tables[name] = read(name)       # the G2P keeps what it is given as it is (hibari 0.2.1)
        return tables[name]

    with _SWAP:
        module._load_json = recording
        try:
            module.G2P(british=False)
        finally:
            module._load_json = read
    folder = dest / TABLES_DIR / tables_key()
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        (folder / f"{name}.marshal").write_bytes(marshal.dumps(table))
    return sorted(str((folder / f"{name}.marshal").relative_to(dest)) for name in tables)


def english_g2p(model_dir: str | None, british: bool = False):
    """hibari's G2P; its tables from `model_dir`'s baked marshal files where they are there for this hibari and
    Python and match the manifest's sha256, else (and for any table missing) hibari's own gzip + json."""
    from hibari import g2p as module

    read = _table_reader(module)
    folder = Path(model_dir) / TABLES_DIR / tables_key() if model_dir else None
    if read is None or folder is None or not folder.is_dir():
        return module.G2P(british=british)

    def baked(name):
        path = folder / f"{name}.marshal"
        try:
            listed = listed_sha256(model_dir, str(path.relative_to(model_dir)))
            data = path.read_bytes()
        except (OSError, BackendUnavailable):
            return read(name)
        if listed is None or hashlib.sha256(data).hexdigest() != listed:   # unlisted or changed: hibari's own
            log.warning("baked G2P table %s is not the one in the manifest; reading hibari's own", name)
            return read(name)
        return marshal.loads(data)

    with _SWAP:
        module._load_json = baked
        try:
            return module.G2P(british=british)
        finally:
            module._load_json = read

