"""`pipeline env` (what `make dev` prints): paths, instance storage, live vs sample providers."""

import os
import shutil
from pathlib import Path

from click.testing import CliRunner

from pipeline.cli import main
from pipeline.lib.settings import REPO_ROOT


def run_env(*args: str) -> str:
    result = CliRunner().invoke(main, ["env", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def provider_lines(output: str) -> dict[str, str]:
    lines = output.split("providers\n", 1)[1].splitlines()
    return {line.split()[0]: line.split(None, 1)[1] for line in lines if line.strip()}


def test_env_names_the_ui_paths_and_each_provider_state(pipeline_env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-printed-123456")
    output = run_env("--ui", "http://127.0.0.1:3999")
    assert "Dagster UI       http://127.0.0.1:3999" in output
    assert str(pipeline_env / "warehouse.duckdb") in output
    assert "SQLite files in" in output
    providers = provider_lines(output)
    assert providers["openai"] == "live"
    assert providers["newsapi"] == "samples (set NEWSAPI_KEY for live)"
    assert "sk-test-not-printed" not in output


def test_env_says_when_the_instance_is_on_postgres(pipeline_env):
    home = Path(os.environ["DAGSTER_HOME"])
    shutil.copyfile(REPO_ROOT / "deploy" / "postgres" / "dagster.yaml", home / "dagster.yaml")
    assert "PostgreSQL from DAGSTER_PG_URL" in run_env()
