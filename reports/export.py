"""Rectification lists (整改清单): one spreadsheet per responsible unit (责任单位).

The header is the first row (no title row) so that other tools can read the files as tables. Every
text cell is neutralised against formula injection: crawled text such as ``=HYPERLINK(...)`` must never
become a live formula in the unit's spreadsheet program.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Session

from govaudit.findings import SEVERITY_ORDER, is_overdue, is_waived, run_findings
from govaudit.models import CrawlRun, FindingRecord, Site
from reports.common import OVERDUE_LABEL, STATUS_LABELS, atomic_path, check_info, save_screenshots, unit_label

# 截图: the page as the auditor's browser showed it (UP04, UP05, LK01), a file beside the list.
HEADER = ("序号", "网站", "栏目", "问题类型", "问题描述", "页面地址", "依据", "发现时间", "整改期限", "状态", "截图")
COLUMN_WIDTHS = (6, 22, 16, 22, 60, 48, 40, 12, 12, 10, 28)
SCREENSHOT_COLUMN = HEADER.index("截图") + 1
FORMATS = ("xlsx", "csv")

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Characters no spreadsheet cell may hold (openpyxl refuses them); tab, LF and CR are allowed.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_UNSAFE_IN_NAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]+')
_NAME_LIMIT = 80  # characters of the unit in a file name; file systems allow 255 bytes


def neutralise(text: str) -> str:
    """Prefix ``'`` to text a spreadsheet would read as a formula (=, +, -, @, tab, CR)."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def cell_text(value: Any) -> Any:
    """A cell's value: text cleaned of illegal characters, then neutralised; numbers unchanged."""
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    # Clean first: "\x01=cmd" must not turn into a bare "=cmd" after neutralising.
    return neutralise(_ILLEGAL.sub("", str(value)))


def safe_file_part(unit: str) -> str:
    """The unit as it can appear in a file name on Windows, macOS and Linux."""
    name = _UNSAFE_IN_NAME.sub("_", unit).strip(" ._")
    return name[:_NAME_LIMIT] or "_"


def _row_order(rec: FindingRecord) -> tuple:
    # New and open findings first, most severe first; resolved ones last.
    return (rec.status == "resolved", SEVERITY_ORDER.get(rec.severity, 9), rec.site_id, rec.check, rec.url, rec.id)


def rectification_rows(session: Session, findings: Sequence[FindingRecord],
                       screenshots: dict[int, str] | None = None,
                       as_of: dict[int, dt.date] | None = None) -> list[list[Any]]:
    """The rows of one unit's list, numbered, in HEADER order (raw text, not yet neutralised).

    ``as_of`` (crawl run id -> its date) marks findings past their deadline as 逾期未整改."""
    screenshots = screenshots or {}
    as_of = as_of or {}
    site_names: dict[str, str] = {}
    checks: dict[str, tuple[str, str]] = {}
    rows = []
    for number, rec in enumerate(sorted(findings, key=_row_order), start=1):
        if rec.site_id not in site_names:
            site = session.get(Site, rec.site_id)
            site_names[rec.site_id] = site.name if site is not None else rec.site_id
        if rec.check not in checks:
            checks[rec.check] = check_info(rec.check)
        name, source = checks[rec.check]
        rows.append([
            number,
            site_names[rec.site_id],
            rec.column or "",
            rec.check if name == rec.check else f"{name}（{rec.check}）",
            rec.message,
            rec.url,
            source,
            rec.first_seen.date().isoformat() if rec.first_seen else "",
            rec.deadline.isoformat() if rec.deadline else "",
            OVERDUE_LABEL if rec.crawl_run_id in as_of and is_overdue(rec, as_of[rec.crawl_run_id])
            else STATUS_LABELS.get(rec.status, rec.status),
            screenshots.get((rec.evidence or {}).get("screenshot"), ""),
        ])
    return rows


def _write_csv(path: Path, rows: list[list[Any]]) -> None:
    # utf-8-sig: the BOM makes Excel read the Chinese text as UTF-8.
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows([cell_text(v) for v in row] for row in rows)


def _write_xlsx(path: Path, rows: list[list[Any]]) -> None:
    wb = Workbook()
    ws = wb.active
    ws.title = "整改清单"
    ws.append(list(HEADER))
    for row in rows:
        ws.append([cell_text(v) for v in row])
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    for cell in ws[1]:
        cell.font = bold
        cell.alignment = Alignment(vertical="center")
    for line in ws.iter_rows(min_row=2):
        for cell in line:
            cell.alignment = wrap
        shot = line[SCREENSHOT_COLUMN - 1]
        if shot.value:  # opens the picture beside the list
            shot.hyperlink = shot.value
    for index, width in enumerate(COLUMN_WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    wb.save(path)


def export_rectification(session: Session, runs: Sequence[CrawlRun], out_dir: Path, fmt: str) -> list[Path]:
    """Write ``整改清单_<unit>.<fmt>`` for every responsible unit with findings in these runs."""
    if fmt not in FORMATS:
        raise ValueError(f"export format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    as_of = {run.id: run.as_of for run in runs}
    by_unit: dict[str, list[FindingRecord]] = {}
    for rec in run_findings(session, runs):
        if rec.status != "resolved" and is_waived(rec, as_of[rec.crawl_run_id]):
            continue  # a waiver in force: nothing to rectify
        by_unit.setdefault(unit_label(rec.unit), []).append(rec)
    written: list[Path] = []
    taken: set[str] = set()
    for unit in sorted(by_unit):
        # Two units can differ only in characters a file name cannot hold: keep both files.
        base = f"整改清单_{safe_file_part(unit)}"
        name, n = base, 1
        while name.casefold() in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name.casefold())
        target = out_dir / f"{name}.{fmt}"
        rows = rectification_rows(session, by_unit[unit], save_screenshots(session, by_unit[unit], out_dir), as_of)
        with atomic_path(target) as tmp:
            (_write_xlsx if fmt == "xlsx" else _write_csv)(tmp, rows)
        written.append(target)
    return written
