"""Screenshots as evidence: the page of a finding as a browser shows it, kept with the run.

A blank column (UP04), an unreachable column (UP05) or a policy's broken service link (LK01) is sent to a
unit that will look at its own page and may see something else (a script, a cache, a fix made since):
the picture shows what the auditor's browser saw on the day. Taken after the checks, only for their
findings, so the crawl never spends a browser visit on a page that turns out fine.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from govaudit.browser import chromium_path, launch_options
from govaudit.models import CrawlRun, FindingRecord, Screenshot

logger = logging.getLogger(__name__)

SCREENSHOT_CHECKS = ("UP04", "UP05", "LK01")
VIEWPORT = {"width": 1280, "height": 900}
SETTLE_MS = 3000


def screenshot_url(finding: FindingRecord) -> str:
    """What to photograph: the service page a policy links to (LK01), else the finding's page."""
    if finding.check == "LK01":
        return (finding.evidence or {}).get("target") or finding.url
    return finding.url


def take_screenshots(session: Session, run: CrawlRun, findings: Sequence[FindingRecord], timeout_s: float = 20,
                     limit: int = 200) -> dict[str, int]:
    """Photograph the pages of this run's unresolved UP04/UP05/LK01 findings; returns counts.

    Each finding gets ``evidence["screenshot"]`` = the id of its Screenshot row. A page that cannot
    be reached is still photographed (the browser's own error page is the evidence) and the error kept.
    """
    wanted = [f for f in findings if f.check in SCREENSHOT_CHECKS and f.status != "resolved"]
    counts = {"screenshots": 0, "screenshot_errors": 0}
    if not wanted:
        return counts
    if chromium_path() is None:
        logger.warning("%s: no Chromium found: findings keep no screenshots", run.site_id)
        counts["screenshot_errors"] = len(wanted)
        return counts
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    shots: dict[str, Screenshot] = {
        s.url: s for s in session.scalars(select(Screenshot).where(Screenshot.crawl_run_id == run.id))
    }
    urls = list(dict.fromkeys(screenshot_url(f) for f in wanted))[:limit]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**launch_options(timeout_s))
        try:
            context = browser.new_context(viewport=VIEWPORT, ignore_https_errors=True)
            for url in urls:
                if url in shots:
                    continue
                page = context.new_page()
                error = None
                try:
                    page.goto(url, wait_until="load", timeout=timeout_s * 1000)
                    try:
                        page.wait_for_load_state("networkidle", timeout=SETTLE_MS)
                    except PlaywrightError:
                        pass
                except PlaywrightError as exc:
                    error = str(exc).splitlines()[0][:300]
                try:
                    png = page.screenshot(timeout=timeout_s * 1000)
                except PlaywrightError as exc:
                    png, error = None, error or str(exc).splitlines()[0][:300]
                finally:
                    page.close()
                if error:
                    logger.warning("%s: %s: screenshot: %s", run.site_id, url, error)
                    counts["screenshot_errors"] += 1
                shot = Screenshot(crawl_run_id=run.id, url=url, png=png, error=error)
                session.add(shot)
                shots[url] = shot
            context.close()
        finally:
            browser.close()
    session.flush()
    for finding in wanted:
        shot = shots.get(screenshot_url(finding))
        if shot is not None and shot.png is not None:
            finding.evidence = {**(finding.evidence or {}), "screenshot": shot.id}
            counts["screenshots"] += 1
    return counts
