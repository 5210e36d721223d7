"""Working days (工作日) as Chinese offices count them: Monday to Friday, less the statutory holidays,
plus the weekend days worked in exchange (调休上班).

The bundled dates come from the State Council's yearly notices, 国务院办公厅关于20xx年部分节假日安排的通知:

- 2024: 国办发明电〔2023〕7号 (2023-10-25; 人民日报 2023-10-26, 第 6 版);
- 2025: 国办发明电〔2024〕12号 (2024-11-12; 新华社 2024-11-12);
- 2026: 国务院办公厅 2025-11-04 (新华社 2025-11-04, 光明网).

Other years are not bundled (no notice was at hand to take them from): a year without them counts
Monday to Friday only. ``calendar: {holidays: [...], workdays: [...]}`` in sites.yml adds dates (a
local holiday, next year's notice once published), and ``bundled: false`` drops the bundled ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable


def _days(first: str, last: str | None = None) -> list[dt.date]:
    start = dt.date.fromisoformat(first)
    end = dt.date.fromisoformat(last) if last else start
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


# 放假 (every day of each holiday period, weekend days included: they are not worked either way).
BUNDLED_HOLIDAYS: frozenset[dt.date] = frozenset(
    day
    for period in (
        # 2024
        ("2024-01-01",), ("2024-02-10", "2024-02-17"), ("2024-04-04", "2024-04-06"),
        ("2024-05-01", "2024-05-05"), ("2024-06-10",), ("2024-09-15", "2024-09-17"),
        ("2024-10-01", "2024-10-07"),
        # 2025
        ("2025-01-01",), ("2025-01-28", "2025-02-04"), ("2025-04-04", "2025-04-06"),
        ("2025-05-01", "2025-05-05"), ("2025-05-31", "2025-06-02"), ("2025-10-01", "2025-10-08"),
        # 2026
        ("2026-01-01", "2026-01-03"), ("2026-02-15", "2026-02-23"), ("2026-04-04", "2026-04-06"),
        ("2026-05-01", "2026-05-05"), ("2026-06-19", "2026-06-21"), ("2026-09-25", "2026-09-27"),
        ("2026-10-01", "2026-10-07"),
    )
    for day in _days(*period)
)
# 上班 (the weekend days worked in exchange, 调休).
BUNDLED_WORKDAYS: frozenset[dt.date] = frozenset(dt.date.fromisoformat(day) for day in (
    "2024-02-04", "2024-02-18", "2024-04-07", "2024-04-28", "2024-05-11", "2024-09-14", "2024-09-29",
    "2024-10-12",
    "2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
    "2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
))
BUNDLED_YEARS = (2024, 2025, 2026)


class WorkCalendar:
    """Which days are worked: Monday to Friday, less ``holidays``, plus ``workdays`` (调休)."""

    def __init__(self, holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = (), *,
                 bundled: bool = True):
        self.holidays = set(holidays)
        self.workdays = set(workdays)
        if bundled:
            self.holidays |= BUNDLED_HOLIDAYS
            self.workdays |= BUNDLED_WORKDAYS
        # A date configured as both is a make-up workday: the explicit exchange wins.
        self.holidays -= self.workdays

    def is_working(self, day: dt.date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not later): a
        message of Friday answered on Monday took one working day."""
        days = 0
        current = start
        while current < end:
            current += dt.timedelta(days=1)
            if self.is_working(current):
                days += 1
        return days

    def add_working_days(self, start: dt.date, days: int) -> dt.date:
        """The date ``days`` working days after ``start``."""
        current = start
        while days > 0:
            current += dt.timedelta(days=1)
            if self.is_working(current):
                days -= 1
        return current
