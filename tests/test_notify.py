"""The night's summary mailed to the 政务公开 office: a local SMTP server (aiosmtpd) on loopback receives
it; the password comes from the environment only and is printed, logged and reported nowhere; a mail
that fails never fails the night."""

from __future__ import annotations

import email
import email.policy
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import func, select

from govaudit.config import ConfigError, parse_config
from govaudit.db import open_database
from govaudit.models import FindingRecord
from govaudit.nightly import nightly
from tests.mockserver import MockServer, Reply
from tests.test_crawler import AS_OF, CrawlOptions, page

PASSWORD = "Mail-S3cret-0815"
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages: list = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content,
                                                                           policy=email.policy.default)))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword):
            self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
            ok = auth_data.password.decode() == PASSWORD
            return AuthResult(success=ok, handled=False)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    # No TLS on loopback: STARTTLS is switched off in the test config (it is on by default).
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), authenticator=inbox.authenticate,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    try:
        yield controller, inbox
    finally:
        controller.stop()


def config_with_mail(tmp_path: Path, server: MockServer, port: int, username: str = "zwgk") -> Path:
    text = textwrap.dedent(f"""\
        notify:
          smtp: {{host: 127.0.0.1, port: {port}, starttls: false, from: govaudit@example.gov.cn,
                 to: [zwgk@example.gov.cn, duty@example.gov.cn], username: {username}, timeout: 10}}
        sites:
          - id: mock
            name: 测试站
            url: {server.url('/')}
            unit: 办公室
            render: static
            limits: {{delay: 0, concurrency: 4, timeout: 5, recheck_delay: 0.2}}
        """)
    path = tmp_path / "sites.yml"
    path.write_text(text, encoding="utf-8")
    return path


SITE = {"/": Reply(page('<a href="/gone.html">旧链接</a>'))}


def test_the_nightly_summary_is_mailed_in_chinese_and_the_password_shows_nowhere(tmp_path, smtp_server):
    controller, inbox = smtp_server
    with MockServer(SITE) as server:
        config = config_with_mail(tmp_path, server, controller.port)
        env = dict(os.environ, GOVAUDIT_SMTP_PASSWORD=PASSWORD)
        done = subprocess.run([sys.executable, "-m", "govaudit", "nightly", "--config", str(config), "--db",
                               f"sqlite:///{tmp_path}/audit.db", "--out", str(tmp_path / "out"), "--as-of",
                               AS_OF.isoformat()], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=240)
    assert done.returncode == 0, done.stderr
    assert inbox.logins == [("zwgk", PASSWORD)]  # the environment's password was used, and only there
    [(recipients, message)] = inbox.messages
    assert recipients == ["zwgk@example.gov.cn", "duty@example.gov.cn"]
    factory = open_database(f"sqlite:///{tmp_path}/audit.db")
    with factory() as session:
        by_severity = dict(session.execute(select(FindingRecord.severity, func.count())
                                           .group_by(FindingRecord.severity)).all())
    assert by_severity.get("major", 0) >= 1  # the dead home-page link (AV02): the mail has something to say
    new = sum(by_severity.values())
    assert message["Subject"] == f"政务公开网站检查夜间汇总（{AS_OF}）：1 个网站，新发现问题 {new} 个"
    assert message["From"] == "govaudit@example.gov.cn"
    body = message.get_content()
    assert "检查网站：1 个（完成 1 个，未完成 0 个）" in body
    assert (f"待整改问题：共 {new} 个（单项否决 {by_severity.get('veto', 0)} 个，重要 {by_severity['major']} 个，"
            f"一般 {by_severity.get('minor', 0)} 个，提示 {by_severity.get('info', 0)} 个）") in body
    assert f"本次新发现 {new} 个，重新出现 0 个，已整改 0 个，仍未整改 0 个" in body
    assert f"检查报告：{(tmp_path / 'out' / 'index.html').resolve()}" in body
    assert "mail: summary sent to zwgk@example.gov.cn, duty@example.gov.cn" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    for path in [*tmp_path.rglob("*")]:
        if path.is_file() and path.suffix in (".log", ".html", ".csv", ".yml", ".db", ".json"):
            assert PASSWORD.encode() not in path.read_bytes(), path


def run_nightly(tmp_path: Path, config: Path):
    return nightly(config, db_url=f"sqlite:///{tmp_path}/audit.db", out_dir=tmp_path / "out", as_of=AS_OF,
                   log_dir=tmp_path / "logs", lock_path=tmp_path / "lock",
                   options=CrawlOptions(cache_dir=tmp_path / "cache"))


def test_a_mail_server_that_is_down_is_logged_and_the_night_still_succeeds(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVAUDIT_SMTP_PASSWORD", PASSWORD)
    port = free_port()  # nothing listens there
    with MockServer(SITE) as server:
        summary = run_nightly(tmp_path, config_with_mail(tmp_path, server, port))
    assert summary.exit_code == 0 and summary.result.runs[0].status == "completed"
    assert (tmp_path / "out" / "index.html").exists()
    [line] = [line for line in summary.lines if line.startswith("mail")]
    assert line.startswith(f"mail failed: the summary could not be mailed via 127.0.0.1:{port}: ConnectionRefusedError")
    log = summary.log.read_text(encoding="utf-8")
    assert f"ERROR govaudit.notify: mail: the summary could not be mailed via 127.0.0.1:{port}" in log
    assert PASSWORD not in log


def test_a_wrong_password_or_none_is_a_clear_mail_error_not_a_failed_night(tmp_path, monkeypatch, smtp_server):
    controller, inbox = smtp_server
    with MockServer(SITE) as server:
        config = config_with_mail(tmp_path, server, controller.port)
        monkeypatch.delenv("GOVAUDIT_SMTP_PASSWORD", raising=False)
        summary = run_nightly(tmp_path, config)
        assert summary.exit_code == 0
        assert "mail failed: notify.smtp.username is 'zwgk' but $GOVAUDIT_SMTP_PASSWORD is not set" in summary.lines
        monkeypatch.setenv("GOVAUDIT_SMTP_PASSWORD", "not-the-password")
        summary = run_nightly(tmp_path, config)
    assert summary.exit_code == 0 and inbox.messages == []
    [line] = [line for line in summary.lines if line.startswith("mail")]
    assert line.startswith(f"mail failed: the summary could not be mailed via 127.0.0.1:{controller.port}: "
                           "SMTPAuthenticationError")
    assert "not-the-password" not in summary.log.read_text(encoding="utf-8") and "not-the-password" not in line


@pytest.mark.parametrize("key", ["password", "passwd"])
def test_a_password_in_sites_yml_is_a_config_error(key):
    text = ("notify:\n  smtp:\n    host: mail.example.gov.cn\n    from: a@example.gov.cn\n    to: [b@example.gov.cn]\n"
            f"    {key}: hunter2\nsites:\n  - {{id: a, name: 甲, url: 'http://www.example.gov.cn/'}}\n")
    with pytest.raises(ConfigError) as err:
        parse_config(text, "sites.yml")
    message = str(err.value)
    assert "sites.yml:2: notify.smtp:" in message
    assert f"'{key}': a password never goes into sites.yml; set $GOVAUDIT_SMTP_PASSWORD" in message
    assert "hunter2" not in message


def test_the_smtp_section_is_validated():
    text = ("notify:\n  smtp: {host: mail.example.gov.cn, port: 70000, from: nobody, to: []}\n"
            "sites:\n  - {id: a, name: 甲, url: 'http://www.example.gov.cn/'}\n")
    with pytest.raises(ConfigError) as err:
        parse_config(text, "sites.yml")
    keys = {p.key for p in err.value.problems}
    assert {"notify.smtp.port", "notify.smtp.from", "notify.smtp.to"} <= keys
    smtp = parse_config(text.replace("port: 70000, from: nobody, to: []",
                                     "from: a@example.gov.cn, to: [b@example.gov.cn]")).notify.smtp
    assert (smtp.port, smtp.starttls, smtp.username) == (587, True, None)
