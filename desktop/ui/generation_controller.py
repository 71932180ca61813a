"""Generating from the Brief: the generate job (procedural here, diffusion in the render process),
its tiles into the library through the one operation that stores tiles, the live preview of the
job running, and the render process's warm-up and unloading."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np

from desktop.jobs import JobSnapshot
from desktop.ui.library_panel import TileEntry

# what the render process imports when it is warmed: what a first diffusion job would wait for
RENDER_IMPORTS = ("torch", "diffusers", "desktop.engine.generate", "desktop.engine.diffusion.engine")


class GenerationController:
    def __init__(self, submit: Callable, catalogue, brief, preview, panel, renderer, settings: Callable,
                 tiles_dir: Path, say: Callable[[str, int], None]):
        self.submit, self.catalogue, self.brief, self.preview, self.panel = submit, catalogue, brief, preview, panel
        self.renderer, self.settings, self.tiles_dir, self.say = renderer, settings, tiles_dir, say
        self.live_job: int | None = None  # the job whose previews the Preview shows as it runs
        self.started = False  # the window's background start has run: the render process may be warmed
        self.closing = False

    # -- the job -----------------------------------------------------------------------------------
    def generate(self, request) -> None:
        from desktop.engine.generate import run_generate

        lib = self.catalogue.lib
        # with the catalogue open, tiles go through its writer; without it, to the tiles folder
        request.out_dir = None if lib is not None else str(self.tiles_dir)
        from desktop.engine.generate import Machine

        request.machine = Machine.from_settings(self.settings())  # how diffusion runs is this machine's, not the brief's
        if request.engine == "procedural":
            from desktop.library.alignment import BatchSimilarity

            inner = None
            if lib is not None:  # QA fails a tile that is a library pattern's design (and retries)
                from desktop.library.search import LibrarySimilarity

                inner = LibrarySimilarity(lib, parents=[request.parent_id] if request.parent_id else [])
            similar = BatchSimilarity(inner)  # or an earlier tile's of this batch

            def run(ctx):
                return run_generate(request, ctx, similar)
        else:
            renderer = self.renderer

            def run(ctx):
                # (with QA's near-duplicate check over the batch's own tiles, as the procedural path has)
                return renderer.call(ctx, "desktop.library.alignment:generate_checking_the_batch", request)
        job = self.submit("generate", run, request, title=job_title(request), on_done=self._generated)
        self.live_job = job.id if job is not None else None
        self.say("Generating…", 3000)

    def _generated(self, snap: JobSnapshot) -> None:
        tiles = snap.result or []
        if self.catalogue.lib is None:
            self._show(tiles, [None] * len(tiles))
            return

        def store(lib, ctx):
            from desktop.library.ops import store_tiles

            stored = store_tiles(lib, [(tile.image, tile.metadata) for tile in tiles])
            for tile, pattern_id, file in zip(tiles, stored.ids, stored.files):
                if pattern_id is not None:
                    tile.path = file
                    tile.metadata = dict(tile.metadata, library_id=pattern_id)
            return stored

        self.catalogue.run("store", f"Adding {len(tiles)} tile(s) to the library", store,
                           on_done=lambda stored: self._show(tiles, stored.ids))

    def _show(self, tiles, ids) -> None:
        from desktop.library.catalogue import tile_title
        from desktop.ui.library_panel import THUMB

        entries = []
        for tile, pattern_id in zip(tiles, ids):
            small = tile.image[:: max(1, tile.image.shape[0] // THUMB), :: max(1, tile.image.shape[1] // THUMB)]
            entries.append(TileEntry(tile.path, np.ascontiguousarray(small), tile.metadata, tile.image,
                                     pattern_id=pattern_id, status="draft" if pattern_id else "",
                                     title=tile_title(tile.metadata)))  # the title the library gave it
        self.panel.add_entries(entries, at_top=True)
        if entries:
            self.panel.select_first()
        where = "the library" if self.catalogue.lib is not None else str(self.tiles_dir)
        self.say(f"Generated {len(entries)} tile(s) into {where}", 5000)

    def job_updated(self, snap: JobSnapshot) -> None:
        """The running job's latest preview, tiled, in the Preview (a training run shows its samples)."""
        if snap.id == self.live_job and snap.preview is not None and not snap.state.finished:
            req = snap.request or {}
            doing = "Training" if snap.kind == "train-lora" else "Generating"
            self.preview.show_tile(snap.preview, req.get("repeat") or req.get("sample_repeat") or "basic",
                                   f"{doing}… {snap.progress.message}")

    # -- the render process ----------------------------------------------------------------------
    def warm_renderer(self) -> None:
        """With a diffusion model in the Brief, start the render process and its imports now (after
        the first paint), so the first Generate does not wait for them."""
        if self.started and not self.closing and self.brief.engine.currentData() != "procedural":
            # (off the UI thread: starting a process takes some milliseconds)
            threading.Thread(target=self.renderer.warm, args=(RENDER_IMPORTS,), name="warm-renderer",
                             daemon=True).start()

    def unload_model(self) -> None:
        if not self.renderer.alive:
            self.say("No diffusion model is loaded.", 4000)
        elif self.renderer.unload():
            self.say("The diffusion model is unloaded; its memory is given back.", 5000)
        else:
            self.say("A render is running: stop it first (Ctrl+.), then unload.", 6000)


def job_title(request) -> str:
    """What the Jobs panel calls a generate job."""
    if request.source:
        name = Path(request.source).name
        return f"Upscale {name} ×{request.upscale:g}" if request.upscale else f"Variations of {name} ({request.engine})"
    what = request.style if request.engine == "procedural" else f"with {request.engine}"
    return f"Generate {what} ({request.repeat}, {request.width}×{request.height})" + (
        f" ×{request.count}" if request.count > 1 else "")
