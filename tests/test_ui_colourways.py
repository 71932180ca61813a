"""Tile ▸ Colourways… in the window: the dialog, the job, the children in the library and their
collection."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from desktop.palettes import palette_names


def _one_tile(window, qtbot):
    brief = window.brief
    brief.set_style("polka-dots")
    brief.width_spin.setValue(64)
    brief.height_spin.setValue(64)
    brief.count.setValue(1)
    brief.palette_combo.setCurrentIndex(brief.palette_combo.findData("art-deco"))
    brief.request_generate()
    qtbot.waitUntil(lambda: window.lib.count() == 1 and window.library.count() == 1, timeout=30_000)
    window.library.select_row(0)
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id is not None, timeout=30_000)
    return window.current.pattern_id


def test_the_dialog_offers_every_palette_but_the_tiles_own_and_says_what_it_needs(qtbot):
    from desktop.ui.colourways_dialog import ColourwaysDialog

    dialog = ColourwaysDialog("polka-dots 0", brief_palette="#101010,#fafafa", current_palette="art-deco")
    qtbot.addWidget(dialog)
    keys = [dialog.palettes.item(r).data(Qt.UserRole) for r in range(dialog.palettes.count())]
    assert len(keys) == len(palette_names()) + 1  # the Brief's custom palette first
    assert [p.name for p in dialog.chosen()].count("art-deco") == 0  # the tile's own is not ticked
    ok = dialog.buttons.button(QDialogButtonBox.Ok)
    assert ok.isEnabled() and ok.text() == f"&Make {len(keys) - 1} colourways"
    dialog._tick_all(Qt.Unchecked)
    assert not ok.isEnabled() and "at least one palette" in dialog.error.text()
    dialog.palettes.item(1).setCheckState(Qt.Checked)
    assert ok.isEnabled() and ok.text() == "&Make 1 colourway"
    dialog.collection.setText("  ")
    assert not ok.isEnabled() and "Name the collection" in dialog.error.text()
    dialog.gather.setChecked(False)
    assert ok.isEnabled() and dialog.collection_name() == ""


@pytest.mark.parametrize("flat", [False, True])
def test_colourways_land_in_the_library_as_children_in_a_collection(window, qtbot, monkeypatch, flat):
    from desktop.library.collections import member_ids
    from desktop.ui.colourways_dialog import ColourwaysDialog

    parent = _one_tile(window, qtbot)

    def answer(dialog):
        dialog._tick_all(Qt.Unchecked)
        for row in range(dialog.palettes.count()):
            if dialog.palettes.item(row).data(Qt.UserRole) in ("indigo-dye", "botanical"):
                dialog.palettes.item(row).setCheckState(Qt.Checked)
        dialog.flat.setChecked(flat)
        dialog.collection.setText("Dots colourways")
        return ColourwaysDialog.Accepted

    monkeypatch.setattr(ColourwaysDialog, "exec", answer)
    window.tile_actions.colourways()
    qtbot.waitUntil(lambda: window.lib.count() == 3 and window.library.count() == 3, timeout=30_000)
    children = [p for p in window.lib.list() if p["id"] != parent]
    for child in children:
        facts = window.lib.get(child["id"])
        assert facts["provenance"]["parents"] == [parent]
        assert facts["title"].endswith(("· indigo-dye", "· botanical"))
        assert facts["provenance"]["palette"]["name"] in ("indigo-dye", "botanical")
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id in
                    {c["id"] for c in children}, timeout=30_000)
    assert sorted(member_ids(window.lib, "Dots colourways")) == sorted([parent, *(c["id"] for c in children)])
    # one design by intent: the QA of a colourway does not call its source or sibling a near-duplicate
    qtbot.waitUntil(lambda: "asses QA" in window.inspector.view.toPlainText()
                    or "ails QA" in window.inspector.view.toPlainText(), timeout=30_000)
    verdict = next(line for line in window.inspector.view.toPlainText().splitlines() if "QA" in line)
    assert "duplicates" not in verdict
    assert "Colourway" in window.inspector.view.toPlainText() and "of the tile" in window.inspector.view.toPlainText()
    assert window.lib.lineage(children[0]["id"]) == {parent, *(c["id"] for c in children)}
    model = window.library.model
    captions = [model.data(model.index(r, 0), Qt.DisplayRole).split("\n")[0] for r in range(model.rowCount())]
    assert any(c.endswith("indigo-dye") for c in captions) and any(c.endswith("botanical") for c in captions)
    assert window.preview.caption.text().startswith(window.lib.get(window.current.pattern_id)["title"])
    combo = window.library.collection_filter
    assert combo.findText("Dots colourways") >= 0  # the filter knows the new collection
    if flat:
        from desktop.engine.images import load_rgb
        from desktop.palettes import load_named

        child = window.lib.get(window.current.pattern_id)
        used = {tuple(int(v) for v in c) for c in load_rgb(child["file"]).reshape(-1, 3)}
        assert used <= set(load_named(child["provenance"]["palette"]["name"]).colors)


def test_colourways_need_a_tile(window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    said = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a: said.append(a[2]))
    window.tile_view.current = None
    window.tile_actions.colourways()
    assert said and "Select or generate a tile" in said[0]


def test_a_presentation_sheet_of_the_selected_patterns(window, qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QFileDialog, QInputDialog

    from desktop.engine.images import load_rgb, read_metadata
    from desktop.engine.sheet import GAP, LABEL_H, NOTE_H, SWATCH_H

    _one_tile(window, qtbot)
    window.library.list.selectAll()
    target = tmp_path / "sheet.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PNG (*.png)"))
    asked = []

    def choose(wanted):
        def get_item(parent, title, label, items, current, editable):
            asked.append(items[current])
            return next(i for i in items if wanted in i), True
        monkeypatch.setattr(QInputDialog, "getItem", get_item)

    choose("repeats only")
    window.tile_actions.export_sheet()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Saved"), timeout=30_000)
    page = load_rgb(target)
    assert page.shape == (320 + SWATCH_H + LABEL_H + NOTE_H + 2 * GAP, 320 + 2 * GAP, 3)  # (+ the disclosure line)

    window.statusBar().clearMessage()
    choose("wall")  # each pattern also at its printed size on the wall
    window.tile_actions.export_sheet()
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Saved"), timeout=30_000)
    with_wall = load_rgb(target)
    assert with_wall.shape[1] == page.shape[1] and with_wall.shape[0] > page.shape[0] + 200
    assert read_metadata(target)["sheet"]["mockup"] == "wall"
    window.statusBar().clearMessage()
    choose("repeats only")
    window.tile_actions.export_sheet()  # the last choice is offered first
    assert "wall" in asked[-1] and asked[0] == "The repeats only"
    qtbot.waitUntil(lambda: window.statusBar().currentMessage().startswith("Saved"), timeout=30_000)
    assert load_rgb(target).shape == page.shape
