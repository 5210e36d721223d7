"""The audit database: what the crawler stored and what the checks found.

One ``AuditRun`` is one invocation of ``govaudit run``; it holds one ``CrawlRun`` per site.
Every crawled row belongs to a crawl run, so a run can be audited again, compared with the
previous one, or pruned, without touching other runs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    """Naive UTC: what every DateTime column stores (SQLite keeps no time zone)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


class Site(Base):
    """A configured portal; refreshed from sites.yml at every run."""

    __tablename__ = "site"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    unit: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="department")


class AuditRun(Base):
    """One invocation of the pipeline, over one or more sites."""

    __tablename__ = "audit_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    as_of: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="running")  # running completed failed
    config_path: Mapped[str | None] = mapped_column(Text)

    crawl_runs: Mapped[list[CrawlRun]] = relationship(back_populates="audit_run")


class CrawlRun(Base):
    """One site crawled and audited within an audit run."""

    __tablename__ = "crawl_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    audit_run_id: Mapped[int] = mapped_column(ForeignKey("audit_run.id"), index=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # "Now" for every check: the run's local date, or --as-of.
    as_of: Mapped[dt.date] = mapped_column(Date)
    # running -> crawled -> completed; failed when the crawl or the audit could not finish.
    status: Mapped[str] = mapped_column(String(20), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The site's config as it was for this run (JSON), so old runs can be re-audited.
    site_config: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    audit_run: Mapped[AuditRun] = relationship(back_populates="crawl_runs")
    site: Mapped[Site] = relationship()


class Page(Base):
    """A fetched page (HTML or not), with its outcome."""

    __tablename__ = "page"
    __table_args__ = (UniqueConstraint("crawl_run_id", "url"), Index("ix_page_run_kind", "crawl_run_id", "kind"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_run.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)  # HTTP status; None when no response
    error: Mapped[str | None] = mapped_column(Text)  # timeout, DNS, connection refused, ...
    content_type: Mapped[str | None] = mapped_column(String(200))
    encoding: Mapped[str | None] = mapped_column(String(40))
    encoding_source: Mapped[str | None] = mapped_column(String(20))  # bom header meta detected
    content_hash: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    rendered_by_js: Mapped[bool] = mapped_column(Boolean, default=False)
    depth: Mapped[int] = mapped_column(Integer, default=0)
    # home | column | list (a further page of a column) | document | other
    kind: Mapped[str] = mapped_column(String(20), default="other")
    column_url: Mapped[str | None] = mapped_column(Text)  # the column it belongs to, if any
    # What a reader sees (HTML pages that were read): the visible text (capped), the <meta name> tags,
    # and for the home page its footer region ({"text", "marks"}: 网站标识码, 备案号, 党政机关 mark).
    text: Mapped[str | None] = mapped_column(Text)
    meta_tags: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    footer: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The earlier run this row was copied from, unchanged (a page carried by an incremental crawl:
    # crawler.revisit); None when it was made from tonight's answer or reading. The audit need not read
    # such a page again for checks of the page alone (checks.base.AuditContext.fresh).
    copied_from: Mapped[int | None] = mapped_column(Integer)


class Link(Base):
    """A link found on a page. ``status``/``error``/``final_url`` describe the target."""

    __tablename__ = "link"
    __table_args__ = (
        Index("ix_link_run_to", "crawl_run_id", "to_url"),
        Index("ix_link_run_from", "crawl_run_id", "from_url"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_run.id", ondelete="CASCADE"))
    from_url: Mapped[str] = mapped_column(Text)
    to_url: Mapped[str] = mapped_column(Text)
    anchor: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # nav content service external
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text)
    # Why CSS hides the link from a reader ("display:none on div#links"); None when it is visible.
    hidden: Mapped[str | None] = mapped_column(Text)


class Probe(Base):
    """A service or external link target, fetched once per run but not crawled."""

    __tablename__ = "probe"
    __table_args__ = (UniqueConstraint("crawl_run_id", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_run.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))  # service external
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)  # the first visible text, to recognise error pages
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Column(Base):
    """A column (栏目) of the site as crawled: configured or discovered from the navigation."""

    __tablename__ = "site_column"
    __table_args__ = (UniqueConstraint("crawl_run_id", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_run.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    # news notice policy personnel plan report interaction service other
    category: Mapped[str] = mapped_column(String(20))
    category_guessed: Mapped[bool] = mapped_column(Boolean, default=False)
    unit: Mapped[str | None] = mapped_column(String(200))  # 责任单位
    source: Mapped[str] = mapped_column(String(20), default="config")  # config | nav
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text)
    entries: Mapped[int] = mapped_column(Integer, default=0)
    list_pages: Mapped[int] = mapped_column(Integer, default=0)
    # The "暂无信息"-like text the column page shows instead of entries, if any.
    placeholder: Mapped[str | None] = mapped_column(Text)
    # A pure navigation node: its page only leads to sub-columns.
    nav_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # One page of text rather than a list (机构职能, 政府信息公开指南): it carries information.
    single_page: Mapped[bool] = mapped_column(Boolean, default=False)
    reader: Mapped[str | None] = mapped_column(String(40))  # which list reader served it
    truncated: Mapped[bool] = mapped_column(Boolean, default=False)  # pagination bound reached
    # Read again in a browser because its HTML listed nothing but carried scripts (render: auto/js).
    rendered_by_js: Mapped[bool] = mapped_column(Boolean, default=False)


class Listing(Base):
    """One entry of a column's list (标题, 链接, 日期)."""

    __tablename__ = "listing"
    __table_args__ = (Index("ix_listing_run_column", "crawl_run_id", "column_url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_run.id", ondelete="CASCADE"))
    column_url: Mapped[str] = mapped_column(Text)
    page_url: Mapped[str] = mapped_column(Text)  # the list page it was read from
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    date: Mapped[dt.date | None] = mapped_column(Date)
    date_text: Mapped[str | None] = mapped_column(String(80))


class Document(Base):
    """A document page's disclosure metadata (公开要素)."""

    __tablename__ = "document"
    __table_args__ = (UniqueConstraint("crawl_run_id", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_run.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    column_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    index_number: Mapped[str | None] = mapped_column(String(120))  # 索引号
    publisher: Mapped[str | None] = mapped_column(Text)  # 发布机构 / 发文机关
    written_date: Mapped[dt.date | None] = mapped_column(Date)  # 成文日期
    published_date: Mapped[dt.date | None] = mapped_column(Date)  # 发布日期
    doc_number: Mapped[str | None] = mapped_column(String(200))  # 文号
    validity: Mapped[str | None] = mapped_column(String(60))  # 有效性
    topic: Mapped[str | None] = mapped_column(String(200))  # 主题分类
    has_metadata: Mapped[bool] = mapped_column(Boolean, default=False)
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # every label/value pair as found
    # The earlier run this row was copied from, in the same column as then (Page.copied_from).
    copied_from: Mapped[int | None] = mapped_column(Integer)


class Screenshot(Base):
    """A page as a browser showed it, kept as evidence of a finding (PNG bytes, so it travels with
    the database to whoever writes the report)."""

    __tablename__ = "screenshot"
    __table_args__ = (UniqueConstraint("crawl_run_id", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_run.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    png: Mapped[bytes | None] = mapped_column(LargeBinary)
    error: Mapped[str | None] = mapped_column(Text)  # why no picture could be taken
    taken_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class AvailabilityProbe(Base):
    """One ``govaudit probe`` look at a site's home page or a key column (AV01's probe history).

    Inspectors measure availability many times a day for a week; a probe is one timed GET, no crawl.
    """

    __tablename__ = "availability_probe"
    __table_args__ = (Index("ix_availability_site_time", "site_id", "checked_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(10))  # home | column
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    elapsed_ms: Mapped[int | None] = mapped_column(Integer)


class FindingRecord(Base):
    """A finding of one crawl run. ``status`` is its place in the lifecycle across runs."""

    __tablename__ = "finding"
    __table_args__ = (
        Index("ix_finding_run", "crawl_run_id"),
        Index("ix_finding_site_fp", "site_id", "fingerprint"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_run.id", ondelete="CASCADE"))
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    check: Mapped[str] = mapped_column(String(8))
    severity: Mapped[str] = mapped_column(String(8))
    unit: Mapped[str | None] = mapped_column(String(200))
    column: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(Text)
    message: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    fingerprint: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(10))  # new open reopened resolved
    first_seen: Mapped[dt.datetime] = mapped_column(DateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime)
    times_seen: Mapped[int] = mapped_column(Integer, default=1)
    deadline: Mapped[dt.date | None] = mapped_column(Date)  # 整改期限
    # A waiver from sites.yml in force on the run's date: the finding is kept but not sent to the unit.
    waived_until: Mapped[dt.date | None] = mapped_column(Date)
    waiver_reason: Mapped[str | None] = mapped_column(Text)


class NewMediaAccount(Base):
    """A 政务新媒体 account's public page as fetched in a crawl run (one GET, not crawled), and what it
    showed: the newest post date read from it, or a closed/migrated notice, or why it could not be read.

    ``status``: ``ok`` (a post date was read), ``empty`` (the page says the account has no posts),
    ``undated`` (the page opened but no post date could be recognised), ``closed`` (a 已注销 / 已迁移 /
    已封禁 notice), ``failed`` (an HTTP error, no response, or not an HTML page; ``error`` says which).
    """

    __tablename__ = "new_media_account"
    __table_args__ = (UniqueConstraint("crawl_run_id", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_run.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(40))
    unit: Mapped[str | None] = mapped_column(String(200))  # 责任单位 as configured
    url: Mapped[str] = mapped_column(Text)  # as configured
    final_url: Mapped[str | None] = mapped_column(Text)
    http_status: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))  # ok empty undated closed failed
    error: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    latest_post: Mapped[dt.date | None] = mapped_column(Date)
    latest_text: Mapped[str | None] = mapped_column(String(200))  # the text the date was read from
    posts_seen: Mapped[int] = mapped_column(Integer, default=0)
    closed_notice: Mapped[str | None] = mapped_column(Text)  # the 已注销/已迁移 sentence, or 暂无内容
    fetched_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Message(Base):
    """A message of a board (领导信箱, 在线咨询, 留言选登): when it was asked, whether and when it was
    answered, as the board's list and the message's own page show it."""

    __tablename__ = "message"
    __table_args__ = (UniqueConstraint("crawl_run_id", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_run.id", ondelete="CASCADE"), index=True)
    column_url: Mapped[str] = mapped_column(Text)  # the board (an interaction column)
    url: Mapped[str] = mapped_column(Text)  # the message's detail page
    title: Mapped[str | None] = mapped_column(Text)
    asked: Mapped[dt.date | None] = mapped_column(Date)  # 留言时间
    asked_text: Mapped[str | None] = mapped_column(String(80))
    replied: Mapped[dt.date | None] = mapped_column(Date)  # 答复时间; None: none written
    replied_text: Mapped[str | None] = mapped_column(String(80))
    reply_unit: Mapped[str | None] = mapped_column(String(200))  # 答复单位
    status: Mapped[str | None] = mapped_column(String(80))  # 状态 / 办理状态 as written
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    page_read: Mapped[bool] = mapped_column(Boolean, default=False)  # its detail page was read


class AnnualReport(Base):
    """A 政府信息公开工作年度报告 (kind ``information``) or 政府网站工作年度报表 (kind ``website``) found on
    the site: an HTML page, or an attachment (PDF, DOC, DOCX, XLS, XLSX) with the text and tables read
    from it. ``readable`` is False when nothing could be read (a scan without a text layer, a format no
    library reads, a file too large); ``error`` says why."""

    __tablename__ = "annual_report"
    __table_args__ = (UniqueConstraint("crawl_run_id", "url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    crawl_run_id: Mapped[int] = mapped_column(ForeignKey("crawl_run.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)  # the page, or the attachment
    page_url: Mapped[str | None] = mapped_column(Text)  # the page that links it (itself for a page)
    title: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer)  # the year Y the report is about
    kind: Mapped[str] = mapped_column(String(20), default="information")  # information | website
    format: Mapped[str] = mapped_column(String(10), default="html")  # html pdf doc docx xls xlsx
    published: Mapped[dt.date | None] = mapped_column(Date)  # the date the page shows
    first_seen: Mapped[dt.date | None] = mapped_column(Date)  # the first run that saw it (its as_of)
    readable: Mapped[bool] = mapped_column(Boolean, default=True)
    error: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    tables: Mapped[list[Any] | None] = mapped_column(JSON)  # list of Grid (list of rows of cell texts)
