"""Library ▸ Publish the selected / Sync with the marketplace / Marketplace login…: approved
patterns go to the marketplace through the library's outbox. Queueing works offline; the
queue is sent when asked, and again each time the library opens."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from desktop.jobs import JobSnapshot, Lane
from desktop.ui.theme import error_label

if TYPE_CHECKING:
    from desktop.ui.main_window import MainWindow


class LoginDialog(QDialog):
    """The marketplace's address and the studio's API token (saved for this user only)."""

    def __init__(self, url: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Marketplace login")
        self.url = QLineEdit(url)
        self.url.setPlaceholderText("https://market.example.com")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.Password)
        self.token.setPlaceholderText("the API token from your marketplace account")
        self.error = error_label()
        form = QFormLayout()
        form.addRow("Address", self.url)
        form.addRow("API token", self.token)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def accept(self) -> None:
        from desktop.errors import UserError, as_sentence
        from desktop.library.marketplace import NO_KEYRING, save_account

        try:
            path, where = save_account(self.url.text(), self.token.text())
        except UserError as exc:
            self.error.setText(as_sentence(exc))
            return
        self.kept = "" if where == "keyring" else NO_KEYRING.format(path=path)  # said once, at login
        super().accept()


class PublishActions:
    def __init__(self, window: MainWindow, menu):
        self.window = window
        menu.addSeparator()
        window._action(menu, "&Publish the selected", self.publish_selected, "Ctrl+Shift+B",
                       "Queue the selected approved patterns for the marketplace and send them")
        window._action(menu, "&Sync with the marketplace", self.sync, None,
                       "Send what is queued (patterns queued while offline too)")
        window._action(menu, "Marketplace &login…", self.login, None, "The marketplace's address and your API token")

    def login(self) -> LoginDialog:
        from desktop.library.marketplace import load_account

        account = load_account()
        dialog = LoginDialog(account.url if account else "", self.window)
        if dialog.exec() == QDialog.Accepted:
            kept = getattr(dialog, "kept", "")
            self.window.statusBar().showMessage("Marketplace login saved" + (f": {kept}." if kept else
                                                                            " (the token in the OS keyring)."), 8000)
        return dialog

    def publish_selected(self) -> None:
        window, lib = self.window, self.window.lib
        ids = [e.pattern_id for e in window.library.selected_entries() if e.pattern_id]
        if lib is None or not ids:
            QMessageBox.information(window, "Publish", "Select approved patterns in the Library first.")
            return

        def queue(ctx):
            from desktop.library import publishing

            return publishing.queue(lib, ids)

        def queued(snap: JobSnapshot) -> None:
            result = snap.result or {"queued": [], "skipped": []}
            if not result["queued"]:
                reasons = "; ".join(f"{s['id']}: {s['reason']}" for s in result["skipped"][:5])
                QMessageBox.information(window, "Nothing to publish", f"Nothing was queued ({reasons}).")
                return
            skipped = len(result["skipped"])
            window.statusBar().showMessage(f"Queued {len(result['queued'])} for the marketplace"
                                           + (f" ({skipped} not approved or already there)" if skipped else ""), 5000)
            self.sync()

        window.submit("publish-queue", queue, lane=Lane.WRITER, title=f"Queueing {len(ids)} for the marketplace",
                      on_done=queued)

    def sync(self, quiet: bool = False) -> None:
        """Send the queue (on the I/O lane: the network never holds up the library's writer)."""
        from desktop.library.marketplace import load_account

        window, lib = self.window, self.window.lib
        if lib is None:
            return
        account = load_account()
        if account is None:
            if not quiet:
                window.statusBar().showMessage("Queued. Log in to the marketplace (Library ▸ Marketplace login…) "
                                               "to send it.", 10_000)
            return

        products, dpi = list(window.settings.listing_mockups), int(window.settings.default_dpi)

        def send(ctx):
            from desktop.library import publishing
            from desktop.library.marketplace import Marketplace

            if not publishing.outbox(lib, "queued"):
                return None
            market = Marketplace(account, stopped=lambda: ctx.cancelled)  # Stop ends a wait between tries
            return publishing.sync(lib, market, ctx, mockups=products, default_dpi=dpi)

        window.submit("publish", send, lane=Lane.NETWORK, title=f"Publishing to {account.host}",
                      on_done=lambda snap: self._synced(snap.result, quiet))

    def _synced(self, result: dict[str, Any] | None, quiet: bool) -> None:
        window = self.window
        if result is None:
            if not quiet:
                window.statusBar().showMessage("Nothing is waiting to be published.", 5000)
            return
        for row in result["published"]:
            window.library.model.refresh(row["id"], status="published")
        text = f"Published {len(result['published'])}"
        if result["failed"]:
            text += f", {len(result['failed'])} refused ({result['failed'][0]['error']})"
        if result["waiting"]:
            text += f"; {result['waiting']} waiting: {result['stopped']}"
        window.statusBar().showMessage(text, 15_000)
