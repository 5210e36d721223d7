"""The bundled demo portal: nine loopback servers with planted defects, for `govaudit demo` and the
end-to-end ground-truth test.

Roles: ``main`` (a county government portal, UTF-8), ``gbk`` (a department site sent as GB18030 with no
charset in its Content-Type), ``service`` (the 一网通办 host policy documents link to), ``down`` (503 to
everything), ``dead`` (a port that was bound and closed: connection refused), ``jcms`` (a department site
in the style of Hanweb 大汉 JCMS: column lists only in ``<script type="text/xml"><datastore>`` blocks, further
records from ``/module/web/jpage/dataproxy.jsp``), ``trs`` (a department site in the style of TRS WCM:
``createPageHTML`` pagination, ``./YYYYMM/tYYYYMMDD_N.html`` articles, and lists drawn by scripts) and
``outside`` (a site of no government, the target of the hidden links, 暗链, planted on the county site) and
``media`` (saved-page-style 政务新媒体 account pages — a 公众号 archive, 微博 feeds, a 头条号 closed notice —
that the sites' ``new_media`` name).

Pages are the files under ``demo/portal/<role>/``, written in UTF-8, with placeholders filled at serve
time so that the portal is always "current" relative to an anchor date:

- ``{{d:-3}}`` the anchor minus 3 days as 2024-06-25; ``{{d:-3:FMT}}`` with FMT one of ``slash``
  (2024/6/25), ``cn`` (2024年6月25日), ``cn0`` (2024年06月25日), ``dot`` (2024.06.25), ``md`` (06-25),
  ``y`` (its year), ``ym`` (202406) and ``ymd`` (20240625), as TRS writes them in article URLs;
- ``{{d:-20fri}}`` the Friday on or before the anchor minus 20 days, ``{{d:-20fri+6}}`` the Thursday after
  it (dates a fixed number of weekdays apart, whatever the anchor's weekday);
- ``{{y:-1}}`` the anchor's year minus one;
- ``{{ts:-3}}`` the anchor minus 3 days, 10:00 China time, as Unix epoch seconds (platforms' script data);
- ``{{host:ROLE}}`` another server's ``127.0.0.1:PORT``;
- ``{{include:PATH}}`` a shared fragment of the same role (files and folders starting with ``_`` are
  never served themselves);
- ``{{records:COLUMN:FIRST:LAST}}`` records FIRST..LAST (1-based) of ``_records/COLUMN.html`` (one ``<li>``
  a line) as a JCMS ``<record><![CDATA[…]]></record>`` list: what the column page's datastore holds.

A file's *path* may carry date placeholders too (``tzgg/{{d:-3:ym}}/t{{d:-3:ymd}}_2001.html`` is served at
``/tzgg/202606/t20260612_2001.html``): TRS and Hanweb write the publication date into article URLs.

``demo/portal/routes.yml`` declares what is not a file: redirects, error statuses, and the JCMS data proxy
(``{dataproxy: true}``), which answers POST (and GET) with records of ``_records/<columnid>.html``.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import yaml

DEMO_DIR = Path(__file__).resolve().parent
PORTAL_DIR = DEMO_DIR / "portal"
# Each role's port is the demo's base port plus this offset (``govaudit demo`` asks for fixed ports so that
# findings keep their fingerprints; roles added later take new offsets and leave the old ones alone).
PORT_OFFSETS = {"main": 0, "gbk": 1, "service": 2, "down": 3, "dead": 4, "jcms": 5, "trs": 6, "outside": 7,
                "media": 8}
ROLES = tuple(PORT_OFFSETS)
SERVED_ROLES = tuple(role for role in ROLES if role != "dead")
# Sent on the wire in this encoding, and with no charset in the Content-Type header.
WIRE_ENCODING = {"gbk": "gb18030"}
# China has had no daylight saving time since 1991: a fixed offset is Asia/Shanghai.
CHINA = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

_CONTENT_TYPES = {".html": "text/html", ".htm": "text/html", ".txt": "text/plain", ".pdf": "application/pdf",
                  ".doc": "application/msword", ".css": "text/css", ".js": "application/javascript",
                  ".json": "application/json"}
_TEXT_SUFFIXES = {".html", ".htm", ".txt", ".css", ".js", ".json"}
_PLACEHOLDER = re.compile(r"\{\{([a-z]+):([^{}]*)\}\}")
_DATE_FORMATS = {
    "": lambda d: d.isoformat(),
    "slash": lambda d: f"{d.year}/{d.month}/{d.day}",
    "cn": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "cn0": lambda d: f"{d.year}年{d.month:02d}月{d.day:02d}日",
    "dot": lambda d: f"{d.year}.{d.month:02d}.{d.day:02d}",
    "md": lambda d: f"{d.month:02d}-{d.day:02d}",
    "y": lambda d: str(d.year),
    "ym": lambda d: f"{d.year}{d.month:02d}",
    "ymd": lambda d: f"{d.year}{d.month:02d}{d.day:02d}",
}

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_OFFSET = re.compile(rf"(?P<days>[+-]?\d+)(?:(?P<weekday>{'|'.join(_WEEKDAYS)})(?P<shift>[+-]\d+)?)?")


def today_in_china() -> dt.date:
    return dt.datetime.now(CHINA).date()


def load_routes() -> dict[str, dict[str, dict[str, Any]]]:
    """role -> path -> {status: N} | {redirect: target}; the path "*" matches every request."""
    return yaml.safe_load((PORTAL_DIR / "routes.yml").read_text(encoding="utf-8")) or {}


class PageRenderer:
    """Fills the placeholders of one role's page files; ``root`` holds the roles' folders (includes)."""

    def __init__(self, anchor: dt.date, hosts: dict[str, str], root: Path = PORTAL_DIR):
        self.anchor = anchor
        self.hosts = hosts
        self.root = root

    def render(self, role: str, text: str, depth: int = 0) -> str:
        def fill(match: re.Match) -> str:
            kind, arg = match.group(1), match.group(2)
            if kind == "include":
                if depth > 3:
                    raise ValueError(f"includes nested too deep at {arg!r}")
                fragment = (self.root / role / arg).read_text(encoding="utf-8").strip()
                return self.render(role, fragment, depth + 1)
            if kind == "host":
                return self.hosts[arg]
            if kind == "records":
                column, first, last = arg.split(":")
                return "\n".join(f"<record><![CDATA[\n{record}]]></record>"
                                  for record in self.records(role, column, int(first), int(last)))
            if kind == "y":
                return str(self.anchor.year + int(arg))
            if kind == "ts":
                day = self.anchor + dt.timedelta(days=int(arg))
                return str(int(dt.datetime(day.year, day.month, day.day, 10, tzinfo=CHINA).timestamp()))
            if kind == "d":
                offset, _, fmt = arg.partition(":")
                if fmt not in _DATE_FORMATS:
                    raise ValueError(f"unknown date format {fmt!r} in {match.group(0)}")
                return _DATE_FORMATS[fmt](self.day(offset))
            raise ValueError(f"unknown placeholder {match.group(0)}")

        return _PLACEHOLDER.sub(fill, text)

    def day(self, offset: str) -> dt.date:
        """``-20`` the anchor minus 20 days; ``-20fri`` the Friday on or before it, ``-20fri+6`` six days
        after that Friday (a message and its reply a fixed number of weekdays apart on any anchor)."""
        match = _DAY_OFFSET.fullmatch(offset)
        if match is None:
            raise ValueError(f"bad date offset {offset!r}")
        day = self.anchor + dt.timedelta(days=int(match["days"]))
        if match["weekday"]:
            day -= dt.timedelta(days=(day.weekday() - _WEEKDAYS.index(match["weekday"])) % 7)
            day += dt.timedelta(days=int(match["shift"] or 0))
        return day

    def records(self, role: str, column: str, first: int = 1, last: int | None = None) -> list[str]:
        """Records ``first``..``last`` (1-based, inclusive) of a JCMS column, rendered; [] for an unknown column."""
        file = self.root / role / "_records" / f"{column}.html"
        if not column.isdigit() or not file.is_file():
            return []
        lines = [line.strip() for line in file.read_text(encoding="utf-8").splitlines()]
        records = [line for line in lines if line.startswith("<li")]
        return [self.render(role, record) for record in records[max(first, 1) - 1:last]]


def resolve_file(role: str, path: str, dated: dict[str, Path] | None = None) -> Path | None:
    """The file serving a URL path: the path itself, ``path.html``, or ``path/index.html``; ``dated`` maps
    the URL paths of files whose names carry date placeholders to those files."""
    root = PORTAL_DIR / role
    if dated and unquote(path) in dated:
        return dated[unquote(path)]
    parts = [p for p in unquote(path).split("/") if p]
    if any(p.startswith((".", "_")) for p in parts):
        return None
    base = root.joinpath(*parts)
    candidates = [base / "index.html"] if path.endswith("/") or not parts else [base, base / "index.html"]
    if parts and "." not in parts[-1]:
        candidates.insert(1, base.with_name(parts[-1] + ".html"))
    for candidate in candidates:
        if candidate.is_file() and candidate.resolve().is_relative_to(root.resolve()):
            return candidate
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _RoleServer
    protocol_version = "HTTP/1.1"

    def handle_one_request(self) -> None:
        # Every request is counted (role, method, path and query), for tests that a crawl asks once.
        self.requestline = ""
        super().handle_one_request()
        if self.requestline and getattr(self, "command", None):
            self.server.portal.count(self.server.role, self.command, self.path)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._respond(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._respond(send_body=False)

    def do_POST(self) -> None:  # noqa: N802
        # Only the JCMS data proxy takes a POST; a static page answers 405 as most portals' servers do.
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        routes = self.server.portal.routes.get(self.server.role, {})
        special = routes.get(urlsplit(self.path).path) or routes.get("*") or {}
        if special.get("dataproxy"):
            self._dataproxy(form, send_body=True)
            return
        if special:  # a redirect or an error status answers every method alike
            self._respond(send_body=True)
            return
        self._send(405, b"<html><body><h1>405 Method Not Allowed</h1></body></html>", "text/html; charset=utf-8",
                   True, {"Allow": "GET, HEAD"})

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # a demo run prints its own progress; per-request lines would drown it

    def _respond(self, send_body: bool) -> None:
        role, portal = self.server.role, self.server.portal
        path = urlsplit(self.path).path or "/"
        routes = portal.routes.get(role, {})
        special = routes.get(path) or routes.get("*")
        if special and special.get("dataproxy"):
            self._dataproxy("", send_body)
            return
        if special and "redirect" in special:
            self._send(special.get("status", 302), b"", "text/html; charset=utf-8", send_body,
                       {"Location": special["redirect"]})
            return
        if special and "status" in special:
            body = f"<html><body><h1>{special['status']}</h1></body></html>".encode()
            self._send(special["status"], body, "text/html; charset=utf-8", send_body)
            return
        file = resolve_file(role, path, portal.dated_paths.get(role))
        if file is None:
            self._send(404, b"<html><body><h1>404 Not Found</h1></body></html>", "text/html; charset=utf-8",
                       send_body)
            return
        content_type = _CONTENT_TYPES.get(file.suffix.lower(), "application/octet-stream")
        if file.suffix.lower() in _TEXT_SUFFIXES:
            text = portal.renderer.render(role, file.read_text(encoding="utf-8"))
            encoding = WIRE_ENCODING.get(role)
            if encoding:
                body = text.encode(encoding)
            else:
                body = text.encode("utf-8")
                content_type += "; charset=utf-8"
        else:
            body = file.read_bytes()
        self._send(200, body, content_type, send_body)

    def _dataproxy(self, form: str, send_body: bool) -> None:
        """JCMS's ``dataproxy.jsp``: records ``startrecord``..``endrecord`` of the column named in the form
        body (or the query), as jpage asks for the group after the one the page's datastore holds."""
        query = dict(parse_qsl(urlsplit(self.path).query))
        params = {**query, **dict(parse_qsl(form))}
        try:
            perpage = int(params.get("perpage") or 15)
            first = int(params.get("startrecord") or 1)
            last = int(params.get("endrecord") or first + perpage - 1)
        except ValueError:
            self._send(400, b"<html><body><h1>400 Bad Request</h1></body></html>", "text/html; charset=utf-8",
                       send_body)
            return
        column = params.get("columnid", "")
        records = self.server.portal.renderer.records(self.server.role, column, first, last)
        nextgroup = ("/module/web/jpage/dataproxy.jsp?page=1&" + "&".join(
            f"{key}={quote(params.get(key, ''), safe='/')}"
            for key in ("appid", "webid", "path", "columnid", "unitid", "webname", "permissiontype")))
        body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<datastore>\n"
                f"<nextgroup><![CDATA[<a href=\"{nextgroup}\"></a>]]></nextgroup>\n<recordset>\n"
                + "".join(f"<record><![CDATA[\n{record}]]></record>\n" for record in records)
                + "</recordset>\n</datastore>\n")
        self._send(200, body.encode("utf-8"), "text/xml; charset=utf-8", send_body)

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

    def __init__(self, role: str, portal: DemoPortal, port: int = 0):
        self.role = role
        self.portal = portal
        super().__init__(("127.0.0.1", port), _Handler)


def _dead_port(port: int = 0) -> int:
    """A port that was bound and closed again: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))
        return sock.getsockname()[1]


class DemoPortal:
    """The running demo servers; use as a context manager, or call ``close()``."""

    def __init__(self, anchor: dt.date, base_port: int | None = None):
        self.anchor = anchor
        self.routes = load_routes()
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self._count_lock = threading.Lock()
        self._servers: list[_RoleServer] = []
        self._threads: list[threading.Thread] = []
        self.hosts: dict[str, str] = {}
        try:
            self._bind(base_port)
        except OSError:
            self.close()
            if base_port is None:
                raise
            self._bind(None)  # the preferred ports are taken: any free ones will do
        self.renderer = PageRenderer(anchor, self.hosts)
        self.dated_paths = {role: self._dated_paths(role) for role in SERVED_ROLES}
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                      name=f"demo-{server.role}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def _bind(self, base_port: int | None) -> None:
        """Bind every role: to base_port + its PORT_OFFSETS when given, else to free ports."""
        for role in SERVED_ROLES:
            server = _RoleServer(role, self, base_port + PORT_OFFSETS[role] if base_port else 0)
            self._servers.append(server)
            self.hosts[role] = f"127.0.0.1:{server.server_address[1]}"
        dead = _dead_port(base_port + PORT_OFFSETS["dead"] if base_port else 0)
        self.hosts["dead"] = f"127.0.0.1:{dead}"

    def _dated_paths(self, role: str) -> dict[str, Path]:
        """URL path -> file, for the files of a role whose path carries placeholders (dated article URLs)."""
        root = PORTAL_DIR / role
        found: dict[str, Path] = {}
        for file in root.rglob("*"):
            relative = file.relative_to(root).as_posix()
            if "{{" in relative and file.is_file() and not any(p.startswith(("_", ".")) for p in relative.split("/")):
                path = "/" + self.renderer.render(role, relative)
                if path in found:
                    raise ValueError(f"{role}: {relative} and {found[path]} are both served at {path}")
                found[path] = file
        return found

    def count(self, role: str, method: str, path: str) -> None:
        with self._count_lock:
            self.requests[(role, method, path)] += 1

    def port(self, role: str) -> int:
        return int(self.hosts[role].rsplit(":", 1)[1])

    def url(self, role: str, path: str = "/") -> str:
        return f"http://{self.hosts[role]}{path if path.startswith('/') else '/' + path}"

    def _fill(self, text: str) -> str:
        for role in ROLES:
            text = text.replace("{" + role + "}", str(self.port(role)))
        return text

    def config_text(self) -> str:
        """demo/sites.yml.tmpl with this run's ports."""
        return self._fill((DEMO_DIR / "sites.yml.tmpl").read_text(encoding="utf-8"))

    def write_config(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.config_text(), encoding="utf-8")
        return path

    def ground_truth(self) -> list[dict]:
        """Every finding the audit of this portal must produce: {check, site, url, severity, note}. URLs
        may carry date placeholders (``{{d:-60:ym}}``) as dated article URLs do."""
        entries = yaml.safe_load((DEMO_DIR / "ground_truth.yml").read_text(encoding="utf-8"))
        return [{key: self.renderer.render("main", self._fill(value)) if isinstance(value, str) else value
                 for key, value in entry.items()} for entry in entries]

    def close(self) -> None:
        running = {thread.name for thread in self._threads}
        for server in self._servers:
            if f"demo-{server.role}" in running:  # shutdown() waits for a serve_forever() that must exist
                server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers, self._threads = [], []

    def __enter__(self) -> DemoPortal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def serve_demo(anchor: dt.date | None = None, base_port: int | None = None) -> DemoPortal:
    """Start the demo portal on loopback; pages' dates are relative to ``anchor`` (default: today in
    China). Ports are free ones, or ``base_port`` and the next few when they are free: ``govaudit demo``
    asks for fixed ones so that findings keep their fingerprints from one demo run to the next."""
    return DemoPortal(anchor or today_in_china(), base_port)
