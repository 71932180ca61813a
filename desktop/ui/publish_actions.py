"""Library ▸ Publish the selected / Sync with the marketplace / Marketplace login…: approved
patterns go to the marketplace through the library's outbox. Queueing works offline; the
queue is sent when asked, and again each time the library opens."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLineEdit,
    QMessageBox,
    QVBoxLayout,
    QWidget,
)

from desktop.jobs import Lane
from desktop.ui.theme import error_label


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
    """Library ▸ Publish the selected, Sync with the marketplace, Marketplace login… (declared in
    actions.py). Queueing is a library operation; sending runs on the network lane and announces
    the patterns it published."""

    def __init__(self, catalogue, settings: Callable, say: Callable[[str, int], None], parent: QWidget):
        self.catalogue, self.settings, self.say, self.parent = catalogue, settings, say, parent

    def login(self) -> LoginDialog:
        from desktop.library.marketplace import load_account

        account = load_account()
        dialog = LoginDialog(account.url if account else "", self.parent)
        if dialog.exec() == QDialog.Accepted:
            kept = getattr(dialog, "kept", "")
            self.say("Marketplace login saved" + (f": {kept}." if kept else " (the token in the OS keyring)."), 8000)
        return dialog

    def publish_selected(self) -> None:
        """The selected patterns' listings in the listing editor; those reviewed there are queued."""
        ids = self.catalogue.selected_ids()
        if self.catalogue.lib is None or not ids:
            QMessageBox.information(self.parent, "Publish", "Select approved patterns in the Library first.")
            return
        self.review_listings(ids, self.settings().marketplace_profile)

    def review_listings(self, ids: list[int], profile_name: str) -> None:
        lib = self.catalogue.lib

        def draft(ctx):
            from desktop.library import listings
            from desktop.library.catalogue import LibraryError

            profile = listings.load_profile(profile_name)
            drafted = []
            for k, pattern_id in enumerate(ids):
                ctx.check_cancelled()
                ctx.progress(k, len(ids), f"Drafting listing {k + 1} of {len(ids)}")
                try:
                    drafted.append(listings.current(lib, pattern_id, profile))
                except LibraryError:  # gone since it was selected: the queue says so
                    continue
            return profile, drafted

        self.catalogue.submit("draft-listings", draft, lane=Lane.IO, title=f"Drafting {len(ids)} listings",
                              on_done=lambda snap: self._review(ids, *snap.result))

    def _review(self, ids: list[int], profile, drafted: list) -> None:
        from desktop.library import ops
        from desktop.library.listings import profile_names
        from desktop.ui.listing_editor import ListingEditor

        if not drafted:
            QMessageBox.information(self.parent, "Publish", "The selected patterns are no longer in the library.")
            return
        products = list(self.settings().listing_mockups)
        lib = self.catalogue.lib

        def request_mockups(pattern_id: int) -> None:  # rendered on the I/O lane, shown when done
            def render(ctx):
                from desktop.library.listings import print_dpi
                from desktop.library.publishing import listing_mockups

                item = lib.get(pattern_id)
                files, _ = listing_mockups(item, print_dpi(item["file"], profile.dpi), products, ctx.check_cancelled)
                return [(field.removeprefix("mockup_"), data) for field, (_, data, _) in files.items()]

            self.catalogue.submit("listing-mockups", render, lane=Lane.IO, title=f"Mockups for #{pattern_id}",
                                  on_done=lambda snap: self.editor.show_mockups(pattern_id, snap.result or []))

        self.editor = ListingEditor(drafted, profile, profile_names(), products, self.parent,
                                    request_mockups=request_mockups if products else None)
        accepted = self.editor.exec() == QDialog.Accepted
        if self.editor.switch_to:  # another marketplace's limits: drafted again for it
            self.review_listings(ids, self.editor.switch_to)
            return
        if not accepted:
            return
        keep = self.editor.to_keep()

        def queue(lib, ctx):
            for listing in keep:  # what publishing sends is what was reviewed here
                ops.save_listing(lib, listing, profile)
            return ops.queue_for_marketplace(lib, ids, profile.name)

        def queued(changes) -> None:
            if not changes.changed:
                reasons = "; ".join(f"{s['id']}: {s['reason']}" for s in changes.skipped[:5])
                QMessageBox.information(self.parent, "Nothing to publish", f"Nothing was queued ({reasons}).")
                return
            skipped = len(changes.skipped)
            self.say(f"Queued {len(changes.changed)} for the marketplace"
                     + (f" ({skipped} not approved or already there)" if skipped else ""), 5000)
            self.sync()

        self.catalogue.run("publish-queue", f"Queueing {len(ids)} for the marketplace", queue, on_done=queued)

    def sync(self, quiet: bool = False) -> None:
        """Send the queue (on the network lane: the network never holds up the library's writer)."""
        from desktop.library.marketplace import load_account

        lib = self.catalogue.lib
        if lib is None:
            return
        account = load_account()
        if account is None:
            if not quiet:
                self.say("Queued. Log in to the marketplace (Library ▸ Marketplace login…) to send it.", 10_000)
            return
        settings = self.settings()
        products, dpi = list(settings.listing_mockups), int(settings.default_dpi)
        profile = settings.marketplace_profile

        def send(ctx):
            from desktop.library import ops
            from desktop.library.marketplace import Marketplace

            market = Marketplace(account, stopped=lambda: ctx.cancelled)  # Stop ends a wait between tries
            return ops.publish_queued(lib, market, ctx, mockups=products, default_dpi=dpi, profile=profile)

        self.catalogue.submit("publish", send, lane=Lane.NETWORK, title=f"Publishing to {account.host}",
                              on_done=lambda snap: self._synced(snap.result, quiet))

    def _synced(self, sent, quiet: bool) -> None:
        result = sent.result
        if result is None:
            if not quiet:
                self.say("Nothing is waiting to be published.", 5000)
            return
        self.catalogue.announce(sent.changes)
        text = f"Published {len(result['published'])}"
        if result["failed"]:
            text += f", {len(result['failed'])} refused ({result['failed'][0]['error']})"
        if result["waiting"]:
            text += f"; {result['waiting']} waiting: {result['stopped']}"
        self.say(text, 15_000)
