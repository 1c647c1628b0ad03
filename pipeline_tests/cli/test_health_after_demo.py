"""The real code location on its bundled samples: right after `pipeline demo`, `pipeline health`
and `pipeline check` report no failure (0 or 1); a bad score planted in the warehouse makes
`pipeline check` and then `pipeline health` exit 2."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.lib import warehouse


def run(*args):
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


@pytest.mark.slow
def test_health_after_demo_then_planted_bad_score(pipeline_env, warehouse_path):
    code, output = run("demo")
    assert code == 0, output

    code, output = run("health", "--json")
    assert code in (0, 1), output
    report = json.loads(output)
    failing = [a for a in report["assets"] if a["status"] in ("unhealthy", "offline")]
    assert failing == []
    assert {a["asset"] for a in report["assets"]} >= {"news_scores", "health_report"}

    code, output = run("check")
    assert code in (0, 1), output

    with warehouse.connection(warehouse_path) as conn:
        assert warehouse.scalar(conn, "SELECT count(*) FROM ai.news_scores") > 0
        conn.execute(
            "UPDATE ai.news_scores SET relevance = 7 WHERE article_id = "
            "(SELECT min(article_id) FROM ai.news_scores)"
        )
    code, output = run("check")
    assert code == 2, output
    assert "FAIL ERROR news_scores:news_scores_range" in output
    code, output = run("health")
    assert code == 2, output
    assert "UNHEALTHY  news_scores" in output
