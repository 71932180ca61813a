"""Listings: drafted from the pattern, held to each marketplace profile's limits, reviewed, and sent as reviewed."""

import json
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.library import Library, listings, publishing
from desktop.library.catalogue import LibraryError
from desktop.library.marketplace import Account, Marketplace


def tile(seed):
    return np.random.default_rng(seed).integers(0, 255, (48, 32, 3), dtype=np.uint8)


@pytest.fixture
def lib(tmp_path):
    with Library(tmp_path / "lib") as library:
        yield library


def _pattern(lib, **meta):
    pid = lib.add_tile(tile(1), {"style": "checks", "repeat": "half-drop", "seed": 3,
                                 "palette": {"colors": ["#1b2a49", "#f4f1ea"]}, **meta}).added[0]
    lib.update(pid, status="approved", add_tags=["picnic", "kitchen linen"])
    return pid


def test_a_listing_is_drafted_from_the_pattern_within_the_profiles_limits(lib):
    pid = _pattern(lib, engine="diffusion", prompt="a picnic check in navy")
    generic, etsy = listings.load_profile("generic"), listings.load_profile("etsy")
    drafted = listings.current(lib, pid, generic)
    assert drafted.title == lib.get(pid)["title"] and not drafted.reviewed and drafted.problems == []
    assert drafted.tags[:2] == ["kitchen linen", "picnic"] and "half-drop repeat" in drafted.tags
    assert "Brief: a picnic check in navy" in drafted.description
    assert drafted.disclosure == "Made with generative AI (a diffusion model)" in drafted.description
    assert drafted.print_size.endswith("at 150 DPI") and drafted.digital_source_type == "trainedAlgorithmicMedia"
    for_etsy = listings.current(lib, pid, etsy)
    assert len(for_etsy.tags) <= 13 and all(len(t) <= 20 for t in for_etsy.tags) and for_etsy.problems == []


def test_each_broken_limit_is_named_and_a_broken_listing_is_not_kept(lib):
    pid = _pattern(lib)
    etsy = listings.load_profile("etsy")
    listing = listings.current(lib, pid, etsy)
    broken = listings.edited(listing, {"title": "x" * 141, "tags": ",".join(f"tag{i}" for i in range(14)) +
                                       ",a tag far longer than twenty", "description": "no disclosure"})
    assert listings.problems(broken, etsy) == [
        "the title is 141 characters; Etsy-like takes 140", "15 tags; Etsy-like takes 13",
        "tags over 20 characters: a tag far longer than twenty",
        "the description must keep the AI disclosure: " + listing.disclosure]
    with pytest.raises(LibraryError, match="breaks its limits: the title is 141 characters"):
        listings.save(lib, broken, etsy)
    assert not listings.current(lib, pid, etsy).reviewed  # nothing was kept
    with pytest.raises(LibraryError, match="cannot be set: set title, tags, description"):
        listings.edited(listing, {"price": "3"})
    with pytest.raises(LibraryError, match="no marketplace profile 'nope': choose one of etsy, generic, spoonflower"):
        listings.load_profile("nope")


def test_a_reviewed_listing_is_kept_per_profile_and_is_what_is_sent(lib, market):
    pid = _pattern(lib)
    generic = listings.load_profile("generic")
    reviewed = listings.edited(listings.current(lib, pid, generic), {"title": "Navy  picnic check",
                                                                      "tags": "Picnic, gingham,picnic"})
    listings.save(lib, reviewed, generic)
    kept = listings.current(lib, pid, generic)
    assert (kept.title, kept.tags, kept.reviewed) == ("Navy picnic check", ["picnic", "gingham"], True)
    assert not listings.current(lib, pid, listings.load_profile("etsy")).reviewed  # another site: its own
    publishing.queue(lib, [pid])
    result = publishing.sync(lib, Marketplace(Account(market.url, market.token), retries=1, backoff=0))
    assert [p["id"] for p in result["published"]] == [pid]
    sent = market.listings[f"tessera-{lib.get(pid)['sha256']}"]["metadata"]
    assert (sent["title"], sent["tags"], sent["listing_reviewed"]) == ("Navy picnic check", ["picnic", "gingham"],
                                                                       True)
    assert sent["description"] == kept.description and sent["disclosure"]["generative_ai"] is False


def test_a_pattern_whose_listing_breaks_a_limit_is_not_queued_and_says_which(lib):
    pid = _pattern(lib)
    lib.update(pid, title="A " + "very " * 30 + "long title")  # 162 characters: over Etsy's 140
    queued = publishing.queue(lib, [pid], "etsy")
    assert queued["queued"] == []
    assert "its listing breaks Etsy-like's limits: the title is 162 characters" in queued["skipped"][0]["reason"]
    assert publishing.queue(lib, [pid], "generic")["queued"] == [{"id": pid}]  # the API takes 200


def test_the_listing_command_shows_edits_and_refuses_with_exit_codes(lib, tmp_path, capsys):
    pid = _pattern(lib)
    root = str(tmp_path / "lib")
    assert main(["--library", root, "publish", "listing", str(pid), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["reviewed"] is False and shown["profile"] == "generic"
    assert main(["--library", root, "publish", "listing", str(pid), "--profile", "etsy", "--set", "title=" + "x" * 141]) == 2
    assert "breaks its limits: the title is 141 characters; Etsy-like takes 140" in capsys.readouterr().err
    assert main(["--library", root, "publish", "listing", str(pid), "--set", "title=Navy check", "--set",
                 "tags=navy, check", "--json"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert (kept["title"], kept["tags"], kept["reviewed"]) == ("Navy check", ["navy", "check"], True)
    assert main(["--library", root, "publish", "listing", str(pid), "--set", "title"]) == 2
    assert "--set takes FIELD=VALUE" in capsys.readouterr().err
    lib.update(pid, title="x" * 150)  # the drafted etsy listing now breaks a limit: shown, exit 1
    assert main(["--library", root, "publish", "listing", str(pid), "--profile", "etsy"]) == 1
    assert "breaks: the title is 150 characters" in capsys.readouterr().out
    assert main(["--library", root, "publish", "listing", "999"]) == 2


def test_bundles_for_a_marketplace_without_an_api_hold_everything_a_listing_needs(lib, tmp_path, capsys):
    import zipfile

    from PIL import Image

    ids = [_pattern(lib), lib.add_tile(tile(2), {"engine": "diffusion", "prompt": "fans", "repeat": "half-brick"}
                                       ).added[0]]
    root, out = str(tmp_path / "lib"), tmp_path / "upload"
    assert main(["--library", root, "publish", "bundle", *map(str, ids), "--profile", "spoonflower", "--out", str(out),
                 "--mockups", "swatch", "--json"]) == 0
    made = json.loads(capsys.readouterr().out)
    first = out / Path(made["bundles"][0]).name
    names = sorted(p.name for p in first.iterdir())
    stem = first.name
    assert names == sorted([f"{stem}.png", f"{stem}-swatch.png", "mockup-swatch.jpg", "listing.txt", "listing.json"])
    text = (first / "listing.txt").read_text()
    assert "Repeat: Half-drop" in text and "How it was made: Made by an algorithm" in text
    with Image.open(first / f"{stem}.png") as img:
        assert round(img.info["dpi"][0]) == 150 and "XML:com.adobe.xmp" in img.info
    listing = json.loads((first / "listing.json").read_text())
    assert listing["marketplace"] == "spoonflower" and listing["repeat"] == "Half-drop"
    assert (out / "contact-sheet.png").is_file() and not (out / ".bundle-partial").exists()
    second = json.loads((out / Path(made["bundles"][1]).name / "listing.json").read_text())
    assert second["repeat"] == "Half-brick" and second["digital_source_type"] == "trainedAlgorithmicMedia"

    zipped = tmp_path / "zipped"
    assert main(["--library", root, "publish", "bundle", str(ids[0]), "--profile", "spoonflower", "--out",
                 str(zipped), "--zip", "--mockups", "none"]) == 0
    capsys.readouterr()
    [archive] = list(zipped.glob("*.zip"))
    with zipfile.ZipFile(archive) as z:
        assert {Path(n).name for n in z.namelist()} == {f"{stem}.png", f"{stem}-swatch.png", "listing.txt",
                                                         "listing.json"}

    lib.update(ids[0], title="y" * 120)  # over the site's 100: nothing is written, and why is said
    refused = tmp_path / "refused"
    assert main(["--library", root, "publish", "bundle", str(ids[0]), "--profile", "spoonflower", "--out",
                 str(refused)]) == 2
    assert "breaks Spoonflower-like (upload by hand)'s limits: the title is 120 characters" in capsys.readouterr().err
    assert not refused.exists() or list(refused.iterdir()) == []


def test_a_profile_that_does_not_parse_is_one_sentence(tmp_path, monkeypatch):
    import shutil as sh

    from desktop.resources import resources_dir

    copy = tmp_path / "resources"
    sh.copytree(resources_dir(), copy)
    (copy / "marketplaces" / "broken.toml").write_text("title_max = [oops\n")
    (copy / "marketplaces" / "short.toml").write_text('name = "short"\ntitle_max = 10\n')
    monkeypatch.setenv("TESSERA_RESOURCES", str(copy))
    with pytest.raises(LibraryError, match=r"the marketplace profile .*broken.toml does not parse: "):
        listings.load_profile("broken")
    with pytest.raises(LibraryError, match=r"short.toml does not parse: it lacks 'tags_max'"):
        listings.load_profile("short")
    assert main(["publish", "listing", "1", "--profile", "broken"]) == 2
