"""About Tessera: versions, paths, and whether a GPU is available (probed off the start-up path)."""

from __future__ import annotations

import html
import platform
from typing import Any

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout, QWidget

from desktop import __version__
from desktop.config import Paths
from desktop.hardware import package_version


def gpu_text(devices: dict[str, Any] | None) -> str:
    if devices is None:
        return "checking…"
    if devices.get("cuda"):
        return ", ".join(f"{d['name']} ({d['memory_gb']} GB)" for d in devices["devices"])
    reason = devices.get("error") or "no CUDA device"
    return f"none: the procedural engine runs on the CPU ({reason})"


class AboutDialog(QDialog):
    def __init__(self, paths: Paths, library: str, devices: dict[str, Any] | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About Tessera")
        self.resize(520, 420)
        rows = [
            ("Tessera", __version__), ("Python", platform.python_version()), ("Qt", qVersion()),
            ("PySide6", pyside_version), ("numpy", package_version("numpy")),
            ("torch", package_version("torch") or "not installed"),
            ("diffusers", package_version("diffusers") or "not installed"),
            ("GPU", gpu_text(devices)), ("Library", library), ("Settings", str(paths.settings_file)),
            ("Log file", str(paths.log_file)),
        ]
        body = "".join(f"<tr><td style='color:#9a9aa0;padding-right:12px'>{html.escape(k)}</td>"
                       f"<td>{html.escape(str(v))}</td></tr>" for k, v in rows)
        self.text = QTextBrowser()
        self.text.setHtml("<h2>Tessera</h2><p>A studio for seamless, brand-consistent repeat patterns.</p>"
                          f"<table>{body}</table>")
        buttons = QDialogButtonBox(QDialogButtonBox.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)
