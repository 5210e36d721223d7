"""Where the browser is and how it is started (Debian's Chromium; never a downloaded build)."""

from __future__ import annotations

import os
import shutil

# Without the background-networking switches Chromium keeps calling home, which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str | None:
    """``$GOVAUDIT_CHROMIUM``, else Debian's /usr/bin/chromium, else a ``chromium`` on PATH."""
    for candidate in (os.environ.get("GOVAUDIT_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def launch_options(timeout_s: float = 30) -> dict:
    """Playwright's launch options for that Chromium; raises when there is none."""
    path = chromium_path()
    if path is None:
        raise FileNotFoundError("no Chromium found: install Debian's 'chromium' or set $GOVAUDIT_CHROMIUM")
    return {"executable_path": path, "headless": True, "args": list(CHROMIUM_ARGS), "timeout": timeout_s * 1000}
