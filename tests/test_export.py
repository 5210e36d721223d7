"""Rectification lists (整改清单), one per responsible unit, read back as a unit would open them."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from govaudit.findings import select_runs
from reports.export import HEADER, export_rectification
from tests.report_data import add_finding, build_two_runs, install_fake_registry, open_session

EXPECTED_HEADER = ["序号", "网站", "栏目", "问题类型", "问题描述", "页面地址", "依据", "发现时间", "整改期限", "状态", "截图"]
IND = "《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）"


@pytest.fixture(autouse=True)
def registry(monkeypatch):
    install_fake_registry(monkeypatch)


@pytest.fixture
def session(tmp_path):
    session = open_session(tmp_path)
    yield session
    session.close()


def read_rows(path) -> list[list]:
    """The file's rows as text, the way a reader of either format gets them."""
    if path.suffix == ".csv":
        raw = path.read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
        return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    ws = load_workbook(path).active
    return [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_one_list_per_unit_with_the_exact_header(session, tmp_path, fmt):
    build_two_runs(session)
    paths = export_rectification(session, select_runs(session), tmp_path / "out", fmt)
    assert sorted(p.name for p in paths) == sorted([
        f"整改清单_县政府办公室.{fmt}",
        f"整改清单_县教育局_办公室.{fmt}",  # "县教育局/办公室": the slash cannot be in a file name
        f"整改清单_未指定责任单位.{fmt}",
    ])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in paths)
    for path in paths:
        assert read_rows(path)[0] == EXPECTED_HEADER
    assert list(HEADER) == EXPECTED_HEADER


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_rows_put_pending_findings_first_and_resolved_last(session, tmp_path, fmt):
    build_two_runs(session)
    out = tmp_path / "out"
    export_rectification(session, select_runs(session), out, fmt)
    rows = read_rows(out / f"整改清单_县政府办公室.{fmt}")[1:]
    assert rows == [
        ["1", "兴国县人民政府", "通知公告", "空白栏目（UP04）",
         "栏目“通知公告”没有任何信息（空白栏目），应发布信息或撤销栏目", "https://www.xingguo.gov.cn/tzgg/",
         f"{IND}；政务公开工作要点", "2024-06-30", "2024-07-14", "新发现", ""],
        ["2", "兴国县人民政府", "政策文件", "缺少必要公开要素（MD04）", "文件缺少成文日期",
         "https://www.xingguo.gov.cn/zc/1.html", "《政府网站发展指引》（国办发〔2017〕47号）",
         "2024-06-01", "2024-06-15", "逾期未整改", ""],  # still open after its deadline
        ["3", "兴国县人民政府", "", "首页链接不可用（AV02）", "首页链接不可用：https://www.xingguo.gov.cn/old.html",
         "https://www.xingguo.gov.cn/old.html", IND, "2024-06-01", "2024-06-15", "已整改", ""],
    ]
    unassigned = read_rows(out / f"整改清单_未指定责任单位.{fmt}")
    assert [r[3] for r in unassigned[1:]] == ["其他页面链接不可用（AV03）"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_cells_that_look_like_formulas_are_neutralised(session, tmp_path, fmt):
    runs = build_two_runs(session)
    starts = ['=HYPERLINK("http://evil.example","点击")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcr", "\x01=1+1"]
    for n, message in enumerate(starts):
        add_finding(session, runs["edu"], "ZZ99", "minor", "new", message, unit="注入测试",
                    url=f"=cmd|' /C calc'!A{n}", column="+栏目")
    session.commit()
    path = tmp_path / "out" / f"整改清单_注入测试.{fmt}"
    export_rectification(session, select_runs(session), tmp_path / "out", fmt)
    rows = read_rows(path)[1:]
    messages = sorted(r[4] for r in rows)
    assert messages == sorted(["'" + m for m in starts[:6]] + ["'=1+1"])  # control char dropped, then quoted
    assert all(r[5].startswith("'=cmd|") for r in rows)
    assert all(r[2] == "'+栏目" for r in rows)
    assert all(r[3] == "ZZ99" for r in rows)  # unknown to the registry: the code alone
    if fmt == "xlsx":
        ws = load_workbook(path).active
        assert all(cell.data_type == "s" for row in ws.iter_rows() for cell in row if cell.value is not None
                   and not isinstance(cell.value, int))


def test_xlsx_header_is_bold_frozen_and_columns_are_wide(session, tmp_path):
    build_two_runs(session)
    paths = export_rectification(session, select_runs(session), tmp_path, "xlsx")
    ws = load_workbook(paths[0]).active
    assert [c.value for c in ws[1]] == EXPECTED_HEADER
    assert all(c.font.bold for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.column_dimensions["E"].width >= 40  # 问题描述
    assert ws["E2"].alignment.wrap_text


def test_units_whose_names_collide_as_files_keep_separate_lists(session, tmp_path):
    runs = build_two_runs(session)
    add_finding(session, runs["edu"], "UP03", "major", "new", "栏目长期未更新", unit="县教育局:办公室",
                url="https://jyj.xingguo.gov.cn/tzgg/")
    session.commit()
    paths = export_rectification(session, select_runs(session), tmp_path, "csv")
    names = sorted(p.name for p in paths if p.name.startswith("整改清单_县教育局"))
    assert names == ["整改清单_县教育局_办公室.csv", "整改清单_县教育局_办公室_2.csv"]
    messages = {read_rows(tmp_path / n)[1][4] for n in names}
    assert messages == {"栏目“教育动态”已 30 天未更新，应至少每 14 天更新", "栏目长期未更新"}


def test_unknown_format_is_refused(session, tmp_path):
    with pytest.raises(ValueError, match="xlsx, csv"):
        export_rectification(session, [], tmp_path, "pdf")


def test_no_findings_writes_no_lists(session, tmp_path):
    assert export_rectification(session, [], tmp_path / "out", "csv") == []



def test_a_screenshot_is_saved_beside_the_list_and_linked_from_it(session, tmp_path):
    from sqlalchemy import select

    from govaudit.models import FindingRecord, Screenshot

    runs = build_two_runs(session)
    shot = Screenshot(crawl_run_id=runs["county"].id, url="https://www.xingguo.gov.cn/tzgg/", png=b"\x89PNG fake")
    session.add(shot)
    session.flush()
    finding = session.scalars(select(FindingRecord).where(FindingRecord.check == "UP04")).one()
    finding.evidence = {**finding.evidence, "screenshot": shot.id}
    session.commit()
    out = tmp_path / "out"
    export_rectification(session, select_runs(session), out, "xlsx")
    assert (out / "screenshots" / f"shot-{shot.id}.png").read_bytes() == b"\x89PNG fake"
    sheet = load_workbook(out / "整改清单_县政府办公室.xlsx").active
    cell = sheet.cell(row=2, column=len(EXPECTED_HEADER))
    assert cell.value == f"screenshots/shot-{shot.id}.png" and cell.hyperlink.target == cell.value



def test_a_waived_finding_is_not_sent_to_the_unit(session, tmp_path):
    import datetime as dt

    from sqlalchemy import select

    from govaudit.models import FindingRecord

    build_two_runs(session)
    finding = session.scalars(select(FindingRecord).where(FindingRecord.check == "UP04")).one()
    finding.waived_until, finding.waiver_reason = dt.date(2024, 12, 31), "栏目已撤销，待删除"
    session.commit()
    export_rectification(session, select_runs(session), tmp_path / "out", "csv")
    rows = read_rows(tmp_path / "out" / "整改清单_县政府办公室.csv")[1:]
    assert [r[3] for r in rows] == ["缺少必要公开要素（MD04）", "首页链接不可用（AV02）"]
