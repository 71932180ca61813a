"""The Tile menu: mend the seam, recolour to the brief's palette, reduce to spot colours, make
colourways, export print-ready files and presentation sheets. Each runs as a job; results land in
the library as new patterns whose provenance names their parent."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from desktop.jobs import JobSnapshot, Lane

if TYPE_CHECKING:
    from desktop.ui.host import WindowHost


class TileActions:
    """The Tile menu's handlers (declared in actions.py). Derived tiles are made on the compute
    lane and stored by the library operation that stores tiles, whose change set the Library dock
    shows; the first is shown and Ctrl+Z takes them away."""

    def __init__(self, window: WindowHost):
        self.window = window

    def _current(self):
        entry = self.window.tile_view.current
        if entry is None or entry.image is None:
            QMessageBox.information(self.window, "No tile", "Select or generate a tile first.")
            return None
        return entry

    def _current_file(self):
        """The current tile, where it has a file (what a job that reads the file needs), else None
        and a word why."""
        entry = self._current()
        if entry is not None and (not entry.path or not Path(entry.path).is_file()):
            QMessageBox.information(self.window, "No file", "This tile has no file yet; store it in the library first.")
            return None
        return entry

    def _derive(self, label: str, make, note: dict) -> None:
        """Run `make(pixels, repeat)` on the current tile, store the result as a child pattern, show it."""
        self._derive_many(label, lambda image, meta, ctx: [(make(image, meta.get("repeat", "basic")), note)])

    def _derive_many(self, label: str, make_all, collection: str = "", inherit: bool = True) -> None:
        """Run `make_all(pixels, metadata, ctx)` on the current tile: a list of (pixels, note), each
        stored as a child pattern (its metadata the parent's, less its QA, with the note; without
        `inherit`, the note alone: a new design drawn from the tile, not the tile changed), then
        gathered in `collection` if named; the first is shown."""
        entry = self._current()
        if entry is None:
            return
        window, image, meta = self.window, entry.image, dict(entry.metadata or {})
        parent = entry.pattern_id

        def run(ctx):
            made = []
            for pixels, note in make_all(image, meta, ctx):
                child = dict(meta if inherit else {}, parents=[parent] if parent else [], **note)
                for key in ("qa", "attempts", "library_id"):
                    child.pop(key, None)
                made.append((pixels, child))
            return made

        def show(made, ids, paths, new) -> None:
            from desktop.ui.library_panel import THUMB, TileEntry

            entries = []
            for (pixels, child), pattern_id, path in zip(made, ids, paths):
                small = pixels[:: max(1, pixels.shape[0] // THUMB), :: max(1, pixels.shape[1] // THUMB), :3]
                entries.append(TileEntry(path, small.copy(), child, pixels[..., :3], pattern_id=pattern_id,
                                         status="draft", title=child.get("title", "")))
            window.library.add_entries(entries[::-1])  # the first made ends up first
            if entries:
                window.tile_view.show_entry(entries[0])
            window.curation.made(label, new)  # Ctrl+Z moves them to the trash
            window.statusBar().showMessage((f"{label}: done" if len(entries) < 2 else
                                            f"{label}: {len(entries)} made") + " · Ctrl+Z undoes", 4000)

        def made_all(snap: JobSnapshot) -> None:
            made = snap.result
            if window.catalogue.lib is None:
                show(made, [None] * len(made), [None] * len(made), [])
                return

            def store(lib, ctx):
                from desktop.library.ops import store_tiles

                return store_tiles(lib, made, label, collection, parent)

            window.catalogue.run("store", f"{label}: into the library", store,
                                 on_done=lambda stored: show(made, stored.ids, stored.files, stored.new))

        window.submit(label.lower(), run, meta, lane=Lane.COMPUTE, title=label, on_done=made_all)

    def repair_seam(self) -> None:
        from desktop.engine.qa.repair import repair_seam

        self._derive("Repair seam", repair_seam, {"repaired": "seam"})

    def flatten_lighting(self) -> None:
        from desktop.engine.qa.repair import flatten_lighting

        self._derive("Even out lighting", flatten_lighting, {"repaired": "lighting"})

    def recolour(self) -> None:
        from desktop.engine.qa.repair import recolour
        from desktop.errors import UserError
        from desktop.palettes import parse_palette

        try:
            palette = parse_palette(self.window.brief.palette_spec())
        except UserError as exc:
            QMessageBox.warning(self.window, "Palette", str(exc))
            return
        self._derive("Recolour", lambda image, repeat: recolour(image, palette, dither=False).image,
                     {"recoloured_to": palette.as_dict(), "palette": palette.as_dict()})

    def reduce(self) -> None:
        from desktop.engine.qa.repair import reduce_colours

        n, ok = QInputDialog.getInt(self.window, "Spot colours", "How many colours?", 4, 1, 16)
        if ok:
            self._derive(f"Reduce to {n} colours", lambda image, repeat: reduce_colours(image, n).image,
                         {"spot_colours": n})

    def colourways(self) -> None:
        from desktop.ui.colourways_dialog import ColourwaysDialog

        entry = self._current()
        if entry is None:
            return
        meta = entry.metadata or {}
        title = _title(entry)
        current = (meta.get("palette") or {}).get("name", "") if isinstance(meta.get("palette"), dict) else ""
        dialog = ColourwaysDialog(title, self.window.brief.palette_spec(), current, self.window)
        if dialog.exec() != ColourwaysDialog.Accepted:
            return
        palettes, flat = dialog.chosen(), dialog.flat.isChecked()

        def make_all(image, meta, ctx):
            from desktop.engine.colourways import colourways

            made = colourways(image, palettes, flat=flat, progress=ctx.progress)
            return [(result.image, {k: v for k, v in result.metadata(meta, None, title).items()
                                    if k in ("palette", "colourway", "title")}) for result in made]

        self._derive_many("Colourways", make_all, dialog.collection_name())

    def coordinates(self) -> None:
        from desktop.ui.colourways_dialog import CoordinatesDialog

        entry = self._current()
        if entry is None:
            return
        meta = entry.metadata or {}
        title = _title(entry)
        repeat = meta.get("repeat") or "basic"
        from desktop.palettes import Palette

        dialog = CoordinatesDialog(title, entry.image, repeat, Palette.from_dict(meta.get("palette")), self.window)
        if dialog.exec() != CoordinatesDialog.Accepted:
            return
        kinds = dialog.ticked()

        def make_all(image, meta, ctx):
            from desktop.engine.coordinates import coordinates
            from desktop.palettes import Palette

            made = coordinates(image[..., :3], repeat, kinds, progress=ctx.progress,
                               palette=Palette.from_dict(meta.get("palette")))
            return [(c.image, c.metadata(meta, None, title)) for c in made]

        self._derive_many("Coordinates", make_all, dialog.collection_name(), inherit=False)

    def mockups(self) -> None:
        from desktop.ui.mockup_dialog import MockupDialog

        entry = self._current()
        if entry is None:
            return
        meta = dict(entry.metadata or {})
        if entry.pattern_id is not None:
            meta["library_id"] = entry.pattern_id
        title = _title(entry, "tile")
        try:
            from desktop.repeat import check_size

            check_size(meta.get("repeat") or "basic", entry.image.shape[1], entry.image.shape[0])
        except Exception as exc:  # a repeat this image cannot take: say so, rather than an empty dialog
            QMessageBox.warning(self.window, "Mockups", str(exc))
            return
        dialog = MockupDialog(entry.image, meta, title, self.window.submit, self.window.ui_state, self.window,
                              profile=self.window.brief.qa_profile.currentText() or "default",
                              cancel=self.window.queue.cancel)
        dialog.setAttribute(Qt.WA_DeleteOnClose)
        dialog.show()

    def _from_current(self, **changes) -> None:
        """Generate from the current tile's file with the Brief's engine and settings."""
        import dataclasses

        entry = self._current_file()
        if entry is None:
            return
        request = dataclasses.replace(self.window.brief.build_request(), source=str(entry.path),
                                      parent_id=entry.pattern_id,
                                      repeat=(entry.metadata or {}).get("repeat", "basic"), **changes)
        from desktop.errors import UserError

        try:
            request.validated()
        except UserError as exc:
            QMessageBox.warning(self.window, "Cannot start", str(exc))
            return
        self.window.generation.generate(request)

    def kaleidoscope(self) -> None:
        entry = self._current_file()
        if entry is None:
            return
        brief = self.window.brief
        brief.fold_image(str(entry.path), entry.pattern_id)
        brief.request_generate()
        self.window.statusBar().showMessage("The Brief now folds this image: change its Kaleidoscope options and "
                                            "press Ctrl+Enter for more", 8000)

    def variations(self) -> None:
        if self.window.brief.engine.currentData() == "procedural":
            QMessageBox.information(self.window, "Variations need a diffusion model",
                                    "Choose a diffusion model as the Brief's engine (add one with "
                                    "'tessera models add'), then ask again.")
            return
        strength, ok = QInputDialog.getDouble(self.window, "Variations", "How much to change (0–1)?", 0.5, 0.05,
                                              1.0, 2)
        if ok:
            self._from_current(strength=strength)

    def upscale(self) -> None:
        factor, ok = QInputDialog.getDouble(self.window, "Upscale", "Factor:", 2.0, 1.0, 8.0, 2)
        if ok:
            self._from_current(upscale=factor, strength=0.3, count=1)

    def _status(self, status: str) -> None:
        ids = self.window.catalogue.selected_ids()
        if ids:
            self.window.curation.set_status(ids, status)

    def approve(self) -> None:
        self._status("approved")

    def reject(self) -> None:
        self._status("rejected")

    def unflag(self) -> None:
        self._status("draft")

    def export_print_ready(self) -> None:
        window = self.window
        ids = [e.pattern_id for e in window.library.selected_entries() if e.pattern_id is not None]
        if window.catalogue.lib is None or not ids:
            QMessageBox.information(window, "Nothing to export", "Select patterns in the library first.")
            return
        folder = QFileDialog.getExistingDirectory(window, "Export print-ready files to")
        if not folder:
            return
        lib, dpi = window.catalogue.lib, int(window.settings.default_dpi)

        def run(ctx):
            from desktop.library.export import export_patterns

            return export_patterns(lib, ids, Path(folder), dpi=dpi, fmt="png", swatch=True)

        window.submit("export", run, lane=Lane.IO, title=f"Exporting {len(ids)} pattern(s)",
                      on_done=lambda s: window.statusBar().showMessage(f"Exported {len(s.result)} file(s)", 6000))

    def export_sheet(self) -> None:
        window = self.window
        ids = [e.pattern_id for e in window.library.selected_entries() if e.pattern_id is not None]
        if window.catalogue.lib is None or not ids:
            QMessageBox.information(window, "Nothing to show", "Select patterns in the library first (a "
                                    "design and its colourways, say).")
            return
        from desktop.engine.mockups import PRODUCTS

        choices = {"The repeats only": None, **{f"Each also on a {p.name} mockup, at its printed size": p.name
                                                for p in PRODUCTS.values()}}
        last, products = window.ui_state.value("sheet/mockup", "") or None, list(choices.values())
        shown, ok = QInputDialog.getItem(window, "Presentation sheet", f"A sheet of {len(ids)} pattern(s):",
                                         list(choices), products.index(last) if last in products else 0, False)
        if not ok:
            return
        mockup = choices[shown]
        window.ui_state.setValue("sheet/mockup", mockup or "")
        path, _ = QFileDialog.getSaveFileName(window, "Save the presentation sheet", "sheet.png", "PNG (*.png)")
        if not path:
            return
        lib, dpi = window.catalogue.lib, int(window.settings.default_dpi)

        def run(ctx):
            from desktop.library.export import export_sheet

            return export_sheet(lib, ids, Path(path), ctx=ctx, mockup=mockup, default_dpi=dpi)

        window.submit("sheet", run, lane=Lane.IO, title=f"Presentation sheet of {len(ids)} pattern(s)",
                      on_done=lambda s: window.statusBar().showMessage(f"Saved {s.result}", 6000))


def _title(entry, untitled: str = "Tile") -> str:
    """What a pattern is called where a dialog or a derived tile names it: its title, its file's name."""
    return entry.title or (entry.metadata or {}).get("title") or (Path(entry.path).stem if entry.path else untitled)
