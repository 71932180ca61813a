"""Help ▸ Diagnostics: `tessera doctor`'s findings in a window, copied in one click for a bug report.

The checks run as a job on the I/O lane (the GPU probe and the library's quick check take seconds);
the window's own GPU probe is reused when it has run.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from desktop.doctor import FAIL, INFO, OK, WARN, Finding, as_text
from desktop.jobs import Lane

ICONS = {OK: QStyle.StandardPixmap.SP_DialogApplyButton, INFO: QStyle.StandardPixmap.SP_MessageBoxInformation,
         WARN: QStyle.StandardPixmap.SP_MessageBoxWarning, FAIL: QStyle.StandardPixmap.SP_MessageBoxCritical}


class DiagnosticsDialog(QDialog):
    """Each finding a row (what was checked, what was found, the fix), worst first; Copy for a bug report."""

    def __init__(self, findings: list[Finding], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Diagnostics")
        self.findings = findings
        fails = sum(f.status == FAIL for f in findings)
        warns = sum(f.status == WARN for f in findings)
        self.summary = QLabel("Nothing wrong found on this machine." if not fails and not warns else
                              f"{fails} problem{'s' * (fails != 1)} and {warns} warning{'s' * (warns != 1)}; "
                              "each has its fix beside it.")
        self.table = QTreeWidget()
        self.table.setRootIsDecorated(False)
        self.table.setHeaderLabels(["Area", "What was found", "Fix"])
        self.table.setWordWrap(True)
        order = {FAIL: 0, WARN: 1, INFO: 2, OK: 3}
        style = self.style()
        for finding in sorted(findings, key=lambda f: order[f.status]):  # (sorted is stable: areas keep their order)
            item = QTreeWidgetItem([finding.area, finding.summary, finding.fix])
            item.setIcon(0, style.standardIcon(ICONS[finding.status]))
            item.setToolTip(1, finding.summary)
            item.setToolTip(2, finding.fix)
            item.setData(0, Qt.ItemDataRole.UserRole, finding.status)
            self.table.addTopLevelItem(item)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)  # paths keep both their ends
        self.table.itemDoubleClicked.connect(self.copy_fix)
        self.table.setToolTip("Double-click a row to copy its fix")
        header = self.table.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.copy = QPushButton("&Copy for a bug report")
        self.copy.setToolTip("The findings as text, with Tessera's version and this machine's platform")
        buttons.addButton(self.copy, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy.clicked.connect(self.copy_text)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(900, 460)

    def text(self) -> str:
        return as_text(self.findings)

    def copy_fix(self, item: QTreeWidgetItem, column: int = 0) -> None:
        """A row's fix (a command, usually) to the clipboard, to paste into a terminal."""
        if item.text(2):
            QGuiApplication.clipboard().setText(item.text(2))
            self.summary.setText(f"Copied the fix for {item.text(0)}: {item.text(2)}")

    def copy_text(self) -> None:
        QGuiApplication.clipboard().setText(self.text())
        self.copy.setText("Copied")


def show(window) -> None:
    """Run the checks off the window's thread, then show them (the window's GPU probe reused when done)."""
    from desktop.doctor import diagnose

    devices = getattr(window, "devices", None) or {}
    probed = devices if "torch" in devices else None

    def run(ctx):
        return diagnose(probe_torch=(lambda: probed) if probed is not None else None)

    window.submit("diagnose", run, lane=Lane.IO, title="Checking this machine",
                  on_done=lambda snap: DiagnosticsDialog(snap.result or [], window).exec())
    window.statusBar().showMessage("Checking this machine…", 5000)
