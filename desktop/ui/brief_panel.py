"""The Brief dock: what to make. Engine, style and its options, palette, repeat, size, seed."""

from __future__ import annotations

import random

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.engine.generate import GenerateRequest, ModelSettings
from desktop.engine.procedural import STYLES, Param, Style
from desktop.errors import UserError
from desktop.palettes import DEFAULT_PALETTE, Palette, load_named, palette_names, parse_palette
from desktop.repeat import Repeat, size_steps, snap_to_step
from desktop.ui.theme import error_label

CUSTOM = "Custom"
# what the file dialog of an image option offers, where not every image will do
_IMAGE_FILES = {"motif_path": "Images with transparency (*.png *.webp *.tif *.tiff)"}


class SizeSpin(QSpinBox):
    """A tile side in pixels that takes only multiples of its step: the arrows move between them, and
    a typed size between two is put on the nearest when the field is left."""

    def __init__(self):
        super().__init__()
        self.step = 1
        self.setRange(16, 8192)
        self.setSingleStep(64)
        self.setValue(1024)
        self.setSuffix(" px")

    def set_step(self, step: int) -> None:
        self.step = max(1, int(step))
        self.setSingleStep(max(64, self.step))
        if self.value() % self.step:
            self.setValue(snap_to_step(self.value(), self.step))

    def validate(self, text: str, pos: int):
        state, text, pos = super().validate(text, pos)
        if state == QValidator.State.Acceptable and self.valueFromText(text) % self.step:
            state = QValidator.State.Intermediate
        return state, text, pos

    def fixup(self, text: str) -> str:
        digits = "".join(ch for ch in text if ch.isdigit())
        return self.textFromValue(snap_to_step(int(digits), self.step)) if digits else text


class SwatchStrip(QWidget):
    """A row of palette colours (with their shares when the palette was extracted)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.palette_: Palette | None = None
        self.setMinimumHeight(22)

    def set_palette(self, palette: Palette | None) -> None:
        self.palette_ = palette
        self.setToolTip(", ".join(palette.hex) if palette else "")
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(200, 24)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        if not self.palette_:
            return
        colors = self.palette_.colors
        weights = self.palette_.weights or tuple(1.0 / len(colors) for _ in colors)
        x = 0.0
        for (r, g, b), w in zip(colors, weights):
            width = self.width() * w / sum(weights)
            painter.fillRect(int(x), 0, round(x + width) - int(x), self.height(), QColor(r, g, b))
            x += width


class ImagePathEdit(QLineEdit):
    """An image option's field: typed, or an image file dropped on it (not into the library)."""

    def dragEnterEvent(self, event) -> None:
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.setText(paths[0])
        else:
            super().dropEvent(event)


class BriefPanel(QWidget):
    generateRequested = Signal(object)  # GenerateRequest
    extractPaletteRequested = Signal(str)  # image path
    saveCollectionRequested = Signal()
    manageModelsRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._option_widgets: dict[str, QWidget] = {}
        self._image_parent: tuple[str, int] | None = None  # a library pattern's file an image option names
        self._families: dict[str, str] = {}  # diffusion model name -> family
        self._locations: dict[str, str] = {}  # and -> where its files are

        self.engine = QComboBox()
        self.engine.addItem("Procedural (no GPU needed)", "procedural")
        self.engine.setToolTip("Diffusion models appear here once added with Models… (Ctrl+Shift+M) "
                               "or 'tessera models add PATH'.")
        self.engine.currentIndexChanged.connect(self._engine_changed)
        self.diffusion_box = QGroupBox("Diffusion")
        diffusion_form = QFormLayout(self.diffusion_box)
        self.prompt = QLineEdit()
        self.prompt.setPlaceholderText("a damask wallpaper, gold on navy")
        self.negative_prompt = QLineEdit()
        self.negative_prompt.setPlaceholderText("blurry, text, watermark")
        self.steps = QSpinBox()
        self.steps.setRange(1, 200)
        self.steps.setValue(30)
        self.guidance = QDoubleSpinBox()
        self.guidance.setRange(0.0, 30.0)
        self.guidance.setSingleStep(0.5)
        self.guidance.setValue(7.0)
        self.scheduler = QComboBox()
        from desktop.engine.diffusion.metadata import SAMPLER_NAMES
        from desktop.engine.diffusion.pipeline import SCHEDULERS

        for key in SCHEDULERS:  # under A1111's names, as the PNG's parameters chunk records them
            self.scheduler.addItem(SAMPLER_NAMES.get(key, key), key)
        self.scheduler.setToolTip("The sampler: DDIM and DPM++ 2M converge in few steps; Euler a keeps "
                                  "changing the picture as the steps grow")
        from desktop.ui.lora_list import LoraList

        self.loras = LoraList()
        for label, widget in (("Prompt", self.prompt), ("Negative", self.negative_prompt), ("Steps", self.steps),
                              ("Guidance", self.guidance), ("Scheduler", self.scheduler), ("LoRAs", self.loras)):
            diffusion_form.addRow(label, widget)
        self.diffusion_box.hide()
        self.style_combo = QComboBox()
        for style in STYLES.values():
            self.style_combo.addItem(style.label, style.name)
            self.style_combo.setItemData(self.style_combo.count() - 1, style.description, Qt.ToolTipRole)
        self.style_combo.currentIndexChanged.connect(self._rebuild_options)
        self.options_box = QGroupBox("Style options")
        self.options_form = QFormLayout(self.options_box)

        self.palette_combo = QComboBox()
        for name in palette_names():
            try:
                self.palette_combo.addItem(load_named(name).name, name)
            except UserError:
                continue  # a damaged saved palette is skipped here; the CLI names it
        self.palette_combo.addItem(CUSTOM, CUSTOM)
        self.palette_combo.setCurrentIndex(max(0, self.palette_combo.findData(DEFAULT_PALETTE)))  # as the CLI's
        self.palette_edit = QLineEdit()
        self.palette_edit.setPlaceholderText("#1b2a49, #c9d6e3, …")
        self.swatches = SwatchStrip()
        self.palette_error = QLabel("")
        self.palette_error.setStyleSheet("color: #ff8a80;")
        from_image = QToolButton(text="From image…")
        from_image.setToolTip("Take the main colours of an image (k-means in CIELAB)")
        from_image.clicked.connect(self._pick_palette_image)
        self.palette_combo.currentIndexChanged.connect(self._palette_chosen)
        self.palette_edit.textEdited.connect(self._palette_typed)

        self.repeat = QComboBox()
        for r in Repeat:
            self.repeat.addItem(r.label, r.value)
        self.width_spin = self._size_spin()
        self.height_spin = self._size_spin()
        self.seed = QSpinBox()
        self.seed.setRange(0, 2_147_483_647)
        self.seed_lock = QCheckBox("Lock")
        self.seed_lock.setToolTip("Keep this seed; otherwise a new one is drawn after each Generate")
        dice = QToolButton(text="⚄")
        dice.setToolTip("New random seed")
        dice.clicked.connect(self.new_seed)
        self.count = QSpinBox()
        self.count.setRange(1, 100)
        self.count.setValue(1)
        from desktop.engine.qa import profile_names

        self.print_size = QDoubleSpinBox()
        self.print_size.setRange(0.0, 200.0)
        self.print_size.setDecimals(1)
        self.print_size.setSuffix(" in")
        self.print_size.setSpecialValueText("any")
        self.print_size.setToolTip("How large one repeat prints; QA checks the pixels against it (0 = any)")
        self.dpi = QSpinBox()
        self.dpi.setRange(10, 2400)
        self.dpi.setValue(150)
        self.dpi.setSuffix(" DPI")

        self.qa_profile = QComboBox()
        self.qa_profile.addItems(profile_names())
        self.qa_profile.setCurrentText("default")
        self.qa_profile.setToolTip("Thresholds every tile is checked against (resources/qa_profiles)")
        self.auto_correct = QCheckBox("Auto-correct")
        self.auto_correct.setToolTip("Retry tiles that fail QA: mend the seam, recolour, or draw a new seed. "
                                     "Every attempt is kept with the tile.")

        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Generate tiles from this brief (Ctrl+Enter)")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.request_generate)
        self.error = error_label()

        form = QFormLayout()
        engine_row = QHBoxLayout()
        engine_row.addWidget(self.engine, 1)
        self.models_button = QToolButton(text="Models…")
        self.models_button.setToolTip("Add, rename and remove diffusion models (Ctrl+Shift+M)")
        self.models_button.clicked.connect(self.manageModelsRequested)
        engine_row.addWidget(self.models_button)
        form.addRow("Engine", engine_row)
        form.addRow("Style", self.style_combo)
        palette_row = QHBoxLayout()
        palette_row.addWidget(self.palette_combo, 1)
        palette_row.addWidget(from_image)
        save_palette = QToolButton(text="Save…")
        save_palette.setToolTip("Save these colours as a named palette (it then appears in this list and the CLI)")
        save_palette.clicked.connect(self._save_palette)
        palette_row.addWidget(save_palette)
        form.addRow("Palette", palette_row)
        form.addRow("", self.palette_edit)
        form.addRow("", self.swatches)
        form.addRow("", self.palette_error)
        form.addRow("Repeat", self.repeat)
        size_row = QHBoxLayout()
        size_row.addWidget(self.width_spin)
        size_row.addWidget(QLabel("×"))
        size_row.addWidget(self.height_spin)
        form.addRow("Size (px)", size_row)
        self.size_advice = QLabel()
        self.size_advice.setWordWrap(True)
        self.size_advice.setStyleSheet("color: #ffcc80;")
        self.size_advice.hide()
        form.addRow("", self.size_advice)
        self.width_spin.valueChanged.connect(self._advise_size)
        self.height_spin.valueChanged.connect(self._advise_size)
        self.repeat.currentIndexChanged.connect(self._apply_size_steps)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(dice)
        seed_row.addWidget(self.seed_lock)
        form.addRow("Seed", seed_row)
        self.seed_note = QLabel()  # the tile shown's seed, when it is not the next one
        self.seed_note.setStyleSheet("color: #9a9aa0;")
        self.seed_note.setWordWrap(True)
        self.seed_note.hide()
        form.addRow("", self.seed_note)
        self._shown_seed: int | None = None
        self.seed.valueChanged.connect(lambda _: self.show_tile_seed(self._shown_seed))
        form.addRow("Count", self.count)
        print_row = QHBoxLayout()
        print_row.addWidget(self.print_size, 1)
        print_row.addWidget(self.dpi)
        form.addRow("Print", print_row)
        qa_row = QHBoxLayout()
        qa_row.addWidget(self.qa_profile, 1)
        qa_row.addWidget(self.auto_correct)
        form.addRow("QA", qa_row)

        inner = QWidget()
        inner_layout = QVBoxLayout(inner)
        inner_layout.addLayout(form)
        inner_layout.addWidget(self.diffusion_box)
        inner_layout.addWidget(self.options_box)
        inner_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(inner)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.error)
        self.notes = QLabel()  # what the style made of the brief (a sett's colours, how many designs it has)
        self.notes.setWordWrap(True)
        self.notes.setStyleSheet("color: #9a9aa0;")
        self.notes.hide()
        layout.addWidget(self.notes)
        save = QPushButton("Save brief as collection…")
        save.setToolTip("Keep this brief (style, options, palette, repeat, QA) as a library collection")
        save.clicked.connect(self.saveCollectionRequested)
        layout.addWidget(save)
        layout.addWidget(self.generate_button)

        self._rebuild_options()
        self._palette_chosen()

    @staticmethod
    def _size_spin() -> SizeSpin:
        return SizeSpin()

    def _apply_size_steps(self) -> None:
        """Sizes the chosen repeat and engine keep exact: a diffusion model's half-drop height (half-brick
        width) is a multiple of twice its coarsest level (SD 1.5: 128 px), every diffusion side of 8."""
        from desktop.engine.diffusion.families import VAE_SCALE, model_levels

        if not hasattr(self, "height_spin"):  # the engine list is filled before the size fields exist
            return
        repeat = self.repeat.currentData() or "basic"
        if self.engine.currentData() == "procedural":
            steps = size_steps(repeat, 0, 1)  # half a tile must be a whole pixel
        else:
            family, location = self._families.get(self.engine.currentData(), ""), self._locations.get(
                self.engine.currentData(), "")
            halvings, scale = model_levels(family, location) or (0, VAE_SCALE)
            steps = size_steps(repeat, halvings, scale, least=8)
        self.width_spin.set_step(steps[0])
        self.height_spin.set_step(steps[1])

    # -- style options ---------------------------------------------------------------------
    def current_style(self) -> Style:
        return STYLES[self.style_combo.currentData()]

    def set_style(self, name: str) -> None:
        index = self.style_combo.findData(name)
        if index >= 0:
            self.style_combo.setCurrentIndex(index)

    def _rebuild_options(self) -> None:
        while self.options_form.rowCount():
            self.options_form.removeRow(0)
        self._option_widgets.clear()
        style = self.current_style()
        self.options_box.setTitle(f"{style.label} options")
        for param in style.params:
            widget = self._widget_for(param)
            widget.setToolTip(param.help)
            self._option_widgets[param.name] = widget
            self.options_form.addRow(param.name.replace("_", " ").capitalize(), widget)
        if style.name == "kaleidoscope":  # its window is easier chosen on the image than typed
            choose = QPushButton("Choose the window on the image…")
            choose.setToolTip("Drag, size and turn the window on the image, and see the tile it folds into")
            choose.clicked.connect(self.choose_window)
            self.options_form.addRow("", choose)

    def _widget_for(self, param: Param) -> QWidget:
        if param.choices:
            combo = QComboBox()
            combo.addItems(list(param.choices))
            combo.setCurrentText(str(param.default))
            return combo
        if param.kind is bool:
            box = QCheckBox()
            box.setChecked(bool(param.default))
            return box
        if param.kind is int:
            spin = QSpinBox()
            spin.setRange(int(param.min if param.min is not None else -10**6),
                          int(param.max if param.max is not None else 10**6))
            spin.setValue(int(param.default))
            return spin
        if param.kind is float:
            spin = QDoubleSpinBox()
            spin.setDecimals(3)
            spin.setRange(float(param.min if param.min is not None else -1e6),
                          float(param.max if param.max is not None else 1e6))
            spin.setSingleStep(0.05 if (param.max or 1) <= 4 else 1.0)
            spin.setValue(float(param.default))
            return spin
        if param.name.endswith("_path"):  # an image file: typed, dropped or chosen
            edit = ImagePathEdit(str(param.default))
            edit.setPlaceholderText(f"({param.empty})" if param.empty else "")
            holder = QWidget()
            row = QHBoxLayout(holder)
            row.setContentsMargins(0, 0, 0, 0)
            row.addWidget(edit, 1)
            browse = QToolButton(text="…")
            browse.setToolTip(param.help)
            browse.clicked.connect(lambda: self._browse_image(edit, param))
            row.addWidget(browse)
            holder.value_widget = edit
            return holder
        return QLineEdit(str(param.default))

    def _browse_image(self, edit: QLineEdit, param: Param) -> None:
        kinds = _IMAGE_FILES.get(param.name, "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff)")
        path, _ = QFileDialog.getOpenFileName(self, param.help, edit.text(), kinds)
        if path:
            edit.setText(path)

    def set_option(self, name: str, value) -> None:
        """Put a style option's value in its widget (as `options()` reads it back)."""
        widget = self._option_widgets[name]
        widget = getattr(widget, "value_widget", widget)
        if isinstance(widget, QComboBox):
            widget.setCurrentText(str(value))
        elif isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
            widget.setValue(value)
        else:
            widget.setText(str(value))

    def choose_window(self) -> None:
        """The Kaleidoscope's window, chosen on its image (KaleidoscopeWindowDialog)."""
        from desktop.engine.images import load_rgb
        from desktop.ui.kaleidoscope_dialog import KaleidoscopeWindowDialog

        try:
            params = self.current_style().resolve(self.options())
            if not params["image_path"]:
                raise UserError("choose the image to fold first (Image path)")
            image = load_rgb(params["image_path"])
            palette = parse_palette(self.palette_spec())
        except UserError as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        dialog = KaleidoscopeWindowDialog(image, params["image_path"], params, self.repeat.currentData(), palette,
                                          (self.width_spin.value(), self.height_spin.value()), self)
        if dialog.exec() == QDialog.Accepted:
            for name, value in dialog.chosen().items():
                self.set_option(name, value)

    def show_tile_seed(self, seed: int | None) -> None:
        """Say under the seed which seed the tile shown was made with, when the next tiles' differs."""
        self._shown_seed = None if seed is None else int(seed)
        if self._shown_seed is None or self._shown_seed == self.seed.value():
            self.seed_note.setText("" if self._shown_seed is None else "The tile shown was made with this seed.")
        else:
            self.seed_note.setText(f"The tile shown was made with seed {self._shown_seed}; the next tiles start at "
                                   f"{self.seed.value()} (type {self._shown_seed} to make it again).")
        self.seed_note.setVisible(bool(self.seed_note.text()))

    def set_options(self) -> dict:
        """The options changed from the style's defaults: what the brief sets (a seed varies the rest of a
        style that draws nothing at random: procedural/variants.py)."""
        style = self.current_style()
        return {name: value for name, value in self.options().items()
                if (param := style.param(name)) is None or value != param.default}

    def options(self) -> dict:
        values = {}
        for name, widget in self._option_widgets.items():
            widget = getattr(widget, "value_widget", widget)
            if isinstance(widget, QComboBox):
                values[name] = widget.currentText()
            elif isinstance(widget, QCheckBox):
                values[name] = widget.isChecked()
            elif isinstance(widget, (QSpinBox, QDoubleSpinBox)):
                values[name] = widget.value()
            else:
                values[name] = widget.text()
        return values

    # -- palette ----------------------------------------------------------------------------------
    def palette_spec(self) -> str:
        name = self.palette_combo.currentData()
        return self.palette_edit.text() if name == CUSTOM else name

    def _palette_chosen(self) -> None:
        name = self.palette_combo.currentData()
        if name == CUSTOM:
            self._palette_typed(self.palette_edit.text())
            return
        palette = load_named(name)
        self.palette_edit.setText(", ".join(palette.hex))
        self.palette_edit.setCursorPosition(0)  # the first colours in view, not the last
        self.swatches.set_palette(palette)
        self.palette_error.setText("")

    def _palette_typed(self, text: str) -> None:
        if self.palette_combo.currentData() != CUSTOM:
            self.palette_combo.blockSignals(True)
            self.palette_combo.setCurrentIndex(self.palette_combo.findData(CUSTOM))
            self.palette_combo.blockSignals(False)
        try:
            palette = parse_palette(text) if text.strip() else None
            self.palette_error.setText("" if palette else "Type colours as #rrggbb, separated by commas.")
        except UserError as exc:
            palette = None
            self.palette_error.setText(str(exc))
        self.swatches.set_palette(palette)

    def _save_palette(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        name, ok = QInputDialog.getText(self, "Save palette", "Name:")
        if ok and name.strip():
            self.save_palette_as(name)

    def save_palette_as(self, name: str) -> str | None:
        from desktop.palettes import save_palette

        try:
            key = save_palette(name, parse_palette(self.palette_spec()))
        except UserError as exc:
            self.palette_error.setText(str(exc))
            return None
        self.palette_combo.blockSignals(True)
        if self.palette_combo.findData(key) < 0:
            self.palette_combo.insertItem(self.palette_combo.count() - 1, name.strip(), key)
        self.palette_combo.setCurrentIndex(self.palette_combo.findData(key))
        self.palette_combo.blockSignals(False)
        self._palette_chosen()
        return key

    def set_custom_palette(self, palette: Palette) -> None:
        self.palette_combo.setCurrentIndex(self.palette_combo.findData(CUSTOM))
        self.palette_edit.setText(", ".join(palette.hex))
        self.palette_edit.setCursorPosition(0)  # the first colours in view, not the last
        self.swatches.set_palette(palette)
        self.palette_error.setText("")

    def _pick_palette_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Take colours from an image", "",
                                              "Images (*.png *.jpg *.jpeg *.webp *.tif *.tiff *.bmp)")
        if path:
            self.extractPaletteRequested.emit(path)

    # -- the request ------------------------------------------------------------------------------
    def new_seed(self) -> None:
        self.seed.setValue(random.randrange(0, 2_147_483_647))

    def apply_request(self, request: GenerateRequest) -> list[str]:
        """Set every field of the Brief from a request (a saved brief, `desktop.engine.briefs`).
        Returns what it could not take, in words (a model or style this machine lacks)."""
        from desktop.engine.diffusion.loras import parse_lora_arg

        named = self.palette_combo.findData(request.palette) >= 0 and request.palette != CUSTOM
        custom = None if named else parse_palette(request.palette)  # refused before any change: a bad palette,
        loras = [parse_lora_arg(spec) for spec in request.diffusion.loras]  # a LoRA weight out of range
        missed = []
        engine = self.engine.findData(request.engine)
        if engine < 0:
            missed.append(f"the model '{request.engine}' is not registered here, so the procedural engine is chosen")
        self.engine.setCurrentIndex(max(0, engine))
        if self.style_combo.findData(request.style) < 0:
            missed.append(f"there is no style '{request.style}'")
        else:
            self.set_style(request.style)
            for name, value in (request.params or {}).items():
                if name in self._option_widgets:
                    self.set_option(name, value)
                else:
                    missed.append(f"the {request.style} style has no option '{name}'")
        if custom is None:
            self.palette_combo.setCurrentIndex(self.palette_combo.findData(request.palette))
        else:
            self.set_custom_palette(custom)
        self.repeat.setCurrentIndex(max(0, self.repeat.findData(request.repeat.value)))
        self.width_spin.setValue(int(request.width))
        self.height_spin.setValue(int(request.height))
        self.count.setValue(int(request.count))
        self.dpi.setValue(int(request.dpi))
        side = ((request.qa_overrides or {}).get("print") or {}).get("print_size_in") or [0]
        self.print_size.setValue(float(side[0]))
        self.qa_profile.setCurrentIndex(max(0, self.qa_profile.findText(request.qa_profile)))
        self.auto_correct.setChecked(bool(request.auto_correct))
        self.prompt.setText(request.prompt)
        self.negative_prompt.setText(request.negative_prompt)
        self.steps.setValue(int(request.diffusion.steps))
        self.guidance.setValue(float(request.diffusion.guidance))
        self.scheduler.setCurrentIndex(max(0, self.scheduler.findData(request.diffusion.scheduler)))
        self.loras.table.setRowCount(0)
        for path, weight in loras:
            self.loras.add(path, weight)
        self._image_parent = None
        return missed

    def fold_image(self, path: str, pattern_id: int | None = None) -> None:
        """Set the Brief to fold this image (a library pattern's file: the tiles name it as their parent)."""
        self.engine.setCurrentIndex(max(0, self.engine.findData("procedural")))
        self.set_style("kaleidoscope")
        self._option_widgets["image_path"].value_widget.setText(path)
        self._image_parent = (path, pattern_id) if pattern_id is not None else None

    def _parent_id(self) -> int | None:
        """The library pattern whose file an image option still names, if any."""
        if self._image_parent and self._image_parent[0] in self.options().values():
            return self._image_parent[1]
        return None

    def build_request(self) -> GenerateRequest:
        """What the Brief says (this machine's part is the window's to add, from its Settings)."""
        diffusion = self.engine.currentData() != "procedural"
        return GenerateRequest(
            parent_id=self._parent_id(),
            style=self.current_style().name, params=self.set_options(), repeat=self.repeat.currentData(),
            width=self.width_spin.value(), height=self.height_spin.value(), palette=self.palette_spec(),
            seed=self.seed.value(), count=self.count.value(), engine=self.engine.currentData(),
            qa_profile=self.qa_profile.currentText(), auto_correct=self.auto_correct.isChecked(),
            prompt=self.prompt.text(), negative_prompt=self.negative_prompt.text(), dpi=self.dpi.value(),
            qa_overrides=self.print_overrides(),
            diffusion=ModelSettings(steps=self.steps.value(), guidance=self.guidance.value(),
                                    scheduler=self.scheduler.currentData(),
                                    loras=self.loras.specs() if diffusion else []),
        )

    def print_overrides(self) -> dict:
        """QA thresholds from the brief: the print size of one repeat at its DPI."""
        out: dict = {"print": {"dpi": self.dpi.value()}}
        if self.print_size.value() > 0:
            side = self.print_size.value()
            ratio = self.height_spin.value() / max(1, self.width_spin.value())
            out["print"]["print_size_in"] = [side, round(side * ratio, 2)]
        return out

    def set_models(self, models: list[tuple[str, str, str, str]]) -> None:
        """Registered diffusion models as (name, label: its family and whether it is missing, family,
        location), after the procedural engine."""
        current = self.engine.currentData()
        self.engine.blockSignals(True)
        while self.engine.count() > 1:
            self.engine.removeItem(1)
        self._families = {name: family for name, _, family, _ in models}
        self._locations = {name: location for name, _, _, location in models}
        for name, text, _, _ in models:
            self.engine.addItem(f"{name} ({text})", name)
        self.engine.setCurrentIndex(max(0, self.engine.findData(current)))
        self.engine.blockSignals(False)
        self._engine_changed()

    def _engine_changed(self) -> None:
        diffusion = self.engine.currentData() != "procedural"
        self.diffusion_box.setVisible(diffusion)
        self.options_box.setVisible(not diffusion)
        self.style_combo.setEnabled(not diffusion)
        self.loras.set_model_family(self._families.get(self.engine.currentData(), ""))
        self._apply_size_steps()
        self._advise_size()

    def _advise_size(self) -> None:
        """Under the size: how far it is from what the chosen diffusion model draws well at."""
        from desktop.engine.diffusion.families import size_advice

        family = self._families.get(self.engine.currentData(), "")
        advice = size_advice(family, self.width_spin.value(), self.height_spin.value())
        self.size_advice.setText(advice)
        self.size_advice.setVisible(bool(advice))

    def request_generate(self) -> None:
        request = self.build_request()
        try:
            valid = request.validated()
        except UserError as exc:
            self.error.setText(str(exc))
            return
        self.error.setText("")
        self.notes.setText("\n".join(note[:1].upper() + note[1:] + "." for note in valid.notes))
        self.notes.setVisible(bool(valid.notes))
        self.generateRequested.emit(request)
        if not self.seed_lock.isChecked():
            self.seed.setValue(self.seed.value() + request.count)
