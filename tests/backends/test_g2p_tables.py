"""Kokoro's English G2P tables baked as one SQLite file read entry by entry (backends/g2p_tables.py): the G2P built
from them speaks as hibari's own does, its lookups answer as hibari's dicts do, and a file the manifest does not vouch
for is never read."""
from __future__ import annotations

import json

import pytest
from hibari import g2p as hibari_g2p

from backends.g2p_tables import TABLES_DIR, TABLES_FILE, LookupTable, english_g2p, tables_key, write_tables
from common.manifest import MANIFEST, write_manifest

NAMES = ("lexicon_us_gold.json.gz", "lexicon_us_silver.json.gz", "tagger.json.gz", "tokenizer_exceptions.json")
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


def test_the_bake_writes_every_table_the_american_g2p_reads_into_one_file(baked, reads):
    dest, written = baked
    assert written == [f"{TABLES_DIR}/{tables_key()}/{TABLES_FILE}"]
    assert (dest / written[0]).is_file()
    english_g2p(str(dest))
    assert reads == []                       # every table hibari asks for is in it


def test_looked_up_tables_answer_as_hibaris_own_dicts(baked):
    own, baked_g2p = hibari_g2p.G2P(), english_g2p(str(baked[0]))
    pairs = [(own.lexicon.golds.d, baked_g2p.lexicon.golds.d), (own.lexicon.silvers.d, baked_g2p.lexicon.silvers.d),
             (own.tagger.weights, baked_g2p.tagger.weights), (own.tagger.tagdict, baked_g2p.tagger.tagdict)]
    for expected, looked_up in pairs:
        assert isinstance(looked_up, LookupTable) and len(looked_up) == len(expected)
        sample = list(expected)[::997]
        assert {key: looked_up[key] for key in sample} == {key: expected[key] for key in sample}
        assert all(key in looked_up and looked_up.get(key) == expected[key] for key in sample)
        for missing in ("no-such-entry", "", 12, None):
            assert missing not in looked_up and looked_up.get(missing) is None
            with pytest.raises(KeyError):
                looked_up[missing]
    assert baked_g2p.tagger.vocab == own.tagger.vocab and baked_g2p.tagger.tags == own.tagger.tags
    assert baked_g2p.tokenizer.special == own.tokenizer.special


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


def test_a_changed_tables_file_is_not_read(baked, tmp_path, reads):
    dest = copy_tables(baked, tmp_path / "models")
    write_manifest(dest, "kokoro", "test")
    tables = dest / baked[1][0]
    data = bytearray(tables.read_bytes())
    data[len(data) // 2] ^= 0xFF                               # after the manifest: its sha256 no longer matches
    tables.write_bytes(bytes(data))
    expected = phonemes(hibari_g2p.G2P())
    reads.clear()
    assert phonemes(english_g2p(str(dest))) == expected
    assert sorted(reads) == sorted(NAMES)


def test_tables_the_manifest_does_not_list_are_not_read(baked, tmp_path, reads):
    dest = copy_tables(baked, tmp_path / "models")
    english_g2p(str(dest))                                            # no manifest at all
    (dest / MANIFEST).write_text(json.dumps({"files": []}))          # a manifest that lists none of them
    english_g2p(str(dest))
    assert sorted(reads) == sorted(2 * NAMES)
