"""`pipeline serve`: the web service behind the links in e-mails (unsubscribe, preferences,
open and click tracking)."""

from __future__ import annotations

import sys

import click

from pipeline.lib.settings import is_set
from pipeline.lib.settings.notify import DEFAULT_HOST, DEFAULT_PORT, PUBLIC_URL_VARIABLE


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Serve the unsubscribe, preferences and tracking links of e-mails. Links are verified
    with PIPELINE_UNSUBSCRIBE_SECRET, or the data dir's generated secret when it is unset."""
    import uvicorn

    from pipeline.lib.notify.secret import UnsubscribeSecretError, secret_source
    from pipeline.web.app import WebSettings, create_app

    try:
        config = WebSettings.from_env()
    except UnsubscribeSecretError as error:
        click.echo(f"error: refusing to start `pipeline serve`: {error}", err=True)
        sys.exit(2)
    if not is_set(PUBLIC_URL_VARIABLE) and (host, port) != (DEFAULT_HOST, DEFAULT_PORT):
        click.echo(
            f"warning: {PUBLIC_URL_VARIABLE} is unset, so e-mails link to {config.public_url},"
            " not to this server",
            err=True,
        )
    click.echo(
        f"pipeline serve on http://{host}:{port}; links in e-mails point at {config.public_url}"
        f" (PIPELINE_PUBLIC_URL); links signed with the secret from {secret_source()}"
    )
    # No access log: the request lines carry signed tokens. The app logs method, path, status.
    uvicorn.run(create_app(config), host=host, port=port, access_log=False, log_level="info")
