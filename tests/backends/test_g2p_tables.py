"""Kokoro's English G2P tables baked as marshal files (backends/g2p_tables.py): the G2P built from them speaks as
hibari's own does, and tables the manifest does not vouch for are never read."""
from __future__ import annotations

import json

import pytest
from hibari import g2p as hibari_g2p

from backends.g2p_tables import TABLES_DIR, english_g2p, tables_key, write_tables
from common.manifest import MANIFEST, write_manifest

TEXT = ("I read the record live on March 12th, 2026, at 3:45 pm; Dr. O'Neill's team won't present it until "
        "they've read it twice.")


@pytest.fixture(scope="module")
def baked(tmp_path_factory):
    dest = tmp_path_factory.mktemp("models")
    written = write_tables(dest)
    write_manifest(dest, "kokoro", "test")
    return dest, written


@pytest.fixture
def reads(monkeypatch):
    """The names hibari's own (gzip + json) reader is asked for."""
    names: list[str] = []
    real = hibari_g2p._load_json
    monkeypatch.setattr(hibari_g2p, "_load_json", lambda name: names.append(name) or real(name))
    return names


def copy_tables(baked, dest):
    """The baked tables alone, in a directory of their own (no manifest)."""
    for path in baked[1]:
        (dest / path).parent.mkdir(parents=True, exist_ok=True)
        (dest / path).write_bytes((baked[0] / path).read_bytes())
    return dest


def phonemes(g2p) -> str:
    said = g2p(TEXT)
    return said if isinstance(said, str) else said[0]


def test_the_bake_writes_every_table_the_american_g2p_reads(baked):
    dest, written = baked
    assert written == sorted(f"{TABLES_DIR}/{tables_key()}/{name}.marshal" for name in
                             ("lexicon_us_gold.json.gz", "lexicon_us_silver.json.gz", "tagger.json.gz",
                              "tokenizer_exceptions.json"))
    assert all((dest / path).is_file() for path in written)


def test_the_baked_tables_give_the_same_phonemes_without_hibari_reading_its_own(baked, reads):
    expected = phonemes(hibari_g2p.G2P())
    reads.clear()
    got = english_g2p(str(baked[0]))
    assert reads == []                       # every table came from the baked files
    assert phonemes(got) == expected and len(expected) > 60
    assert english_g2p(str(baked[0]), british=True).british   # British: hibari's own tables, on first use


def test_without_baked_tables_hibari_reads_its_own(tmp_path, reads):
    assert phonemes(english_g2p(str(tmp_path))) == phonemes(english_g2p(None))
    assert "tagger.json.gz" in reads


def test_a_changed_table_is_not_read(baked, tmp_path, reads):
    dest = copy_tables(baked, tmp_path / "models")
    write_manifest(dest, "kokoro", "test")
    tagger = dest / next(p for p in baked[1] if "tagger" in p)
    data = bytearray(tagger.read_bytes())
    data[len(data) // 2] ^= 0xFF                               # after the manifest: its sha256 no longer matches
    tagger.write_bytes(bytes(data))
    expected = phonemes(hibari_g2p.G2P())
    reads.clear()
    assert phonemes(english_g2p(str(dest))) == expected
    assert reads == ["tagger.json.gz"]


def test_tables_the_manifest_does_not_list_are_not_read(baked, tmp_path, reads):
    dest = copy_tables(baked, tmp_path / "models")
    english_g2p(str(dest))                                            # no manifest at all
    (dest / MANIFEST).write_text(json.dumps({"files": []}))          # a manifest that lists none of them
    english_g2p(str(dest))
    assert sorted(reads) == sorted(2 * [p.rsplit("/", 1)[1].removesuffix(".marshal") for p in baked[1]])
