"""Generate ▸ Models: the diffusion models the Brief can draw with, added, renamed and removed.

The registry (desktop.engine.diffusion.registry) is a small JSON file, so renaming and removing
happen at once; adding hashes the model (gigabytes), so it runs as a job on the I/O lane with
progress and Stop. A pickle checkpoint is added only after the user says she trusts that file.
Removing forgets the model, never its files, and Undo puts it back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from desktop.errors import UserError
from desktop.jobs import JobSnapshot, Lane

if TYPE_CHECKING:
    from desktop.engine.diffusion.registry import ModelEntry
    from desktop.ui.host import JobsHost

COLUMNS = ("Name", "Family", "Kind", "sha256", "Location", "Added")
KIND_TEXT = {"diffusers-folder": "diffusers folder", "single-file": "checkpoint", "hf-id": "Hugging Face id"}
CHECKPOINTS = "Checkpoints (*.safetensors *.ckpt *.pt *.pth *.bin);;All files (*)"


def _button(text: str, tip: str, slot) -> QPushButton:
    button = QPushButton(text)
    button.setToolTip(tip)
    button.clicked.connect(slot)
    return button


class ModelsDialog(QDialog):
    changed = Signal()  # the list of models changed (the Brief reloads its engines)
    renamed = Signal(str, str)  # old name, new name (sent before `changed`: the Brief keeps its choice)

    def __init__(self, window: JobsHost):
        super().__init__(window)
        from desktop.engine.diffusion.registry import ModelRegistry

        self.window = window
        self.registry = ModelRegistry(window.paths.config_dir / "models.json")
        self.pending: dict[int, str] = {}  # adding jobs: id -> what is being added
        self._removed: list[tuple[int, ModelEntry]] = []  # for Undo, the latest last
        self._filling = False
        self.setWindowTitle("Diffusion models")
        self.resize(900, 420)
        self.setAcceptDrops(True)

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.DoubleClicked | QAbstractItemView.EditKeyPressed)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        for column in range(len(COLUMNS)):
            header.setSectionResizeMode(column, QHeaderView.Stretch if COLUMNS[column] == "Location"
                                        else QHeaderView.ResizeToContents)
        self.table.itemChanged.connect(self._renamed)
        self.table.itemSelectionChanged.connect(self._selection_changed)

        self.add_file = _button("Add &file…", "A single-file checkpoint: .safetensors, or a .ckpt you trust",
                                self.choose_file)
        self.add_folder = _button("Add f&older…", "A diffusers model folder (with model_index.json)",
                                  self.choose_folder)
        self.add_hub = _button("Add &hub id…", "A Hugging Face id (owner/name), downloaded on first use when online",
                               self.choose_hub_id)
        self.remove_button = _button("&Remove", "Forget the selected models (their files stay where they are) · Del",
                                     self.remove_selected)
        self.undo_button = _button("&Undo remove", "Put the last removed model back · Ctrl+Z", self.undo_remove)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for button in (self.add_file, self.add_folder, self.add_hub, self.remove_button, self.undo_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        QShortcut(QKeySequence.Delete, self.table, self.remove_selected)
        QShortcut(QKeySequence.Undo, self, self.undo_remove)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.stop_button = _button("&Stop", "Stop adding (nothing is registered)", self.stop_adding)
        busy = QHBoxLayout()
        busy.addWidget(self.progress, 1)
        busy.addWidget(self.stop_button)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.previews = QLabel()  # which live previews each family gets
        self.previews.setWordWrap(True)
        self.previews.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.previews.setStyleSheet("color: palette(mid);")

        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(busy)
        layout.addWidget(self.status)
        layout.addWidget(self.previews)
        layout.addLayout(buttons)
        window.bridge.jobUpdated.connect(self._job_updated)
        self.reload()
        self._show_busy()

    # -- the list --------------------------------------------------------------------------------
    def entries(self) -> list[ModelEntry]:
        try:
            return self.registry.entries()
        except UserError as exc:
            self.status.setText(str(exc))
            return []

    def reload(self) -> None:
        from desktop.engine.diffusion.families import FAMILY_NAMES
        from desktop.engine.diffusion.registry import available

        entries = self.entries()
        self._filling = True
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            present = available(entry)
            cells = (entry.name, FAMILY_NAMES.get(entry.family, entry.family), KIND_TEXT.get(entry.kind, entry.kind),
                     entry.sha256[:12] or "—", entry.location if present else f"{entry.location}  (missing)",
                     entry.added[:10])
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setData(Qt.UserRole, entry.name)
                if column:
                    item.setFlags(item.flags() & ~Qt.ItemIsEditable)
                else:
                    item.setToolTip("Double-click or F2 to rename")
                if column == 3 and entry.sha256:
                    item.setToolTip(entry.sha256)
                if column == 4:
                    item.setToolTip(entry.location if present else
                                    "These files are gone: add the model again from where it now is")
                if not present:
                    item.setForeground(QColor("#e57373"))
                self.table.setItem(row, column, item)
        self._filling = False
        self._show_previews()
        if not entries and not self.pending:
            self.status.setText("No models yet. Add a checkpoint, a diffusers folder or a hub id, "
                                "or drop a file or folder here.")
        self._selection_changed()

    def _show_previews(self) -> None:
        """Live previews come from TAESD where its weights are found, else from the latent factors."""
        from desktop.engine.diffusion.families import FAMILY_NAMES
        from desktop.engine.diffusion.previews import TAESD, find_taesd

        data = self.window.paths.data_dir
        lines = []
        for family, (folder, repo) in TAESD.items():
            found = find_taesd(family, data)
            lines.append(f"{FAMILY_NAMES[family]} previews: TAESD from {found}." if found else
                         f"{FAMILY_NAMES[family]} previews: the latent colours (sharper ones with TAESD: put "
                         f"{repo}'s files in {data / 'models' / folder}).")
        self.previews.setText("\n".join(lines))

    def _selection_changed(self) -> None:
        self.remove_button.setEnabled(bool(self._selected_names()))
        self.undo_button.setEnabled(bool(self._removed))

    def _selected_names(self) -> list[str]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.table.item(row, 0).data(Qt.UserRole) for row in rows]

    def _renamed(self, item: QTableWidgetItem) -> None:
        if self._filling or item.column() != 0:
            return
        old, new = item.data(Qt.UserRole), item.text()
        if new.strip() == old:
            return
        try:
            entry = self.registry.rename(old, new)
        except UserError as exc:
            self.status.setText(f"Not renamed: {exc}.")
        else:
            self.status.setText(f"Renamed {old} to {entry.name}.")
            self.renamed.emit(old, entry.name)
            self.changed.emit()
        self.reload()

    def remove_selected(self) -> None:
        removed, problems = [], []
        for name in self._selected_names():
            try:
                self._removed.append(self.registry.remove(name))
                removed.append(name)
            except UserError as exc:  # removed meanwhile (by the command line, say), or a full disk
                problems.append(f"{name} was not removed: {exc}.")
        text = f"Removed {', '.join(removed)}; the files are untouched. Undo with Ctrl+Z. " if removed else ""
        self.status.setText(text + " ".join(problems))
        if removed:
            self.changed.emit()
        self.reload()

    def undo_remove(self) -> None:
        if not self._removed:
            return
        index, entry = self._removed[-1]
        try:
            restored = self.registry.restore(index, entry)
        except UserError as exc:  # kept for another try
            self.status.setText(f"{entry.name} is not back yet: {exc}.")
            return
        self._removed.pop()
        self.status.setText(f"{restored.name} is back.")
        self.changed.emit()
        self.reload()

    # -- adding ----------------------------------------------------------------------------------
    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a checkpoint", str(Path.home()), CHECKPOINTS)
        if path:
            self.add(path)

    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Add a diffusers model folder", str(Path.home()))
        if path:
            self.add(path)

    def choose_hub_id(self) -> None:
        text, ok = QInputDialog.getText(self, "Add a Hugging Face model", "Model id (owner/name):")
        if ok and text.strip():
            self.add(text.strip())

    def add(self, location: str) -> None:
        """Add a model in the background, after asking about a pickle file (or a folder holding some)."""
        from desktop.engine.diffusion.families import folder_pickles
        from desktop.engine.diffusion.weights import PICKLE_SUFFIXES

        path = Path(location)
        trust = False
        pickled = (path.is_file() and path.suffix.lower() in PICKLE_SUFFIXES) or (path.is_dir() and folder_pickles(path))
        if pickled:
            if not self.confirm_pickle(path):
                self.status.setText(f"{path.name} was not added.")
                return
            trust = True
        registry, name = self.registry, path.name or location

        def run(ctx):
            def hashed(done: int, total: int) -> None:
                ctx.check_cancelled()
                ctx.progress(done, total, f"Hashing {name}")

            ctx.progress(0, 0, f"Reading {name}")
            return registry.add(location, trust_pickle=trust, progress=hashed)

        job = self.window.submit("add-model", run, {"location": location}, lane=Lane.IO, title=f"Adding model {name}",
                                 on_done=self._added, on_failed=lambda message: self._failed(job.id, name, message))
        if job is not None:
            self.pending[job.id] = name
            self._show_busy()

    def confirm_pickle(self, path: Path) -> bool:
        from desktop.engine.diffusion.families import folder_pickles

        what = (f"{path.name} holds pickle files ({', '.join(p.name for p in folder_pickles(path)[:3])})"
                if path.is_dir() else f"{path.name} is a pickle file")
        box = QMessageBox(QMessageBox.Warning, "Trust this file?",
                          f"{what}. Pickle files can run code when they are opened.", QMessageBox.NoButton, self)
        box.setInformativeText("Tessera reads it as tensors only (weights_only=True) and refuses anything else, "
                               "but add it only if you trust where it came from. A .safetensors file "
                               "has no such risk.")
        trust = box.addButton("Trust and add", QMessageBox.AcceptRole)
        box.setDefaultButton(box.addButton(QMessageBox.Cancel))
        box.exec()
        return box.clickedButton() is trust

    def stop_adding(self) -> None:
        for job_id in list(self.pending):
            self.window.queue.cancel(job_id)

    def _added(self, snap: JobSnapshot) -> None:
        from desktop.engine.diffusion.registry import label

        self.pending.pop(snap.id, None)
        entry = snap.result
        text = f"Added {entry.name}: {label(entry)}, {KIND_TEXT.get(entry.kind, entry.kind)}"
        if entry.sha256:
            text += f", sha256 {entry.sha256[:12]}"
            twins = [e.name for e in self.entries() if e.sha256 == entry.sha256 and e.name != entry.name]
            if twins:
                text += f"; the same weights as {', '.join(twins)}"
        self.status.setText(text + ".")
        self.changed.emit()
        self.reload()
        self._show_busy()

    def _failed(self, job_id: int, name: str, message: str) -> None:
        self.pending.pop(job_id, None)
        self.status.setText(f"{name} was not added: {message}")
        self._show_busy()

    def _job_updated(self, snap: JobSnapshot) -> None:
        if snap.id in self.pending and not snap.state.finished:
            fraction = snap.progress.fraction
            self.progress.setRange(0, 1000 if fraction is not None else 0)
            if fraction is not None:
                self.progress.setValue(int(fraction * 1000))
            self.progress.setFormat(snap.progress.message or "Adding…")

    def _show_busy(self) -> None:
        busy = bool(self.pending)
        self.progress.setVisible(busy)
        self.stop_button.setVisible(busy)
        if busy:
            names = list(self.pending.values())
            self.progress.setFormat(f"Adding {names[-1]}…")

    # -- drops -----------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.add(url.toLocalFile())
        event.acceptProposedAction()
