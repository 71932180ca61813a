"""The Inspector dock: everything known about the selected tile."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QTextBrowser, QVBoxLayout, QWidget


def history_line(action: str, detail: dict[str, Any]) -> str:
    """One audit-log entry in words ("status draft → approved, rated 4, tagged client-a")."""
    detail = detail if isinstance(detail, dict) else {}
    if action == "update":
        parts = [f"renamed “{detail['title'][1]}” (was “{detail['title'][0]}”)"] \
            if isinstance(detail.get("title"), list) else []
        parts += [f"{key} {before} → {after}" for key, (before, after) in
                 ((k, detail[k]) for k in ("status", "rating") if isinstance(detail.get(k), list))]
        parts += [f"{word} {', '.join(detail[key])}" for key, word in (("tagged", "tagged"), ("untagged", "untagged"))
                  if detail.get(key)]
        return ", ".join(parts) or "updated"
    words = {"add": f"added{' from ' + Path(detail['source']).name if detail.get('source') else ''}",
             "trash": "moved to the trash", "restore": "restored from the trash",
             "publish-queued": "queued for the marketplace",
             "published": f"published{': ' + detail['url'] if detail.get('url') else ''}",
             "publish-failed": f"the marketplace refused it: {detail.get('error', '')}"}
    return words.get(action) or f"{action} {json.dumps(detail, sort_keys=True)}"


def _row(name: str, value: Any) -> str:
    if isinstance(value, (dict, list)):
        value = json.dumps(value, sort_keys=True)
    return f"<tr><td style='color:#9a9aa0;padding-right:10px'>{html.escape(name)}</td>" \
           f"<td>{html.escape(str(value))}</td></tr>"


def _input_line(file: dict[str, Any]) -> str:
    """An image a style read (a kaleidoscope's photo, a motif): where it was, and its hash."""
    return f"{file.get('path', '?')}, sha256 {str(file.get('sha256', ''))[:12]}"


def _lora_line(lora: dict[str, Any]) -> str:
    """A LoRA a tile was drawn with: its weight and hash, and what trained it when Tessera did."""
    line = f"weight {lora.get('weight', 1)}, sha256 {str(lora.get('sha256', ''))[:12]}"
    made = lora.get("training")
    if made:
        ids = [f"#{t['id']}" for t in made.get("tiles", []) if t.get("id") is not None]
        line += (f"; trained on {len(made.get('tiles', []))} tile(s) of {made.get('base_model', {}).get('name', '?')}"
                 f", {made.get('steps')} steps" + (f" ({', '.join(ids[:8])}{', …' if len(ids) > 8 else ''})" if ids
                                                   else ""))
    return line


def _publication_html(row: dict[str, Any] | None) -> str:
    if not row:
        return ""
    if row["state"] == "published":
        link = html.escape(row["url"] or row["listing_id"])
        body = _row("listing", row["listing_id"]) + f"<tr><td style='color:#9a9aa0'>address</td><td>{link}</td></tr>"
    elif row["state"] == "failed":
        body = _row("refused", row["error"])
    else:
        body = _row("queued", f"since {row['queued'][:19]}, waiting for a sync")
    return f"<h3>Marketplace: {html.escape(row['state'])}</h3><table>{body}</table>"


class InspectorPanel(QWidget):
    tagsEdited = Signal(int, list, list)  # pattern id, tags to add, tags to remove
    titleEdited = Signal(int, str)  # pattern id, its new title

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.view = QTextBrowser()
        self.view.setOpenExternalLinks(False)
        self.tags_label = QLabel("Tags")
        self.tags = QLineEdit()
        self.tags.setPlaceholderText("tags, comma-separated (a leading - removes one)")
        self.tags.setToolTip("Type tags and press Enter: 'floral, navy' adds them, '-navy' removes one")
        self.tags.returnPressed.connect(self._tags_entered)
        self.tags.setEnabled(False)
        self.title = QLineEdit()
        self.title.setPlaceholderText("title")
        self.title.setToolTip("The pattern's title, and its marketplace listing's name: type and press Enter "
                              "(F2 in the grid comes here; Ctrl+Z undoes)")
        self.title.returnPressed.connect(self._title_entered)
        self.title.setEnabled(False)
        self._title_shown = ""
        title_row = QHBoxLayout()
        title_row.addWidget(QLabel("Title"))
        title_row.addWidget(self.title, 1)
        row = QHBoxLayout()
        row.addWidget(self.tags_label)
        row.addWidget(self.tags, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(title_row)
        layout.addLayout(row)
        layout.addWidget(self.view)
        self.pattern_id: int | None = None
        self._tile_html = ""
        self._library_html = ""
        self._qa_html = ""
        self.show_metadata(None, {})

    def _render(self) -> None:
        self.view.setHtml(self._tile_html + self._qa_html + self._library_html)

    def _title_entered(self) -> None:
        text = " ".join(self.title.text().split())
        if self.pattern_id is not None and text and text != self._title_shown:
            self._title_shown = text
            self.titleEdited.emit(self.pattern_id, text)
        elif not text:
            self.title.setText(self._title_shown)  # a pattern keeps a title

    def edit_title(self) -> None:
        """F2: the title field, selected, to type over."""
        if self.title.isEnabled():
            self.title.setFocus()
            self.title.selectAll()

    def _tags_entered(self) -> None:
        if self.pattern_id is None:
            return
        words = [w.strip() for w in self.tags.text().split(",") if w.strip()]
        add = [w for w in words if not w.startswith("-")]
        remove = [w[1:].strip() for w in words if w.startswith("-")]
        self.tags.clear()
        if add or remove:
            self.tagsEdited.emit(self.pattern_id, add, remove)

    def show_library_item(self, item: dict[str, Any] | None, similar: list[dict[str, Any]] | None = None,
                          unindexed: int = 0) -> None:
        """Status, tags, provenance, history and look-alikes of a catalogued pattern (`unindexed`: how
        many patterns still wait to be indexed, so the look-alikes may not hold them yet)."""
        self.pattern_id = item["id"] if item else None
        self.tags.setEnabled(item is not None)
        self.title.setEnabled(item is not None)
        self._title_shown = str(item.get("title") or "") if item else ""
        if not self.title.hasFocus():  # not under the user's typing
            self.title.setText(self._title_shown)
        if not item:
            self._library_html = ""
            self._render()
            return
        auto_free = ", ".join(item["tags"]) or "none yet"
        self.tags_label.setText(f"Tags ({len(item['tags'])})")
        prov = item.get("provenance") or {}
        prov_rows = "".join(_row(k, v) for k, v in prov.items()
                            if v not in (None, "", [], {}) and k not in ("params", "palette", "attempts", "loras", "inputs"))
        prov_rows += "".join(_row(name.removesuffix("_path").replace("_", " ").capitalize(), _input_line(file))
                             for name, file in (prov.get("inputs") or {}).items() if isinstance(file, dict))
        prov_rows += "".join(_row(f"LoRA {lora.get('name', '?')}", _lora_line(lora))
                             for lora in prov.get("loras") or [] if isinstance(lora, dict))
        if prov.get("attempts"):
            prov_rows += _row("QA attempts", len(prov["attempts"]))
        history = "".join(f"<tr><td style='color:#9a9aa0;padding-right:8px'>"
                          f"{html.escape(h['time'][:16].replace('T', ' '))}</td>"
                          f"<td>{html.escape(history_line(h['action'], h['detail']))}</td></tr>"
                          for h in item.get("history", [])[-8:])
        looks = "".join(f"<tr><td style='padding-right:8px'>#{s['id']}</td><td>{html.escape(s.get('title', ''))}</td>"
                        f"<td style='padding-left:8px'>{s['similarity']:.3f}</td><td style='padding-left:8px'>"
                        f"{s.get('hash_similarity', 0):.2f} pHash</td></tr>" for s in (similar or []))
        self._library_html = (
            f"<h3>In the library: #{item['id']}</h3>"
            + (f"<p style='color:#ffb74d'>In the trash since {html.escape(item['trashed'][:16].replace('T', ' '))}"
               " UTC · Edit ▸ Restore from trash brings it back</p>" if item.get("trashed") else "")
            + f"<table>{_row('status', item['status'])}"
            f"{_row('rating', '★' * item['rating'] or '0')}{_row('tags', auto_free)}"
            + (_row("content credentials", item["credentials"]) if item.get("credentials") else "") + "</table>"
            + _publication_html(item.get("publication"))
            + (f"<h3>Provenance</h3><table>{prov_rows}</table>" if prov_rows else "")
            + (f"<h3>Look-alikes (built-in descriptor)</h3><table>{looks}</table>" if looks or unindexed else "")
            + (f"<p style='color:#8a8a90'>{unindexed} pattern(s) are still being indexed and are not among "
               "these yet.</p>" if unindexed else "")
            + (f"<h3>History</h3><table>{history}</table>" if history else ""))
        self._render()

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
        self._library_html = ""
        self.pattern_id = None
        self.tags.setEnabled(False)
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
        inks = "".join(  # a colourway: which of the source's inks became which palette colour
            f"<tr><td><span style='background:{html.escape(m['from'])};'>&nbsp;&nbsp;&nbsp;&nbsp;</span></td>"
            f"<td style='padding:0 6px'>→</td><td><span style='background:{html.escape(m['to'])};'>"
            f"&nbsp;&nbsp;&nbsp;&nbsp;</span></td><td style='padding-left:8px;color:#9a9aa0'>"
            f"{html.escape(m['from'])} → {html.escape(m['to'])}"
            + (f", {m['share']:.0%} of the tile" if m.get("share") is not None else "") + "</td></tr>"
            for m in (meta.get("colourway") or {}).get("inks", []))
        self._tile_html = (
            "<h3>Tile</h3><table>" + "".join(rows) + "</table>"
            + (f"<h3>Palette</h3><p>{html.escape(palette.get('name', ''))}</p><p>{swatches}</p>"
               f"<p style='color:#9a9aa0'>{html.escape(', '.join(palette.get('colors', [])))}</p>" if palette else "")
            + (f"<h3>Colourway</h3><table>{inks}</table>" if inks else "")
            + (f"<h3>Style options</h3><table>{params}</table>" if params else "")
            + (f"<h3>Attempts</h3><table>{attempts}</table>" if attempts else "")
        )
        self._render()
