"""Search from the Library dock: by words (CLIP), by an image, or for more like a pattern.

A controller with a narrow interface: it is given how to start a job, which library is open,
the Library panel it fills, and CLIP's worker; it does not hold the window. Only the latest
request fills the grid (a `LatestRequest` the window's own library reads share), and a failed
search says why in the grid's header.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.errors import UserError
from desktop.jobs import JobSnapshot, Lane
from desktop.ui.library_panel import LibraryPanel, TileEntry, entries_for_hits

if TYPE_CHECKING:
    from desktop.library import Library


class LatestRequest:
    """The job whose answer may fill a view: asking again makes an earlier answer stale."""

    def __init__(self) -> None:
        self.job_id: int | None = None

    def claim(self, job) -> None:
        self.job_id = job.id if job is not None else None

    def holds(self, snap: JobSnapshot) -> bool:
        return self.job_id is None or snap.id == self.job_id


def unsearched(count: int) -> str:
    """What a search could not see yet: the patterns still waiting to be indexed."""
    return f" · {count} pattern(s) still being indexed are not searched yet" if count else ""


class SearchController:
    def __init__(self, submit: Callable[..., Any], running: Callable[[int | None], bool],
                 library: Callable[[], Library | None], panel: LibraryPanel, grid: LatestRequest,
                 data_dir: Path, clip_worker, reload: Callable[[], None], parent: QWidget):
        self._submit, self._running, self._library, self.panel = submit, running, library, panel
        self.grid, self.data_dir, self.clip_worker, self._reload, self._parent = grid, data_dir, clip_worker, reload, parent
        self._clip_job: int | None = None

    def _failed(self, message: str) -> None:
        self.panel.header.setText(message)

    def _show_hits(self, kind: str, fn) -> None:
        lib = self._library()
        if lib is None:
            self.panel.header.setText("Search needs the library.")
            return
        # a search looks outside the trash (the index does not hold it), in order of likeness
        filters = {k: v for k, v in self.panel.filters().items() if v and k not in ("trashed", "sort")}

        def run(ctx):
            from desktop.library import search

            return entries_for_hits(lib, fn(lib, filters)), search.waiting(lib)

        def done(snap: JobSnapshot) -> None:
            if self.grid.holds(snap):  # only the latest request fills the grid
                entries, waiting = snap.result
                self.panel.show_entries(entries, f"{len(entries)} result(s) {kind}" + unsearched(waiting))

        self.grid.claim(self._submit("search", run, lane=Lane.IO, title=f"Searching {kind}", on_done=done,
                                     on_failed=self._failed))

    def search_text(self, text: str) -> None:
        if not text:
            self._reload()
            return
        from desktop.library import search

        lib = self._library()
        if lib is not None and search.embedder(lib) is None:
            self._attach_clip_then_search(text)
            return
        self._show_hits(f"for '{text}' (CLIP)", lambda lib, f: search.search_text(lib, text, 60, **f))

    def search_image(self, path: str) -> None:
        from desktop.engine.images import load_rgb
        from desktop.library import search

        self._show_hits(f"like {Path(path).name} (built-in descriptor)",
                        lambda lib, f: search.search_image(lib, load_rgb(path), 60, **f))

    def more_like_this(self, entry: TileEntry) -> None:
        if entry.pattern_id is None:
            return
        from desktop.library import search

        self._show_hits(f"like #{entry.pattern_id} (built-in descriptor)",
                        lambda lib, f: search.similar(lib, entry.pattern_id, 60, **f))

    def _attach_clip_then_search(self, text: str) -> None:
        """First text search: load CLIP (on a worker: it imports torch), or offer to download it."""
        from desktop.library import search

        lib, data_dir, worker = self._library(), self.data_dir, self.clip_worker
        if self._running(self._clip_job):
            self.panel.header.setText("CLIP is still loading (see Jobs).")
            return
        self.panel.header.setText("Loading CLIP for text search…")

        def loaded(snap: JobSnapshot) -> None:
            if lib is not self._library():
                return
            if not snap.result:
                self.search_text(text)
                return
            from desktop.config import downloads_allowed

            if not downloads_allowed():
                self.panel.header.setText("Text search needs CLIP weights; downloads are off here.")
                self.panel.header.setToolTip(f"{snap.result}. Downloads are off on this machine "
                                             "(HF_HUB_OFFLINE or TESSERA_OFFLINE). Search by image works "
                                             "without CLIP.")
                return
            answer = QMessageBox.question(
                self._parent, "Download CLIP?",
                "Text search finds patterns by meaning with CLIP (open_clip ViT-B-32), and its weights are not "
                "on this machine yet.\n\nDownload them now? About 600 MB, once; search by image works without them.")
            if answer != QMessageBox.StandardButton.Yes:
                self.panel.header.setText("Text search needs CLIP weights (not downloaded).")
                return

            def fetch(ctx):
                def progress(done: int, total: int) -> None:
                    ctx.progress(done, total or None, f"Downloading CLIP weights: {done / 1e6:.0f} MB")

                why = search.ensure_clip(lib, data_dir, download=True, progress=progress, worker=worker)
                if why:
                    raise UserError(why)
                return ""

            job = self._submit("clip-download", fetch, lane=Lane.IO, title="Downloading CLIP weights",
                               on_done=loaded, on_failed=self._failed)
            self._clip_job = job.id if job is not None else None

        job = self._submit("clip", lambda ctx: search.ensure_clip(lib, data_dir, download=False, worker=worker),
                           lane=Lane.IO, title="Loading CLIP", on_done=loaded)
        self._clip_job = job.id if job is not None else None
