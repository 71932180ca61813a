"""A hub for download tests: one file served on 127.0.0.1 the way the Hugging Face hub serves it."""

from __future__ import annotations


class LoopbackHub:
    """A tiny HTTP server on 127.0.0.1 that serves one file the way the Hugging Face hub does."""

    def __init__(self, payload: bytes, path: str):
        import http.server
        import threading

        hub = self
        self.payload, self.path, self.requests, self.mode = payload, path, 0, "ok"

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                hub.requests += 1
                if self.path != hub.path or hub.mode == "missing":
                    self.send_error(404)
                    return
                if hub.mode == "busy-once":
                    hub.mode = "ok"
                    self.send_error(503)
                    return
                body = hub.payload[: len(hub.payload) // 2] if hub.mode == "cut" else hub.payload
                self.send_response(200)
                self.send_header("Content-Length", str(len(hub.payload)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()
