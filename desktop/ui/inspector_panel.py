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
        self._tile_html = ""
        self._qa_html = ""
        self.show_metadata(None, {})

    def _render(self) -> None:
        self.view.setHtml(self._tile_html + self._qa_html)

    def show_report(self, report: dict[str, Any] | None, running: bool = False) -> None:
        """The QA report (QAReport.as_dict()): each check's verdict and explanation."""
        if running:
            self._qa_html = "<h3>QA</h3><p style='color:#8a8a90'>Checking…</p>"
        elif not report:
            self._qa_html = ""
        else:
            colours = {"pass": "#7bd88f", "fail": "#ff8a80", "skip": "#8a8a90"}
            marks = {"pass": "✓", "fail": "✗", "skip": "–"}
            rows = "".join(
                f"<tr><td style='color:{colours[c['status']]};padding-right:6px'>{marks[c['status']]}</td>"
                f"<td style='padding-right:10px'><b>{html.escape(c['label'])}</b></td>"
                f"<td>{html.escape(c['explanation'])}</td></tr>" for c in report["checks"])
            verdict = "Passes QA" if report["passed"] else "Fails QA: " + ", ".join(report["failed"])
            self._qa_html = (f"<h3>QA <span style='color:{colours['pass' if report['passed'] else 'fail']}'>"
                             f"{html.escape(verdict)}</span></h3><p style='color:#8a8a90'>profile "
                             f"{html.escape(str(report.get('profile')))}</p><table>{rows}</table>")
        self._render()

    def show_metadata(self, path: str | None, meta: dict[str, Any]) -> None:
        self._qa_html = ""
        if not meta and not path:
            self._tile_html = "<p style='color:#8a8a90'>Select a tile to see how it was made.</p>"
            self._render()
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
        attempts = "".join(
            f"<tr><td>{a['number']}</td><td style='padding:0 8px'>{html.escape(a['action'])}</td>"
            f"<td>{html.escape(a['note'])}</td><td style='padding-left:8px'>"
            f"{'pass' if a['passed'] else 'fail: ' + html.escape(', '.join(a['failed']))}</td></tr>"
            for a in meta.get("attempts", []))
        self._tile_html = (
            "<h3>Tile</h3><table>" + "".join(rows) + "</table>"
            + (f"<h3>Palette</h3><p>{html.escape(palette.get('name', ''))}</p><p>{swatches}</p>"
               f"<p style='color:#9a9aa0'>{html.escape(', '.join(palette.get('colors', [])))}</p>" if palette else "")
            + (f"<h3>Style options</h3><table>{params}</table>" if params else "")
            + (f"<h3>Attempts</h3><table>{attempts}</table>" if attempts else "")
        )
        self._render()
