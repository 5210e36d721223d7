"""Every check by its code, and the one function that runs them on a crawl run.

Adding a check: write its class in its family module, list it in that module's ``CHECKS``, add
``tests/fixtures/checks/<CODE>.yml`` and regenerate docs/checks.md (``python -m checks.docs``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.orm import Session

from checks import (
    annual_reports,
    availability,
    content,
    identity,
    interaction,
    links,
    metadata,
    new_media,
    updates,
)
from checks.base import CODE_PATTERN, SEVERITIES, AuditContext, Check, Finding
from govaudit.config import SiteConfig
from govaudit.models import CrawlRun

logger = logging.getLogger(__name__)

# The family modules, in catalogue order (CHECKS.md).
FAMILY_MODULES = (availability, updates, metadata, annual_reports, links, interaction, new_media, content, identity)

FAMILIES: dict[str, str] = {
    "AV": "可用性 (availability)",
    "UP": "信息更新 (updates and columns)",
    "MD": "公开要素 (document metadata)",
    "AR": "政府信息公开工作年度报告 (annual report)",
    "LK": "阅办联动 (links to services and outside)",
    "IN": "互动回应 (interaction)",
    "NM": "政务新媒体 (new media)",
    "SC": "内容安全 (content safety)",
    "ID": "网站标识 (site identity)",
}

SOURCES: dict[str, str] = {
    "IND": "《政府网站与政务新媒体检查指标》（国办秘函〔2019〕19号）",
    "GUIDE": "《政府网站发展指引》（国办发〔2017〕47号）",
    "REG": "《中华人民共和国政府信息公开条例》（2019年修订）",
    "AR": "《中华人民共和国政府信息公开工作年度报告格式》（国办公开办函〔2021〕30号）",
    "PLAN": "各地各部门年度政务公开工作要点、实施方案",
    "practice": "政府信息公开目录及检查实践",
    "WEBREPORT": "国办函〔2018〕12号（政府网站工作年度报表）",
}


def source_keys(check: type[Check]) -> list[str]:
    """The abbreviations in a check's ``source`` (``"IND, PLAN"`` -> ``["IND", "PLAN"]``)."""
    return [part.strip() for part in getattr(check, "source", "").split(",") if part.strip()]


def build_registry(checks: Iterable[type[Check]]) -> dict[str, type[Check]]:
    """{code: class}; raises ValueError on a malformed or duplicate code, or an unknown severity,
    family or source, so a mistake stops the import instead of producing odd findings."""
    registry: dict[str, type[Check]] = {}
    for check in checks:
        code = getattr(check, "code", None)
        if not isinstance(code, str) or not CODE_PATTERN.match(code):
            raise ValueError(
                f"{check.__name__}: check code {code!r} is not two capital letters and two digits"
            )
        if code in registry:
            raise ValueError(f"duplicate check code {code}: {registry[code].__name__} and {check.__name__}")
        if check.severity not in SEVERITIES:
            raise ValueError(f"{code}: unknown severity {check.severity!r}")
        if check.family != code[:2] or check.family not in FAMILIES:
            raise ValueError(f"{code}: family {check.family!r} does not match the code")
        unknown = [key for key in source_keys(check) if key not in SOURCES]
        if unknown or not source_keys(check):
            raise ValueError(f"{code}: unknown or missing source {getattr(check, 'source', None)!r}")
        registry[code] = check
    return registry


_REGISTRY = build_registry(check for module in FAMILY_MODULES for check in module.CHECKS)


def all_checks() -> dict[str, type[Check]]:
    """Every registered check by code, in catalogue order."""
    return dict(_REGISTRY)


def known_thresholds() -> dict[str, dict[str, Any]]:
    """Each code's default thresholds: what sites.yml may override (``parse_config(known=...)``)."""
    return {code: dict(check.defaults) for code, check in _REGISTRY.items()}


# The checks that read the text of every page of a run: about half of an audit's time between them
# (measured per check on the 10k bench run: SC01 0.8 s, SC02 0.6 s, ID02 0.3 s, SC03 0.1 s, MD02 0.3 s of
# 4.7 s). A large run's audit gives them to a second process (``run_checks(..., db_url=...)``).
SECOND_PROCESS = frozenset({"SC01", "SC02", "SC03", "ID02", "MD02"})
# Below this many pages a second process costs more (its start, about a second) than it saves.
PARALLEL_PAGES = 5000


def _run_selected(ctx: AuditContext, selected: Sequence[type[Check]]) -> list[tuple[str, list[Finding] | None, str | None]]:
    """Each check's findings, or its error line."""
    results: list[tuple[str, list[Finding] | None, str | None]] = []
    for check in selected:
        try:
            # Materialised here so that a check failing halfway contributes nothing half-done.
            results.append((check.code, list(check().run(ctx)), None))
        except Exception as exc:  # noqa: BLE001 - one broken check must not hide the others' findings
            results.append((check.code, None, f"{check.code}: {type(exc).__name__}: {exc}"))
    return results


def _run_in_second_process(db_url: str, run_id: int, codes: list[str]) -> list[tuple[str, list[Finding] | None, str | None]]:
    """A second process's share of an audit: its own connection to the database, which holds the crawl
    (committed by the crawler's process), and the same site config the run was crawled with."""
    from govaudit.db import make_engine

    engine = make_engine(db_url)
    try:
        with Session(engine) as session:
            run = session.get(CrawlRun, run_id)
            site = SiteConfig.model_validate(run.site_config)
            return _run_selected(AuditContext(session, run, site), [_REGISTRY[code] for code in codes])
    finally:
        engine.dispose()


def run_checks(
    session: Session, run: CrawlRun, site: SiteConfig, codes: Sequence[str] | None = None,
    db_url: str | None = None,
) -> tuple[list[Finding], list[str]]:
    """Run the checks (all, or ``codes``) on one crawl run.

    Returns the findings, each with its 责任单位 filled in (its column's unit, else the site's), and
    one line per check that failed (``"UP04: <error>"``); a failing check does not stop the others.

    With ``db_url`` (the database the run was committed to by the crawler), a run of ``PARALLEL_PAGES``
    pages or more has the ``SECOND_PROCESS`` checks run in a second process meanwhile, on its own
    connection: the findings and their order are the same. If that process cannot run them, they run
    here after the others.
    """
    if codes is None:
        selected = list(_REGISTRY.values())
    else:
        unknown = [code for code in codes if code not in _REGISTRY]
        if unknown:
            raise KeyError(f"unknown check code(s): {', '.join(unknown)}")
        selected = [_REGISTRY[code] for code in codes]
    ctx = AuditContext(session, run, site)
    units_by_column = {column.name: ctx.unit_for(column) for column in ctx.columns()}
    elsewhere = [check for check in selected if check.code in SECOND_PROCESS]
    results: dict[str, tuple[list[Finding] | None, str | None]] = {}
    if db_url and elsewhere and len(elsewhere) < len(selected) and _pages(session, run) >= PARALLEL_PAGES:
        import concurrent.futures
        import multiprocessing

        here = [check for check in selected if check.code not in SECOND_PROCESS]
        with concurrent.futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            future = pool.submit(_run_in_second_process, db_url, run.id, [check.code for check in elsewhere])
            results.update((code, (found, error)) for code, found, error in _run_selected(ctx, here))
            try:
                results.update((code, (found, error)) for code, found, error in future.result())
            except Exception as exc:  # noqa: BLE001 - the checks run here instead
                logger.warning("%s: the second audit process failed (%s: %s); its checks run here",
                               run.site_id, type(exc).__name__, exc)
    missing = [check for check in selected if check.code not in results]
    results.update((code, (found, error)) for code, found, error in _run_selected(ctx, missing))
    findings: list[Finding] = []
    errors: list[str] = []
    for check in selected:
        found, error = results[check.code]
        if error is not None:
            errors.append(error)
            continue
        for finding in found or ():
            if finding.unit is None:
                finding.unit = units_by_column.get(finding.column or "") or site.unit
        findings.extend(found or ())
    return findings, errors


def _pages(session: Session, run: CrawlRun) -> int:
    from sqlalchemy import func, select

    from govaudit.models import Page

    return session.scalar(select(func.count()).select_from(Page).where(Page.crawl_run_id == run.id)) or 0
