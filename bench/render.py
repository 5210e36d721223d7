"""Rendering benchmark: what `render: static | js | auto` cost on one machine, through the real pipeline.

Serves a synthetic portal on 127.0.0.1 (a home page, N column pages, two articles per column; a share of
the columns draw their list with a script from inline JSON, the rest write it in the HTML), runs
``govaudit.audit.run`` on it once per render mode and prints, per mode: pages crawled, wall seconds,
pages per second, pages rendered in Chromium and the seconds spent rendering (CrawlRun.stats), and the
blank columns (UP04) the audit reported: scripted columns read as HTML only look blank. Then it audits
the bundled demo portal with every site set to ``render: auto`` and prints the share of pages rendered.

    .venv/bin/python bench/render.py                      # defaults: 60 columns, 20 % scripted
    .venv/bin/python bench/render.py --columns 120 --scripted 0.5 --modes auto,js
    .venv/bin/python bench/render.py --no-demo --json      # one JSON object instead of the tables

Not a test: nothing is asserted, and the figures depend on the machine (bench/README.md has ours).
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import json
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project's packages come first

from govaudit.audit import CrawlOptions, run  # noqa: E402
from govaudit.browser import chromium_path  # noqa: E402
from govaudit.db import open_database  # noqa: E402
from govaudit.models import CrawlRun, FindingRecord, Page  # noqa: E402

DOCS_PER_COLUMN = 2
TOPICS = ("安全生产", "乡村振兴", "营商环境", "防汛抗旱", "医疗保障", "义务教育", "生态环境", "城市更新", "就业创业",
          "社会救助")


# --- the synthetic portal ----------------------------------------------------------------------------------

class SyntheticPortal:
    """``columns`` column pages at /col/N/, every ``1/scripted``-th one drawing its list from inline JSON."""

    def __init__(self, columns: int, scripted: float, today: dt.date):
        self.columns = columns
        self.today = today
        # Spread the scripted columns evenly: column i is scripted when the running share falls behind.
        self.scripted = {i for i in range(columns) if int((i + 1) * scripted) > int(i * scripted)}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def config(self, render: str) -> dict[str, Any]:
        base = f"http://{self.host}"
        return {"sites": [{
            "id": f"bench-{render}", "name": "基准测试县人民政府", "url": f"{base}/", "unit": "基准测试县人民政府办公室",
            "allowed_hosts": [self.host], "render": render, "screenshots": False, "robots": False,
            "limits": {"pages": 5000, "depth": 4, "concurrency": 4, "delay": 0, "timeout": 20},
            "columns": [{"name": self.name(i), "url": f"{base}/col/{i}/", "category": "notice"}
                        for i in range(self.columns)],
        }]}

    def name(self, i: int) -> str:
        return f"{TOPICS[i % len(TOPICS)]}公告{i}"

    def entries(self, i: int) -> list[tuple[str, str, dt.date]]:
        return [(f"关于做好{self.name(i)}第{k + 1}批相关工作的通知", f"/art/{i}_{k}.html",
                 self.today - dt.timedelta(days=1 + (i + 7 * k) % 40)) for k in range(DOCS_PER_COLUMN)]

    def page(self, path: str) -> str | None:
        if path == "/":
            items = "".join(f'<li><a href="/art/{i}_0.html">{html.escape(self.entries(i)[0][0])}</a>'
                            f"<span>{self.entries(i)[0][2].isoformat()}</span></li>" for i in range(min(8, self.columns)))
            menu = "".join(f'<li><a href="/col/{i}/">{self.name(i)}</a></li>' for i in range(min(8, self.columns)))
            return self._layout("基准测试县人民政府", f'<div class="nav"><ul>{menu}</ul></div>'
                                f'<div class="news"><h3>通知公告</h3><ul class="list">{items}</ul></div>')
        parts = path.strip("/").split("/")
        if len(parts) == 2 and parts[0] == "col" and parts[1].isdigit() and int(parts[1]) < self.columns:
            return self._column(int(parts[1]))
        if len(parts) == 2 and parts[0] == "art" and parts[1].endswith(".html"):
            column, _, k = parts[1].removesuffix(".html").partition("_")
            if column.isdigit() and k.isdigit() and int(column) < self.columns and int(k) < DOCS_PER_COLUMN:
                return self._article(int(column), int(k))
        return None

    def _column(self, i: int) -> str:
        entries = self.entries(i)
        if i in self.scripted:
            data = json.dumps([{"title": t, "url": u, "date": d.isoformat()} for t, u, d in entries],
                              ensure_ascii=False)
            body = ('<ul class="list" id="list"></ul><script>var data = ' + data + ';'
                    'document.getElementById("list").innerHTML = data.map(function (e) {'
                    ' return "<li><a href=\\"" + e.url + "\\">" + e.title + "</a><span>" + e.date + "</span></li>";'
                    ' }).join("");</script>')
        else:
            body = '<ul class="list">' + "".join(
                f'<li><a href="{u}">{html.escape(t)}</a><span>{d.isoformat()}</span></li>' for t, u, d in entries
            ) + "</ul>"
        return self._layout(self.name(i), f'<div class="position"><a href="/">首页</a> &gt; {self.name(i)}</div>'
                            f'<div class="content"><h2>{self.name(i)}</h2>{body}</div>')

    def _article(self, i: int, k: int) -> str:
        title, _, day = self.entries(i)[k]
        return self._layout(title, f"""<div class="content">
<table class="meta"><tr><td>索引号：</td><td>11360799014123511D/{day.year}-{i * 10 + k:05d}</td>
<td>发布机构：</td><td>基准测试县人民政府办公室</td></tr>
<tr><td>成文日期：</td><td>{day.isoformat()}</td><td>发布日期：</td><td>{day.isoformat()}</td></tr></table>
<h1>{html.escape(title)}</h1><p>各有关单位：现将有关事项通知如下，请认真贯彻落实。</p></div>""")

    @staticmethod
    def _layout(title: str, body: str) -> str:
        return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title></head>'
                f'<body><div class="header">基准测试县人民政府</div>{body}<div class="footer">网站标识码：3600000000</div>'
                "</body></html>")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        portal = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                text = portal.page(self.path.split("?", 1)[0])
                body = (text or "<html><body>404</body></html>").encode("utf-8")
                self.send_response(200 if text is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        return Handler


# --- one audit ---------------------------------------------------------------------------------------------

@dataclass
class Measure:
    mode: str
    pages: int
    seconds: float
    crawl_seconds: float
    rendered: int
    render_seconds: float
    render_errors: int
    blank_columns: int

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


def audit(config: dict[str, Any], workdir: Path, label: str) -> tuple[float, list[dict[str, Any]]]:
    """Run the whole pipeline (crawl in child processes, checks, no report) on ``config``; returns the wall
    seconds and, per site, its crawl stats and UP04 count."""
    workdir.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "sites.yml"
    config_path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    db_url = f"sqlite:///{workdir}/audit.db"
    started = time.monotonic()
    # No HTTP cache: every mode fetches every page; no report: only the crawl and the checks are timed.
    result = run(config_path, db_url=db_url, out_dir=None, log_dir=workdir / "logs",
                 options=CrawlOptions(cache_dir=None, full=True, jobs=2))
    seconds = time.monotonic() - started
    if result.failed:
        raise SystemExit(f"{label}: the run failed: {result.failed} (logs in {workdir / 'logs'})")
    factory = open_database(db_url)
    sites = []
    with factory() as session:
        for crawl in session.scalars(select(CrawlRun).where(CrawlRun.audit_run_id == result.audit_run_id)):
            blank = session.scalar(select(func.count()).select_from(FindingRecord).where(
                FindingRecord.crawl_run_id == crawl.id, FindingRecord.check == "UP04",
                FindingRecord.status != "resolved"))
            pages = session.scalar(select(func.count()).select_from(Page).where(Page.crawl_run_id == crawl.id))
            sites.append({"site": crawl.site_id, "stats": crawl.stats or {}, "blank_columns": blank,
                          "page_rows": pages})
    factory.kw["bind"].dispose()
    return seconds, sites


def bench_modes(portal: SyntheticPortal, modes: list[str], workdir: Path) -> list[Measure]:
    measures = []
    for mode in modes:
        seconds, (site,) = audit(portal.config(mode), workdir / mode, mode)
        stats = site["stats"]
        measures.append(Measure(mode, stats.get("pages", 0), round(seconds, 1), stats.get("duration_s", 0.0),
                                stats.get("rendered_pages", 0), stats.get("render_seconds", 0.0),
                                stats.get("render_errors", 0), site["blank_columns"]))
        print(f"  {mode}: {stats.get('pages', 0)} pages in {seconds:.1f} s", file=sys.stderr)
    return measures


def bench_demo(workdir: Path) -> list[dict[str, Any]]:
    """The bundled demo portal with every site on ``render: auto``: how many of its pages auto renders."""
    from demo.server import serve_demo

    with serve_demo() as portal:
        config = yaml.safe_load(portal.config_text())
        for site in config["sites"]:
            site["render"] = "auto"
            site["screenshots"] = False
            for column in site.get("columns", []):
                column.pop("render", None)
        seconds, sites = audit(config, workdir / "demo", "demo")
    rows = []
    for site in sites:
        stats = site["stats"]
        pages, rendered = stats.get("pages", 0), stats.get("rendered_pages", 0)
        rows.append({"site": site["site"], "pages": pages, "rendered": rendered,
                     "share": rendered / pages if pages else 0.0, "render_seconds": stats.get("render_seconds", 0.0),
                     "blank_columns": site["blank_columns"]})
    print(f"  demo: {sum(r['pages'] for r in rows)} pages in {seconds:.1f} s", file=sys.stderr)
    return rows


# --- output ------------------------------------------------------------------------------------------------

def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers, *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--columns", type=int, default=60, help="column pages of the synthetic portal (60)")
    parser.add_argument("--scripted", type=float, default=0.2,
                        help="share of columns whose list a script draws (0.2)")
    parser.add_argument("--modes", default="static,js,auto", help="render modes to run (static,js,auto)")
    parser.add_argument("--no-demo", action="store_true", help="skip the bundled demo portal")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    parser.add_argument("--workdir", type=Path, help="keep databases and crawl logs here (default: a temp dir)")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if any(m not in ("static", "js", "auto") for m in modes) or not 0 <= args.scripted <= 1:
        parser.error("modes are static, js, auto; --scripted is a share between 0 and 1")
    if chromium_path() is None and any(m != "static" for m in modes):
        parser.error("no Chromium: install Debian's chromium or set $GOVAUDIT_CHROMIUM (or --modes static)")

    with tempfile.TemporaryDirectory(prefix="govaudit-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        portal = SyntheticPortal(args.columns, args.scripted, dt.date.today())
        try:
            print(f"synthetic portal {portal.host}: {args.columns} columns, {len(portal.scripted)} scripted",
                  file=sys.stderr)
            measures = bench_modes(portal, modes, workdir)
        finally:
            portal.close()
        demo = [] if args.no_demo else bench_demo(workdir)

    if args.json:
        print(json.dumps({"columns": args.columns, "scripted": len(portal.scripted),
                          "modes": [{**asdict(m), "pages_per_second": round(m.pages_per_second, 2)} for m in measures],
                          "demo_auto": demo}, ensure_ascii=False, indent=2))
        return 0
    print(f"\nSynthetic portal: {args.columns} columns ({len(portal.scripted)} drawn by scripts), "
          f"{DOCS_PER_COLUMN} articles each\n")
    print(table(["mode", "pages", "seconds", "pages/s", "crawl s", "rendered", "render s", "render errors",
                 "blank (UP04)"],
                [[m.mode, m.pages, f"{m.seconds:.1f}", f"{m.pages_per_second:.1f}", f"{m.crawl_seconds:.1f}",
                  m.rendered, f"{m.render_seconds:.1f}", m.render_errors, m.blank_columns] for m in measures]))
    if demo:
        pages, rendered = sum(r["pages"] for r in demo), sum(r["rendered"] for r in demo)
        print("\nBundled demo portal, every site on render: auto\n")
        print(table(["site", "pages", "rendered", "share", "render s", "blank (UP04)"],
                    [[r["site"], r["pages"], r["rendered"], f"{r['share']:.1%}", f"{r['render_seconds']:.1f}",
                      r["blank_columns"]] for r in demo]
                    + [["all", pages, rendered, f"{rendered / pages:.1%}" if pages else "-",
                        f"{sum(r['render_seconds'] for r in demo):.1f}", sum(r["blank_columns"] for r in demo)]]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
