"""What a second night costs on a site that did not change, against the first, full crawl.

Serves a synthetic portal of static files on loopback with Python's SimpleHTTPRequestHandler (which sends
Last-Modified and answers If-Modified-Since with 304, as most government web servers do), audits it
twice through the real pipeline with the HTTP cache on, and once more with ``--full``; prints time and
bytes received per run. Not part of the tests; it asserts nothing.

    .venv/bin/python bench/incremental.py [--columns 40] [--articles 10] [--latency-ms 100] [--kbps 500]
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import tempfile
import textwrap
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from govaudit.audit import CrawlOptions, run

AS_OF = dt.date(2026, 6, 15)
FILLER = "<p>" + "依法依规做好政府信息公开工作，" * 60 + "</p>"


def write_portal(root: Path, columns: int, articles: int) -> None:
    nav = "".join(f'<a href="/col/{c}/">栏目{c}</a>' for c in range(columns))
    (root / "index.html").write_text(
        f"<html><head><meta charset='utf-8'><title>示范县</title></head><body><div class='nav'>{nav}</div>"
        f"<ul class='news'><li><a href='/col/0/a0.html'>要闻一则</a><span>2026-06-14</span></li></ul>"
        f"{FILLER}</body></html>", encoding="utf-8")
    for c in range(columns):
        folder = root / "col" / str(c)
        folder.mkdir(parents=True)
        items = "".join(f"<li><a href='a{a}.html'>关于栏目{c}第{a}项工作的通知公告</a><span>2026-06-{1 + a % 14:02d}</span></li>"
                        for a in range(articles))
        (folder / "index.html").write_text(
            f"<html><head><meta charset='utf-8'><title>栏目{c}</title></head><body><ul class='list'>{items}</ul>"
            f"</body></html>", encoding="utf-8")
        for a in range(articles):
            (folder / f"a{a}.html").write_text(
                f"<html><head><meta charset='utf-8'><title>通知{c}-{a}</title></head><body>{FILLER}</body></html>",
                encoding="utf-8")


class SlowHandler(SimpleHTTPRequestHandler):
    """A government web server as the crawler meets it: a latency per answer, and a bandwidth per body
    (a 304 has no body, which is the point of asking with validators)."""

    latency_s = 0.0
    bytes_per_s = 0.0

    def log_message(self, *args) -> None:
        pass

    def send_head(self):
        time.sleep(self.latency_s)
        return super().send_head()

    def copyfile(self, source, outputfile) -> None:
        data = source.read()
        if self.bytes_per_s:
            time.sleep(len(data) / self.bytes_per_s)
        outputfile.write(data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns", type=int, default=40)
    parser.add_argument("--articles", type=int, default=10)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--latency-ms", type=float, default=100, help="per answer (0: plain loopback)")
    parser.add_argument("--kbps", type=float, default=500, help="kilobytes per second per body (0: unlimited)")
    args = parser.parse_args()
    SlowHandler.latency_s = args.latency_ms / 1000
    SlowHandler.bytes_per_s = args.kbps * 1000
    work = args.workdir or Path(tempfile.mkdtemp(prefix="govaudit-incremental-"))
    site_root = work / "site"
    site_root.mkdir(parents=True, exist_ok=True)
    write_portal(site_root, args.columns, args.articles)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(SlowHandler, directory=str(site_root)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    config = work / "sites.yml"
    config.write_text(textwrap.dedent(f"""\
        sites:
          - id: bench
            name: 示范县
            url: http://{host}/
            render: static
            screenshots: false
            limits: {{delay: 0, concurrency: 8, timeout: 10, pages: 100000}}
        """), encoding="utf-8")
    db = f"sqlite:///{work}/audit.db"
    cache = work / "cache"
    print(f"portal: {1 + args.columns * (1 + args.articles)} pages at http://{host}/, {args.latency_ms:g} ms a "
          f"request, {args.kbps:g} KB/s a body (work dir {work})")
    print(f"{'run':<22}{'pages':>7}{'seconds':>10}{'crawl s':>9}{'bytes received':>16}{'304s':>7}")
    rows = []
    for label, full in (("1: first, full", True), ("2: unchanged", False), ("3: --full again", True)):
        started = time.monotonic()
        result = run(config, db_url=db, out_dir=None, as_of=AS_OF, log_dir=work / "logs",
                     options=CrawlOptions(cache_dir=cache, full=full, jobs=1))
        seconds = time.monotonic() - started
        stats = result.runs[0].stats or {}
        rows.append((seconds, stats.get("bytes_received", 0)))
        print(f"{label:<22}{stats.get('pages', 0):>7}{seconds:>10.1f}{stats.get('duration_s', 0):>9.1f}"
              f"{stats.get('bytes_received', 0):>16,}{stats.get('not_modified', 0):>7}")
    (t1, b1), (t2, b2) = rows[0], rows[1]
    print(f"unchanged / full: time {t2 / t1:.0%}, bytes {b2 / max(b1, 1):.1%}")
    server.shutdown()


if __name__ == "__main__":
    main()
