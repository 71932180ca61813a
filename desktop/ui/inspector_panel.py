"""The Inspector dock: everything known about the selected tile."""

from __future__ import annotations

import html
import json
from typing import Any

from PySide6.QtWidgets import QTextBrowser, QVBoxLayout, QWidget


def _row(name: str, value: Any) -> str:
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True)
    return f"<tr><td style='color:#9a9aa0;padding-right:10px'>{html.escape(name)}</td>" \
           f"<td>{html.escape(str(value))}</td></tr>"


class InspectorPanel(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = QTextBrowser()
        self.view.setOpenExternalLinks(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.view)
        self.show_metadata(None, {})

    def show_metadata(self, path: str | None, meta: dict[str, Any]) -> None:
        if not meta and not path:
            self.view.setHtml("<p style='color:#8a8a90'>Select a tile to see how it was made.</p>")
            return
        rows = []
        if path:
            rows.append(_row("file", path))
        for key in ("engine", "style", "repeat", "size", "seed", "dpi", "created", "render_ms", "tessera"):
            if key in meta:
                rows.append(_row(key, meta[key]))
        palette = meta.get("palette") or {}
        swatches = "".join(
            f"<span style='background:{c};'>&nbsp;&nbsp;&nbsp;&nbsp;</span>&nbsp;" for c in palette.get("colors", []))
        params = "".join(_row(k, v) for k, v in sorted((meta.get("params") or {}).items()))
        self.view.setHtml(
            "<h3>Tile</h3><table>" + "".join(rows) + "</table>"
            + (f"<h3>Palette</h3><p>{html.escape(palette.get('name', ''))}</p><p>{swatches}</p>"
               f"<p style='color:#9a9aa0'>{html.escape(', '.join(palette.get('colors', [])))}</p>" if palette else "")
            + (f"<h3>Style options</h3><table>{params}</table>" if params else "")
        )
