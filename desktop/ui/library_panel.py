"""The Library dock: the library's patterns as a virtualised thumbnail grid, with filters, search,
Lightroom-style keys and drag-and-drop import.

Keys on the grid: P approve, X reject, U unflag (back to draft), 0-5 rating, arrows move,
Space shows the selection large. Drop files or folders to import them; drag patterns out (to a
folder, another program) to copy them, each named for its title. The catalogue (SQLite +
vector index) is the source; when it cannot be opened (another Tessera holds it, say) the dock
falls back to the folder of PNGs that Tessera writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QAbstractListModel,
    QItemSelectionModel,
    QMimeData,
    QModelIndex,
    QSize,
    Qt,
    QUrl,
    Signal,
)
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.library.titles import tile_title
from desktop.ui.images import thumbnail

THUMB = 128
STATUS_KEYS = {Qt.Key_P: "approved", Qt.Key_X: "rejected", Qt.Key_U: "draft"}
RATING_KEYS = {getattr(Qt, f"Key_{n}"): n for n in range(6)}
# the grid's keys as Help ▸ Keyboard shortcuts lists them (Lightroom's)
GRID_KEYS = (("P", "Approve the selected patterns"), ("X", "Reject them"), ("U", "Back to draft"),
             ("0 … 5", "Rate them (0 clears)"), ("Space", "Large view of the selected pattern, and back"),
             ("C", "Compare the selected, side by side, each repeating"),
             ("F2", "Rename the pattern shown (its title, and its listing's name)"),
             ("Del", "Move the selected to the trash (in the trash: delete for good)"),
             ("Drag out", "Copy the selected to a folder or another program, each named for its title"))
DRAG_FORMAT = "application/x-tessera-patterns"  # what marks a drag that came out of this grid


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
    tags: list[str] = field(default_factory=list)
    score: float | None = None  # similarity, when the grid shows search results
    title: str = ""  # the catalogue's title (an imported file's name), when it has one


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


def entries_for_hits(lib, hits: list[dict[str, Any]]) -> list[TileEntry]:
    """Search results as grid entries, best first, with their similarity."""
    from PIL import Image

    entries = []
    for hit in hits:
        item = lib.get(hit["id"])
        with Image.open(lib.thumbnail(item, side=THUMB)) as img:
            thumb = np.asarray(img.convert("RGB"))
        meta = {"style": item["provenance"].get("style"), "repeat": item["repeat"]} if item["provenance"] else {}
        entries.append(TileEntry(item["file"], thumb, {k: v for k, v in meta.items() if v}, pattern_id=item["id"],
                                 status=item["status"], rating=item["rating"], tags=item["tags"],
                                 score=hit["similarity"], title=item["title"]))
    return entries


def read_library(lib, limit: int = 20_000, ctx=None, **filters) -> list[TileEntry]:
    """The catalogue's newest patterns with cached thumbnails (runs on the I/O lane)."""
    from PIL import Image

    items = lib.browse(limit=limit, **filters)
    entries = []
    for i, item in enumerate(items):
        try:
            with Image.open(lib.thumbnail(item, side=THUMB)) as img:
                thumb = np.asarray(img.convert("RGB"))
        except (OSError, ValueError):
            continue
        entries.append(TileEntry(item["file"], thumb, item["metadata"], pattern_id=item["id"],
                                 status=item["status"], rating=item["rating"], tags=item["tags"],
                                 title=item["title"]))
        if ctx is not None and i % 50 == 0:
            ctx.progress(i + 1, len(items), "Reading the library")
    return entries


TRASH = "Trash"  # the status filter's entry that lists the trash


class LibraryModel(QAbstractListModel):
    """Entries for a QListView; pixmaps are made only for rows the view asks for."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.entries: list[TileEntry] = []
        self._icons: dict[int, QIcon] = {}
        self.drag_folder: Path | None = None  # where dragged-out copies are named (None: the files as stored)

    def flags(self, index: QModelIndex):
        flags = super().flags(index)
        return flags | Qt.ItemIsDragEnabled if index.isValid() else flags

    def mimeTypes(self) -> list[str]:
        return ["text/uri-list", DRAG_FORMAT]

    def supportedDragActions(self):
        return Qt.CopyAction

    def mimeData(self, indexes) -> QMimeData:
        """The dragged patterns as files: copies named for their titles (the store's own files are
        named by their hash, and must not be edited where they lie), and their ids."""
        entries = [self.entries[i.row()] for i in sorted(indexes, key=lambda i: i.row()) if i.isValid()]
        files = [e for e in entries if e.path and Path(e.path).is_file()]
        data = QMimeData()
        data.setUrls([QUrl.fromLocalFile(str(p)) for p in _named_copies(files, self.drag_folder)])
        data.setData(DRAG_FORMAT, ",".join(str(e.pattern_id) for e in entries if e.pattern_id).encode())
        return data

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self.entries)

    def data(self, index: QModelIndex, role: int = Qt.DisplayRole):
        if not index.isValid():
            return None
        entry = self.entries[index.row()]
        if role == Qt.DisplayRole:
            return _caption(entry)
        if role == Qt.DecorationRole:
            key = id(entry)
            if key not in self._icons:
                if len(self._icons) > 2000:
                    self._icons.clear()
                pixmap = thumbnail(entry.thumb, THUMB)
                icon = QIcon(pixmap)
                icon.addPixmap(pixmap, QIcon.Mode.Selected)  # true colours when selected: no tint over the tile
                self._icons[key] = icon
            return self._icons[key]
        if role == Qt.ToolTipRole:
            return entry.path or ""
        if role == Qt.UserRole:
            return entry
        return None

    def set_entries(self, entries: list[TileEntry]) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self._icons.clear()
        self.endResetModel()

    def prepend(self, entries: list[TileEntry]) -> None:
        known = {e.path for e in self.entries if e.path}
        fresh = [e for e in entries if not e.path or e.path not in known]
        if fresh:
            self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
            self.entries[:0] = fresh
            self.endInsertRows()

    def remove(self, pattern_ids: set[int]) -> int:
        """Take these patterns' rows out; the first row they held, or -1 when none was shown."""
        rows = [r for r, e in enumerate(self.entries) if e.pattern_id in pattern_ids]
        for row in reversed(rows):  # one signal per row, from the end: the rows before stay put
            self.beginRemoveRows(QModelIndex(), row, row)
            del self.entries[row]
            self.endRemoveRows()
        return rows[0] if rows else -1

    def refresh(self, pattern_id: int, **changes) -> None:
        for row, entry in enumerate(self.entries):
            if entry.pattern_id == pattern_id:
                for name, value in changes.items():
                    setattr(entry, name, value)
                index = self.index(row)
                self.dataChanged.emit(index, index, [Qt.DisplayRole])


NOTHING_SELECTED = "Nothing is selected in the grid: click a pattern (or press Home) first."


class LibraryView(QListView):
    """The grid, with the curation keys; drops come up to the panel."""

    statusKey = Signal(str)
    ratingKey = Signal(int)
    largeView = Signal()
    trashKey = Signal()
    compareKey = Signal()
    renameKey = Signal()

    def keyPressEvent(self, event) -> None:
        key = event.key()
        if key in (Qt.Key_Delete, Qt.Key_Backspace) and not event.modifiers():
            self.trashKey.emit()  # (Edit ▸ Move to trash's shortcut takes it first, in an active window)
            return
        if key in STATUS_KEYS and not event.modifiers():
            self.statusKey.emit(STATUS_KEYS[key])
        elif key in RATING_KEYS and not event.modifiers():
            self.ratingKey.emit(RATING_KEYS[key])
        elif key == Qt.Key_Space:
            self.largeView.emit()
        elif key == Qt.Key_C and not event.modifiers():
            self.compareKey.emit()
        elif key == Qt.Key_F2:
            self.renameKey.emit()
        else:
            super().keyPressEvent(event)


class LibraryPanel(QWidget):
    tileSelected = Signal(object)  # TileEntry
    statusRequested = Signal(list, str)  # pattern ids, status
    ratingRequested = Signal(list, int)  # pattern ids, rating
    filtersChanged = Signal(dict)
    textSearchRequested = Signal(str)
    moreLikeThisRequested = Signal(object)  # TileEntry
    importRequested = Signal(list)  # paths
    imageSearchRequested = Signal(str)  # path of an image dropped on the search field
    largeViewRequested = Signal()
    trash_count_known = Signal(int)  # how many patterns the trash holds (emitted from any thread)
    compareRequested = Signal()  # C in the grid: compare the selection
    renameRequested = Signal()  # F2 in the grid: the title of the pattern shown
    trashRequested = Signal()  # Delete in the grid: the selection to the trash (in the trash: for good)
    hint = Signal(str)  # a curation key pressed with nothing selected: what to do instead

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._quiet = False  # a selection moved without showing what it lands on
        self.header = QLabel("")
        self.header.setStyleSheet("color: #9a9aa0; padding: 2px 4px;")
        self.header.setWordWrap(True)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search by meaning (needs CLIP), or drop an image here…")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(lambda: self.textSearchRequested.emit(self.search.text().strip()))
        self.search.installEventFilter(self)
        self.more_like = QToolButton(text="More like this")
        self.more_like.setToolTip("Patterns that look like the selected one")
        self.more_like.clicked.connect(self.more_like_selected)
        self.sort = QComboBox()
        from desktop.library import SORTS

        for key, (text, tip) in zip(SORTS, (("Newest", "Newest first (in the trash: the latest trashed)"),
                                            ("Oldest", "Oldest first"), ("Rating", "Highest rated first"),
                                            ("Title", "By title, A to Z"),
                                            ("Changed", "The latest rated, flagged or tagged first"))):
            self.sort.addItem(text, key)
            self.sort.setItemData(self.sort.count() - 1, tip, Qt.ToolTipRole)
        self.sort.setToolTip("The grid's order (search results are in order of likeness)")
        self.sort.setMaximumWidth(96)
        self.status_filter = QComboBox()
        self.status_filter.addItem("All statuses", None)
        for status in ("draft", "approved", "rejected", "published"):
            self.status_filter.addItem(status, status)
        self.status_filter.insertSeparator(self.status_filter.count())
        self.status_filter.addItem(TRASH, TRASH)
        self.status_filter.setItemData(self.status_filter.count() - 1,
                                       "What was moved to the trash: Delete deletes it for good, "
                                       "Edit ▸ Restore brings it back", Qt.ToolTipRole)
        self.rating_filter = QComboBox()
        self.rating_filter.addItems(["Any rating"] + [f"{'★' * n}+" for n in range(1, 6)])
        self.tag_filter = QLineEdit()
        self.tag_filter.setPlaceholderText("tag")
        self.tag_filter.setMaximumWidth(110)
        self.colour_filter = QComboBox()
        self.colour_filter.addItem("Any colour", None)
        from desktop.library.tagging import colour_names

        for name, hex_colour in colour_names().items():
            self.colour_filter.addItem(name, name)
            self.colour_filter.setItemData(self.colour_filter.count() - 1, _swatch_icon(hex_colour), Qt.DecorationRole)
        self.colour_filter.setToolTip("Patterns in which this colour is a main colour (from their colour tags)")
        self.collection_filter = QComboBox()
        self.collection_filter.addItem("All collections", None)
        for widget in (self.status_filter, self.rating_filter, self.colour_filter, self.collection_filter, self.sort):
            widget.currentIndexChanged.connect(self._filters_changed)
            # as narrow as the dock needs (the list still shows whole names): the filters' longest
            # names would otherwise set the dock's least width and squeeze the Brief
            widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            widget.setMinimumContentsLength(6)
        self.tag_filter.editingFinished.connect(self._filters_changed)

        self.model = LibraryModel(self)
        self.list = LibraryView()
        self.list.setModel(self.model)
        self.list.setViewMode(QListView.IconMode)
        self.list.setIconSize(QSize(THUMB, THUMB))
        self.list.setGridSize(QSize(THUMB + 24, THUMB + 44))
        self.list.setResizeMode(QListView.Adjust)
        self.list.setMovement(QListView.Static)
        self.list.setUniformItemSizes(True)
        self.list.setLayoutMode(QListView.Batched)
        self.list.setBatchSize(200)
        self.list.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.list.setDragEnabled(True)
        self.list.setDragDropMode(QAbstractItemView.DragOnly)
        self.list.setDefaultDropAction(Qt.CopyAction)
        self.list.selectionModel().currentChanged.connect(self._current_changed)
        self.list.statusKey.connect(lambda status: self._for_selection(self.statusRequested, status))
        self.list.ratingKey.connect(lambda rating: self._for_selection(self.ratingRequested, rating))
        self.list.largeView.connect(self.largeViewRequested)
        self.list.trashKey.connect(self.trashRequested)
        self.list.compareKey.connect(self.compareRequested)
        self.list.renameKey.connect(self.renameRequested)
        self.trash_count_known.connect(self._show_trash_count)

        search_row = QHBoxLayout()
        search_row.addWidget(self.search, 1)
        search_row.addWidget(self.sort)
        search_row.addWidget(self.more_like)
        filter_row = QHBoxLayout()
        for widget in (self.status_filter, self.rating_filter, self.colour_filter, self.tag_filter,
                       self.collection_filter):
            filter_row.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(search_row)
        layout.addLayout(filter_row)
        layout.addWidget(self.header)
        layout.addWidget(self.list, 1)
        self.folder: Path | None = None
        self.set_folder(None)

    # -- content -----------------------------------------------------------------------------
    def set_folder(self, folder: Path | None) -> None:
        self.folder = folder
        self._update_header()

    def set_collections(self, names: list[str]) -> None:
        current = self.collection_filter.currentData()
        self.collection_filter.blockSignals(True)
        self.collection_filter.clear()
        self.collection_filter.addItem("All collections", None)
        for name in names:
            self.collection_filter.addItem(name, name)
        self.collection_filter.setCurrentIndex(max(0, self.collection_filter.findData(current)))
        self.collection_filter.blockSignals(False)

    def _update_header(self, note: str = "") -> None:
        where = f" in {self.folder}" if self.folder else ""
        if self.status_filter.currentData() == TRASH and not note:
            note = (f"{self.model.rowCount()} pattern(s) in the trash · Delete deletes for good, "
                    "Ctrl+Shift+T restores" if self.model.rowCount() else "The trash is empty.")
        self.header.setText(note or f"{self.model.rowCount()} patterns{where}")
        self.header.setToolTip("")

    def show_entries(self, entries: list[TileEntry], note: str = "") -> None:
        self.model.set_entries(entries)
        self._update_header(note)

    def add_entries(self, entries: list[TileEntry], at_top: bool = True) -> None:
        if at_top:
            self.model.prepend(list(entries))
        else:
            self.model.set_entries(self.model.entries + list(entries))
        self._update_header()

    def count(self) -> int:
        return self.model.rowCount()

    def select_row(self, row: int) -> None:
        if 0 <= row < self.model.rowCount():
            self.list.setCurrentIndex(self.model.index(row))

    def reveal(self, entry: TileEntry) -> None:
        """Make the grid's selection what the Preview shows (a pattern opened from Compare or
        Duplicates, a derived tile, a file): its tile, scrolled to, where the grid holds it; else
        nothing selected. So a curation key never acts on a pattern other than the one shown.
        Quiet: the window is already showing it. A tile shown from the grid keeps its selection."""
        current = self.list.currentIndex()

        def same(other: TileEntry) -> bool:
            if other is entry:
                return True
            if entry.pattern_id is not None:
                return other.pattern_id == entry.pattern_id
            return entry.path is not None and other.pattern_id is None and other.path == entry.path

        if current.isValid() and same(self.model.entries[current.row()]):
            return
        row = next((i for i, other in enumerate(self.model.entries) if same(other)), None)
        self._quiet = True
        try:
            if row is None:
                self.list.selectionModel().clear()
            else:
                index = self.model.index(row)
                self.list.selectionModel().setCurrentIndex(index, QItemSelectionModel.ClearAndSelect)
                self.list.scrollTo(index)
        finally:
            self._quiet = False

    def select_first(self) -> None:
        self.select_row(0)

    def selected_entries(self) -> list[TileEntry]:
        rows = sorted(i.row() for i in self.list.selectionModel().selectedIndexes())
        if not rows and self.list.currentIndex().isValid():
            rows = [self.list.currentIndex().row()]
        return [self.model.entries[r] for r in rows]

    def show_trash(self) -> None:
        self.status_filter.setCurrentIndex(self.status_filter.findData(TRASH))

    def _show_trash_count(self, count: int) -> None:
        """The status filter's Trash entry says how many patterns it holds."""
        self.status_filter.setItemText(self.status_filter.findData(TRASH), f"{TRASH} ({count})" if count else TRASH)

    def remove_patterns(self, pattern_ids: set[int], show_next: bool = True) -> None:
        """Take these patterns out of the grid (moved to the trash, or out of it). Where the
        current pattern was among them, the selection moves on to the pattern after them and
        shows it; or, with `show_next` False (the user has asked for another pattern since, and
        that one stays in the Preview), the grid is left with nothing selected, so a click on any
        tile opens it. A current pattern that stays keeps the selection."""
        pattern_ids = set(pattern_ids)
        current = self.list.currentIndex()
        lost = current.isValid() and self.model.entries[current.row()].pattern_id in pattern_ids
        self._quiet = not show_next
        try:
            row = self.model.remove(pattern_ids)
            if lost and show_next:
                self.select_row(min(row, self.model.rowCount() - 1))
            elif lost:
                self.list.selectionModel().clear()
        finally:
            self._quiet = False
        self._update_header()

    def apply_changes(self, changes, show_next: bool = True) -> bool:
        """Show what one library operation changed (a ChangeSet), touching only the rows it names:
        new states, patterns leaving the view shown, the collections and the trash's count. True
        where patterns join the view shown (or the shown collection changed), whose places only a
        fresh read knows: the caller reads the grid again."""
        collection = self.collection_filter.currentData()  # (before the list changes: it may go)
        if changes.collection_names is not None:
            self.set_collections(changes.collection_names)
        if changes.trash_count is not None:
            self._show_trash_count(changes.trash_count)
        for pid, state in changes.states.items():
            self.model.refresh(pid, status=state["status"], rating=state["rating"], title=state["title"],
                               tags=sorted({*state["tags"], *state.get("auto", ())}))
        in_trash = self.status_filter.currentData() == TRASH
        leaving = {*changes.removed, *(changes.restored if in_trash else changes.trashed)}
        if leaving & {e.pattern_id for e in self.model.entries}:
            self.remove_patterns(leaving, show_next)
        joining = changes.trashed if in_trash else [*changes.restored, *changes.added]
        shown = {e.pattern_id for e in self.model.entries}
        return changes.unknown or any(pid not in shown for pid in joining) or (
            collection is not None and (collection in changes.collections or
                                        collection not in (changes.collection_names or [collection])))

    def filters(self) -> dict[str, Any]:
        status = self.status_filter.currentData()
        return {"status": None if status == TRASH else status,
                "trashed": status == TRASH, "sort": self.sort.currentData(),
                "min_rating": self.rating_filter.currentIndex(),
                "tag": [t for t in (self.tag_filter.text().strip().lower(), self.colour_filter.currentData()) if t]
                or None,
                "collection": self.collection_filter.currentData()}

    # -- signals out ----------------------------------------------------------------------------
    def _for_selection(self, signal, value) -> None:
        ids = [e.pattern_id for e in self.selected_entries() if e.pattern_id is not None]
        if ids:
            signal.emit(ids, value)
        elif self.model.rowCount():
            self.hint.emit(NOTHING_SELECTED)

    def _filters_changed(self, *args) -> None:
        self.filtersChanged.emit(self.filters())

    def more_like_selected(self) -> None:
        entries = self.selected_entries()
        if entries:
            self.moreLikeThisRequested.emit(entries[0])

    def _current_changed(self, current: QModelIndex, previous) -> None:
        if current.isValid() and not self._quiet:
            self.tileSelected.emit(self.model.entries[current.row()])

    # -- drag and drop ----------------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:
        """An image dropped on the search field searches by that image instead of importing it."""
        from PySide6.QtCore import QEvent

        if obj is self.search and event.type() in (QEvent.DragEnter, QEvent.Drop) and event.mimeData().hasUrls():
            event.acceptProposedAction()
            if event.type() == QEvent.Drop:
                path = event.mimeData().urls()[0].toLocalFile()
                self.search.setText(f"like: {Path(path).name}")
                self.imageSearchRequested.emit(path)
            return True
        return super().eventFilter(obj, event)

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls() and not event.mimeData().hasFormat(DRAG_FORMAT):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        if event.mimeData().hasFormat(DRAG_FORMAT):  # the grid's own patterns, dropped back: nothing to import
            event.ignore()
            return
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.importRequested.emit(paths)


def _named_copies(entries: list[TileEntry], folder: Path | None) -> list[Path]:
    """Copies of the entries' files in a fresh subfolder of `folder`, each named as an export
    names it (`000003-moss.png`); the files themselves where there is no folder or a copy cannot
    be made (a full disk). Subfolders of earlier drags are removed after an hour."""
    import shutil
    import tempfile
    import time

    from desktop.library.titles import file_stem, pattern_stem

    if folder is None:
        return [Path(e.path) for e in entries]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():  # earlier drags' copies: what they went to has long read them
            if time.time() - old.stat().st_mtime > 3600:
                shutil.rmtree(old, ignore_errors=True)
        here = Path(tempfile.mkdtemp(dir=folder))
        out = []
        for entry in entries:
            source = Path(entry.path)
            title = entry.title or tile_title(entry.metadata or {})
            name = pattern_stem(entry.pattern_id, title) if entry.pattern_id is not None else file_stem(title)
            target = here / f"{name}{source.suffix}"
            shutil.copyfile(source, target)
            out.append(target)
        return out
    except OSError:
        return [Path(e.path) for e in entries]


def _swatch_icon(hex_colour: str) -> QIcon:
    from PySide6.QtGui import QColor, QPixmap

    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(hex_colour))
    return QIcon(pixmap)


def _caption(entry: TileEntry) -> str:
    meta = entry.metadata
    if entry.pattern_id is not None and entry.title and entry.title != tile_title(meta):
        first = _elide_middle(entry.title)  # a title someone gave it (or its file's name)
    elif meta.get("title"):  # a title of its own (a colourway's: its source's and its palette's)
        first = _elide_middle(str(meta["title"]))
    elif meta.get("style"):
        first = f"{meta['style']} · {meta.get('repeat', '')}"
    elif entry.title:  # a content-addressed file's name says nothing; its title does
        first = entry.title if len(entry.title) <= 22 else entry.title[:21].rstrip() + "…"
    else:
        first = Path(entry.path).stem[:18] if entry.path else "tile"
    if entry.score is not None:
        return f"{first}\n{entry.score:.3f} similar"
    badge = f"{entry.status} {'★' * entry.rating}".strip() if entry.pattern_id else ""
    if badge:
        return f"{first}\n{badge}"
    return f"{first}\nseed {meta['seed']}" if meta.get("seed") is not None else first


def _elide_middle(text: str, width: int = 22) -> str:
    """Both ends of a long title ("fabric-gin…· indigo-dye"): its start and what set it apart."""
    if len(text) <= width:
        return text
    head = (width - 1) // 2
    return text[:head].rstrip() + "…" + text[-(width - 1 - head):].lstrip()
