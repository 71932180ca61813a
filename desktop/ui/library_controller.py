"""The window's side of the library: opening it, reading the grid, importing, and the one way a
library operation runs and says what it changed.

`run(kind, title, op)` runs `op(lib, ctx)` (one of desktop/library/ops.py's operations) on the
writer lane; when it is done, the caller's `on_done` sees its result, then `library_changed` is emitted
once with the operation's ChangeSet (Anki's CollectionOp and OpChanges are the model). The
Library dock and the Inspector subscribe: the dock updates the rows the change names (and reads
the grid again only where patterns join the view shown), the Inspector reads its facts again
when the pattern it shows changed. No action reaches into a panel to refresh it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.jobs import JobSnapshot, JobState, Lane
from desktop.ui.library_panel import LibraryPanel, entries_for_hits, read_library, scan_folder
from desktop.ui.search_controller import LatestRequest

log = logging.getLogger("tessera.ui")


class LibraryController(QObject):
    library_changed = Signal(object)  # a ChangeSet: once per operation, after its caller's on_done

    INDEX_PART = 2048  # patterns one indexing job takes before the writer lane serves what waits
    WATCH_MS = 2000  # how often the window looks for another process's changes (a script's)

    def __init__(self, submit: Callable, running: Callable[[int | None], bool], panel: LibraryPanel,
                 grid: LatestRequest, say: Callable[[str, int], None], tiles_dir: Path,
                 asks: Callable[[], int], parent: QWidget):
        super().__init__(parent)
        self.submit, self.running, self.panel, self.grid, self.say = submit, running, panel, grid, say
        self.tiles_dir, self.asks, self.parent_widget = tiles_dir, asks, parent
        self.lib = None  # the catalogue, opened off the start-up path
        self.opened: Callable[[], None] | None = None  # what the window starts once the library is open
        self.show_first: Callable[[], bool] = lambda: False  # whether the grid's first tile should be shown
        self.open_pattern: Callable[[int], None] = lambda pattern_id: None  # shows one (the tile view's)
        self.duplicates_dialog = None  # the Find duplicates dialog, made on first use
        self._show_next = True
        self.library_changed.connect(self._show_changes)
        self.watch = QTimer(self)
        self.watch.setInterval(self.WATCH_MS)
        self.watch.timeout.connect(self.look_outside)

    # -- operations ----------------------------------------------------------------------------
    def run(self, kind: str, title: str, op: Callable, on_done: Callable[[Any], None] | None = None,
            on_failed: Callable[[str], None] | None = None, request: Any = None):
        """Run `op(lib, ctx)` on the writer lane; its result to `on_done`, then its ChangeSet (the
        result, or the result's `.changes`) to every subscriber, once. None without a library."""
        if self.lib is None:
            return None
        lib, asked = self.lib, self.asks()

        def done(snap: JobSnapshot) -> None:
            result = snap.result
            if on_done is not None:
                on_done(result)
            self.announce(result if hasattr(result, "states") else getattr(result, "changes", None),
                          show_next=self.asks() == asked)  # (a pattern opened since stays in the Preview)

        return self.submit(kind, lambda ctx: op(lib, ctx), request, lane=Lane.WRITER, title=title, on_done=done,
                           on_failed=on_failed)

    def announce(self, changes, show_next: bool = True) -> None:
        """Broadcast what an operation changed: `run` does it for the writer lane's operations; a
        job elsewhere (publishing, on the network lane) hands its ChangeSet here."""
        if changes is not None:
            self._show_next = show_next
            self.library_changed.emit(changes)

    def _show_changes(self, changes) -> None:
        if changes.unknown:
            self.refresh_collections()
        if self.panel.apply_changes(changes, show_next=self._show_next):
            self.reload()
        self._show_next = True

    def look_outside(self) -> None:
        """Another process (a `tessera` script) wrote to the library: the index catches up with it,
        then the change is broadcast as its own operations' are, naming no pattern (nobody said
        which), so every view reads again. A look is one PRAGMA on a connection of its own."""
        lib = self.lib
        if lib is None:
            return
        try:
            changed = lib.outside_changes()
        except Exception as exc:  # (a database gone from under the window: `check` says more)
            log.warning("could not look for other processes' changes: %s", exc)
            return
        if not changed:
            return
        from desktop.library.changeset import ChangeSet

        def catch_up(ctx):
            from desktop.library import search

            search.index(lib).catch_up()

        self.submit("read-library", catch_up, lane=Lane.IO, title="Reading what another process changed",
                    on_done=lambda snap: self.announce(ChangeSet(unknown=True)))

    # -- opening --------------------------------------------------------------------------------
    def open(self, root: Path) -> None:
        self.submit("open-library", lambda ctx: _open_library(root), lane=Lane.WRITER,
                    title="Opening the library", on_done=self._opened)

    def _opened(self, snap: JobSnapshot) -> None:
        lib, problem = snap.result
        if lib is None:
            # keep working from the tiles folder; say why, once, in words
            self.say(f"Library not available: {problem}", 15_000)
            QMessageBox.warning(self.parent_widget, "Library not available",
                                f"{problem}\n\nTiles you generate are saved to {self.tiles_dir}.")
            folder = self.tiles_dir
            self.submit("scan-folder", lambda ctx: scan_folder(folder, ctx=ctx), lane=Lane.IO,
                        title="Reading the tiles folder", on_done=self._scanned)
            return
        self.lib = lib
        self.panel.set_folder(lib.root)
        lib.settle()
        self.watch.start()

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
            self.drain_index(lib, then=build_index)

        self.submit("reconcile", reconcile, lane=Lane.WRITER, title="Checking the search index",
                    on_done=reconciled)
        self.refresh_collections()
        self.reload()
        if self.opened is not None:
            self.opened()

    def drain_index(self, lib, then=None, title: str = "Updating the search index") -> None:
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
                self.drain_index(lib, then, title)
            elif then is not None:
                then()

        self.submit("index", drain, lane=Lane.WRITER, title=title, on_done=drained)

    # -- the grid -------------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the grid again, with the Library dock's filters (the newest ask wins)."""
        if self.lib is None:
            return
        lib, filters = self.lib, {k: v for k, v in self.panel.filters().items() if v}
        panel = self.panel

        def read(ctx):
            from desktop.library import trash

            panel.trash_count_known.emit(trash.summary(lib)["patterns"])  # (a queued signal: any thread)
            return read_library(lib, ctx=ctx, **filters)

        self.grid.claim(self.submit("read-library", read, lane=Lane.IO, title="Reading the library",
                                    on_done=self._scanned))

    def _scanned(self, snap: JobSnapshot) -> None:
        if not self.grid.holds(snap):
            return  # a newer filter or search has been asked for since: its answer wins
        entries = snap.result or []
        self.panel.show_entries(entries)
        if entries and self.show_first():
            self.panel.select_first()

    def refresh_collections(self) -> None:
        """The Library dock's collection filter, read again (a small query)."""
        if self.lib is not None:
            from desktop.library import collections

            self.panel.set_collections([c["name"] for c in collections.all_collections(self.lib)])

    def selected_ids(self) -> list[int]:
        return [e.pattern_id for e in self.panel.selected_entries() if e.pattern_id is not None]

    # -- importing ------------------------------------------------------------------------------
    def import_files(self, paths: list[str]) -> None:
        """Images and folders of them into the library, then indexed."""
        if self.lib is None:
            QMessageBox.information(self.parent_widget, "No library", "Importing needs the library, which is not open.")
            return
        from desktop.library import ops

        def done(changes) -> None:
            line = changes.import_summary()
            if changes.quarantined:  # say why, not only how many
                line += f" — {changes.import_details()}"
            self.say(line[:1].upper() + line[1:], 15_000 if changes.quarantined else 10_000)

        lib = self.lib
        job = self.run("import", _import_title(paths), lambda lib, ctx: ops.import_files(lib, paths, ctx),
                       on_done=done, request=paths)
        if job is None:
            return

        def indexed() -> None:  # a cancelled or failed import keeps its committed batches: show them too
            if _ended(job) is not JobState.DONE:
                self.reload()

        self.drain_index(lib, then=indexed, title="Indexing imported patterns")

    # -- duplicates and comparing ---------------------------------------------------------------
    def show_duplicates(self):
        if self.duplicates_dialog is None:
            from desktop.ui.duplicates_dialog import DuplicatesDialog

            self.duplicates_dialog = DuplicatesDialog(self.parent_widget)
            self.duplicates_dialog.find_requested.connect(self.find_duplicates)
            self.duplicates_dialog.open_requested.connect(lambda pid: self.open_pattern(pid))
            self.duplicates_dialog.status_requested.connect(self.curation.set_status)
            self.duplicates_dialog.trash_requested.connect(self.curation.trash)
            self.duplicates_dialog.trash_copies_requested.connect(self.trash_extra_copies)
        bring_up(self.duplicates_dialog)
        return self.duplicates_dialog

    def find_duplicates(self, thresholds) -> None:
        dialog = self.duplicates_dialog
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

    def trash_extra_copies(self, pairs: list) -> None:
        """Find duplicates ▸ Trash the extra copies: all but one of each copied design, after asking."""
        if self.lib is None:
            return
        from desktop.library.dedupe import redundant_copies

        choice = redundant_copies(self.lib, pairs)  # a read of their status and rating
        if not choice["trash"]:
            self.say("No extra copies to put aside (the published ones stay).", 5000)
            return
        answer = QMessageBox.question(
            self.duplicates_dialog, "Trash the extra copies",
            f"Move {len(choice['trash'])} extra cop{'y' if len(choice['trash']) == 1 else 'ies'} to the trash, keeping "
            f"one of each of {len(choice['keep'])} design(s): the published, approved or highest rated, else the "
            "oldest?\n\nRecoloured pairs are left alone. Ctrl+Z brings them back.",
            QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Yes)
        if answer == QMessageBox.Yes:
            self.curation.trash(choice["trash"])
            self.duplicates_dialog.mark_trashed(choice["trash"])

    def compare_selected(self) -> None:
        """Library ▸ Compare the selected (C in the grid): its pixels are read on the I/O lane."""
        from desktop.ui.compare_dialog import MOST, CompareDialog

        entries = [e for e in self.panel.selected_entries() if e.pattern_id is not None]
        if len(entries) < 2:
            self.say("Select two to six patterns to compare them.", 4000)
            return
        dialog = CompareDialog(entries, self.parent_widget)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.status_requested.connect(self.curation.set_status)
        dialog.rating_requested.connect(self.curation.set_rating)
        dialog.trash_requested.connect(self.curation.trash)
        dialog.open_requested.connect(lambda pid: self.open_pattern(pid))
        if len(entries) > MOST:
            self.say(f"Comparing the first {MOST} of the {len(entries)} selected.", 5000)
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
        bring_up(dialog)

    curation: Any = None  # the window's Curation (undoable writes), set once it is made


def bring_up(dialog) -> None:
    """Show a modeless dialog, in front and with the focus."""
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()


def _ended(job) -> JobState:
    return job.snapshot().state


def _build_index(lib) -> bool:
    from desktop.library import search

    try:
        return search.index(lib).ensure_ann()
    except Exception as exc:  # a write that raced the build: the next start builds it again
        log.warning("search index not built this time: %s", exc)
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
        return Library(root, window=True), None
    except UserError as exc:
        return None, str(exc)


def _import_title(paths: list[str]) -> str:
    """'Importing moss.jpg', 'Importing the folder textures', or 'Importing 3 files and folders'."""
    if len(paths) == 1:
        path = Path(paths[0])
        return f"Importing the folder {path.name}" if path.is_dir() else f"Importing {path.name}"
    return f"Importing {len(paths)} files and folders"
