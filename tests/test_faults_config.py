"""Fault matrix, config: a broken sites.yml is refused by `sites validate` and by `run`, every error
listed with file, line and key, and the exit code says so."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from govaudit.cli import main

BROKEN = """\
sites:
  - id: county
    name: 示范县
    url: http://www.county.gov.cn/
    colour: blue
    thresholds: {UP03: {policy_days: "half a year"}}
    columns:
      - {name: 通知公告, url: "http://www.other.gov.cn/col/1/", category: notice}
  - id: county
    name: 重复
    url: www.county.gov.cn/index.html
  - id: ftp-site
    name: 文件站
    url: ftp://files.county.gov.cn/
"""
EXPECTED = [
    ":5: sites[0].colour: unknown key",
    ":6: sites[0].thresholds.UP03.policy_days: must be int",
    ":8: sites[0].columns[0].url: column URL host www.other.gov.cn is not in allowed_hosts",
    ":9: sites[1].id: duplicate site id 'county'",
    ":11: sites[1].url: not an http(s) URL",
    ":14: sites[2].url: not an http(s) URL: 'ftp://files.county.gov.cn/'",
]


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("verb", [("sites", "validate"), ("run",)])
def test_a_broken_config_is_refused_with_every_error_listed(tmp_path, verb):
    config = tmp_path / "sites.yml"
    config.write_text(BROKEN, encoding="utf-8")
    extra = ("--db", f"sqlite:///{tmp_path}/a.db", "--out", str(tmp_path / "out")) if verb == ("run",) else ()
    done = invoke(*verb, "--config", str(config), *extra)
    assert done.exit_code == 1
    for line in EXPECTED:
        assert f"{config}{line}" in done.output, done.output
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("verb", [("sites", "validate"), ("run",)])
def test_invalid_yaml_is_refused_with_its_line_and_column(tmp_path, verb):
    config = tmp_path / "sites.yml"
    config.write_text("sites:\n  - id: a\n    name: [unclosed\n    url: http://a.gov.cn/\n", encoding="utf-8")
    done = invoke(*verb, "--config", str(config), *(("--db", f"sqlite:///{tmp_path}/a.db") if verb == ("run",)
                                                      else ()))
    assert done.exit_code == 1
    assert f"{config}:4: invalid YAML, column 8" in done.output, done.output
