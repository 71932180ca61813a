"""The tile shown: what the Preview repeats and the Inspector describes, its QA in the background,
its library facts, opening an image file and exporting the shown tile.

It asks for what it needs (the panels, `submit`, the library) and nothing else of the window.
`show_asks` counts what was asked to be shown: a late answer to an older ask is dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from desktop.jobs import JobSnapshot, Lane
from desktop.ui.library_panel import LibraryPanel, TileEntry, entries_for_hits


class TileView:
    def __init__(self, submit: Callable, library: Callable, brief, preview, inspector, panel: LibraryPanel,
                 say: Callable[[str, int], None], parent: QWidget):
        self.submit, self.library, self.brief, self.preview = submit, library, brief, preview
        self.inspector, self.panel, self.say, self.parent = inspector, panel, say, parent
        self.current: TileEntry | None = None
        self.show_asks = 0
        self._wanted: TileEntry | None = None

    @property
    def lib(self):
        return self.library()

    # -- showing --------------------------------------------------------------------------------
    def show_entry(self, entry: TileEntry) -> None:
        """Show a tile; a file is decoded on the I/O lane so the window never waits for the disk.
        The grid's selection follows it (`LibraryPanel.reveal`)."""
        self.show_asks += 1
        self._wanted = entry
        self.panel.reveal(entry)
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

    def open_pattern(self, pattern_id: int) -> None:
        """Show a catalogue pattern in the Preview and Inspector."""
        lib = self.lib
        if lib is None:
            return
        self.show_asks += 1
        asked = self.show_asks

        def run(ctx):
            return entries_for_hits(lib, [{"id": pattern_id, "similarity": None}])[0]

        def found(snap: JobSnapshot) -> None:
            if self.show_asks == asked:  # nothing else has been asked for meanwhile
                self.show_entry(snap.result)

        self.submit("load", run, lane=Lane.IO, title=f"Opening #{pattern_id}", on_done=found)

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

    def library_changed(self, changes) -> None:
        """The Inspector's facts again, where an operation changed the pattern it shows."""
        current = self.current
        if current is not None and current.pattern_id is not None and (
                changes.unknown or current.pattern_id in changes.touched):
            self.load_library_facts(current)

    def load_library_facts(self, entry: TileEntry) -> None:
        """The catalogue's view of this tile (provenance, history, look-alikes), off the UI thread."""
        lib = self.lib
        if lib is None or entry.pattern_id is None:
            return
        pid = entry.pattern_id

        def run(ctx):
            from desktop.engine.diffusion.loras import training_facts
            from desktop.library import search
            from desktop.library.catalogue import LibraryError
            from desktop.library.publishing import publication_of

            try:
                item = lib.get(pid)
            except LibraryError:  # deleted for good while this was on its way: nothing to show, nothing wrong
                return None
            item["publication"] = publication_of(lib, pid)
            for lora in (item.get("provenance") or {}).get("loras") or []:  # what trained each LoRA it drew with
                if isinstance(lora, dict) and lora.get("path"):
                    lora["training"] = training_facts(lora["path"])
            item["credentials"] = _credentials_of(item["file"])
            similar = search.similar(lib, pid, limit=5)
            for hit in similar:
                hit["title"] = lib.get(hit["id"])["title"]
            return item, similar, search.waiting(lib)

        def done(snap: JobSnapshot) -> None:
            if snap.result is not None and self.current is not None and self.current.pattern_id == pid:
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

    # -- files ------------------------------------------------------------------------------------
    def open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.parent, "Open an image", "",
                                              "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp)")
        if not path:
            return
        from desktop.engine.images import load_rgb, read_metadata
        from desktop.errors import UserError

        try:
            image = load_rgb(path)
            meta = read_metadata(path) if path.lower().endswith(".png") else {}
        except UserError as exc:
            QMessageBox.warning(self.parent, "Cannot open image", str(exc))
            return
        self.show_entry(TileEntry(path, image[::8, ::8], meta, image))

    def _export(self, what: str, make) -> None:
        if self.current is None or self.current.image is None:
            QMessageBox.information(self.parent, "Nothing to export", "Select or generate a tile first.")
            return
        stem = Path(self.current.path).stem if self.current.path else "tile"
        path, _ = QFileDialog.getSaveFileName(self.parent, f"Export {what}", f"{stem}-{what}.png", "PNG (*.png)")
        if not path:
            return
        from desktop.engine.images import save_png

        meta = dict(self.current.metadata, exported_as=what)
        try:
            save_png(path, make(self.current.image, meta.get("repeat", "basic")), meta)
        except OSError as exc:
            QMessageBox.warning(self.parent, "Export failed", f"Could not write {path}: {exc.strerror or exc}")
            return
        self.say(f"Exported {path}", 5000)

    def export_basic(self) -> None:
        from desktop.repeat import to_basic

        self._export("basic", to_basic)

    def export_swatch(self) -> None:
        from desktop.repeat import repeat_view

        self._export("swatch", lambda image, repeat: repeat_view(image, repeat, 3, 3))


CREDENTIALS_READ_UP_TO = 64 * 2**20  # bytes: a larger file's manifest is left to `tessera verify`


def _credentials_of(path: str) -> str | None:
    """One line on the C2PA Content Credentials a stored file carries (an imported file may), or None."""
    from pathlib import Path

    from desktop.library import credentials

    file = Path(path)
    kind = file.suffix.lstrip(".").lower()
    try:
        if kind not in credentials.MIME or file.stat().st_size > CREDENTIALS_READ_UP_TO:
            return None
        found = credentials.read(file.read_bytes(), kind)
    except (OSError, credentials.CredentialsError) as exc:
        return f"unreadable ({exc})"
    return None if found is None else credentials.summary(found)
