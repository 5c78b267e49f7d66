"""hibari's English G2P tables (lexicons, tagger, tokenizer exceptions) baked beside the model as one SQLite file that
the G2P reads entry by entry: a worker starts without decoding them (hibari's own gzip + json decodes about 180,000
entries, 0.4 s of CPU at start-up; see `english_g2p`)."""
from __future__ import annotations

import importlib.metadata
import itertools
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path

from common.errors import BackendUnavailable
from common.manifest import file_sha256, listed_sha256

log = logging.getLogger(__name__)

TABLES_DIR = "g2p-tables"
TABLES_FILE = "tables.sqlite"
SCHEMA = 1
#: a dict with more entries than this is stored a row per entry and looked up on demand; smaller values whole
LAZY_ABOVE = 2000
#: entries a table keeps once looked up (common words and tagger features come back sentence after sentence)
MEMO_ENTRIES = 50_000
_LAZY = "$lazy"                  # {"$lazy": table}: the marker a stored value holds where a looked-up table goes
_SWAP = threading.Lock()         # one G2P built with the swapped table reader at a time


def tables_key() -> str:
    """The folder a set of tables lives in: the tables are hibari's, in this module's layout."""
    return f"hibari-{importlib.metadata.version('hibari-tts')}-sqlite{SCHEMA}"


def _table_reader(module):
    return getattr(module, "_load_json", None)


def write_tables(dest: Path) -> list[str]:
    """At bake: every table hibari's American G2P reads (the British one loads on first use), into
    `dest/g2p-tables/<tables_key()>/tables.sqlite`; returns its path relative to `dest` (none if hibari reads its
    tables otherwise)."""
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
    path = dest / TABLES_DIR / tables_key() / TABLES_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE whole (name TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
        db.execute("CREATE TABLE entries (tab INTEGER, key TEXT, value TEXT NOT NULL, PRIMARY KEY (tab, key)) "
                   "WITHOUT ROWID")
        tabs = itertools.count()
        for name, table in tables.items():
            db.execute("INSERT INTO whole VALUES (?, ?)", (name, json.dumps(_split(db, tabs, table), ensure_ascii=False)))
    db.close()
    return [str(path.relative_to(dest))]


def _split(db: sqlite3.Connection, tabs: Iterator[int], value):
    """What is stored whole for `value`: large dicts go to `entries` under the next number of `tabs` (a marker in
    their place), small dicts are split in turn, anything else stays as it is."""
    if not isinstance(value, dict):
        return value
    if _LAZY in value:
        raise ValueError(f"a G2P table holds the key {_LAZY!r} the stored layout reserves")
    if len(value) > LAZY_ABOVE:
        tab = next(tabs)
        db.executemany("INSERT INTO entries VALUES (?, ?, ?)",
                       ((tab, key, json.dumps(entry, ensure_ascii=False)) for key, entry in value.items()))
        return {_LAZY: tab}
    return {key: _split(db, tabs, entry) for key, entry in value.items()}


class TablesFile:
    """One open tables file, shared by its tables (SQLite answers one query at a time on it here)."""

    def __init__(self, path: Path):
        self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True,
                                   check_same_thread=False)
        self.lock = threading.Lock()

    def whole(self, name: str):
        """A stored table, its looked-up parts as LookupTables; KeyError if the file does not have it."""
        with self.lock:
            row = self._db.execute("SELECT value FROM whole WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise KeyError(name)
        return json.loads(row[0], object_hook=self._lookup_table)

    def _lookup_table(self, value: dict):
        return LookupTable(self, value[_LAZY]) if len(value) == 1 and _LAZY in value else value

    def entry(self, tab: int, key: str) -> str | None:
        with self.lock:
            row = self._db.execute("SELECT value FROM entries WHERE tab = ? AND key = ?", (tab, key)).fetchone()
        return None if row is None else row[0]

    def keys(self, tab: int) -> list[str]:
        with self.lock:
            return [key for (key,) in self._db.execute("SELECT key FROM entries WHERE tab = ? ORDER BY key", (tab,))]


class LookupTable(Mapping):
    """A read-only dict whose entries are read from the tables file when first looked up (then kept, found or not,
    up to MEMO_ENTRIES)."""

    def __init__(self, tables: TablesFile, tab: int):
        self._tables, self._tab = tables, tab
        self._memo: dict[str, object] = {}

    def get(self, key, default=None):
        try:
            value = self._memo[key]
            return default if value is _MISSING else value
        except KeyError:
            pass
        except TypeError:               # unhashable: no such key
            return default
        stored = self._tables.entry(self._tab, key) if isinstance(key, str) else None
        if len(self._memo) >= MEMO_ENTRIES:
            self._memo.clear()
        value = self._memo[key] = _MISSING if stored is None else json.loads(stored)   # misses are kept too
        return default if value is _MISSING else value

    def __getitem__(self, key):
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def __iter__(self) -> Iterator[str]:
        return iter(self._tables.keys(self._tab))

    def __len__(self) -> int:
        return len(self._tables.keys(self._tab))


_MISSING = object()


def open_tables(model_dir: str, path: Path) -> TablesFile | None:
    """The baked tables file, once it matched the manifest's sha256; None when it is not there or not vouched for
    (hibari reads its own tables then)."""
    if not path.is_file():
        return None
    try:
        listed = listed_sha256(model_dir, str(path.relative_to(model_dir)))
        if listed is None or file_sha256(path) != listed:
            log.warning("baked G2P tables %s are not the ones in the manifest; reading hibari's own", path)
            return None
        return TablesFile(path)
    except (OSError, sqlite3.Error, BackendUnavailable) as exc:
        log.warning("baked G2P tables %s cannot be read (%s); reading hibari's own", path, exc)
        return None


def english_g2p(model_dir: str | None, british: bool = False):
    """hibari's G2P; its tables looked up in `model_dir`'s baked tables file where it is there for this hibari and
    matches the manifest's sha256, else (and for any table missing from it) read by hibari's own gzip + json."""
    from hibari import g2p as module

    read = _table_reader(module)
    tables = open_tables(model_dir, Path(model_dir) / TABLES_DIR / tables_key() / TABLES_FILE) if model_dir else None
    if read is None or tables is None:
        return module.G2P(british=british)

    def baked(name):
        try:
            return tables.whole(name)
        except (KeyError, sqlite3.Error, ValueError):
            return read(name)

    with _SWAP:
        module._load_json = baked
        try:
            return module.G2P(british=british)
        finally:
            module._load_json = read
