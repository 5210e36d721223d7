"""Large synthetic portals for the benchmarks, and a fast static server for them.

``generate()`` writes N sites of about M pages each under a folder, as static files a government CMS
would publish: a home page with dated news and a navigation menu, sections (栏目组) leading to columns
(栏目), each column a paginated list (20 entries a page, ``index.html``, ``index_1.html`` …), and article
pages carrying the 政务公开 metadata block of the 001 seed (索引号, 发布机构, 成文日期, 文号, 有效性,
发布日期), attachments (PDF), links to the 一网通办 service host and to outside sites. Defects are
planted at known rates and counted in ``manifest.json`` beside the site folders:

- a missing 索引号 (``no_index``), a missing 有效性 on policy documents (``no_validity``);
- an attachment that is not there (404, ``dead_attachment``);
- a wording error 中华人名共和国 (``wording``);
- a blank column (暂无信息, ``blank_column``) and a column whose newest entry is old (``stale_column``).

The same parameters and seed always write the same portal (dates are relative to ``as_of``).

``serve()`` is an asyncio HTTP/1.1 server (keep-alive, ``Last-Modified`` and ``If-Modified-Since`` ->
304, like most government web servers) over such a folder. Each site is served on its own port (its
folder name is looked up from the port), the ``service`` and ``outside`` hosts on two more. Run it in
its own process so that it never competes with what it serves for one interpreter:

    .venv/bin/python bench/portal.py generate /tmp/portal --sites 1 --pages 10000
    .venv/bin/python bench/portal.py serve /tmp/portal --port 18000     # ports 18000.. (see ports.json)
    .venv/bin/python bench/portal.py fetch /tmp/portal --port 18000     # a bare fetcher: the server alone
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import email.utils
import json
import os
import random
import sys
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

AS_OF = dt.date(2026, 6, 15)
PER_LIST_PAGE = 20
SECTIONS = (
    ("xwzx", "新闻中心", (("zwyw", "政务要闻", "news"), ("bmdt", "部门动态", "news"), ("xzdt", "乡镇动态", "news"))),
    ("zwgk", "政务公开", (("tzgg", "通知公告", "notice"), ("zcwj", "政策文件", "policy"),
                      ("zcjd", "政策解读", "policy"), ("ghjh", "规划计划", "plan"), ("rsxx", "人事信息", "personnel"))),
    ("hdjl", "互动交流", (("zxft", "在线访谈", "interaction"), ("myzj", "民意征集", "interaction"))),
)
FILLER = ("依法依规做好政府信息公开工作，进一步提高政务公开质量和实效，推进决策、执行、管理、服务、结果公开，"
          "加强政策解读和回应关切，持续优化政务服务，切实保障人民群众的知情权、参与权、表达权和监督权。")
RATES = {"no_index": 0.02, "no_validity": 0.05, "dead_attachment": 0.01, "wording": 0.002,
         "blank_column": 0.03, "stale_column": 0.05}


def _page(title: str, body: str, site_name: str, column: str | None = None, extra_meta: str = "") -> str:
    meta = f'<meta name="ColumnName" content="{column}"><meta name="ColumnType" content="{column}">' if column else ""
    meta += '<meta name="SiteDomain" content="{{site}}">'
    return (
        "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{title}_{site_name}</title>\n<meta name=\"SiteName\" content=\"{site_name}\">\n"
        f"<meta name=\"SiteIDCode\" content=\"3607990001\">\n{meta}{extra_meta}\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _header(nav: str) -> str:
    return f'<div class="header"><div class="logo">示范县人民政府</div><div class="nav">{nav}</div></div>'


def _footer(service: str, outside: str) -> str:
    return (
        '<div class="footer"><div class="links">'
        f'<a href="http://{outside}/">中国政府网</a> <a href="http://{outside}/sheng/">省政府</a> '
        f'<a href="http://{service}/">政务服务网</a></div>'
        '<p>主办单位：示范县人民政府办公室 网站标识码：3607990001 '
        f'<a href="http://{outside}/beian/">赣ICP备12345678号</a> <span>赣公网安备 36079902000101号</span></p>'
        f'<p><a href="http://{outside}/dzjg/"><img src="/images/dzjg.png" alt="党政机关"></a></p></div>'
    )


def _layout(site_pages: int) -> list[tuple[str, str, str, str, str, int]]:
    """(section id, section name, column id, column name, category, articles) for a site of about
    ``site_pages`` pages: about 300 entries a column (15 list pages), attachments on a third of articles."""
    base = [(s, sname, c, cname, cat) for s, sname, cols in SECTIONS for c, cname, cat in cols]
    # Pages a column costs: its list pages, its articles, and the attachments of a third of them.
    share = 1 + 1 / PER_LIST_PAGE + 1 / 3
    per_column = max(3, min(300, int((site_pages - 1 - len(SECTIONS)) / len(base) / share)))
    cost = per_column + -(-per_column // PER_LIST_PAGE) + per_column // 3
    count = max(len(base), round((site_pages - 1 - len(SECTIONS)) / cost))
    columns = []
    for i in range(count):
        s, sname, c, cname, cat = base[i % len(base)]
        n = i // len(base)
        columns.append((s, sname, f"{c}{n}" if n else c, f"{cname}{n}" if n else cname, cat, per_column))
    # The remainder of the page budget goes to the first columns.
    spare = site_pages - 1 - len(SECTIONS) - cost * count
    i = 0
    while spare > 0 and columns:
        s, sname, c, cname, cat, arts = columns[i % len(columns)]
        columns[i % len(columns)] = (s, sname, c, cname, cat, arts + 1)
        spare -= 1 + (1 if (arts + 1) % 3 == 0 else 0)
        i += 1
    return columns


def generate(root: Path, sites: int, pages: int, seed: int = 5, as_of: dt.date = AS_OF) -> dict:
    """Write the portal; returns (and writes) its manifest: sites, ports' roles, planted defects."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"as_of": as_of.isoformat(), "seed": seed, "rates": RATES, "sites": {}}
    service, outside = "{{service}}", "{{outside}}"  # filled at serve time: the ports are not known yet
    for s in range(sites):
        site_id = f"site{s}"
        name = "示范县人民政府" if s == 0 else f"示范县{s}人民政府"
        folder = root / site_id
        folder.mkdir(parents=True, exist_ok=True)
        layout = _layout(pages)
        planted = {key: 0 for key in RATES}
        written = 0
        nav = '<a href="/">首页</a>' + "".join(f'<a href="/{sid}/">{sname}</a>' for sid, sname, _ in SECTIONS)
        header, footer = _header(nav), _footer(service, outside)
        home_news = []
        columns_cfg = []
        for sid, sname, _cols in SECTIONS:
            subs = "".join(f'<li><a href="/{sid}/{c}/">{cname}</a></li>'
                           for s2, _, c, cname, _cat, _n in layout if s2 == sid)
            (folder / sid).mkdir(exist_ok=True)
            (folder / sid / "index.html").write_text(_page(sname, f"{header}<div class='list-wrap'><h2>{sname}</h2><ul class='column-grid'>{subs}</ul></div>{footer}",
                                                           name, sname), encoding="utf-8")
            written += 1
        for ci, (sid, sname, cid, cname, category, articles) in enumerate(layout):
            cdir = folder / sid / cid
            cdir.mkdir(parents=True, exist_ok=True)
            blank = rng.random() < RATES["blank_column"]
            stale = not blank and rng.random() < RATES["stale_column"]
            columns_cfg.append({"name": cname, "url": f"/{sid}/{cid}/", "category": category})
            crumbs = f'<div class="breadcrumb">当前位置：<a href="/">首页</a> &gt; <a href="/{sid}/">{sname}</a> &gt; <span>{cname}</span></div>'
            if blank:
                planted["blank_column"] += 1
                body = f"{header}{crumbs}<div class='list-wrap'><h2>{cname}</h2><p class='empty'>暂无信息</p></div>{footer}"
                (cdir / "index.html").write_text(_page(cname, body, name, cname), encoding="utf-8")
                written += 1
                continue
            planted["stale_column"] += stale
            # Newest first, one every day or two; a stale column's newest is 400 days old.
            start = 400 if stale else rng.randint(0, 3)
            dates = []
            day = start
            for _ in range(articles):
                dates.append(as_of - dt.timedelta(days=day))
                day += rng.randint(0, 2)
            entries = []
            for a in range(articles):
                art_id = f"content_{a + 1}.html"
                date = dates[a]
                title = f"关于{cname}第{a + 1}项工作的{'通知' if category == 'notice' else '情况'}"
                entries.append((art_id, title, date))
                # 索引号 is required in the 政府信息公开目录's columns (MD01): planted there only.
                catalogue = category in ("policy", "notice", "report")
                no_index = catalogue and rng.random() < RATES["no_index"]
                policy = category == "policy"
                no_validity = policy and rng.random() < RATES["no_validity"]
                wording = rng.random() < RATES["wording"]
                attachment = a % 3 == 2
                dead = attachment and rng.random() < RATES["dead_attachment"] * 3
                planted["no_index"] += no_index
                planted["no_validity"] += no_validity
                planted["wording"] += wording
                planted["dead_attachment"] += dead
                rows = []
                if not no_index:
                    rows.append(f"<tr><th>索引号</th><td>11360799014123458H/{date.year}-{ci * 1000 + a + 1:06d}</td>"
                                f"<th>主题分类</th><td>综合政务/{cname}</td></tr>")
                rows.append(f"<tr><th>发布机构</th><td>示范县人民政府办公室</td><th>成文日期</th><td>{date.isoformat()}</td></tr>")
                rows.append(f"<tr><th>文号</th><td>示政办字〔{date.year}〕{a + 1}号</td><th>发布日期</th><td>{date.isoformat()}</td></tr>")
                if policy and not no_validity:
                    rows.append("<tr><th>有效性</th><td>有效</td></tr>")
                text = FILLER * rng.randint(2, 6)
                if wording:
                    text += "<p>根据《中华人名共和国政府信息公开条例》的规定，现予公开。</p>"
                att = ""
                if attachment:
                    att_name = f"P0{a + 1}.pdf"
                    att = f'<p>附件：<a href="/{sid}/{cid}/{att_name}">附件{a + 1}.pdf</a></p>'
                    if not dead:
                        (cdir / att_name).write_bytes(b"%PDF-1.4\n%bench\n" + bytes(rng.getrandbits(8) for _ in range(64)))
                        written += 1
                service_link = (f'<p>办理入口：<a href="http://{service}/item/{(s * 7 + a) % 50}.html">在线办理</a></p>'
                                if category in ("notice", "policy") else "")
                body = (f"{header}{crumbs}<div class='article'><table class='xxgk-table'>{''.join(rows)}</table>"
                        f"<h1 class='article-title'>{title}</h1><div class='article-content'><p>{text}</p>{att}"
                        f"{service_link}</div></div>{footer}")
                extra = (f'<meta name="ArticleTitle" content="{title}"><meta name="ContentSource" content="{name}办公室">'
                         f'<meta name="PubDate" content="{date.isoformat()}">')
                (cdir / art_id).write_text(_page(title, body, name, cname, extra), encoding="utf-8")
                written += 1
            if sid == "xwzx" and len(home_news) < 10:
                home_news.extend((f"/{sid}/{cid}/{e[0]}", e[1], e[2]) for e in entries[:3])
            list_pages = max(1, -(-len(entries) // PER_LIST_PAGE))
            for p in range(list_pages):
                chunk = entries[p * PER_LIST_PAGE:(p + 1) * PER_LIST_PAGE]
                items = "".join(f'<li><a href="{e[0]}" title="{e[1]}">{e[1]}</a><span class="date">{e[2].isoformat()}</span></li>'
                                for e in chunk)
                page_name = "index.html" if p == 0 else f"index_{p}.html"
                links = []
                if p > 0:
                    links.append(f'<a href="index.html">首页</a> <a href="{"index.html" if p == 1 else f"index_{p - 1}.html"}">上一页</a>')
                if p < list_pages - 1:
                    links.append(f'<a href="index_{p + 1}.html">下一页</a> <a href="index_{list_pages - 1}.html">尾页</a>')
                pager = (f"<div class='pagination'>共{len(entries)}条 {' '.join(links)} 当前第{p + 1}/{list_pages}页 "
                         f"共{list_pages}页</div>")
                body = f"{header}{crumbs}<div class='list-wrap'><h2>{cname}</h2><ul class='list'>{items}</ul>{pager}</div>{footer}"
                (cdir / page_name).write_text(_page(cname, body, name, cname), encoding="utf-8")
                written += 1
        news = "".join(f'<li><a href="{u}">{t}</a><span>{d.isoformat()}</span></li>' for u, t, d in home_news[:10])
        (folder / "index.html").write_text(_page("首页", f"{header}<div class='news'><ul>{news}</ul></div>{footer}", name),
                                           encoding="utf-8")
        written += 1
        (folder / "robots.txt").write_text("User-agent: *\nDisallow: /admin/\n", encoding="utf-8")
        manifest["sites"][site_id] = {"name": name, "files": written, "columns": columns_cfg, "planted": planted}
    for role in ("service", "outside"):
        folder = root / f"_{role}"
        (folder / "item").mkdir(parents=True, exist_ok=True)
        (folder / "index.html").write_text(_page(role, "<p>首页</p>", role), encoding="utf-8")
        for sub in ("sheng", "beian", "dzjg"):
            (folder / sub).mkdir(exist_ok=True)
            (folder / sub / "index.html").write_text(_page(role, f"<p>{sub}</p>", role), encoding="utf-8")
        for i in range(50):
            (folder / "item" / f"{i}.html").write_text(_page(f"事项{i}", f"<p>办事指南{i}</p>", role), encoding="utf-8")
    (root / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return manifest


def roles(root: Path) -> list[str]:
    """Folders served, one a port in this order: the sites, then the service and outside hosts."""
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    return [*manifest["sites"], "_service", "_outside"]


# --- the server ----------------------------------------------------------------------------------
_TYPES = {".html": b"text/html; charset=utf-8", ".pdf": b"application/pdf", ".txt": b"text/plain; charset=utf-8"}


class Server:
    def __init__(self, root: Path, folders: list[str], base_port: int):
        self.root = root
        self.folders = folders
        self.base_port = base_port
        self.requests = 0

    def _address(self, ports: dict[int, str]) -> None:
        self.ports = ports
        hosts = {folder: f"127.0.0.1:{port}" for port, folder in self.ports.items()}
        # Placeholders of the generated pages: the other hosts' addresses.
        self.fill = [(b"{{service}}", hosts["_service"].encode()), (b"{{outside}}", hosts["_outside"].encode())]
        self.hosts = {folder: host.encode() for folder, host in hosts.items()}

    def body(self, folder: str, path: str) -> tuple[bytes, float] | None:
        rel = unquote(urlsplit(path).path).lstrip("/")
        if rel == "" or rel.endswith("/"):
            rel += "index.html"
        target = self.root / folder / rel
        if ".." in rel.split("/"):
            return None
        try:
            data = target.read_bytes()
            mtime = target.stat().st_mtime
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        if target.suffix == ".html":
            for key, value in self.fill:
                data = data.replace(key, value)
            data = data.replace(b"{{site}}", self.hosts[folder])
        return data, mtime

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        port = writer.get_extra_info("sockname")[1]
        folder = self.ports[port]
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, path, version = (lines[0].split(" ") + ["", "", ""])[:3]
                headers = {}
                for line in lines[1:]:
                    key, _, value = line.partition(":")
                    headers[key.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                if length:
                    await reader.readexactly(length)
                self.requests += 1
                found = self.body(folder, path)
                keep = headers.get("connection", "").lower() != "close" and version == "HTTP/1.1"
                if found is None:
                    status, data, extra = b"404 Not Found", b"<html><body>404</body></html>", b"Content-Type: text/html\r\n"
                else:
                    data, mtime = found
                    modified = email.utils.formatdate(int(mtime), usegmt=True)
                    since = headers.get("if-modified-since")
                    kind = _TYPES.get(os.path.splitext(urlsplit(path).path)[1] or ".html", b"application/octet-stream")
                    extra = b"Content-Type: " + kind + b"\r\nLast-Modified: " + modified.encode() + b"\r\n"
                    status = b"200 OK"
                    if since:
                        try:
                            if int(email.utils.parsedate_to_datetime(since).timestamp()) >= int(mtime):
                                status, data = b"304 Not Modified", b""
                        except (TypeError, ValueError):
                            pass
                if method == "HEAD":
                    payload = b""
                else:
                    payload = data
                # "LinkChecker:" lets LinkChecker go faster than 10 requests a second (bench/run compares with it).
                writer.write(b"HTTP/1.1 " + status + b"\r\n" + extra + b"LinkChecker: bench\r\nContent-Length: " + str(len(data)).encode()
                             + b"\r\nConnection: " + (b"keep-alive" if keep else b"close") + b"\r\n\r\n" + payload)
                await writer.drain()
                if not keep:
                    return
        finally:
            writer.close()

    async def run(self) -> None:
        # Port 0: any free ports (bench/run); otherwise the given one and the next ones.
        servers, ports = [], {}
        for i, folder in enumerate(self.folders):
            server = await asyncio.start_server(self.handle, "127.0.0.1", self.base_port + i if self.base_port else 0,
                                                backlog=512)
            servers.append(server)
            ports[server.sockets[0].getsockname()[1]] = folder
        self._address(ports)
        print(json.dumps({folder: f"127.0.0.1:{port}" for port, folder in self.ports.items()}), flush=True)
        await asyncio.gather(*(s.serve_forever() for s in servers))


def serve(root: Path, base_port: int) -> None:
    asyncio.run(Server(root, roles(root), base_port).run())


# --- a bare fetcher: what the server alone can answer ---------------------------------------------
async def _fetch_all(host: str, port: int, paths: list[str], connections: int) -> tuple[int, int]:
    queue = list(reversed(paths))
    done = [0, 0]

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        while queue:
            path = queue.pop()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            done[0] += 1
            done[1] += length
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return done[0], done[1]


def site_paths(root: Path, site: str) -> list[str]:
    folder = root / site
    paths = []
    for dirpath, _dirs, files in os.walk(folder):
        rel = Path(dirpath).relative_to(folder).as_posix()
        for name in files:
            paths.append("/" + (f"{rel}/{name}" if rel != "." else name))
    return sorted(paths)


def fetch(host: str, port: int, paths: list[str], connections: int = 16) -> dict:
    started = time.monotonic()
    count, size = asyncio.run(_fetch_all(host, port, paths, connections))
    seconds = time.monotonic() - started
    return {"requests": count, "bytes": size, "seconds": round(seconds, 2), "per_s": round(count / seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench/portal.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("generate")
    gen.add_argument("root", type=Path)
    gen.add_argument("--sites", type=int, default=1)
    gen.add_argument("--pages", type=int, default=10000, help="pages of each site (about)")
    gen.add_argument("--seed", type=int, default=5)
    srv = sub.add_parser("serve")
    srv.add_argument("root", type=Path)
    srv.add_argument("--port", type=int, default=18000, help="the first site's port; the others follow (0: any free ports)")
    fet = sub.add_parser("fetch")
    fet.add_argument("root", type=Path)
    fet.add_argument("--port", type=int, default=18000)
    fet.add_argument("--site", default="site0")
    fet.add_argument("--connections", type=int, default=16)
    args = parser.parse_args(argv)
    if args.command == "generate":
        started = time.monotonic()
        manifest = generate(args.root, args.sites, args.pages, args.seed)
        for site_id, site in manifest["sites"].items():
            print(f"{site_id}: {site['files']} files, {len(site['columns'])} columns, planted {site['planted']}")
        print(f"written in {time.monotonic() - started:.1f} s")
    elif args.command == "serve":
        serve(args.root, args.port)
    else:
        print(json.dumps(fetch("127.0.0.1", args.port, site_paths(args.root, args.site), args.connections)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
