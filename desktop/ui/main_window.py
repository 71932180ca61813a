"""The main window: Brief, Preview, Library, Inspector and Jobs docks, menus and shortcuts."""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox, QWidget

from desktop.config import Paths, Settings, library_dir
from desktop.errors import UserError
from desktop.jobs import JobEvent, JobQueue, JobSnapshot, JobState, Lane
from desktop.ui.about_dialog import AboutDialog, gpu_text
from desktop.ui.bridge import JobBridge
from desktop.ui.brief_panel import BriefPanel
from desktop.ui.inspector_panel import InspectorPanel
from desktop.ui.jobs_panel import JobsPanel
from desktop.ui.library_panel import LibraryPanel, TileEntry, entries_for_hits, read_library, scan_folder
from desktop.ui.preview import PreviewPanel
from desktop.ui.search_controller import LatestRequest, SearchController
from desktop.worker_process import WorkerProcess

log = logging.getLogger("tessera.ui")
STATE_VERSION = 1


FIRST_PAINT_WAIT_MS = 1500  # the longest the background start waits for the first paint

# jobs not worth asking about before quitting: the window's own quick reads and edits, its
# background upkeep of the index (which the next start takes up again from the outbox), and work
# whose stop loses nothing (a model half-hashed is not registered; a stopped publish stays queued)
QUIET_JOBS = frozenset({"load", "read-library", "search", "probe-gpu", "qa", "extract-palette", "open-library",
                        "scan-folder", "update", "collection", "store", "reconcile", "index", "build-index", "clip",
                        "add-model", "gather", "publish", "publish-queue", "trash", "compare", "mockup",
                        "mockup-save"})
# jobs let through to the end when quitting: a tile or an edit on its way into the library (and
# the trash being emptied, which was asked for, and is asked about)
FINISH_JOBS = frozenset({"store", "update", "collection", "publish-queue", "trash", "empty-trash"})
# what the render process imports when it is warmed: what a first diffusion job would wait for
RENDER_IMPORTS = ("torch", "diffusers", "desktop.engine.generate", "desktop.engine.diffusion.engine")
BRIEF_BEFORE = "(the Brief before the last one opened)"  # Open a saved brief…: the way back


class MainWindow(QMainWindow):
    def __init__(self, queue: JobQueue, paths: Paths, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.queue = queue
        self.paths = paths
        self.settings = settings
        self.library_dir = library_dir(paths, settings)
        self.tiles_dir = self.library_dir / "tiles"
        self.devices: dict[str, Any] | None = None
        self.lib = None  # the catalogue, opened off the start-up path
        self._on_done: dict[int, Callable[[JobSnapshot], None]] = {}
        self._on_failed: dict[int, Callable[[str], None]] = {}
        self._duplicates = None  # the Find duplicates dialog, made on first use
        self._models = None  # the Models dialog, likewise
        self._closing = False
        self._brief_before = None  # the GenerateRequest an opened saved brief replaced
        self.stuck = False  # set at shutdown when a job could not be stopped in time
        self._live_job: int | None = None
        self.current: TileEntry | None = None
        self.show_asks = 0  # how many times a pattern was asked for: a late answer to an older ask is dropped
        # diffusion renders in a worker process (started on first use): torch's import and a CUDA
        # crash stay out of this one, and a model stays loaded there between jobs
        self.renderer = WorkerProcess()
        self.clip_worker = WorkerProcess(name="tessera-clip", label="the CLIP process")  # text search's model
        self.setWindowTitle("Tessera")
        self.resize(1440, 900)
        self.setDockNestingEnabled(True)

        self.brief = BriefPanel()
        self.preview = PreviewPanel()
        self.library = LibraryPanel()
        self.library.set_folder(self.tiles_dir)
        self.library.model.drag_folder = self.paths.cache_dir / "drag"  # copies dragged out, named for titles
        self.inspector = InspectorPanel()
        self.jobs = JobsPanel(queue)
        self.docks: dict[str, QDockWidget] = {}
        # Every panel is a dock, so the whole layout can be rearranged (and is saved).
        self._add_dock("Brief", self.brief, Qt.LeftDockWidgetArea)
        self._add_dock("Preview", self.preview, Qt.LeftDockWidgetArea)
        self._add_dock("Library", self.library, Qt.RightDockWidgetArea)
        self._add_dock("Inspector", self.inspector, Qt.RightDockWidgetArea)
        self._add_dock("Jobs", self.jobs, Qt.BottomDockWidgetArea)
        self.splitDockWidget(self.docks["Brief"], self.docks["Preview"], Qt.Horizontal)
        self.splitDockWidget(self.docks["Library"], self.docks["Inspector"], Qt.Vertical)
        self.grid = LatestRequest()  # the library read or search whose answer may fill the grid
        self.search = SearchController(self.submit, self._running, lambda: self.lib, self.library, self.grid,
                                       self.paths.data_dir, self.clip_worker, self.reload_library, self)

        self.bridge = JobBridge(queue, parent=self)
        self.bridge.jobUpdated.connect(self._job_updated)
        self.bridge.jobEvent.connect(self._job_event)
        self.brief.generateRequested.connect(self.generate)
        self.brief.extractPaletteRequested.connect(self.extract_palette)
        self.brief.saveCollectionRequested.connect(self.save_brief_as_collection)
        self.brief.manageModelsRequested.connect(self.show_models)
        self.brief.engine.currentIndexChanged.connect(lambda index: self._warm_renderer())
        self.preview.starterRequested.connect(self.start_with_starter)
        self.library.tileSelected.connect(self.show_entry)
        self.library.statusRequested.connect(self.set_status)
        self.library.ratingRequested.connect(self.set_rating)
        self.library.hint.connect(lambda text: self.statusBar().showMessage(text, 5000))
        self.library.filtersChanged.connect(lambda filters: self.reload_library())
        self.library.textSearchRequested.connect(self.search.search_text)
        self.library.imageSearchRequested.connect(self.search.search_image)
        self.library.moreLikeThisRequested.connect(self.search.more_like_this)
        self.library.importRequested.connect(self.import_paths)
        self.library.largeViewRequested.connect(self.toggle_large_view)
        self.library.compareRequested.connect(self.compare_selected)
        self.inspector.tagsEdited.connect(self.edit_tags)
        self.inspector.titleEdited.connect(lambda pid, title: self.curation.rename(pid, title))
        self.library.renameRequested.connect(self._rename_selected)

        self._load_models()
        self.setAcceptDrops(True)  # what the docks do not take themselves: models, LoRAs, images
        self.status_gpu = QLabel("GPU: checking…")
        self.statusBar().addPermanentWidget(QLabel(f"Library: {self.library_dir}"))
        self.statusBar().addPermanentWidget(self.status_gpu)
        self._build_menus()
        self._ui_state = QSettings(str(paths.ui_state_file), QSettings.IniFormat)
        self.restore_state()
        QTimer.singleShot(0, self._after_show)
        # the background start (the GPU check's subprocess, the library's SQLAlchemy on the writer
        # thread) waits for the first paint, so it does not compete with it for the CPU and the GIL;
        # a window never painted (minimised, say) starts it anyway
        self._background_started = False
        self.preview.canvas.installEventFilter(self)
        QTimer.singleShot(FIRST_PAINT_WAIT_MS, self._start_background)
        from desktop.ui.curation_keys import CurationKeys

        self.curation_keys = CurationKeys(self)  # P, X, U, 0-5 and O act on the tile shown, whatever has the focus

    # -- layout -----------------------------------------------------------------------------
    def _add_dock(self, title: str, widget: QWidget, area: Qt.DockWidgetArea) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetFloatable
                         | QDockWidget.DockWidgetClosable)
        self.addDockWidget(area, dock)
        self.docks[title] = dock
        return dock

    def _action(self, menu, text: str, slot, shortcut=None, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        menu.addAction(action)
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Open image…", self.open_image, QKeySequence.Open, "View any image as a repeat")
        self.export_basic_action = self._action(
            file_menu, "Export as &basic repeat…", self.export_basic, "Ctrl+Shift+E",
            "Save the equivalent basic tile, for marketplaces that take only basic repeats")
        self.export_swatch_action = self._action(
            file_menu, "Export 3×3 &swatch…", self.export_swatch, "Ctrl+E", "Save a 3×3 repeat of the tile")
        file_menu.addSeparator()
        self._action(file_menu, "&Settings…", self.show_settings, "Ctrl+,")
        self._action(file_menu, "&Quit", self.close, QKeySequence.Quit)
        gen = bar.addMenu("&Generate")
        self.generate_action = self._action(gen, "&Generate", self.brief.request_generate, "Ctrl+Return",
                                            "Generate tiles from the brief")
        self._action(gen, "New &seed", self.brief.new_seed, "Ctrl+R")
        self._action(gen, "&Open a saved brief…", self.open_saved_brief, "Ctrl+Shift+O",
                     "Set the Brief to one a collection keeps (Save brief as collection… keeps one)")
        self._action(gen, "&Cancel all jobs", self.cancel_all, "Ctrl+.")
        gen.addSeparator()
        self._action(gen, "&Models…", self.show_models, "Ctrl+Shift+M",
                     "Add, rename and remove the diffusion models the Brief can use")
        self._action(gen, "&Unload the model", self.unload_model, None,
                     "Give back the memory (the GPU's too) of the loaded diffusion model; the next job loads it again")
        from desktop.ui.curation import Curation

        self.curation = Curation(self)  # the Edit menu: undo, redo, the trash
        library_menu = bar.addMenu("&Library")
        self._action(library_menu, "Find &duplicates…", self.show_duplicates, "Ctrl+Shift+D",
                     "Pairs of patterns that look like one design, with their scores")
        self._action(library_menu, "&Compare the selected…", self.compare_selected, None,
                     "Two to six patterns side by side, each repeating, with the curation keys (C in the grid)")
        from desktop.ui.training import LoraTraining

        self.training = LoraTraining(self, library_menu)
        from desktop.ui.publish_actions import PublishActions

        self.publishing = PublishActions(self, library_menu)
        self.curation.collection_actions(library_menu)
        view = bar.addMenu("&View")
        for dock in self.docks.values():
            view.addAction(dock.toggleViewAction())
        view.addSeparator()
        self._action(view, "&Reset layout", self.reset_layout)
        from desktop.ui.tile_actions import TileActions

        self.tile_actions = TileActions(self)
        help_menu = bar.addMenu("&Help")
        self._action(help_menu, "&Keyboard shortcuts", self.show_shortcuts, QKeySequence.HelpContents,
                     "Every key the window answers to")
        self._action(help_menu, "&About Tessera", self.show_about)
        self._action(help_menu, "Open &log folder", lambda: QDesktopServices.openUrl(
            QUrl.fromLocalFile(str(self.paths.log_dir))))

    def _default_sizes(self) -> None:
        # the Brief as wide as its form (no sideways scrolling), the Library a little narrower,
        # the Preview the rest: Qt would otherwise share out too little room in proportion
        brief = self.brief.sizeHint().width() + 28
        library = max(340, self.library.minimumSizeHint().width() + 8)
        preview = max(420, self.width() - brief - library - 24)
        self.resizeDocks([self.docks["Brief"], self.docks["Preview"], self.docks["Library"]],
                         [brief, preview, library], Qt.Horizontal)
        self.resizeDocks([self.docks["Jobs"]], [120], Qt.Vertical)
        self.resizeDocks([self.docks["Library"], self.docks["Inspector"]], [420, 300], Qt.Vertical)

    def restore_state(self) -> None:
        self._default_state = self.saveState(STATE_VERSION)
        geometry = self._ui_state.value("geometry")
        state = self._ui_state.value("state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        self._restored = isinstance(state, QByteArray) and self.restoreState(state, STATE_VERSION)
        repeats = int(self._ui_state.value("preview/repeats", 3))
        if repeats in (1, 3, 5):
            self.preview.repeat_buttons.button(repeats).setChecked(True)
            self.preview.canvas.set_repeats(repeats)
        self.library.sort.setCurrentIndex(max(0, self.library.sort.findData(self._ui_state.value("library/sort"))))

    def save_state(self) -> None:
        self._ui_state.setValue("geometry", self.saveGeometry())
        self._ui_state.setValue("state", self.saveState(STATE_VERSION))
        self._ui_state.setValue("preview/repeats", self.preview.canvas.repeats)
        self._ui_state.setValue("library/sort", self.library.sort.currentData())
        self._ui_state.sync()

    def reset_layout(self) -> None:
        self.restoreState(self._default_state, STATE_VERSION)
        for dock in self.docks.values():
            dock.show()
        self._default_sizes()

    def closeEvent(self, event) -> None:
        if not self._stop_work_before_closing():
            event.ignore()
            return
        self.save_state()
        self.bridge.stop()
        self.renderer.close()  # its work was stopped above; the processes and their memory go now
        self.clip_worker.close()
        super().closeEvent(event)

    def work_in_progress(self) -> list[JobSnapshot]:
        """Unfinished jobs worth asking about before quitting: the work someone asked for."""
        return [snap for snap in self.queue.jobs() if not snap.state.finished and snap.kind not in QUIET_JOBS]

    def _stop_work_before_closing(self) -> bool:
        """Ask before quitting over running work; stop it and wait. False: keep working."""
        busy = self.work_in_progress()
        if not busy:
            return True
        titles = "\n".join(f"• {snap.title or snap.kind}" for snap in busy[:6])
        more = f"\n… and {len(busy) - 6} more" if len(busy) > 6 else ""
        answer = QMessageBox.question(
            self, "Quit Tessera?",
            f"{'This job is' if len(busy) == 1 else f'These {len(busy)} jobs are'} still running:\n{titles}{more}\n\n"
            "Stop and quit? Tiles already made are kept.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        for snap in busy:
            if snap.kind not in FINISH_JOBS:  # a tile on its way into the library is let through
                self.queue.cancel(snap.id)
        self._wait_for_jobs()
        return True

    def _unfinished_work(self) -> bool:
        """Asked-for work still stopping, or what it left to put in the library."""
        return bool(self.work_in_progress()) or any(
            not snap.state.finished and snap.kind in FINISH_JOBS for snap in self.queue.jobs())

    def _wait_for_jobs(self, seconds: float = 60.0) -> None:
        """Wait (with a progress dialog) for the stopped jobs to end; 'Quit now' stops waiting."""
        import time

        from PySide6.QtWidgets import QApplication, QProgressDialog

        dialog = QProgressDialog("Stopping the running jobs…", "Quit now", 0, 0, self)
        dialog.setWindowTitle("Tessera")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)
        deadline = time.monotonic() + seconds
        try:
            while self._unfinished_work() and time.monotonic() < deadline and not dialog.wasCanceled():
                QApplication.processEvents()
                time.sleep(0.02)
        finally:
            dialog.close()

    # -- start-up work, off the start-up path ---------------------------------------------------
    def _after_show(self) -> None:
        if not self._restored:
            self._default_sizes()

    def eventFilter(self, watched, event) -> bool:
        if watched is self.preview.canvas and event.type() == QEvent.Paint and not self._background_started:
            QTimer.singleShot(0, self._start_background)  # once this paint is done
        return super().eventFilter(watched, event)

    def _start_background(self) -> None:
        from desktop.hardware import probe_devices_subprocess

        if self._background_started or self._closing:
            return
        self._background_started = True
        self.preview.canvas.removeEventFilter(self)
        if os.environ.get("TESSERA_GPU_PROBE", "on").lower() in ("off", "0", "no"):
            self._gpu_known(None)
        else:
            self.submit("probe-gpu", lambda ctx: probe_devices_subprocess(), lane=Lane.IO,
                        title="Checking for a GPU", on_done=self._gpu_known)
        root = self.library_dir
        self.submit("open-library", lambda ctx: _open_library(root), lane=Lane.WRITER,
                    title="Opening the library", on_done=self._library_opened)
        self._warm_renderer()

    def _warm_renderer(self) -> None:
        """With a diffusion model in the Brief, start the render process and its imports now (after
        the first paint), so the first Generate does not wait for them."""
        if self._background_started and not self._closing and self.brief.engine.currentData() != "procedural":
            # (off the UI thread: starting a process takes some milliseconds)
            threading.Thread(target=self.renderer.warm, args=(RENDER_IMPORTS,), name="warm-renderer",
                             daemon=True).start()

    def unload_model(self) -> None:
        if not self.renderer.alive:
            self.statusBar().showMessage("No diffusion model is loaded.", 4000)
        elif self.renderer.unload():
            self.statusBar().showMessage("The diffusion model is unloaded; its memory is given back.", 5000)
        else:
            self.statusBar().showMessage("A render is running: stop it first (Ctrl+.), then unload.", 6000)

    def _library_opened(self, snap: JobSnapshot) -> None:
        lib, problem = snap.result
        if lib is None:
            # keep working from the tiles folder; say why, once, in words
            self.statusBar().showMessage(f"Library not available: {problem}", 15_000)
            QMessageBox.warning(self, "Library not available",
                                f"{problem}\n\nTiles you generate are saved to {self.tiles_dir}.")
            folder = self.tiles_dir
            self.submit("scan-folder", lambda ctx: scan_folder(folder, ctx=ctx), lane=Lane.IO,
                        title="Reading the tiles folder", on_done=self._library_scanned)
            return
        self.lib = lib
        self.library.set_folder(lib.root)

        def reconcile(ctx):
            from desktop.library import search

            search.warm_up(lib)
            if lib.count() == 0:
                return {}  # a new library: nothing to check
            return search.reconcile(lib, build_index=False, ctx=ctx, embed=False)  # queues; the drain indexes

        def build_index() -> None:
            # a large library's ANN index takes minutes to build: off the writer lane, so curation goes
            # on meanwhile (searches scan exactly until it is there); for a small one it returns at once
            self.submit("build-index", lambda ctx: _build_index(lib), lane=Lane.IO, title="Building the search index")

        def reconciled(snap: JobSnapshot) -> None:
            _settle_heap()
            self._drain_index(lib, then=build_index)

        self.submit("reconcile", reconcile, lane=Lane.WRITER, title="Checking the search index",
                    on_done=reconciled)
        self.refresh_collections()
        self.reload_library(first=True)
        self.publishing.sync(quiet=True)  # what was queued while offline goes now (if there is a login)

    INDEX_PART = 2048  # patterns one indexing job takes before the writer lane serves what waits

    def _drain_index(self, lib, then=None, title: str = "Updating the search index") -> None:
        """Index what the outbox holds (after an import; a library whose index an older look made:
        all of it) in parts, each a job of its own on the writer lane, so ratings and imports are
        not held up for the minutes a large library takes; `then` runs once it is empty (not after
        a cancel, nor once another library is open)."""
        def drain(ctx):
            from desktop.library import search

            return search.embed_pending(lib, ctx=ctx, limit=self.INDEX_PART)

        def drained(snap: JobSnapshot) -> None:
            if lib is not self.lib or snap.state is not JobState.DONE:
                return
            if snap.result >= self.INDEX_PART:
                self._drain_index(lib, then, title)
            elif then is not None:
                then()

        self.submit("index", drain, lane=Lane.WRITER, title=title, on_done=drained)

    def shutdown(self) -> None:
        """Stop the jobs, then close the library (in that order: a writer may be mid-transaction)."""
        self._closing = True
        self.curation_keys.remove()
        self.bridge.stop()  # no job callbacks after this point
        self._on_done.clear()
        self._on_failed.clear()
        self.renderer.close()  # a render stops at its next step, or its process is ended
        self.stuck = not self.queue.shutdown(timeout=5.0)
        self.clip_worker.close()  # (after the writer: a tile's store may still be embedding through it)
        if self.stuck:  # a job still inside a long computation: the process leaves without it (see app.main)
            log.warning("a job was still running at exit: %s", ", ".join(self.queue.busy_threads()))
        if self.lib is not None and not self.queue.writer_busy():
            self.lib.close()  # (a writer still running keeps its transaction: SQLite finishes or rolls it back)
            self.lib = None

    def _gpu_known(self, snap: JobSnapshot | None) -> None:
        self.devices = snap.result if snap is not None else {
            "cuda": False, "devices": [], "error": "not checked (TESSERA_GPU_PROBE=off)"}
        self.status_gpu.setText("GPU: " + (gpu_text(self.devices) if self.devices.get("cuda") else "none (CPU)"))
        self.status_gpu.setToolTip(gpu_text(self.devices))

    def _library_scanned(self, snap: JobSnapshot) -> None:
        if not self.grid.holds(snap):
            return  # a newer filter or search has been asked for since: its answer wins
        entries = snap.result or []
        self.library.show_entries(entries)
        if entries and not self.preview.canvas.has_tile():
            self.library.select_first()

    # -- curation ------------------------------------------------------------------------------------
    def reload_library(self, first: bool = False) -> None:
        if self.lib is None:
            return
        lib, filters = self.lib, {k: v for k, v in self.library.filters().items() if v}
        def read(ctx):
            from desktop.library import trash

            self.library.trash_count_known.emit(trash.summary(lib)["patterns"])  # (a queued signal: any thread)
            return read_library(lib, ctx=ctx, **filters)

        self.grid.claim(self.submit("read-library", read, lane=Lane.IO, title="Reading the library",
                                    on_done=self._library_scanned))

    def set_status(self, ids: list[int], status: str) -> None:
        self.curation.set_status(ids, status)  # undoable: see desktop/ui/curation.py

    def set_rating(self, ids: list[int], rating: int) -> None:
        self.curation.set_rating(ids, rating)

    def _rename_selected(self) -> None:
        """F2 in the grid: the Inspector's title field, for the pattern shown."""
        self.docks["Inspector"].show()
        self.docks["Inspector"].raise_()
        self.inspector.edit_title()

    def edit_tags(self, pattern_id: int, add: list[str], remove: list[str]) -> None:
        self.curation.edit_tags(pattern_id, add, remove)

    def _running(self, job_id: int | None) -> bool:
        """Whether that job is queued or running, or has finished without its on_done having run yet
        (it is delivered through the event loop); a cleared finished job is forgotten: not running."""
        if job_id is None:
            return False
        if job_id in self._on_done:
            return True
        try:
            return not self.queue.get(job_id).snapshot().state.finished
        except KeyError:
            return False

    def import_paths(self, paths: list[str]) -> None:
        """Dropped or chosen files: models go to the Models dialog, LoRAs to the Brief's list, the
        rest (images, folders of them) into the library."""
        from desktop.engine.diffusion.families import dropped_kind

        kinds = {path: dropped_kind(Path(path)) for path in paths}
        loras = [p for p in paths if kinds[p] == "lora"]
        models = [p for p in paths if kinds[p] == "model"]
        paths = [p for p in paths if kinds[p] == "other"]
        for path in loras:
            self.brief.loras.add(path)
        if loras:
            names = ", ".join(Path(p).stem for p in loras)
            self.statusBar().showMessage(f"Added {names} to the Brief's LoRAs", 8000)
            self.docks["Brief"].raise_()
        if models:
            self.show_models()
            for path in models:
                self._models.add(path)
        if not paths:
            return
        if self.lib is None:
            QMessageBox.information(self, "No library", "Importing needs the library, which is not open.")
            return
        lib = self.lib

        def run(ctx):
            from desktop.library import search

            changes = search.import_into(lib, paths, ctx)
            return changes

        def done(snap: JobSnapshot) -> None:
            changes = snap.result
            line = changes.import_summary()
            if changes.quarantined:  # say why, not only how many
                line += f" — {changes.import_details()}"
            self.statusBar().showMessage(line[:1].upper() + line[1:], 15_000 if changes.quarantined else 10_000)
            self.reload_library()

        job = self.submit("import", run, paths, lane=Lane.WRITER, title=_import_title(paths), on_done=done)
        if job is None:
            return

        def indexed() -> None:  # a cancelled or failed import keeps its committed batches: show them too
            try:
                ended = self.queue.get(job.id).snapshot().state
            except KeyError:
                ended = None
            if ended is not JobState.DONE:
                self.reload_library()

        self._drain_index(lib, then=indexed, title="Indexing imported patterns")

    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    def toggle_large_view(self) -> None:
        canvas = self.preview.canvas
        large = canvas.repeats != 1
        canvas.set_repeats(1 if large else 3)
        self.preview.repeat_buttons.button(canvas.repeats).setChecked(True)
        canvas.fit()
        self.docks["Preview"].raise_()

    # -- jobs ---------------------------------------------------------------------------------------
    def submit(self, kind: str, fn, request=None, *, lane: Lane = Lane.COMPUTE, title: str = "",
               on_done: Callable[[JobSnapshot], None] | None = None,
               on_failed: Callable[[str], None] | None = None):
        """Start a job; `on_done(snapshot)` when it succeeds, `on_failed(message)` when it fails or is
        cancelled (for a view that waits on it)."""
        if self._closing:  # a deferred callback after shutdown (a timer, a late event): nothing to start
            return None
        job = self.queue.submit(kind, fn, request, lane=lane, title=title)
        if on_done is not None:
            self._on_done[job.id] = on_done
        if on_failed is not None:
            self._on_failed[job.id] = on_failed
        return job

    def _job_updated(self, snap: JobSnapshot) -> None:
        self.jobs.on_job_updated(snap)
        if snap.id == self._live_job and snap.preview is not None and not snap.state.finished:
            req = snap.request or {}
            doing = "Training" if snap.kind == "train-lora" else "Generating"  # a training run shows its samples
            self.preview.show_tile(snap.preview, req.get("repeat") or req.get("sample_repeat") or "basic",
                                   f"{doing}… {snap.progress.message}")

    def _job_event(self, event: JobEvent) -> None:
        handler = self._on_done.pop(event.job_id, None) if event.state.finished else None
        failed = self._on_failed.pop(event.job_id, None) if event.state.finished else None
        if event.state is JobState.DONE and handler is not None:
            handler(self.queue.get(event.job_id).snapshot())
        if event.state is JobState.CANCELLED and handler is not None:
            snap = self.queue.get(event.job_id).snapshot()
            if snap.result:  # stopped with part of its work done (the tiles made so far): keep that part
                handler(snap)
                n = len(snap.result)
                self.statusBar().showMessage(f"Stopped: the {n} finished {'tile is' if n == 1 else 'tiles are'} kept.", 8000)
        if event.state is not JobState.DONE and failed is not None:
            failed(event.message or ("Cancelled." if event.state is JobState.CANCELLED else "Failed."))
        if event.state is JobState.FAILED:
            self.statusBar().showMessage(f"Job failed: {event.message}", 10_000)
            if event.job_id == self._live_job:
                self.brief.error.setText(event.message)

    def cancel_all(self) -> None:
        for snap in self.queue.jobs():
            if not snap.state.finished:
                self.queue.cancel(snap.id)

    # -- actions --------------------------------------------------------------------------------------
    def generate(self, request) -> None:
        from desktop.engine.generate import run_generate

        # with the catalogue open, tiles go through its writer; without it, to the tiles folder
        request.out_dir = None if self.lib is not None else str(self.tiles_dir)
        # how diffusion runs is this machine's setting, not the brief's
        settings = self.settings
        request.device = "" if settings.device == "auto" else settings.device
        request.precision = "" if settings.precision == "auto" else settings.precision
        request.batch_size = max(1, int(settings.batch_size))
        request.compile = bool(settings.compile_unet)
        what = request.style if request.engine == "procedural" else f"with {request.engine}"
        title = f"Generate {what} ({request.repeat}, {request.width}×{request.height})" + (
            f" ×{request.count}" if request.count > 1 else "")
        if request.source:
            name = Path(request.source).name
            title = f"Upscale {name} ×{request.upscale:g}" if request.upscale else \
                f"Variations of {name} ({request.engine})"
        if request.engine == "procedural":
            from desktop.library.alignment import BatchSimilarity

            inner = None
            if self.lib is not None:  # QA fails a tile that is a library pattern's design (and retries)
                from desktop.library.search import LibrarySimilarity

                inner = LibrarySimilarity(self.lib, parents=[request.parent_id] if request.parent_id else [])
            similar = BatchSimilarity(inner)  # or an earlier tile's of this batch

            def run(ctx):
                return run_generate(request, ctx, similar)
        else:
            def run(ctx):
                # (with QA's near-duplicate check over the batch's own tiles, as the procedural path has)
                return self.renderer.call(ctx, "desktop.library.alignment:generate_checking_the_batch", request)
        job = self.submit("generate", run, request, title=title, on_done=self._generated)
        self._live_job = job.id if job is not None else None
        self.statusBar().showMessage("Generating…", 3000)

    def _generated(self, snap: JobSnapshot) -> None:
        tiles = snap.result or []
        if self.lib is None:
            self._show_generated(tiles, [None] * len(tiles))
            return
        lib = self.lib

        def store(ctx):
            from desktop.library.ops import store_tiles

            ids = store_tiles(lib, [(tile.image, tile.metadata) for tile in tiles]).ids
            for tile, pattern_id in zip(tiles, ids):
                if pattern_id is not None:  # read here, on the writer, not on the UI thread
                    tile.path = lib.get(pattern_id)["file"]
                    tile.metadata = dict(tile.metadata, library_id=pattern_id)
            return ids

        self.submit("store", store, lane=Lane.WRITER, title=f"Adding {len(tiles)} tile(s) to the library",
                    on_done=lambda s: self._show_generated(tiles, s.result))

    def _show_generated(self, tiles, ids) -> None:
        from desktop.library.catalogue import tile_title
        from desktop.ui.library_panel import THUMB

        entries = []
        for tile, pattern_id in zip(tiles, ids):
            small = tile.image[:: max(1, tile.image.shape[0] // THUMB), :: max(1, tile.image.shape[1] // THUMB)]
            entries.append(TileEntry(tile.path, np.ascontiguousarray(small), tile.metadata, tile.image,
                                     pattern_id=pattern_id, status="draft" if pattern_id else "",
                                     title=tile_title(tile.metadata)))  # the title the library gave it
        self.library.add_entries(entries, at_top=True)
        if entries:
            self.library.select_first()
        where = "the library" if self.lib is not None else str(self.tiles_dir)
        self.statusBar().showMessage(f"Generated {len(entries)} tile(s) into {where}", 5000)

    def show_entry(self, entry: TileEntry) -> None:
        """Show a tile; a file is decoded on the I/O lane so the window never waits for the disk.
        The grid's selection follows it (`LibraryPanel.reveal`)."""
        self.show_asks += 1
        self._wanted = entry
        self.library.reveal(entry)
        if entry.image is None and entry.path:
            from desktop.engine.images import load_rgb

            path = entry.path

            def loaded(snap: JobSnapshot) -> None:
                if self._wanted is entry:  # the user has not moved on meanwhile
                    self._show_loaded(dataclasses.replace(entry, image=snap.result))

            self.submit("load", lambda ctx: load_rgb(path), lane=Lane.IO, title=f"Opening {Path(path).name}",
                        on_done=loaded)
            return
        self._show_loaded(entry)

    def _show_loaded(self, entry: TileEntry) -> None:
        image = entry.image
        self.current = entry
        meta = entry.metadata
        self.brief.show_tile_seed((meta or {}).get("seed"))
        from desktop.library.catalogue import tile_title

        name = meta.get("title") or meta.get("style") or entry.title or (
            tile_title(meta) if meta.get("prompt") else Path(entry.path or "tile").stem[:18])
        parts = [name, meta.get("repeat", "basic"), f"{image.shape[1]}×{image.shape[0]}"]
        if meta.get("seed") is not None and "seed" not in name:
            parts.append(f"seed {meta['seed']}")
        if meta.get("dpi"):  # what one repeat measures in print
            dpi = float(meta["dpi"])
            parts.append(f"{image.shape[1] / dpi:.2f} × {image.shape[0] / dpi:.2f} in at {dpi:g} DPI")
        caption = " · ".join(parts)
        self.preview.show_tile(image, meta.get("repeat", "basic"), caption, dpi=meta.get("dpi"))
        self.inspector.show_metadata(entry.path, meta)
        self.run_qa(self.current)
        self.load_library_facts(entry)

    def load_library_facts(self, entry: TileEntry) -> None:
        """The catalogue's view of this tile (provenance, history, look-alikes), off the UI thread."""
        if self.lib is None or entry.pattern_id is None:
            return
        lib, pid = self.lib, entry.pattern_id

        def run(ctx):
            from desktop.engine.diffusion.loras import training_facts
            from desktop.library import search
            from desktop.library.publishing import publication_of

            item = lib.get(pid)
            item["publication"] = publication_of(lib, pid)
            for lora in (item.get("provenance") or {}).get("loras") or []:  # what trained each LoRA it drew with
                if isinstance(lora, dict) and lora.get("path"):
                    lora["training"] = training_facts(lora["path"])
            similar = search.similar(lib, pid, limit=5)
            for hit in similar:
                hit["title"] = lib.get(hit["id"])["title"]
            return item, similar, search.waiting(lib)

        def done(snap: JobSnapshot) -> None:
            if self.current is not None and self.current.pattern_id == pid:
                self.inspector.show_library_item(*snap.result)

        self.submit("load", run, lane=Lane.IO, title=f"Library facts for #{pid}", on_done=done)

    def run_qa(self, entry: TileEntry) -> None:
        """QA the shown tile in the background; overlays and verdicts arrive when it is done."""
        from desktop.engine.qa import run_qa
        from desktop.palettes import Palette, parse_hex

        meta = entry.metadata or {}
        colours = (meta.get("palette") or {}).get("colors") or []
        palette = Palette(tuple(parse_hex(c) for c in colours), name=meta["palette"].get("name", "")) if colours \
            else None
        repeat, image = meta.get("repeat", "basic"), entry.image
        profile = self.brief.qa_profile.currentText()
        self.inspector.show_report(None, running=True)
        name = Path(entry.path).name if entry.path else "tile"

        def done(snap: JobSnapshot) -> None:
            if self.current is entry:
                report = snap.result.as_dict()
                self.preview.set_overlays(snap.result.overlays())
                self.preview.palette_strip.set_report(
                    next((c for c in report["checks"] if c["name"] == "palette"), None))
                self.inspector.show_report(report)

        provider = None
        if self.lib is not None:
            from desktop.library.search import LibrarySimilarity

            provider = LibrarySimilarity(self.lib, entry.pattern_id, meta.get("parents", []))
        def qa(ctx):
            report = run_qa(image, repeat, palette, profile, provider=provider, source=entry.path)
            report.overlays()  # made here, on the worker: the Preview only has to show them
            return report

        self.submit("qa", qa, lane=Lane.IO, title=f"QA {name}", on_done=done)

    def extract_palette(self, path: str) -> None:
        from desktop.palettes import palette_from_image_file

        self.submit("extract-palette", lambda ctx: palette_from_image_file(path), path, lane=Lane.IO,
                    title=f"Colours from {Path(path).name}",
                    on_done=lambda snap: self.brief.set_custom_palette(snap.result))

    def open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open an image", "",
                                              "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp)")
        if not path:
            return
        from desktop.engine.images import load_rgb, read_metadata
        from desktop.errors import UserError

        try:
            image = load_rgb(path)
            meta = read_metadata(path) if path.lower().endswith(".png") else {}
        except UserError as exc:
            QMessageBox.warning(self, "Cannot open image", str(exc))
            return
        self.show_entry(TileEntry(path, image[::8, ::8], meta, image))

    def _export(self, what: str, make) -> None:
        if self.current is None or self.current.image is None:
            QMessageBox.information(self, "Nothing to export", "Select or generate a tile first.")
            return
        stem = Path(self.current.path).stem if self.current.path else "tile"
        path, _ = QFileDialog.getSaveFileName(self, f"Export {what}", f"{stem}-{what}.png", "PNG (*.png)")
        if not path:
            return
        from desktop.engine.images import save_png

        meta = dict(self.current.metadata, exported_as=what)
        try:
            save_png(path, make(self.current.image, meta.get("repeat", "basic")), meta)
        except OSError as exc:
            QMessageBox.warning(self, "Export failed", f"Could not write {path}: {exc.strerror or exc}")
            return
        self.statusBar().showMessage(f"Exported {path}", 5000)

    def export_basic(self) -> None:
        from desktop.repeat import to_basic

        self._export("basic", to_basic)

    def export_swatch(self) -> None:
        from desktop.repeat import repeat_view

        self._export("swatch", lambda image, repeat: repeat_view(image, repeat, 3, 3))

    def _load_models(self) -> None:
        """Registered diffusion models into the Brief's engine list (a small JSON file; no torch)."""
        from desktop.engine.diffusion.registry import ModelRegistry, label
        from desktop.errors import UserError

        try:
            entries = ModelRegistry(self.paths.config_dir / "models.json").entries()
        except UserError as exc:
            self.statusBar().showMessage(str(exc), 10_000)
            entries = []
        self.brief.set_models([(e.name, label(e), e.family, e.location) for e in entries])

    def show_models(self) -> None:
        if self._models is None:
            from desktop.ui.models_dialog import ModelsDialog

            self._models = ModelsDialog(self)
            self._models.renamed.connect(self._model_renamed)
            self._models.changed.connect(self._load_models)
        self._models.reload()
        _bring_up(self._models)

    def _model_renamed(self, old: str, new: str) -> None:
        """The Brief keeps drawing with a model it had chosen, under its new name."""
        engine = self.brief.engine
        chosen = engine.currentData() == old
        self._load_models()
        if chosen:
            engine.setCurrentIndex(max(0, engine.findData(new)))

    def show_settings(self) -> None:
        from desktop.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.paths, self.settings, self.devices, self)
        if dialog.exec():
            self.settings = dialog.settings
            self.brief.qa_profile.setCurrentText(self.settings.qa_profile)
            self.statusBar().showMessage(f"Settings saved to {self.paths.settings_file}", 5000)

    def start_with_starter(self) -> None:
        """First run: a starter brief, generated in one click."""
        brief = self.brief
        brief.set_style("toss")
        index = brief.palette_combo.findData("botanical")
        if index >= 0:
            brief.palette_combo.setCurrentIndex(index)
        brief.repeat.setCurrentIndex(brief.repeat.findData("half-drop"))
        brief.width_spin.setValue(1024)
        brief.height_spin.setValue(1024)
        brief.request_generate()

    def save_brief_as_collection(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        if self.lib is None:
            QMessageBox.information(self, "No library", "Collections live in the library, which is not open.")
            return
        name, ok = QInputDialog.getText(self, "Save brief as collection", "Collection name:")
        if not ok or not name.strip():
            return
        from desktop.engine.briefs import brief_of

        lib, brief = self.lib, brief_of(self.brief.build_request())

        def write(ctx):
            from desktop.library import collections

            collections.create(lib, name.strip(), brief)
            return [c["name"] for c in collections.all_collections(lib)]

        self.submit("collection", write, lane=Lane.WRITER, title=f"Saving collection {name}",
                    on_done=lambda snap: self.library.set_collections(snap.result))

    def open_saved_brief(self) -> None:
        """Set the Brief to a collection's saved brief; the Brief it replaces is offered next time."""
        from PySide6.QtWidgets import QInputDialog

        from desktop.engine.briefs import request_of
        from desktop.library import LibraryError, collections

        if self.lib is None:
            QMessageBox.information(self, "No library", "Saved briefs live in the library, which is not open.")
            return
        names = [c["name"] for c in collections.all_collections(self.lib) if c["has_brief"]]  # a small query
        if self._brief_before is not None:
            names.insert(0, BRIEF_BEFORE)
        if not names:
            QMessageBox.information(self, "No saved briefs", "No collection keeps a brief yet: "
                                    "Save brief as collection… (under the Brief) keeps the one you have.")
            return
        name, ok = QInputDialog.getItem(self, "Open a saved brief", "The brief of:", names, 0, False)
        if not ok:
            return
        before = self.brief.build_request()
        try:
            request = self._brief_before if name == BRIEF_BEFORE else request_of(collections.saved_brief(self.lib, name))
            missed = self.brief.apply_request(request)
        except (UserError, LibraryError) as exc:
            QMessageBox.warning(self, "Open a saved brief", str(exc))
            return
        self._brief_before = before
        said = f"The Brief is now {'the one before' if name == BRIEF_BEFORE else name + chr(8217) + 's'}"
        self.statusBar().showMessage(said + (f" ({'; '.join(missed)})" if missed else ""), 10000)

    def refresh_collections(self) -> None:
        """The Library dock's collection filter, read again (a small query)."""
        if self.lib is not None:
            from desktop.library import collections

            self.library.set_collections([c["name"] for c in collections.all_collections(self.lib)])

    def show_duplicates(self) -> None:
        if self._duplicates is None:
            from desktop.ui.duplicates_dialog import DuplicatesDialog

            self._duplicates = DuplicatesDialog(self)
            self._duplicates.find_requested.connect(self.find_duplicates)
            self._duplicates.open_requested.connect(self.open_pattern)
            self._duplicates.status_requested.connect(self.set_status)
            self._duplicates.trash_requested.connect(self.curation.trash)
            self._duplicates.trash_copies_requested.connect(self.trash_extra_copies)
        _bring_up(self._duplicates)

    def find_duplicates(self, thresholds) -> None:
        dialog = self._duplicates
        if self.lib is None:
            dialog.show_failure("Finding duplicates needs the library, which is not open.")
            return
        lib = self.lib

        def run(ctx):
            from desktop.library import search
            from desktop.ui.duplicates_dialog import SHOWN

            ctx.progress(0, 0, "Comparing every pattern")
            pairs = search.duplicates(lib, thresholds, ctx)  # indexes what is queued first: a writer's job
            patterns = {}
            for pid in {p[k] for p in pairs[:SHOWN] for k in ("a", "b")}:
                try:  # the grid's own entries: their thumbnails come from the same cache
                    entry = entries_for_hits(lib, [{"id": pid, "similarity": None}])[0]
                    patterns[pid] = (entry.title, entry.thumb)
                except OSError:  # a missing file is `check`'s to report; the pair is still listed
                    patterns[pid] = (lib.get(pid)["title"], None)
            return pairs, patterns

        self.submit("duplicates", run, lane=Lane.WRITER, title="Finding duplicates",
                    on_done=lambda snap: dialog.show_pairs(*snap.result), on_failed=dialog.show_failure)

    def compare_selected(self) -> None:
        """Library ▸ Compare the selected (C in the grid): its pixels are read on the I/O lane."""
        from desktop.ui.compare_dialog import MOST, CompareDialog

        entries = [e for e in self.library.selected_entries() if e.pattern_id is not None]
        if len(entries) < 2:
            self.statusBar().showMessage("Select two to six patterns to compare them.", 4000)
            return
        dialog = CompareDialog(entries, self)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.status_requested.connect(self.set_status)
        dialog.rating_requested.connect(self.set_rating)
        dialog.trash_requested.connect(self.curation.trash)
        dialog.open_requested.connect(self.open_pattern)
        if len(entries) > MOST:
            self.statusBar().showMessage(f"Comparing the first {MOST} of the {len(entries)} selected.", 5000)
        shown = entries[:MOST]

        def run(ctx):
            from desktop.engine.images import ImageReadError, load_rgb

            out = []
            for k, entry in enumerate(shown):
                ctx.progress(k, len(shown), f"Reading #{entry.pattern_id}")
                try:
                    image = entry.image if entry.image is not None else load_rgb(entry.path)
                except (ImageReadError, OSError) as exc:  # a file gone or damaged: `check` says more
                    out.append((entry.pattern_id, None, str(exc)))
                    continue
                out.append((entry.pattern_id, image, (entry.metadata or {}).get("repeat", "basic")))
            return out

        def done(snap: JobSnapshot) -> None:
            from shiboken6 import isValid

            if isValid(dialog):
                for pid, image, repeat in snap.result:
                    if image is None:
                        dialog.set_unreadable(pid, repeat)
                    else:
                        dialog.set_image(pid, image, repeat)

        self.submit("compare", run, lane=Lane.IO, title=f"Comparing {len(shown)} patterns", on_done=done)
        _bring_up(dialog)

    def trash_extra_copies(self, pairs: list) -> None:
        """Find duplicates ▸ Trash the extra copies: all but one of each copied design, after asking."""
        if self.lib is None:
            return
        from desktop.library.dedupe import redundant_copies

        choice = redundant_copies(self.lib, pairs)  # a read of their status and rating
        if not choice["trash"]:
            self.statusBar().showMessage("No extra copies to put aside (the published ones stay).", 5000)
            return
        answer = QMessageBox.question(
            self._duplicates, "Trash the extra copies",
            f"Move {len(choice['trash'])} extra cop{'y' if len(choice['trash']) == 1 else 'ies'} to the trash, keeping "
            f"one of each of {len(choice['keep'])} design(s): the published, approved or highest rated, else the "
            "oldest?\n\nRecoloured pairs are left alone. Ctrl+Z brings them back.",
            QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Yes)
        if answer == QMessageBox.Yes:
            self.curation.trash(choice["trash"])
            self._duplicates.mark_trashed(choice["trash"])

    def open_pattern(self, pattern_id: int) -> None:
        """Show a catalogue pattern in the Preview and Inspector."""
        if self.lib is None:
            return
        lib = self.lib

        self.show_asks += 1
        asked = self.show_asks

        def run(ctx):
            return entries_for_hits(lib, [{"id": pattern_id, "similarity": None}])[0]

        def found(snap: JobSnapshot) -> None:
            if self.show_asks == asked:  # nothing else has been asked for meanwhile
                self.show_entry(snap.result)

        self.submit("load", run, lane=Lane.IO, title=f"Opening #{pattern_id}", on_done=found)

    def show_shortcuts(self) -> None:
        from desktop.ui.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(self).exec()

    def show_about(self) -> None:
        AboutDialog(self.paths, str(self.library_dir), self.devices, self).exec()


def _bring_up(dialog) -> None:
    """Show a modeless dialog, in front and with the focus."""
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()


def _build_index(lib) -> bool:
    from desktop.library import search

    try:
        return search.index(lib).ensure_ann()
    except Exception as exc:  # a write that raced the build: the next start builds it again
        logging.getLogger(__name__).warning("search index not built this time: %s", exc)
        return False


def _settle_heap() -> None:
    """Move everything alive after start-up (modules, the library, LanceDB) out of the collector's
    view: a full collection then walks only what was made since, so it no longer holds the
    interpreter lock for 100-200 ms in a worker while the window waits."""
    import gc

    gc.freeze()  # no collect first: a full collection here would hold the UI thread itself


def _open_library(root):
    """(Library, None) or (None, the reason in words). Runs on the writer lane."""
    from desktop.errors import UserError
    from desktop.library import Library

    try:
        return Library(root), None
    except UserError as exc:
        return None, str(exc)


def _import_title(paths: list[str]) -> str:
    """'Importing moss.jpg', 'Importing the folder textures', or 'Importing 3 files and folders'."""
    if len(paths) == 1:
        path = Path(paths[0])
        return f"Importing the folder {path.name}" if path.is_dir() else f"Importing {path.name}"
    return f"Importing {len(paths)} files and folders"
