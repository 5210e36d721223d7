"""PROVISIONAL stand-in, on branch ``ar`` only, for the analysis library that branch ``arlib`` writes
(contract: /work/briefs/ar-shared.md). It is replaced by arlib's file unchanged as soon as that is ready."""

from __future__ import annotations

import lxml.html

Grid = list[list[str]]


def html_tables(html: str) -> list[Grid]:
    """Every <table>, rowspan/colspan expanded (a merged cell's text in every cell it spans)."""
    try:
        tree = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError):
        return []
    grids: list[Grid] = []
    for table in tree.iter("table"):
        rows = [tr for tr in table.iter("tr") if tr.getparent() is table or tr.getparent().getparent() is table]
        spans: dict[tuple[int, int], str] = {}
        grid: Grid = []
        for r, tr in enumerate(rows):
            row: list[str] = []
            c = 0
            for cell in tr:
                if cell.tag not in ("td", "th"):
                    continue
                while (r, c) in spans:
                    row.append(spans.pop((r, c)))
                    c += 1
                text = " ".join(cell.text_content().split())
                colspan = int(cell.get("colspan") or 1) if (cell.get("colspan") or "1").isdigit() else 1
                rowspan = int(cell.get("rowspan") or 1) if (cell.get("rowspan") or "1").isdigit() else 1
                for dc in range(colspan):
                    row.append(text)
                    for dr in range(1, rowspan):
                        spans[(r + dr, c + dc)] = text
                c += colspan
            while (r, c) in spans:
                row.append(spans.pop((r, c)))
                c += 1
            grid.append(row)
        width = max((len(row) for row in grid), default=0)
        if width:
            grids.append([[*row, *[""] * (width - len(row))] for row in grid])
    return grids
