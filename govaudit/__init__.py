"""govaudit: crawl 政务公开 portals, audit what was crawled, report what an inspector would find."""

__version__ = "0.1.0"


def user_agent(contact: str | None = None) -> str:
    """How the crawler and the probe introduce themselves, so a site's operators can reach the auditor."""
    return f"govaudit/{__version__} (政务公开 compliance audit{f'; +{contact}' if contact else ''})"
