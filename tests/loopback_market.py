"""A marketplace for publishing tests: the API of desktop/library/marketplace.py on 127.0.0.1."""

from __future__ import annotations

import json


class LoopbackMarket:
    """Lists what it is sent; `script` holds what to do first, then 201s: a status to answer (503,
    422, ...), or "lose": list the pattern, then drop the connection without answering (a lost answer).

    As a real API does, a publish without an Idempotency-Key is refused (400): exactly-once rests on it.
    """

    def __init__(self, token: str = "secret"):
        import email.parser
        import http.server
        import threading

        market = self
        self.token, self.script, self.listings, self.requests = token, [], {}, []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict, headers: dict | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.headers.get("Authorization") != f"Bearer {market.token}":
                    return self._answer(401, {"error": "bad token"})
                self._answer(200, {"name": "Studio Nine"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                key = self.headers.get("Idempotency-Key", "")
                market.requests.append({"path": self.path, "key": key})
                if self.headers.get("Authorization") != f"Bearer {market.token}":
                    return self._answer(401, {"error": "bad token"})
                if not key:
                    return self._answer(400, {"error": "an Idempotency-Key header is required"})
                action = market.script.pop(0) if market.script else None
                if action is not None and action != "lose":
                    return self._answer(action, {"error": f"scripted {action}"}, {"Retry-After": "0"})
                message = email.parser.BytesParser().parsebytes(
                    b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + raw)
                parts = {p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
                         for p in message.get_payload()}
                names = {p.get_param("name", header="content-disposition"): p.get_filename()
                         for p in message.get_payload()}
                if key in market.listings:
                    return self._answer(409, market.listings[key]["listing"])
                listing = {"id": f"L{len(market.listings) + 1}", "url": f"https://market.test/p/{len(market.listings) + 1}"}
                market.listings[key] = {"listing": listing, "metadata": json.loads(parts["metadata"]),
                                        "image": parts["image"],
                                        "files": {k: v for k, v in parts.items() if k not in ("image", "metadata")},
                                        "names": names}
                if action == "lose":  # listed, but the answer never reaches the client
                    self.close_connection = True
                    return
                self._answer(201, listing)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
