"""What fills the Brief: the registered models (and the Models dialog), saved briefs (a collection
keeps one), a palette taken from an image, and the first run's starter brief."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QInputDialog, QMessageBox, QWidget

from desktop.errors import UserError
from desktop.jobs import Lane
from desktop.ui.library_controller import bring_up

BRIEF_BEFORE = "(the Brief before the last one opened)"  # Open a saved brief…: the way back


class BriefController:
    def __init__(self, brief, catalogue, submit: Callable, config_dir: Path, say: Callable[[str, int], None],
                 parent: QWidget):
        self.brief, self.catalogue, self.submit, self.config_dir = brief, catalogue, submit, config_dir
        self.say, self.parent = say, parent
        self.models_dialog = None  # the Models dialog, made on first use
        self.brief_before = None  # the GenerateRequest an opened saved brief replaced

    # -- models -----------------------------------------------------------------------------------
    def load_models(self) -> None:
        """Registered diffusion models into the Brief's engine list (a small JSON file; no torch)."""
        from desktop.engine.diffusion.registry import ModelRegistry, label

        try:
            entries = ModelRegistry(self.config_dir / "models.json").entries()
        except UserError as exc:
            self.say(str(exc), 10_000)
            entries = []
        self.brief.set_models([(e.name, label(e), e.family, e.location) for e in entries])

    def show_models(self):
        if self.models_dialog is None:
            from desktop.ui.models_dialog import ModelsDialog

            self.models_dialog = ModelsDialog(self.parent)
            self.models_dialog.renamed.connect(self._model_renamed)
            self.models_dialog.changed.connect(self.load_models)
        self.models_dialog.reload()
        bring_up(self.models_dialog)
        return self.models_dialog

    def _model_renamed(self, old: str, new: str) -> None:
        """The Brief keeps drawing with a model it had chosen, under its new name."""
        engine = self.brief.engine
        chosen = engine.currentData() == old
        self.load_models()
        if chosen:
            engine.setCurrentIndex(max(0, engine.findData(new)))

    def add_models(self, paths: list[str]) -> None:
        """Model files dropped on the window: into the Models dialog, to be named and added."""
        dialog = self.show_models()
        for path in paths:
            dialog.add(path)

    # -- saved briefs -----------------------------------------------------------------------------
    def save_brief_as_collection(self) -> None:
        if self.catalogue.lib is None:
            QMessageBox.information(self.parent, "No library", "Collections live in the library, which is not open.")
            return
        name, ok = QInputDialog.getText(self.parent, "Save brief as collection", "Collection name:")
        if not ok or not name.strip():
            return
        from desktop.engine.briefs import brief_of
        from desktop.library import ops

        brief = brief_of(self.brief.build_request())
        self.catalogue.run("collection", f"Saving collection {name}", lambda lib, ctx: ops.save_brief(lib, name, brief),
                           on_done=lambda changes: self.say(f"Saved the Brief as the collection {name.strip()}", 5000))

    def open_saved_brief(self) -> None:
        """Set the Brief to a collection's saved brief; the Brief it replaces is offered next time."""
        from desktop.engine.briefs import request_of
        from desktop.library import LibraryError, collections

        lib = self.catalogue.lib
        if lib is None:
            QMessageBox.information(self.parent, "No library", "Saved briefs live in the library, which is not open.")
            return
        names = [c["name"] for c in collections.all_collections(lib) if c["has_brief"]]  # a small query
        if self.brief_before is not None:
            names.insert(0, BRIEF_BEFORE)
        if not names:
            QMessageBox.information(self.parent, "No saved briefs", "No collection keeps a brief yet: "
                                    "Save brief as collection… (under the Brief) keeps the one you have.")
            return
        name, ok = QInputDialog.getItem(self.parent, "Open a saved brief", "The brief of:", names, 0, False)
        if not ok:
            return
        before = self.brief.build_request()
        try:
            request = self.brief_before if name == BRIEF_BEFORE else request_of(collections.saved_brief(lib, name))
            missed = self.brief.apply_request(request)
        except (UserError, LibraryError) as exc:
            QMessageBox.warning(self.parent, "Open a saved brief", str(exc))
            return
        self.brief_before = before
        said = f"The Brief is now {'the one before' if name == BRIEF_BEFORE else name + chr(8217) + 's'}"
        self.say(said + (f" ({'; '.join(missed)})" if missed else ""), 10000)

    # -- the rest of the Brief --------------------------------------------------------------------
    def extract_palette(self, path: str) -> None:
        from desktop.palettes import palette_from_image_file

        self.submit("extract-palette", lambda ctx: palette_from_image_file(path), path, lane=Lane.IO,
                    title=f"Colours from {Path(path).name}",
                    on_done=lambda snap: self.brief.set_custom_palette(snap.result))

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
