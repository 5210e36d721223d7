"""ID — site identity (网站标识): the home page footer's marks and the pages' meta tags."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any, ClassVar

from checks.base import AuditContext, Check, Finding
from checks.common import fetched_ok
from govaudit.models import Page

EXAMPLES_MAX = 10

# The marks of 《政府网站发展指引》: what the footer writes, and how each is recognised.
SITE_ID_CODE = re.compile(r"网站标识码\s*[:：]?\s*[0-9A-Za-z]{10}(?![0-9A-Za-z])")
ICP_NUMBER = re.compile(r"ICP\s*备\s*\d{4,12}\s*号", re.IGNORECASE)
POLICE_NUMBER = re.compile(r"公网安备\s*\d{10,16}\s*号")
# The 党政机关网站 mark (开办者标识, issued by 中央编办 through conac.cn): an image or script from conac.cn,
# its container id, or an image labelled 党政机关.
CONAC_MARK = re.compile(r"conac\.cn|_ideConac|党政机关", re.IGNORECASE)


def identity_marks(footer: dict[str, Any] | None, text: str | None) -> dict[str, bool]:
    """Which of the four marks a home page footer shows (the page text when no footer was read)."""
    footer_text = (footer or {}).get("text") if footer else text
    footer_text = footer_text or ""
    marks = " ".join(str(m) for m in (footer or {}).get("marks", []))
    return {
        "网站标识码": bool(SITE_ID_CODE.search(footer_text)),
        "ICP备案号": bool(ICP_NUMBER.search(footer_text)),
        "公安机关备案号": bool(POLICE_NUMBER.search(footer_text)),
        "党政机关标识": bool(CONAC_MARK.search(marks) or "党政机关" in footer_text),
    }


class ID01(Check):
    """The home page footer lacks 网站标识码, ICP备案号, 公安机关备案号 or the 党政机关 mark.

    Rule:
        On the home page's footer (every ``<footer>`` or foot/bottom/copyright block; the whole page
        when it has none): ``网站标识码`` followed by its 10-character code; an ICP备案号
        (``…ICP备12345678号``); a 公安机关备案号 (``…公网安备 36079902000101号``); and the 党政机关
        mark (an image or script from conac.cn, its ``_ideConac`` container, or an image or text
        labelled 党政机关). One finding listing the missing marks. Not checked when the home page
        did not answer (AV01 reports that).

    Source:
        GUIDE (网站页面底部应标注网站标识码、ICP备案编号、公安机关备案标识和党政机关网站开办者标识).

    Bad:
        The footer shows 主办单位 and 网站标识码 but no ICP备案号, no 公网安备 and no red 党政机关 logo.

    Good:
        ``网站标识码：3607990001 赣ICP备12345678号-1 赣公网安备 36079902000101号`` and the 党政机关 logo.

    Fix:
        Add the missing marks to the footer template (the 党政机关 logo's code is issued with the
        site's 开办者标识 registration).
    """

    code: ClassVar[str] = "ID01"
    name: ClassVar[str] = "网站标识缺失"
    family: ClassVar[str] = "ID"
    severity: ClassVar[str] = "minor"
    source: ClassVar[str] = "GUIDE"
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        home = ctx.home_page()
        if home is None or not fetched_ok(home.status, home.error) or home.text is None:
            return
        marks = identity_marks(home.footer, home.text)
        missing = [name for name, present in marks.items() if not present]
        if missing:
            yield self.finding(
                ctx.site.url, f"首页底部缺少{'、'.join(missing)}",
                evidence={"missing": missing, "footer": ((home.footer or {}).get("text") or "")[-300:]},
            )


# 《政府网站发展指引》 附件 meta tags, by the kind of page they belong on.
SITE_TAGS = ("SiteName", "SiteDomain", "SiteIDCode")
COLUMN_TAGS = ("ColumnName", "ColumnType")
ARTICLE_TAGS = ("ArticleTitle", "PubDate", "ContentSource")
PAGE_KIND_LABELS = {"home": "首页", "column": "栏目页", "list": "栏目页", "document": "文章页", "other": "其他页面"}


def required_tags(kind: str) -> tuple[str, ...]:
    """The meta tags a page of this kind must carry: the site's on every page, the column's on column
    pages (and their further list pages), the article's on documents."""
    if kind in ("column", "list"):
        return SITE_TAGS + COLUMN_TAGS
    if kind == "document":
        return SITE_TAGS + ARTICLE_TAGS
    return SITE_TAGS


def missing_tags(kind: str, meta: dict[str, Any]) -> list[str]:
    """Required tags absent or empty (names compared without case, as browsers and CMSs do)."""
    present = {str(name).lower() for name, value in meta.items() if str(value or "").strip()}
    return [tag for tag in required_tags(kind) if tag.lower() not in present]


class ID02(Check):
    """Pages lack the meta tags of 《政府网站发展指引》 (SiteName, ColumnName, ArticleTitle …).

    Rule:
        Every page of the site read as HTML must carry ``<meta name>`` tags SiteName, SiteDomain and
        SiteIDCode; column pages (and their further list pages) also ColumnName and ColumnType;
        article pages (documents reached from a column's list) also ArticleTitle, PubDate and
        ContentSource. A tag with empty content counts as missing; names are compared without case.
        One finding per site, on the home page, with the number of pages lacking each tag and up to
        ten examples.

    Source:
        GUIDE (附件: 网站页面元数据 — 站点、栏目、文章页的 meta 标签).

    Bad:
        An article page's head holds only ``<meta name="SiteName" content="示范县人民政府">``.

    Good:
        ``SiteName``, ``SiteDomain``, ``SiteIDCode``, ``ColumnName``, ``ArticleTitle``, ``PubDate``,
        ``ContentSource`` in every article page's head.

    Fix:
        Add the tags to the CMS's page templates (site, column and article templates) and republish.
    """

    code: ClassVar[str] = "ID02"
    name: ClassVar[str] = "页面元数据缺失"
    family: ClassVar[str] = "ID"
    severity: ClassVar[str] = "minor"
    source: ClassVar[str] = "GUIDE"
    defaults: ClassVar[dict[str, Any]] = {}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        checked = 0
        by_tag: Counter[str] = Counter()
        by_kind: Counter[str] = Counter()
        examples: list[str] = []
        # Pages read as HTML have text; JSON stores a missing dict as null, so the text column selects.
        for page in ctx.stream(Page, Page.text.is_not(None), columns=("url", "kind", "status", "error", "meta_tags")):
            if not fetched_ok(page.status, page.error) or page.meta_tags is None:
                continue
            checked += 1
            missing = missing_tags(page.kind, page.meta_tags or {})
            if not missing:
                continue
            by_tag.update(missing)
            by_kind[PAGE_KIND_LABELS.get(page.kind, page.kind)] += 1
            if len(examples) < EXAMPLES_MAX:
                examples.append(f"{page.url} 缺少 {', '.join(missing)}")
        lacking = sum(by_kind.values())
        if not lacking:
            return
        tags = "、".join(f"{tag}（{count}页）" for tag, count in by_tag.most_common())
        yield self.finding(
            ctx.site.url, f"{checked}个页面中有{lacking}个缺少规定的页面元数据：{tags}",
            evidence={"pages_checked": checked, "pages_lacking": lacking, "by_tag": dict(by_tag.most_common()),
                      "by_page_kind": dict(by_kind), "examples": examples},
        )


CHECKS = [ID01, ID02]
