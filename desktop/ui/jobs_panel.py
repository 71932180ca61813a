"""The Jobs dock: every job with its progress, ETA, state and a cancel button."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.jobs import JobQueue, JobSnapshot, JobState

_STATE_TEXT = {JobState.QUEUED: "Queued", JobState.RUNNING: "Running", JobState.DONE: "Done",
               JobState.FAILED: "Failed", JobState.CANCELLED: "Cancelled"}


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return f" · {seconds:.0f}s left"
    return f" · {seconds / 60:.0f} min left"


CURVE_JOBS = frozenset({"train-lora"})  # rows that draw the loss each step reports


class JobRow(QFrame):
    def __init__(self, snapshot: JobSnapshot, queue: JobQueue, parent: QWidget | None = None):
        super().__init__(parent)
        self.job_id = snapshot.id
        self.setFrameShape(QFrame.StyledPanel)
        self.setSizePolicy(QSizePolicy.Preferred, QSizePolicy.Fixed)  # rows keep their height; the list scrolls
        self.title = QLabel(snapshot.title)
        self.title.setStyleSheet("font-weight: 600;")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setStyleSheet("color: #a8a8ae;")
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.cancel = QToolButton(text="✕")
        self.cancel.setToolTip("Cancel this job")
        self.cancel.setObjectName(f"cancel-job-{snapshot.id}")
        self.cancel.clicked.connect(lambda: queue.cancel(self.job_id))
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.cancel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        layout.addWidget(self.status)
        self.curve = None
        if snapshot.kind in CURVE_JOBS:  # a training run: its loss against its step, live
            from desktop.ui.loss_curve import LossCurve

            self.curve = LossCurve()
            layout.addWidget(self.curve)
        self.update_from(snapshot)

    def update_from(self, snap: JobSnapshot) -> None:
        self.snapshot = snap
        if self.curve is not None:
            self.curve.add(snap.progress.message)
        fraction = snap.progress.fraction
        if snap.state is JobState.RUNNING and fraction is None:
            self.bar.setRange(0, 0)  # busy
        else:
            self.bar.setRange(0, 1000)
            value = 1.0 if snap.state is JobState.DONE else (fraction or 0.0)
            self.bar.setValue(int(value * 1000))
        text = _STATE_TEXT[snap.state]
        if snap.state is JobState.RUNNING:
            if snap.cancel_requested:
                text = "Cancelling…"
            elif snap.progress.message:
                text = snap.progress.message + _eta(snap.progress.eta_s)
        elif snap.state is JobState.FAILED:
            text = f"Failed: {snap.error}"
            self.status.setStyleSheet("color: #ff8a80;")
        elif snap.state is JobState.DONE and snap.finished and snap.started:
            text = f"Done in {snap.finished - snap.started:.1f}s"
        self.status.setText(text)
        self.cancel.setVisible(not snap.state.finished)


class JobsPanel(QWidget):
    def __init__(self, queue: JobQueue, parent: QWidget | None = None):
        super().__init__(parent)
        self.queue = queue
        self.rows: dict[int, JobRow] = {}
        self.empty = QLabel("No jobs yet. Generation, imports and exports show up here.")
        self.empty.setStyleSheet("color: #8a8a90; padding: 8px;")
        self.empty.setWordWrap(True)
        self._list = QVBoxLayout()
        self._list.setSpacing(4)
        self._list.addWidget(self.empty)
        self._list.addStretch(1)
        holder = QWidget()
        holder.setLayout(self._list)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(holder)
        clear = QPushButton("Clear finished")
        clear.clicked.connect(self.clear_finished)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(scroll, 1)
        layout.addWidget(clear, 0, Qt.AlignRight)

    # quick background chores: listed only if they fail or take longer than a second
    QUIET = frozenset({"load", "qa", "read-library", "update", "search", "reconcile", "probe-gpu", "clip", "build-index",
                       "open-library", "scan-folder", "index", "mockup", "mockup-save"})

    def on_job_updated(self, snap: JobSnapshot) -> None:
        row = self.rows.get(snap.id)
        if row is None and snap.kind in self.QUIET and snap.state is not JobState.FAILED:
            running_for = (snap.finished or time.time()) - (snap.started or snap.created)
            if snap.state.finished or running_for < 1.0:
                return
        if row is None:
            row = JobRow(snap, self.queue)
            self.rows[snap.id] = row
            self._list.insertWidget(0, row)
            self.empty.hide()
        else:
            row.update_from(snap)

    def clear_finished(self) -> None:
        for job_id in self.queue.forget_finished():
            row = self.rows.pop(job_id, None)
            if row is not None:
                row.deleteLater()
        for job_id, row in list(self.rows.items()):
            if row.snapshot.state.finished:
                self.rows.pop(job_id).deleteLater()
        self.empty.setVisible(not self.rows)
