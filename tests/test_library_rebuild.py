"""A library that can always be rebuilt: rotated online backups, and `library check --rebuild` from the
stored files when there is no backup to restore (#32)."""

import time

import numpy as np

from desktop.cli import main
from desktop.library import Library, collections, trash
from desktop.library.models import Base
from desktop.library.recovery import LOST_IN_A_REBUILD, REBUILT_FROM_FILES


def test_a_rebuild_names_every_table_it_makes_again_or_loses():
    """A table a migration adds must be named by the rebuild: made again from the files, or lost."""
    assert set(REBUILT_FROM_FILES) | set(LOST_IN_A_REBUILD) == set(Base.metadata.tables)
    assert not set(REBUILT_FROM_FILES) & set(LOST_IN_A_REBUILD)


def _two(lib):
    made = []
    for k, repeat in enumerate(("basic", "half-drop")):
        meta = {"style": "stripes", "repeat": repeat, "seed": 10 + k,
                "palette": {"name": "art-deco", "colors": ["#112233", "#c9a227"]}}
        made.append(lib.add_tile(np.full((24, 24, 3), 40 + 90 * k, np.uint8), meta).pattern_id)
    return made


def test_check_rebuild_makes_the_catalogue_again_from_the_files(tmp_path, capsys):
    root = tmp_path / "lib"
    with Library(root) as lib:
        ids = _two(lib)
        lib.update(ids[0], rating=4, add_tags=["gold"])
        collections.add(lib, "Deco", ids, make_missing=True)
    (root / "library.db").write_bytes(b"this is not a database any more" * 100)  # damaged, and no backup
    for extra in root.glob("library.db-*"):
        extra.unlink()
    assert main(["--library", str(root), "--json", "library", "check", "--rebuild"]) == 0
    out = capsys.readouterr().out
    assert '"kept_aside"' in out and "tags" in out and "collections" in out  # what was lost is said
    aside = list(root.glob("library.db.damaged-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    with Library(root) as lib:
        got = sorted((lib.get(p["id"]) for p in lib.list()), key=lambda g: g["provenance"]["seed"])
        assert len(got) == 2
        assert [(g["repeat"], g["provenance"]["style"], g["provenance"]["seed"]) for g in got] == [
            ("basic", "stripes", 10), ("half-drop", "stripes", 11)]
        assert got[0]["provenance"]["palette"]["colors"] == ["#112233", "#c9a227"]
        assert "gold" not in got[0]["tags"] and collections.all_collections(lib) == []  # not in the files: lost
        assert lib.check()["ok"]


def test_backups_are_taken_on_a_schedule_and_before_emptying_the_trash_and_rotate(tmp_path, monkeypatch):
    root = tmp_path / "lib"
    with Library(root) as lib:
        ids = _two(lib)
        assert lib.latest_backup() is None  # a new library has nothing to keep yet
    with Library(root) as lib:  # opened again: the first scheduled backup
        first = lib.latest_backup()
        assert first is not None and first.name.endswith("-scheduled.db")
    with Library(root) as lib:  # within the day: no second one
        assert lib.latest_backup() == first
        trash.trash(lib, [ids[0]])
        trash.empty(lib)
        before = lib.latest_backup()
        assert before.name.endswith("-before-empty-trash.db")
        import sqlite3

        with sqlite3.connect(before) as con:  # a whole, consistent copy from before the purge
            assert con.execute("select count(*) from pattern").fetchone()[0] == 2
        monkeypatch.setattr(Library, "BACKUP_EVERY_S", 0)
        for _ in range(Library.KEEP_BACKUPS + 2):
            lib.backup_if_due()
            time.sleep(0.01)
        kept = sorted(lib.backups.glob("library-*.db"))
        assert len(kept) == Library.KEEP_BACKUPS and first not in kept  # the oldest went
        assert not list(lib.backups.glob(".*.tmp"))
