"""The listing editor: before patterns are queued, each listing as it will go, editable, one or many at a time.

Left, the patterns with a mark for each listing that breaks the marketplace profile's limits; right,
the chosen pattern's title, tags and description with their counts against the limits, its print
size, the mockups that go with it, and how it was made (the AI disclosure, kept in the description).
"Add to every listing" puts tags on all of them at once. Queueing keeps every edited listing (what
publishing sends) and queues the patterns; it is refused, naming the listing and the limit, while any
listing breaks one. The listings are drafted on the I/O lane (desktop/library/listings.py); no Qt
below this file.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.theme import error_label


class ListingEditor(QDialog):
    """`listings`: desktop.library.listings.Listing for each pattern, as they stand (drafted or reviewed)."""

    def __init__(self, listings: list, profile, profiles: list[str], mockups: list[str],
                 parent: QWidget | None = None, request_mockups=None):
        super().__init__(parent)
        # request_mockups(pattern_id): render the listing's mockups off the UI thread, then show_mockups()
        self.request_mockups, self.mockup_images, self.asked = request_mockups, {}, set()
        self.setWindowTitle(f"Listings for {profile.label}")
        self.listings, self.profile, self.edited_ids = listings, profile, set()
        self.switch_to = ""  # another profile chosen: the listings are drafted again for it
        self.profile_box = QComboBox()
        self.profile_box.addItems(profiles)
        self.profile_box.setCurrentText(profile.name)
        self.profile_box.currentTextChanged.connect(self._switch)
        self.profile_box.setToolTip("The marketplace whose limits the listings keep (resources/marketplaces)")
        self.patterns = QListWidget()
        self.patterns.setMinimumWidth(240)
        self.title = QLineEdit()
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("comma-separated")
        self.description = QPlainTextEdit()
        self.counts = {name: QLabel() for name in ("title", "tags", "description")}
        self.print_size, self.made, self.mockups = QLabel(), QLabel(), QLabel(", ".join(mockups) or "none")
        self.mockup_row = QHBoxLayout()  # the mockups themselves, as they will go with the listing
        self.mockup_views = []
        for label in (self.print_size, self.made, self.mockups):
            label.setWordWrap(True)
        self.all_tags = QLineEdit()
        self.all_tags.setPlaceholderText("tags for every listing, comma-separated")
        add_all = QPushButton("Add to every listing")
        add_all.clicked.connect(self.add_tags_to_all)
        self.problems = error_label()
        form = QFormLayout()
        for name, widget in (("Title", self.title), ("Tags", self.tags)):
            row = QHBoxLayout()
            row.addWidget(widget, 1)
            row.addWidget(self.counts[name.lower()])
            form.addRow(name, row)
        form.addRow("Description", self.description)
        form.addRow("", self.counts["description"])
        form.addRow("Print size", self.print_size)
        form.addRow("Mockups", self.mockups)
        form.addRow("", self.mockup_row)
        form.addRow("How it was made", self.made)
        many = QHBoxLayout()
        many.addWidget(self.all_tags, 1)
        many.addWidget(add_all)
        right = QVBoxLayout()
        right.addLayout(form)
        right.addLayout(many)
        right.addWidget(self.problems)
        body = QHBoxLayout()
        body.addWidget(self.patterns)
        body.addLayout(right, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.queue_button = self.buttons.addButton("&Queue and publish", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        top = QHBoxLayout()
        top.addWidget(QLabel("Marketplace"))
        top.addWidget(self.profile_box)
        top.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(body, 1)
        layout.addWidget(self.buttons)
        for listing in listings:
            item = QListWidgetItem(f"#{listing.pattern_id}  {listing.title}")
            item.setData(Qt.ItemDataRole.UserRole, listing.pattern_id)
            self.patterns.addItem(item)
        self._shown = None
        self.patterns.currentRowChanged.connect(self._show)
        for widget in (self.title, self.tags):
            widget.textEdited.connect(self._edited)
        self.description.textChanged.connect(self._edited)
        self.patterns.setCurrentRow(0)
        self._marks()
        self.resize(960, 560)

    def _switch(self, name: str) -> None:
        if name and name != self.profile.name:
            self.switch_to = name
            self.reject()

    # -- one listing at a time ----------------------------------------------------------------------
    def _show(self, row: int) -> None:
        self._shown = None  # (the fields are being filled: no edit to record)
        listing = self.listings[row]
        self.title.setText(listing.title)
        self.tags.setText(", ".join(listing.tags))
        self.description.setPlainText(listing.description)
        self.print_size.setText(listing.print_size)
        self.made.setText(listing.disclosure + f" (IPTC {listing.digital_source_type})")
        self._shown = row
        self._check()
        self._show_mockups(listing.pattern_id)

    # -- the mockups, rendered on request, shown when they come ---------------------------------------
    def _show_mockups(self, pattern_id: int) -> None:
        from PySide6.QtGui import QPixmap

        for view in self.mockup_views:
            view.deleteLater()
        self.mockup_views = []
        images = self.mockup_images.get(pattern_id)
        if images is None:
            if self.request_mockups is not None and pattern_id not in self.asked:
                self.asked.add(pattern_id)
                self.request_mockups(pattern_id)
            return
        for product, data in images:
            view = QLabel()
            pixmap = QPixmap()
            pixmap.loadFromData(data)
            view.setPixmap(pixmap.scaled(150, 150, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.SmoothTransformation))
            view.setToolTip(f"{product}: one tile at its printed size")
            self.mockup_row.addWidget(view)
            self.mockup_views.append(view)

    def show_mockups(self, pattern_id: int, images: list[tuple[str, bytes]]) -> None:
        """The rendered mockups of a listing (product, JPEG bytes), shown if it is the one on screen."""
        self.mockup_images[pattern_id] = images
        row = self.patterns.currentRow()
        if 0 <= row < len(self.listings) and self.listings[row].pattern_id == pattern_id:
            self._show_mockups(pattern_id)

    def _edited(self) -> None:
        if self._shown is None:
            return
        from desktop.library.listings import edited

        listing = self.listings[self._shown]
        self.listings[self._shown] = edited(listing, {"title": self.title.text(), "tags": self.tags.text(),
                                                      "description": self.description.toPlainText()})
        self.edited_ids.add(listing.pattern_id)
        self._check()

    def _check(self) -> None:
        from desktop.library.listings import problems

        row = self.patterns.currentRow()
        listing, limits = self.listings[row], self.profile
        listing.problems = problems(listing, limits)
        self.counts["title"].setText(f"{len(listing.title)}/{limits.title_max}")
        self.counts["tags"].setText(f"{len(listing.tags)}/{limits.tags_max}")
        self.counts["description"].setText(f"{len(listing.description)}/{limits.description_max} characters")
        self.problems.setText("; ".join(listing.problems).capitalize())
        self._marks()

    def _marks(self) -> None:
        from desktop.library.listings import problems

        warn = self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        broken = 0
        for row, listing in enumerate(self.listings):
            listing.problems = problems(listing, self.profile)
            item = self.patterns.item(row)
            item.setText(f"#{listing.pattern_id}  {listing.title}")
            item.setIcon(warn if listing.problems else self.style().standardIcon(
                QStyle.StandardPixmap.SP_DialogApplyButton))
            item.setToolTip("; ".join(listing.problems) or "within the limits")
            broken += bool(listing.problems)
        self.queue_button.setEnabled(True)  # a press says which listing and which limit (rather than a grey button)
        self.queue_button.setToolTip(f"{broken} listing{'s' * (broken != 1)} break a limit" if broken else
                                     "Keep the edited listings and queue the patterns")

    # -- many at once ----------------------------------------------------------------------------------
    def add_tags_to_all(self) -> None:
        from desktop.library.listings import edited

        extra = [t for t in self.all_tags.text().split(",") if t.strip()]
        if not extra:
            return
        for row, listing in enumerate(self.listings):
            self.listings[row] = edited(listing, {"tags": [*listing.tags, *extra]})
            self.edited_ids.add(listing.pattern_id)
        self.all_tags.clear()
        self._show(self.patterns.currentRow())

    def accept(self) -> None:
        broken = [listing for listing in self.listings if listing.problems]
        if broken:
            first = broken[0]
            self.patterns.setCurrentRow(self.listings.index(first))
            self.problems.setText(f"#{first.pattern_id} breaks {self.profile.label}'s limits: "
                                  + "; ".join(first.problems) + (f" (and {len(broken) - 1} more listings)"
                                                                 if len(broken) > 1 else ""))
            return
        super().accept()

    def to_keep(self) -> list:
        """The listings a person edited: kept as reviewed when the patterns are queued."""
        return [listing for listing in self.listings if listing.pattern_id in self.edited_ids]
