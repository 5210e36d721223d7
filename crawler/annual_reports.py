"""Finding the annual reports of a site while it is crawled (the AR checks read what is found here).

A report is a page or an attachment whose title says "(20xx年)…政府信息公开工作年度报告" (kind
``information``) or "…政府网站工作年度报表" (kind ``website``), wherever it stands on the site: in a
``report`` column, in another list, on the home page. A report page's attachments (PDF, DOC, DOCX, XLS,
XLSX) are the report too: they are fetched, whatever the crawl's depth, and read by crawler.attachments.

The spider calls ``ReportFinder`` from two small hooks: ``on_page`` for every HTML page it read and
``on_attachment`` for a marked attachment's answer. After the crawl, ``settle_reports`` dates the rows
(the listing's date when the page shows none, the page's date for its attachments) and gives each its
first_seen (the first crawl run of the site that stored it).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from crawler.attachments import ATTACHMENT_MAX_BYTES, attachment_format, extract, suffix_format
from crawler.items import AnnualReportItem

_WEBSITE = re.compile(r"网站.{0,16}?年度(?:工作)?报表")
_NOT_WEBSITE_REPORT = re.compile(r"通知|关于(?:印发|报送|做好|开展)")


def report_kind(title: str | None) -> str | None:
    """``information`` / ``website`` for a report's title, None for anything else (a notice about
    reports, a 财政 report, a title without a year: a column's name). The 政府信息公开工作年度报告 pattern
    and the year are govaudit.annual_report's."""
    from govaudit.annual_report import is_annual_report_title

    # Either kind says 报 (报告, 年报, 报表), which no other character folds to: most titles stop here.
    if not title or "报" not in title:
        return None
    title = " ".join(title.split())
    if report_year(title) is None:
        return None
    if is_annual_report_title(title):
        return "information"
    if _WEBSITE.search(title) and not _NOT_WEBSITE_REPORT.search(title):
        return "website"
    return None


def report_year(title: str | None) -> int | None:
    from govaudit.annual_report import report_year as year_of

    return year_of(title) if title else None


@dataclass
class Marked:
    """An attachment to read as a report: its title and the page that links it."""

    title: str
    page_url: str
    kind: str
    year: int | None
    published: dt.date | None


class ReportFinder:
    """What the spider knows of the site's reports during one crawl."""

    def __init__(self) -> None:
        self.attachments: dict[str, Marked] = {}
        self.stored: set[str] = set()

    def on_page(self, url: str, title: str | None, html: str | Callable[[], str], links,
                published: dt.date | None) -> tuple[list[AnnualReportItem], list[str]]:
        """An HTML page that was read (``html``: its text, or how to get it): the report row of the page
        itself when its title is a report's, and the attachments to fetch (a report page's, or a link
        whose text names a report)."""
        from govaudit.annual_report import html_tables

        items: list[AnnualReportItem] = []
        kind = report_kind(title)
        if kind is not None and url not in self.stored:
            self.stored.add(url)
            if callable(html):
                html = html()
            text = _visible_text(html)
            try:
                tables = html_tables(html)
            except Exception:  # noqa: BLE001 - a page whose tables do not parse is still a report
                tables = []
            items.append(AnnualReportItem(url=url, page_url=url, title=title, year=report_year(title), kind=kind,
                                          format="html", published=published, readable=bool(text.strip()),
                                          error=None if text.strip() else "页面没有正文", text=text,
                                          tables=tables))
        fetch: list[str] = []
        for link in links:
            target = link.to_url
            if link.kind not in ("nav", "content") or suffix_format(target) is None or target in self.attachments:
                continue
            anchor = " ".join((link.anchor or "").split())
            anchor_kind = report_kind(anchor)
            if anchor_kind is not None:
                marked = Marked(anchor, url, anchor_kind, report_year(anchor), published if kind else None)
            elif kind is not None:
                # An attachment of a report page: the report itself, under the page's title.
                marked = Marked(title or anchor, url, kind, report_year(title), published)
            else:
                continue
            self.attachments[target] = marked
            fetch.append(target)
        return items, fetch

    def is_attachment(self, url: str, meta: dict) -> bool:
        """Whether a response is a marked attachment's: known here, or carried by a resumed request."""
        if url in self.attachments:
            return True
        saved = meta.get("annual_report")
        if not isinstance(saved, dict):
            return False
        published = saved.get("published")
        self.attachments[url] = Marked(saved.get("title") or "", saved.get("page_url") or url,
                                       saved.get("kind") or "information", saved.get("year"),
                                       dt.date.fromisoformat(published) if published else None)
        return True

    def on_attachment(self, url: str, content_type: str | None, body: bytes,
                      failure: str | None = None) -> AnnualReportItem | None:
        """A marked attachment's answer (or why there was none), read into a report row."""
        marked = self.attachments.get(url)
        if marked is None or url in self.stored:
            return None
        self.stored.add(url)
        fmt = suffix_format(url) or "pdf"
        if failure is not None:
            readable, error, text, tables = False, f"附件无法下载：{failure}", "", []
        else:
            fmt = attachment_format(url, content_type, body) or fmt
            if body[:1] == b"<" or (content_type and "html" in content_type.lower()
                                   and attachment_format(url, None, body[:8]) is None):
                readable, error, text, tables = False, "附件链接返回的是网页而不是文件", "", []
            else:
                extracted = extract(body, fmt)
                readable, error = extracted.readable, extracted.error
                text, tables = extracted.text, extracted.tables
        return AnnualReportItem(url=url, page_url=marked.page_url, title=marked.title, year=marked.year,
                                kind=marked.kind, format=fmt, published=marked.published, readable=readable,
                                error=error, text=text, tables=tables)


def request_meta(marked: Marked) -> dict:
    """What a report attachment's request carries: Scrapy's own size cap for it, and what the linking
    page said of it (a crawl resumed from its job directory gets the request back, not this finder)."""
    return {"download_maxsize": ATTACHMENT_MAX_BYTES, "annual_report": {
        "title": marked.title, "page_url": marked.page_url, "kind": marked.kind, "year": marked.year,
        "published": marked.published.isoformat() if marked.published else None}}


def _visible_text(html: str) -> str:
    """The page's text, line by line (block elements end a line), without scripts and styles."""
    import lxml.html

    try:
        tree = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return ""
    for bad in tree.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for block in tree.xpath("//p|//div|//br|//tr|//li|//h1|//h2|//h3|//h4|//h5|//h6|//table"):
        block.tail = "\n" + (block.tail or "")
    for cell in tree.xpath("//td|//th"):
        cell.tail = " " + (cell.tail or "")
    body = tree.find("body")
    text = (body if body is not None else tree).text_content()
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def settle_reports(session: Session, run_id: int) -> None:
    """After the crawl: a report without a date of its own takes its listing's (the list shows when it
    was published), an attachment its page's; every row gets first_seen, the as_of of the first crawl run
    of the site that stored the same URL (this run's when none did)."""
    from govaudit.models import AnnualReport, CrawlRun, Listing

    reports = list(session.scalars(select(AnnualReport).where(AnnualReport.crawl_run_id == run_id)))
    if not reports:
        return
    run = session.get(CrawlRun, run_id)
    listed: dict[str, dt.date] = {}
    for url, date in session.execute(select(Listing.url, Listing.date).where(
            Listing.crawl_run_id == run_id, Listing.date.is_not(None)).order_by(Listing.id)):
        listed.setdefault(url, date)
    for report in reports:
        if report.published is None:
            report.published = listed.get(report.url) or listed.get(report.page_url or "")
    by_url = {report.url: report for report in reports}
    for report in reports:
        if report.published is None and report.page_url in by_url:
            report.published = by_url[report.page_url].published
    earlier = dict(session.execute(
        select(AnnualReport.url, CrawlRun.as_of)
        .join(CrawlRun, CrawlRun.id == AnnualReport.crawl_run_id)
        .where(CrawlRun.site_id == run.site_id, CrawlRun.id != run_id, CrawlRun.as_of <= run.as_of,
               AnnualReport.url.in_(list(by_url)))
        .order_by(CrawlRun.as_of.desc())
    ).all())  # ascending as_of wins: the later rows of the descending order overwrite
    for report in reports:
        report.first_seen = min(earlier.get(report.url, run.as_of), run.as_of)
    session.flush()
