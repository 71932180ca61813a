"""Curation in the window with undo: status, rating and tags undone and redone exactly; Delete
moves the selection to the trash, Ctrl+Z brings it back; the trash is a view of the Library dock,
where Restore brings a pattern back and Delete deletes it for good, after asking."""

import shutil
import threading

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from conftest import wait_exposed
from desktop.jobs import Lane
from desktop.ui.library_panel import TileEntry


def _tiles(window, qtbot, count=3):
    brief = window.brief
    brief.set_style("polka-dots")
    brief.width_spin.setValue(64)
    brief.height_spin.setValue(64)
    brief.count.setValue(count)
    brief.request_generate()
    qtbot.waitUntil(lambda: window.lib.count() == count and window.library.count() == count, timeout=30_000)
    return [e.pattern_id for e in window.library.model.entries]


def _idle(window, qtbot):
    """Every curation job finished and its handler run on the UI thread (it is delivered after the job
    ends: `_running` counts a job as running until then)."""
    def settled():
        return not any(window._running(snap.id) for snap in window.queue.jobs() if snap.kind in ("update", "trash"))

    qtbot.waitUntil(settled, timeout=30_000)


def _entry(window, pid):
    return next((e for e in window.library.model.entries if e.pattern_id == pid), None)


def test_a_pattern_opened_while_a_trash_is_on_its_way_stays_in_the_preview(window, qtbot, tmp_path):
    ids = _tiles(window, qtbot)
    window.library.select_row(0)
    trashed, chosen = ids[0], ids[2]
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id == trashed, timeout=30_000)
    release = threading.Event()
    window.queue.submit("hold", lambda ctx: release.wait(30), lane=Lane.WRITER, title="Holding the writer")
    window.curation.trash([trashed])  # queued behind the hold
    window.tile_view.open_pattern(chosen)  # asked for after the trash: it wins over the grid's next pattern
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id == chosen, timeout=30_000)
    release.set()
    qtbot.waitUntil(lambda: window.library.count() == 2, timeout=30_000)
    _idle(window, qtbot)
    qtbot.waitUntil(lambda: not any(window._running(s.id) for s in window.queue.jobs() if s.kind == "load"),
                    timeout=30_000)  # finished, and its handler run
    assert window.current.pattern_id == chosen
    # the grid follows what is shown, so a curation key acts on the pattern in the Preview
    assert [e.pattern_id for e in window.library.selected_entries()] == [chosen]
    view = window.library.list
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_P)
    _idle(window, qtbot)
    assert [window.lib.get(i)["status"] for i in ids[1:]] == ["draft", "approved"]

    # a file from outside the library, shown: the grid holds nothing of it, so nothing is selected
    # there, and the curation keys say what to do and do nothing
    outside = str(tmp_path / "outside.png")
    shutil.copyfile(window.lib.get(ids[1])["file"], outside)
    window.tile_view.show_entry(TileEntry(outside, None, {}))
    qtbot.waitUntil(lambda: window.current is not None and window.current.path == outside, timeout=30_000)
    assert window.library.selected_entries() == []
    for key in (Qt.Key_P, Qt.Key_3, Qt.Key_Delete):
        window.statusBar().clearMessage()
        qtbot.keyClick(view, key)
        assert window.statusBar().currentMessage().startswith("Nothing is selected in the grid")
    _idle(window, qtbot)
    assert [(window.lib.get(i)["status"], window.lib.get(i)["rating"]) for i in ids[1:]] == [
        ("draft", 0), ("approved", 0)]
    assert window.library.count() == 2

    qtbot.keyClick(view, Qt.Key_Home)  # and with nothing asked for since, the grid's next pattern is shown
    shown = window.library.selected_entries()[0].pattern_id
    assert shown == window.library.model.entries[0].pattern_id
    qtbot.waitUntil(lambda: window.current.pattern_id == shown, timeout=30_000)
    window.curation.trash([shown])
    qtbot.waitUntil(lambda: window.library.count() == 1, timeout=30_000)
    left = window.library.model.entries[0].pattern_id
    qtbot.waitUntil(lambda: window.current.pattern_id == left, timeout=30_000)


def test_a_late_open_gives_way_to_a_pattern_chosen_after_it(window, qtbot):
    ids = _tiles(window, qtbot)
    release = threading.Event()
    for _ in range(2):  # both of its workers
        window.queue.submit("hold", lambda ctx: release.wait(30), lane=Lane.IO, title="Holding the I/O lane")
    window.tile_view.open_pattern(ids[0])  # its lookup waits behind the hold
    window.library.select_row(2)  # chosen in the grid meanwhile
    release.set()
    qtbot.waitUntil(lambda: not any(window._running(s.id) for s in window.queue.jobs() if s.kind in ("load", "hold")),
                    timeout=30_000)  # finished, and their handlers run
    assert window.current.pattern_id == window.library.model.entries[2].pattern_id


def test_status_rating_and_tags_are_undone_and_redone_exactly(window, qtbot):
    ids = _tiles(window, qtbot, 2)
    view = window.library.list
    window.library.select_row(0)
    view.setFocus()
    pid = window.library.selected_entries()[0].pattern_id
    qtbot.keyClick(view, Qt.Key_P)
    qtbot.keyClick(view, Qt.Key_4)
    window.curation.edit_tags(pid, ["client-a"], [])
    _idle(window, qtbot)
    assert window.lib.curation([pid])[pid]["tags"] == ["client-a"]
    assert window.curation.undo_action.text() == "&Undo Tag client-a"
    stack = window.curation.stack
    stack.undo()
    _idle(window, qtbot)
    assert window.lib.curation([pid])[pid]["tags"] == []
    stack.undo()
    _idle(window, qtbot)
    assert window.lib.get(pid)["rating"] == 0 and _entry(window, pid).rating == 0
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier)  # the Edit menu's shortcut
    _idle(window, qtbot)
    assert window.lib.get(pid)["status"] == "draft" and _entry(window, pid).status == "draft"
    qtbot.keyClick(window, Qt.Key_Z, Qt.ControlModifier | Qt.ShiftModifier)  # redo
    _idle(window, qtbot)
    assert window.lib.get(pid)["status"] == "approved" and _entry(window, pid).status == "approved"

    window.curation.set_status(ids, "rejected")  # several at once: one step
    window.curation.stack.undo()
    _idle(window, qtbot)
    assert [window.lib.get(i)["status"] for i in ids] == ["approved" if i == pid else "draft" for i in ids]
    assert "Undo reject 2 patterns" in window.statusBar().currentMessage()


def test_undo_goes_back_to_what_was_there_not_to_the_defaults(window, qtbot):
    """From a rejected, two-star pattern tagged client-b and navy: every change undone gives exactly that
    back (an undo that reset to draft, 0 stars and no tags would fail here), and redo gives the change."""
    ids = _tiles(window, qtbot, 2)
    view = window.library.list
    window.library.select_row(0)
    view.setFocus()
    pid = window.library.selected_entries()[0].pattern_id
    qtbot.keyClick(view, Qt.Key_X)  # rejected
    qtbot.keyClick(view, Qt.Key_2)
    window.curation.edit_tags(pid, ["client-b", "navy"], [])
    _idle(window, qtbot)
    window.curation.stack.clear()  # that is where this pattern starts

    def state():
        got = window.lib.get(pid)
        return got["status"], got["rating"], sorted(window.lib.curation([pid])[pid]["tags"])

    start = ("rejected", 2, ["client-b", "navy"])
    assert state() == start and (_entry(window, pid).status, _entry(window, pid).rating) == start[:2]
    qtbot.keyClick(view, Qt.Key_P)
    _idle(window, qtbot)
    qtbot.keyClick(view, Qt.Key_5)
    _idle(window, qtbot)
    window.curation.edit_tags(pid, ["client-a"], ["navy"])
    _idle(window, qtbot)
    changed = [("approved", 2, ["client-b", "navy"]), ("approved", 5, ["client-b", "navy"]),
               ("approved", 5, ["client-a", "client-b"])]
    assert state() == changed[-1]
    stack = window.curation.stack
    for expected in [*reversed(changed[:-1]), start]:  # each undo, one step back
        stack.undo()
        _idle(window, qtbot)
        assert state() == expected
    assert (_entry(window, pid).status, _entry(window, pid).rating) == ("rejected", 2)  # the grid too
    for expected in changed:  # and each redo, one step forward
        stack.redo()
        _idle(window, qtbot)
        assert state() == expected
    # several at once (one step), each undone to its own value, not to one shared default
    other = next(i for i in ids if i != pid)
    assert window.lib.get(other)["status"] == "draft"
    window.curation.set_status(ids, "rejected")
    _idle(window, qtbot)
    stack.undo()
    _idle(window, qtbot)
    assert window.lib.get(pid)["status"] == "approved" and window.lib.get(other)["status"] == "draft"


def test_delete_moves_the_selection_to_the_trash_and_ctrl_z_brings_it_back(window, qtbot):
    ids = _tiles(window, qtbot)
    view = window.library.list
    window.library.select_row(1)
    view.setFocus()
    trashed = window.library.selected_entries()[0].pattern_id
    qtbot.keyClick(view, Qt.Key_Delete)
    qtbot.waitUntil(lambda: window.library.count() == 2, timeout=30_000)
    assert window.lib.get(trashed)["trashed"] and _entry(window, trashed) is None
    assert window.library.selected_entries()[0].pattern_id != trashed  # the selection moved on
    assert "Ctrl+Z undoes" in window.statusBar().currentMessage()
    window.curation.stack.undo()
    qtbot.waitUntil(lambda: window.library.count() == 3, timeout=30_000)
    assert window.lib.get(trashed)["trashed"] is None
    assert sorted(e.pattern_id for e in window.library.model.entries) == sorted(ids)
    assert [e.pattern_id for e in window.library.model.entries] == [p["id"] for p in window.lib.list()]

    window.library.search.setFocus()
    window.library.search.setText("abc")
    qtbot.keyClick(window.library.search, Qt.Key_Backspace)  # in a text field it edits the text
    _idle(window, qtbot)
    assert window.library.search.text() == "ab" and window.lib.count() == 3


def test_the_trash_view_restores_and_deletes_for_good_after_asking(window, qtbot, monkeypatch):
    ids = _tiles(window, qtbot)
    window.library.select_row(0)
    window.library.list.selectAll()
    window.curation.trash_selected()
    qtbot.waitUntil(lambda: window.library.count() == 0, timeout=30_000)
    trash_entry = window.library.status_filter.findData("Trash")
    qtbot.waitUntil(lambda: window.library.status_filter.itemText(trash_entry) == "Trash (3)", timeout=30_000)
    window.actions["show_trash"].trigger()
    qtbot.waitUntil(lambda: window.library.count() == 3, timeout=30_000)
    assert "in the trash" in window.library.header.text()

    window.library.select_row(0)
    back = window.library.selected_entries()[0].pattern_id
    qtbot.waitUntil(lambda: "In the trash since" in window.inspector.view.toPlainText(), timeout=30_000)
    assert "moved to the trash" in window.inspector.view.toPlainText()  # its history, in words
    window.actions["restore"].trigger()
    qtbot.waitUntil(lambda: window.library.count() == 2, timeout=30_000)
    assert window.lib.get(back)["trashed"] is None

    asked = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: asked.append(a[2]) or QMessageBox.Cancel)
    window.library.select_row(0)
    window.library.list.setFocus()
    qtbot.keyClick(window.library.list, Qt.Key_Delete)  # in the trash: delete for good, after asking
    assert asked and "cannot be undone" in asked[0]
    _idle(window, qtbot)
    assert window.lib.count() == 1 and len(window.lib.list(trashed=True)) == 2  # cancelled: nothing went

    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: QMessageBox.Yes)
    window.actions["empty_trash"].trigger()
    qtbot.waitUntil(lambda: window.library.count() == 0, timeout=30_000)
    assert window.lib.list(trashed=True) == [] and [p["id"] for p in window.lib.list()] == [back]
    assert window.curation.stack.count() == 0  # nothing left to undo that names what is gone
    qtbot.waitUntil(lambda: window.library.status_filter.itemText(trash_entry) == "Trash", timeout=30_000)
    assert set(ids) - {back} and "Deleted 2 patterns for good" in window.statusBar().currentMessage()


def test_the_grids_context_menu_curates_the_selection(window, qtbot):
    ids = _tiles(window, qtbot, 2)
    window.library.select_row(0)
    window.library.list.selectAll()
    actions = {a.text().split("\t")[0]: a for a in window.library.list.actions() if not a.isSeparator()}
    assert {"Approve", "Reject", "Unflag", "More like this", "Move to &trash", "Res&tore from trash"} <= set(actions)
    actions["Approve"].trigger()
    _idle(window, qtbot)
    assert [window.lib.get(i)["status"] for i in ids] == ["approved", "approved"]
    actions["Move to &trash"].trigger()
    qtbot.waitUntil(lambda: window.library.count() == 0, timeout=30_000)
    assert sorted(p["id"] for p in window.lib.list(trashed=True)) == sorted(ids)


def test_a_tile_actions_result_is_undone_to_the_trash_and_redone_back(window, qtbot):
    (source,) = _tiles(window, qtbot, 1)
    window.library.select_row(0)
    qtbot.waitUntil(lambda: window.current is not None and window.current.image is not None, timeout=30_000)
    window.tile_actions.repair_seam()
    qtbot.waitUntil(lambda: window.lib.count() == 2 and window.library.count() == 2, timeout=30_000)
    child = next(p["id"] for p in window.lib.list() if p["id"] != source)
    assert window.curation.undo_action.text() == "&Undo Repair seam"
    window.curation.stack.undo()
    qtbot.waitUntil(lambda: window.library.count() == 1, timeout=30_000)
    assert window.lib.get(child)["trashed"] and window.lib.get(source)["trashed"] is None
    window.curation.stack.redo()
    qtbot.waitUntil(lambda: window.library.count() == 2, timeout=30_000)
    assert window.lib.get(child)["trashed"] is None


def test_the_grid_sorts_as_asked_and_keeps_the_order_chosen(window, qtbot, isolated_home):
    ids = _tiles(window, qtbot, 3)
    window.curation.set_rating([ids[1]], 5)
    window.curation.set_rating([ids[2]], 3)
    _idle(window, qtbot)
    sort = window.library.sort
    sort.setCurrentIndex(sort.findData("rating"))
    qtbot.waitUntil(lambda: [e.pattern_id for e in window.library.model.entries] == [ids[1], ids[2], ids[0]],
                    timeout=30_000)
    sort.setCurrentIndex(sort.findData("oldest"))
    qtbot.waitUntil(lambda: [e.pattern_id for e in window.library.model.entries] == sorted(ids), timeout=30_000)
    window.save_state()
    sort.setCurrentIndex(0)
    window.restore_state()
    assert sort.currentData() == "oldest"


def test_compare_shows_the_selection_repeating_and_takes_the_curation_keys(window, qtbot):
    from desktop.ui.compare_dialog import CompareDialog

    ids = _tiles(window, qtbot, 3)
    window.library.list.setFocus()
    window.library.select_row(0)
    qtbot.keyClick(window.library.list, Qt.Key_C)  # one pattern: nothing to compare, and it says so
    assert "two to six" in window.statusBar().currentMessage() and not window.findChildren(CompareDialog)
    window.library.list.selectAll()
    qtbot.keyClick(window.library.list, Qt.Key_C)
    dialog = window.findChildren(CompareDialog)[0]
    wait_exposed(qtbot, dialog)
    qtbot.waitUntil(lambda: all(c.canvas.has_tile() for c in dialog.cells), timeout=30_000)
    assert sorted(dialog.pattern_ids()) == sorted(ids) and dialog.cells[0].canvas.repeats == 2
    first, second = dialog.pattern_ids()[:2]
    qtbot.keyClick(dialog.cells[0].canvas, Qt.Key_P)
    qtbot.waitUntil(lambda: window.lib.get(first)["status"] == "approved", timeout=30_000)
    assert "approved" in dialog.cells[0].caption.text()
    qtbot.keyClick(dialog.cells[0].canvas, Qt.Key_Right)
    assert dialog.current == 1
    qtbot.keyClick(dialog.cells[1].canvas, Qt.Key_4)
    qtbot.keyClick(dialog.cells[1].canvas, Qt.Key_Delete)
    qtbot.waitUntil(lambda: window.lib.get(second)["trashed"] is not None, timeout=30_000)
    assert window.lib.get(second)["rating"] == 4 and "in the trash" in dialog.cells[1].caption.text()
    dialog.cells[1].canvas.set_zoom(0.5)
    qtbot.keyClick(dialog.cells[1].canvas, Qt.Key_Z)
    assert {c.canvas.scale() for c in dialog.cells} == {0.5}
    # Enter opens it, even though the grid, losing the trashed row, may move on after it
    qtbot.keyClick(dialog.cells[1].canvas, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id == second, timeout=30_000)
    window.curation.stack.undo()  # the trash, from the window, as any curation
    qtbot.waitUntil(lambda: window.lib.get(second)["trashed"] is None, timeout=30_000)
    dialog.close()


def test_the_selection_goes_into_a_collection_and_out_undoably(window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    from desktop.library import collections

    ids = _tiles(window, qtbot, 3)
    window.library.select_row(0)
    window.library.list.selectAll()
    monkeypatch.setattr(QInputDialog, "getItem", lambda *a, **k: ("Client picks", True))
    window.actions["add_to_collection"].trigger()
    qtbot.waitUntil(lambda: window.library.collection_filter.findData("Client picks") >= 0, timeout=30_000)
    assert sorted(collections.member_ids(window.lib, "Client picks")) == sorted(ids)
    window.library.collection_filter.setCurrentIndex(window.library.collection_filter.findData("Client picks"))
    qtbot.waitUntil(lambda: window.library.count() == 3, timeout=30_000)
    window.library.select_row(0)
    out = window.library.selected_entries()[0].pattern_id
    window.actions["take_out"].trigger()
    qtbot.waitUntil(lambda: window.library.count() == 2, timeout=30_000)
    assert out not in collections.member_ids(window.lib, "Client picks") and window.lib.get(out)
    window.curation.stack.undo()  # back in
    qtbot.waitUntil(lambda: window.library.count() == 3, timeout=30_000)
    window.curation.stack.undo()  # the add undone: the collection it made goes too
    qtbot.waitUntil(lambda: window.library.collection_filter.findData("Client picks") < 0, timeout=30_000)
    assert [c["name"] for c in collections.all_collections(window.lib)] == [] and window.lib.count() == 3
    window.curation.stack.redo()
    qtbot.waitUntil(lambda: window.library.collection_filter.findData("Client picks") >= 0, timeout=30_000)
    window.library.collection_filter.setCurrentIndex(window.library.collection_filter.findData("Client picks"))
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    window.actions["delete_collection"].trigger()
    qtbot.waitUntil(lambda: window.library.collection_filter.findData("Client picks") < 0, timeout=30_000)
    qtbot.waitUntil(lambda: window.library.count() == 3, timeout=30_000)  # all patterns again; none went


def test_the_inspectors_history_is_in_words():
    from desktop.ui.inspector_panel import history_line

    assert history_line("update", {"status": ["draft", "approved"], "rating": [0, 4], "tagged": ["client-a"]}) == \
        "status draft → approved, rating 0 → 4, tagged client-a"
    assert history_line("add", {"source": "/home/ada/scans/rose.tif", "sha256": "ab"}) == "added from rose.tif"
    assert history_line("trash", {}) == "moved to the trash"
    assert history_line("published", {"url": "https://m/p/1"}) == "published: https://m/p/1"
    assert history_line("something-new", {"k": 1}) == 'something-new {"k": 1}'  # never lost, at worst raw


def test_f2_renames_the_pattern_shown_and_ctrl_z_takes_it_back(window, qtbot):
    (pid,) = _tiles(window, qtbot, 1)
    drafted = "Navy and Indigo Polka Dots (0)"  # titles.tile_title: the inks, the style, the seed
    assert window.lib.get(pid)["title"] == drafted
    window.library.select_row(0)
    qtbot.waitUntil(lambda: window.inspector.title.text() == drafted, timeout=30_000)
    window.library.list.setFocus()
    qtbot.keyClick(window.library.list, Qt.Key_F2)
    field = window.inspector.title
    assert field.hasFocus() and field.selectedText() == drafted
    qtbot.keyClicks(field, "Navy dots")
    qtbot.keyClick(field, Qt.Key_Return)
    qtbot.waitUntil(lambda: window.lib.get(pid)["title"] == "Navy dots", timeout=30_000)
    qtbot.waitUntil(lambda: window.library.model.data(window.library.model.index(0)).startswith("Navy dots"),
                    timeout=30_000)
    window.library.list.setFocus()
    window.curation.stack.undo()
    qtbot.waitUntil(lambda: window.lib.get(pid)["title"] == drafted, timeout=30_000)
    qtbot.waitUntil(lambda: field.text() == drafted, timeout=30_000)
    assert not window.library.model.data(window.library.model.index(0)).startswith("Navy")


def test_compare_says_which_pattern_it_cannot_show(window, qtbot):
    from pathlib import Path

    from desktop.ui.compare_dialog import CompareDialog

    ids = _tiles(window, qtbot, 2)
    Path(window.lib.get(ids[0])["file"]).write_bytes(b"not a png any more")  # damaged on disk
    for entry in window.library.model.entries:
        entry.image = None  # as the grid holds a pattern it read from the library: its thumbnail only
    window.library.select_row(0)
    window.library.list.selectAll()
    window.catalogue.compare_selected()
    dialog = window.findChildren(CompareDialog)[0]
    broken = next(c for c in dialog.cells if c.entry.pattern_id == ids[0])
    whole = next(c for c in dialog.cells if c.entry.pattern_id == ids[1])
    qtbot.waitUntil(lambda: "cannot be shown" in broken.caption.text() and whole.canvas.has_tile(), timeout=30_000)
    dialog.close()


def test_curation_keys_act_on_the_tile_shown_whatever_has_the_focus(window, qtbot):
    """After Generate the focus is in the Brief: P, 4 and O still act on the tile shown; in a field being
    typed in, the letter is typed, and the status bar says once why it did not curate."""
    ids = _tiles(window, qtbot, 1)
    window.library.select_row(0)
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id == ids[0], timeout=30_000)
    combo = window.brief.repeat  # focus somewhere in the Brief that is not a text field
    combo.setFocus()
    qtbot.waitUntil(combo.hasFocus)
    qtbot.keyClick(combo, Qt.Key_P)
    qtbot.keyClick(combo, Qt.Key_4)
    _idle(window, qtbot)
    assert (window.lib.get(ids[0])["status"], window.lib.get(ids[0])["rating"]) == ("approved", 4)
    assert combo.currentData() == window.brief.repeat.currentData()  # the combo did not take the keys
    prompt = window.brief.prompt
    prompt.setFocus()
    qtbot.waitUntil(prompt.hasFocus)
    window.statusBar().clearMessage()
    qtbot.keyClicks(prompt, "x2")
    _idle(window, qtbot)
    assert prompt.text().endswith("x2") and window.lib.get(ids[0])["status"] == "approved"
    assert window.statusBar().currentMessage().startswith("X went into the Prompt field, which is being typed in")


def test_the_seed_field_says_which_seed_made_the_tile_shown(window, qtbot):
    brief = window.brief
    brief.seed.setValue(40)
    _tiles(window, qtbot, 2)  # seeds 40 and 41; the next are 42 on
    window.library.select_row(1)
    qtbot.waitUntil(lambda: window.current is not None and "seed" in (window.current.metadata or {}), timeout=30_000)
    shown = window.current.metadata["seed"]
    assert shown in (40, 41)
    assert brief.seed_note.text() == (f"The tile shown was made with seed {shown}; the next tiles start at 42 "
                                      f"(type {shown} to make it again).")
    brief.seed.setValue(shown)
    assert brief.seed_note.text() == "The tile shown was made with this seed."


def test_the_brief_says_what_a_style_made_of_it(window, qtbot):
    brief = window.brief
    brief.set_style("plaid")
    brief.width_spin.setValue(64)
    brief.height_spin.setValue(64)
    brief.palette_combo.setCurrentIndex(brief.palette_combo.findData("art-deco"))
    brief.request_generate()
    assert brief.notes.isVisibleTo(window)
    assert brief.notes.text().startswith("The sett's letters took K #111111, R #8c2f39, Y #c9a227 from the palette")
    qtbot.waitUntil(lambda: window.lib.count() == 1, timeout=30_000)


def test_each_library_operation_is_broadcast_once_and_the_panels_follow_it(window, qtbot, monkeypatch):
    """One `changed` per operation, after its caller's own finish: the grid refreshes the rows it
    names (reading nothing), a pattern joining the view shown reads the grid again, and the
    Inspector reads its facts again only where the pattern it shows changed."""
    ids = _tiles(window, qtbot)
    window.library.select_row(0)
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id == ids[0], timeout=30_000)
    _idle(window, qtbot)
    heard, facts, reads = [], [], []
    window.catalogue.library_changed.connect(heard.append)
    monkeypatch.setattr(window.tile_view, "load_library_facts", lambda entry: facts.append(entry.pattern_id))
    original_reload = window.catalogue.reload
    monkeypatch.setattr(window.catalogue, "reload", lambda: reads.append(1) or original_reload())

    window.curation.set_status([ids[1], ids[2]], "approved")  # not the pattern shown
    qtbot.waitUntil(lambda: len(heard) == 1, timeout=30_000)
    qtbot.wait(100)
    assert len(heard) == 1 and sorted(heard[0].states) == sorted(ids[1:])
    assert [_entry(window, i).status for i in ids[1:]] == ["approved", "approved"]  # the rows, from the change set
    assert facts == [] and reads == []  # the Inspector's pattern did not change; nothing joined the view

    window.curation.set_rating([ids[0]], 3)  # the pattern shown: its facts are read again
    qtbot.waitUntil(lambda: len(heard) == 2, timeout=30_000)
    assert _entry(window, ids[0]).rating == 3 and facts == [ids[0]] and reads == []

    window.curation.trash([ids[2]])
    qtbot.waitUntil(lambda: len(heard) == 3, timeout=30_000)
    assert heard[2].trashed == [ids[2]] and heard[2].trash_count == 1 and _entry(window, ids[2]) is None
    assert reads == []  # leaving the view needs no read

    window.curation.stack.undo()  # restored: it joins the view shown, whose order only a read knows
    qtbot.waitUntil(lambda: len(heard) == 4, timeout=30_000)
    assert heard[3].restored == [ids[2]] and heard[3].trash_count == 0 and reads == [1]
    qtbot.waitUntil(lambda: _entry(window, ids[2]) is not None, timeout=30_000)


def test_every_action_is_declared_once_with_keys_no_other_action_has(window):
    from desktop.ui import actions

    names = [a.name for a in actions.declared()]
    assert len(names) == len(set(names))
    seen: dict[str, str] = {}
    for spec in actions.declared():
        for key in actions.key_sequences(spec):
            assert key.toString() not in seen, f"{key.toString()} is both {seen[key.toString()]} and {spec.name}"
            seen[key.toString()] = spec.name
    # every action in the menus was built from the table: none was added beside it
    in_menus = [a for menu in window.menuBar().actions() for a in menu.menu().actions()
                if not a.isSeparator() and a.menu() is None]
    built = set(window.actions.values()) | {d.toggleViewAction() for d in window.docks.values()}
    assert in_menus and all(a in built for a in in_menus)
    assert [a.text() for a in window.menuBar().actions()] == [actions.MNEMONICS[m] for m in actions.MENUS]


def test_a_script_writing_beside_the_open_window_is_seen_through_the_same_broadcast(window, qtbot, tmp_path):
    """A `tessera` command run while the window is open writes through SQLite's own locking; the
    window notices (PRAGMA data_version) and its grid and Inspector follow, by one broadcast that
    names no pattern."""
    import os
    import subprocess
    import sys

    import numpy as np
    from PIL import Image

    ids = _tiles(window, qtbot, count=2)
    window.library.select_row(0)
    qtbot.waitUntil(lambda: window.current is not None, timeout=30_000)
    _idle(window, qtbot)
    heard = []
    window.catalogue.library_changed.connect(heard.append)
    outside = tmp_path / "scanned.png"
    Image.fromarray((np.random.default_rng(3).random((48, 48, 3)) * 255).astype(np.uint8)).save(outside)
    env = dict(os.environ, PYTHONPATH=os.getcwd())

    def tessera(*args):
        done = subprocess.run([sys.executable, "-m", "desktop.cli", "--library", str(window.lib.root), *args],
                              capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, done.stderr
        return done

    tessera("library", "set", str(ids[1]), "--status", "approved", "--rating", "4")
    tessera("library", "import", str(outside))
    qtbot.waitUntil(lambda: any(c.unknown for c in heard), timeout=30_000)
    qtbot.waitUntil(lambda: window.library.count() == 3, timeout=30_000)  # the imported one, read again
    assert (_entry(window, ids[1]).status, _entry(window, ids[1]).rating) == ("approved", 4)
    assert window.lib.count() == 3
    # and the window's own writes are not taken for another's
    before = len(heard)
    window.curation.set_rating([ids[0]], 2)
    qtbot.waitUntil(lambda: len(heard) == before + 1, timeout=30_000)
    qtbot.wait(2 * window.catalogue.WATCH_MS + 500)
    assert not any(c.unknown for c in heard[before:])
