"""`pipeline serve`: the web service behind the links in e-mails (unsubscribe, preferences,
open and click tracking)."""

from __future__ import annotations

import os
import sys

import click

from pipeline.lib.notify.links import DEFAULT_HOST, DEFAULT_PORT, PUBLIC_URL_VARIABLE


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the unsubscribe, preferences and tracking links of e-mails. Refuses to start
    while PIPELINE_UNSUBSCRIBE_SECRET is unset (anyone could forge links)."""
    import uvicorn

    from pipeline.lib.notify.mailer import (
        DevelopmentSecretError,
        require_deployment_secret,
        unsubscribe_secret,
    )
    from pipeline.web.app import WebSettings, create_app

    try:
        require_deployment_secret(unsubscribe_secret(), "refusing to start `pipeline serve`")
    except DevelopmentSecretError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    config = WebSettings.from_env()
    if not os.environ.get(PUBLIC_URL_VARIABLE) and (host, port) != (DEFAULT_HOST, DEFAULT_PORT):
        click.echo(
            f"warning: {PUBLIC_URL_VARIABLE} is unset, so e-mails link to {config.public_url},"
            " not to this server",
            err=True,
        )
    click.echo(
        f"pipeline serve on http://{host}:{port}; links in e-mails point at {config.public_url}"
        " (PIPELINE_PUBLIC_URL)"
    )
    # No access log: the request lines carry signed tokens. The app logs method, path, status.
    uvicorn.run(create_app(config), host=host, port=port, access_log=False, log_level="info")
