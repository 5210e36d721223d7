"""IN — interaction (互动回应): messages of the boards (领导信箱, 在线咨询, 留言选登) left unanswered or
answered late."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterator
from typing import Any, ClassVar

from checks.base import AuditContext, Check, Finding
from govaudit.models import Column, Message


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (the month's last day when it is shorter: 11-30 + 3 -> 02-28)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _label(message: Message) -> str:
    return f"留言《{message.title}》" if message.title else f"留言 {message.url}"


def _board(ctx: AuditContext) -> dict[str, Column]:
    return {column.url: column for column in ctx.columns()}


class IN01(Check):
    """A message on a board has had no reply for more than three months.

    Rule:
        A message listed on an interaction column's board (领导信箱, 在线咨询, 留言选登 …) whose list row
        and detail page show neither a reply time (答复时间/回复时间/办结时间) nor a reply text (答复内容
        empty, or saying 未回复/待回复/处理中), counted from its 留言时间 (来信时间, 提问时间) to the run's
        date: older than ``months`` (default 3) calendar months is a finding. A message whose page was
        not read counts as answered when its row's 状态 says 已回复/已办结. A message without a
        readable 留言时间 is not judged. One finding per message, at its page.

    Source:
        IND 单项否决 — 互动回应：未按要求办理，3 个月内未回复网民留言.

    Bad:
        On 2026-06-15 the 县长信箱 shows “关于修缮村道的建议”, 留言时间 2026-02-10, 状态 待回复, and its
        page's 答复内容 is empty (4 months).

    Good:
        A message of 2026-05-20 still 待回复 (under 3 months), or one of 2026-02-10 with 答复时间
        2026-02-14 and its reply.

    Fix:
        Answer the message (or transfer it and say so) and publish the reply with its date.
    """

    code: ClassVar[str] = "IN01"
    name: ClassVar[str] = "互动留言超期未回复"
    family: ClassVar[str] = "IN"
    severity: ClassVar[str] = "veto"
    source: ClassVar[str] = "IND"
    defaults: ClassVar[dict[str, Any]] = {"months": 3}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        boards = _board(ctx)
        for message in ctx.messages(Message.answered.is_(False)):
            if message.asked is None or message.replied is not None:
                continue
            column = boards.get(message.column_url)
            months = ctx.threshold(IN01, "months", column)
            due = add_months(message.asked, months)
            if ctx.as_of <= due:
                continue
            waited = (ctx.as_of - message.asked).days
            status = f"（状态：{message.status}）" if message.status else ""
            yield self.finding(
                message.url,
                f"{_label(message)}于 {message.asked.isoformat()} 提交，至 {ctx.as_of.isoformat()} 已 {waited} 天"
                f"未回复{status}，超过 {months} 个月",
                column=column.name if column is not None else None,
                unit=ctx.unit_for(column),
                evidence={"asked": message.asked.isoformat(), "as_of": ctx.as_of.isoformat(),
                          "waited_days": waited, "months": months, "message_status": message.status,
                          "board": message.column_url, "page_read": message.page_read},
            )


class IN02(Check):
    """A message was answered later than the set number of working days.

    Rule:
        A message of a board with both a 留言时间 and a 答复时间 (回复时间, 办结时间) is a finding when
        the working days after the 留言时间 up to and including the 答复时间 exceed ``working_days``
        (default 5). Saturdays, Sundays and statutory holidays (放假) are not working days; weekend days
        worked in exchange (调休上班) are. The holidays are those bundled from the State Council's
        notices (2024-2026) plus ``calendar: {holidays: [...], workdays: [...]}`` of sites.yml (top
        level, and per site). Unanswered messages are IN01's. One finding per message, at its page.

    Source:
        PLAN (上海: 政务咨询原则上 5 个工作日内答复).

    Bad:
        A message of Monday 2026-06-01 answered on Tuesday 2026-06-09: 6 working days.

    Good:
        A message of Friday 2026-06-05 answered on Thursday 2026-06-11: 6 calendar days but 4 working
        days; one of 2026-04-30 answered on 2026-05-08 (劳动节 1-5 May): 3 working days.

    Fix:
        Answer within the time limit; when a message needs longer, publish an interim reply.
    """

    code: ClassVar[str] = "IN02"
    name: ClassVar[str] = "互动留言答复超时"
    family: ClassVar[str] = "IN"
    severity: ClassVar[str] = "minor"
    source: ClassVar[str] = "PLAN"
    defaults: ClassVar[dict[str, Any]] = {"working_days": 5}

    def run(self, ctx: AuditContext) -> Iterator[Finding]:
        boards = _board(ctx)
        work = ctx.site.calendar.work_calendar()
        for message in ctx.messages(Message.replied.is_not(None), Message.asked.is_not(None)):
            if message.replied < message.asked:
                continue  # a reply dated before the message: the page's dates are wrong, not late
            column = boards.get(message.column_url)
            limit = ctx.threshold(IN02, "working_days", column)
            taken = work.working_days_between(message.asked, message.replied)
            if taken <= limit:
                continue
            unit = f"（答复单位：{message.reply_unit}）" if message.reply_unit else ""
            yield self.finding(
                message.url,
                f"{_label(message)}于 {message.asked.isoformat()} 提交，{message.replied.isoformat()} 才答复{unit}，"
                f"用时 {taken} 个工作日，超过 {limit} 个工作日",
                column=column.name if column is not None else None,
                unit=ctx.unit_for(column),
                evidence={"asked": message.asked.isoformat(), "replied": message.replied.isoformat(),
                          "working_days_taken": taken, "calendar_days": (message.replied - message.asked).days,
                          "working_days": limit, "reply_unit": message.reply_unit, "board": message.column_url},
            )


CHECKS = [IN01, IN02]
