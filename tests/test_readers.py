"""Reader processes (crawler.readers): a page read by one is read exactly as the crawler reads it itself,
and a reader that fails or dies costs time, never a page."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import pickle

from sqlalchemy import select

from crawler import readers
from crawler.readers import ReaderPool, read_plain
from govaudit.audit import CrawlOptions, run
from govaudit.db import open_database
from govaudit.models import CrawlRun, Document, Link, Message, Page
from tests.conftest import ANCHOR, audit_db_url

AS_OF = dt.date(2026, 6, 30)
ARTICLE = """<html><head><meta name="ArticleTitle" content="关于印发补贴办法的通知"><title>关于印发补贴办法的通知</title>
</head><body><div class="nav"><a href="/">首页</a> &gt; <a href="/zwgk/zcwj/">政策文件</a></div>
<table class="xxgk"><tr><td>索引号：</td><td>11360700MB1234567R/2026-00001</td><td>发布机构：</td><td>县政府办公室</td></tr>
<tr><td>成文日期：</td><td>2026年06月10日</td><td>发布日期：</td><td>2026-06-11</td></tr>
<tr><td>有效性：</td><td>有效</td></tr></table>
<p>各乡镇人民政府：现将《补贴办法》印发给你们，请认真贯彻执行。</p>
<a href="/files/a1.pdf">附件：补贴标准</a> <a href="https://zwfw.example.gov.cn/item/101">在线办理</a>
</body></html>"""


def pool_readings(pool: ReaderPool, jobs: list[tuple], before=None) -> list:
    async def main():
        try:
            if before is not None:
                await pool.reading(*jobs[0])  # starts the processes
                before(pool)
            return await asyncio.gather(*(pool.reading(*job) for job in jobs))
        finally:
            pool.close()

    return asyncio.run(main())


def test_a_reader_process_reads_a_page_as_the_crawler_does():
    gbk = ARTICLE.replace("<head>", '<head><meta charset="gbk">').encode("gbk")
    jobs = [(ARTICLE.encode("utf-8"), "text/html; charset=utf-8", "http://127.0.0.1:1/art/1.html", AS_OF),
            (gbk, "text/html", "http://127.0.0.1:1/art/2.html", AS_OF),
            (b"<html><body><p>\xff\xfe broken <div><a href='x.html'>x", None, "http://127.0.0.1:1/art/3.html", AS_OF)]
    pool = ReaderPool(2)
    answers = pool_readings(pool, jobs)
    got = [reading for reading, _ in answers]
    assert got == [read_plain(*job) for job in jobs]
    assert [pickle.loads(data) for _, data in answers] == got  # what the store of readings keeps
    assert pool.read == 3 and pool.fallbacks == 0
    first = got[0]
    assert first.document.index_number == "11360700MB1234567R/2026-00001"
    assert first.encoding == "utf-8" and got[1].encoding in ("gbk", "gb18030")
    assert "https://zwfw.example.gov.cn/item/101" in {link.url for link in first.links}


def test_a_page_a_reader_fails_on_is_left_to_the_crawler():
    pool = ReaderPool(1)
    good = (ARTICLE.encode("utf-8"), None, "http://127.0.0.1:1/art/1.html", AS_OF)
    bad = (ARTICLE.encode("utf-8"), 123, "http://127.0.0.1:1/art/2.html", AS_OF)  # not a content type
    got = pool_readings(pool, [good, bad, good])
    assert got[0][0] == got[2][0] == read_plain(*good)
    assert got[1] is None  # the crawler reads it itself (and reports what fails, with the URL)
    assert pool.fallbacks == 1 and pool.read == 2


def test_a_reader_process_that_dies_leaves_its_pages_to_the_crawler(caplog):
    pool = ReaderPool(1)
    job = (ARTICLE.encode("utf-8"), None, "http://127.0.0.1:1/art/1.html", AS_OF)

    def kill(pool):
        [reader] = pool.readers
        reader.process.kill()
        reader.process.wait()

    with caplog.at_level(logging.WARNING, logger="crawler.readers"):
        got = pool_readings(pool, [job, job, job], before=kill)
    assert got == [None, None, None]
    assert "reader process 1 ended" in caplog.text
    assert pool.read == 1  # the one read before it died


def test_spiders_of_one_process_share_one_pool():
    assert readers.pool(0) is None
    first = readers.pool(1)
    second = readers.pool(1)
    assert first is second and first.users == 2
    readers.release(first)
    assert readers.pool(1) is first  # still in use
    readers.release(first)
    readers.release(second)
    assert first.users == 0 and readers.pool(1) is not first
    readers.release(readers._POOL)


def stored(db_url: str, crawl_run: CrawlRun) -> dict[str, set]:
    """What a crawl stored, without ids and times."""
    with open_database(db_url)() as session:
        def rows(*columns, model):
            return set(session.execute(select(*columns).where(model.crawl_run_id == crawl_run.id)).all())
        return {
            "pages": rows(Page.url, Page.final_url, Page.status, Page.error, Page.content_type, Page.encoding,
                          Page.encoding_source, Page.content_hash, Page.title, Page.kind, Page.column_url,
                          Page.text, model=Page),
            "links": rows(Link.from_url, Link.to_url, Link.anchor, Link.kind, Link.hidden, model=Link),
            "documents": rows(Document.url, Document.index_number, Document.publisher, Document.written_date,
                              Document.published_date, Document.doc_number, Document.validity, Document.topic,
                              Document.has_metadata, model=Document),
            "messages": rows(Message.url, Message.title, Message.asked, Message.replied, model=Message),
        }


def test_a_crawl_stores_the_same_with_and_without_reader_processes(demo_portal, tmp_path):
    results = {}
    for count in (0, 2):
        work = tmp_path / f"readers{count}"
        config = demo_portal.write_config(work / "sites.yml")
        text = config.read_text(encoding="utf-8")
        assert text.count("\ncrawler:\n") == 1
        text = text.replace("\ncrawler:\n", f"\ncrawler:\n  readers: {count}\n")
        # Without the browser (whose timing on a busy machine is no part of this): its pages are read in the
        # crawler's process anyway.
        config.write_text(text.replace("render: auto", "render: static"), encoding="utf-8")
        db_url = audit_db_url(work)
        result = run(config, db_url=db_url, out_dir=None, as_of=ANCHOR, log_dir=work / "logs",
                     options=CrawlOptions(cache_dir=work / "cache"))
        assert result.runs and all(r.status == "completed" for r in result.runs)
        results[count] = [stored(db_url, r) for r in sorted(result.runs, key=lambda r: r.site_id)]
    assert len(results[0]) == len(results[2])
    assert sum(len(site["documents"]) for site in results[0]) > 10
    assert sum(len(site["messages"]) for site in results[0]) > 0
    for alone, beside in zip(results[0], results[2], strict=True):
        assert alone["pages"]
        for key in alone:
            assert alone[key] == beside[key], (f"{key}: only without readers {sorted(alone[key] - beside[key])}; "
                                               f"only with them {sorted(beside[key] - alone[key])}")


def test_reader_processes_end_with_the_crawl():
    pool = ReaderPool(2)
    processes = []
    pool_readings(pool, [(ARTICLE.encode("utf-8"), None, "http://127.0.0.1:1/a.html", AS_OF)] * 4,
                  before=lambda pool: processes.extend(reader.process for reader in pool.readers))
    assert len(processes) == 2 and pool.readers == []
    assert all(process.poll() is not None for process in processes)


def test_the_readings_store_finds_what_it_was_just_given_and_keeps_it(tmp_path):
    """A reading or an answer kept a moment ago is found at once (committed or not), every one is in the
    file after ``close``, and readings no crawl used for KEEP_DAYS days are dropped then."""
    from crawler.reuse import COMMIT_EVERY, KEEP_DAYS, PageReading, ReadingStore

    path = tmp_path / "readings.sqlite"
    store = ReadingStore(path, ANCHOR)
    n = COMMIT_EVERY * 2 + 7  # some committed, some on their way
    for i in range(n):
        store.put(store.key(f"http://s.test/{i}.html", "h"), PageReading("utf-8", "header", f"第{i}页"))
        store.put_answer(f"http://s.test/{i}.html", {"sha1": "h", "size": i})
        # found at once, committed or not
        assert store.get(store.key(f"http://s.test/{i}.html", "h")).title == f"第{i}页"
        assert store.answer(f"http://s.test/{i}.html")[1] == {"sha1": "h", "size": i}
    store.put(store.key("http://s.test/0.html", "h"), PageReading("utf-8", "header", "改过"))  # replaced
    assert store.get(store.key("http://s.test/0.html", "h")).title == "改过"
    assert store.get(store.key("http://s.test/none.html", "h")) is None and store.answer("http://s.test/none") is None
    store.close()

    later = ReadingStore(path, ANCHOR + dt.timedelta(days=KEEP_DAYS - 1))
    assert later.get(later.key("http://s.test/0.html", "h")).title == "改过"
    assert later.answer(f"http://s.test/{n - 1}.html")[1]["size"] == n - 1
    later.close()  # it used page 0's reading: that one is kept a month from then
    last = ReadingStore(path, ANCHOR + dt.timedelta(days=KEEP_DAYS + 1))
    last.close()
    kept = ReadingStore(path, ANCHOR + dt.timedelta(days=KEEP_DAYS + 1))
    assert kept.get(kept.key("http://s.test/0.html", "h")).title == "改过"
    assert kept.get(kept.key("http://s.test/1.html", "h")) is None  # unused for longer than KEEP_DAYS
    kept.close()
