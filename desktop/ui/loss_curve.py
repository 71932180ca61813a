"""A training job's loss against its step, drawn live in its Jobs panel row (pyqtgraph).

The curve is the smoothed loss each step reports in its progress message (`training_log`), as
the row sees it: progress is coalesced, so a busy window draws every few steps, which a smoothed
curve does not mind. pyqtgraph is imported when the first training row is made, not at start-up.
"""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget


class LossCurve(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        import pyqtgraph as pg

        self.steps: list[int] = []
        self.losses: list[float] = []
        self.plot = pg.PlotWidget(background=None)
        self.plot.setMinimumHeight(110)
        self.plot.setMaximumHeight(150)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # 0.12, not 120 with a milli- cut off the label
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setToolTip("The training loss, smoothed, against the step: the whole curve is saved beside "
                             "the LoRA as NAME.loss.csv")
        self.line = self.plot.plot([], [], pen=pg.mkPen("#7fb2ff", width=2))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 0)
        layout.addWidget(self.plot)

    def add(self, message: str | None) -> bool:
        """Take a step's progress message; True when it added a point."""
        from desktop.engine.diffusion.training_log import read_step

        read = read_step(message)
        if read is None or (self.steps and read[0] <= self.steps[-1]):
            return False
        self.steps.append(read[0])
        self.losses.append(read[1])
        self.line.setData(self.steps, self.losses)
        return True
