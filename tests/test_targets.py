"""Where the crawler may send a request (govaudit.targets): no credentials anywhere, no private network
unless the site is configured for it, and a clear message naming the site and the URL otherwise."""

from __future__ import annotations

import ipaddress
import sqlite3

import pytest

from govaudit.config import ConfigError, SiteConfig, parse_config
from govaudit.models import Link, Page, Probe
from govaudit.targets import CREDENTIALS, NOT_HTTP, PRIVATE, RESERVED, refusal
from tests.mockserver import MockServer, Reply
from tests.test_crawler import AS_OF, crawl, page, rows, write_config
from tests.test_security import record_headers

SITE = SiteConfig(id="s", name="站", url="http://127.0.0.1:8000/", service_hosts=["10.0.0.7"])


@pytest.mark.parametrize(("url", "why"), [
    ("http://www.gov.cn/", None),
    ("https://zwfw.example.gov.cn/item?id=1", None),
    ("http://127.0.0.1:8000/a.html", None),  # the site's own host, as configured
    ("http://10.0.0.7/x", None),  # a service host it lists, on any port
    ("http://127.0.0.1:9000/", PRIVATE),  # loopback, but another port: not listed
    ("http://localhost:8000/", PRIVATE), ("http://foo.localhost/", PRIVATE),
    ("http://2130706433:9000/", PRIVATE), ("http://127.1:9000/", PRIVATE), ("http://0x7f.1/", PRIVATE),
    ("http://[::1]:9000/", PRIVATE), ("http://[::ffff:192.168.1.1]/", PRIVATE),
    ("http://192.168.1.1/admin", PRIVATE), ("http://[fd00::1]/", PRIVATE), ("http://100.64.1.1/", PRIVATE),
    ("http://169.254.169.254/latest/meta-data/", RESERVED), ("http://0.0.0.0:8000/", RESERVED),
    ("http://224.0.0.1/", RESERVED), ("http://240.0.0.1/", RESERVED),
    ("http://user:pw@www.gov.cn/", CREDENTIALS), ("http://user:***@127.0.0.1:8000/", CREDENTIALS),
    ("http://token@www.gov.cn/", CREDENTIALS),
    ("ftp://ftp.example.gov.cn/a.doc", NOT_HTTP), ("file:///etc/passwd", NOT_HTTP), ("javascript:alert(1)", NOT_HTTP),
])
def test_what_an_unconfigured_site_may_reach(url, why):
    assert refusal(url, SITE) == why


def test_credentials_in_a_link_are_masked_when_it_is_normalised():
    from crawler.spiders.portal import normalize_url

    assert normalize_url("http://admin:pa@ss@Host.gov.cn/a#x") == "http://admin:***@host.gov.cn/a"
    assert normalize_url("https://ghp_T0ken@host.gov.cn") == "https://***@host.gov.cn/"
    assert normalize_url("http://host.gov.cn/mail?to=a@b") == "http://host.gov.cn/mail?to=a@b"
    assert refusal(normalize_url("https://ghp_T0ken@host.gov.cn"), SITE) == CREDENTIALS


def test_private_network_true_or_a_list_of_networks_opens_those_and_no_more():
    everything = SITE.model_copy(update={"private_network": True})
    assert refusal("http://192.168.1.1/", everything) is None and refusal("http://[::1]:1/", everything) is None
    assert refusal("http://169.254.169.254/", everything) == RESERVED  # never a web site
    assert refusal("http://u:p@127.0.0.1:1/", everything) == CREDENTIALS
    loopback = SITE.model_copy(update={"private_network": [ipaddress.ip_network("127.0.0.0/8")]})
    assert refusal("http://127.0.0.1:9000/", loopback) is None and refusal("http://localhost/", loopback) is None
    assert refusal("http://192.168.1.1/", loopback) == PRIVATE and refusal("http://[::1]/", loopback) == PRIVATE


def config_text(site_extra: str = "", top: str = "") -> str:
    return (top + "sites:\n  - id: a\n    name: 甲\n    url: http://www.example.gov.cn/\n" + site_extra)


def test_private_network_is_validated_and_a_site_inherits_the_crawler_sections():
    config = parse_config(config_text(top="crawler: {private_network: [127.0.0.0/8, 'fd00::/8']}\n"))
    assert config.sites[0].private_network == [ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("fd00::/8")]
    own = parse_config(config_text("    private_network: false\n", top="crawler: {private_network: true}\n"))
    assert own.sites[0].private_network is False
    assert parse_config(config_text()).sites[0].private_network is False
    with pytest.raises(ConfigError) as err:
        parse_config(config_text("    private_network: [10.0.0.0/33, intranet]\n"), "sites.yml")
    text = str(err.value)
    assert "sites.yml:5: sites[0].private_network" in text
    assert "[10.0.0.0/33" not in text or "network" in text.lower()


def test_a_configured_url_with_credentials_is_refused_without_repeating_the_password():
    with pytest.raises(ConfigError) as err:
        parse_config("sites:\n  - {id: a, name: 甲, url: 'http://admin:Hunter2@www.example.gov.cn/'}\n", "sites.yml")
    text = str(err.value)
    assert "sites.yml:2: sites[0].url: a user name or password in the URL 'http://admin:***@www.example.gov.cn/'" in text
    assert "Hunter2" not in text


def test_an_unconfigured_site_refuses_loopback_targets_it_does_not_list_and_says_so(tmp_path):
    with MockServer({"/x.html": Reply(page("别的站"))}) as other:
        routes = {"/": Reply(page(f'<a href="{other.url("/x.html")}">外站</a><a href="/hop">跳转</a>')),
                  "/hop": Reply("", status=302, headers={"Location": other.url("/x.html")})}
        with MockServer(routes) as server:
            result, factory = crawl(tmp_path, write_config(tmp_path, server, private_network="false"))
    assert result.runs[0].status == "completed"
    assert other.hits == {}  # neither the probe nor the redirect reached the unlisted port
    log = result.logs["mock"].read_text(encoding="utf-8")
    why = PRIVATE.removeprefix("refused: ")
    assert f"mock: {other.url('/x.html')}: not probed: {why}" in log
    [hop] = rows(factory, Page, Page.url == server.url("/hop"))
    assert hop.error == PRIVATE
    assert f"mock: {server.url('/hop')}: {PRIVATE}" in log
    assert rows(factory, Probe) == []


SECRET = "S3cret-pw"


def test_credentials_in_links_are_never_sent_and_never_shown(tmp_path):
    """Links and a redirect carrying user:password are reported as refused, with the password masked in
    the database, the log, the report and the spreadsheets; no request carrying them is sent."""
    with MockServer({"/svc.html": Reply(page("办事"))}) as service:
        service_headers = record_headers(service)
        routes = {"/": Reply(page(f'<a href="http://admin:{SECRET}@{service.host}/svc.html">在线办理</a>'
                                  f'<a href="http://admin:{SECRET}@127.0.0.1:{service.httpd.server_address[1]}/x">'
                                  f'http://admin:{SECRET}@内网</a><a href="/inner.html">内页</a>')),
                  "/inner.html": Reply(page('<a href="/hop">后台</a><a href="/ok.html">正常</a>')),
                  "/hop": Reply("", status=302, headers={"Location": f"http://root:{SECRET}@{service.host}/svc.html"}),
                  "/ok.html": Reply(page("<p>正常</p>"))}
        with MockServer(routes) as server:
            own_headers = record_headers(server)
            config = write_config(tmp_path, server, service=service)
            routes["/"] = Reply(page(routes["/"].body.split("<body>")[1].split("</body>")[0]
                                     + f'<a href="http://editor:{SECRET}@{server.host}/ok.html">编辑</a>'))
            from govaudit.audit import CrawlOptions, run

            db = tmp_path / "audit.db"
            result = run(config, db_url=f"sqlite:///{db}", out_dir=tmp_path / "out", as_of=AS_OF,
                         log_dir=tmp_path / "logs", options=CrawlOptions(cache_dir=tmp_path / "cache"))
    assert result.runs[0].status == "completed" and result.report is not None
    # Nothing was sent with the credentials: the service host saw no request at all, the site no
    # Authorization header.
    assert service_headers == {}
    assert all("authorization" not in h for hs in own_headers.values() for h in hs)
    # Stored masked, refused in plain words.
    links = {link.to_url: link for link in rows(*_factory(db), Link)}
    masked = f"http://admin:***@{service.host}/svc.html"
    assert links[masked].error == CREDENTIALS and links[masked].kind == "service"
    assert links[f"http://editor:***@{server.host}/ok.html"].error == CREDENTIALS
    [hop] = rows(*_factory(db), Page, Page.url == server.url("/hop"))
    assert hop.error == CREDENTIALS
    log = result.logs["mock"].read_text(encoding="utf-8")
    assert f"mock: {masked}: {CREDENTIALS}" in log
    # The password is nowhere: database, logs, report, spreadsheets.
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert "admin:***@" in dump and SECRET not in dump
    for path in [*(tmp_path / "logs").rglob("*"), *(tmp_path / "out").rglob("*")]:
        if path.is_file():
            data = path.read_bytes()
            if path.suffix == ".xlsx":
                import zipfile

                with zipfile.ZipFile(path) as xlsx:
                    data = b"".join(xlsx.read(name) for name in xlsx.namelist())
            assert SECRET.encode() not in data, path
    html = result.report.read_text(encoding="utf-8")
    assert "链接中含用户名或密码，未访问" in html


def _factory(db):
    from govaudit.db import open_database

    return (open_database(f"sqlite:///{db}"),)
