"""Tile ▸ Mockups… in the window: the dialog renders off the UI thread, follows the product and the
printed size, and saves, saves all and copies."""

import threading

from PySide6.QtWidgets import QApplication, QFileDialog

from desktop.engine.images import read_metadata
from desktop.engine.mockups import PRODUCTS
from desktop.jobs import JobState, Lane
from desktop.ui.mockup_dialog import MockupDialog


def _one_tile(window, qtbot):
    brief = window.brief
    brief.set_style("polka-dots")
    brief.width_spin.setValue(96)
    brief.height_spin.setValue(96)
    brief.count.setValue(1)
    brief.request_generate()
    qtbot.waitUntil(lambda: window.lib.count() == 1 and window.library.count() == 1, timeout=30_000)
    window.library.select_row(0)
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id is not None, timeout=30_000)


def _dialog(window) -> MockupDialog:
    return next(w for w in QApplication.topLevelWidgets() if isinstance(w, MockupDialog) and w.isVisible())


def test_mockups_follow_the_product_and_the_printed_size(window, qtbot, tmp_path, monkeypatch):
    _one_tile(window, qtbot)
    window.tile_actions.mockups()
    dialog = _dialog(window)
    qtbot.waitUntil(lambda: dialog.shown is not None, timeout=30_000)
    assert dialog.shown.product == "swatch" and dialog.picture.pixmap() is not None
    assert dialog.shown.tile_in == (96 / 150, 96 / 150)  # its pixels at the 150 DPI it was made at
    assert "0.64 × 0.64 in (150 DPI" in dialog.caption.text() and "soft" not in dialog.caption.text()
    assert "0.64 × 0.64 in at 150 DPI" in window.preview.caption.text()  # the Preview says it too

    dialog.products.setCurrentIndex(list(PRODUCTS).index("cushion"))
    qtbot.waitUntil(lambda: dialog.shown.product == "cushion", timeout=30_000)
    dialog.width_spin.setValue(3.0)  # debounced, then drawn again
    qtbot.waitUntil(lambda: dialog.shown.tile_in == (3.0, 3.0), timeout=30_000)
    assert dialog.shown.repeats == (6.0, 6.0) and "(32 DPI" in dialog.caption.text()
    assert "prints soft: QA asks for 150 at least" in dialog.caption.text()
    dialog.units.setCurrentIndex(dialog.units.findData("cm"))  # the same printed size, in cm
    assert abs(dialog.width_spin.value() - 7.62) < 1e-6
    qtbot.waitUntil(lambda: "7.6 × 7.6 cm" in dialog.caption.text(), timeout=30_000)

    target = tmp_path / "cushion.png"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), "PNG (*.png)"))
    dialog.save()
    qtbot.waitUntil(lambda: target.is_file(), timeout=30_000)
    about = read_metadata(target)["mockup"]
    assert about["product"] == "cushion" and about["source_library_id"] == window.current.pattern_id

    dialog.copy()
    assert QApplication.clipboard().image().width() == PRODUCTS["cushion"].size[0]

    folder = tmp_path / "all"
    folder.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    dialog.save_all()
    qtbot.waitUntil(lambda: len(list(folder.glob("*.png"))) == len(PRODUCTS), timeout=60_000)
    qtbot.waitUntil(lambda: "Saved 4 mockups" in dialog.caption.text(), timeout=30_000)
    assert window.lib.count() == 1  # the mockups are not patterns
    dialog.close()


def test_the_product_and_units_are_remembered(window, qtbot):
    _one_tile(window, qtbot)
    window.tile_actions.mockups()
    dialog = _dialog(window)
    dialog.products.setCurrentIndex(list(PRODUCTS).index("wall"))
    dialog.units.setCurrentIndex(dialog.units.findData("cm"))
    qtbot.waitUntil(lambda: dialog.shown is not None and dialog.shown.product == "wall", timeout=30_000)
    dialog.close()
    window.tile_actions.mockups()
    again = _dialog(window)
    assert again.product() == "wall" and again.unit() == "cm"
    qtbot.waitUntil(lambda: again.shown is not None, timeout=30_000)
    again.close()


def test_no_tile_no_dialog(window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    said = []
    monkeypatch.setattr(QMessageBox, "information", lambda *a, **k: said.append(a[2]))
    window.tile_actions.mockups()
    assert said == ["Select or generate a tile first."]


def _hold_the_io_lane(window) -> threading.Event:
    release = threading.Event()
    for _ in range(2):  # both of its workers
        window.queue.submit("hold", lambda ctx: release.wait(30), lane=Lane.IO, title="Holding the I/O lane")
    return release


def test_a_render_no_longer_wanted_is_cancelled(window, qtbot):
    _one_tile(window, qtbot)
    release = _hold_the_io_lane(window)
    window.tile_actions.mockups()
    dialog = _dialog(window)
    for product in ("wall", "fabric", "cushion"):  # 3, 2, 1 pressed quickly: only the cushion is wanted
        dialog.products.setCurrentIndex(list(PRODUCTS).index(product))
    release.set()
    qtbot.waitUntil(lambda: dialog.shown is not None, timeout=30_000)
    assert dialog.shown.product == "cushion"
    renders = [s for s in window.queue.jobs() if s.kind == "mockup"]
    assert [s.state for s in renders] == [JobState.CANCELLED] * 3 + [JobState.DONE]  # the first, then the three
    assert "Cushion" in dialog.caption.text()  # no "Cancelled" said for the older ones
    dialog.close()


def test_closing_while_it_renders_cancels_the_render(window, qtbot):
    _one_tile(window, qtbot)
    release = _hold_the_io_lane(window)
    window.tile_actions.mockups()
    _dialog(window).close()
    release.set()
    qtbot.waitUntil(lambda: all(s.state.finished for s in window.queue.jobs()), timeout=60_000)
    assert [s.state for s in window.queue.jobs() if s.kind == "mockup"] == [JobState.CANCELLED]


def test_closing_while_it_renders_loses_nothing(window, qtbot):
    _one_tile(window, qtbot)
    window.tile_actions.mockups()
    dialog = _dialog(window)
    dialog.products.setCurrentIndex(list(PRODUCTS).index("wall"))  # a second render on its way
    dialog.close()  # its answers arrive after: dropped, no error
    qtbot.waitUntil(lambda: all(s.state.finished for s in window.queue.jobs()), timeout=60_000)
    qtbot.wait(50)


def test_a_save_that_fails_says_why(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    _one_tile(window, qtbot)
    window.tile_actions.mockups()
    dialog = _dialog(window)
    qtbot.waitUntil(lambda: dialog.shown is not None, timeout=30_000)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(blocked / "m.png"), ""))
    said = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: said.append(a[2]))
    dialog.save()
    qtbot.waitUntil(lambda: bool(said), timeout=30_000)
    assert said[0].startswith(f"could not write {blocked / 'm.png'}")
    assert "Not saved: could not write" in dialog.caption.text()
    dialog.close()
