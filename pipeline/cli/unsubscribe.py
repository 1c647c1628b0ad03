"""`pipeline unsubscribe TOKEN`: record the unsubscribe an e-mail's link stands for."""

from __future__ import annotations

import sys

import click


@click.command()
@click.argument("token")
def unsubscribe(token: str) -> None:
    """Stop one kind of e-mail for one user, from the token in the unsubscribe link
    (PIPELINE_PUBLIC_URL/unsubscribe?token=...) or in the List-Unsubscribe mailto subject."""
    from pipeline.defs.shared.resources import warehouse_resource
    from pipeline.lib.notify.subscriptions import unsubscribe_with_token

    try:
        user_id, kind, newly = unsubscribe_with_token(warehouse_resource().location, token)
    except ValueError as error:  # an invalid token, an unknown user, a kind that cannot be stopped
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    click.echo(f"{user_id} unsubscribed from {kind}" + ("" if newly else " (already)"))
