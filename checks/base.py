"""What a check is, and what it is given.

A check reads one crawl run from the audit database (never the network) and yields ``Finding``s.
Its class docstring is its documentation: one line, then the rule and its source, then a bad and a
good example (sections "Rule", "Source", "Bad", "Good").
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, and_, or_, select, true
from sqlalchemy.orm import Session

from govaudit.config import SiteConfig, shaping_config
from govaudit.models import Column, CrawlRun, Document, Link, Listing, Message, Page, Probe

CODE_PATTERN = re.compile(r"^[A-Z]{2}\d{2}$")
SEVERITIES = ("veto", "major", "minor", "info")
STREAM_BATCH = 1000  # rows fetched at a time by the streaming queries


@dataclass
class Finding:
    """One defect. ``key`` tells apart two findings of one check on the same URL (e.g. the broken
    target of a link); it goes into the fingerprint, so keep it stable across runs."""

    check: str
    severity: str
    url: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    column: str | None = None
    unit: str | None = None
    key: str = ""


@functools.cache
def _code_digest() -> str:
    """A hash of the checks' code and what they import of govaudit's: an audit by other code is another audit."""
    digest = hashlib.sha1()
    for folder in (Path(__file__).parent, Path(__file__).parent.parent / "govaudit"):
        for path in sorted(folder.glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def audit_fingerprint(site: SiteConfig) -> str:
    """What an audit's findings depend on besides the run's rows and date: the checks' code and the site's
    config (thresholds, hosts, columns; not what only paces the crawl, ``govaudit.config.shaping_config``).
    Stored with a run audited in full without a check failing (``crawl_run.stats["audit_fingerprint"]``), so
    that the next run may rely on it (``AuditContext.fresh``)."""
    shaping = shaping_config(site.model_dump(mode="json"))
    config = json.dumps(shaping, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha1(f"{_code_digest()}\0{config}".encode()).hexdigest()


class AuditContext:
    """One crawl run and its site's config, with the queries checks share."""

    def __init__(self, session: Session, run: CrawlRun, site: SiteConfig):
        self.session = session
        self.run = run
        self.site = site
        self.as_of: dt.date = run.as_of
        self._unchanged: tuple[int | None, frozenset[str]] | None = None

    # --- what an incremental crawl copied ------------------------------------------------------
    def unchanged_from(self) -> tuple[int | None, frozenset[str]]:
        """The earlier run whose audit holds for the rows tonight's crawl copied from it, and the columns
        whose name or category is not what it was then; ``(None, ...)`` when no audit holds.

        An incremental crawl copies the rows of a page it carries (crawler.revisit) only when the page had
        no finding in that run's audit, and only from a run crawled with the same site config. When that
        audit ran every check without a failure, by the same code and with the same config as tonight's
        (``audit_fingerprint``), a check whose findings on a page depend on that page's rows alone finds
        nothing on a copied page tonight either, and need not read it (``fresh``)."""
        if self._unchanged is None:
            since = self.session.scalar(select(Page.copied_from).where(
                Page.crawl_run_id == self.run.id, Page.copied_from.is_not(None)).limit(1))
            then = self.session.get(CrawlRun, since) if since is not None else None
            if then is None or then.status != "completed" or \
                    (then.stats or {}).get("audit_fingerprint") != audit_fingerprint(self.site):
                self._unchanged = (None, frozenset())
            else:
                def described(run_id: int) -> dict[str, tuple[str, str | None]]:
                    return {url: (name, category) for url, name, category in self.session.execute(
                        select(Column.url, Column.name, Column.category).where(Column.crawl_run_id == run_id))}
                before = described(since)
                changed = frozenset(url for url, seen in described(self.run.id).items() if before.get(url) != seen)
                self._unchanged = (since, changed)
        return self._unchanged

    def fresh(self, model) -> ColumnElement[bool]:
        """A condition on ``Page`` or ``Document`` rows: those a check of each page alone (its text, its
        document's metadata and column) must read tonight. That is every row, except, when an earlier
        audit holds (``unchanged_from``), the rows copied unchanged from its run; a document whose column
        was renamed or re-categorised since is read again."""
        since, changed = self.unchanged_from()
        if since is None:
            return true()
        fresh = or_(model.copied_from.is_(None), model.copied_from != since)
        if model is Document and changed:
            fresh = or_(fresh, Document.column_url.in_(sorted(changed)))
        return fresh

    # --- thresholds -------------------------------------------------------------------------
    def threshold(self, check: type[Check], key: str, column: Column | None = None) -> Any:
        """Column override, else site override, else the check's default."""
        if column is not None:
            for configured in self.site.columns:
                if configured.url == column.url and key in configured.thresholds.get(check.code, {}):
                    return configured.thresholds[check.code][key]
        site_values = self.site.thresholds.get(check.code, {})
        if key in site_values:
            return site_values[key]
        return check.defaults[key]

    # --- the run's rows ---------------------------------------------------------------------
    def _rows(self, model, *where) -> list:
        stmt = select(model).where(model.crawl_run_id == self.run.id, *where).order_by(model.id)
        return list(self.session.scalars(stmt))

    def stream(self, model, *where, columns: Sequence[str] | None = None) -> Iterator:
        """The run's rows of ``model`` one at a time, fetched in batches: what a check that reads every
        page, document or listing once should use on a large site (``pages()`` etc. return lists).

        Each row is a read-only tuple with the model's column names as attributes (``row.url``), not an
        ORM object: building and tracking 100,000 ORM objects took four times as long as reading their
        columns (bench/run, 100k pages). ``columns``: only these (a page's text is large)."""
        table = model.__table__
        selected = [table.c[name] for name in columns] if columns is not None else list(table.c)
        stmt = select(*selected).where(model.crawl_run_id == self.run.id, *where).order_by(model.id)
        yield from self.session.execute(stmt).yield_per(STREAM_BATCH)

    def iter_pages(self, *where) -> Iterator[Page]:
        return self.stream(Page, *where)

    def iter_documents(self, *where, columns: Sequence[str] | None = None) -> Iterator[Document]:
        return self.stream(Document, *where, columns=columns)

    def iter_listings(self, column: Column | None = None, columns: Sequence[str] | None = None) -> Iterator[Listing]:
        return self.stream(Listing, *([Listing.column_url == column.url] if column is not None else []),
                           columns=columns)

    def home_page(self) -> Page | None:
        """The page fetched for the configured home URL."""
        pages = self._rows(Page, Page.kind == "home")
        return pages[0] if pages else None

    def pages(self, *where) -> list[Page]:
        return self._rows(Page, *where)

    def page(self, url: str) -> Page | None:
        return self.session.scalars(
            select(Page).where(Page.crawl_run_id == self.run.id, Page.url == url)
        ).first()

    def columns(self, *where) -> list[Column]:
        return self._rows(Column, *where)

    def column_by_url(self, url: str | None) -> Column | None:
        if url is None:
            return None
        return self.session.scalars(
            select(Column).where(Column.crawl_run_id == self.run.id, Column.url == url)
        ).first()

    def listings(self, column: Column | None = None) -> list[Listing]:
        where = [Listing.column_url == column.url] if column is not None else []
        return self._rows(Listing, *where)

    def documents(self, *where) -> list[Document]:
        return self._rows(Document, *where)

    def messages(self, *where) -> list[Message]:
        """The messages of the site's boards (interaction columns)."""
        return self._rows(Message, *where)

    def links(self, *where) -> Iterator[Link]:
        """The run's links, as read-only rows (``stream``)."""
        return self.stream(Link, *where)

    def probe(self, url: str) -> Probe | None:
        return self.session.scalars(
            select(Probe).where(Probe.crawl_run_id == self.run.id, Probe.url == url)
        ).first()

    def unit_for(self, column: Column | None) -> str | None:
        """责任单位: the column's, else the site's."""
        return (column.unit if column is not None and column.unit else None) or self.site.unit


class Check:
    """Base class; subclasses set the class attributes and implement ``run``."""

    code: ClassVar[str]
    name: ClassVar[str]  # one line, Chinese, as inspectors say it
    family: ClassVar[str]
    severity: ClassVar[str]  # the default; a finding may carry another (e.g. escalated to veto)
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterable[Finding]:
        raise NotImplementedError

    def finding(self, url: str, message: str, **kw: Any) -> Finding:
        kw.setdefault("severity", self.severity)
        return Finding(check=self.code, url=url, message=message, **kw)


def is_broken(status: int | None, error: str | None) -> bool:
    """A link target that failed: an HTTP error status, or no response at all."""
    if error:
        return True
    return status is not None and status >= 400


def broken_link_sql():
    """``is_broken`` of a link's target as a SQL condition, so a check reads only the broken links."""
    return or_(and_(Link.error.is_not(None), Link.error != ""), Link.status >= 400)


def broken_page_sql():
    """``is_broken`` of a page (the outcome its links get) as a SQL condition."""
    return or_(and_(Page.error.is_not(None), Page.error != ""), Page.status >= 400)
