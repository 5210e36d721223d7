"""What the HTML report and the rectification exports share: check names and sources, labels,
and atomic file writes."""

from __future__ import annotations

import importlib
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

# 单项否决 items: checks whose default severity is veto or that escalate to veto (CHECKS.md), with the
# indicator's name for the scorecard when the registry does not (yet) provide the check.
VETO_CHECKS = {
    "AV01": "网站无法访问",
    "UP01": "首页不更新",
    "UP02": "动态要闻类栏目不更新",
    "UP03": "栏目长期未更新",
    "UP04": "空白栏目",
    "IN01": "互动留言超期未回复",
    "NM01": "政务新媒体不更新",
    "SC02": "严重表述错误",
    "SC03": "暗链",
}

SEVERITY_LABELS = {"veto": "单项否决", "major": "重要", "minor": "一般", "info": "提示"}
STATUS_LABELS = {"new": "新发现", "open": "持续存在", "reopened": "再次出现", "resolved": "已整改"}
OVERDUE_LABEL = "逾期未整改"
UNASSIGNED_UNIT = "未指定责任单位"  # 责任单位 missing on the finding

_SOURCE_SPLIT = re.compile(r"\s*[,，;；、]\s*")


def _registry() -> ModuleType | None:
    """``checks.registry`` if it is installed; reports must work without it."""
    try:
        return importlib.import_module("checks.registry")
    except ModuleNotFoundError as exc:
        # Only the registry's own absence is tolerated: a bug inside it should surface.
        if exc.name in ("checks", "checks.registry"):
            return None
        raise


def _source_text(source: Any, sources: dict[str, str]) -> str:
    """"IND, PLAN" or ("IND", "PLAN") -> the documents' full titles, joined."""
    if not source:
        return ""
    parts = _SOURCE_SPLIT.split(source) if isinstance(source, str) else [str(s) for s in source]
    return "；".join(sources.get(p.strip(), p.strip()) for p in parts if p.strip())


def check_info(code: str) -> tuple[str, str]:
    """(Chinese short name, source text) of a check; (code, "") when the registry does not know it."""
    registry = _registry()
    if registry is None:
        return code, ""
    check = registry.all_checks().get(code)
    if check is None:
        return code, ""
    name = getattr(check, "name", None) or code
    return name, _source_text(getattr(check, "source", None), getattr(registry, "SOURCES", {}))


def registered_codes() -> set[str] | None:
    """The codes the registry runs, or None when there is no registry to ask."""
    registry = _registry()
    return None if registry is None else set(registry.all_checks())


def check_label(code: str) -> str:
    """"空白栏目（UP04）"; just the code when the name is unknown."""
    name, _ = check_info(code)
    return code if name == code else f"{name}（{code}）"


def unit_label(unit: str | None) -> str:
    return unit.strip() if unit and unit.strip() else UNASSIGNED_UNIT


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """A temporary path next to ``target`` that replaces it only once the block succeeds, so a
    failed write never leaves a half-written file behind (nor a stray temporary one)."""
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp makes the file private; reports are meant to be read (and served) by others.
        tmp.chmod(0o644)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


SCREENSHOT_DIR = "screenshots"


def save_screenshots(session: Any, findings: Any, directory: Path) -> dict[int, str]:
    """Write the screenshots the findings' evidence names into ``directory/screenshots/``.

    Returns screenshot id -> the file's path relative to ``directory`` (what a page or a list links to).
    """
    from govaudit.models import Screenshot

    ids = {f.evidence.get("screenshot") for f in findings if isinstance(f.evidence, dict)}
    ids = {i for i in ids if isinstance(i, int)}
    if not ids:
        return {}
    folder = Path(directory) / SCREENSHOT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for shot in session.query(Screenshot).filter(Screenshot.id.in_(ids), Screenshot.png.is_not(None)):
        name = f"shot-{shot.id}.png"
        target = folder / name
        if not target.exists():
            with atomic_path(target) as tmp:
                tmp.write_bytes(shot.png)
        paths[shot.id] = f"{SCREENSHOT_DIR}/{name}"
    return paths
