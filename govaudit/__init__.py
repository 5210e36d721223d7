"""govaudit: crawl 政务公开 portals, audit what was crawled, report what an inspector would find."""

__version__ = "0.1.0"
