"""What the portal spider hands to the pipeline. Plain dataclasses: one per audit-database table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PageItem:
    url: str
    final_url: str | None
    status: int | None
    error: str | None = None
    content_type: str | None = None
    encoding: str | None = None
    encoding_source: str | None = None
    content_hash: str | None = None
    size: int | None = None
    title: str | None = None
    depth: int = 0
    kind: str = "other"  # home column list other (documents are settled after the crawl)
    column_url: str | None = None
    rendered_by_js: bool = False
    text: str | None = None  # visible text (crawler.content), for pages read as HTML
    meta_tags: dict[str, str] | None = None  # <meta name> -> content
    footer: dict[str, Any] | None = None  # the home page's footer: {"text", "marks"}
    fetched_at: dt.datetime | None = None  # a page carried from the last run: when it was last answered
    # Not a column: a page read again in the browser adds the links its scripts made to those stored
    # (a page read again in another role replaces its links and document instead).
    adds_links: bool = False


@dataclass
class ItemBatch:
    """What one callback of the spider made for the pipeline, in order (``PortalSpider.parse_page``): one
    item through Scrapy's item machinery (its signals, its spider middlewares) instead of one a row kind,
    about 2.5 a page, each of which cost about a tenth of a bare request's time."""

    items: list[Any]


@dataclass
class CarriedItem:
    """Pages carried from the last run unchanged (crawler.revisit) whose rows are copied, in the audit
    database, from that run's: each page with its links and document, as ``(url, depth)``. ``links`` and
    ``documents`` count the rows the copy makes (the run's stats)."""

    previous_run: int
    pages: list[tuple[str, int]]
    links: int = 0
    documents: int = 0


@dataclass
class LinkItem:
    from_url: str
    to_url: str
    anchor: str | None
    kind: str  # nav content service external
    hidden: str | None = None  # why CSS hides the link (暗链 evidence), if it does


@dataclass
class LinksItem:
    """All links of one page, written in one batch."""

    from_url: str
    links: list[LinkItem]


@dataclass
class ListingItem:
    column_url: str
    page_url: str
    position: int
    title: str | None
    url: str | None
    date: dt.date | None
    date_text: str | None


@dataclass
class ListingsItem:
    """The entries of one list page."""

    column_url: str
    page_url: str
    entries: list[ListingItem]


@dataclass
class DocumentItem:
    url: str
    title: str | None
    index_number: str | None
    publisher: str | None
    written_date: dt.date | None
    published_date: dt.date | None
    doc_number: str | None
    validity: str | None
    topic: str | None
    has_metadata: bool
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass
class ProbeItem:
    url: str
    kind: str  # service external
    status: int | None
    error: str | None
    final_url: str | None
    title: str | None
    text: str | None


@dataclass
class ColumnItem:
    name: str
    url: str
    category: str
    category_guessed: bool
    unit: str | None
    source: str  # config nav
    status: int | None = None
    error: str | None = None
    final_url: str | None = None
    entries: int = 0
    list_pages: int = 0
    placeholder: str | None = None
    nav_only: bool = False
    single_page: bool = False
    reader: str | None = None
    truncated: bool = False
    rendered_by_js: bool = False


@dataclass
class NewMediaAccountItem:
    """A 政务新媒体 account's public page, fetched once (crawler.new_media reads it)."""

    name: str
    platform: str
    unit: str | None
    url: str  # as configured
    status: str  # ok empty undated closed failed
    final_url: str | None = None
    http_status: int | None = None
    error: str | None = None
    title: str | None = None
    latest_post: dt.date | None = None
    latest_text: str | None = None
    posts_seen: int = 0
    closed_notice: str | None = None


@dataclass
class MessageItem:
    """A message of a board (an interaction column), its list row and its page read together."""

    column_url: str
    url: str
    title: str | None
    asked: dt.date | None
    asked_text: str | None
    replied: dt.date | None
    replied_text: str | None
    reply_unit: str | None
    status: str | None
    answered: bool
    page_read: bool


@dataclass
class AnnualReportItem:
    """An annual report found on the site: a page, or an attachment read by crawler.attachments."""

    url: str
    page_url: str | None
    title: str | None
    year: int | None
    kind: str  # information website
    format: str  # html pdf doc docx xls xlsx
    published: dt.date | None
    readable: bool
    error: str | None
    text: str | None
    tables: list[list[list[str]]] = field(default_factory=list)
