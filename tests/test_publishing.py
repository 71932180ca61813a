"""Publishing to the marketplace through the outbox, against a loopback marketplace: only approved
patterns go, what is queued offline is sent by the next sync, a busy marketplace is retried, a
lost answer or a second queueing is one listing, a refusal keeps the pattern approved with the
reason, a refused token stops the sync, and the login file is the user's alone."""

import hashlib
import json
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.library import Library, publishing
from desktop.library.marketplace import Account, Marketplace, Refused, load_account


def tile(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (32, 32, 3), dtype=np.uint8)


@pytest.fixture
def lib(tmp_path):
    with Library(tmp_path / "lib") as library:
        yield library


def three(lib):
    ids = [lib.add_tile(tile(k), {"style": "stripes", "seed": k, "repeat": "half-drop"}).added[0] for k in range(3)]
    lib.update(ids[0], status="approved", add_tags=["gold"])
    lib.update(ids[1], status="approved")
    return ids


def connect(market, retries=2):
    return Marketplace(Account(market.url, market.token), retries=retries, backoff=0)


def test_only_approved_patterns_are_queued_and_a_sync_publishes_them(lib, market):
    ids = three(lib)
    queued = publishing.queue(lib, [*ids, 999])
    assert [q["id"] for q in queued["queued"]] == ids[:2]
    assert {s["id"]: s["reason"] for s in queued["skipped"]} == {ids[2]: "it is draft: approve it first",
                                                                999: "no such pattern"}
    result = publishing.sync(lib, connect(market))
    assert [p["id"] for p in result["published"]] == ids[:2] and result["waiting"] == 0 and not result["stopped"]
    assert lib.get(ids[0])["status"] == "published" and lib.get(ids[2])["status"] == "draft"
    sent = market.listings[f"tessera-{lib.get(ids[0])['sha256']}"]
    from desktop.engine.images import decode_rgb
    from desktop.library import credentials

    stored = Path(lib.get(ids[0])["file"]).read_bytes()  # the stored file, its pixels, and its credentials
    assert (decode_rgb(sent["image"])[0] == decode_rgb(stored)[0]).all()
    assert credentials.read(sent["image"], "png")["valid"] and credentials.read(stored, "png") is None
    assert sent["metadata"]["repeat"] == "half-drop" and sent["metadata"]["tags"][0] == "gold"  # the listing's tags
    assert sent["metadata"]["listing_profile"] == "generic" and sent["metadata"]["listing_reviewed"] is False
    assert sent["metadata"]["provenance"]["style"] == "stripes"
    history = [h["action"] for h in lib.get(ids[0])["history"]]
    assert history[-2:] == ["publish-queued", "published"]
    assert publishing.queue(lib, ids[:1])["skipped"] == [{"id": ids[0], "reason": "already published"}]


def test_what_is_queued_offline_waits_and_goes_with_the_next_sync(lib, market, monkeypatch):
    ids = three(lib)
    publishing.queue(lib, ids[:2])
    monkeypatch.setenv("TESSERA_OFFLINE", "1")
    offline = publishing.sync(lib, connect(market))
    assert offline["published"] == [] and offline["waiting"] == 2 and "works offline" in offline["stopped"]
    dead = Marketplace(Account("http://127.0.0.1:9", "secret"), retries=1, backoff=0)  # nothing listens there
    monkeypatch.delenv("TESSERA_OFFLINE")
    unreachable = publishing.sync(lib, dead)
    assert unreachable["waiting"] == 2 and "cannot be reached" in unreachable["stopped"]
    assert [r for r in market.requests if r["method"] == "POST"] == []
    back = publishing.sync(lib, connect(market))
    assert len(back["published"]) == 2 and back["waiting"] == 0


def test_a_busy_marketplace_is_retried_and_a_lost_answer_is_one_listing(lib, market):
    ids = three(lib)
    publishing.queue(lib, ids[:1])
    market.script = [503, 429]  # busy twice, then it lists
    result = publishing.sync(lib, connect(market, retries=3))
    assert len(result["published"]) == 1 and len(market.requests) == 3
    assert len({r["key"] for r in market.requests}) == 1  # every try had the same idempotency key
    # a second queueing of the same pattern is the same listing
    with Session(lib) as session:
        session.execute("UPDATE publication SET state = 'queued'")
        session.execute("UPDATE pattern SET status = 'approved'")
    again = publishing.sync(lib, connect(market))
    assert again["published"][0]["id"] == ids[0] and again["published"][0]["url"] == result["published"][0]["url"]
    assert len(market.listings) == 1


def test_a_lost_answer_is_retried_under_the_same_key_and_is_one_listing(lib, market):
    """The marketplace lists the pattern, the answer is lost on the way, the client tries again:
    only the idempotency key, the file's own sha256 and the same on every try, makes that one listing."""
    ids = three(lib)
    publishing.queue(lib, ids[:1])
    market.script = ["lose"]
    result = publishing.sync(lib, connect(market, retries=3))
    assert [p["id"] for p in result["published"]] == [ids[0]] and result["failed"] == []
    assert len(market.requests) == 2  # the lost one and its retry
    sha = hashlib.sha256(Path(lib.get(ids[0])["file"]).read_bytes()).hexdigest()
    assert [r["key"] for r in market.requests] == [f"tessera-{sha}"] * 2
    assert len(market.listings) == 1
    assert result["published"][0]["url"] == next(iter(market.listings.values()))["listing"]["url"]


def test_the_loopback_marketplace_refuses_a_publish_without_a_key(market):
    """As a real API does: without this, a client that dropped its key would still pass the tests above."""
    client = Marketplace(Account(market.url, "secret"), retries=0)
    with pytest.raises(Refused, match="Idempotency-Key"):
        client.publish(b"png", "a.png", {}, key="")
    assert market.listings == {}


def test_a_refusal_keeps_the_pattern_approved_with_the_reason(lib, market):
    ids = three(lib)
    publishing.queue(lib, ids[:2])
    market.script = [422]
    result = publishing.sync(lib, connect(market))
    assert [f["id"] for f in result["failed"]] == [ids[0]] and "scripted 422" in result["failed"][0]["error"]
    assert [p["id"] for p in result["published"]] == [ids[1]]  # the others go on
    assert lib.get(ids[0])["status"] == "approved"
    assert publishing.outbox(lib, "failed")[0]["error"].endswith("scripted 422")
    assert [q["id"] for q in publishing.queue(lib, ids[:1])["queued"]] == [ids[0]]  # it may be queued again


def test_a_refused_token_stops_the_sync_and_keeps_the_queue(lib, market):
    ids = three(lib)
    publishing.queue(lib, ids[:2])
    result = publishing.sync(lib, Marketplace(Account(market.url, "wrong"), retries=0))
    assert result["published"] == [] and result["waiting"] == 2 and "refused the token" in result["stopped"]


def test_a_pattern_rejected_after_it_was_queued_is_not_sent(lib, market):
    ids = three(lib)
    publishing.queue(lib, ids[:1])
    lib.update(ids[0], status="rejected")
    result = publishing.sync(lib, connect(market))
    assert result["failed"] == [{"id": ids[0], "error": "it was rejected when its turn came"}]
    assert [r for r in market.requests if r["method"] == "POST"] == []


def test_the_publish_command_logs_in_queues_offline_and_syncs(tmp_path, market, capsys, isolated_home):
    root = tmp_path / "lib"
    with Library(root) as lib:
        ids = three(lib)
    assert main(["publish", "login", "ftp://x", "--token", "t"]) == 2
    assert "http(s) URL" in capsys.readouterr().err
    assert main(["publish", "login", market.url, "--token", "wrong"]) == 2
    assert "refused the token" in capsys.readouterr().err and load_account() is None  # not saved
    assert main(["publish", "login", market.url, "--token", "secret"]) == 0
    assert "logged in as Studio Nine" in capsys.readouterr().out
    saved = isolated_home / "config" / "marketplace.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and load_account().token == "secret"
    assert main(["--library", str(root), "--json", "publish", "queue", "--approved", "--no-sync"]) == 0
    assert len(json.loads(capsys.readouterr().out)["queued"]) == 2 and [r for r in market.requests if r["method"] == "POST"] == []
    assert main(["--library", str(root), "--json", "publish", "sync", "--no-mockups"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["published"]) == 2 and out["waiting"] == 0
    assert all(sent["files"] == {} and "mockups" not in sent["metadata"] for sent in market.listings.values())
    assert main(["--library", str(root), "publish", "status", "--state", "published"]) == 0
    assert capsys.readouterr().out.count(f"{market.url}/#L") == 2
    assert main(["--library", str(root), "--json", "library", "show", str(ids[0])]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["status"] == "published" and shown["publication"]["url"].startswith(f"{market.url}/#L")
    # a sync that stops with patterns still queued (a busy marketplace asking for an hour) exits 4 and says
    # what happened to each, in --json
    lib = Library(root)
    try:
        lib.update(ids[2], status="approved")
        publishing.queue(lib, [ids[2]])
    finally:
        lib.close()
    market.script = [{"status": 503, "retry_after": "3600"}]
    assert main(["--library", str(root), "--json", "publish", "sync", "--no-mockups"]) == 4
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert out["published"] == [] and out["still_queued"] == [ids[2]] and "asks to wait 3600 s" in out["stopped"]
    assert "1 pattern(s) stay queued" in captured.err
    market.script = []
    assert main(["--library", str(root), "--json", "publish", "sync", "--no-mockups"]) == 0  # the next one sends it
    assert json.loads(capsys.readouterr().out)["still_queued"] == []
    # a queue that queued nothing because every pattern named was refused exits 1, offline or not
    with Library(root) as lib:
        extra = lib.add_tile(np.full((16, 16, 3), 7, np.uint8), {"style": "stripes"}).pattern_id  # a draft
    for more in ([], ["--no-sync"]):
        assert main(["--library", str(root), "publish", "queue", str(extra), *more]) == 1
        assert f"skipped {extra}: it is draft: approve it first" in capsys.readouterr().out


def test_a_listing_says_how_large_it_prints_and_shows_it_on_a_product(lib, market):
    """The print size comes from the tile's own PNG (made for 300 dpi) or the studio's default;
    each product asked for is a JPEG part of the listing, rendered at that size; a product name
    Tessera does not know is passed over."""
    import io

    from PIL import Image

    from desktop.library.titles import pattern_stem

    made_for_print = lib.add_tile(tile(7), {"style": "stripes", "repeat": "half-drop", "dpi": 300}).added[0]
    plain = lib.add_tile(tile(8), {"style": "checks"}).added[0]
    for pid in (made_for_print, plain):
        lib.update(pid, status="approved")
    publishing.queue(lib, [made_for_print, plain])
    result = publishing.sync(lib, connect(market), mockups=("swatch", "teapot"), default_dpi=100)
    assert len(result["published"]) == 2
    sent = {pid: market.listings[f"tessera-{lib.get(pid)['sha256']}"] for pid in (made_for_print, plain)}
    assert sent[made_for_print]["metadata"]["print"] == {"dpi": 300.0, "tile_in": [0.107, 0.107],
                                                         "tile_cm": [0.27, 0.27]}
    assert sent[plain]["metadata"]["print"]["dpi"] == 100.0
    assert sent[plain]["metadata"]["print"]["tile_in"] == [0.32, 0.32]
    for pid, listing in sent.items():
        assert set(listing["files"]) == {"mockup_swatch"}
        assert listing["names"]["mockup_swatch"] == f"{pattern_stem(pid, lib.get(pid)['title'])}-swatch.jpg"
        [about] = listing["metadata"]["mockups"]
        assert about["field"] == "mockup_swatch" and about["product"] == "swatch"
        assert about["tile_in"] == listing["metadata"]["print"]["tile_in"]
        assert about["repeat"] == lib.get(pid)["repeat"]
        shown = Image.open(io.BytesIO(listing["files"]["mockup_swatch"]))
        assert shown.format == "JPEG" and shown.size == tuple(about["size"]) == (1200, 980)
        assert np.asarray(shown.convert("RGB")).std() > 10  # the pattern is on it, not a blank card


def test_a_tile_that_cannot_be_shown_is_listed_without_mockups(lib, market):
    """A stored file that no longer decodes still goes (the marketplace judges the file); it
    only has no mockups."""
    pid = lib.add_tile(tile(9), {"style": "stripes"}).added[0]
    lib.update(pid, status="approved")
    publishing.queue(lib, [pid])
    Path(lib.get(pid)["file"]).write_bytes(b"not a png any more")
    result = publishing.sync(lib, connect(market), mockups=("wall",))
    assert [p["id"] for p in result["published"]] == [pid]
    [listing] = market.listings.values()
    assert listing["files"] == {} and "mockups" not in listing["metadata"]


class Watched(Marketplace):
    """A marketplace connection that runs `during(metadata)` inside each publish."""

    def __init__(self, market, during):
        super().__init__(Account(market.url, market.token), retries=0, backoff=0)
        self.during = during

    def publish(self, data, name, metadata, **kw):
        self.during(metadata)
        return super().publish(data, name, metadata, **kw)


def test_the_next_listing_is_made_while_one_uploads_and_goes_only_if_still_approved(lib, market, monkeypatch):
    import threading

    ids = three(lib)
    lib.update(ids[2], status="approved")
    publishing.queue(lib, ids)
    started: dict[int, threading.Event] = {pid: threading.Event() for pid in ids}
    real = publishing._prepare

    def prepare(item, *args):
        started[item["id"]].set()
        return real(item, *args)

    monkeypatch.setattr(publishing, "_prepare", prepare)
    seen = []

    def during(metadata):
        seen.append(metadata["sha256"])
        k = len(seen) - 1
        if k + 1 < len(ids):  # the next one's file and mockups are on their way while this uploads
            assert started[ids[k + 1]].wait(10)
        if k == 0:
            lib.update(ids[1], status="rejected")  # read ahead, then rejected before its turn

    result = publishing.sync(lib, Watched(market, during), mockups=("swatch",))
    assert [p["id"] for p in result["published"]] == [ids[0], ids[2]]
    assert result["failed"] == [{"id": ids[1], "error": "it was rejected when its turn came"}]
    assert lib.get(ids[1])["status"] == "rejected" and len(market.listings) == 2
    assert not [t for t in threading.enumerate() if t.name.startswith("tessera-listing")]


def test_a_sync_that_stops_abandons_the_listing_it_read_ahead(lib, market, monkeypatch):
    import threading

    from desktop.library.marketplace import Offline

    ids = three(lib)
    publishing.queue(lib, ids[:2])
    renders = []
    real = publishing.listing_mockups

    def counted(item, dpi, products, check_cancelled=None):
        renders.append(item["id"])
        return real(item, dpi, products, check_cancelled)

    monkeypatch.setattr(publishing, "listing_mockups", counted)

    def during(metadata):
        raise Offline("the network went away")

    result = publishing.sync(lib, Watched(market, during), mockups=("wall", "fabric", "cushion", "swatch"))
    assert result["stopped"] == "the network went away" and result["published"] == [] and result["waiting"] == 2
    assert not [t for t in threading.enumerate() if t.name.startswith("tessera-listing")]
    assert renders[0] == ids[0]  # the second was read ahead, and stopped (or never begun): nothing was sent
    assert market.listings == {}


def test_a_library_made_before_publishing_is_migrated_with_a_backup(tmp_path):
    root = tmp_path / "lib"
    with Library(root) as lib:
        pid = lib.add_tile(tile(1), {"style": "checks"}).added[0]
    con = sqlite3.connect(root / "library.db")
    con.execute("DROP TABLE publication")
    con.execute("DROP INDEX ix_pattern_trashed")  # and what came after it (0003: the trash)
    con.execute("ALTER TABLE pattern DROP COLUMN trashed")
    con.execute("DROP TABLE listing")  # (0004: reviewed listings)
    con.execute("UPDATE alembic_version SET version_num = '0001'")
    con.commit()
    con.close()
    with Library(root) as lib:
        assert lib.revision() == "0004" and lib.get(pid)["provenance"]["style"] == "checks"
        assert publishing.outbox(lib) == []
    assert list((root / "backups").glob("library-*-before-0004.db"))


class Session:
    """Raw SQL on the library's database (a test's way to lose an answer)."""

    def __init__(self, lib):
        self.lib = lib

    def __enter__(self):
        self.conn = sqlite3.connect(self.lib.db_path)
        return self.conn

    def __exit__(self, *exc):
        self.conn.commit()
        self.conn.close()


def test_the_demo_marketplace_serves_the_whole_cycle_and_stops_on_a_signal(tmp_path, isolated_home):
    """`tessera market serve --demo`: log in to the address it prints, publish, see the listing on its page."""
    import signal
    import subprocess
    import sys
    import urllib.request

    from conftest import ROOT, subprocess_env

    env = subprocess_env(TESSERA_HOME=str(isolated_home), TESSERA_OFFLINE="")
    server = subprocess.Popen([sys.executable, "-m", "desktop", "market", "serve", "--demo", "--port", "0"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = server.stdout.readline()
        assert first.startswith("Demo marketplace at http://127.0.0.1:")
        url = first.split()[3]
        root = tmp_path / "lib"
        with Library(root) as lib:
            ids = three(lib)
        tessera = [sys.executable, "-m", "desktop", "--library", str(root)]
        login = subprocess.run([*tessera, "publish", "login", url, "--token", "demo"], cwd=ROOT, env=env,
                               capture_output=True, text=True, timeout=120)
        assert login.returncode == 0 and "logged in as Your studio" in login.stdout
        queued = subprocess.run([*tessera, "publish", "queue", str(ids[0]), "--no-mockups"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert queued.returncode == 0 and "published 1" in queued.stdout
        page = urllib.request.urlopen(url + "/", timeout=30).read().decode()
        assert "1 listing(s)" in page and '<img src="/listings/L1.png"' in page
        assert urllib.request.urlopen(url + "/listings/L1.png", timeout=30).read()[:4] == b"\x89PNG"
    finally:
        server.send_signal(signal.SIGINT)
        code = server.wait(60)
    assert code == 0 and "stopped; 1 listing(s) were made" in server.stderr.read()
