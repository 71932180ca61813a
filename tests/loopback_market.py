"""A marketplace for publishing tests: the API of desktop/library/marketplace.py on 127.0.0.1."""

from __future__ import annotations

import json


class LoopbackMarket:
    """Lists what it is sent. `script` holds what to do with the next publishes, then 201s:

    - a status to answer (503, 422, ...), with `Retry-After: 0`;
    - {"status": 503, "retry_after": "1" or None, "body": {...} or b"raw"}: the same, spelt out;
    - "lose": list the pattern, then drop the connection without answering (a lost answer);
    - {"hang": seconds}: answer (201) only after that long (a stalled server).

    As a real API does, it serves only its two routes (404 elsewhere) and refuses a publish without
    an Idempotency-Key (400): exactly-once rests on it. `requests` records each request's method,
    path, headers and, for a publish, each part's file name and content type.
    """

    def __init__(self, token: str = "secret"):
        import email.parser
        import http.server
        import threading
        import time

        market = self
        self.token, self.script, self.listings, self.requests = token, [], {}, []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, status: int, body: dict | bytes, headers: dict | None = None) -> None:
                data = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Type", "application/json")
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
                if self.path != "/v1/me":
                    return self._answer(404, {"error": f"no route {self.path}"})
                if self.headers.get("Authorization") != f"Bearer {market.token}":
                    return self._answer(401, {"error": "bad token"})
                self._answer(200, {"name": "Studio Nine"})

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
