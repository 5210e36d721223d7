"""An interrupted crawl (SIGTERM from a scheduler, Ctrl-C) is resumed from Scrapy's JOBDIR, not started over."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from govaudit.audit import INTERRUPTED, CrawlOptions, RunInterrupted, run
from govaudit.db import open_database
from govaudit.models import Column, CrawlRun, Listing, Page
from tests.conftest import audit_db_url
from tests.mockserver import MockServer, Reply
from tests.test_crawler import AS_OF, edited, page, signal_children, write_config

ARTICLES = 60  # more than the downloader takes in at once (CONCURRENT_REQUESTS): those finish at a stop


def slow_article(n: int):
    def reply(_count: int) -> Reply:
        time.sleep(0.25)  # slow enough that the crawl is still under way when it is interrupted (a busy CI too)
        return Reply(page(f"<h1>第{n}号通知</h1><p>正文</p>", title=f"第{n}号通知"))
    return reply


def site_routes() -> dict:
    items = "".join(f'<li><a href="/tzgg/a{n}.html">关于第{n}号事项的通知</a><span>2026-06-{n % 12 + 1:02d}</span></li>'
                    for n in range(ARTICLES))
    routes = {
        "/": Reply(page('<div class="nav"><a href="/">首页</a><a href="/tzgg/">通知公告</a></div>'
                        '<ul><li><a href="/tzgg/a0.html">关于第0号事项的通知</a><span>2026-06-12</span></li></ul>')),
        "/tzgg/": Reply(page(f'<ul class="list">{items}</ul>', title="通知公告")),
    }
    routes.update({f"/tzgg/a{n}.html": slow_article(n) for n in range(ARTICLES)})
    return routes


def once_after(pages: int, action):
    """A progress callback that calls ``action`` once the crawl has done ``pages`` pages."""
    done = []

    def on_event(event: dict) -> None:
        if not done and event.get("pages", 0) >= pages:
            done.append(event)
            action()
    return on_event


def slow_site(tmp_path: Path, server: MockServer) -> Path:
    column = f'    columns:\n      - {{name: 通知公告, url: "{server.url("/tzgg/")}", category: notice}}\n'
    config = write_config(tmp_path, server, columns=column)
    config.write_text(edited(config, "concurrency: 4", "concurrency: 2"), encoding="utf-8")
    return config


def audit(tmp_path: Path, config: Path, **kw):
    options = CrawlOptions(cache_dir=tmp_path / "cache", full=kw.pop("full", False))
    return run(config, db_url=audit_db_url(tmp_path), out_dir=None, as_of=AS_OF,
               log_dir=tmp_path / "logs", options=options, **kw)


def stored(tmp_path: Path, run_id: int):
    factory = open_database(audit_db_url(tmp_path))
    with factory() as session:
        pages = list(session.scalars(select(Page.url).where(Page.crawl_run_id == run_id)))
        listings = session.scalar(select(func.count()).select_from(Listing).where(Listing.crawl_run_id == run_id))
        columns = list(session.scalars(select(Column.name).where(Column.crawl_run_id == run_id)))
        crawl_run = session.get(CrawlRun, run_id)
        session.expunge(crawl_run)
    return crawl_run, pages, listings, columns


def test_a_crawl_stopped_by_sigterm_is_resumed_where_it_stopped_and_no_page_is_fetched_twice(tmp_path):
    with MockServer(site_routes()) as server:
        config = slow_site(tmp_path, server)
        stopped = audit(tmp_path, config, progress=once_after(4, lambda: signal_children(signal.SIGTERM)))
        [first] = stopped.runs
        assert first.status == "failed" and first.error == INTERRUPTED
        assert stopped.failed == {"mock": INTERRUPTED}
        _, pages_before, _, _ = stored(tmp_path, first.id)
        assert 4 <= len(pages_before) < ARTICLES + 2, "the crawl must have stopped half-way"

        resumed = audit(tmp_path, config)
        [again] = resumed.runs
        crawl_run, pages, listings, columns = stored(tmp_path, again.id)
        hits = dict(server.hits)

    assert again.id == first.id and crawl_run.audit_run_id == resumed.audit_run_id
    assert crawl_run.status == "completed" and crawl_run.stats["resumed"] == 1
    assert set(pages_before) <= set(pages)
    assert len(pages) == len(set(pages)) == ARTICLES + 2  # home, the column and every article, once
    assert listings == ARTICLES + 1  # the column's entries and the home page's one item, each once
    assert columns == ["通知公告"]
    assert {path: n for path, n in hits.items() if path.startswith("/tzgg/a") and n != 1} == {}
    assert crawl_run.stats["pages"] == ARTICLES + 2


def test_ctrl_c_stops_the_crawlers_gracefully_and_full_starts_over(tmp_path):
    with MockServer(site_routes()) as server:
        config = slow_site(tmp_path, server)
        with pytest.raises(RunInterrupted) as raised:
            audit(tmp_path, config, progress=once_after(4, lambda: os.kill(os.getpid(), signal.SIGINT)))
        [first] = raised.value.result.runs
        assert first.status == "failed" and first.error == INTERRUPTED
        assert "resumes" in str(raised.value)
        assert (tmp_path / "jobs" / "mock" / "spider.state").is_file()

        fresh = audit(tmp_path, config, full=True)  # --full: every page whole, nothing resumed
        [again] = fresh.runs
        hits = dict(server.hits)
        crawl_run, pages, _, _ = stored(tmp_path, again.id)

    assert again.id != first.id and crawl_run.status == "completed" and crawl_run.stats["resumed"] == 0
    assert len(pages) == ARTICLES + 2
    assert hits["/"] == 2  # fetched by both runs: the second started over
    assert not (tmp_path / "jobs" / "mock").exists(), "a finished crawl leaves no job to resume"


SITE = """sites:
  - {id: s, name: 示范站, url: "http://s.test/", unit: 办公室}
"""


@pytest.mark.parametrize("case, resumed", [
    ("interrupted today", True),
    ("killed", False),  # no graceful close: its queue is not to be trusted
    ("another day", False),
    ("config changed", False),
    ("newer run", False),
    ("no job state", False),
])
def test_only_the_newest_gracefully_interrupted_crawl_of_the_day_is_resumed(tmp_path, case, resumed):
    from govaudit.audit import resumable_run
    from govaudit.config import parse_config
    from govaudit.models import AuditRun, Site

    site = parse_config(SITE).site("s")
    factory = open_database(audit_db_url(tmp_path))
    jobs = tmp_path / "jobs"
    if case != "no job state":
        (jobs / "s").mkdir(parents=True)
        (jobs / "s" / "spider.state").write_bytes(b"state")
    with factory.begin() as session:
        session.add(Site(id="s", name="示范站", url="http://s.test/", unit="办公室"))
        config = site.model_dump(mode="json")
        if case == "config changed":
            config = dict(config, name="改名后的示范站")
        stats = {"close_reason": "shutdown"} if case != "killed" else {}
        as_of = AS_OF if case != "another day" else AS_OF.replace(day=AS_OF.day - 1)
        interrupted = CrawlRun(audit_run=AuditRun(as_of=as_of), site_id="s", as_of=as_of, status="failed",
                               stats=stats, site_config=config)
        session.add(interrupted)
        if case == "newer run":
            session.add(CrawlRun(audit_run=AuditRun(as_of=AS_OF), site_id="s", as_of=AS_OF, status="completed",
                                 site_config=config))
        session.flush()
        found = resumable_run(session, site, AS_OF, jobs)
        assert (found is interrupted) is resumed
