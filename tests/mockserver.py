"""A tiny HTTP server on 127.0.0.1 (port 0) serving a dict of routes, as Scrapy's own tests do."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "text/html; charset=utf-8"})


Route = Reply | Callable[[int], Reply]  # a callable gets the how-many-th request of this path (1, 2, …)


class MockServer:
    def __init__(self, routes: dict[str, Route]):
        self.routes = routes
        self.hits: dict[str, int] = {}
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                with server.lock:
                    server.hits[self.path] = server.hits.get(self.path, 0) + 1
                    count = server.hits[self.path]
                route = server.routes.get(self.path)
                reply = route(count) if callable(route) else route
                if reply is None:
                    reply = Reply("<html><body>not found</body></html>", status=404)
                body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}{path}"

    def __enter__(self) -> MockServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
