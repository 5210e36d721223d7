"""The writer process (crawler.writer): the pipeline's batches stored by it exactly as by the pipeline
itself, a batch that fails reported and dropped alone, and a writer that dies leaving the rest to the
pipeline."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from crawler.items import DocumentItem, LinkItem, LinksItem, PageItem
from crawler.pipelines import AuditDatabasePipeline
from govaudit.db import open_database
from govaudit.models import Document, Link, Page
from tests.test_db import new_run


def items(start: int, count: int):
    for i in range(start, start + count):
        url = f"http://s.test/art/{i}.html"
        yield PageItem(url=url, final_url=url, status=200, title=f"通知{i}", encoding="gb18030",
                       meta_tags={"ArticleTitle": f"通知{i}"}, footer={"icp": "京ICP备12345678号"}, text="正文")
        yield LinksItem(from_url=url, links=[LinkItem(from_url=url, to_url=f"http://s.test/files/{i}.pdf",
                                                      anchor="附件", kind="content")])
        yield DocumentItem(url=url, title=f"通知{i}", index_number=f"11360700MB1234567R/2026-{i:05d}",
                           publisher="县政府办公室", written_date=dt.date(2026, 6, 1), published_date=None,
                           doc_number=None, validity="有效", topic=None, has_metadata=True, raw={"索引号": f"{i}"})


def stored(factory, run_id: int) -> dict[str, set]:
    with factory() as session:
        return {
            "pages": {(row.url, row.title, row.encoding, row.text, repr(row.meta_tags), repr(row.footer)) for row in
                      session.execute(select(Page).where(Page.crawl_run_id == run_id)).scalars()},
            "links": set(session.execute(select(Link.from_url, Link.to_url, Link.anchor, Link.kind)
                                         .where(Link.crawl_run_id == run_id)).all()),
            "documents": set(session.execute(select(Document.url, Document.index_number, Document.written_date,
                                                    Document.validity, Document.raw["索引号"].as_string())
                                             .where(Document.crawl_run_id == run_id)).all()),
        }


def crawl_into(audit_db: str, writer_process: bool, between=None) -> tuple[dict, AuditDatabasePipeline]:
    factory = open_database(audit_db)
    with factory.begin() as session:
        run_id = new_run(session, dt.date(2026, 6, 1)).id
    pipeline = AuditDatabasePipeline(audit_db, run_id, writer_process=writer_process)
    pipeline.open_spider()
    for item in items(0, 400):
        pipeline.process_item(item)
    pipeline.flush()
    if between is not None:
        between(pipeline)
    for item in items(400, 400):
        pipeline.process_item(item)
    pipeline.close_spider()
    return stored(factory, run_id), pipeline


def test_the_writer_process_stores_what_the_pipeline_would(audit_db):
    used = []
    beside, _ = crawl_into(audit_db, True, between=lambda p: used.append(p._process is not None))
    here, _ = crawl_into(audit_db, False)
    assert used == [True]
    assert len(beside["pages"]) == len(beside["documents"]) == len(beside["links"]) == 800
    assert beside == here


def test_a_batch_the_writer_cannot_store_is_reported_and_the_others_stay(audit_db, caplog):
    def clash(pipeline):
        pipeline._batches.join()  # the first batches written
        # A row of a page stored already (what the pipeline's own bookkeeping prevents): the batch fails.
        url = "http://s.test/art/3.html"
        pipeline._write_elsewhere(({Page: [{"url": url, "crawl_run_id": pipeline.run_id, "status": 200,
                                            "fetched_at": dt.datetime(2026, 6, 1)}]}, [], []))

    with caplog.at_level(logging.ERROR, logger="crawler.pipelines"):
        rows, pipeline = crawl_into(audit_db, True, between=clash)
    assert "could not store 1 rows" in caplog.text and f"run {pipeline.run_id}" in caplog.text
    assert len(rows["pages"]) == len(rows["links"]) == 800


def test_a_writer_process_that_dies_leaves_the_rest_to_the_pipeline(audit_db, caplog):
    def kill(pipeline):
        pipeline._batches.join()
        pipeline._process.process.kill()
        pipeline._process.process.wait()

    with caplog.at_level(logging.WARNING, logger="crawler.pipelines"):
        rows, pipeline = crawl_into(audit_db, True, between=kill)
    assert "the writer process ended" in caplog.text
    assert pipeline._process is None
    assert len(rows["pages"]) == len(rows["links"]) == len(rows["documents"]) == 800


def _outputs_of_parse_page(made: list, fails: bool) -> tuple[list, BaseException | None]:
    """What ``PortalSpider.parse_page`` hands to Scrapy when its page's handling makes ``made`` (requests
    and items, in this order) and then, with ``fails``, raises."""
    import asyncio
    from types import SimpleNamespace

    from scrapy import Request
    from scrapy.http import HtmlResponse

    from crawler.spiders.portal import PortalSpider

    async def handling(response):
        for output in made:
            yield output
        if fails:
            raise ValueError("the page's handling failed")

    homes = []
    spider = SimpleNamespace(_parse_page=handling, home="http://s.test/", _home_done=lambda: homes.append(1))
    response = HtmlResponse("http://s.test/", body=b"<html></html>", request=Request("http://s.test/"))

    async def collect():
        outputs, error = [], None
        try:
            async for output in PortalSpider.parse_page(spider, response):
                outputs.append(output)
        except ValueError as exc:
            error = exc
        return outputs, error

    outputs, error = asyncio.run(collect())
    assert homes == [1]  # the home page's wait ends whatever happened
    return outputs, error


def test_a_callbacks_items_reach_the_pipeline_as_one_batch_and_its_requests_at_once():
    from scrapy import Request

    from crawler.items import ItemBatch

    page, links, document = list(items(0, 1))
    follow = Request("http://s.test/art/1.html")
    outputs, error = _outputs_of_parse_page([page, follow, links, document], fails=False)
    assert error is None
    assert outputs == [follow, ItemBatch([page, links, document])]
    # One item alone is handed as it is.
    assert _outputs_of_parse_page([follow, page], fails=False) == ([follow, page], None)
    # What was made before a failure is still stored, and the failure still reaches Scrapy (it is logged).
    outputs, error = _outputs_of_parse_page([page, follow, links], fails=True)
    assert outputs == [follow, ItemBatch([page, links])] and isinstance(error, ValueError)


def test_the_pipeline_stores_a_batch_as_its_items_one_by_one(tmp_path):
    from crawler.items import ItemBatch

    audit_db = f"sqlite:///{tmp_path / 'audit.db'}"
    factory = open_database(audit_db)
    runs = []
    for batched in (False, True):
        with factory.begin() as session:
            run_id = new_run(session, dt.date(2026, 6, 1)).id
        pipeline = AuditDatabasePipeline(audit_db, run_id, writer_process=False)
        pipeline.open_spider()
        made = list(items(0, 30))
        if batched:
            for start in range(0, len(made), 3):
                pipeline.process_item(ItemBatch(made[start:start + 3]))
        else:
            for item in made:
                pipeline.process_item(item)
        pipeline.close_spider()
        runs.append(stored(factory, run_id))
        assert pipeline.counts == {"page": 30, "link": 30, "document": 30}
    assert runs[0] == runs[1] and len(runs[1]["pages"]) == 30


def test_copied_pages_keep_their_kind_and_column_until_tonights_lists_say_otherwise(audit_db):
    """Carried pages are copied as the documents they were (``copy_carried``), and settling the run
    (``settle_documents``) writes only what tonight's lists change: a page no column lists any more is a
    plain page again, a document another column lists now is that column's (and audited afresh)."""
    from crawler.pipelines import settle_documents
    from crawler.writer import copy_carried
    from govaudit.models import Column, Listing

    stay, moved, dropped = (f"http://s.test/art/{name}.html" for name in ("stay", "moved", "dropped"))
    x, y = "http://s.test/x/", "http://s.test/y/"
    factory = open_database(audit_db)
    with factory.begin() as session:
        runs = [new_run(session, dt.date(2026, 6, day)).id for day in (1, 2)]
        lists = {runs[0]: {stay: x, moved: x, dropped: x}, runs[1]: {stay: x, moved: y}}
        for run in runs:
            session.add_all([Column(crawl_run_id=run, name=url, url=url, category="notice") for url in (x, y)])
            session.add_all([Listing(crawl_run_id=run, column_url=column, page_url=column, url=url)
                             for url, column in lists[run].items()])
        session.add_all([Page(crawl_run_id=runs[0], url=url, final_url=url, status=200, kind="other")
                         for url in (stay, moved, dropped)])
        session.add_all([Document(crawl_run_id=runs[0], url=url) for url in (stay, moved, dropped)])
        session.flush()
        settle_documents(session, runs[0])
        copy_carried(session, runs[1], runs[0], [(stay, 2), (moved, 2), (dropped, 3)])
        settle_documents(session, runs[1])

    with factory() as session:
        def rows(run: int) -> dict:
            pages = {p.url: (p.kind, p.column_url, p.depth) for p in
                     session.scalars(select(Page).where(Page.crawl_run_id == run))}
            docs = {d.url: (d.column_url, d.copied_from) for d in
                    session.scalars(select(Document).where(Document.crawl_run_id == run))}
            return {url: (*pages[url], *docs[url]) for url in pages}

        assert rows(runs[0]) == {stay: ("document", x, 0, x, None), moved: ("document", x, 0, x, None),
                                 dropped: ("document", x, 0, x, None)}
        assert rows(runs[1]) == {stay: ("document", x, 2, x, runs[0]), moved: ("document", y, 2, y, None),
                                 dropped: ("other", None, 3, None, None)}
