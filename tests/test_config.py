"""sites.yml: strict validation whose errors name the file, the line and the key."""

from __future__ import annotations

import pytest

from govaudit.config import ConfigError, host_allowed, load_config, parse_config

GOOD = """\
sites:
  - id: demo-county
    name: 示范县人民政府
    url: http://127.0.0.1:8000/
    unit: 县政府办公室
    columns:
      - {name: 政府动态, url: "http://127.0.0.1:8000/col/news/", category: news}
"""


def problems_of(text: str, known=None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "sites.yml", known)
    return [str(p) for p in info.value.problems]


def test_a_valid_file_gives_sites_with_defaults():
    config = parse_config(GOOD)
    site = config.site("demo-county")
    assert site.allowed_hosts == ["127.0.0.1:8000"]
    assert site.kind == "department" and site.robots is True
    assert site.limits.pages == 20000
    assert site.columns[0].category == "news"


def test_every_error_is_listed_with_line_and_key():
    text = """\
sites:
  - id: bad id
    name: x
    url: ftp://example.org/
    colour: red
    limits: {pages: many}
"""
    found = problems_of(text)
    assert "sites.yml:2: sites[0].id: String should match pattern '^[A-Za-z0-9-]+$'" in found
    assert "sites.yml:4: sites[0].url: not an http(s) URL: 'ftp://example.org/'" in found
    assert "sites.yml:5: sites[0].colour: unknown key" in found
    assert any(p.startswith("sites.yml:6: sites[0].limits.pages:") for p in found)


def test_invalid_yaml_reports_line_and_column():
    found = problems_of("sites:\n  - id: a\n    name: [unclosed\n")
    assert len(found) == 1
    assert found[0].startswith("sites.yml:") and "invalid YAML, column" in found[0]


def test_duplicate_site_ids_and_keys_are_refused():
    text = GOOD + """\
  - id: demo-county
    name: again
    name: twice
    url: http://127.0.0.1:8001/
"""
    found = problems_of(text)
    assert any("sites.yml:8: sites[1].id: duplicate site id 'demo-county'" in p for p in found)
    assert any("sites.yml:10: sites[1].name: duplicate key" in p for p in found)


def test_a_column_on_another_host_is_refused():
    text = GOOD.replace("http://127.0.0.1:8000/col/news/", "http://elsewhere.example/col/news/")
    assert problems_of(text) == [
        "sites.yml:7: sites[0].columns[0].url: column URL host elsewhere.example is not in allowed_hosts"
    ]


def test_thresholds_must_name_known_checks_keys_and_types():
    text = GOOD + "    thresholds: {UP03: {policy_days: soon, weekly: 1}, ZZ99: {days: 1}}\n"
    found = problems_of(text, known={"UP03": {"policy_days": 180}})
    assert "sites.yml:8: sites[0].thresholds.UP03.policy_days: must be int, got 'soon'" in found
    assert any(p.startswith("sites.yml:8: sites[0].thresholds.UP03.weekly: unknown threshold") for p in found)
    assert "sites.yml:8: sites[0].thresholds.ZZ99: no such check" in found


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yml")


def test_the_shipped_config_is_valid():
    from govaudit.audit import load_checked_config

    config = load_checked_config("config/sites.yml")
    assert config.sites


def test_host_allow_list_matches_port_only_when_given():
    assert host_allowed("http://127.0.0.1:9000/x", ["127.0.0.1"])
    assert host_allowed("http://127.0.0.1:9000/x", ["127.0.0.1:9000"])
    assert not host_allowed("http://127.0.0.1:9001/x", ["127.0.0.1:9000"])
    assert not host_allowed("http://evil.example/x", ["127.0.0.1"])


def test_what_only_paces_a_crawl_does_not_change_the_config_that_shapes_its_rows_and_findings():
    from checks.base import audit_fingerprint
    from govaudit.config import shaping_config

    def site(limits: str = "", more: str = ""):
        return parse_config(f"""
sites:
  - id: county
    name: 示范县人民政府
    url: http://www.county.gov.cn/
    limits: {{{limits}}}
    {more}
""").sites[0]

    base = site()
    paced = site("delay: 2, concurrency: 1, timeout: 60, revisit_days: 14, recheck_times: 0", "screenshots: false")
    assert shaping_config(paced.model_dump(mode="json")) == shaping_config(base.model_dump(mode="json"))
    assert audit_fingerprint(paced) == audit_fingerprint(base)
    assert shaping_config(paced.model_dump(mode="json"))["limits"]["pages"] == 20000
    # Which pages a run holds, which hosts are the site's, a check's threshold: all of them count.
    for other in (site("pages: 500"), site("depth: 3"), site(more="service_hosts: [zwfw.county.gov.cn]"),
                  site(more="thresholds: {SC01: {days: 10}}")):
        assert shaping_config(other.model_dump(mode="json")) != shaping_config(base.model_dump(mode="json"))
        assert audit_fingerprint(other) != audit_fingerprint(base)
    assert shaping_config(None) is None
