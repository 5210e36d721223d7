"""MD — document metadata (公开要素): 索引号, 有效性, 发布机构 and the dates of disclosed documents."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterator
from typing import Any, ClassVar

from sqlalchemy import select

from checks.base import STREAM_BATCH, AuditContext, Check, Finding
from govaudit.index_number import inspect_index_number
from govaudit.models import Column, Document

# Column categories whose documents belong to the 政府信息公开目录 and must carry its metadata.
CATALOGUE_CATEGORIES = ("policy", "notice", "report")

# 规〔2024〕3号 and its bracket variants; NFKC has already folded （）［］ to ()[].
NORMATIVE_DOC_NUMBER = re.compile(r"规\s*[〔\[(【]\s*\d{4}\s*[〕\])】]\s*\d+\s*号")
VALIDITY_MARKS = frozenset({
    "有效", "现行有效", "全文有效", "全部有效", "继续有效", "有效期内",
    "失效", "已失效", "全文失效", "宣布失效", "废止", "已废止", "全文废止", "宣布废止",
    "已修改", "已修订", "已修正", "部分失效", "部分有效", "部分废止", "部分修改",
    "暂停执行", "暂停施行", "尚未生效", "未生效",
})
# "有效期至2027年12月31日" / "有效期5年" also state the validity.
VALIDITY_TERM = re.compile(r"^有效期(至|为|:)?\s*\S+")


def _columns(ctx: AuditContext) -> dict[str, Column]:
    return {column.url: column for column in ctx.columns()}


def _label(doc: Document) -> str:
    return f"《{doc.title.strip()}》" if doc.title and doc.title.strip() else doc.url


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value else None


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _where(ctx: AuditContext, column: Column | None) -> dict[str, Any]:
    """The finding's column and 责任单位."""
    return {"column": column.name if column else None, "unit": ctx.unit_for(column)}


class MD01(Check):
    """A disclosed document has no 索引号.

    Rule:
        A document page reached from a column of category ``policy``, ``notice`` or ``report``
        whose metadata carries no index number.

    Source:
        PLAN (政务公开工作要点: 规范公开要素) and 信息公开目录 practice: every catalogued document has
        a 索引号.

    Bad:
        A document in “政策文件” shows 发布机构 and 成文日期 but no 索引号.

    Good:
        The document's metadata shows ``索引号：11370100004189314T/2025-00059``.

    Fix:
        Assign the document its index number in the content management system and republish it.
    """

    code: ClassVar[str] = "MD01"
    name: ClassVar[str] = "缺少索引号"
    family: ClassVar[str] = "MD"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "PLAN, practice"
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        columns = _columns(ctx)
        # Judged by the document and its column alone; only the columns read here (``raw``, the page's
        # metadata block as JSON, was most of the time: every row's JSON decoded, for nothing).
        wanted = ("url", "column_url", "title", "index_number", "has_metadata")
        for doc in ctx.iter_documents(ctx.fresh(Document), columns=wanted):
            column = columns.get(doc.column_url or "")
            if column is None or column.category not in CATALOGUE_CATEGORIES or not _blank(doc.index_number):
                continue
            yield self.finding(
                doc.url, f"文件{_label(doc)}未标注索引号，“{column.name}”栏目的文件应标注索引号",
                evidence={"category": column.category, "has_metadata": doc.has_metadata},
                **_where(ctx, column),
            )


class MD02(Check):
    """A 索引号 is malformed, disagrees with the 成文日期, or is used twice.

    Rule:
        For every document with an index number: it must have the form
        ``<unit code>/<year>-<serial>``, the unit code an 18-character 统一社会信用代码 (GB 32100-2015)
        or a 9-character 组织机构代码 (GB 11714) with a valid check character (key ``format``); its
        year must be the 成文日期's year (key ``year``); and no earlier document (by 发布日期, then
        URL) may carry the same number (key ``duplicate``). Full-width characters and spaces are
        folded before comparing.

    Source:
        Practice of the 政府信息公开目录 (索引号 = 机构代码/年份-流水号, unique per document).

    Bad:
        ``11370100004189314X/2025-00059`` (wrong check character); ``…/2024-00012`` on a document
        written in 2025; the same number on two documents.

    Good:
        ``11370100004189314T/2025-00059`` on one document written in 2025.

    Fix:
        Let the content management system generate index numbers from the unit's code; correct the
        year and renumber duplicates.
    """

    code: ClassVar[str] = "MD02"
    name: ClassVar[str] = "索引号不规范"
    family: ClassVar[str] = "MD"
    severity: ClassVar[str] = "minor"
    source: ClassVar[str] = "practice"
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        columns = _columns(ctx)
        # Earliest first, so the later copy is the one reported as the duplicate; sorted and read one at a
        # time by the database.
        ordered = (select(Document.url, Document.column_url, Document.title, Document.index_number,
                          Document.written_date, Document.published_date)
                   .where(Document.crawl_run_id == ctx.run.id, Document.index_number.is_not(None))
                   .order_by(Document.published_date.is_(None), Document.published_date, Document.url))
        numbered = (doc for doc in ctx.session.execute(ordered).yield_per(STREAM_BATCH) if not _blank(doc.index_number))
        first_with: dict[str, tuple[str, dt.date | None]] = {}  # the first document's URL and date
        for doc in numbered:
            text = (doc.index_number or "").strip()
            normal, parsed, problems = inspect_index_number(text)
            first_url, first_date = first_with.setdefault(normal, (doc.url, doc.published_date))
            wrong_year = parsed is not None and doc.written_date is not None and parsed.year != doc.written_date.year
            if not problems and not wrong_year and first_url == doc.url:
                continue  # most documents: nothing to say
            where = _where(ctx, columns.get(doc.column_url or ""))
            if problems:
                yield self.finding(doc.url, f"文件{_label(doc)}的索引号不规范：{'；'.join(problems)}", key="format",
                                   evidence={"index_number": text, "problems": problems}, **where)
            if wrong_year:
                assert parsed is not None and doc.written_date is not None
                yield self.finding(
                    doc.url,
                    f"文件{_label(doc)}的索引号“{text}”年份 {parsed.year} 与成文日期 "
                    f"{doc.written_date.isoformat()} 不一致",
                    key="year",
                    evidence={"index_number": text, "year": parsed.year,
                              "written_date": _iso(doc.written_date)},
                    **where,
                )
            if first_url != doc.url:
                yield self.finding(
                    doc.url, f"文件{_label(doc)}的索引号“{text}”与 {first_url} 重复，索引号应唯一",
                    key="duplicate",
                    evidence={"index_number": text, "first_url": first_url,
                              "first_published_date": _iso(first_date)},
                    **where,
                )


def is_normative(doc: Document, column: Column | None) -> bool:
    """A 行政规范性文件: by its column's name, its 文号 (规〔2024〕3号) or its title."""
    if column is not None and "规范性文件" in column.name:
        return True
    if doc.doc_number and NORMATIVE_DOC_NUMBER.search(unicodedata.normalize("NFKC", doc.doc_number)):
        return True
    return bool(doc.title and "规范性文件" in doc.title)


def known_validity(value: str | None) -> bool:
    if _blank(value):
        return False
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", value or ""))
    return text in VALIDITY_MARKS or bool(VALIDITY_TERM.match(text))


class MD03(Check):
    """A 行政规范性文件 does not state whether it is in force (有效性).

    Rule:
        A document is a 行政规范性文件 when its column's name contains 规范性文件, its 文号 has the
        form 规〔YYYY〕N号 (〔〕, [], （） or 【】), or its title contains 规范性文件. Its 有效性 must be
        present and one of the known marks (有效, 失效, 废止, 已修改, 已修订, 部分失效, 暂停执行,
        尚未生效, 现行有效, 全文有效, …, or a stated term 有效期至…).

    Source:
        PLAN (e.g. 上海: 行政规范性文件在显著位置标识有效性).

    Bad:
        ``沪府规〔2023〕5号`` shows no 有效性, or 有效性 “见正文”.

    Good:
        The metadata block shows ``有效性：有效``.

    Fix:
        Add the 有效性 field to the document's metadata and keep it current when the document is
        amended or repealed.
    """

    code: ClassVar[str] = "MD03"
    name: ClassVar[str] = "规范性文件未标注有效性"
    family: ClassVar[str] = "MD"
    severity: ClassVar[str] = "major"
    source: ClassVar[str] = "PLAN"
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        columns = _columns(ctx)
        wanted = ("url", "column_url", "title", "doc_number", "validity")
        for doc in ctx.iter_documents(ctx.fresh(Document), columns=wanted):  # the document and its column alone
            column = columns.get(doc.column_url or "")
            if not is_normative(doc, column) or known_validity(doc.validity):
                continue
            if _blank(doc.validity):
                problem = "未标注有效性"
            else:
                problem = f"有效性“{(doc.validity or '').strip()}”不是规范标识"
            yield self.finding(
                doc.url,
                f"行政规范性文件{_label(doc)}{problem}，应标注有效、失效、废止等",
                evidence={"validity": doc.validity, "doc_number": doc.doc_number}, **_where(ctx, column),
            )


class MD04(Check):
    """A disclosed document lacks 发布机构, 成文日期 or 发布日期.

    Rule:
        A document page reached from a ``policy``, ``notice`` or ``report`` column without one or more
        of 发布机构, 成文日期 and 发布日期. One finding per document; ``evidence.missing`` lists them.

    Source:
        GUIDE (文章页应标注发布机构、成文日期、发布日期等要素).

    Bad:
        A notice shows its title and text with no publisher and no dates.

    Good:
        The metadata block shows 发布机构, 成文日期 and 发布日期.

    Fix:
        Fill in the missing fields in the content management system's template and republish.
    """

    code: ClassVar[str] = "MD04"
    name: ClassVar[str] = "公开要素缺失"
    family: ClassVar[str] = "MD"
    severity: ClassVar[str] = "minor"
    source: ClassVar[str] = "GUIDE"
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        columns = _columns(ctx)
        wanted = ("url", "column_url", "title", "publisher", "written_date", "published_date", "has_metadata")
        for doc in ctx.iter_documents(ctx.fresh(Document), columns=wanted):  # the document and its column alone
            column = columns.get(doc.column_url or "")
            if column is None or column.category not in CATALOGUE_CATEGORIES:
                continue
            missing = [label for label, absent in (
                ("发布机构", _blank(doc.publisher)),
                ("成文日期", doc.written_date is None),
                ("发布日期", doc.published_date is None),
            ) if absent]
            if missing:
                yield self.finding(
                    doc.url, f"文件{_label(doc)}缺少{'、'.join(missing)}",
                    evidence={"missing": missing, "has_metadata": doc.has_metadata}, **_where(ctx, column),
                )


class MD05(Check):
    """A document's dates contradict each other, the calendar or the listing.

    Rule:
        Per document, one finding per problem: 成文日期 after 发布日期 (key ``order``); 成文日期 or
        发布日期 after the run's date (key ``future``); 发布日期 different from the date its column
        listing shows for the same URL (key ``listing``).

    Source:
        Practice: inspectors read inconsistent dates as careless or back-dated publication.

    Bad:
        成文日期 2025-03-10 and 发布日期 2025-03-01; or the list shows 2025-03-02 while the page says
        2025-03-01.

    Good:
        成文日期 2025-02-27, 发布日期 2025-03-01, and the list shows 2025-03-01.

    Fix:
        Correct the dates in the content management system so page and list agree.
    """

    code: ClassVar[str] = "MD05"
    name: ClassVar[str] = "日期不一致"
    family: ClassVar[str] = "MD"
    severity: ClassVar[str] = "minor"
    source: ClassVar[str] = "practice"
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        columns = _columns(ctx)
        listed: dict[str, set[dt.date]] = {}
        for entry in ctx.iter_listings(columns=("url", "date")):
            if entry.url and entry.date is not None:
                listed.setdefault(entry.url, set()).add(entry.date)
        for doc in ctx.iter_documents(columns=("url", "column_url", "title", "written_date", "published_date")):
            where = _where(ctx, columns.get(doc.column_url or ""))
            written, published = doc.written_date, doc.published_date
            dates = {"written_date": _iso(written), "published_date": _iso(published)}
            if written and published and written > published:
                yield self.finding(
                    doc.url,
                    f"文件{_label(doc)}成文日期 {written.isoformat()} 晚于发布日期 {published.isoformat()}",
                    key="order", evidence=dates, **where,
                )
            future = [f"{label} {value.isoformat()}"
                      for label, value in (("成文日期", written), ("发布日期", published))
                      if value is not None and value > ctx.as_of]
            if future:
                yield self.finding(
                    doc.url, f"文件{_label(doc)}的{'、'.join(future)}晚于检查日期 {ctx.as_of.isoformat()}",
                    key="future", evidence={**dates, "as_of": ctx.as_of.isoformat()}, **where,
                )
            shown = listed.get(doc.url, set())
            if published and shown and published not in shown:
                listing_dates = sorted(d.isoformat() for d in shown)
                yield self.finding(
                    doc.url,
                    f"文件{_label(doc)}页面发布日期 {published.isoformat()} 与栏目列表日期 "
                    f"{'、'.join(listing_dates)} 不一致",
                    key="listing", evidence={**dates, "listing_dates": listing_dates}, **where,
                )


CHECKS = [MD01, MD02, MD03, MD04, MD05]
