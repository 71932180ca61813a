"""Library operations shared by the window and the commands (desktop/library/ops.py)."""

import numpy as np

from desktop.library import Library, collections
from desktop.library.ops import store_tiles


def _tile(value: int) -> np.ndarray:
    img = np.zeros((32, 32, 3), np.uint8)
    img[:, ::4] = value
    img[::4] = 255 - value
    return img


def test_store_tiles_stores_indexes_and_gathers_with_the_parent(tmp_path):
    with Library(tmp_path / "lib") as lib:
        parent = store_tiles(lib, [(_tile(10), {"style": "stripes", "repeat": "basic"})]).ids[0]
        made = [(_tile(v), {"style": "stripes", "repeat": "basic", "parents": [parent]}) for v in (60, 120)]
        stored = store_tiles(lib, made, source="colourway", collection="Set", parent=parent)
        assert len(stored.ids) == 2 and None not in stored.ids and stored.new == stored.ids
        assert sorted(collections.member_ids(lib, "Set")) == sorted([parent, *stored.ids])
        assert set(stored.changes.changed) >= set(stored.ids)  # the collection's change is in the same set
        # indexed as they were stored: the embedding outbox holds none of them
        from sqlalchemy import select
        from sqlalchemy.orm import Session

        from desktop.library.models import EmbeddingOutbox

        with Session(lib.reader) as session:
            queued = set(session.scalars(select(EmbeddingOutbox.pattern_id)))
        assert queued.isdisjoint(stored.ids)
        # storing the same pixels again: the library's copy, and nothing new to undo
        again = store_tiles(lib, made[:1])
        assert again.ids == stored.ids[:1] and again.new == []


def _three(lib):
    return [store_tiles(lib, [(_tile(v), {"style": "stripes", "repeat": "basic"})]).ids[0] for v in (20, 90, 160)]


def test_each_operation_says_what_it_changed_and_what_a_view_needs(tmp_path):
    from desktop.library import ops

    with Library(tmp_path / "lib") as lib:
        a, b, c = _three(lib)
        curated = ops.curate(lib, [a, b], status="approved", rating=4, add_tags=["client-a"])
        assert sorted(curated.changed) == [a, b] and set(curated.states) == {a, b}
        assert curated.states[a]["status"] == "approved" and curated.states[a]["rating"] == 4
        assert curated.states[a]["tags"] == ["client-a"]  # the grid refreshes from this, reading nothing
        undone = ops.set_curation(lib, {a: {**curated.states[a], "status": "draft", "rating": 0, "tags": []}})
        assert undone.changed == [a] and undone.states[a]["status"] == "draft"
        assert lib.get(a)["status"] == "draft"

        trashed = ops.trash(lib, [b, c])
        assert trashed.trashed == [b, c] and trashed.removed == [] and trashed.trash_count == 2
        restored = ops.restore(lib, [c])
        assert restored.restored == [c] and restored.trash_count == 1
        gone = ops.empty_trash(lib)
        assert gone.removed == [b] and gone.trash_count == 0
        assert {p["id"] for p in lib.list()} == {a, c}

        into = ops.add_to_collection(lib, "Spring", [a, c])
        assert sorted(into.changed) == [a, c] and into.collections == ["Spring"]
        assert into.collection_names == ["Spring"]
        out = ops.take_out_of_collection(lib, "Spring", [a, c], delete_if_empty=True)
        assert sorted(out.changed) == [a, c] and out.collection_names == []  # emptied, so it went
        saved = ops.save_brief(lib, "Client A", {"repeat": "half-drop", "palette": ["#112233"]})
        assert saved.collections == ["Client A"] and saved.collection_names == ["Client A"]
        ops.add_to_collection(lib, "Client A", [a])
        dropped = ops.delete_collection(lib, "Client A")
        assert dropped.changed == [a] and dropped.collection_names == []


def test_changes_merge_into_one_set_and_only_new_lists_reach_the_json(tmp_path):
    from desktop.library.catalogue import ChangeSet

    merged = ChangeSet(added=[1], collections=["A"], trash_count=3).merge(
        ChangeSet(trashed=[2], collections=["A", "B"], states={2: {"status": "draft"}}, collection_names=["A", "B"]))
    assert merged.added == [1] and merged.trashed == [2] and merged.collections == ["A", "B"]
    assert merged.trash_count == 3 and merged.collection_names == ["A", "B"] and merged.touched == {1, 2}
    assert "trashed" not in ChangeSet(added=[1]).as_dict()  # what the commands print stays as it was
    assert ChangeSet(trashed=[4]).as_dict()["trashed"] == [4]


def test_queueing_for_the_marketplace_says_which_went_and_why_the_others_did_not(tmp_path):
    from desktop.library import ops

    with Library(tmp_path / "lib") as lib:
        a, b, _ = _three(lib)
        ops.curate(lib, [a], status="approved")
        queued = ops.queue_for_marketplace(lib, [a, b])
        assert queued.changed == [a]
        assert [s["id"] for s in queued.skipped] == [b] and "approve it first" in queued.skipped[0]["reason"]
