"""The Library dock: the library's patterns, newest first, as thumbnails.

The catalogue (SQLite + vector index) is the source; when it cannot be opened (another
Tessera holds it, say) the dock falls back to the folder of PNGs that Tessera writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QLabel, QListView, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from desktop.ui.images import thumbnail

THUMB = 128


@dataclass
class TileEntry:
    """A tile the Library dock can show: its thumbnail pixels and what it knows about it."""

    path: str | None
    thumb: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    image: np.ndarray | None = None  # full pixels when already in memory
    pattern_id: int | None = None  # set when the tile is in the catalogue
    status: str = ""
    rating: int = 0


def read_library(lib, limit: int = 5000, ctx=None) -> list[TileEntry]:
    """The catalogue's newest patterns with cached thumbnails (runs on the I/O lane)."""
    from PIL import Image

    items = lib.browse(limit=limit)
    entries = []
    for i, item in enumerate(items):
        try:
            with Image.open(lib.thumbnail(item)) as img:
                thumb = np.asarray(img.convert("RGB"))
        except (OSError, ValueError):
            continue
        entries.append(TileEntry(item["file"], thumb, item["metadata"], pattern_id=item["id"],
                                 status=item["status"], rating=item["rating"]))
        if ctx is not None and i % 50 == 0:
            ctx.progress(i + 1, len(items), "Reading the library")
    return entries


def scan_folder(folder: Path, limit: int = 500, ctx=None) -> list[TileEntry]:
    """Thumbnails and metadata of the newest PNGs in a folder (runs on the I/O lane)."""
    from PIL import Image

    from desktop.engine.images import read_metadata

    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.png"), key=lambda p: p.stat().st_mtime, reverse=True)[:limit]
    entries = []
    for i, path in enumerate(files):
        try:
            with Image.open(path) as img:
                img.thumbnail((THUMB, THUMB))
                thumb = np.asarray(img.convert("RGB"))
            entries.append(TileEntry(str(path), thumb, read_metadata(path)))
        except (OSError, ValueError):
            continue  # an unreadable file is skipped, not fatal
        if ctx is not None:
            ctx.progress(i + 1, len(files), f"Reading {folder.name}")
    return entries


class LibraryPanel(QWidget):
    tileSelected = Signal(object)  # TileEntry

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.header = QLabel("")
        self.header.setStyleSheet("color: #9a9aa0; padding: 2px 4px;")
        self.header.setWordWrap(True)
        self.list = QListWidget()
        self.list.setViewMode(QListView.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setResizeMode(QListView.Adjust)
        self.list.setMovement(QListView.Static)
        self.list.setUniformItemSizes(True)
        self.list.setSpacing(6)
        self.list.setSelectionMode(QListWidget.ExtendedSelection)
        self.list.currentItemChanged.connect(self._current_changed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.header)
        layout.addWidget(self.list, 1)
        self.set_folder(None)

    def set_folder(self, folder: Path | None) -> None:
        self.folder = folder
        self._update_header()

    def _update_header(self) -> None:
        where = f" in {self.folder}" if self.folder else ""
        self.header.setText(f"{self.list.count()} tiles{where}")

    def add_entries(self, entries: list[TileEntry], at_top: bool = True) -> None:
        known = {self.list.item(i).data(Qt.UserRole).path for i in range(self.list.count())}
        for entry in (reversed(entries) if at_top else entries):
            if entry.path and entry.path in known:
                continue
            item = QListWidgetItem(QIcon(thumbnail(entry.thumb, THUMB)), _caption(entry))
            item.setData(Qt.UserRole, entry)
            item.setToolTip(entry.path or "")
            if at_top:
                self.list.insertItem(0, item)
            else:
                self.list.addItem(item)
        self._update_header()

    def select_first(self) -> None:
        if self.list.count():
            self.list.setCurrentRow(0)

    def _current_changed(self, current: QListWidgetItem | None, previous) -> None:
        if current is not None:
            self.tileSelected.emit(current.data(Qt.UserRole))


def _caption(entry: TileEntry) -> str:
    meta = entry.metadata
    badge = f"{entry.status} {'★' * entry.rating}".strip() if entry.pattern_id else ""
    if meta.get("style"):
        first = f"{meta['style']} · {meta.get('repeat', '')}"
    else:
        first = Path(entry.path).stem[:18] if entry.path else "tile"
    return f"{first}\n{badge or 'seed ' + str(meta.get('seed', '?'))}"
