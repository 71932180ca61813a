"""The main window: the Brief, Preview, Library, Inspector and Jobs docks, their layout, the menus
(built from actions.py), and the window's lifecycle: start-up work after the first paint, jobs'
callbacks, and stopping work before quitting.

The work itself is in controllers that get what they need, not the window: `catalogue`
(library_controller: opening, the grid, imports, and every library operation with its
broadcast), `tile_view` (the tile shown, its QA and facts), `generation`, `briefs`, `search`,
`curation` (undo), and the Tile menu's, publishing's and training's handlers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow, QMessageBox, QWidget

from desktop.config import Paths, Settings, library_dir
from desktop.jobs import JobEvent, JobQueue, JobSnapshot, JobState, Lane
from desktop.ui import actions
from desktop.ui.about_dialog import AboutDialog, gpu_text
from desktop.ui.bridge import JobBridge
from desktop.ui.brief_controller import BriefController
from desktop.ui.brief_panel import BriefPanel
from desktop.ui.curation import Curation
from desktop.ui.generation_controller import GenerationController
from desktop.ui.inspector_panel import InspectorPanel
from desktop.ui.jobs_panel import JobsPanel
from desktop.ui.library_controller import LibraryController
from desktop.ui.library_panel import LibraryPanel, TileEntry
from desktop.ui.preview import PreviewPanel
from desktop.ui.search_controller import LatestRequest, SearchController
from desktop.ui.tile_view import TileView
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


class MainWindow(QMainWindow):
    def __init__(self, queue: JobQueue, paths: Paths, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.queue = queue
        self.paths = paths
        self.settings = settings
        self.library_dir = library_dir(paths, settings)
        self.tiles_dir = self.library_dir / "tiles"
        self.devices: dict[str, Any] | None = None
        self._on_done: dict[int, Callable[[JobSnapshot], None]] = {}
        self._on_failed: dict[int, Callable[[str], None]] = {}
        self._closing = False
        self.stuck = False  # set at shutdown when a job could not be stopped in time
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
        self._make_controllers()
        self._connect()

        self.briefs.load_models()
        self.setAcceptDrops(True)  # what the docks do not take themselves: models, LoRAs, images
        self.status_gpu = QLabel("GPU: checking…")
        self.statusBar().addPermanentWidget(QLabel(f"Library: {self.library_dir}"))
        self.statusBar().addPermanentWidget(self.status_gpu)
        self.actions = actions.build(self, [dock.toggleViewAction() for dock in self.docks.values()])
        self.generate_action = self.actions["generate"]
        self.ui_state = QSettings(str(paths.ui_state_file), QSettings.IniFormat)
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

    def _make_controllers(self) -> None:
        say = self.say
        self.grid = LatestRequest()  # the library read or search whose answer may fill the grid
        self.tile_view = TileView(self.submit, lambda: self.catalogue.lib, self.brief, self.preview, self.inspector,
                                  self.library, say, self)
        self.catalogue = LibraryController(self.submit, self._running, self.library, self.grid, say, self.tiles_dir,
                                           lambda: self.tile_view.show_asks, self)
        self.catalogue.show_first = lambda: not self.preview.canvas.has_tile()
        self.catalogue.open_pattern = self.tile_view.open_pattern
        self.catalogue.opened = lambda: self.publishing.sync(quiet=True)  # what was queued offline goes now
        self.search = SearchController(self.submit, self._running, lambda: self.catalogue.lib, self.library, self.grid,
                                       self.paths.data_dir, self.clip_worker, self.catalogue.reload, self)
        self.curation = Curation(self.catalogue, say, self)  # undo, redo, the trash, collections
        self.catalogue.curation = self.curation
        self.generation = GenerationController(self.submit, self.catalogue, self.brief, self.preview, self.library,
                                               self.renderer, lambda: self.settings, self.tiles_dir, say)
        self.briefs = BriefController(self.brief, self.catalogue, self.submit, self.paths.config_dir, say, self)
        from desktop.ui.publish_actions import PublishActions
        from desktop.ui.tile_actions import TileActions
        from desktop.ui.training import LoraTraining

        self.publishing = PublishActions(self.catalogue, lambda: self.settings, say, self)
        self.tile_actions = TileActions(self)
        self.training = LoraTraining(self)

    def _connect(self) -> None:
        self.bridge = JobBridge(self.queue, parent=self)
        self.bridge.jobUpdated.connect(self._job_updated)
        # queued: each job's end is handled from the event loop, after the bridge's poll has returned, so a
        # dialog an on_done opens (a modal: its own event loop) does not hold every later job's delivery
        self.bridge.jobEvent.connect(self._job_event, Qt.ConnectionType.QueuedConnection)
        self.catalogue.library_changed.connect(self.tile_view.library_changed)  # (the grid's own subscriber is first)
        brief, library, curation = self.brief, self.library, self.curation
        brief.generateRequested.connect(self.generation.generate)
        brief.extractPaletteRequested.connect(self.briefs.extract_palette)
        brief.saveCollectionRequested.connect(self.briefs.save_brief_as_collection)
        brief.manageModelsRequested.connect(self.briefs.show_models)
        brief.engine.currentIndexChanged.connect(lambda index: self.generation.warm_renderer())
        self.preview.starterRequested.connect(self.briefs.start_with_starter)
        library.tileSelected.connect(self.tile_view.show_entry)
        library.statusRequested.connect(curation.set_status)
        library.ratingRequested.connect(curation.set_rating)
        library.trashRequested.connect(curation.trash_selected)
        library.hint.connect(lambda text: self.say(text, 5000))
        library.filtersChanged.connect(lambda filters: self.catalogue.reload())
        library.textSearchRequested.connect(self.search.search_text)
        library.imageSearchRequested.connect(self.search.search_image)
        library.moreLikeThisRequested.connect(self.search.more_like_this)
        library.importRequested.connect(self.import_paths)
        library.largeViewRequested.connect(self.toggle_large_view)
        library.compareRequested.connect(self.catalogue.compare_selected)
        library.renameRequested.connect(self._rename_selected)
        self.inspector.tagsEdited.connect(curation.edit_tags)
        self.inspector.titleEdited.connect(curation.rename)

    @property
    def lib(self):
        """The catalogue (None until it is open, or where it cannot be)."""
        return self.catalogue.lib

    @property
    def current(self) -> TileEntry | None:
        """The tile shown in the Preview."""
        return self.tile_view.current

    def say(self, text: str, ms: int = 5000) -> None:
        self.statusBar().showMessage(text, ms)

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
        geometry = self.ui_state.value("geometry")
        state = self.ui_state.value("state")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        self._restored = isinstance(state, QByteArray) and self.restoreState(state, STATE_VERSION)
        repeats = int(self.ui_state.value("preview/repeats", 3))
        if repeats in (1, 3, 5):
            self.preview.repeat_buttons.button(repeats).setChecked(True)
            self.preview.canvas.set_repeats(repeats)
        self.library.sort.setCurrentIndex(max(0, self.library.sort.findData(self.ui_state.value("library/sort"))))

    def save_state(self) -> None:
        self.ui_state.setValue("geometry", self.saveGeometry())
        self.ui_state.setValue("state", self.saveState(STATE_VERSION))
        self.ui_state.setValue("preview/repeats", self.preview.canvas.repeats)
        self.ui_state.setValue("library/sort", self.library.sort.currentData())
        self.ui_state.sync()

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
        self.generation.started = True
        self.preview.canvas.removeEventFilter(self)
        if os.environ.get("TESSERA_GPU_PROBE", "on").lower() in ("off", "0", "no"):
            self._gpu_known(None)
        else:
            self.submit("probe-gpu", lambda ctx: probe_devices_subprocess(), lane=Lane.IO,
                        title="Checking for a GPU", on_done=self._gpu_known)
        self.catalogue.open(self.library_dir)
        self.generation.warm_renderer()

    def shutdown(self) -> None:
        """Stop the jobs, then close the library (in that order: a writer may be mid-transaction)."""
        self._closing = True
        self.generation.closing = True
        self.catalogue.watch.stop()
        self.curation_keys.remove()
        self.bridge.stop()  # no job callbacks after this point
        self._on_done.clear()
        self._on_failed.clear()
        self.renderer.close()  # a render stops at its next step, or its process is ended
        self.stuck = not self.queue.shutdown(timeout=5.0)
        self.clip_worker.close()  # (after the writer: a tile's store may still be embedding through it)
        if self.stuck:  # a job still inside a long computation: the process leaves without it (see app.main)
            log.warning("a job was still running at exit: %s", ", ".join(self.queue.busy_threads()))
        if self.catalogue.lib is not None and not self.queue.writer_busy():
            self.catalogue.lib.close()  # (a writer still running keeps its transaction: SQLite finishes or rolls it back)
            self.catalogue.lib = None

    def _gpu_known(self, snap: JobSnapshot | None) -> None:
        self.devices = snap.result if snap is not None else {
            "cuda": False, "devices": [], "error": "not checked (TESSERA_GPU_PROBE=off)"}
        self.status_gpu.setText("GPU: " + (gpu_text(self.devices) if self.devices.get("cuda") else "none (CPU)"))
        self.status_gpu.setToolTip(gpu_text(self.devices))

    # -- what the window itself answers ----------------------------------------------------------
    def _rename_selected(self) -> None:
        """F2 in the grid: the Inspector's title field, for the pattern shown."""
        self.docks["Inspector"].show()
        self.docks["Inspector"].raise_()
        self.inspector.edit_title()

    def import_paths(self, paths: list[str]) -> None:
        """Dropped or chosen files: models go to the Models dialog, LoRAs to the Brief's list, the
        rest (images, folders of them) into the library."""
        from desktop.engine.diffusion.families import dropped_kind

        kinds = {path: dropped_kind(Path(path)) for path in paths}
        loras = [p for p in paths if kinds[p] == "lora"]
        models = [p for p in paths if kinds[p] == "model"]
        others = [p for p in paths if kinds[p] == "other"]
        for path in loras:
            self.brief.loras.add(path)
        if loras:
            self.say(f"Added {', '.join(Path(p).stem for p in loras)} to the Brief's LoRAs", 8000)
            self.docks["Brief"].raise_()
        if models:
            self.briefs.add_models(models)
        if others:
            self.catalogue.import_files(others)

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

    def show_settings(self) -> None:
        from desktop.ui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.paths, self.settings, self.devices, self)
        if dialog.exec():
            self.settings = dialog.settings
            self.brief.qa_profile.setCurrentText(self.settings.qa_profile)
            self.say(f"Settings saved to {self.paths.settings_file}", 5000)

    def show_shortcuts(self) -> None:
        from desktop.ui.shortcuts_dialog import ShortcutsDialog

        ShortcutsDialog(self).exec()

    def show_about(self) -> None:
        AboutDialog(self.paths, str(self.library_dir), self.devices, self).exec()

    def open_log_folder(self) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.paths.log_dir)))

    def show_diagnostics(self) -> None:
        from desktop.ui import diagnostics

        diagnostics.show(self)

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

    def _job_updated(self, snap: JobSnapshot) -> None:
        self.jobs.on_job_updated(snap)
        self.generation.job_updated(snap)

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
                self.say(f"Stopped: the {n} finished {'tile is' if n == 1 else 'tiles are'} kept.", 8000)
        if event.state is not JobState.DONE and failed is not None:
            failed(event.message or ("Cancelled." if event.state is JobState.CANCELLED else "Failed."))
        if event.state is JobState.FAILED:
            self.say(f"Job failed: {event.message}", 10_000)
            if event.job_id == self.generation.live_job:
                self.brief.error.setText(event.message)

    def cancel_all(self) -> None:
        for snap in self.queue.jobs():
            if not snap.state.finished:
                self.queue.cancel(snap.id)
