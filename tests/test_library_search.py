"""Search by look, near-duplicates, the QA hook, export, and the library commands."""

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from desktop.cli import main
from desktop.engine.images import load_rgb, read_metadata, save_png
from desktop.library import Library, LibraryError
from desktop.library import search as finder
from desktop.library.descriptor import describe


@pytest.fixture
def lib(tmp_path, shared_textures):
    library = Library(tmp_path / "lib")
    library.import_paths(sorted((shared_textures / "seamless").glob("*.jpg"))[:12])
    yield library
    library.close()


def at_once(job, threads: int) -> None:
    """Run `job` on this many threads, released together (as the window's lanes may ask)."""
    import threading

    start = threading.Barrier(threads)

    def run():
        start.wait()
        job()

    running = [threading.Thread(target=run) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join(60)


def test_the_descriptor_ignores_shifts_flips_and_turns(shared_textures):
    img = load_rgb(shared_textures / "seamless/moss-plants.jpg")
    base = describe(img)
    for variant in (np.roll(img, (311, 97), axis=(0, 1)), img[:, ::-1], np.rot90(img)):
        assert float(describe(np.ascontiguousarray(variant)) @ base) > 0.995
    other = describe(load_rgb(shared_textures / "seamless/lava-cracked.jpg"))
    assert float(other @ base) < 0.97


def test_index_follows_sqlite_and_reconciles(lib):
    finder.embed_pending(lib)
    truth = {p["id"] for p in lib.list()}
    assert finder.index(lib).ids() == truth
    finder.index(lib).delete([min(truth)])
    finder.index(lib).upsert([{"id": 99999, "vector": np.ones(112, np.float32) / np.sqrt(112), "hashes": [0],
                               "status": "draft", "rating": 0, "tags": []}])
    result = finder.reconcile(lib)
    assert result == {"removed_from_index": [99999], "queued": [min(truth)]}
    assert finder.index(lib).ids() == truth


def test_rows_an_older_look_made_are_remade_by_reconcile(lib):
    """Each row records the look version (descriptor and hashes) that made it; when the look
    changes, the next reconcile remakes the older rows from the stored files."""
    from desktop.library.descriptor import MODEL
    from desktop.library.hashes import library_hashes

    finder.embed_pending(lib)
    pid = max(p["id"] for p in lib.list())
    finder.index(lib).upsert([{"id": pid, "vector": np.ones(112, np.float32) / np.sqrt(112), "hashes": [0],
                               "model": "tessera-descriptor-v1", "status": "draft", "rating": 0, "tags": []}])

    class Progress:
        def __init__(self):
            self.steps = []

        def progress(self, step, total=None, message=None):
            self.steps.append((step, total, message))

    ctx = Progress()
    assert finder.reconcile(lib, ctx=ctx) == {"removed_from_index": [], "queued": [pid]}
    assert ctx.steps == [(1, 1, "Indexing")]  # the window's reconcile job shows it
    assert set(finder.index(lib).models().values()) == {MODEL}
    row = next(r for r in finder.index(lib).table.to_arrow().to_pylist() if r["id"] == pid)
    expected = [int(np.int64(np.uint64(h))) for h in library_hashes(load_rgb(lib.get(pid)["file"]))]
    assert row["hashes"] == expected
    assert finder.reconcile(lib) == {"removed_from_index": [], "queued": []}  # nothing left to remake


def test_search_by_image_finds_copies_first_with_filters_pushed_down(lib, shared_textures):
    img = load_rgb(shared_textures / "seamless/moss-plants.jpg")
    moss = next(p["id"] for p in lib.list() if p["title"] == "moss-plants")
    hits = finder.search_image(lib, np.roll(img, (200, 450), axis=(0, 1)), limit=3)
    assert hits[0]["id"] == moss and hits[0]["similarity"] > 0.99 and hits[0]["method"] == "descriptor"
    lib.update(moss, status="approved")
    finder.refresh_fields(lib, [moss])
    approved = finder.search_image(lib, img, limit=5, status="approved")
    assert [h["id"] for h in approved] == [moss]
    assert finder.search_image(lib, img, limit=5, status="published") == []
    more = finder.similar(lib, moss, limit=3)
    assert moss not in [h["id"] for h in more] and len(more) == 3


def test_near_duplicates_catch_shifted_flipped_turned_scaled_and_recoloured_copies(lib, shared_textures, tmp_path,
                                                                                    monkeypatch):
    src = load_rgb(shared_textures / "seamless/moss-plants.jpg")
    moss = next(p["id"] for p in lib.list() if p["title"] == "moss-plants")
    hsv = cv2.cvtColor(src, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 12) % 180
    copies = {"shifted": np.roll(src, (300, 170), axis=(0, 1)), "flipped": src[:, ::-1], "turned": np.rot90(src),
              "scaled": cv2.resize(src, (700, 700), interpolation=cv2.INTER_AREA),
              "recoloured": cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)}
    ids = {}
    for name, pixels in copies.items():
        save_png(tmp_path / f"{name}.png", np.ascontiguousarray(pixels))
        ids[name] = lib.import_paths([tmp_path / f"{name}.png"]).added[0]
    pairs = finder.duplicates(lib)
    linked = {p["b"] if p["a"] == moss else p["a"] for p in pairs if moss in (p["a"], p["b"])}
    assert set(ids.values()) <= linked
    for pair in pairs:
        assert 0 <= pair["descriptor"] <= 1.0001 and 0 <= pair["hash"] <= 1
    kinds = {p["b"] if p["a"] == moss else p["a"]: p["kind"] for p in pairs if moss in (p["a"], p["b"])}
    assert kinds[ids["recoloured"]] == "recoloured" and kinds[ids["shifted"]] == "copy"
    strict = finder.duplicates(lib, finder.Thresholds(hash=1.01, descriptor=1.01, texture=1.01, alignment=1.01))
    assert strict == []  # thresholds are the user's to set
    # above 1, the summaries put nothing forward: only each pattern's nearest, which the layout decides
    by_layout = finder.duplicates(lib, finder.Thresholds(hash=1.01, descriptor=1.01, texture=1.01))
    assert by_layout and all(p["alignment"] >= finder.Thresholds().alignment for p in by_layout)
    monkeypatch.setattr(finder, "BLOCK_SCORES", 3 * lib.count())  # three rows at a time: the same pairs
    assert finder.duplicates(lib) == pairs


def test_text_search_says_plainly_what_it_needs(lib):
    with pytest.raises(LibraryError, match="CLIP"):
        finder.search_text(lib, "paisley")


def test_the_qa_near_duplicate_hook_answers_from_the_library(lib, shared_textures):
    from desktop.engine.qa import run_qa

    img = load_rgb(shared_textures / "seamless/moss-plants.jpg")
    result = run_qa(np.roll(img, (10, 500), axis=(0, 1)), provider=finder.LibrarySimilarity(lib)).check("duplicates")
    assert result.status == "fail" and "moss-plants" in result.explanation


def test_export_print_ready_png_and_tiff(lib, tmp_path):
    from desktop.library.export import export_patterns

    pid = lib.add_tile((np.random.default_rng(0).random((64, 96, 3)) * 255).astype(np.uint8),
                       {"style": "toss", "repeat": "half-drop", "seed": 3}).added[0]
    written = export_patterns(lib, [pid], tmp_path / "out", dpi=300, fmt="tiff", as_basic=True, swatch=True)
    with Image.open(written[0]) as img:
        assert img.format == "TIFF" and img.size == (192, 64)  # half-drop 96x64 -> basic 192x64
        assert round(img.info["dpi"][0]) == 300 and img.info.get("icc_profile")
    png = export_patterns(lib, [pid], tmp_path / "png", dpi=150)
    meta = read_metadata(png[0])
    assert meta["provenance"]["style"] == "toss" and meta["repeat"] == "half-drop"
    with Image.open(written[1]) as swatch:
        assert swatch.size == (288, 192)
    again = lib.import_paths([tmp_path / "out"])  # the print-ready file is new bytes; its swatch is no tile
    assert len(again.added) == 1 and again.ignored[0]["reason"].startswith("a 3x3 swatch")
    lib.update(pid, title="Fans / navy: v2")  # a title's "/" and ":" are no path
    named = export_patterns(lib, [pid], tmp_path / "named")
    assert [Path(p).name for p in named] == [f"{pid:06d}-fans-navy-v2.png"]
    with pytest.raises(LibraryError):
        export_patterns(lib, [pid, 424242], tmp_path / "none")
    assert not (tmp_path / "none").exists()


def test_library_commands(capsys, tmp_path, shared_textures):
    root = str(tmp_path / "cli-lib")

    def run(*argv):
        code = main([*argv, "--library", root, "--json"])
        return code, capsys.readouterr()

    code, out = run("library", "import", str(shared_textures / "seamless" / "moss-plants.jpg"),
                    str(shared_textures / "seamless" / "lava-cracked.jpg"))
    assert code == 0 and len(json.loads(out.out)["added"]) == 2
    code, out = run("library", "set", "1", "--status", "approved", "--rating", "5", "--tag", "green")
    assert code == 0 and json.loads(out.out)["pattern"]["status"] == "approved"
    code, out = run("library", "list", "--status", "approved")
    assert [p["id"] for p in json.loads(out.out)["patterns"]] == [1]
    code, out = run("library", "search", "--image", str(shared_textures / "seamless" / "moss-plants.jpg"))
    assert json.loads(out.out)["results"][0]["id"] == 1
    code, out = run("library", "search", "damask")
    assert code == 2 and "CLIP" in out.err
    code, out = run("library", "check")
    assert code == 0 and json.loads(out.out)["ok"]
    code, out = run("library", "show", "77")
    assert code == 2 and "no pattern 77" in out.err


def test_numpy_exact_search_and_lancedb_agree(lib, shared_textures, monkeypatch):
    from desktop.library import vector_index

    finder.embed_pending(lib)
    moss = next(p["id"] for p in lib.list() if p["title"] == "moss-plants")
    lib.update(moss, status="approved")
    finder.refresh_fields(lib, [moss])
    query = describe(load_rgb(shared_textures / "seamless/lava-cracked.jpg"))
    exact = finder.index(lib).search(query, limit=5)
    exact_filtered = finder.index(lib).search(query, limit=5, status="draft", exclude=exact[0]["id"])
    monkeypatch.setattr(vector_index, "ANN_THRESHOLD", 0)  # send every query to LanceDB
    lance = finder.index(lib).search(query, limit=5)
    lance_filtered = finder.index(lib).search(query, limit=5, status="draft", exclude=exact[0]["id"])
    assert [h["id"] for h in exact] == [h["id"] for h in lance]
    assert [h["id"] for h in exact_filtered] == [h["id"] for h in lance_filtered]
    assert moss not in [h["id"] for h in lance_filtered]
    assert abs(exact[0]["similarity"] - lance[0]["similarity"]) < 1e-4


def test_collections_hold_a_brief_and_filter_search(lib, shared_textures, capsys, tmp_path):
    ids = [p["id"] for p in lib.list()][:3]
    from desktop.library import collections

    collections.create(lib, "Spring 27", {"prompt": "sprigs", "palette": ["#ffffff"], "repeat": "half-drop"})
    assert collections.add(lib, "Spring 27", ids[:2]).changed == sorted(ids[:2])
    assert collections.add(lib, "Spring 27", ids[:2]).changed == []  # already there
    assert [c["patterns"] for c in collections.all_collections(lib)] == [2]
    assert {p["id"] for p in lib.list(collection="Spring 27")} == set(ids[:2])
    hits = finder.search_image(lib, load_rgb(shared_textures / "seamless/moss-plants.jpg"), 10,
                               collection="Spring 27")
    assert {h["id"] for h in hits} == set(ids[:2])
    with pytest.raises(LibraryError, match="already a collection"):
        collections.create(lib, "Spring 27")
    with pytest.raises(LibraryError, match="no collection"):
        collections.add(lib, "Autumn", ids)
    with pytest.raises(LibraryError, match="no pattern"):
        collections.add(lib, "Spring 27", [123456])


def test_generate_to_library_stores_provenance_and_qa(capsys, tmp_path):
    root = str(tmp_path / "gen-lib")
    code = main(["generate", "--style", "chevron", "--size", "64", "--count", "2", "--out", str(tmp_path / "o"),
                 "--to-library", "--library", root, "--json"])
    assert code == 0
    tiles = json.loads(capsys.readouterr().out)["tiles"]
    assert [t["library_id"] for t in tiles] == [1, 2]
    with Library(root) as lib:
        item = lib.get(1)
        assert item["provenance"]["style"] == "chevron" and item["qa"]
        assert finder.index(lib).ids() == {1, 2}


def test_the_ann_index_answers_like_the_exact_search(tmp_path, monkeypatch):
    """Past the crossover the index is IVF-HNSW-SQ with a refine step: same answers, filters kept."""
    from desktop.library import vector_index
    from desktop.library.descriptor import DIM

    monkeypatch.setattr(vector_index, "ANN_THRESHOLD", 1000)
    rng = np.random.default_rng(0)
    families = rng.standard_normal((40, DIM)).astype(np.float32)
    vectors = families[rng.integers(0, 40, 3000)] + 0.4 * rng.standard_normal((3000, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = vector_index.VectorIndex(tmp_path / "index")
    index.upsert([{"id": i, "vector": v, "model": "m", "hashes": [0], "status": "approved" if i % 3 == 0 else "draft",
                   "rating": i % 6, "tags": []} for i, v in enumerate(vectors)])
    assert index.ensure_ann() and not index.ensure_ann()  # built once; not again until the table grows
    assert json.loads((tmp_path / "index" / "ann.json").read_text())["kind"] == vector_index.ANN_KIND
    recall, filtered_ok = [], True
    for q in vectors[rng.integers(0, 3000, 20)] + 0.1 * rng.standard_normal((20, DIM)).astype(np.float32):
        q = q / np.linalg.norm(q)
        exact = set(np.argsort(-(vectors @ q))[:10].tolist())
        hits = index.search(q, limit=10)
        recall.append(len({h["id"] for h in hits} & exact) / 10)
        approved = index.search(q, limit=10, status="approved", min_rating=1)
        filtered_ok &= all(h["id"] % 3 == 0 and h["id"] % 6 >= 1 for h in approved) and len(approved) == 10
    assert np.mean(recall) >= 0.95 and filtered_ok
    fresh = rng.standard_normal(DIM).astype(np.float32)  # added after the build: found too (scanned)
    fresh /= np.linalg.norm(fresh)
    index.upsert([{"id": 5000, "vector": fresh, "model": "m", "hashes": [7], "status": "draft", "rating": 0,
                   "tags": ["ikat"]}])
    hits = index.search(fresh, limit=3, tag="ikat")
    assert [h["id"] for h in hits] == [5000] and hits[0]["similarity"] > 0.999 and hits[0]["hashes"] == [7]


def test_a_copy_read_while_another_lane_writes_is_not_kept(tmp_path):
    """Search (I/O lane) copies the table while an import (writer lane) adds to it: that copy may
    miss the new row, so it must not be kept for the searches after the write."""
    from desktop.library import vector_index
    from desktop.library.descriptor import DIM

    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((2, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)

    def row(i):
        return {"id": i, "vector": vectors[i - 1], "model": "m", "hashes": [0], "status": "draft", "rating": 0,
                "tags": []}

    index = vector_index.VectorIndex(tmp_path / "index")
    index.upsert([row(1)])
    real = index.table.to_arrow

    def read_while_writing():
        data = real()  # the copy is taken before the write lands
        index.table.to_arrow = real
        index.upsert([row(2)])
        return data

    index.table.to_arrow = read_while_writing
    assert [h["id"] for h in index.search(vectors[1], limit=2)] == [1]  # the copy of that moment
    assert [h["id"] for h in index.search(vectors[1], limit=2)] == [2, 1]  # the next search sees the write


def test_duplicates_compare_every_stored_hash_of_both_tiles(tmp_path, shared_textures):
    """A shifted copy whose canonical hashes alone fall short (0.81 for pattern-temple) is caught
    through the half-step neighbours stored beside them, the best of the 3 x 3 pairs."""
    from desktop.library.search import Thresholds

    rgb = load_rgb(shared_textures / "seamless/pattern-temple.png")
    save_png(tmp_path / "temple.png", rgb)
    save_png(tmp_path / "temple-shifted.png", np.roll(rgb, (258, 193), axis=(0, 1)))
    with Library(tmp_path / "lib") as library:
        ids = finder.import_into(library, [tmp_path / "temple.png", tmp_path / "temple-shifted.png"]).added
        by_hash_only = Thresholds(descriptor=1.01, texture=1.01)  # neither of the other measures can decide
        [pair] = finder.duplicates(library, by_hash_only)
        assert {pair["a"], pair["b"]} == set(ids) and pair["hash"] >= 0.9 and pair["kind"] == "copy"


def test_the_first_search_and_the_first_store_at_once_share_one_index(tmp_path):
    """Two lanes asking for the index of a fresh library at the same moment: one index, no error."""

    from desktop.library import Library, search

    lib = Library(tmp_path / "lib")
    try:
        found, errors = [], []

        def ask():
            try:
                found.append(search.index(lib))
            except Exception as exc:  # what the QA lane hit: "Table 'patterns' already exists"
                errors.append(exc)

        at_once(ask, 4)
        assert not errors and len(found) == 4 and all(f is found[0] for f in found)
    finally:
        lib.close()


def test_two_lanes_draining_the_outbox_at_once_index_each_pattern_once(lib, monkeypatch):
    """The Inspector's look-alikes (I/O lane) and a restore (writer lane) both drain the outbox
    before they read: the second waits for the first, so each queued pattern is embedded once
    and stands in the index once (two drains of the same ids left it there twice)."""
    import time

    real, embedded = finder._embed_batch, []

    def slow(library, ids):
        embedded.extend(ids)
        time.sleep(0.3)  # the other lane asks meanwhile
        real(library, ids)

    monkeypatch.setattr(finder, "_embed_batch", slow)
    at_once(lambda: finder.embed_pending(lib), 2)
    truth = sorted(p["id"] for p in lib.list())
    assert sorted(embedded) == truth
    assert sorted(row["id"] for row in finder.index(lib).all_rows()) == truth


def _queued(lib) -> set[int]:
    from sqlalchemy import select

    from desktop.library.models import EmbeddingOutbox

    with lib.reader.connect() as conn:
        return set(conn.execute(select(EmbeddingOutbox.pattern_id)).scalars())


def test_a_write_indexes_what_it_wrote_and_a_search_only_a_little_of_a_backlog(lib, shared_textures, monkeypatch):
    """A library whose index an older look made holds its whole catalogue in the outbox, which the
    window drains in parts: a store or a restore then indexes its own patterns, not the backlog,
    and a search (the Inspector's look-alikes) indexes at most READ_CATCH_UP before it reads,
    instead of the minutes the whole remake takes."""
    ids = sorted(p["id"] for p in lib.list())
    assert _queued(lib) == set(ids)  # the fixture imports without indexing: 12 wait
    assert finder.embed_pending(lib, ids=[ids[3], ids[7], ids[7], 10_000]) == 2  # an id not queued is no error
    assert _queued(lib) == set(ids) - {ids[3], ids[7]}
    assert finder.index(lib).ids() == {ids[3], ids[7]}

    monkeypatch.setattr(finder, "READ_CATCH_UP", 5)
    hits = finder.search_image(lib, load_rgb(shared_textures / "seamless/moss-plants.jpg"), 20)
    assert len(finder.index(lib).ids()) == 7 and len(_queued(lib)) == 5
    assert {h["id"] for h in hits} == finder.index(lib).ids()  # it read what was indexed, no more
    assert finder.embed_pending(lib) == 5 and not _queued(lib)


def test_a_search_does_not_wait_behind_a_drain_at_work(lib, shared_textures, monkeypatch):
    """While a part of a long remake is being indexed (the writer lane), a search on another lane
    reads the index as it stands rather than waiting for that part to finish."""
    import threading

    real, entered, go = finder._embed_batch, threading.Event(), threading.Event()

    def held(library, batch):
        entered.set()
        assert go.wait(60)
        real(library, batch)

    monkeypatch.setattr(finder, "_embed_batch", held)
    drainer = threading.Thread(target=lambda: finder.embed_pending(lib, limit=4))
    drainer.start()
    try:
        assert entered.wait(30)
        found = []
        reader = threading.Thread(target=lambda: found.append(
            finder.search_image(lib, load_rgb(shared_textures / "seamless/moss-plants.jpg"), 5)))
        reader.start()
        reader.join(30)
        assert not reader.is_alive() and found == [[]]  # nothing indexed yet, and it did not wait
    finally:
        go.set()
        drainer.join(60)
    assert len(finder.index(lib).ids()) == 4


def test_a_pattern_being_re_embedded_never_drops_out_of_the_index(tmp_path):
    """An upsert replaces a row in one commit: a reader on another lane sees the old row or the
    new one, never neither (the duplicates dialog once read the table between a delete and an
    add, and found no pairs)."""
    import threading

    from desktop.library import vector_index
    from desktop.library.descriptor import DIM

    index = vector_index.VectorIndex(tmp_path / "index")
    rng = np.random.default_rng(2)

    def row():
        vector = rng.standard_normal(DIM).astype(np.float32)
        return {"id": 1, "vector": vector / np.linalg.norm(vector), "model": "m", "hashes": [0], "status": "draft",
                "rating": 0, "tags": []}

    index.upsert([row()])
    done, seen = threading.Event(), []

    def write():
        for _ in range(25):
            index.upsert([row()])
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    while not done.is_set():
        seen.append(len(index.all_rows()))
    writer.join(60)
    assert seen and set(seen) == {1}
