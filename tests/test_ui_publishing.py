"""Publishing from the window: the selected approved patterns are queued and sent, the grid shows
them published, what was queued offline goes when the window opens the library, and the login dialog
refuses a token that would travel in the clear."""

import numpy as np
import pytest

from desktop.library.marketplace import load_account


def test_the_selected_approved_patterns_are_published(window, qtbot, market, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    told = []
    monkeypatch.setattr(QMessageBox, "information", lambda parent, title, text: told.append(text))
    from desktop.ui.publish_actions import LoginDialog

    login = LoginDialog("", window)
    login.url.setText("http://market.example.com")
    login.token.setText("secret")
    login.accept()
    assert login.result() == 0 and "https" in login.error.text() and load_account() is None
    login.url.setText(market.url)
    login.accept()
    assert login.result() == 1 and load_account().url == market.url

    from desktop.ui.settings_dialog import SettingsDialog

    settings = SettingsDialog(window.paths, window.settings, None, window)  # listings show one product
    assert [n for n, box in settings.mockups.items() if box.isChecked()] == ["wall", "swatch"]  # the default
    settings.mockups["wall"].setChecked(False)
    settings.dpi.setValue(200)
    settings.accept()
    window.settings = settings.settings
    assert window.settings.listing_mockups == ["swatch"]

    rng = np.random.default_rng(0)
    ids = [window.lib.add_tile(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), {"style": "dots", "seed": k}
                               ).added[0] for k in range(2)]
    window.lib.update(ids[0], status="approved")
    window.catalogue.reload()
    qtbot.waitUntil(lambda: window.library.count() == 2, timeout=10_000)
    window.library.list.selectAll()
    from desktop.ui.listing_editor import ListingEditor

    reviewed = []

    def review(editor):  # the listing editor, as a person uses it: one title changed, then Queue
        reviewed.append(sorted(listing.pattern_id for listing in editor.listings))
        qtbot.waitUntil(lambda: bool(editor.mockup_views), timeout=30_000)  # the mockups it will go with
        assert editor.mockup_views[0].pixmap().width() > 0 and "swatch" in editor.mockup_views[0].toolTip()
        editor.patterns.setCurrentRow(next(r for r, li in enumerate(editor.listings) if li.pattern_id == ids[0]))
        editor.title.setText("Dotty navy")
        editor.title.textEdited.emit("Dotty navy")
        editor.accept()
        return editor.result()

    monkeypatch.setattr(ListingEditor, "exec", review)
    window.publishing.publish_selected()
    qtbot.waitUntil(lambda: window.lib.get(ids[0])["status"] == "published", timeout=20_000)
    assert reviewed == [sorted(ids)]
    qtbot.waitUntil(lambda: "Published 1" in window.statusBar().currentMessage(), timeout=10_000)
    assert window.lib.get(ids[1])["status"] == "draft" and len(market.listings) == 1
    [listing] = market.listings.values()
    assert set(listing["files"]) == {"mockup_swatch"} and listing["metadata"]["print"]["dpi"] == 200
    assert listing["metadata"]["title"] == "Dotty navy" and listing["metadata"]["listing_reviewed"] is True
    row = next(r for r in range(window.library.model.rowCount()) if window.library.model.entries[r].pattern_id == ids[0])
    assert window.library.model.entries[row].status == "published"
    window.tile_view.show_entry(window.library.model.entries[row])  # the Inspector says where it is listed
    qtbot.waitUntil(lambda: "Marketplace: published" in window.inspector.view.toPlainText(), timeout=10_000)
    assert f"{market.url}/#L1" in window.inspector.view.toPlainText()


@pytest.fixture
def queued_offline(market):
    """An approved pattern queued while offline, in the library the window will open, and a login."""
    from desktop.config import library_dir, load_settings, resolve_paths
    from desktop.library import Library, publishing
    from desktop.library.marketplace import save_account

    paths = resolve_paths()
    with Library(library_dir(paths, load_settings(paths.settings_file))) as lib:
        pid = lib.add_tile(np.full((32, 32, 3), 90, np.uint8), {"style": "plain"}).added[0]
        lib.update(pid, status="approved")
        publishing.queue(lib, [pid])
    save_account(market.url, "secret")
    return pid


def test_what_was_queued_offline_goes_when_the_window_opens_the_library(market, queued_offline, window, qtbot):
    qtbot.waitUntil(lambda: window.lib.get(queued_offline)["status"] == "published", timeout=20_000)
    assert len(market.listings) == 1


def test_the_inspector_says_where_a_pattern_is_listed_and_what_trained_its_lora(qtbot):
    from desktop.ui.inspector_panel import InspectorPanel

    panel = InspectorPanel()
    qtbot.addWidget(panel)
    lora = {"name": "deco-fans", "weight": 0.8, "sha256": "ab" * 32, "path": "/x/deco-fans.safetensors",
            "training": {"tiles": [{"id": 12}, {"id": 40}], "base_model": {"name": "house-sd15"}, "steps": 500}}
    item = {"id": 7, "status": "published", "rating": 4, "tags": ["gold"], "history": [],
            "provenance": {"engine": "diffusion", "prompt": "fans", "loras": [lora]},
            "publication": {"state": "published", "listing_id": "L9", "url": "https://market.test/p/9",
                            "error": "", "queued": "2026-12-02T00:00:00"}}
    panel.show_library_item(item)
    text = panel.view.toPlainText()
    assert "Marketplace: published" in text and "https://market.test/p/9" in text
    assert "trained on 2 tile(s) of house-sd15, 500 steps (#12, #40)" in text
    panel.show_library_item(dict(item, publication={"state": "failed", "error": "market refused it: too small",
                                                    "listing_id": "", "url": "", "queued": ""}))
    assert "refused" in panel.view.toPlainText() and "too small" in panel.view.toPlainText()


def test_the_listing_editor_names_a_broken_limit_adds_tags_to_all_and_switches_marketplace(window, qtbot,
                                                                                           monkeypatch):
    from desktop.library import listings
    from desktop.ui.listing_editor import ListingEditor

    rng = np.random.default_rng(1)
    ids = [window.lib.add_tile(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8), {"style": "dots", "seed": k}
                               ).added[0] for k in range(2)]
    etsy = listings.load_profile("etsy")
    drafted = [listings.current(window.lib, i, etsy) for i in ids]
    editor = ListingEditor(drafted, etsy, listings.profile_names(), ["wall"], window)
    assert editor.counts["title"].text() == f"{len(drafted[0].title)}/140" and editor.mockups.text() == "wall"
    assert "Made by an algorithm" in editor.made.text()
    editor.patterns.setCurrentRow(1)
    editor.title.setText("x" * 141)
    editor.title.textEdited.emit("x" * 141)
    assert "The title is 141 characters; etsy-like takes 140" in editor.problems.text()
    editor.patterns.setCurrentRow(0)
    editor.accept()  # refused: the second listing breaks a limit, and it is shown with why
    assert editor.result() == 0 and editor.patterns.currentRow() == 1
    assert editor.problems.text().startswith(f"#{ids[1]} breaks Etsy-like's limits: the title is 141")
    editor.title.setText("Dots")
    editor.title.textEdited.emit("Dots")
    editor.all_tags.setText("nursery, polka dot")
    editor.add_tags_to_all()
    assert all(li.tags[-2:] == ["nursery", "polka dot"] for li in editor.listings)
    assert sorted(li.pattern_id for li in editor.to_keep()) == sorted(ids)
    editor.accept()
    assert editor.result() == 1

    asked = []
    monkeypatch.setattr(window.publishing, "review_listings", lambda ids_, name: asked.append((ids_, name)))
    other = ListingEditor(drafted, etsy, listings.profile_names(), [], window)
    other.profile_box.setCurrentText("generic")  # another marketplace: drafted again for its limits
    assert other.switch_to == "generic" and other.result() == 0
