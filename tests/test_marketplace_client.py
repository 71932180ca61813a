"""The marketplace client against a loopback marketplace: what it sends, how it reads each answer,
which failures it retries and how often, how long it waits, and where its login comes from."""

import json
import os
import stat
import time

import pytest

from desktop.errors import UserError
from desktop.library.marketplace import (
    Account,
    Marketplace,
    NotAllowed,
    Offline,
    Refused,
    check_login,
    load_account,
    save_account,
    working_offline,
)


def client(market, retries=0, **kw):
    return Marketplace(Account(market.url, market.token), retries=retries, backoff=kw.pop("backoff", 0), **kw)


def test_a_publish_sends_the_image_its_metadata_and_mockups_as_the_api_says(market):
    listing = client(market).publish(b"\x89PNG", "tile.png", {"title": "Gold", "a": 1}, key="tessera-abc",
                                     files={"mockup_mug": ("mug.jpg", b"jpeg", "image/jpeg")})
    assert listing == {"id": "L1", "url": f"{market.url}/#L1"}
    (sent,) = market.requests
    assert (sent["method"], sent["path"]) == ("POST", "/v1/patterns")
    headers = sent["headers"]
    assert headers["Authorization"] == "Bearer secret" and headers["Idempotency-Key"] == "tessera-abc"
    assert headers["Accept"] == "application/json" and headers["User-Agent"] == "Tessera"
    assert sent["names"] == {"image": "tile.png", "metadata": "metadata.json", "mockup_mug": "mug.jpg"}
    assert sent["types"] == {"image": "image/png", "metadata": "application/json", "mockup_mug": "image/jpeg"}
    assert sent["raw_metadata"] == b'{"a": 1, "title": "Gold"}'  # keys sorted: the same listing, the same bytes
    client(market).publish(b"jpeg", "tile.jpg", {}, key="tessera-def")
    assert market.requests[-1]["types"]["image"] == "image/jpeg"


def test_whoami_asks_the_me_route(market):
    assert client(market).whoami() == {"name": "Studio Nine"}
    assert [(r["method"], r["path"]) for r in market.requests] == [("GET", "/v1/me")]
    with pytest.raises(NotAllowed, match="refused the token"):
        Marketplace(Account(market.url, "wrong"), retries=0).whoami()


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_stops_publishing_and_says_how_to_log_in(market, status):
    market.script = [{"status": status, "retry_after": None}]
    with pytest.raises(NotAllowed) as caught:
        client(market).publish(b"png", "a.png", {}, key="k")
    assert str(caught.value) == (f"127.0.0.1 refused the token (scripted {status}): log in again with "
                                 "'tessera publish login URL' or Library ▸ Marketplace login…")


@pytest.mark.parametrize("status", [400, 404, 413, 415, 422, 430])
def test_a_refusal_is_this_patterns_alone(market, status):
    market.script = [{"status": status, "retry_after": None}]
    with pytest.raises(Refused, match=rf"^127\.0\.0\.1 refused it: scripted {status}$"):
        client(market).publish(b"png", "a.png", {}, key="k")


@pytest.mark.parametrize("status", [429, 500, 501, 502, 503, 504])
def test_a_busy_answer_leaves_the_pattern_queued(market, status):
    market.script = [{"status": status, "retry_after": None}]
    with pytest.raises(Offline, match=rf"is busy \({status} scripted {status}\); it will be tried again"):
        client(market).publish(b"png", "a.png", {}, key="k")


@pytest.mark.parametrize("status,retried", [(429, True), (500, True), (501, False), (502, True), (503, True),
                                            (504, True)])
def test_busy_answers_are_retried_and_others_are_not(market, status, retried):
    market.script = [{"status": status, "retry_after": None}]
    if retried:
        assert client(market, retries=1).publish(b"png", "a.png", {}, key="k")["id"] == "L1"
    else:
        with pytest.raises(Offline):
            client(market, retries=1).publish(b"png", "a.png", {}, key="k")
    assert len(market.requests) == (2 if retried else 1)


def test_retries_stop_at_the_total_whatever_mix_of_failures(market):
    """Two retries: a busy answer, a lost answer and a busy answer again are three failures, the end;
    the answer that stopped it says the marketplace is busy (not that it cannot be reached)."""
    market.script = [{"status": 503, "retry_after": None}, "lose", {"status": 503, "retry_after": None}]
    with pytest.raises(Offline, match=r"is busy \(503 scripted 503\)"):
        client(market, retries=2).publish(b"png", "a.png", {}, key="k")
    assert len(market.requests) == 3


def test_retry_after_is_honoured(market):
    market.script = [{"status": 503, "retry_after": "1"}]
    start = time.monotonic()
    client(market, retries=1).publish(b"png", "a.png", {}, key="k")
    assert time.monotonic() - start >= 0.95  # a lower bound: a busy machine only waits longer


def test_retries_back_off(market):
    market.script = [{"status": 503, "retry_after": None}] * 3
    start = time.monotonic()
    client(market, retries=3, backoff=0.3).publish(b"png", "a.png", {}, key="k")
    assert time.monotonic() - start >= 0.55  # urllib3 waits 0, then 0.6 s and 1.2 s before the retries


def test_a_stalled_server_is_given_up_on_after_the_read_timeout(market):
    market.script = [{"hang": 3}]
    with pytest.raises(Offline, match=r"^127\.0\.0\.1 cannot be reached \(\w+Error\)$"):
        client(market, timeout=0.5).publish(b"png", "a.png", {}, key="k")


def test_an_unreachable_marketplace_is_named_with_what_failed(market):
    url = market.url
    market.close()
    with pytest.raises(Offline, match=r"^127\.0\.0\.1 cannot be reached \((MaxRetryError|NewConnectionError)\)$"):
        Marketplace(Account(url, "secret"), retries=0).whoami()


def test_the_reason_is_the_error_or_the_message_or_the_status_line(market):
    for body, reason in (({"error": "too dark"}, "too dark"), ({"message": "too light"}, "too light"),
                         (b"<html>oops</html>", "Unprocessable Entity"), ({"error": "x" * 400}, "x" * 300)):
        market.script = [{"status": 422, "retry_after": None, "body": body}]
        with pytest.raises(Refused) as caught:
            client(market).publish(b"png", "a.png", {}, key="k")
        assert str(caught.value) == f"127.0.0.1 refused it: {reason}"


def test_an_answer_without_a_listing_id_is_a_refusal(market, monkeypatch):
    monkeypatch.setattr(Marketplace, "_request", lambda self, *a, **k: (201, {"url": "u"}))
    with pytest.raises(Refused, match=r"^127\.0\.0\.1 answered 201 without a listing id$"):
        client(market).publish(b"png", "a.png", {}, key="k")
    monkeypatch.setattr(Marketplace, "_request", lambda self, *a, **k: (201, {"id": 7}))
    assert client(market).publish(b"png", "a.png", {}, key="k") == {"id": "7", "url": ""}


@pytest.mark.parametrize("value,offline", [("1", True), ("yes", True), ("", False), ("0", False), ("false", False),
                                           ("FALSE", False), ("no", False), (" No ", False)])
def test_working_offline_is_read_as_people_write_it(monkeypatch, value, offline):
    monkeypatch.setenv("TESSERA_OFFLINE", value)
    assert working_offline() is offline


def test_offline_no_request_leaves_this_machine(market, monkeypatch):
    monkeypatch.setenv("TESSERA_OFFLINE", "1")
    with pytest.raises(Offline, match=r"^this machine works offline \(TESSERA_OFFLINE\)$"):
        client(market).whoami()
    assert market.requests == []


def test_https_everywhere_but_this_machine():
    for url in ("https://market.example", "HTTPS://market.example", "http://127.0.0.1:8000", "http://localhost",
                "http://[::1]:9"):
        check_login(url, "t")
    with pytest.raises(UserError, match=r"^the marketplace address must use https \(a token must not travel in the clear\)$"):
        check_login("http://market.example", "t")
    for url in ("ftp://market.example", "market.example", "https://"):
        with pytest.raises(UserError, match="must be an http"):
            check_login(url, "t")
    with pytest.raises(UserError, match=r"^the marketplace token is empty$"):
        check_login("https://market.example", "  ")


def test_the_login_comes_from_the_environment_then_the_file(isolated_home, monkeypatch):
    monkeypatch.delenv("TESSERA_MARKET_URL", raising=False)
    monkeypatch.delenv("TESSERA_MARKET_TOKEN", raising=False)
    assert load_account() is None
    path, _ = save_account("https://market.example/api/", " tok ")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {"url": "https://market.example/api", "token": "tok"}
    assert load_account() == Account("https://market.example/api", "tok")
    monkeypatch.setenv("TESSERA_MARKET_TOKEN", "from-env")  # each part from wherever it is given
    assert load_account() == Account("https://market.example/api", "from-env")
    monkeypatch.setenv("TESSERA_MARKET_URL", "https://other.example/")
    assert load_account() == Account("https://other.example", "from-env")
    monkeypatch.setenv("TESSERA_MARKET_URL", "https://other.example/X/")  # only the slash goes
    assert load_account() == Account("https://other.example/X", "from-env")
    monkeypatch.setenv("TESSERA_MARKET_URL", "https://other.example/")
    monkeypatch.delenv("TESSERA_MARKET_TOKEN")
    assert load_account() == Account("https://other.example", "tok")
    for broken in ("not json", "[1, 2]", '{"url": "https://x"}', '{"token": "t"}'):
        monkeypatch.delenv("TESSERA_MARKET_URL")
        path.write_text(broken)
        assert load_account() is None
        monkeypatch.setenv("TESSERA_MARKET_URL", "https://other.example/")


def test_the_login_is_written_readable_by_this_user_alone_from_its_first_byte(isolated_home, monkeypatch):
    """Not only chmod 600 afterwards: the file is created under a umask that gives nobody else any access."""
    from desktop import config

    seen = []
    write = config.atomic_write_bytes

    def watched(path, data, *args, **kwargs):
        current = os.umask(0)
        os.umask(current)
        seen.append(current)
        return write(path, data, *args, **kwargs)

    monkeypatch.setattr(config, "atomic_write_bytes", watched)
    path, _ = save_account("https://market.example/X/", "tok")
    assert seen == [0o077] and json.loads(path.read_text())["url"] == "https://market.example/X"


def test_a_login_that_cannot_be_saved_says_where_and_why(isolated_home):
    isolated_home.mkdir(parents=True, exist_ok=True)
    (isolated_home / "config").write_text("a file where the config folder should be")  # fails for root too
    with pytest.raises(UserError, match=r"^could not save the marketplace login to .*marketplace\.json: \w"):
        save_account("https://market.example", "tok")


def test_by_default_a_busy_marketplace_is_tried_four_times_in_all(market):
    """The client's default: three retries (with a growing pause) after the first try, then the pattern
    stays queued."""
    market.script = [{"status": 503, "retry_after": None}] * 4
    with pytest.raises(Offline, match="is busy"):
        Marketplace(Account(market.url, market.token)).publish(b"png", "a.png", {}, key="k")
    assert len(market.requests) == 4


def test_a_retry_after_of_an_hour_is_not_waited_for(market):
    """Retry-After: 3600 once slept an hour a retry, with no way to stop it; now the client gives up at
    once past MAX_WAIT (60 s) and says so, and the publish stays queued for the next sync."""
    market.script = [{"status": 503, "retry_after": "3600"}]
    start = time.monotonic()
    with pytest.raises(Offline, match=r"busy and asks to wait 3600 s; what is left stays queued"):
        client(market, retries=3).publish(b"png", "a.png", {}, key="k")
    assert time.monotonic() - start < 5


def test_a_stop_ends_a_wait_between_tries(market):
    from desktop.jobs import JobCancelled

    market.script = [{"status": 503, "retry_after": "30"}]
    started = time.monotonic()
    asked = {"stop": False}
    market_client = client(market, retries=3, stopped=lambda: asked["stop"] or time.monotonic() - started > 0.5)
    with pytest.raises(JobCancelled):
        market_client.publish(b"png", "a.png", {}, key="k")
    assert time.monotonic() - started < 5  # within a tenth of a second of the stop, not 30 s


def test_a_hang_is_tried_twice_at_most(market):
    market.script = [{"hang": 2}, {"hang": 2}, {"hang": 2}, {"hang": 2}]
    start = time.monotonic()
    with pytest.raises(Offline, match="cannot be reached"):
        client(market, retries=3, timeout=0.5).publish(b"png", "a.png", {}, key="k")
    assert time.monotonic() - start < 3  # two reads of 0.5 s (and the retries' pauses), not four


def test_the_token_never_goes_over_plain_http_to_another_machine(market, monkeypatch):
    """However the address was set (the environment here), every request checks it: https, or this machine."""
    monkeypatch.setenv("TESSERA_MARKET_URL", "http://market.example.com")
    monkeypatch.setenv("TESSERA_MARKET_TOKEN", "secret")
    account = load_account()
    with pytest.raises(UserError, match="must use https"):
        Marketplace(account, retries=0).whoami()
    assert market.requests == []


class _MemoryKeyring:
    """A keyring backend that keeps passwords in a dict (as the OS's would, without touching it)."""

    def __new__(cls):
        from keyring.backend import KeyringBackend

        class Memory(KeyringBackend):
            priority = 1

            def __init__(self):
                super().__init__()
                self.saved = {}

            def get_password(self, service, username):
                return self.saved.get((service, username))

            def set_password(self, service, username, password):
                self.saved[(service, username)] = password

            def delete_password(self, service, username):
                self.saved.pop((service, username), None)

        return Memory()


@pytest.fixture
def memory_keyring(monkeypatch):
    import keyring

    ring = _MemoryKeyring()
    keyring.set_keyring(ring)
    monkeypatch.delenv("TESSERA_MARKET_URL", raising=False)
    monkeypatch.delenv("TESSERA_MARKET_TOKEN", raising=False)
    return ring


def test_the_token_is_kept_in_the_keyring_not_the_file(memory_keyring, isolated_home):
    from desktop.library.marketplace import KEYRING_SERVICE, account_file

    path, where = save_account("https://market.example.com/", " tok-1 ")
    assert where == "keyring" and memory_keyring.saved == {(KEYRING_SERVICE, "https://market.example.com"): "tok-1"}
    saved = json.loads(path.read_text())
    assert saved == {"url": "https://market.example.com", "token_in": "keyring"} and "tok-1" not in path.read_text()
    assert load_account() == Account("https://market.example.com", "tok-1")
    assert path == account_file()


def test_a_token_left_in_the_file_moves_into_the_keyring(memory_keyring, isolated_home):
    from desktop.library.marketplace import account_file

    path = account_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"url": "https://market.example.com", "token": "old-token"}))
    assert load_account().token == "old-token"
    assert "old-token" not in path.read_text() and list(memory_keyring.saved.values()) == ["old-token"]
    assert load_account().token == "old-token"  # read back from the keyring now


def test_without_a_keyring_the_file_keeps_it_and_login_says_so(isolated_home, monkeypatch, capsys, market):
    from desktop.cli import main

    monkeypatch.delenv("TESSERA_MARKET_URL", raising=False)
    monkeypatch.delenv("TESSERA_MARKET_TOKEN", raising=False)
    path, where = save_account(market.url, "secret")
    assert where == "file" and json.loads(path.read_text())["token"] == "secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert main(["publish", "login", market.url, "--token", "secret"]) == 0
    assert "no OS keyring here" in capsys.readouterr().out
