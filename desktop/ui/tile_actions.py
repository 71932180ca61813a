"""The Tile menu: mend the seam, recolour to the brief's palette, reduce to spot colours, export
print-ready files. Each runs as a job; results land in the library as new patterns whose
provenance names their parent."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from desktop.jobs import JobSnapshot, Lane

if TYPE_CHECKING:
    from desktop.ui.main_window import MainWindow


class TileActions:
    def __init__(self, window: MainWindow):
        self.window = window
        menu = window.menuBar().addMenu("&Tile")
        window._action(menu, "Repair &seam", self.repair_seam, "Ctrl+Shift+R",
                       "Mend the seams of the selected tile through its repeat")
        window._action(menu, "&Recolour to the brief's palette", self.recolour, "Ctrl+Shift+C",
                       "Map every pixel to the nearest palette colour (CIELAB)")
        window._action(menu, "Reduce to spot &colours…", self.reduce, "Ctrl+Shift+K",
                       "Reduce to N colours for screen printing, with one separation per ink")
        window._action(menu, "&Variations…", self.variations, "Ctrl+Shift+V",
                       "Re-render the selected tile with the Brief's diffusion model, keeping its repeat")
        window._action(menu, "&Upscale…", self.upscale, "Ctrl+Shift+U",
                       "Enlarge seamlessly through the repeat (refined by the Brief's diffusion model, if any)")
        menu.addSeparator()
        window._action(menu, "&Approve", lambda: self._status("approved"), QKeySequence("Ctrl+Shift+P"))
        window._action(menu, "Re&ject", lambda: self._status("rejected"), QKeySequence("Ctrl+Shift+X"))
        menu.addSeparator()
        window._action(menu, "Export &print-ready…", self.export_print_ready, "Ctrl+Shift+S",
                       "PNG or TIFF at the print DPI, sRGB profile embedded, metadata kept")

    def _current(self):
        entry = self.window.current
        if entry is None or entry.image is None:
            QMessageBox.information(self.window, "No tile", "Select or generate a tile first.")
            return None
        return entry

    def _derive(self, label: str, make, note: dict) -> None:
        """Run `make(pixels)` on the current tile, store the result as a child pattern, show it."""
        entry = self._current()
        if entry is None:
            return
        window, image, meta = self.window, entry.image, dict(entry.metadata or {})
        parent = entry.pattern_id

        def run(ctx):
            pixels = make(image, meta.get("repeat", "basic"))
            child = dict(meta, parents=[parent] if parent else [], **note)
            child.pop("qa", None)
            child.pop("attempts", None)
            child.pop("library_id", None)
            pattern_id = None
            if window.lib is not None:
                from desktop.library import search

                changes = window.lib.add_tile(pixels, child, source=label)
                pattern_id = (changes.added or [s["duplicate_of"] for s in changes.skipped])[0]
                search.embed_pending(window.lib)
            return pixels, child, pattern_id

        def done(snap: JobSnapshot) -> None:
            from desktop.ui.library_panel import THUMB, TileEntry

            pixels, child, pattern_id = snap.result
            path = window.lib.get(pattern_id)["file"] if pattern_id else None
            small = pixels[:: max(1, pixels.shape[0] // THUMB), :: max(1, pixels.shape[1] // THUMB)]
            new = TileEntry(path, small.copy(), child, pixels, pattern_id=pattern_id, status="draft")
            window.library.add_entries([new])
            window.show_entry(new)
            window.statusBar().showMessage(f"{label}: done", 4000)

        window.submit(label.lower(), run, note, lane=Lane.COMPUTE, title=label, on_done=done)

    def repair_seam(self) -> None:
        from desktop.engine.qa.repair import repair_seam

        self._derive("Repair seam", repair_seam, {"repaired": "seam"})

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

    def _from_current(self, **changes) -> None:
        """Generate from the current tile's file with the Brief's engine and settings."""
        import dataclasses

        entry = self._current()
        if entry is None:
            return
        if not entry.path or not Path(entry.path).is_file():
            QMessageBox.information(self.window, "No file", "This tile has no file yet; store it in the library first.")
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
        self.window.generate(request)

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
        ids = [e.pattern_id for e in self.window.library.selected_entries() if e.pattern_id is not None]
        if ids:
            self.window.set_status(ids, status)

    def export_print_ready(self) -> None:
        window = self.window
        ids = [e.pattern_id for e in window.library.selected_entries() if e.pattern_id is not None]
        if window.lib is None or not ids:
            QMessageBox.information(window, "Nothing to export", "Select patterns in the library first.")
            return
        folder = QFileDialog.getExistingDirectory(window, "Export print-ready files to")
        if not folder:
            return
        lib, dpi = window.lib, int(window.settings.default_dpi)

        def run(ctx):
            from desktop.library.export import export_patterns

            return export_patterns(lib, ids, Path(folder), dpi=dpi, fmt="png", swatch=True)

        window.submit("export", run, lane=Lane.IO, title=f"Exporting {len(ids)} pattern(s)",
                      on_done=lambda s: window.statusBar().showMessage(f"Exported {len(s.result)} file(s)", 6000))
