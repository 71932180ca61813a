"""A marketplace on this machine: the API of marketplace.py, for trying the publish cycle without an
account (`tessera market serve --demo`) and for the tests, which script its answers.

    GET  /                       the listings, as a page with their images and titles
    GET  /listings/ID.png        a listing's image
    GET  /v1/listings            the listings, as JSON
    GET  /v1/me                  {"name": ...}: the token works
    POST /v1/patterns            a listing (see marketplace.py); a publish without an Idempotency-Key
                                 is refused (400), as a real API does: exactly-once rests on it

It listens on the loopback address only, and keeps what it is sent in memory (gone when it stops).
`script` holds what to do with the next publishes, then 201s:

- a status to answer (503, 422, ...), with `Retry-After: 0`;
- {"status": 503, "retry_after": "1" or None, "body": {...} or b"raw"}: the same, spelt out;
- "lose": list the pattern, then drop the connection without answering (a lost answer);
- {"hang": seconds}: answer (201) only after that long (a stalled server).

`requests` records each request's method, path, headers and, for a publish, each part's file name
and content type.
"""

from __future__ import annotations

import email.parser
import html
import http.server
import json
import threading
import time

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class DemoMarket:
    def __init__(self, token: str = "secret", host: str = "127.0.0.1", port: int = 0, name: str = "Studio Nine"):
        if host not in LOOPBACK:
            from desktop.errors import UserError

            raise UserError(f"the demo marketplace listens on this machine only ({', '.join(LOOPBACK)}), not {host}")
        market = self
        self.token, self.name, self.script, self.listings, self.requests = token, name, [], {}, []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict | bytes, headers: dict | None = None,
                        kind: str = "application/json") -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _record(self, **more) -> dict:
                seen = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
                        "key": self.headers.get("Idempotency-Key", ""), **more}
                market.requests.append(seen)
                return seen

            def do_GET(self):
                self._record()
                if self.path == "/":
                    return self._answer(200, market.page().encode(), kind="text/html; charset=utf-8")
                if self.path.startswith("/listings/") and self.path.endswith(".png"):
                    found = market.listing(self.path.removeprefix("/listings/").removesuffix(".png"))
                    if found is None:
                        return self._answer(404, {"error": "no such listing"})
                    return self._answer(200, found["image"], kind="image/png")
                if self.path == "/v1/listings":
                    return self._answer(200, {"listings": [{**e["listing"], "title": e["metadata"].get("title", "")}
                                                           for e in market.listings.values()]})
                if self.path != "/v1/me":
                    return self._answer(404, {"error": f"no route {self.path}"})
                if self.headers.get("Authorization") != f"Bearer {market.token}":
                    return self._answer(401, {"error": "bad token"})
                self._answer(200, {"name": market.name})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                key = self.headers.get("Idempotency-Key", "")
                message = email.parser.BytesParser().parsebytes(
                    b"Content-Type: " + self.headers.get("Content-Type", "text/plain").encode() + b"\r\n\r\n" + raw)
                payload = message.get_payload() if message.is_multipart() else []
                parts = {p.get_param("name", header="content-disposition"): p.get_payload(decode=True) for p in payload}
                names = {p.get_param("name", header="content-disposition"): p.get_filename() for p in payload}
                types = {p.get_param("name", header="content-disposition"): p.get_content_type() for p in payload}
                self._record(names=names, types=types, raw_metadata=parts.get("metadata"))
                if self.path != "/v1/patterns":
                    return self._answer(404, {"error": f"no route {self.path}"})
                if self.headers.get("Authorization") != f"Bearer {market.token}":
                    return self._answer(401, {"error": "bad token"})
                if not key:
                    return self._answer(400, {"error": "an Idempotency-Key header is required"})
                if "image" not in parts or "metadata" not in parts:
                    return self._answer(422, {"error": "a listing needs an image and its metadata"})
                try:
                    metadata = json.loads(parts["metadata"])
                except ValueError:
                    return self._answer(422, {"error": "the metadata is not JSON"})
                action = market.script.pop(0) if market.script else None
                if isinstance(action, int):
                    action = {"status": action, "retry_after": "0"}
                if isinstance(action, dict) and "status" in action:
                    after = action.get("retry_after")
                    return self._answer(action["status"], action.get("body", {"error": f"scripted {action['status']}"}),
                                        {"Retry-After": after} if after is not None else {})
                if isinstance(action, dict) and "hang" in action:
                    time.sleep(action["hang"])
                if key in market.listings:
                    return self._answer(409, market.listings[key]["listing"])
                number = len(market.listings) + 1
                listing = {"id": f"L{number}", "url": f"{market.url}/#L{number}"}
                market.listings[key] = {"listing": listing, "metadata": metadata, "image": parts["image"],
                                        "files": {k: v for k, v in parts.items() if k not in ("image", "metadata")},
                                        "names": names}
                if action == "lose":  # listed, but the answer never reaches the client
                    self.close_connection = True
                    return
                self._answer(201, listing)

            def log_message(self, *args):
                pass

        server_class = http.server.ThreadingHTTPServer
        if ":" in host:
            import socket

            server_class = type("Server6", (http.server.ThreadingHTTPServer,), {"address_family": socket.AF_INET6})
        self.server = server_class((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="demo-market")
        self.thread.start()
        shown = f"[{host}]" if ":" in host else host
        self.url = f"http://{shown}:{self.server.server_address[1]}"

    def listing(self, listing_id: str) -> dict | None:
        return next((e for e in self.listings.values() if e["listing"]["id"] == listing_id), None)

    def page(self) -> str:
        """The listings as a buyer would browse them: image, title and tags, newest first."""
        cards = []
        for entry in reversed(list(self.listings.values())):
            meta, lid = entry["metadata"], entry["listing"]["id"]
            tags = ", ".join(str(t) for t in meta.get("tags", [])[:13])
            cards.append(f'<figure id="{lid}"><img src="/listings/{lid}.png" alt="">'
                         f'<figcaption><b>{html.escape(str(meta.get("title") or lid))}</b><br>'
                         f'<small>{html.escape(str(meta.get("repeat", "")))} · {html.escape(tags)}</small>'
                         "</figcaption></figure>")
        body = "".join(cards) or "<p>No listings yet: publish from Tessera (Library ▸ Publish, or tessera publish sync).</p>"
        return ("<!doctype html><meta charset=utf-8><title>Demo marketplace</title>"
                "<style>body{font:14px sans-serif;margin:2em}figure{display:inline-block;width:220px;margin:8px;"
                "vertical-align:top}img{width:220px;height:220px;object-fit:cover;"
                "background:#eee}</style>"
                f"<h1>{html.escape(self.name)} on the demo marketplace</h1><p>{len(self.listings)} listing(s). "
                "Everything here lives in memory and is gone when the server stops.</p>" + body)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
