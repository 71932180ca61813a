"""The marketplace's HTTP API, as Tessera speaks it (no Qt, no torch).

    POST {url}/v1/patterns            multipart: image (the PNG), metadata (JSON), and one JPEG
                                      mockup_<product> a product mockup (metadata "mockups"
                                      lists them; "print" gives the tile's dpi and printed size)
        Authorization: Bearer TOKEN
        Idempotency-Key: tessera-<sha256 of the file>
    -> 201 or 200 {"id": "...", "url": "..."}    the listing
    -> 409 {"id": "...", "url": "..."}           already listed (the same key): the same listing
    -> 401 / 403                                 the token is wrong: publishing stops
    -> 400 / 413 / 415 / 422 {"error": "..."}    this pattern is refused, with the reason
    -> 429 / 5xx                                 busy: retried with backoff (Retry-After honoured)
    GET  {url}/v1/me                  -> 200 {"name": ...}: the token works

The idempotency key is the file's sha256, so a retry after a lost answer, or the same pattern
queued twice, is one listing. Connection failures and busy answers are retried by urllib3's
Retry (POST included: the key makes it safe); after that the pattern stays queued.

Where the marketplace is and the token come from `marketplace.json` in the config folder
(written by `tessera publish login` or Library ▸ Marketplace login…, readable by this user only), or from TESSERA_MARKET_URL
and TESSERA_MARKET_TOKEN.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from desktop.errors import UserError

API = "/v1"


class MarketplaceError(UserError):
    """Something the marketplace said, or could not be asked."""


class Offline(MarketplaceError):
    """The marketplace cannot be reached (or this machine works offline): try again later."""


class NotAllowed(MarketplaceError):
    """The token was refused: nothing more can be published until it is fixed."""


class Refused(MarketplaceError):
    """This pattern was refused, with the marketplace's reason; the others may go on."""


@dataclass
class Account:
    url: str
    token: str

    @property
    def host(self) -> str:
        from urllib3.util import parse_url

        return parse_url(self.url).host or self.url


def account_file() -> Path:
    from desktop.config import resolve_paths

    return resolve_paths().config_dir / "marketplace.json"


KEYRING_SERVICE = "Tessera marketplace"  # the token is kept under this service, with the address as the user


def _keyring():
    """The OS keyring module when it has a working backend (Secret Service, Keychain, Credential Locker),
    else None (a headless Linux without one: the token then stays in marketplace.json, mode 600)."""
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
    except Exception:  # no keyring package, or a backend that fails to load
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 1) <= 0:
        return None
    return keyring


def _keyring_get(url: str, service: str = KEYRING_SERVICE) -> str:
    ring = _keyring()
    if ring is None:
        return ""
    try:
        return ring.get_password(service, url) or ""
    except Exception:  # a locked or broken keyring: as if the token were not saved
        return ""


def _keyring_set(url: str, token: str, service: str = KEYRING_SERVICE) -> bool:
    ring = _keyring()
    if ring is None:
        return False
    try:
        ring.set_password(service, url, token)
    except Exception:
        return False
    return True


def load_account() -> Account | None:
    """The marketplace and token: from the environment, else marketplace.json with the token in the OS
    keyring (or, where there is no keyring, in the file). A token found in the file where a keyring now
    exists is moved into it. None when not set up."""
    url, token = os.environ.get("TESSERA_MARKET_URL", ""), os.environ.get("TESSERA_MARKET_TOKEN", "")
    if not (url and token):
        try:
            saved = json.loads(account_file().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = {}
        if not isinstance(saved, dict):
            saved = {}
        url = url or str(saved.get("url", "")).rstrip("/")
        in_file = str(saved.get("token", ""))
        if in_file and url and _keyring_set(url, in_file):
            _write_account_file({"url": url, "token_in": "keyring"})  # moved: the file no longer holds it
        token = token or in_file or _keyring_get(url)
    return Account(url.rstrip("/"), token) if url and token else None


def check_address(url: str) -> None:
    """Refuse an address that is not http(s), or plain http anywhere but this machine (the token would
    travel in the clear)."""
    from urllib3.util import parse_url

    try:
        parsed = parse_url(url.strip())
    except ValueError:
        raise UserError(f"the marketplace address must be an http(s) URL, not '{url}'") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise UserError(f"the marketplace address must be an http(s) URL, not '{url}'")
    if parsed.scheme == "http" and parsed.host.strip("[]") not in ("127.0.0.1", "localhost", "::1"):  # [::1]
        raise UserError("the marketplace address must use https (a token must not travel in the clear)")


def check_login(url: str, token: str) -> None:
    """Refuse a bad address (check_address) or an empty token."""
    check_address(url)
    if not token.strip():
        raise UserError("the marketplace token is empty")


def save_account(url: str, token: str) -> tuple[Path, str]:
    """Keep the login: the token in the OS keyring, the address in marketplace.json; where there is no
    keyring, the token in that file too (written atomically, readable by this user only). Returns
    (the file, where the token is: "keyring" or "file")."""
    check_login(url, token)
    url, token = url.strip().rstrip("/"), token.strip()
    if _keyring_set(url, token):
        return _write_account_file({"url": url, "token_in": "keyring"}), "keyring"
    return _write_account_file({"url": url, "token": token}), "file"


def _write_account_file(content: dict[str, str]) -> Path:
    from desktop.config import atomic_write_bytes

    path = account_file()
    old = os.umask(0o077)
    try:
        atomic_write_bytes(path, json.dumps(content).encode())
    except OSError as exc:
        raise UserError(f"could not save the marketplace login to {path}: {exc.strerror or exc}") from None
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    return path


NO_KEYRING = ("no OS keyring here (Secret Service, Keychain or Credential Locker), so the token is in {path}, "
              "readable by you only")


def working_offline() -> bool:
    return os.environ.get("TESSERA_OFFLINE", "").strip().lower() not in ("", "0", "false", "no")


MAX_WAIT = 60.0  # the longest one wait for a busy marketplace (Retry-After) lasts; longer: the rest stay queued


class _WaitTooLong(Exception):
    def __init__(self, seconds: float):
        super().__init__(seconds)
        self.seconds = seconds


class _Stopped(Exception):
    """The job was stopped during a wait between tries."""


def _retry_class(stopped: Callable[[], bool]):
    """urllib3's Retry with waits that are capped (MAX_WAIT) and end when `stopped()` says so."""
    from urllib3.util import Retry

    class PatientRetry(Retry):
        def _wait(self, seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                if stopped():
                    raise _Stopped()
                time.sleep(min(0.1, left))

        def sleep_for_retry(self, response) -> bool:
            after = self.get_retry_after(response)
            if after is None:
                return False
            if after > MAX_WAIT:
                raise _WaitTooLong(after)
            self._wait(after)
            return True

        def _sleep_backoff(self) -> None:
            self._wait(min(self.get_backoff_time(), MAX_WAIT))

    return PatientRetry


class Marketplace:
    """One account's connection to the marketplace.

    Every request is bounded: a try waits at most `timeout` s for an answer, a hang is tried once
    more, a busy server's Retry-After is honoured up to MAX_WAIT, and `stopped()` (a job's cancel)
    ends any wait between tries. The token goes only over https (or to this machine), checked on
    every request, however the address was set."""

    def __init__(self, account: Account, retries: int = 3, backoff: float = 0.5, timeout: float = 30.0,
                 stopped: Callable[[], bool] | None = None):
        import urllib3
        from urllib3.util import Timeout

        self.account = account
        self.stopped = stopped or (lambda: False)
        retry = _retry_class(lambda: self.stopped())(
            total=retries, connect=retries, read=min(retries, 1), status=retries, backoff_factor=backoff,
            status_forcelist=(429, 500, 502, 503, 504), allowed_methods=None, respect_retry_after_header=True,
            raise_on_status=False)
        self.http = urllib3.PoolManager(retries=retry, timeout=Timeout(connect=10, read=timeout))

    def _request(self, method: str, path: str, **kwargs) -> tuple[int, dict[str, Any]]:
        import urllib3

        from desktop.jobs import JobCancelled

        if working_offline():
            raise Offline("this machine works offline (TESSERA_OFFLINE)")
        check_address(self.account.url)  # however the address was set (TESSERA_MARKET_URL too)
        headers = {"Authorization": f"Bearer {self.account.token}", "Accept": "application/json",
                   "User-Agent": "Tessera", **kwargs.pop("headers", {})}
        try:
            response = self.http.request(method, self.account.url + API + path, headers=headers, **kwargs)
        except _WaitTooLong as exc:
            raise Offline(f"{self.account.host} is busy and asks to wait {exc.seconds:.0f} s; what is left "
                          "stays queued for the next sync") from None
        except _Stopped:
            raise JobCancelled() from None
        except urllib3.exceptions.HTTPError as exc:
            raise Offline(f"{self.account.host} cannot be reached ({type(exc).__name__})") from None
        try:
            body = json.loads(response.data or b"{}")
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        status = response.status
        reason = str(body.get("error") or body.get("message") or response.reason or status)[:300]
        if status in (401, 403):
            raise NotAllowed(f"{self.account.host} refused the token ({reason}): log in again with "
                             "'tessera publish login URL' or Library ▸ Marketplace login…")
        if status == 429 or status >= 500:
            raise Offline(f"{self.account.host} is busy ({status} {reason}); it will be tried again")
        if status >= 400 and status != 409:
            raise Refused(f"{self.account.host} refused it: {reason}")
        return status, body

    def whoami(self) -> dict[str, Any]:
        return self._request("GET", "/me")[1]

    def publish(self, image: bytes, filename: str, metadata: dict[str, Any], key: str,
                files: dict[str, tuple[str, bytes, str]] | None = None) -> dict[str, str]:
        """List one pattern, with `files` (field -> (file name, bytes, type): its mockups) beside it;
        returns {"id", "url"} (the existing listing when it is there already)."""
        status, body = self._request(
            "POST", "/patterns", headers={"Idempotency-Key": key},
            fields={"image": (filename, image, "image/png" if filename.endswith(".png") else "image/jpeg"),
                    "metadata": ("metadata.json", json.dumps(metadata, sort_keys=True), "application/json"),
                    **(files or {})})
        if not body.get("id"):
            raise Refused(f"{self.account.host} answered {status} without a listing id")
        return {"id": str(body["id"]), "url": str(body.get("url", ""))}
