"""Serve the unseen-portal fixtures (tests/fixtures/portals) on 127.0.0.1, dated relative to an anchor.

Roles: ``trs`` (a TRS WCM-style county portal, UTF-8 with a charset header), ``hanweb`` (a Hanweb
JCMS-style department site sent as GBK with no charset header, only ``<meta http-equiv>``), ``zwfw``
(the 政务服务网 host policy documents link to) and ``dead`` (a port that was bound and closed).

Pages use demo/server.py's placeholders (``{{d:-3}}``, ``{{d:-3:ymd}}``, ``{{host:ROLE}}``,
``{{include:PATH}}`` …), rendered by its ``PageRenderer``. Unlike the demo, a file's *path* may carry
placeholders too — ``xxgk/tzgg/{{d:-3:ym}}/t{{d:-3:ymd}}_2011.html`` is served at
``/xxgk/tzgg/202606/t20260612_2011.html`` — because TRS and Hanweb write the publication date into
their article URLs. ``routes.yml`` declares redirects and error statuses, as the demo's does.
"""

from __future__ import annotations

import datetime as dt
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml

from demo.server import PageRenderer, _dead_port

PORTALS_DIR = Path(__file__).resolve().parent / "fixtures" / "portals"
SERVED_ROLES = ("trs", "hanweb", "zwfw")
ROLES = (*SERVED_ROLES, "dead")
# role -> (encoding on the wire, Content-Type sent): the Hanweb site declares its charset only in a <meta>.
WIRE = {"trs": ("utf-8", "text/html; charset=utf-8"), "hanweb": ("gbk", "text/html"),
        "zwfw": ("utf-8", "text/html; charset=utf-8")}


class _Handler(BaseHTTPRequestHandler):
    server: _RoleServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._respond(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def _respond(self, send_body: bool) -> None:
        role, portal = self.server.role, self.server.portal
        path = unquote(urlsplit(self.path).path) or "/"
        special = portal.routes.get(role, {}).get(path)
        if special and "redirect" in special:
            self._send(special.get("status", 302), b"", "text/html", send_body, {"Location": special["redirect"]})
            return
        if special and "status" in special:
            self._send(special["status"], f"<html><body><h1>{special['status']}</h1></body></html>".encode(),
                       "text/html; charset=utf-8", send_body)
            return
        body = portal.page(role, path)
        if body is None:
            self._send(404, b"<html><head><title>404</title></head><body><h1>404 Not Found</h1></body></html>",
                       "text/html; charset=utf-8", send_body)
            return
        self._send(200, body, WIRE[role][1], send_body)

    def _send(self, status: int, body: bytes, content_type: str, send_body: bool,
              headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class _RoleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, role: str, portal: UnseenPortals):
        self.role = role
        self.portal = portal
        super().__init__(("127.0.0.1", 0), _Handler)


class UnseenPortals:
    """The running fixture servers; a context manager."""

    def __init__(self, anchor: dt.date):
        self.anchor = anchor
        self.routes: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load(
            (PORTALS_DIR / "routes.yml").read_text(encoding="utf-8")) or {}
        self._servers = [_RoleServer(role, self) for role in SERVED_ROLES]
        self.hosts = {s.role: f"127.0.0.1:{s.server_address[1]}" for s in self._servers}
        self.hosts["dead"] = f"127.0.0.1:{_dead_port()}"
        self.renderer = PageRenderer(anchor, self.hosts, root=PORTALS_DIR)
        # Every page rendered once, up front: a placeholder or an encoding error fails at start-up.
        self.pages: dict[str, dict[str, bytes]] = {role: self._render_role(role) for role in SERVED_ROLES}
        self._threads = []
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _render_role(self, role: str) -> dict[str, bytes]:
        root = PORTALS_DIR / role
        pages: dict[str, bytes] = {}
        for file in sorted(root.rglob("*")):
            parts = file.relative_to(root).parts
            if not file.is_file() or any(p.startswith(("_", ".")) for p in parts):
                continue
            url_path = "/" + self.renderer.render(role, "/".join(parts))
            text = self.renderer.render(role, file.read_text(encoding="utf-8"))
            pages[url_path] = text.encode(WIRE[role][0])  # strict: a character GBK lacks is a fixture bug
        return pages

    def page(self, role: str, path: str) -> bytes | None:
        """The page at ``path``: the file itself, ``path.html``, or ``path/index.html``."""
        pages = self.pages[role]
        for candidate in (path, path.rstrip("/") + "/index.html", path + ".html"):
            if candidate in pages:
                return pages[candidate]
        return None

    def url(self, role: str, path: str = "/") -> str:
        return f"http://{self.hosts[role]}{path}"

    def fill(self, text: str) -> str:
        """``{trs}``, ``{hanweb}``, ``{zwfw}``, ``{dead}`` → this run's ports."""
        for role in ROLES:
            text = text.replace("{" + role + "}", self.hosts[role].rsplit(":", 1)[1])
        return text

    def render(self, text: str) -> str:
        """Date placeholders of a config or ground-truth value (article URLs carry dates)."""
        return self.renderer.render("trs", text)

    def write_config(self, path: Path) -> Path:
        text = self.render(self.fill((PORTALS_DIR / "sites.yml.tmpl").read_text(encoding="utf-8")))
        path.write_text(text, encoding="utf-8")
        return path

    def ground_truth(self) -> list[dict]:
        entries = yaml.safe_load((PORTALS_DIR / "ground_truth.yml").read_text(encoding="utf-8"))
        return [{k: self.render(self.fill(v)) if isinstance(v, str) else v for k, v in entry.items()}
                for entry in entries]

    def close(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> UnseenPortals:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
