"""`pipeline` console script (also `python -m pipeline`)."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import click

from pipeline.lib.logs import LOG_FORMATS, configure_logging
from pipeline.lib.settings import REPO_ROOT, default_dagster_home

# Long-running commands: they log at INFO without --verbose.
SERVICES = {"serve"}


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME defaults to .dagster_home/ in the repository, with the repo's dagster.yaml,
    exactly as `make dev` prepares it."""
    home = default_dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() and (REPO_ROOT / "dagster.yaml").exists():
        shutil.copyfile(REPO_ROOT / "dagster.yaml", config)
    return home


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="text",
    show_default=True,
    envvar="PIPELINE_LOG_FORMAT",
    help="stderr log lines as text or as JSON objects (secrets are redacted in both).",
)
def main(verbose: bool, log_format: str) -> None:
    """Watch grants, client news and sales files; score them; send digests."""
    context = click.get_current_context()
    # A service's request lines and actions (INFO) are what its operators read: logged with or
    # without --verbose.
    service = context.invoked_subcommand in SERVICES
    restore = configure_logging(logging.INFO if verbose or service else logging.WARNING, log_format)
    context.call_on_close(restore)


def _register_commands() -> None:
    from pipeline.cli.backup import backup, restore
    from pipeline.cli.check import check
    from pipeline.cli.demo import demo
    from pipeline.cli.env import env
    from pipeline.cli.health import health
    from pipeline.cli.ingest import ingest
    from pipeline.cli.news import news
    from pipeline.cli.samples import samples
    from pipeline.cli.search import search
    from pipeline.cli.serve import serve
    from pipeline.cli.unsubscribe import resubscribe, unsubscribe

    commands = (
        demo,
        check,
        health,
        backup,
        restore,
        ingest,
        env,
        search,
        news,
        unsubscribe,
        resubscribe,
        serve,
        samples,
    )
    for command in commands:
        main.add_command(command)


_register_commands()
