"""config/sites.yml: the strict model and a loader whose errors name file, line and key."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    ValidationError,
    field_validator,
    model_validator,
)

from govaudit.workdays import WorkCalendar

CATEGORIES = ("news", "notice", "policy", "personnel", "plan", "report", "interaction", "service", "other")
Category = Literal["news", "notice", "policy", "personnel", "plan", "report", "interaction", "service", "other"]
Render = Literal["static", "js", "auto"]
CHECK_CODE = re.compile(r"^[A-Z]{2}\d{2}$")
DEFAULT_CONFIG = Path("config/sites.yml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _http_url(value: str) -> str:
    from govaudit.db import masked_url

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {masked_url(value)!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"a user name or password in the URL {masked_url(value)!r}: the crawler never sends "
                         "credentials; give the URL without them")
    return value


# Loopback and private networks a site may be crawled or probed on: ``true`` for all of them, or a list
# of networks (``[10.0.0.0/8, 127.0.0.1/32]``). See govaudit.targets.
PrivateNetwork = bool | list[IPvAnyNetwork]


def host_of(url: str) -> str:
    """``host`` or ``host:port`` as written in the URL (lower case), the unit allow-lists use."""
    return urlsplit(url).netloc.lower().rsplit("@", 1)[-1]


def host_allowed(url: str, hosts: Iterable[str]) -> bool:
    """Whether the URL's host is in the list; an entry without a port matches any port."""
    parts = urlsplit(url)
    netloc = host_of(url)
    hostname = (parts.hostname or "").lower()
    for entry in hosts:
        entry = entry.lower()
        if entry == netloc or (":" not in entry and entry == hostname):
            return True
    return False


class Limits(_Strict):
    pages: int = Field(20000, ge=1)
    depth: int = Field(8, ge=0)
    concurrency: int = Field(2, ge=1, le=64)
    delay: float = Field(0.5, ge=0)
    timeout: float = Field(20, gt=0)
    list_pages: int = Field(50, ge=1, description="pages of one column's list followed at most")
    query_variants: int = Field(1000, ge=1, description="distinct queries of one path followed at most "
                                "(calendar and search traps)")
    retry_after_max: float = Field(60, ge=0, description="longest Retry-After honoured, in seconds")
    recheck_times: int = Field(1, ge=0, le=5, description="second looks at a timeout or 5xx after the crawl")
    recheck_delay: float = Field(30, ge=0, le=3600, description="seconds before that second look")
    revisit_days: int = Field(30, ge=0, le=30, description="an unchanged article or attachment is asked "
                              "for again at least every this many days (one night in N, by a hash of its "
                              "URL), else taken from the last run (crawler.revisit); 0: every page every run")


Thresholds = dict[str, dict[str, Any]]


# What paces a site's crawl (how fast, how patient, how often an unchanged page is asked again) and whether
# findings are photographed, none of which shapes a stored row or a finding: a change of these alone keeps
# an incremental crawl copying rows from the last run (crawler.revisit) and tonight's audit relying on the
# last one (checks.base.audit_fingerprint). Not ``pages``, ``depth``, ``list_pages`` or ``query_variants``:
# they decide which pages a run holds.
PACING_LIMITS = frozenset({"concurrency", "delay", "timeout", "retry_after_max", "recheck_times", "recheck_delay",
                           "revisit_days"})
PACING_KEYS = frozenset({"screenshots"})


def shaping_config(stored: dict[str, Any] | None) -> dict[str, Any] | None:
    """A site's config as stored with a crawl run (``SiteConfig.model_dump(mode="json")``) without what only
    paces its crawl (``PACING_LIMITS``, ``PACING_KEYS``): two runs whose shaping configs are equal make the
    same rows of the same answers, and the same findings of the same rows."""
    if stored is None:
        return None
    kept = {key: value for key, value in stored.items() if key not in PACING_KEYS}
    if isinstance(kept.get("limits"), dict):
        kept["limits"] = {key: value for key, value in kept["limits"].items() if key not in PACING_LIMITS}
    return kept


def _check_threshold_codes(value: Thresholds) -> Thresholds:
    for code in value:
        if not CHECK_CODE.match(code):
            raise ValueError(f"{code!r} is not a check code (two capital letters and two digits)")
    return value


class ColumnConfig(_Strict):
    name: str = Field(min_length=1)
    url: str
    category: Category = "other"
    unit: str | None = None
    render: Render | None = None
    thresholds: Thresholds = Field(default_factory=dict)

    _url = field_validator("url")(_http_url)
    _codes = field_validator("thresholds")(_check_threshold_codes)


class NewMediaConfig(_Strict):
    """A 政务新媒体 account (公众号, 微博, 头条号 …): its public page is fetched once a run, never crawled."""

    name: str = Field(min_length=1)
    platform: str = Field(min_length=1, description="wechat weibo douyin toutiao kuaishou bilibili app other")
    url: str = Field(description="the account's public page: its home or an archive list of its posts")
    unit: str | None = Field(None, description="责任单位 of the account (default: the site's unit)")

    _url = field_validator("url")(_http_url)


class Waiver(_Strict):
    fingerprint: str = Field(min_length=8)
    reason: str = Field(min_length=1)
    until: dt.date


class CalendarConfig(_Strict):
    """Working days for deadlines counted in 工作日 (IN02): statutory holidays and 调休 workdays added to
    the bundled ones (govaudit.workdays), or instead of them with ``bundled: false``."""

    holidays: list[dt.date] = Field(default_factory=list, description="days off besides weekends (放假)")
    workdays: list[dt.date] = Field(default_factory=list, description="weekend days worked (调休上班)")
    bundled: bool = Field(True, description="include the State Council holiday notices bundled with govaudit")

    def merged(self, local: CalendarConfig) -> CalendarConfig:
        """This (the file's) calendar with a site's own dates added; the site's ``bundled`` wins when set."""
        bundled = local.bundled if "bundled" in local.model_fields_set else self.bundled
        return CalendarConfig(holidays=sorted({*self.holidays, *local.holidays}),
                              workdays=sorted({*self.workdays, *local.workdays}), bundled=bundled)

    def work_calendar(self) -> WorkCalendar:
        return WorkCalendar(self.holidays, self.workdays, bundled=self.bundled)


class SiteConfig(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9-]+$", max_length=64)
    name: str = Field(min_length=1)
    url: str
    unit: str | None = None
    kind: Literal["government", "department"] = "department"
    allowed_hosts: list[str] = Field(default_factory=list)
    service_hosts: list[str] = Field(default_factory=list)
    render: Render = "auto"
    robots: bool = True
    screenshots: bool = Field(True, description="photograph the pages of UP04/UP05/LK01 findings as evidence")
    private_network: PrivateNetwork | None = Field(
        None, description="loopback and private networks this site may send requests to, beyond the hosts it "
        "lists (true: all; or a list of networks); unset: the crawler section's (default: none)")
    limits: Limits = Field(default_factory=Limits)
    columns: list[ColumnConfig] = Field(default_factory=list)
    new_media: list[NewMediaConfig] = Field(default_factory=list)
    thresholds: Thresholds = Field(default_factory=dict)
    waivers: list[Waiver] = Field(default_factory=list)
    # The site's own holidays and 调休 workdays; after loading, the file's ``calendar`` merged in.
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)

    _url = field_validator("url")(_http_url)
    _codes = field_validator("thresholds")(_check_threshold_codes)

    @model_validator(mode="after")
    def _hosts(self) -> SiteConfig:
        if not self.allowed_hosts:
            object.__setattr__(self, "allowed_hosts", [host_of(self.url)])
        elif not host_allowed(self.url, self.allowed_hosts):
            raise ValueError(f"the home page's host {host_of(self.url)} is not in allowed_hosts")
        return self

    @model_validator(mode="after")
    def _accounts(self) -> SiteConfig:
        urls = [account.url for account in self.new_media]
        twice = sorted({url for url in urls if urls.count(url) > 1})
        if twice:
            raise ValueError(f"new_media: the same account page is configured twice: {', '.join(twice)}")
        return self

    @property
    def home(self) -> str:
        return self.url

    def column_unit(self, column: ColumnConfig | None) -> str | None:
        return (column.unit if column and column.unit else None) or self.unit


class RectificationConfig(_Strict):
    deadline_working_days: int = Field(10, ge=1, le=250)


class CrawlerConfig(_Strict):
    contact: str | None = Field(None, description="who to write to about the crawler (User-Agent)")
    private_network: PrivateNetwork = Field(False, description="the default of every site's private_network")
    readers: int = Field(1, ge=0, le=16, description="processes that read the plain pages of a crawl beside the "
                         "crawler (crawler.readers); 0 reads them in the crawler's own process")


class SmtpConfig(_Strict):
    """Where the nightly summary is mailed from. The password comes from $GOVAUDIT_SMTP_PASSWORD only."""

    host: str = Field(min_length=1)
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    from_: str = Field(alias="from", min_length=3, pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    username: str | None = None
    timeout: float = Field(30, gt=0, le=600)
    report_url: str | None = Field(None, description="where readers open the report (else its path)")

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key in ("password", "pass", "passwd", "secret"):
                if key in data:
                    raise ValueError(f"{key!r}: a password never goes into sites.yml; set $GOVAUDIT_SMTP_PASSWORD "
                                     "in the environment of the nightly job")
        return data


class NotifyConfig(_Strict):
    smtp: SmtpConfig | None = None


class Config(_Strict):
    sites: list[SiteConfig] = Field(min_length=1)
    rectification: RectificationConfig = Field(default_factory=RectificationConfig)
    crawler: CrawlerConfig = Field(default_factory=CrawlerConfig)
    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    notify: NotifyConfig = Field(default_factory=NotifyConfig)

    @model_validator(mode="after")
    def _site_defaults(self) -> Config:
        for site in self.sites:
            object.__setattr__(site, "calendar", self.calendar.merged(site.calendar))
            if site.private_network is None:
                object.__setattr__(site, "private_network", self.crawler.private_network)
        return self

    def site(self, site_id: str) -> SiteConfig:
        for site in self.sites:
            if site.id == site_id:
                return site
        raise KeyError(site_id)


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class ConfigError(Exception):
    """sites.yml could not be used; ``problems`` lists every error found."""

    def __init__(self, problems: list[ConfigProblem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _line_map(node: yaml.Node, path: tuple = (), out: dict | None = None, dups: list | None = None):
    """Map each key path to its 1-based line, and collect duplicate mapping keys."""
    out = {} if out is None else out
    dups = [] if dups is None else dups
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            if key in seen:
                dups.append((path + (key,), key_node.start_mark.line + 1))
            seen.add(key)
            out[path + (key,)] = key_node.start_mark.line + 1
            _line_map(value_node, path + (key,), out, dups)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, path + (i,), out, dups)
    return out, dups


def _dotted(path: Iterable[Any]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _nearest_line(lines: dict, path: tuple) -> int | None:
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        path = path[:-1]


def parse_config(text: str, file: str = "sites.yml", known: dict[str, dict[str, Any]] | None = None) -> Config:
    """Parse and validate a sites.yml text; raise ConfigError listing every problem.

    ``known`` maps check codes to their default thresholds; when given, threshold overrides are
    checked against it (the CLI passes the check registry's; the core does not import checks).
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        column = f", column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([ConfigProblem(file, line, "", f"invalid YAML{column}: {reason}")]) from None
    except ValueError as exc:  # a date YAML reads as one but the calendar has not (2026-13-40)
        raise ConfigError([_impossible_date(node, file, exc)]) from None
    if node is None or not isinstance(data, dict):
        raise ConfigError([ConfigProblem(file, 1, "sites", "the file must be a mapping with a 'sites' list")])
    lines, dups = _line_map(node)
    problems = [ConfigProblem(file, line, _dotted(path), "duplicate key") for path, line in dups]
    config = None
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-after")))
            if err["type"] == "extra_forbidden":
                message = "unknown key"
            else:
                message = err["msg"].removeprefix("Value error, ")
            problems.append(ConfigProblem(file, _nearest_line(lines, loc), _dotted(loc), message))
    # The checks beyond the schema read the raw sites, so that one site's schema error does not hide
    # another's duplicate id or foreign column: every error is listed at once.
    raw_sites = data.get("sites") if isinstance(data.get("sites"), list) else []
    seen: dict[str, int] = {}
    for i, raw in enumerate(raw_sites):
        if not isinstance(raw, dict):
            continue
        site_id = raw.get("id")
        if isinstance(site_id, str):
            if site_id in seen:
                problems.append(
                    ConfigProblem(file, lines.get(("sites", i, "id")), f"sites[{i}].id",
                                  f"duplicate site id {site_id!r} (first at sites[{seen[site_id]}])")
                )
            seen.setdefault(site_id, i)
        problems.extend(_column_host_problems(raw, i, file, lines))
    if known is not None:
        problems.extend(_threshold_problems(raw_sites, known, file, lines))
    if problems:
        problems.sort(key=lambda p: (p.line or 0, p.key))
        raise ConfigError(problems)
    assert config is not None
    return config


def _impossible_date(node: yaml.Node | None, file: str, exc: ValueError) -> ConfigProblem:
    """Where a YAML date that no calendar has stands (yaml.safe_load names no line for it)."""
    pending: list[tuple[yaml.Node, tuple]] = [(node, ())] if node is not None else []
    while pending:
        current, path = pending.pop(0)
        if isinstance(current, yaml.MappingNode):
            pending.extend((value, path + (key.value,)) for key, value in current.value)
        elif isinstance(current, yaml.SequenceNode):
            pending.extend((item, path + (i,)) for i, item in enumerate(current.value))
        elif current.tag == "tag:yaml.org,2002:timestamp":
            try:
                yaml.safe_load(current.value)
            except ValueError:
                return ConfigProblem(file, current.start_mark.line + 1, _dotted(path),
                                     f"not a date: {current.value!r}")
    return ConfigProblem(file, None, "", f"invalid value: {exc}")


def load_config(path: str | Path = DEFAULT_CONFIG, known: dict[str, dict[str, Any]] | None = None) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([ConfigProblem(str(path), None, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([ConfigProblem(str(path), None, "", f"not UTF-8 text: {exc.reason}")]) from None
    return parse_config(text, str(path), known)


def _column_host_problems(raw: dict, i: int, file: str, lines: dict) -> list[ConfigProblem]:
    """Columns of a site on a host it does not crawl (the site's own URL errors are the schema's)."""
    url, hosts, columns = raw.get("url"), raw.get("allowed_hosts"), raw.get("columns")
    if not isinstance(url, str) or not isinstance(columns, list):
        return []
    if not hosts:
        hosts = [host_of(url)]
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        return []
    problems = []
    for j, column in enumerate(columns):
        column_url = column.get("url") if isinstance(column, dict) else None
        if isinstance(column_url, str) and urlsplit(column_url).hostname and not host_allowed(column_url, hosts):
            problems.append(ConfigProblem(file, lines.get(("sites", i, "columns", j, "url")),
                                          f"sites[{i}].columns[{j}].url",
                                          f"column URL host {host_of(column_url)} is not in allowed_hosts"))
    return problems


def _month_day(value: str) -> bool:
    """``"01-20"``: a month and day that exists every year (not 02-29)."""
    match = re.fullmatch(r"(\d{2})-(\d{2})", value)
    if not match:
        return False
    try:
        dt.date(2023, int(match.group(1)), int(match.group(2)))
    except ValueError:
        return False
    return True


def _threshold_problems(raw_sites: list, known: dict[str, dict[str, Any]], file: str,
                        lines: dict) -> list[ConfigProblem]:
    """Threshold overrides must name a known check and one of its thresholds, with a value of its type."""
    problems = []

    def visit(thresholds: Any, path: tuple) -> None:
        if not isinstance(thresholds, dict):
            return  # not a mapping: the schema says so
        for code, values in thresholds.items():
            if not isinstance(code, str) or not CHECK_CODE.match(code):
                continue  # not a code at all: the schema says so
            here = path + (code,)
            if code not in known:
                problems.append(ConfigProblem(file, lines.get(here), _dotted(here), "no such check"))
                continue
            if not isinstance(values, dict):
                problems.append(ConfigProblem(file, lines.get(here), _dotted(here), "must be a mapping"))
                continue
            for key, value in values.items():
                where = here + (key,)
                if key not in known[code]:
                    allowed = ", ".join(sorted(known[code])) or "none"
                    problems.append(ConfigProblem(file, lines.get(where), _dotted(where),
                                                  f"unknown threshold (known: {allowed})"))
                    continue
                expected = type(known[code][key])
                ok = isinstance(value, expected) and not (isinstance(value, bool) and expected is not bool)
                if expected is float and isinstance(value, int) and not isinstance(value, bool):
                    ok = True
                if not ok:
                    problems.append(ConfigProblem(file, lines.get(where), _dotted(where),
                                                  f"must be {expected.__name__}, got {value!r}"))
                elif key == "deadline" and expected is str and value and not _month_day(value):
                    # A date in the year (AR01, AR06): the deadline must exist every year.
                    problems.append(ConfigProblem(file, lines.get(where), _dotted(where),
                                                  f"must be a month and day as MM-DD (e.g. 01-20), got {value!r}"))
                elif expected is dict and not all(isinstance(k, str) and isinstance(v, str)
                                                  for k, v in value.items()):
                    # A list of terms (SC02: wrong wording -> right wording).
                    problems.append(ConfigProblem(file, lines.get(where), _dotted(where),
                                                  "must map text to text (wrong: right)"))

    for i, site in enumerate(raw_sites):
        if not isinstance(site, dict):
            continue
        visit(site.get("thresholds"), ("sites", i, "thresholds"))
        columns = site.get("columns")
        for j, column in enumerate(columns if isinstance(columns, list) else []):
            if isinstance(column, dict):
                visit(column.get("thresholds"), ("sites", i, "columns", j, "thresholds"))
    return problems
