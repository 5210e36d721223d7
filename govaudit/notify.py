"""The night's summary by mail (``notify.smtp`` in sites.yml), for the 政务公开 office.

A short Chinese text: the sites audited and failed, the open findings by severity, what is new and what
was resolved, and where the report is. The SMTP password comes from ``$GOVAUDIT_SMTP_PASSWORD`` only
(sites.yml refuses a password key); it is never logged or printed. A mail that cannot be sent is
logged and said in the night's summary, and never fails the night: the audit is stored either way.
"""

from __future__ import annotations

import logging
import os
import smtplib
import ssl
from collections import Counter
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from govaudit.config import SmtpConfig
from govaudit.models import AuditRun, FindingRecord

logger = logging.getLogger(__name__)

PASSWORD_ENV = "GOVAUDIT_SMTP_PASSWORD"
SEVERITIES = (("veto", "单项否决"), ("major", "重要"), ("minor", "一般"), ("info", "提示"))


def night_figures(session: Session, result) -> dict:
    """What the mail says, from the audit database: sites, open findings by severity, status counts."""
    run_ids = [r.id for r in result.runs]
    severity: Counter[str] = Counter()
    if run_ids:
        for sev in session.scalars(select(FindingRecord.severity).where(
                FindingRecord.crawl_run_id.in_(run_ids), FindingRecord.status != "resolved")):
            severity[sev] += 1
    audit = session.get(AuditRun, result.audit_run_id)
    return {
        "as_of": audit.as_of if audit is not None else None,
        "sites": len(result.runs),
        "done": sum(1 for r in result.runs if r.status == "completed"),
        "failed": dict(result.failed),
        "severity": severity,
        "status": dict(result.counts),
    }


def night_text(figures: dict, report: str | None, exports: str | None) -> tuple[str, str]:
    """Subject and body of the summary."""
    status = figures["status"]
    new, reopened, resolved = status.get("new", 0), status.get("reopened", 0), status.get("resolved", 0)
    as_of = figures["as_of"].isoformat() if figures["as_of"] else ""
    subject = f"政务公开网站检查夜间汇总（{as_of}）：{figures['sites']} 个网站，新发现问题 {new} 个"
    open_total = sum(figures["severity"].values())
    by_severity = "，".join(f"{label} {figures['severity'].get(code, 0)} 个" for code, label in SEVERITIES)
    lines = [
        f"政务公开网站检查夜间汇总（检查日期 {as_of}）",
        "",
        f"检查网站：{figures['sites']} 个（完成 {figures['done']} 个，未完成 {len(figures['failed'])} 个）",
    ]
    lines += [f"  未完成：{site}：{why}" for site, why in sorted(figures["failed"].items())]
    lines += [
        f"待整改问题：共 {open_total} 个（{by_severity}）",
        f"本次新发现 {new} 个，重新出现 {reopened} 个，已整改 {resolved} 个，仍未整改 {status.get('open', 0)} 个",
        "",
        f"检查报告：{report or '本次未生成'}",
    ]
    if exports:
        lines.append(f"整改清单：{exports}")
    lines += ["", "（本邮件由 govaudit 自动发送，请勿直接回复。）"]
    return subject, "\n".join(lines) + "\n"


def build_message(smtp: SmtpConfig, subject: str, body: str) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = smtp.from_
    message["To"] = ", ".join(smtp.to)
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=smtp.from_.rsplit("@", 1)[-1])
    message.set_content(body, charset="utf-8")
    return message


def send(smtp: SmtpConfig, message: EmailMessage, env: Mapping[str, str] | None = None) -> None:
    """Deliver ``message``; raises MailError with a message safe to log."""
    env = os.environ if env is None else env
    password = env.get(PASSWORD_ENV) or None
    if smtp.username and not password:
        raise MailError(f"notify.smtp.username is {smtp.username!r} but ${PASSWORD_ENV} is not set")
    where = f"{smtp.host}:{smtp.port}"
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
            client.ehlo()
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
                client.ehlo()
            if smtp.username:
                client.login(smtp.username, password)
            refused = client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        text = f"{type(exc).__name__}: {exc}"
        if password:
            text = text.replace(password, "***")
        raise MailError(f"the summary could not be mailed via {where}: {text}"[:500]) from None
    if refused:
        raise MailError(f"{where} refused {', '.join(sorted(refused))}")


class MailError(Exception):
    """The summary could not be mailed (the message names the server, never the password)."""


def mail_summary(smtp: SmtpConfig, factory, result, env: Mapping[str, str] | None = None) -> str:
    """Mail the night's summary; returns the line for the night's log. Never raises."""
    try:
        with factory() as session:
            figures = night_figures(session, result)
        report = smtp.report_url or (str(result.report.resolve()) if result.report else None)
        exports = str(result.exports[0].parent.resolve()) if result.exports else None
        subject, body = night_text(figures, report, exports)
        send(smtp, build_message(smtp, subject, body), env)
    except MailError as exc:
        logger.error("mail: %s", exc)
        return f"mail failed: {exc}"
    except Exception as exc:  # noqa: BLE001 - a mail must never fail the night's audit
        logger.exception("mail: the summary could not be prepared")
        return f"mail failed: {type(exc).__name__}: {exc}"[:500]
    logger.info("mail: the summary was sent to %s", ", ".join(smtp.to))
    return f"mail: summary sent to {', '.join(smtp.to)}"
