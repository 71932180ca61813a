"""The trash and undoable curation: a trashed pattern leaves every listing, search, duplicate
check, collection count, training set and publication, keeps everything, and comes back as it
was; emptying the trash deletes rows and files for good, never reuses an id, and a crash between
the commit and the unlink leaves nothing `check` would bring back. `curation`/`set_curation`
put a pattern's status, rating and tags back exactly (the window's undo)."""

import json
from datetime import timedelta

import numpy as np
import pytest

from desktop.cli import main
from desktop.engine.procedural import render
from desktop.library import Library, LibraryError, collections, publishing, search, trash
from desktop.library.training_set import training_items
from desktop.palettes import parse_palette


@pytest.fixture
def lib(tmp_path):
    with Library(tmp_path / "lib") as library:
        yield library


def tile(seed: int, size: int = 96) -> np.ndarray:
    rgb = render("toss", None, "basic", size, size, parse_palette("art-deco"), seed=seed)
    return (rgb * 255).round().astype(np.uint8)


def stocked(lib, n=4):
    ids = [lib.add_tile(tile(k), {"style": "toss", "seed": k, "repeat": "basic"}).added[0] for k in range(n)]
    search.embed_pending(lib)
    return ids


def test_a_trashed_pattern_leaves_every_listing_and_search_and_comes_back_as_it_was(lib):
    ids = stocked(lib)
    lib.update(ids[1], status="approved", rating=4, add_tags=["client-a"])
    collections.add(lib, "Spring", ids[:2], make_missing=True)
    before = lib.get(ids[1])
    assert trash.trash(lib, [ids[1]]).trashed == [ids[1]]
    assert trash.trash(lib, [ids[1]]).trashed == []  # already there: passed over
    assert ids[1] not in {p["id"] for p in lib.list()} and lib.count() == len(ids) - 1
    assert [p["id"] for p in lib.list(trashed=True)] == [ids[1]]
    assert ids[1] not in {p["id"] for p in lib.list(collection="Spring")}
    assert {c["name"]: c["patterns"] for c in collections.all_collections(lib)} == {"Spring": 1}
    assert ids[1] not in search.index(lib).ids()
    assert all(h["id"] != ids[1] for h in search.search_image(lib, tile(1), limit=10))
    assert all(h["id"] != ids[1] for h in search.similar(lib, ids[0], limit=10))
    assert [i["id"] for i in training_items(lib, status="approved")] == []
    assert lib.get(ids[1])["trashed"]  # still there, for the Inspector and `library show`
    assert trash.summary(lib)["patterns"] == 1
    assert search.reconcile(lib, build_index=False)["queued"] == []  # the trash is not put back in the index

    assert trash.restore(lib, [ids[1]]).restored == [ids[1]]
    search.embed_pending(lib)
    after = lib.get(ids[1])
    for key in ("status", "rating", "tags", "provenance", "qa", "sha256", "title"):
        assert after[key] == before[key]
    assert after["trashed"] is None
    assert [h["id"] for h in search.search_image(lib, tile(1), limit=1)] == [ids[1]]
    assert {c["name"]: c["patterns"] for c in collections.all_collections(lib)} == {"Spring": 2}
    assert [a["action"] for a in after["history"]][-2:] == ["trash", "restore"]
    with pytest.raises(LibraryError, match="no pattern 999"):
        trash.trash(lib, [999])


def test_the_duplicate_finder_does_not_count_the_trash(lib):
    original = tile(7, 128)
    a = lib.add_tile(original, {"style": "toss", "repeat": "basic"}).added[0]
    b = lib.add_tile(np.roll(original, 40, axis=1), {"style": "toss", "repeat": "basic"}).added[0]
    search.embed_pending(lib)
    assert [{p["a"], p["b"]} for p in search.duplicates(lib)] == [{a, b}]
    trash.trash(lib, [b])
    assert search.duplicates(lib) == []


def test_a_trashed_pattern_is_not_published_and_its_queued_publication_waits(lib, monkeypatch):
    ids = stocked(lib, 2)
    for pid in ids:
        lib.update(pid, status="approved")
    assert [q["id"] for q in publishing.queue(lib, [ids[0]])["queued"]] == [ids[0]]
    trash.trash(lib, ids)
    assert publishing.queue(lib, [ids[1]])["skipped"] == [{"id": ids[1],
                                                           "reason": "it is in the trash: restore it first"}]

    class Unreachable:  # a sync must not send a trashed pattern, nor fail it
        def publish(self, *args, **kwargs):
            raise AssertionError("a trashed pattern was sent")

    result = publishing.sync(lib, Unreachable())
    assert result["published"] == [] and result["failed"] == [] and result["waiting"] == 1


def test_importing_a_file_that_is_in_the_trash_brings_it_back(lib, tmp_path):
    from PIL import Image

    Image.fromarray(tile(3)).save(tmp_path / "a.png")
    pid = search.import_into(lib, [tmp_path / "a.png"]).added[0]
    trash.trash(lib, [pid])
    changes = search.import_into(lib, [tmp_path / "a.png"])
    assert changes.restored == [pid] and changes.added == [] and changes.skipped == []
    assert "restored 1 from the trash" in changes.import_summary()
    assert [h["id"] for h in search.search_image(lib, tile(3), limit=1)] == [pid]


def test_emptying_the_trash_deletes_rows_and_files_and_never_reuses_an_id(lib):
    ids = stocked(lib, 3)
    lib.thumbnail(lib.get(ids[2]))
    kept_file, gone = lib.get(ids[0])["file"], lib.get(ids[2])
    trash.trash(lib, ids[1:])
    assert trash.would_empty(lib, older_than=timedelta(days=1)) == []  # trashed just now
    assert trash.would_empty(lib) == ids[1:]
    assert trash.empty(lib, [ids[2], ids[0]]).removed == [ids[2]]  # only what is in the trash
    with pytest.raises(LibraryError):
        lib.get(ids[2])
    assert not (lib.root / "files").joinpath(gone["file"]).exists() and not list(
        (lib.root / "thumbs").glob(f"{gone['sha256']}-*"))
    assert lib.get(ids[0])["file"] == kept_file and (lib.root / "files" / kept_file).exists()
    assert trash.empty(lib).removed == [ids[1]] and trash.summary(lib)["patterns"] == 0
    fresh = lib.add_tile(tile(2), {"style": "toss", "seed": 2, "repeat": "basic"}).added[0]  # the same bytes again
    assert fresh > ids[2]  # not the id of the one deleted: its history stays its own
    assert [a["action"] for a in lib.get(fresh)["history"]] == ["add"]
    assert lib.check()["ok"] and lib.check()["stray_files"] == []


def test_a_crash_after_the_purge_commit_leaves_a_file_check_removes_not_revives(lib, monkeypatch):
    ids = stocked(lib, 2)
    doomed = lib.get(ids[1])
    trash.trash(lib, [ids[1]])
    monkeypatch.setattr(trash, "_unlink", lambda *args: None)  # the process dies before the unlink
    trash.empty(lib)
    report = lib.check()
    assert report["stray_files"] == [] and report["purged_files"] == [doomed["file"].split("files/", 1)[1]]
    repaired = lib.check(repair=True)
    assert any("deleted for good" in line for line in repaired["repairs"])
    assert lib.count() == 1 and not (lib.root / "files" / report["purged_files"][0]).exists()


def test_curation_and_set_curation_put_status_rating_and_tags_back_exactly(lib):
    ids = stocked(lib, 2)
    lib.set_auto_tags(ids[0], [("gold", 0.8), ("navy", 0.6)])
    lib.update(ids[0], add_tags=["client-a"])
    before = lib.curation(ids)
    assert before[ids[0]] == {"status": "draft", "rating": 0, "tags": ["client-a"], "title": "Toss (0)",
                              "auto": {"gold": pytest.approx(0.8), "navy": pytest.approx(0.6)}}
    changes = lib.update_many(ids, status="rejected", rating=2, add_tags=["gold", "sale"], remove_tags=["navy"])
    assert changes.changed == ids
    assert lib.curation([ids[0]])[ids[0]] == {"status": "rejected", "rating": 2, "tags": ["client-a", "gold", "sale"],
                                              "auto": {}, "title": "Toss (0)"}  # "gold" became hers; "navy" went
    assert lib.set_curation(before).changed == ids
    assert lib.curation(ids) == before
    assert lib.set_curation(before).changed == []  # nothing left to change
    history = lib.get(ids[0])["history"]
    assert history[-1]["detail"]["status"] == ["rejected", "draft"]
    with pytest.raises(LibraryError, match="no pattern 999"):
        lib.update_many([ids[0], 999], status="approved")
    assert lib.get(ids[0])["status"] == "draft"  # all or none


def test_the_cli_trashes_lists_restores_and_empties_only_when_told_to(tmp_path, capsys):
    root = tmp_path / "lib"
    with Library(root) as lib:
        ids = stocked(lib, 2)
    run = ["--library", str(root), "--json", "library"]
    assert main([*run, "trash", str(ids[0])]) == 0
    assert json.loads(capsys.readouterr().out)["trashed"] == [ids[0]]
    assert main([*run, "list", "--trashed"]) == 0
    assert [p["id"] for p in json.loads(capsys.readouterr().out)["patterns"]] == [ids[0]]
    assert main([*run, "empty-trash"]) == 2  # says what it would delete, deletes nothing
    assert "run it again with --yes" in capsys.readouterr().err
    assert main([*run, "restore", str(ids[0])]) == 0
    assert json.loads(capsys.readouterr().out)["restored"] == [ids[0]]
    assert main([*run, "trash", str(ids[1])]) == 0
    capsys.readouterr()
    assert main([*run, "empty-trash", "--older-than", "1"]) == 2  # trashed just now: would delete none
    assert "would delete 0 pattern(s)" in capsys.readouterr().err
    assert main([*run, "empty-trash", "--yes"]) == 0
    assert json.loads(capsys.readouterr().out)["deleted"] == [ids[1]]
    with Library(root) as lib:
        assert [p["id"] for p in lib.list()] == [ids[0]]


def test_a_large_selection_reaches_the_index_in_one_rewrite_with_every_field_right(lib, monkeypatch):
    ids = stocked(lib, 12)  # more than FIELDS_ONE_BY_ONE
    index = search.index(lib)
    monkeypatch.setattr(index, "update_fields", lambda *a: pytest.fail("one UPDATE per pattern"))
    lib.update_many(ids[:10], status="approved", rating=3, add_tags=["client-a"])
    search.refresh_fields(lib, ids[:10])
    hits = search.search_image(lib, tile(0), limit=20, status="approved", min_rating=3, tag="client-a")
    assert sorted(h["id"] for h in hits) == sorted(ids[:10])
    assert sorted(h["id"] for h in search.search_image(lib, tile(0), limit=20, status="draft")) == sorted(ids[10:])
    assert len(index.ids()) == 12
    assert [h["id"] for h in search.search_image(lib, tile(4), limit=1)] == [ids[4]]  # the vectors came along


def test_the_cli_sets_several_patterns_at_once_or_none(tmp_path, capsys):
    root = tmp_path / "lib"
    with Library(root) as lib:
        ids = stocked(lib, 3)
    run = ["--library", str(root), "--json", "library", "set"]
    assert main([*run, str(ids[0]), str(ids[2]), "--status", "approved", "--tag", "client-a"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["changed"] == [ids[0], ids[2]] and [p["status"] for p in out["patterns"]] == ["approved"] * 2
    assert main([*run, str(ids[1]), "999", "--status", "rejected"]) == 2  # an unknown id: nothing changes
    assert "no pattern 999" in capsys.readouterr().err
    with Library(root) as lib:
        assert lib.get(ids[1])["status"] == "draft"


def test_list_sorts_by_date_rating_title_and_last_change(lib):
    ids = stocked(lib, 3)
    lib.update(ids[0], title="Zebra")
    lib.update(ids[1], title="apple", rating=2)
    lib.update(ids[2], title="Mango", rating=5)
    lib.update(ids[0], add_tags=["late"])  # a change of tags only: the latest change
    order = {sort: [p["id"] for p in lib.list(sort=sort)] for sort in ("newest", "oldest", "rating", "title", "changed")}
    assert order == {"newest": ids[::-1], "oldest": ids, "rating": [ids[2], ids[1], ids[0]],
                     "title": [ids[1], ids[2], ids[0]], "changed": [ids[0], ids[2], ids[1]]}
    with pytest.raises(LibraryError, match="sort must be one of"):
        lib.list(sort="size")


def test_storing_a_tile_the_trash_holds_brings_it_back_and_names_it(lib):
    (pid,) = stocked(lib, 1)
    trash.trash(lib, [pid])
    changes = lib.add_tile(tile(0), {"style": "toss", "seed": 0, "repeat": "basic"})  # the same bytes again
    assert changes.restored == [pid] and changes.added == [] and changes.pattern_id == pid
    assert lib.get(pid)["trashed"] is None
    again = lib.add_tile(tile(0), {"style": "toss", "seed": 0, "repeat": "basic"})
    assert again.skipped and again.pattern_id == pid


def test_emptying_the_trash_says_which_patterns_are_on_the_marketplace(tmp_path, capsys):
    class Market:
        def publish(self, data, name, metadata, key, files=None):
            return {"id": "L1", "url": "https://market.test/p/L1"}

    root = tmp_path / "lib"
    with Library(root) as lib:
        ids = stocked(lib, 2)
        lib.update(ids[0], status="approved")
        publishing.queue(lib, [ids[0]])
        assert [p["id"] for p in publishing.sync(lib, Market())["published"]] == [ids[0]]
        trash.trash(lib, ids)
        assert trash.summary(lib) | {"oldest": None} == {"patterns": 2, "oldest": None, "published": 1}
        assert trash.summary(lib, [ids[1]])["published"] == 0
    assert main(["--library", str(root), "library", "empty-trash"]) == 2
    assert "1 of them on the marketplace (their listings stay there)" in capsys.readouterr().err


def test_collections_take_patterns_out_rename_and_delete_leaving_the_patterns(tmp_path, capsys):
    root = tmp_path / "lib"
    with Library(root) as lib:
        ids = stocked(lib, 3)
        collections.add(lib, "Spring", ids, make_missing=True)
        assert collections.remove(lib, "Spring", [ids[0], 999]).changed == [ids[0]]
        assert sorted(collections.member_ids(lib, "Spring")) == ids[1:]
        collections.rename(lib, "Spring", "Spring 27")
        collections.create(lib, "Autumn")
        with pytest.raises(LibraryError, match="already a collection called 'Autumn'"):
            collections.rename(lib, "Spring 27", "Autumn")
    run = ["--library", str(root), "--json", "library", "collection"]
    assert main([*run, "remove", "Spring 27", str(ids[1])]) == 0
    assert json.loads(capsys.readouterr().out)["removed"] == [ids[1]]
    assert main([*run, "rename", "Spring 27"]) == 2  # needs --to
    assert main([*run, "rename", "Spring 27", "--to", "SS27"]) == 0
    capsys.readouterr()
    assert main([*run, "delete", "SS27"]) == 0
    assert json.loads(capsys.readouterr().out) == {"deleted": "SS27", "patterns": [ids[2]]}
    with Library(root) as lib:
        assert [c["name"] for c in collections.all_collections(lib)] == ["Autumn"]
        assert lib.count() == 3  # the patterns stay


def test_export_and_sheet_take_patterns_chosen_by_collection_status_or_tag(tmp_path, capsys):
    root = tmp_path / "lib"
    with Library(root) as lib:
        ids = stocked(lib, 3)
        lib.update_many(ids[:2], status="approved")
        collections.add(lib, "Spring", [ids[1], ids[2]], make_missing=True)
        trash.trash(lib, [ids[2]])  # a trashed member is not chosen
    run = ["--library", str(root), "--json", "library"]
    assert main([*run, "export", "--collection", "Spring", "--out", str(tmp_path / "print")]) == 0
    assert len(json.loads(capsys.readouterr().out)["written"]) == 1
    assert main([*run, "export", "--status", "approved", "--out", str(tmp_path / "approved")]) == 0
    assert len(json.loads(capsys.readouterr().out)["written"]) == 2
    assert main([*run, "sheet", "--status", "approved", "--out", str(tmp_path / "sheet.png")]) == 0
    assert (tmp_path / "sheet.png").is_file()
    capsys.readouterr()
    assert main([*run, "export", "--out", str(tmp_path / "all")]) == 2  # never the whole library by accident
    assert "name the pattern IDS, or choose them" in capsys.readouterr().err
    assert main([*run, "export", str(ids[0]), "--status", "draft", "--out", str(tmp_path / "x")]) == 2
    assert main([*run, "sheet", "--status", "rejected", "--out", str(tmp_path / "none.png")]) == 2
    assert "no pattern matches" in capsys.readouterr().err


def test_of_each_copied_design_one_is_kept_and_the_rest_put_aside(lib):
    from desktop.library.dedupe import copy_groups, redundant_copies

    ids = stocked(lib, 6)
    a, b, c, d, e, f = ids
    pairs = [{"a": a, "b": b, "kind": "copy"}, {"a": b, "b": c, "kind": "copy"},  # one group of three
             {"a": d, "b": e, "kind": "copy"}, {"a": e, "b": f, "kind": "recoloured"}]  # a recolouring stays
    assert copy_groups(pairs) == [[a, b, c], [d, e]]
    assert redundant_copies(lib, pairs) == {"keep": [a, d], "trash": [b, c, e]}  # all draft: the oldest stays
    lib.update(c, status="approved")
    lib.update(b, rating=5)
    lib.update(d, status="rejected")
    assert redundant_copies(lib, pairs) == {"keep": [c, e], "trash": [a, b, d]}  # approved, then unrejected
    lib.update(a, status="published")  # published outranks, and is never put aside
    lib.update(c, status="published")
    assert redundant_copies(lib, pairs)["trash"] == [b, d]


def test_dupes_trash_copies_keeps_one_of_each_design(tmp_path, capsys):
    root = tmp_path / "lib"
    original = tile(7, 128)
    with Library(root) as lib:
        a = lib.add_tile(original, {"style": "toss", "repeat": "basic"}).added[0]
        b = lib.add_tile(np.roll(original, 40, axis=1), {"style": "toss", "repeat": "basic"}).added[0]
        other = lib.add_tile(tile(8, 128), {"style": "toss", "repeat": "basic"}).added[0]
        search.embed_pending(lib)
    assert main(["--library", str(root), "--json", "library", "dupes", "--trash-copies"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["trashed"] == [b] and out["kept"] == [a]
    with Library(root) as lib:
        assert [p["id"] for p in lib.list(trashed=True)] == [b] and {p["id"] for p in lib.list()} == {a, other}


def test_a_title_is_set_audited_and_undone_like_any_curation(tmp_path, capsys):
    root = tmp_path / "lib"
    with Library(root) as lib:
        ids = stocked(lib, 2)
        before = lib.curation([ids[0]])
        assert before[ids[0]]["title"] == "Toss (0)"
        lib.update(ids[0], title="  Gilded   fans — navy ")
        assert lib.get(ids[0])["title"] == "Gilded fans — navy"  # spaces tidied
        assert lib.get(ids[0])["history"][-1]["detail"]["title"] == ["Toss (0)", "Gilded fans — navy"]
        with pytest.raises(LibraryError, match="1 to 255 characters"):
            lib.update(ids[0], title="   ")
        lib.set_curation(before)
        assert lib.get(ids[0])["title"] == "Toss (0)"
        assert publishing.metadata_for(lib.get(ids[0]))["title"] == "Toss (0)"  # what a listing is called
    run = ["--library", str(root), "--json", "library", "set"]
    assert main([*run, str(ids[1]), "--title", "Fans"]) == 0
    assert json.loads(capsys.readouterr().out)["pattern"]["title"] == "Fans"
    assert main([*run, str(ids[0]), str(ids[1]), "--title", "Both"]) == 2
    assert "--title names one pattern" in capsys.readouterr().err
