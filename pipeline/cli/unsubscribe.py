"""`pipeline unsubscribe TOKEN`: record the unsubscribe an e-mail's link stands for;
`pipeline resubscribe USER_ID KIND`: undo one, when the user asks for the e-mails again."""

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
        user_id, kind, newly = unsubscribe_with_token(warehouse_resource().backend, token)
    except ValueError as error:  # an invalid token, an unknown user, a kind that cannot be stopped
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    click.echo(f"{user_id} unsubscribed from {kind}" + ("" if newly else " (already)"))


@click.command()
@click.argument("user_id")
@click.argument("kind")
def resubscribe(user_id: str, kind: str) -> None:
    """Send KIND of e-mail to USER_ID again after an unsubscribe (an operator's decision, made
    when the user asks: e-mails carry no resubscribe link)."""
    from pipeline.defs.shared.resources import warehouse_resource
    from pipeline.lib import warehouse
    from pipeline.lib.notify.subscriptions import require_user
    from pipeline.lib.notify.subscriptions import resubscribe as undo_unsubscribe
    from pipeline.lib.notify.users import USER_KINDS

    if kind not in USER_KINDS:
        click.echo(f"error: unknown kind {kind!r}; kinds: {', '.join(USER_KINDS)}", err=True)
        sys.exit(2)
    with warehouse.connection(warehouse_resource().backend) as conn:
        try:
            require_user(conn, user_id)
        except ValueError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(2)
        removed = undo_unsubscribe(conn, user_id, kind)
    click.echo(
        f"{user_id} receives {kind} again"
        if removed
        else f"{user_id} was not unsubscribed from {kind}"
    )
