"""The HTML findings report, read the way an auditor reads it."""

from __future__ import annotations

import datetime as dt
import html
import re
import sys

import pytest

from govaudit.findings import select_runs
from govaudit.models import AuditRun
from reports.common import check_info
from reports.html import render_report
from tests.report_data import (
    AS_OF,
    COUNTY,
    EDU,
    FIRST_AS_OF,
    HOME,
    add_finding,
    add_run,
    build_nights,
    build_two_runs,
    install_fake_registry,
    night_counts,
    open_session,
)


@pytest.fixture(autouse=True)
def registry(monkeypatch):
    install_fake_registry(monkeypatch)


@pytest.fixture
def session(tmp_path):
    session = open_session(tmp_path)
    yield session
    session.close()


def text_of(fragment: str) -> str:
    """What a reader sees: tags removed, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment)))


def site_section(page: str, site_id: str) -> str:
    match = re.search(rf'<section class="site" id="site-\d+-{site_id}">(.*?)</section>', page, re.S)
    assert match, f"no section for {site_id}"
    return match.group(1)


def render(session, tmp_path, runs=None) -> str:
    path = render_report(session, select_runs(session) if runs is None else runs, tmp_path / "out")
    assert path == tmp_path / "out" / "index.html"
    return path.read_text(encoding="utf-8")


def test_report_header_shows_audit_date_sites_and_totals(session, tmp_path):
    build_two_runs(session)
    page = render(session, tmp_path)
    header = text_of(page.split("<nav", 1)[0])
    assert "检查日期：2024-06-30" in header
    assert "2 检查网站数" in header
    assert "1 合格" in header and "1 单项否决不合格" in header
    # veto 1, major 1 (UP02), minor 2 (MD04 open, AV03 new); the resolved AV02 is not pending.
    assert "待整改问题数 1 1 2 0 4" in header
    assert 'http-equiv="Content-Security-Policy"' in page
    assert "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:" in page


def test_scorecard_fails_site_with_unresolved_veto_finding(session, tmp_path):
    build_two_runs(session)
    county = text_of(site_section(render(session, tmp_path), COUNTY))
    assert "UP04 空白栏目 不合格 单项否决问题 1 项" in county
    assert "UP01 首页不更新 通过" in county
    assert "SC02 严重表述错误 未检查" in county  # not in the registry: not claimed as passed
    assert "结论： 单项否决不合格" in county


def test_scorecard_passes_site_whose_findings_are_below_veto(session, tmp_path):
    build_two_runs(session)
    edu = text_of(site_section(render(session, tmp_path), EDU))
    assert "UP02 动态要闻类栏目不更新 通过 未达否决的问题 1 项" in edu
    assert "结论： 合格" in edu
    assert "需人工核查" in edu  # the unchecked veto items are named


def test_failed_crawl_is_not_judged(session, tmp_path):
    runs = build_two_runs(session)
    failed = add_run(session, runs["county"].audit_run, EDU, status="failed")
    failed.error = "DNS lookup failed"
    session.commit()
    edu = text_of(site_section(render(session, tmp_path, [failed]), EDU))
    assert "检查未完成" in edu and "DNS lookup failed" in edu
    assert "结论： 合格" not in edu


def test_a_site_whose_home_page_failed_is_not_judged_a_pass(session, tmp_path):
    runs = build_two_runs(session)
    add_finding(session, runs["edu"], "AV01", "major", "new", "首页无法访问（HTTP 503）",
                url="https://jyj.xingguo.gov.cn/")
    session.commit()
    edu = text_of(site_section(render(session, tmp_path, [runs["edu"]]), EDU))
    assert "检查未完成" in edu
    assert "结论： 合格" not in edu


def test_report_lists_findings_by_check_and_by_column(session, tmp_path):
    build_two_runs(session)
    county = site_section(render(session, tmp_path), COUNTY)
    by_check = text_of(county.split("问题清单（按检查项）", 1)[1].split("问题清单（按栏目）", 1)[0])
    by_column = text_of(county.split("问题清单（按栏目）", 1)[1])
    assert "空白栏目（UP04） 待整改 1 项" in by_check
    assert "依据：《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）；政务公开工作要点" in by_check
    assert "单项否决 新发现 通知公告 栏目“通知公告”没有任何信息" in by_check
    # Open since 2024-06-01, its deadline 2024-06-15 has passed by the run of 2024-06-30: 逾期.
    assert "一般 持续存在 逾期 政策文件 文件缺少成文日期" in by_check
    assert "首页链接不可用（AV02） 待整改 0 项，已整改 1 项" in by_check
    assert "页面地址： https://www.xingguo.gov.cn/tzgg/" in by_check
    assert "县政府办公室" in by_check and "未指定责任单位" in by_check
    assert "2024-06-01 2024-06-15" in by_check  # first seen in the first run; its deadline
    assert "全站（不属于某一栏目）" in by_column and "通知公告 待整改 1 项" in by_column
    assert "占位文字 placeholder 暂无信息" in by_column
    assert '<a class="url" href="https://www.xingguo.gov.cn/tzgg/" rel="noopener noreferrer">' in county


def test_report_counts_findings_by_severity_and_check(session, tmp_path):
    build_two_runs(session)
    county = text_of(site_section(render(session, tmp_path), COUNTY))
    assert "严重程度 单项否决 重要 一般 提示 合计 待整改 1 0 2 0 3" in county
    assert "AV02 首页链接不可用（AV02） 0 0 1" in county
    assert "MD04 缺少必要公开要素（MD04） 0 1 0" in county
    assert "抓取页面数 120 出错页面数 3" in county and "耗时 1 分 15 秒" in county
    assert "抓取状态 已完成" in county


def test_report_shows_new_and_resolved_since_last_run(session, tmp_path):
    build_two_runs(session)
    county = site_section(render(session, tmp_path), COUNTY)
    changes = text_of(county.split("自上次检查以来的变化", 1)[1].split("问题清单（按检查项）", 1)[0])
    assert "与上次检查（2024-06-01）相比： 新发现 2 项，已整改 1 项，持续存在 1 项" in changes
    new, resolved = changes.split("已整改（1）", 1)
    assert "新发现（2）" in new and "UP04" in new and "AV03" in new and "AV02" not in new
    assert "AV02" in resolved and "首页链接不可用：https://www.xingguo.gov.cn/old.html" in resolved
    edu = text_of(site_section(render(session, tmp_path), EDU))
    assert "与上次检查（2024-06-01）相比： 新发现 1 项，已整改 0 项" in edu


def test_long_evidence_lists_are_cut_to_ten_items(session, tmp_path):
    build_two_runs(session)
    county = site_section(render(session, tmp_path), COUNTY)
    assert "https://www.xingguo.gov.cn/p9.html" in county
    assert "https://www.xingguo.gov.cn/p10.html" not in county
    assert "…共15项" in county


def test_crawled_text_is_escaped_and_unsafe_urls_are_not_links(session, tmp_path):
    runs = build_two_runs(session)
    add_finding(
        session, runs["edu"], "MD01", "major", "new",
        '<script>alert(1)</script>标题<img src=x onerror=alert(2)>\u202eevil\u2066',
        url="javascript:alert(document.cookie)", unit='教育局</td><script>alert(3)</script>',
        column="<b>栏目</b>",
        evidence={"found_on": ["JaVaScRiPt:alert(4)", "https://ok.example/a?x=1&y=<2>"],
                  "title": '"><svg onload=alert(5)>', "target": " javascript:alert(6)"},
    )
    session.commit()
    page = render(session, tmp_path)
    assert "<script" not in page.lower()
    assert "<img" not in page and "<svg onload" not in page and "<b>" not in page
    assert all(tag.startswith('<svg class="trend"') for tag in re.findall(r"<svg[^>]*>", page))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page  # shown as text, not an attribute
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and all(h.startswith(("#", "https://", "http://", "changes.html")) for h in hrefs)
    assert "javascript:alert(document.cookie)" in text_of(page)  # still shown, as plain text
    assert 'href="https://ok.example/a?x=1&amp;y=&lt;2&gt;"' in page
    assert "\u202e" not in page and "\u2066" not in page
    assert "[U+202E]evil[U+2066]" in page


def test_failed_write_keeps_the_previous_report(session, tmp_path, monkeypatch):
    build_two_runs(session)
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("previous report", encoding="utf-8")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr("reports.common.os.replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        render_report(session, select_runs(session), out)
    assert (out / "index.html").read_text(encoding="utf-8") == "previous report"
    assert [p.name for p in out.iterdir()] == ["index.html"]


def test_report_without_runs_says_so(session, tmp_path):
    page = render(session, tmp_path, [])
    assert "没有可报告的检查记录" in page


def test_check_info_names_the_check_and_its_source():
    name, source = check_info("UP04")
    assert name == "空白栏目"
    assert source == "《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）；政务公开工作要点"
    assert check_info("ZZ99") == ("ZZ99", "")


def test_check_info_falls_back_to_the_code_without_registry(monkeypatch, session, tmp_path):
    monkeypatch.setitem(sys.modules, "checks.registry", None)  # makes the import fail as if absent
    assert check_info("UP04") == ("UP04", "")
    build_two_runs(session)
    county = text_of(site_section(render(session, tmp_path), COUNTY))
    assert "结论： 单项否决不合格" in county
    assert "UP01 首页不更新 通过" in county  # the scorecard keeps the indicators' names
    assert str(AS_OF) in county


def test_a_finding_with_a_screenshot_shows_a_thumbnail_that_opens_the_picture(session, tmp_path):
    from sqlalchemy import select

    from govaudit.models import FindingRecord, Screenshot

    runs = build_two_runs(session)
    shot = Screenshot(crawl_run_id=runs["county"].id, url="https://www.xingguo.gov.cn/tzgg/", png=b"\x89PNG fake")
    session.add(shot)
    session.flush()
    finding = session.scalars(select(FindingRecord).where(FindingRecord.check == "UP04")).one()
    finding.evidence = {**finding.evidence, "screenshot": shot.id}
    session.commit()
    page = render(session, tmp_path)
    name = f"screenshots/shot-{shot.id}.png"
    assert f'<a class="shot" href="{name}"' in page and f'<img src="{name}"' in page
    assert (tmp_path / "out" / name).read_bytes() == b"\x89PNG fake"
    assert ">screenshot<" not in page  # the id itself is not shown as evidence


def test_waived_findings_are_listed_apart_and_not_counted(session, tmp_path):
    import datetime as dt

    from sqlalchemy import select

    from govaudit.models import FindingRecord

    build_two_runs(session)
    finding = session.scalars(select(FindingRecord).where(FindingRecord.check == "UP04")).one()
    finding.waived_until, finding.waiver_reason = dt.date(2024, 12, 31), "栏目已撤销，待删除"
    session.commit()
    county = site_section(render(session, tmp_path), COUNTY)
    assert "已豁免（1）" in text_of(county)
    assert "栏目已撤销，待删除 2024-12-31" in text_of(county)
    assert "结论： 合格" in text_of(county)  # the waived veto finding no longer fails the site
    assert "空白栏目（UP04） 待整改" not in text_of(county.split("问题清单（按检查项）", 1)[1])


# --- trends: the chart of pending findings per run ---------------------------------------------


def trend_svg(section: str) -> str:
    match = re.search(r'<svg class="trend".*?</svg>', section, re.S)
    assert match, "no trend chart"
    return match.group(0)


def bar_tooltips(svg: str) -> list[str]:
    """Each bar group's hover text, oldest run first: '2024-06-10（运行 11）：单项否决 1，…，合计 6'."""
    return [text_of(t) for t in re.findall(r'<g class="run">\s*<title>(.*?)</title>', svg, re.S)]


def night(n: int) -> str:
    return (FIRST_AS_OF + dt.timedelta(days=n - 1)).isoformat()


def test_trend_chart_shows_one_bar_per_run_for_the_last_30_runs(session, tmp_path):
    build_nights(session, 32)
    svg = trend_svg(site_section(render(session, tmp_path), COUNTY))
    tooltips = bar_tooltips(svg)
    assert len(tooltips) == 30
    assert [t.split("（", 1)[0] for t in tooltips] == [night(n) for n in range(3, 33)]
    assert night(1) not in svg and night(2) not in svg
    assert f"最近 30 次已完成的检查（{night(3)} 至 {night(32)}）" in text_of(svg)


def test_trend_chart_counts_pending_findings_by_severity_without_resolved_or_waived(session, tmp_path):
    runs = build_nights(session, 12)
    section = site_section(render(session, tmp_path), COUNTY)
    for n, tooltip in zip(range(1, 13), bar_tooltips(trend_svg(section)), strict=True):
        c = night_counts(n)
        assert tooltip == (f"{night(n)}（运行 {runs[n - 1].id}）：单项否决 {c['veto']}，重要 {c['major']}，"
                           f"一般 {c['minor']}，提示 {c['info']}，合计 {sum(c.values())}")
    # The fallback table, newest first: night 12 has veto 0, major 1, minor 2, info 0.
    table = text_of(section.split("图表数据", 1)[1].split("</table>", 1)[0])
    assert f"{night(12)} {runs[11].id} 0 1 2 0 3 {night(11)} {runs[10].id} 2 4 2 1 9" in table
    # The chart's newest bar agrees with the report's own count of pending findings.
    assert "严重程度 单项否决 重要 一般 提示 合计 待整改 0 1 2 0 3" in text_of(section)


def test_trend_chart_skips_failed_runs_and_stops_at_the_reported_run(session, tmp_path):
    runs = build_nights(session, 6)
    svg = trend_svg(site_section(render(session, tmp_path, [runs[3]]), COUNTY))  # night 4's report
    tooltips = bar_tooltips(svg)
    assert [t.split("（", 1)[0] for t in tooltips] == [night(n) for n in range(1, 5)]
    # Night 3's bar is its completed run's: the failed crawl's AV01 (veto) is not in it.
    assert tooltips[2].startswith(f"{night(3)}（运行 {runs[2].id}）：单项否决 0，")


def test_trend_chart_of_a_single_run_is_labelled_and_has_a_legend(session, tmp_path):
    build_nights(session, 1)
    svg = trend_svg(site_section(render(session, tmp_path), COUNTY))
    assert len(bar_tooltips(svg)) == 1
    assert f'text-anchor="middle">{night(1)}</text>' in svg  # one date, written level under its bar
    assert all(f">{label}</text>" in svg for label in ("单项否决", "重要", "一般", "提示"))
    assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg


def test_trend_chart_is_inert_svg_with_no_scripts_or_external_references(session, tmp_path):
    build_nights(session, 32)
    page = render(session, tmp_path)
    svg = trend_svg(site_section(page, COUNTY))
    lowered = svg.lower()
    for forbidden in ("<script", "href", "url(", "http", "<image", "<foreignobject", "<use", "onload",
                      "onmouse", "style="):
        assert forbidden not in lowered, forbidden
    assert "<script" not in page.lower()
    # The bars take the colours of the severity badges.
    assert 'class="fill-veto"' in svg and "svg.trend .fill-veto { fill: var(--veto); }" in page
    assert ".sev-veto { background: var(--veto);" in page


# --- changes.html -------------------------------------------------------------------------------


def render_changes(session, tmp_path, runs=None) -> str:
    render(session, tmp_path, runs)
    return (tmp_path / "out" / "changes.html").read_text(encoding="utf-8")


def changes_section(page: str, site_id: str, heading: str) -> str:
    """The text of one list ('新发现', '再次出现', '已整改', '新逾期') of a site on changes.html."""
    section = site_section(page, site_id)
    match = re.search(rf"<h3>{heading}（\d+）</h3>(.*?)(?=<h3>|$)", section, re.S)
    assert match, f"no {heading} list"
    return text_of(match.group(0))


def test_changes_page_is_written_next_to_the_index_and_linked_from_it(session, tmp_path):
    build_two_runs(session)
    index = render(session, tmp_path)
    changes = (tmp_path / "out" / "changes.html").read_text(encoding="utf-8")
    assert '<a href="changes.html">' in index.split("<nav", 1)[0]  # in the header
    assert '<a href="index.html">' in changes
    assert "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:" in changes
    assert "<h1>自上次检查以来的变化</h1>" in changes
    county = site_section(index, COUNTY)
    anchor = re.search(r'<section class="site" id="([^"]+)"', index).group(1)
    assert f'href="changes.html#{anchor}"' in county and f'id="{anchor}"' in changes


def test_changes_page_lists_new_reopened_resolved_and_newly_overdue_findings(session, tmp_path):
    runs = build_two_runs(session)
    add_finding(session, runs["county"], "UP03", "major", "reopened", "栏目“人事信息”已 400 天未更新，应至少每 365 天更新",
                url="https://www.xingguo.gov.cn/rsxx/", unit="县人社局", column="人事信息")
    session.commit()
    county = render_changes(session, tmp_path)
    new = changes_section(county, COUNTY, "新发现")
    assert "新发现（2）" in new and "UP04" in new and "AV03" in new and "UP03" not in new
    assert "UP04 单项否决 通知公告 栏目“通知公告”没有任何信息（空白栏目），应发布信息或撤销栏目 " \
           "https://www.xingguo.gov.cn/tzgg/ 县政府办公室" in new
    reopened = changes_section(county, COUNTY, "再次出现")
    assert "再次出现（1）" in reopened and "UP03 重要 人事信息" in reopened and "县人社局" in reopened
    resolved = changes_section(county, COUNTY, "已整改")
    assert "已整改（1）" in resolved and "AV02 重要" in resolved and "https://www.xingguo.gov.cn/old.html" in resolved
    # MD04's deadline (2024-06-15) fell between the previous run (06-01) and this one (06-30).
    overdue = changes_section(county, COUNTY, "新逾期")
    assert "新逾期（1）" in overdue and "MD04 一般 政策文件 文件缺少成文日期" in overdue
    assert "2024-06-01 2024-06-15" in overdue
    assert "本次检查（2024-06-30" in text_of(county) and "与上次检查（2024-06-01" in text_of(county)
    assert text_of(county.split("<nav", 1)[0]).count(" 1 再次出现") == 1


def test_a_finding_already_overdue_at_the_previous_run_is_not_newly_overdue(session, tmp_path):
    runs = build_two_runs(session)
    later = AuditRun(as_of=dt.date(2024, 7, 15), status="completed")
    session.add(later)
    session.flush()
    third = add_run(session, later, COUNTY)
    add_finding(session, third, "MD04", "minor", "open", "文件缺少成文日期", url="https://www.xingguo.gov.cn/zc/1.html",
                column="政策文件", first_seen=FIRST_AS_OF)  # overdue since 06-15: old news
    add_finding(session, third, "UP04", "veto", "open", "栏目“通知公告”没有任何信息（空白栏目），应发布信息或撤销栏目",
                url="https://www.xingguo.gov.cn/tzgg/", column="通知公告", first_seen=AS_OF)  # due 07-14
    session.commit()
    overdue = changes_section(render_changes(session, tmp_path, [third, runs["edu"]]), COUNTY, "新逾期")
    assert "新逾期（1）" in overdue and "UP04" in overdue and "MD04" not in overdue


def test_changes_page_shows_the_site_before_and_after(session, tmp_path):
    runs = build_two_runs(session)
    runs["old_county"].stats = {"pages": 118, "errors": 0}
    session.commit()
    county = site_section(render_changes(session, tmp_path), COUNTY)
    table = text_of(county.split('class="site-changes"', 1)[1].split("</table>", 1)[0])
    assert "抓取状态 已完成 已完成 —" in table
    assert "抓取页面数 118 120 +2" in table and "出错页面数 0 3 +3" in table
    # Before: AV02 (major) and MD04 (minor) pending; now: UP04 (veto), MD04 and AV03 (minor).
    assert "待整改 单项否决 0 1 +1" in table and "待整改 重要 1 0 −1" in table
    assert "待整改 一般 1 2 +1" in table and "待整改 提示 0 0 —" in table
    assert "待整改合计 2 3 +1" in table


def test_changes_page_of_a_first_run_says_there_is_nothing_to_compare(session, tmp_path):
    runs = build_two_runs(session)
    county = site_section(render_changes(session, tmp_path, [runs["old_county"]]), COUNTY)
    assert "没有可比较的上次检查，所有问题均为新发现" in text_of(county)
    assert "新发现（2）" in text_of(county) and "已整改（0）" in text_of(county)
    assert "抓取状态 — 已完成" in text_of(county)


def test_changes_page_escapes_crawled_text_and_links_only_web_urls(session, tmp_path):
    runs = build_two_runs(session)
    add_finding(session, runs["edu"], "MD01", "major", "new", '标题<script>alert(1)</script>\u202e',
                url="javascript:alert(document.cookie)", unit="<b>教育局</b>", column='"><svg onload=alert(2)>')
    session.commit()
    page = render_changes(session, tmp_path)
    assert "<script" not in page.lower() and "<svg" not in page and "<b>" not in page
    assert "标题&lt;script&gt;alert(1)&lt;/script&gt;[U+202E]" in page
    assert "javascript:alert(document.cookie)" in text_of(site_section(page, EDU))  # shown, as text
    hrefs = re.findall(r'href="([^"]*)"', page)
    assert hrefs and all(h.startswith(("#", "https://", "http://", "index.html")) for h in hrefs)
    assert HOME in hrefs  # the site's own address is a link
