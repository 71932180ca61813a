"""The window, offscreen: docks, live job progress and cancel, generating a tile, saved state."""

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from conftest import ROOT, subprocess_env, wait_exposed
from desktop.jobs import JobState


def test_window_opens_with_its_docks(window):
    assert set(window.docks) == {"Brief", "Preview", "Library", "Inspector", "Jobs"}
    for dock in window.docks.values():
        assert dock.isVisible()
    assert window.windowTitle() == "Tessera"


def test_a_running_job_shows_progress_and_can_be_cancelled(window, qtbot):
    release = threading.Event()

    def slow(ctx):
        for i in range(1000):
            ctx.progress(i, 1000, "busy")
            if release.wait(0.01):
                break
        return "finished"

    job = window.queue.submit("test", slow, title="A slow job")
    qtbot.waitUntil(lambda: job.id in window.jobs.rows and window.jobs.rows[job.id].bar.value() > 0, timeout=20_000)
    row = window.jobs.rows[job.id]
    qtbot.waitUntil(lambda: row.cancel.isVisible() and row.cancel.height() > 0, timeout=20_000)  # laid out
    assert "busy" in row.status.text()
    qtbot.mouseClick(row.cancel, Qt.LeftButton)
    assert job.wait(5)
    assert job.state is JobState.CANCELLED
    qtbot.waitUntil(lambda: row.status.text() == "Cancelled", timeout=20_000)
    assert not row.cancel.isVisible()


def test_generate_shows_the_tile_in_preview_and_library(window, qtbot, isolated_home):
    brief = _small_brief(window, "hexagons", 128)
    brief.repeat.setCurrentIndex(brief.repeat.findData("half-drop"))
    qtbot.mouseClick(brief.generate_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.library.count() >= 1, timeout=30_000)
    assert window.preview.canvas.has_tile()
    assert window.preview.canvas.repeat.value == "half-drop"
    assert window.preview.canvas.repeats == 3
    qtbot.waitUntil(lambda: window.lib.count() == 1, timeout=30_000)
    item = window.lib.browse()[0]
    assert item["repeat"] == "half-drop" and item["metadata"]["style"] == "hexagons"
    assert (isolated_home / "library" / "files").is_dir()
    assert "hexagons" in window.inspector.view.toPlainText()


def test_invalid_brief_is_explained_and_starts_no_job(window, qtbot):
    brief = window.brief
    brief.repeat.setCurrentIndex(brief.repeat.findData("half-drop"))
    brief.height_spin.setValue(127)
    before = len(window.queue.jobs())
    brief.request_generate()
    assert "even" in brief.error.text()
    assert len(window.queue.jobs()) == before


def test_the_bridge_coalesces_progress(window, qtbot):
    updates = []
    window.bridge.jobUpdated.connect(lambda snap: updates.append(snap.id))

    def chatty(ctx):
        for i in range(20_000):
            ctx.progress(i, 20_000)

    job = window.queue.submit("chatty", chatty, title="chatty")
    assert job.wait(10)
    qtbot.waitUntil(lambda: window.jobs.rows.get(job.id) is not None
                    and window.jobs.rows[job.id].snapshot.state is JobState.DONE, timeout=20_000)
    assert updates.count(job.id) < 200  # ~10 polls a second, not 20,000 signals


@pytest.mark.qt_no_exception_capture
def test_unhandled_errors_are_reported_not_fatal(window, qtbot):
    from PySide6.QtCore import QTimer

    def boom():
        raise RuntimeError("a bug in a slot")

    QTimer.singleShot(0, boom)
    qtbot.waitUntil(lambda: bool(window.crash_reporter.reported), timeout=20_000)
    assert "a bug in a slot" in window.crash_reporter.reported[0]
    assert window.isVisible()


def test_window_state_is_saved(window, isolated_home):
    window.preview.canvas.set_repeats(5)
    window.close()
    text = (isolated_home / "config" / "window.ini").read_text()
    assert "geometry" in text and "state" in text and "repeats=5" in text


def _in_a_fresh_process(tmp_path, then: str) -> str:
    """Build the window in a new interpreter, run `then` (Python lines, the window as `w`) and
    return the last line it printed."""
    code = (
        "import sys, json\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from desktop.ui.app import create_window\n"
        "app = QApplication([])\n"
        "w = create_window(app, show_crash_dialogs=False)\n"
        f"{then}"
        "w.queue.shutdown(timeout=5)\n"
    )
    # generous: on a busy machine a fresh interpreter's imports and a first diffusion take minutes
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=280,
                          env=subprocess_env(TESSERA_HOME=str(tmp_path)))
    logs = "".join(f.read_text(errors="replace")[-2000:] for f in sorted(tmp_path.rglob("*.log")))
    assert done.returncode == 0, done.stderr + done.stdout + logs  # (the window's crash handler logs a traceback)
    return done.stdout.strip().splitlines()[-1]


def test_opening_the_window_imports_no_heavy_library(tmp_path):
    last = _in_a_fresh_process(tmp_path, (
        "w.show()\n"
        "for _ in range(20): app.processEvents()\n"
        "heavy = ['torch', 'diffusers', 'peft', 'open_clip', 'lancedb', 'lance', 'transformers']\n"
        "print(json.dumps({'shown': w.isVisible(), 'loaded': [m for m in heavy if m in sys.modules]}))\n"))
    assert json.loads(last) == {"shown": True, "loaded": []}


def test_building_the_window_leaves_the_database_stack_to_the_library_job(tmp_path):
    """The Library dock's colour list comes from a light module of desktop.library: building the
    window imports no SQLAlchemy (the library opens on its writer thread, after the first paint)."""
    last = _in_a_fresh_process(tmp_path, "print(sorted(m for m in ('sqlalchemy', 'alembic') if m in sys.modules))\n")
    assert last == "[]"


def test_a_missing_display_is_explained_not_an_abort():
    from desktop.ui.app import display_problem

    assert "no display" in display_problem({})
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0"}) is None


def test_qa_runs_on_the_shown_tile_and_overlays_toggle(window, qtbot):
    brief = _small_brief(window, "fbm", 128)
    brief.request_generate()
    qtbot.waitUntil(lambda: window.preview.overlay_combo.count() > 1, timeout=30_000)
    assert "Seam" in window.inspector.view.toPlainText()
    preview = window.preview
    assert not preview.canvas.has_overlay()
    preview.choose_overlay("seam")
    assert preview.canvas.has_overlay()
    preview.canvas.repaint()
    preview.choose_overlay(None)
    assert not preview.canvas.has_overlay()
    preview.cycle_overlay()
    assert preview.canvas.has_overlay()
    # the palette strip: the tile's main colours with their ΔE to the brief, as QA measured them
    strip = preview.palette_strip
    assert strip.isVisibleTo(window) and strip.badges()
    for hex_colour, text, ok in strip.badges():
        assert hex_colour.startswith("#") and text.startswith("ΔE ")
        assert ok == (float(text.split()[1]) <= strip.threshold + 0.05)
    strip.repaint()


def test_the_preview_keys_do_what_the_shortcuts_list_says(window, qtbot):
    from desktop.ui.preview import CANVAS_KEYS

    brief = _small_brief(window, "fbm", 128)
    brief.dpi.setValue(300)
    brief.request_generate()
    qtbot.waitUntil(lambda: window.preview.overlay_combo.count() > 1, timeout=30_000)
    canvas = window.preview.canvas
    assert set(CANVAS_KEYS) == {Qt.Key_F, Qt.Key_1, Qt.Key_B, Qt.Key_O, Qt.Key_R}
    qtbot.keyClick(canvas, Qt.Key_1)
    assert canvas._zoom == 1.0
    qtbot.keyClick(canvas, Qt.Key_R)  # print size: the tile's 300 DPI against the screen's density
    screen = canvas.screen()
    assert canvas._zoom == pytest.approx(screen.physicalDotsPerInch() / screen.devicePixelRatio() / 300)
    assert window.preview.zoom_label.text() == f"{canvas._zoom:.0%}"
    qtbot.keyClick(canvas, Qt.Key_F)
    assert canvas._zoom is None  # fitted: the scale follows the view
    shown = canvas.show_bounds
    qtbot.keyClick(canvas, Qt.Key_B)
    assert canvas.show_bounds is not shown
    qtbot.keyClick(canvas, Qt.Key_O)
    assert canvas.has_overlay()
    qtbot.keyClick(canvas, Qt.Key_1, Qt.ControlModifier)  # a modified key is not the canvas's
    assert canvas._zoom is None


def test_background_start_waits_for_the_first_paint(qtbot, qapp):
    """The library's opening and the GPU check do not compete with the first paint; a window that
    is never painted still opens its library."""
    from desktop.ui import main_window
    from desktop.ui.app import create_window

    shown = create_window(qapp, show_crash_dialogs=False)
    qtbot.addWidget(shown)
    qapp.processEvents()
    assert not [j for j in shown.queue.jobs() if j.kind == "open-library"]  # not painted yet: nothing started
    painted = []
    shown.preview.canvas.paintEvent = lambda event, real=shown.preview.canvas.paintEvent: (
        painted.append(not [j for j in shown.queue.jobs() if j.kind == "open-library"]), real(event))
    shown.show()
    qtbot.waitUntil(lambda: shown.lib is not None, timeout=30_000)
    assert painted and painted[0]  # the first paint came before the library job
    shown.close()
    shown.shutdown()
    shown.crash_reporter.uninstall()

    hidden = create_window(qapp, show_crash_dialogs=False)
    qtbot.addWidget(hidden)
    qtbot.waitUntil(lambda: hidden.lib is not None, timeout=main_window.FIRST_PAINT_WAIT_MS + 30_000)
    assert not hidden.isVisible()
    hidden.shutdown()
    hidden.crash_reporter.uninstall()


def test_help_lists_every_shortcut_where_it_is_defined(window, qtbot):
    from PySide6.QtGui import QKeySequence

    from desktop.ui.shortcuts_dialog import ShortcutsDialog

    action = next(a for a in window.findChildren(type(window.generate_action)) if a.text() == "&Keyboard shortcuts")
    assert action.shortcut() == QKeySequence(QKeySequence.HelpContents)
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    rows = dialog.visible_rows()
    assert ("Generate", "Ctrl+Return", "Generate tiles from the brief") in rows
    assert any(r[:2] == ("Generate", "Ctrl+Shift+M") for r in rows)
    assert any(r[:2] == ("Tile", "Ctrl+Shift+R") for r in rows)
    assert ("Preview", "F", "Fit the repeat in the Preview") in rows
    assert any(r[:2] == ("Library grid", "P") for r in rows)
    menu_keys = {a.shortcut().toString() for a in window.findChildren(type(window.generate_action))
                 if not a.shortcut().isEmpty() and a.parent() is window}
    assert menu_keys <= {key for _, keys, _ in rows for key in keys.split(", ")}  # every menu shortcut is listed
    from desktop.ui import actions

    declared = {a.name for a in actions.declared() if actions.key_sequences(a)}
    assert declared <= set(window.actions)  # what the list reads is what the menus were built from
    for name in declared:
        built = {k.toString() for k in window.actions[name].shortcuts()}
        assert built == {k.toString() for k in actions.key_sequences(actions.by_name(name))}
    dialog.filter.setText("seed")
    assert [r[2] for r in dialog.visible_rows()] == ["New seed"]
    dialog.filter.setText("")
    assert len(dialog.visible_rows()) == len(rows)


def test_auto_correct_from_the_brief_records_attempts(window, qtbot):
    brief = _small_brief(window, "toss", 128)
    brief.auto_correct.setChecked(True)
    request = brief.build_request()
    assert request.auto_correct and request.qa_profile == "default"
    brief.request_generate()
    qtbot.waitUntil(lambda: window.library.count() >= 1, timeout=30_000)
    assert "Attempts" in window.inspector.view.toPlainText()


def test_a_library_held_by_another_instance_is_explained(qtbot, qapp, isolated_home, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from desktop.library import Library
    from desktop.ui.app import create_window

    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *args: warnings.append(args[2]))
    holder = Library(isolated_home / "library", window=True)  # another window holds it
    try:
        win = create_window(qapp, show_crash_dialogs=False)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitUntil(lambda: bool(warnings), timeout=30_000)
        assert "open in another Tessera" in warnings[0] and win.lib is None
        win.brief.width_spin.setValue(64)
        win.brief.height_spin.setValue(64)
        win.brief.request_generate()
        qtbot.waitUntil(lambda: win.library.count() == 1, timeout=30_000)  # still works, to the folder
        assert list((isolated_home / "library" / "tiles").glob("*.png"))
        win.shutdown()
        win.crash_reporter.uninstall()
    finally:
        holder.close()


def _small_brief(window, style: str, size: int = 64):
    """Set the Brief to a small tile of `style` (what most window tests need)."""
    brief = window.brief
    brief.set_style(style)
    brief.width_spin.setValue(size)
    brief.height_spin.setValue(size)
    return brief


def _generate_two(window, qtbot):
    brief = _small_brief(window, "polka-dots")
    brief.count.setValue(2)
    brief.request_generate()
    qtbot.waitUntil(lambda: window.lib.count() == 2 and window.library.count() == 2, timeout=30_000)


def test_curation_keys_set_status_and_rating(window, qtbot):
    _generate_two(window, qtbot)
    view = window.library.list
    window.library.select_row(0)
    view.setFocus()
    pid = window.library.selected_entries()[0].pattern_id
    qtbot.keyClick(view, Qt.Key_P)
    qtbot.waitUntil(lambda: window.lib.get(pid)["status"] == "approved", timeout=30_000)
    qtbot.keyClick(view, Qt.Key_4)
    qtbot.waitUntil(lambda: window.lib.get(pid)["rating"] == 4, timeout=30_000)
    qtbot.waitUntil(lambda: window.library.selected_entries()[0].rating == 4, timeout=30_000)
    qtbot.keyClick(view, Qt.Key_X)
    qtbot.waitUntil(lambda: window.lib.get(pid)["status"] == "rejected", timeout=30_000)
    qtbot.keyClick(view, Qt.Key_U)
    qtbot.waitUntil(lambda: window.lib.get(pid)["status"] == "draft", timeout=30_000)
    history = [h["action"] for h in window.lib.get(pid)["history"]]
    assert history.count("update") == 4


def test_filters_search_and_more_like_this(window, qtbot):
    _generate_two(window, qtbot)
    first = window.library.model.entries[0].pattern_id
    window.curation.set_status([first], "approved")
    qtbot.waitUntil(lambda: window.lib.get(first)["status"] == "approved", timeout=30_000)
    window.library.status_filter.setCurrentText("approved")
    qtbot.waitUntil(lambda: window.library.count() == 1, timeout=30_000)
    assert window.library.model.entries[0].pattern_id == first
    window.library.status_filter.setCurrentIndex(0)
    qtbot.waitUntil(lambda: window.library.count() == 2, timeout=30_000)
    window.search.more_like_this(window.library.model.entries[0])
    qtbot.waitUntil(lambda: "result" in window.library.header.text(), timeout=30_000)
    assert all(e.score is not None for e in window.library.model.entries)
    window.library.search.setText("damask")
    window.library.search.returnPressed.emit()  # no CLIP weights, and this machine is offline: said plainly
    qtbot.waitUntil(lambda: "downloads are off" in window.library.header.text(), timeout=30_000)
    assert "CLIP" in window.library.header.text() and "were not found" in window.library.header.toolTip()


def test_searches_and_look_alikes_say_what_is_not_indexed_yet(window, qtbot, monkeypatch):
    """While patterns wait to be indexed (a remake of an older look, drained in parts), a search
    and the Inspector's look-alikes read the index as it stands, and say how many they could not
    see yet."""
    import numpy as np

    from desktop.library import search

    _generate_two(window, qtbot)
    qtbot.waitUntil(lambda: all(j.state.finished for j in window.queue.jobs()), timeout=30_000)
    monkeypatch.setattr(search, "READ_CATCH_UP", 0)  # the drain's part is elsewhere: nothing caught up here
    for seed in range(3):
        window.lib.add_tile(np.random.default_rng(seed).integers(0, 256, (32, 32, 3), dtype=np.uint8),
                            {"repeat": "basic"})
    assert search.waiting(window.lib) == 3
    entry = window.library.model.entries[0]
    window.search.more_like_this(entry)
    qtbot.waitUntil(lambda: "result" in window.library.header.text(), timeout=30_000)
    assert "3 pattern(s) still being indexed are not searched yet" in window.library.header.text()
    window.tile_view.current = entry
    window.tile_view.load_library_facts(entry)
    qtbot.waitUntil(lambda: "3 pattern(s) are still being indexed" in window.inspector.view.toPlainText(),
                    timeout=30_000)
    assert search.embed_pending(window.lib) == 3 and search.waiting(window.lib) == 0
    window.search.more_like_this(entry)
    qtbot.waitUntil(lambda: "4 result(s) like" in window.library.header.text(), timeout=30_000)  # all but itself
    assert "still being indexed" not in window.library.header.text()


def test_first_text_search_offers_the_clip_download_and_shows_its_progress(qtbot, qapp, tmp_path, monkeypatch):
    """Online, without weights: one question, a Jobs entry with byte progress, then CLIP results."""
    pytest.importorskip("open_clip")
    from loopback_hub import LoopbackHub
    from PySide6.QtWidgets import QMessageBox
    from tiny_clip import NAME, make_tiny_clip

    config, weights = make_tiny_clip(tmp_path)
    hub = LoopbackHub(weights.read_bytes(), "/studio/tiny-clip/resolve/main/open_clip_model.safetensors")
    for name in ("TESSERA_OFFLINE", "HF_HUB_OFFLINE", "TESSERA_CLIP_WEIGHTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_ENDPOINT", hub.endpoint)
    monkeypatch.setenv("TESSERA_CLIP_REPO", "studio/tiny-clip")
    monkeypatch.setenv("TESSERA_CLIP_MODEL", NAME)
    monkeypatch.setenv("TESSERA_CLIP_CONFIG", str(config))  # (registered in the CLIP process too)
    asked = []
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Yes)
    from desktop.ui.app import create_window

    win = create_window(qapp, show_crash_dialogs=False)
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(lambda: win.lib is not None, timeout=30_000)
        _generate_two(win, qtbot)
        win.library.search.setText("damask")
        win.library.search.returnPressed.emit()
        win.library.search.returnPressed.emit()  # again, impatiently: one load, one question, one download
        qtbot.waitUntil(lambda: "(CLIP)" in win.library.header.text() and "result" in win.library.header.text(),
                        timeout=60_000)
        assert len(asked) == 1 and hub.requests == 1
        assert win.library.count() == 2  # both tiles, embedded by CLIP after the download
        downloads = [j for j in win.queue.jobs() if j.kind == "clip-download"]
        assert downloads and downloads[0].progress.total == len(hub.payload)
        assert downloads[0].progress.step == len(hub.payload)
        from desktop.library import search
        from desktop.library.clip import ClipInWorker

        # CLIP ran in its own process, one for the whole session: the window's never imports torch
        assert isinstance(search.embedder(win.lib), ClipInWorker) and win.clip_worker.starts == 1
        assert search.embedder(win.lib).model_id.startswith(f"open_clip:{NAME}:")
    finally:
        win.close()
        win.shutdown()
        win.crash_reporter.uninstall()
        hub.close()


def test_dropping_files_imports_them(window, qtbot, tmp_path, shared_textures):
    import shutil

    shutil.copy(shared_textures / "seamless" / "moss-plants.jpg", tmp_path / "moss.jpg")
    (tmp_path / "junk.png").write_text("not an image")
    from PySide6.QtCore import QMimeData, QPoint, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path))])
    event = QDropEvent(QPoint(5, 5), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier)
    window.library.dropEvent(event)
    qtbot.waitUntil(lambda: window.lib.count() == 1 and window.library.count() == 1, timeout=30_000)
    assert (window.lib.root / "quarantine" / "junk.png.reason.txt").exists()
    model = window.library.model  # captioned by its title, not by its content-addressed file name
    assert model.data(model.index(0, 0), Qt.DisplayRole) == "moss\ndraft"
    window.library.select_row(0)
    qtbot.waitUntil(lambda: "moss · basic" in window.preview.caption.text(), timeout=10_000)
    assert "seed" not in window.preview.caption.text()
    assert [j.title for j in window.queue.jobs() if j.kind == "import"] == [f"Importing the folder {tmp_path.name}"]


def test_a_cancelled_import_shows_and_indexes_what_it_committed(window, qtbot, tmp_path, monkeypatch):
    """Cancel after the first batch: those 16 patterns appear in the grid and in the index."""
    import numpy as np
    from PIL import Image

    from desktop.jobs import JobCancelled, JobState
    from desktop.library import search

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(40):
        Image.fromarray((np.random.default_rng(i).random((32, 32, 3)) * 255).astype(np.uint8)).save(folder / f"{i}.png")

    class CancelsAtTwenty:  # the user presses Cancel while the second batch is gathered
        def __init__(self, ctx):
            self.ctx = ctx

        def progress(self, step, total=None, message=None):
            if step == 20:
                raise JobCancelled()
            self.ctx.progress(step, total, message)

    real = search.import_into
    monkeypatch.setattr(search, "import_into", lambda lib, paths, ctx=None: real(lib, paths, CancelsAtTwenty(ctx)))
    window.import_paths([str(folder)])
    qtbot.waitUntil(lambda: window.library.count() == 16, timeout=30_000)
    assert [j.state for j in window.queue.jobs() if j.kind == "import"] == [JobState.CANCELLED]
    qtbot.waitUntil(lambda: search.index(window.lib).ids() == {p["id"] for p in window.lib.list()}, timeout=30_000)


def test_space_toggles_a_large_view(window, qtbot):
    _generate_two(window, qtbot)
    window.library.select_row(0)
    window.library.list.setFocus()
    qtbot.keyClick(window.library.list, Qt.Key_Space)
    assert window.preview.canvas.repeats == 1
    qtbot.keyClick(window.library.list, Qt.Key_Space)
    assert window.preview.canvas.repeats == 3


def test_tile_actions_make_child_patterns_with_provenance(window, qtbot):
    _generate_two(window, qtbot)
    window.library.select_row(0)
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id is not None, timeout=30_000)
    parent = window.current.pattern_id
    window.tile_actions.repair_seam()
    qtbot.waitUntil(lambda: window.lib.count() == 3, timeout=30_000)
    child = max(p["id"] for p in window.lib.list())
    assert window.lib.get(child)["provenance"]["parents"] == [parent]
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id == child, timeout=30_000)
    assert [e.pattern_id for e in window.library.selected_entries()] == [child]  # the grid follows the Preview
    window.tile_actions.recolour()
    qtbot.waitUntil(lambda: window.lib.count() == 4, timeout=30_000)
    recoloured = max(p["id"] for p in window.lib.list())
    from desktop.engine.images import load_rgb
    from desktop.palettes import parse_palette

    pixels = load_rgb(window.lib.get(recoloured)["file"])
    assert {tuple(int(v) for v in c) for c in pixels.reshape(-1, 3)} <= set(
        parse_palette(window.brief.palette_spec()).colors)
    assert window.lib.get(recoloured)["provenance"]["parents"] == [child]
    # a seamless upscale of the recoloured tile (no diffusion model: a resize through the repeat)
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id == recoloured, timeout=30_000)
    window.tile_actions._from_current(upscale=2.0, strength=0.3, count=1)
    qtbot.waitUntil(lambda: window.lib.count() == 5, timeout=30_000)
    big = window.lib.get(max(p["id"] for p in window.lib.list()))
    assert tuple(big["size"]) == (128, 128) and big["provenance"]["parents"] == [recoloured]
    # the Tile menu's lighting mend makes a child too
    biggest = max(p["id"] for p in window.lib.list())
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id == biggest, timeout=30_000)
    window.tile_actions.flatten_lighting()
    qtbot.waitUntil(lambda: window.lib.count() == 6, timeout=30_000)
    evened = window.lib.get(max(p["id"] for p in window.lib.list()))
    assert evened["provenance"]["parents"] == [biggest] and tuple(evened["size"]) == (128, 128)
    qtbot.waitUntil(lambda: not window.work_in_progress(), timeout=30_000)  # its follow-up work too


def test_inspector_shows_provenance_lookalikes_and_edits_tags(window, qtbot):
    _generate_two(window, qtbot)
    window.library.select_row(0)
    qtbot.waitUntil(lambda: "Provenance" in window.inspector.view.toPlainText(), timeout=30_000)
    text = window.inspector.view.toPlainText()
    assert "polka-dots" in text and "Look-alikes" in text
    pid = window.inspector.pattern_id
    window.inspector.tags.setText("client-a, seasonal")
    window.inspector.tags.returnPressed.emit()
    qtbot.waitUntil(lambda: {"client-a", "seasonal"} <= set(window.lib.get(pid)["tags"]), timeout=30_000)
    window.inspector.tags.setText("-seasonal")
    window.inspector.tags.returnPressed.emit()
    qtbot.waitUntil(lambda: "seasonal" not in window.lib.get(pid)["tags"], timeout=30_000)


def test_first_run_offers_a_starter_pattern(window, qtbot):
    assert window.preview.starter.isVisible()
    qtbot.mouseClick(window.preview.starter, Qt.LeftButton)
    qtbot.waitUntil(lambda: window.lib.count() == 1, timeout=60_000)
    qtbot.waitUntil(lambda: window.preview.canvas.has_tile(), timeout=30_000)
    assert not window.preview.starter.isVisible()
    assert window.lib.browse()[0]["repeat"] == "half-drop"


def test_how_diffusion_runs_is_the_machines_setting(window, qtbot, isolated_home, monkeypatch):
    """Settings ▸ device, precision, images per pass and compile reach every generate request."""
    import json

    from desktop.engine import generate
    from desktop.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.paths, window.settings, None, window)
    dialog.device.setCurrentText("cpu")
    dialog.precision.setCurrentText("bfloat16")
    dialog.batch.setValue(4)
    dialog.compile_unet.setChecked(True)
    dialog.accept()
    window.settings = dialog.settings
    saved = json.loads((isolated_home / "config" / "settings.json").read_text())
    assert (saved["device"], saved["precision"], saved["batch_size"], saved["compile_unet"]) == ("cpu", "bfloat16", 4, True)
    seen = []
    monkeypatch.setattr(generate, "run_generate", lambda request, ctx, similar=None: seen.append(request) or [])
    window.generation.generate(window.brief.build_request())
    qtbot.waitUntil(lambda: bool(seen), timeout=10_000)
    machine = seen[0].machine  # this machine's part of the request, from the Settings
    assert (machine.device, machine.precision, machine.batch_size, machine.compile) == ("cpu", "bfloat16", 4, True)
    reopened = SettingsDialog(window.paths, window.settings, None, window)  # shows what was saved
    assert (reopened.device.currentText(), reopened.batch.value(), reopened.compile_unet.isChecked()) == ("cpu", 4, True)
    import dataclasses

    second_gpu = SettingsDialog(window.paths, dataclasses.replace(window.settings, device="cuda:1"), None, window)
    assert second_gpu.device.currentText() == "cuda:1"  # a device set by hand is shown and kept


def test_settings_are_saved_and_briefs_become_collections(window, qtbot, isolated_home, monkeypatch):
    import json

    from desktop.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.paths, window.settings, None, window)
    dialog.dpi.setValue(300)
    dialog.profile.setCurrentText("print-strict")
    dialog.accept()
    saved = json.loads((isolated_home / "config" / "settings.json").read_text())
    assert saved["default_dpi"] == 300 and saved["qa_profile"] == "print-strict"
    assert (saved["device"], saved["precision"], saved["batch_size"], saved["compile_unet"]) == ("auto", "auto", 1, False)

    from PySide6.QtWidgets import QInputDialog

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("Spring 27", True))
    window.briefs.save_brief_as_collection()
    qtbot.waitUntil(lambda: window.library.collection_filter.findData("Spring 27") >= 0, timeout=30_000)
    from desktop.library import collections

    assert collections.all_collections(window.lib)[0]["name"] == "Spring 27"


@pytest.mark.parametrize("repeat", ["basic", "half-drop", "half-brick", "mirror"])
def test_zoomed_out_preview_paints_the_repeat_geometry(qtbot, repeat):
    """What the canvas paints at 3x3 equals repeat_view of the tile, scaled (no gaps, right offsets)."""
    import cv2
    import numpy as np

    from desktop.repeat import repeat_view
    from desktop.ui.preview import RepeatCanvas

    rng = np.random.default_rng(3)
    tile = np.kron(rng.integers(0, 255, (8, 8, 3)), np.ones((16, 16, 1))).astype(np.uint8)  # 128x128 blocks
    canvas = RepeatCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(300, 300)
    canvas.set_tile(tile, repeat)
    canvas.set_repeats(3)
    canvas.fit()
    assert canvas.scale() < 1
    from PySide6.QtGui import QImage

    shot = canvas.grab().toImage().convertToFormat(QImage.Format_RGB888)
    w, h = shot.width(), shot.height()
    painted = np.frombuffer(shot.constBits(), np.uint8).reshape(h, shot.bytesPerLine())[:, : w * 3].reshape(h, w, 3)
    side = 2 * round(128 * canvas.scale() / 2)
    expected = cv2.resize(repeat_view(tile, repeat, 3, 3), (3 * side, 3 * side), interpolation=cv2.INTER_AREA)
    ox, oy = round(w / 2 - 3 * side / 2), round(h / 2 - 3 * side / 2)
    region = painted[oy:oy + 3 * side, ox:ox + 3 * side].astype(int)
    assert np.abs(region - expected.astype(int)).mean() < 12


def test_colour_filter_uses_colour_tags(window, qtbot):
    _generate_two(window, qtbot)
    qtbot.waitUntil(lambda: all(window.lib.get(p["id"])["tags"] for p in window.lib.list()), timeout=30_000)
    colour = window.lib.list()[0]["tags"][0]
    index = window.library.colour_filter.findData(colour)
    assert index > 0
    window.library.colour_filter.setCurrentIndex(index)
    expected = {p["id"] for p in window.lib.list(tag=colour)}
    qtbot.waitUntil(lambda: {e.pattern_id for e in window.library.model.entries} == expected, timeout=30_000)
    window.library.colour_filter.setCurrentIndex(window.library.colour_filter.findData("lavender"))
    expected = {p["id"] for p in window.lib.list(tag="lavender")}
    qtbot.waitUntil(lambda: {e.pattern_id for e in window.library.model.entries} == expected, timeout=30_000)


def test_print_size_in_the_brief_is_checked_by_qa(window, qtbot):
    brief = _small_brief(window, "checks", 64)
    brief.print_size.setValue(24.0)
    brief.dpi.setValue(150)
    request = brief.build_request()
    assert request.qa_overrides == {"print": {"dpi": 150, "print_size_in": [24.0, 24.0]}} and request.dpi == 150
    brief.request_generate()
    qtbot.waitUntil(lambda: window.lib.count() == 1, timeout=30_000)
    qa = window.lib.browse()[0]["metadata"]["qa"]
    printing = next(c for c in qa["checks"] if c["name"] == "print")
    assert printing["status"] == "fail" and "24 × 24 in" in printing["explanation"]


def test_about_names_versions_and_the_gpu_and_logs_go_to_a_file(window, isolated_home):
    from desktop import __version__
    from desktop.ui.about_dialog import AboutDialog

    dialog = AboutDialog(window.paths, str(window.library_dir),
                         {"cuda": False, "devices": [], "error": "no CUDA device"}, window)
    text = dialog.text.toPlainText()
    assert __version__ in text and "PySide6" in text and "numpy" in text
    assert "GPU" in text and "no CUDA device" in text and str(window.paths.log_file) in text
    log = isolated_home / "logs" / "tessera.log"
    assert log.is_file() and "Tessera" in log.read_text()
    import logging
    from logging.handlers import RotatingFileHandler

    assert any(isinstance(h, RotatingFileHandler) and h.baseFilename == str(log) for h in logging.getLogger().handlers)


def test_a_palette_is_saved_from_the_brief(window, qtbot):
    from desktop.palettes import load_named

    brief = window.brief
    brief.palette_edit.setText("#102030, #d0c0b0")
    brief._palette_typed("#102030, #d0c0b0")
    key = brief.save_palette_as("House colours")
    assert key == "house-colours" and brief.palette_combo.currentData() == key
    assert load_named(key).hex == ["#102030", "#d0c0b0"] and brief.palette_spec() == key


def test_an_index_an_older_look_made_is_remade_in_parts_at_start(qtbot, qapp, tmp_path, monkeypatch):
    """Opening a library whose index rows an older look made remakes them in indexing jobs of a
    few patterns each, so that other writes get their turn between them."""
    import numpy as np
    from PIL import Image

    from desktop.library import Library, search
    from desktop.library.descriptor import MODEL
    from desktop.ui.app import create_window

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(7):
        Image.fromarray((np.random.default_rng(i).random((32, 32, 3)) * 255).astype(np.uint8)).save(folder / f"{i}.png")
    root = tmp_path / "library"
    with Library(root) as lib:
        search.import_into(lib, [folder])
        old = [{**r, "model": "tessera-descriptor-v1"} for r in search.index(lib).table.to_arrow().to_pylist()]
        search.index(lib).upsert([{**r, "hashes": [0], "tags": [t for t in r["tags"].split("|") if t]} for r in old])
        assert set(search.index(lib).models().values()) == {"tessera-descriptor-v1"}
    monkeypatch.setenv("TESSERA_LIBRARY", str(root))
    from desktop.ui.library_controller import LibraryController

    monkeypatch.setattr(LibraryController, "INDEX_PART", 3)
    # the Inspector's look-alikes of the first tile shown index a little of the outbox themselves,
    # as early or as late as the lanes run: none here, so that the parts alone drain it
    monkeypatch.setattr(search, "READ_CATCH_UP", 0)
    win = create_window(qapp, show_crash_dialogs=False)
    qtbot.addWidget(win)
    try:
        win.show()
        qtbot.waitUntil(lambda: win.lib is not None, timeout=30_000)
        # the index build comes after the last part; read the index once it is done with it
        qtbot.waitUntil(lambda: any(j.kind == "build-index" and j.state.finished for j in win.queue.jobs()),
                        timeout=30_000)
        assert set(search.index(win.lib).models().values()) == {MODEL}
        assert search.index(win.lib).ids() == {p["id"] for p in win.lib.list()}
        assert len([j for j in win.queue.jobs() if j.kind == "index"]) == 3  # 3 + 3 + 1
    finally:
        win.close()
        win.shutdown()
        win.crash_reporter.uninstall()


def test_find_duplicates_lists_pairs_with_scores_and_opens_them(window, qtbot, tmp_path, monkeypatch):
    import numpy as np
    from PySide6.QtWidgets import QMessageBox

    from desktop.engine.images import save_png

    rng = np.random.default_rng(4)
    tile = np.kron(rng.integers(0, 256, (16, 16, 3)), np.ones((8, 8, 1))).astype(np.uint8)  # 128 px of blocks
    save_png(tmp_path / "blocks.png", tile)
    save_png(tmp_path / "blocks-shifted.png", np.roll(tile, (40, 24), axis=(0, 1)))
    save_png(tmp_path / "other.png", rng.integers(0, 256, (128, 128, 3)).astype(np.uint8))
    window.import_paths([str(tmp_path)])
    qtbot.waitUntil(lambda: window.lib.count() == 3, timeout=30_000)
    # the import's indexing and the grid's reload done (the reload shows a tile of its own)
    qtbot.waitUntil(lambda: all(j.state.finished for j in window.queue.jobs()) and window.library.count() == 3,
                    timeout=30_000)
    window.catalogue.show_duplicates()
    dialog = window.catalogue.duplicates_dialog
    wait_exposed(qtbot, dialog)
    qtbot.mouseClick(dialog.find_button, Qt.LeftButton)
    assert not dialog.find_button.isEnabled()  # busy while the job runs
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1 and dialog.find_button.isEnabled(), timeout=30_000)
    titles = {dialog.table.item(0, c).text().split(maxsplit=1)[1] for c in (0, 1)}
    assert titles == {"blocks", "blocks-shifted"}
    assert dialog.table.item(0, 2).text() == "copy" and float(dialog.table.item(0, 3).text()) > 0.95  # layout
    assert float(dialog.table.item(0, 4).text()) > 0.985  # descriptor
    assert "1 pair(s)" in dialog.summary.text()
    wanted = int(dialog.table.item(0, 1).text().split()[0].lstrip("#"))
    dialog.table.setCurrentCell(0, 1)  # the curation keys act on the pattern clicked: the copy on the right
    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, Qt.Key_X)
    qtbot.waitUntil(lambda: window.lib.get(wanted)["status"] == "rejected", timeout=30_000)
    assert dialog.table.item(0, 1).text().endswith("·  rejected") and "·" not in dialog.table.item(0, 0).text()
    qtbot.keyClick(dialog.table, Qt.Key_U)
    qtbot.waitUntil(lambda: window.lib.get(wanted)["status"] == "draft", timeout=30_000)
    dialog._open(0, 1)
    qtbot.waitUntil(lambda: window.current is not None and window.current.pattern_id == wanted, timeout=30_000)
    dialog.table.setFocus()
    qtbot.keyClick(dialog.table, Qt.Key_Delete)  # the copy to the trash, undoably
    qtbot.waitUntil(lambda: window.lib.get(wanted)["trashed"] is not None, timeout=30_000)
    assert dialog.table.item(0, 1).text().endswith("·  in the trash")
    dialog.request_find()
    qtbot.waitUntil(lambda: dialog.find_button.isEnabled(), timeout=30_000)
    assert dialog.table.rowCount() == 0  # the trash is not a duplicate
    window.curation.stack.undo()
    qtbot.waitUntil(lambda: window.lib.get(wanted)["trashed"] is None, timeout=30_000)
    dialog.request_find()
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1 and dialog.trash_copies.isEnabled(), timeout=30_000)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.Yes)
    older, newer = sorted(int(dialog.table.item(0, c).text().split()[0].lstrip("#")) for c in (0, 1))
    qtbot.mouseClick(dialog.trash_copies, Qt.LeftButton)  # the newer copy goes; the older, the original, stays
    qtbot.waitUntil(lambda: window.lib.get(newer)["trashed"] is not None, timeout=30_000)
    assert window.lib.get(older)["trashed"] is None
    window.curation.stack.undo()
    qtbot.waitUntil(lambda: window.lib.get(newer)["trashed"] is None, timeout=30_000)
    for spin in dialog.spins.values():  # above 1: no measure can decide
        spin.setValue(1.01)
    dialog.request_find()
    qtbot.waitUntil(lambda: dialog.find_button.isEnabled(), timeout=30_000)
    assert dialog.table.rowCount() == 0 and "No near-duplicates" in dialog.summary.text()


def test_find_duplicates_says_why_it_failed(window, qtbot, monkeypatch):
    from desktop.library import LibraryError, search

    def broken(lib, thresholds, ctx=None):
        raise LibraryError("the search index could not be read")

    monkeypatch.setattr(search, "duplicates", broken)
    window.catalogue.show_duplicates()
    window.catalogue.duplicates_dialog.request_find()
    qtbot.waitUntil(lambda: window.catalogue.duplicates_dialog.find_button.isEnabled(), timeout=30_000)
    assert "could not be read" in window.catalogue.duplicates_dialog.summary.text()


def test_quitting_over_running_work_asks_stops_it_and_waits(window, qtbot, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    from desktop.jobs import JobState

    def long_work(ctx):
        while True:
            ctx.check_cancelled()
            time.sleep(0.01)

    job = window.submit("generate", long_work, title="Generate with my-sd15 (half-drop, 768×768) ×4")
    qtbot.waitUntil(lambda: job.state is JobState.RUNNING, timeout=10_000)
    asked = []

    def answer(button):
        def question(parent, title, text, *args):
            asked.append(text)
            return button
        return question

    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Cancel))
    window.close()
    assert window.isVisible() and job.state is JobState.RUNNING  # "Cancel": keep working
    assert "Generate with my-sd15" in asked[0] and "Tiles already made are kept" in asked[0]
    monkeypatch.setattr(QMessageBox, "question", answer(QMessageBox.StandardButton.Yes))
    window.close()
    assert not window.isVisible() and job.state is JobState.CANCELLED  # stopped, and waited for
    assert len(asked) == 2


def test_stopping_a_batch_keeps_the_tiles_already_made(window, qtbot, monkeypatch):
    from desktop.engine import generate as gen

    real, calls = gen._render_checked, []

    def render(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:  # the second of five tiles: the art director presses Cancel
            window.queue.cancel(window.generation.live_job)
        return real(*args, **kwargs)

    monkeypatch.setattr(gen, "_render_checked", render)
    brief = _small_brief(window, "checks", 64)
    brief.count.setValue(5)
    brief.request_generate()
    qtbot.waitUntil(lambda: window.lib.count() == 2, timeout=30_000)
    assert window.queue.get(window.generation.live_job).state is JobState.CANCELLED and len(calls) == 2
    assert "the 2 finished tiles are kept" in window.statusBar().currentMessage()


def test_a_diffusion_tile_is_named_by_its_prompt_and_a_long_caption_never_widens_the_preview(window, qtbot):
    from desktop.engine.generate import Tile
    from desktop.library.catalogue import tile_title
    from desktop.ui.library_panel import _caption

    prompt = "art deco fans, gold leaf on deep navy, with a fine engraved linework and a pearl ground"
    meta = {"engine": "diffusion", "model": "deco-v2", "prompt": prompt, "repeat": "half-drop", "seed": 7}
    assert tile_title(meta) == "art deco fans, gold leaf on deep navy,… · seed 7"
    assert tile_title({"style": "plaid", "seed": 3}) == "Plaid (3)" and tile_title({}) == "tile"
    before = window.preview.minimumSizeHint().width()
    tile = Tile(np.full((64, 64, 3), 90, np.uint8), meta, path="/tmp/" + "0123456789abcdef" * 4 + ".png")
    window.generation._show([tile], [None])
    entry = window.library.model.entries[0]
    qtbot.waitUntil(lambda: "art deco fans" in window.preview.caption.text(), timeout=10_000)
    assert window.preview.caption.text().startswith("art deco fans, gold leaf") and "0123456789" not in \
        window.preview.caption.text()
    assert _caption(entry).startswith("art deco fans, gold l…")  # cut where the grid cell ends, and says so
    window.preview.show_tile(tile.image, "basic", "a caption far wider than any dock " * 12)
    assert window.preview.minimumSizeHint().width() == before  # cut at the edge, not pushing the Brief aside


def test_the_default_layout_shows_the_whole_brief_on_a_laptop_screen(window, qtbot):
    """At 1380 px wide the Brief's form fits its dock (no sideways scrolling): the Library's filters
    shrink rather than set a width that squeezes it."""
    from PySide6.QtWidgets import QScrollArea

    window.resize(1380, 880)
    qtbot.wait(50)
    window.reset_layout()
    qtbot.wait(100)
    area = window.brief.findChildren(QScrollArea)[0]
    assert area.viewport().width() >= area.widget().sizeHint().width()
    assert window.docks["Preview"].width() >= window.preview.minimumSizeHint().width()


@pytest.mark.timeout(600)
def test_the_window_renders_diffusion_in_its_worker_process_without_importing_torch(tmp_path):
    """A diffusion job runs in the render process: the tile lands in the library with its
    provenance, the process stays for the next job, and this process never imports torch (whose
    import would freeze the window for about 0.4 s, BENCHMARKS.md)."""
    pytest.importorskip("diffusers")
    from desktop.engine.diffusion.registry import ModelRegistry
    from tiny_sd import tiny_pipeline

    tiny_pipeline(tmp_path / "src").save_pretrained(tmp_path / "tiny-sd")
    ModelRegistry(tmp_path / "config" / "models.json").add(str(tmp_path / "tiny-sd"), name="tiny")
    last = _in_a_fresh_process(tmp_path, (
        "import time\n"
        "def wait(until, seconds=240):\n"
        "    end = time.monotonic() + seconds\n"
        "    while not until() and time.monotonic() < end:\n"
        "        app.processEvents(); time.sleep(0.01)\n"
        "    return until()\n"
        "w.show(); assert wait(lambda: w.lib is not None)\n"
        "w.brief.engine.setCurrentIndex(w.brief.engine.findData('tiny')); w.brief.prompt.setText('linen')\n"
        "seen = []\n"
        "for k in (1, 2):\n"
        "    r = w.brief.build_request().with_flat(width=64, height=64, steps=2, seed=k, repeat='half-drop')\n"
        "    w.generation.generate(r); job = w.generation.live_job\n"
        "    assert wait(lambda: w.lib.count() == k), w.brief.error.text()\n"
        "    seen.append(w.queue.get(job).snapshot().progress.message)\n"
        "row = w.lib.browse()[0]\n"
        "alive = w.renderer.alive; w.generation.unload_model()\n"
        "unloaded = (alive, w.renderer.alive, w.statusBar().currentMessage())\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'starts': w.renderer.starts, 'seen': seen,\n"
        "                  'unloaded': unloaded,\n"
        "                  'engine': row['metadata']['engine'], 'model': row['metadata']['model'], 'repeat': row['repeat']}))\n"
        "w.shutdown()\n"))
    found = json.loads(last)
    assert found["torch"] is False and found["starts"] == 1
    assert found["seen"] == ["tiny 1 of 1", "tiny 1 of 1"] and found["repeat"] == "half-drop"
    assert (found["engine"], found["model"]) == ("diffusion", "tiny")
    assert found["unloaded"] == [True, False, "The diffusion model is unloaded; its memory is given back."]


def test_patterns_dragged_out_are_copies_named_for_their_titles(window, qtbot, tmp_path):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QDropEvent

    from desktop.ui.library_panel import DRAG_FORMAT

    _generate_two(window, qtbot)
    model = window.library.model
    first = model.entries[0]
    window.lib.update(first.pattern_id, title="Gilded fans, navy")
    model.refresh(first.pattern_id, title="Gilded fans, navy")
    assert model.flags(model.index(0)) & Qt.ItemIsDragEnabled
    data = model.mimeData([model.index(0), model.index(1)])
    files = [Path(url.toLocalFile()) for url in data.urls()]
    assert files[0].name == f"{first.pattern_id:06d}-gilded-fans-navy.png"
    assert files[0].parent.parent == window.paths.cache_dir / "drag"
    assert files[0].read_bytes() == Path(first.path).read_bytes() and files[0] != Path(first.path)
    assert bytes(data.data(DRAG_FORMAT)).decode() == f"{first.pattern_id},{model.entries[1].pattern_id}"

    from PySide6.QtCore import QMimeData, QUrl

    from desktop.ui.library_panel import LibraryPanel

    panel = LibraryPanel()  # a panel of its own: what it asks to import goes nowhere
    qtbot.addWidget(panel)
    asked = []
    panel.importRequested.connect(asked.append)
    panel.dropEvent(QDropEvent(QPointF(5, 5), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier))
    assert asked == []  # the grid's own patterns dropped back on it: nothing to import
    outside = QMimeData()
    outside.setUrls([QUrl.fromLocalFile(str(tmp_path / "scan.png"))])
    panel.dropEvent(QDropEvent(QPointF(5, 5), Qt.CopyAction, outside, Qt.LeftButton, Qt.NoModifier))
    assert asked == [[str(tmp_path / "scan.png")]]


def test_a_drop_of_a_file_gone_and_a_broken_one_says_why_without_a_dialog(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent
    from PySide6.QtWidgets import QMessageBox

    for name in ("information", "warning", "critical", "question"):
        monkeypatch.setattr(QMessageBox, name, lambda *a, **k: pytest.fail("a modal dialog for a drop"))
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnope")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "moved-away.png")), QUrl.fromLocalFile(str(tmp_path / "broken.png"))])
    seen = []
    window.statusBar().messageChanged.connect(seen.append)
    window.dropEvent(QDropEvent(QPointF(10, 10), Qt.CopyAction, mime, Qt.LeftButton, Qt.NoModifier))
    qtbot.waitUntil(lambda: any("did not find" in m for m in seen), timeout=30_000)
    message = next(m for m in seen if "did not find" in m)
    assert message == ("Imported 0, skipped 0 exact duplicate(s), quarantined 1, did not find 1 (moved-away.png)"
                       " — broken.png: not a readable image (damaged, or not an image at all)")
    assert window.lib.count() == 0
    assert not (window.lib.quarantine / "moved-away.png.reason.txt").exists()


def test_the_briefs_size_fields_offer_only_sizes_the_repeat_and_model_keep_exact(window, qtbot, tmp_path):
    """With an SD 1.5 model and half-drop, the height moves in 128 px steps and a typed 576 becomes
    640 when the field is left; half-brick does the same for the width; basic takes multiples of 8."""
    folder = tmp_path / "sd15"
    for part, channels in (("unet", [320, 640, 1280, 1280]), ("vae", [128, 256, 512, 512])):
        (folder / part).mkdir(parents=True)
        (folder / part / "config.json").write_text(json.dumps({"block_out_channels": channels}))
    brief = window.brief
    brief.set_models([("house", "SD 1.5", "sd15", str(folder))])
    brief.engine.setCurrentIndex(brief.engine.findData("house"))
    brief.repeat.setCurrentIndex(brief.repeat.findData("half-drop"))
    assert (brief.width_spin.step, brief.height_spin.step) == (8, 128)
    assert brief.height_spin.value() % 128 == 0 and brief.height_spin.singleStep() == 128
    brief.height_spin.setFocus()
    brief.height_spin.lineEdit().selectAll()
    qtbot.keyClicks(brief.height_spin.lineEdit(), "576")
    qtbot.keyClick(brief.height_spin, Qt.Key_Tab)  # leaving the field puts a size between two on the nearest
    assert brief.height_spin.value() == 640
    brief.repeat.setCurrentIndex(brief.repeat.findData("half-brick"))
    assert (brief.width_spin.step, brief.height_spin.step) == (128, 8)
    brief.width_spin.setValue(700)  # set from elsewhere (an opened brief): put on a valid size once the steps change
    brief.repeat.setCurrentIndex(brief.repeat.findData("basic"))
    assert brief.width_spin.value() == 704  # the nearest multiple of 8
    brief.repeat.setCurrentIndex(brief.repeat.findData("half-brick"))
    assert brief.width_spin.value() == 768  # of 128
    brief.engine.setCurrentIndex(brief.engine.findData("procedural"))
    assert (brief.width_spin.step, brief.height_spin.step) == (2, 1)  # half a tile is a whole pixel


def test_the_window_and_the_cli_start_from_the_same_palette(window):
    from desktop.engine.generate import GenerateRequest
    from desktop.palettes import DEFAULT_PALETTE

    assert window.brief.palette_spec() == DEFAULT_PALETTE == GenerateRequest().palette


def test_qts_system_libraries_are_found_on_ld_library_path_and_installed_where_allowed(tmp_path, monkeypatch, capsys):
    from desktop import syslibs

    display = {"DISPLAY": ":0"}
    nothing = lambda name: None  # noqa: E731 (the linker's cache knows none of them)
    assert syslibs.missing_packages(display, nothing) == list(syslibs.QT_X11_LIBRARIES.values())
    for lib in syslibs.QT_X11_LIBRARIES:
        (tmp_path / f"lib{lib}.so.0").write_bytes(b"")
    assert syslibs.missing_packages({**display, "LD_LIBRARY_PATH": f"/nowhere:{tmp_path}"}, nothing) == []
    assert syslibs.main([], env={"QT_QPA_PLATFORM": "offscreen"}, find=nothing) == 0  # no X11 here: nothing to do

    ran = []

    class Done:
        def __init__(self, code):
            self.returncode = code

    installed = set()

    def run(command, **kw):
        ran.append(command)
        if "install" in command:
            installed.update(syslibs.QT_X11_LIBRARIES)
        return Done(0)

    monkeypatch.setattr(syslibs, "may_install", lambda run: True)
    assert syslibs.main(["--install"], run=run, env=display, find=lambda name: "x" if name in installed else None) == 0
    assert ran[0][-6:] == list(syslibs.QT_X11_LIBRARIES.values()) and "install" in ran[0]
    assert "installing Qt's X11 libraries" in capsys.readouterr().err
    monkeypatch.setattr(syslibs, "may_install", lambda run: False)  # a sudo that asks: say the command
    assert syslibs.main(["--install"], run=run, env=display, find=nothing) == 2
    assert "Install them with: sudo " in (err := capsys.readouterr().err)
    assert "apt-get install -y --no-install-recommends libxcb-cursor0 libxcb-icccm4" in err
    assert syslibs.install_command(["libxcb-cursor0"], root=False)[:2] == ["sudo", "-n"]
    assert syslibs.install_command(["libxcb-cursor0"], root=True)[0] == "apt-get"


def test_a_dialog_opened_when_a_job_ends_does_not_hold_the_next_jobs_delivery(window, qtbot):
    """A job's end reaches the window from the event loop, not inside the bridge's poll: a modal that an
    on_done opens (its own event loop) still sees the next job end, and the bridge keeps polling."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QDialog

    from desktop.jobs import Lane

    seen = []

    def opened(snap):
        dialog = QDialog(window)
        dialog.setWindowTitle("opened by a job's end")

        def close_once_the_next_job_is_in():
            if "second done" in seen:
                dialog.accept()
            else:
                QTimer.singleShot(50, close_once_the_next_job_is_in)

        QTimer.singleShot(50, close_once_the_next_job_is_in)
        # a job that ends while the dialog is open (submitted here: the test's own wait is under this call)
        window.submit("second", lambda ctx: 2, lane=Lane.IO, on_done=lambda snap: seen.append("second done"))
        seen.append("dialog open")
        dialog.exec()
        seen.append("dialog closed")

    window.submit("first", lambda ctx: 1, lane=Lane.IO, on_done=opened)
    qtbot.waitUntil(lambda: "dialog closed" in seen, timeout=10_000)
    assert seen == ["dialog open", "second done", "dialog closed"]
