"""The library: schema and settings, import, provenance, updates, audit, locking, corruption."""

import hashlib
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from desktop.engine.procedural.variants import PLAID_SETTS
from desktop.library import Library, LibraryCorrupt, LibraryError, LibraryLocked, restore_latest_backup
from desktop.library.metadata_chunks import parse_a1111


@pytest.fixture
def lib(tmp_path):
    library = Library(tmp_path / "lib")
    yield library
    library.close()


def tile(seed=0, size=64):
    return (np.random.default_rng(seed).random((size, size, 3)) * 255).astype(np.uint8)


def test_opening_creates_a_migrated_database_with_safe_settings(lib):
    assert lib.revision() == "0004"
    with lib.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        tables = {r[0] for r in conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"pattern", "provenance", "qa_report", "tag", "collection", "palette", "audit_log",
            "embedding_outbox"} <= tables


def test_a_second_window_is_refused_and_a_script_writes_beside_the_window(tmp_path):
    with Library(tmp_path / "lib", window=True) as window:
        with pytest.raises(LibraryLocked, match="open in another Tessera"):
            Library(window.root, window=True)
        window.settle()
        assert not window.outside_changes()
        with Library(window.root) as script:  # a `tessera` command beside the open window
            pid = script.add_tile(tile(7), {"style": "stripes", "repeat": "basic"}).pattern_id
            script.update_many([pid], status="approved")
        assert window.get(pid)["status"] == "approved"  # through SQLite: one database, no copy
        assert window.outside_changes()  # the window notices the other process's commits
        assert not window.outside_changes()  # once
        window.update_many([pid], rating=3)
        assert not window.outside_changes()  # its own write, known as its own


def test_a_schema_upgrade_needs_the_library_to_itself(tmp_path, monkeypatch):
    from desktop.library import catalogue

    root = tmp_path / "lib"
    Library(root).close()
    with Library(root, window=True):
        monkeypatch.setattr(catalogue.Library, "revision", lambda self: "0000")
        real = catalogue.Library._migrate

        def older(self):  # as if this library's schema were behind the code's
            from alembic.runtime import migration

            monkeypatch.setattr(migration.MigrationContext, "get_current_revision", lambda ctx: "0001")
            return real(self)

        monkeypatch.setattr(catalogue.Library, "_migrate", older)
        with pytest.raises(LibraryLocked, match="needs its database upgraded"):
            Library(root)


def test_import_files_and_folders_skips_duplicates_and_quarantines_bad_files(lib, shared_textures, tmp_path):
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(tile(1)).save(folder / "a.png")
    Image.fromarray(tile(2)).save(folder / "sub" / "b.webp", lossless=True)
    Image.fromarray(tile(3)).save(folder / "sub" / "c.tif")
    Image.fromarray(tile(1)).save(folder / "same-as-a.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    (folder / "notes.txt").write_text("hello")
    (folder / ".thumbs").mkdir()
    Image.fromarray(tile(4)).save(folder / ".thumbs" / "a.png")  # a hidden folder is not looked in
    (tmp_path / "named.txt").write_text("asked for by name")
    changes = lib.import_paths([folder, shared_textures / "seamless" / "moss-plants.jpg", tmp_path / "named.txt"])
    assert len(changes.added) == 4
    assert [s["source"].endswith("same-as-a.png") for s in changes.skipped] == [True]
    reasons = {q["source"].rsplit("/", 1)[-1]: q["reason"] for q in changes.quarantined}
    assert set(reasons) == {"broken.png", "named.txt"}  # a file named on its own is never passed over
    assert "not an importable image type" in reasons["named.txt"]
    assert (lib.quarantine / "broken.png.reason.txt").read_text().strip() == reasons["broken.png"]
    # a folder's README or sidecar is left alone, said so, and not copied into quarantine
    # a hidden folder's file is counted as ignored too, with why
    ignored = {i["source"].rsplit("/", 1)[-1]: i for i in changes.ignored}
    assert sorted(ignored) == ["a.png", "notes.txt"]
    assert ignored["a.png"]["left_alone"] == "hidden" and ".thumbs" in ignored["a.png"]["source"]
    assert not (lib.quarantine / "notes.txt").exists()
    assert changes.import_summary() == ("imported 4, skipped 1 exact duplicate(s), quarantined 2, "
                                        "ignored 1 file(s) of types it does not read (.txt), ignored 1 hidden file(s)")
    assert (folder / "broken.png").exists()  # the user's file is never moved
    assert changes.import_details(limit=1) == f"{reasons['broken.png']}; and 1 more in the library's quarantine folder"
    for item in lib.list():
        assert (lib.root / "files").exists() and item["sha256"] in item["file"]
    assert lib.check()["ok"]


def test_a_path_that_is_not_there_is_reported_missing_and_nothing_is_quarantined(lib, tmp_path):
    Image.fromarray(tile(5)).save(tmp_path / "here.png")
    changes = lib.import_paths([tmp_path / "gone.png", tmp_path / "here.png", tmp_path / "no-folder"])
    assert len(changes.added) == 1 and changes.quarantined == []
    assert [Path(m["source"]).name for m in changes.missing] == ["gone.png", "no-folder"]
    assert changes.as_dict()["missing"][0]["reason"] == "no such file or folder"
    assert changes.import_summary().endswith(", did not find 2 (gone.png, no-folder)")
    assert not lib.quarantine.exists() or not any(lib.quarantine.iterdir())


def test_generation_facts_come_back_as_provenance(lib, tmp_path):
    from desktop.engine.generate import GenerateRequest, run_generate

    path = run_generate(GenerateRequest(style="plaid", repeat="half-drop", width=64, height=64, seed=9,
                                        out_dir=str(tmp_path), auto_correct=True, max_attempts=2))[0].path
    pid = lib.import_paths([path]).added[0]
    item = lib.get(pid)
    assert item["repeat"] == "half-drop"
    assert item["provenance"]["style"] == "plaid" and item["provenance"]["seed"] == 9
    assert item["provenance"]["params"]["sett"] in PLAID_SETTS  # the seed's variant of the default brief
    assert item["provenance"]["attempts"] and item["qa"]


def test_a1111_parameters_are_read(lib, tmp_path):
    text = ("a damask wallpaper, gold on navy\nNegative prompt: blurry, text\n"
            "Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 1234, Size: 512x512, "
            "Model hash: abc123, Model: sd15, Tiling: True")
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", text)
    Image.fromarray(tile(4)).save(tmp_path / "a1111.png", pnginfo=info)
    prov = lib.get(lib.import_paths([tmp_path / "a1111.png"]).added[0])["provenance"]
    assert prov["prompt"] == "a damask wallpaper, gold on navy"
    assert prov["negative_prompt"] == "blurry, text"
    assert (prov["steps"], prov["seed"], prov["cfg"], prov["scheduler"]) == (30, 1234, 7.5, "DPM++ 2M Karras")
    assert prov["model_hash"] == "abc123" and prov["engine"] == "diffusion"
    assert parse_a1111("just a prompt")["prompt"] == "just a prompt"


def test_status_rating_tags_and_the_audit_log(lib):
    pid = lib.add_tile(tile(5), {"style": "stripes", "seed": 1, "repeat": "basic"}).added[0]
    changes = lib.update(pid, status="approved", rating=4, add_tags=["Floral", "navy"])
    assert changes.changed == [pid]
    item = lib.get(pid)
    assert (item["status"], item["rating"], item["tags"]) == ("approved", 4, ["floral", "navy"])
    lib.update(pid, remove_tags=["navy"])
    assert lib.get(pid)["tags"] == ["floral"]
    assert [p["id"] for p in lib.list(status="approved", tag="floral")] == [pid]
    assert [h["action"] for h in lib.get(pid)["history"]] == ["add", "update", "update"]
    with pytest.raises(LibraryError):
        lib.update(pid, status="shipped")
    with pytest.raises(LibraryError):
        lib.update(pid, rating=9)
    with pytest.raises(LibraryError, match="no pattern"):
        lib.update(9999, rating=1)


def test_the_audit_log_is_append_only(lib):
    lib.add_tile(tile(6), {"style": "stripes"})
    with lib.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.exec_driver_sql("DELETE FROM audit_log")
    with lib.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.exec_driver_sql("UPDATE audit_log SET action = 'x'")


def test_every_pattern_is_queued_for_embedding_in_its_own_transaction(lib):
    pid = lib.add_tile(tile(7), {"style": "stripes"}).added[0]
    with lib.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT pattern_id FROM embedding_outbox").scalars().all() == [pid]


def test_a_corrupt_database_is_detected_and_restored_from_backup(tmp_path):
    root = tmp_path / "lib"
    with Library(root) as library:
        pid = library.add_tile(tile(8), {"style": "stripes"}).added[0]
        backup = library.backup("manual")
    db = root / "library.db"
    data = bytearray(db.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # wreck the first page
    db.write_bytes(bytes(data))
    with pytest.raises(LibraryCorrupt, match="damaged") as excinfo:
        Library(root)
    assert str(backup) in str(excinfo.value)
    assert restore_latest_backup(root) == backup
    with Library(root) as library:
        assert library.get(pid)["id"] == pid
    assert list(root.glob("library.db.damaged-*"))


def test_migrating_an_older_database_takes_a_backup_first(tmp_path):
    root = tmp_path / "lib"
    Library(root).close()
    con = sqlite3.connect(root / "library.db")
    con.execute("UPDATE alembic_version SET version_num = 'older'")
    con.commit()
    con.close()
    with pytest.raises(LibraryError, match="not changed"):  # an unknown revision cannot be upgraded
        Library(root)
    assert list((root / "backups").glob("library-*-before-0004.db"))


def test_check_repairs_stray_and_half_written_files(lib):
    pid = lib.add_tile(tile(9), {"style": "stripes"}).added[0]
    item = lib.get(pid)
    with lib.engine.begin() as conn:  # simulate a crash between the file and its row
        conn.exec_driver_sql(f"DELETE FROM pattern WHERE id = {pid}")
    (lib.files / "ab").mkdir(exist_ok=True)
    (lib.files / "ab" / ".abc.png.x1.tmp").write_bytes(b"half")
    before = lib.check()
    assert before["stray_files"] and before["partial_files"] == [".abc.png.x1.tmp"]
    after = lib.check(repair=True)
    assert any("registered" in a for a in after["repairs"]) and any("half-written" in a for a in after["repairs"])
    again = lib.check()
    assert again["stray_files"] == [] and again["partial_files"] == [] and again["patterns"] == 1
    assert lib.list()[0]["sha256"] == item["sha256"]


def test_reads_never_wait_for_the_writer(lib):
    """The window reads (counts, details) while the writer lane holds a write transaction: under WAL a
    deferred read sees the last commit at once instead of queueing behind BEGIN IMMEDIATE."""
    import threading

    from sqlalchemy import text
    from sqlalchemy.orm import Session

    lib.add_tile(np.zeros((16, 16, 3), np.uint8), {"repeat": "basic"})
    holding, release = threading.Event(), threading.Event()

    def writer():
        with Session(lib.engine) as session, session.begin():
            session.execute(text("UPDATE pattern SET rating = 3"))
            holding.set()
            release.wait(120)

    thread = threading.Thread(target=writer)
    thread.start()
    assert holding.wait(60)
    try:
        assert lib.count() == 1 and lib.get(lib.list()[0]["id"])["rating"] == 0  # the committed state
        # read while the write was still open: a read that queued behind it would have waited for its end
        # (the writer holds until released) or failed on the busy timeout, never returned here
        assert thread.is_alive() and not release.is_set()
    finally:
        release.set()
        thread.join()
    assert lib.get(lib.list()[0]["id"])["rating"] == 3


def _png_bytes(seed):
    import io

    buf = io.BytesIO()
    Image.fromarray(tile(seed)).save(buf, format="PNG")
    return buf.getvalue()


def _item(seed, source=""):
    return {"data": _png_bytes(seed), "suffix": ".png", "width": 64, "height": 64, "source": source}


def test_a_batch_is_stored_in_one_transaction_and_reports_its_own_duplicates(lib):
    first = lib.add_many([_item(1, "a.png")]).added[0]
    changes = lib.add_many([_item(2, "b.png"), _item(1, "again.png"), _item(3, "c.png"), _item(2, "copy.png")])
    assert len(changes.added) == 2
    kept_b = changes.added[0]
    assert sorted((s["source"], s["duplicate_of"]) for s in changes.skipped) == [("again.png", first),
                                                                                ("copy.png", kept_b)]
    assert lib.count() == 3 and {p["title"] for p in lib.list()} == {"a", "b", "c"}
    with lib.engine.connect() as conn:  # every new pattern has its provenance, outbox row and audit line
        for table in ("provenance", "embedding_outbox"):
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 3
        assert conn.exec_driver_sql("SELECT count(*) FROM audit_log WHERE action = 'add'").scalar() == 3


def test_a_batch_that_fails_leaves_neither_rows_nor_files(lib, monkeypatch):
    """A failure half-way through a batch (after its first row is written) rolls the whole batch
    back and removes the files it stored: no row without its file, no file without its row."""
    import desktop.library.catalogue as catalogue

    lib.add_many([_item(1)])
    before = sorted(p.name for p in lib.files.rglob("*") if p.is_file())
    real = catalogue.provenance_values
    calls = []

    def second_fails(*args):
        calls.append(args)
        if len(calls) == 2:
            raise sqlite3.OperationalError("disk I/O error")
        return real(*args)

    monkeypatch.setattr(catalogue, "provenance_values", second_fails)
    with pytest.raises(sqlite3.OperationalError):
        lib.add_many([_item(2), _item(3), _item(4)])
    assert len(calls) == 2 and lib.count() == 1
    assert sorted(p.name for p in lib.files.rglob("*") if p.is_file()) == before
    assert lib.check()["stray_files"] == []


def test_reimporting_a_folder_skips_known_files_before_decoding_them(lib, tmp_path, monkeypatch):
    import desktop.engine.images as images
    from desktop.library import search

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(5):
        Image.fromarray(tile(i)).save(folder / f"{i}.png")
    first = search.import_into(lib, [folder])
    decoded = []
    real_decode = images.decode_rgb
    monkeypatch.setattr(images, "decode_rgb", lambda data, *a: decoded.append(a) or real_decode(data, *a))
    again = search.import_into(lib, [folder])
    assert len(first.added) == 5 and again.added == [] and decoded == []
    assert sorted(s["duplicate_of"] for s in again.skipped) == sorted(first.added)


def _folder_of_tiles(tmp_path, n):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(n):
        Image.fromarray(tile(i)).save(folder / f"{i:02d}.png")
    return folder


def _files_match_rows(lib):
    stored = sorted(str(p) for p in lib.files.rglob("*") if p.is_file())
    return stored == sorted(p["file"] for p in lib.list())


def test_a_cancelled_import_keeps_whole_batches_and_removes_the_files_written_ahead(lib, tmp_path):
    """Files are written to the store on the decode threads, ahead of their rows: a cancel keeps
    the batches already committed and removes every file whose row never came."""
    from desktop.jobs import JobCancelled as Cancelled
    from desktop.library import search

    folder = _folder_of_tiles(tmp_path, 40)

    class CancelAt:
        def progress(self, step, total=None, message=None):
            if step == 20:
                raise Cancelled()

    with pytest.raises(Cancelled):
        search.import_into(lib, [folder], CancelAt())
    assert lib.count() == 16  # one batch of 16 committed; the next was being gathered
    assert _files_match_rows(lib) and lib.check()["stray_files"] == []
    again = search.import_into(lib, [folder])  # and the rest imports when asked again
    assert len(again.added) == 24 and len(again.skipped) == 16 and _files_match_rows(lib)


def test_a_disk_that_fills_during_an_import_loses_nothing_committed(lib, tmp_path, monkeypatch):
    import errno
    import os

    import desktop.library.catalogue as catalogue
    from desktop.library import search

    folder = _folder_of_tiles(tmp_path, 40)
    real, writes = catalogue.atomic_write_bytes, []

    def fills_up(path, data, durable=True):
        writes.append(path)
        if len(writes) > 25:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real(path, data, durable=durable)

    monkeypatch.setattr(catalogue, "atomic_write_bytes", fills_up)
    with pytest.raises(LibraryError, match="No space left"):
        search.import_into(lib, [folder])
    assert lib.count() == 16 and _files_match_rows(lib) and lib.check()["ok"]


def test_a_batch_whose_files_cannot_be_synced_commits_no_rows(lib, tmp_path, monkeypatch):
    """The import writes its files ahead without waiting for the disk and syncs each batch at once
    before its commit; when that sync fails, the batch's rows never come and its files go."""
    import errno
    import os

    import desktop.library.catalogue as catalogue
    from desktop.library import search

    folder = _folder_of_tiles(tmp_path, 40)
    real, syncs = catalogue.make_durable, []

    def fails_second(paths):
        syncs.append(list(paths))
        if len(syncs) == 2:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        real(paths)

    monkeypatch.setattr(catalogue, "make_durable", fails_second)
    with pytest.raises(LibraryError, match="could not store the images: Input/output error"):
        search.import_into(lib, [folder])
    assert len(syncs[0]) == 16 and all(p.is_file() for p in syncs[0])  # the batch's files, synced together
    assert lib.count() == 16 and _files_match_rows(lib) and lib.check()["ok"]
    monkeypatch.setattr(catalogue, "make_durable", real)
    assert len(search.import_into(lib, [folder]).added) == 24  # the rest arrives on a second try


def test_a_stored_file_cut_short_is_written_again(lib):
    from desktop.engine.images import png_bytes

    data = png_bytes(np.full((16, 16, 3), 90, np.uint8), {})
    pid = lib.add_bytes(data, ".png", width=16, height=16).added[0]
    path = Path(lib.get(pid)["file"])
    path.write_bytes(data[:40])  # what a power cut can leave of a file not yet on disk
    digest = hashlib.sha256(data).hexdigest()
    assert lib._store(data, digest, ".png") == (str(path.relative_to(lib.files)), True)
    assert path.read_bytes() == data


def test_png_text_reads_every_text_chunk_and_steps_over_the_pixels(tmp_path):
    import io
    import struct
    import zlib

    from desktop.library.metadata_chunks import png_text

    info = PngImagePlugin.PngInfo()
    info.add_text("plain", "latin é")
    info.add_text("packed", "x" * 500, zip=True)
    info.add_itxt("intl", "ünïcode ✓", lang="en")
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(buf, "PNG",
                                                                                               pnginfo=info)
    data = buf.getvalue()

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    iend = data.rindex(b"IEND") - 4
    late = chunk(b"tEXt", b"after\0the pixels") + chunk(b"zTXt", b"broken\0\0not zlib")
    data = data[:iend] + late + data[iend:]
    assert png_text(data) == {"plain": "latin é", "packed": "x" * 500, "intl": "ünïcode ✓", "after": "the pixels"}
    assert png_text(data[:iend + 20]) == {"plain": "latin é", "packed": "x" * 500, "intl": "ünïcode ✓"}  # cut short


def test_a_patterns_lineage_is_itself_its_parents_children_and_siblings(lib):
    tile = (np.random.default_rng(5).random((32, 32, 3)) * 255).astype(np.uint8)
    source = lib.add_tile(tile, {"style": "toss", "seed": 1}).added[0]
    a = lib.add_tile(tile[::-1].copy(), {"style": "toss", "seed": 1, "parents": [source]}).added[0]
    b = lib.add_tile(255 - tile, {"style": "toss", "seed": 1, "parents": [source]}).added[0]
    grandchild = lib.add_tile(tile[:, ::-1].copy(), {"style": "toss", "seed": 1, "parents": [a]}).added[0]
    stranger = lib.add_tile(np.rot90(tile).copy(), {"style": "toss", "seed": 2}).added[0]
    assert lib.lineage(a) == {source, a, b, grandchild}
    assert lib.lineage(source) == {source, a, b}
    assert lib.lineage(stranger) == {stranger}
    assert lib.lineage(None, parents=[source]) == {source, a, b}  # a tile not stored yet, made from source
    assert lib.lineage(None) == set()


def test_titles_a_listing_can_use_are_drafted_from_the_tile(tmp_path):
    """One place drafts titles (titles.tile_title): the inks' colour names, the motif, the style and an
    offset repeat, not "wallpaper 0"; a file Tessera made is titled so when imported, another by its name."""
    from desktop.engine.generate import GenerateRequest, run_generate
    from desktop.library.titles import tile_title
    from desktop.palettes import parse_palette

    meta = {"style": "wallpaper", "params": {"motif": "sprig", "group": "p4m"}, "repeat": "half-drop", "seed": 3,
            "palette": parse_palette("art-deco").as_dict()}
    assert tile_title(meta) == "Black and Gold Sprig Wallpaper, Half-drop (3)"
    assert tile_title({**meta, "style": "plaid", "params": {}, "repeat": "basic"}) == "Black and Gold Plaid (3)"
    assert tile_title({**meta, "title": "Deco Garden"}) == "Deco Garden"  # a title of its own wins
    out = tmp_path / "made"
    run_generate(GenerateRequest(style="polka-dots", palette="indigo-dye", width=64, height=64, out_dir=str(out),
                                 auto_correct=False))
    (tmp_path / "scan").mkdir()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(tmp_path / "scan" / "grandmas-rose.png")
    with Library(tmp_path / "lib") as lib:
        lib.import_paths([out, tmp_path / "scan"])
        titles = sorted(p["title"] for p in lib.list())
    assert titles == ["Navy and Indigo Polka Dots (0)", "grandmas-rose"]
