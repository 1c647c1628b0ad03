"""`pipeline unsubscribe TOKEN`: record the unsubscribe an e-mail's link stands for;
`pipeline resubscribe USER_ID KIND`: undo one, when the user asks for the e-mails again.

Both append to the recipient event store, as `pipeline serve` does (the sender honours it from
then on), and fold the store into the warehouse at once, so notify.unsubscribes shows it."""

from __future__ import annotations

import sys

import click


def _fold(events) -> None:
    from pipeline.defs.shared.resources import warehouse_resource
    from pipeline.lib.notify.event_fold import fold_events
    from pipeline.lib.settings import settings

    fold_events(warehouse_resource().backend, events, settings().config_dir)


@click.command()
@click.argument("token")
def unsubscribe(token: str) -> None:
    """Stop one kind of e-mail for one user, from the token in the unsubscribe link
    (PIPELINE_PUBLIC_URL/unsubscribe?token=...) or in the List-Unsubscribe mailto subject."""
    from pipeline.lib.notify.recipient_events import default_store
    from pipeline.lib.notify.subscriptions import unsubscribe_with_token
    from pipeline.lib.settings import settings

    events = default_store()
    try:
        user_id, kind, newly = unsubscribe_with_token(events, settings().config_dir, token)
    except ValueError as error:  # an invalid token, an unknown user, a kind that cannot be stopped
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    _fold(events)
    click.echo(f"{user_id} unsubscribed from {kind}" + ("" if newly else " (already)"))


@click.command()
@click.argument("user_id")
@click.argument("kind")
def resubscribe(user_id: str, kind: str) -> None:
    """Send KIND of e-mail to USER_ID again after an unsubscribe (an operator's decision, made
    when the user asks: e-mails carry no resubscribe link)."""
    from pipeline.lib.notify.recipient_events import default_store
    from pipeline.lib.notify.subscriptions import resubscribe_user
    from pipeline.lib.notify.users import USER_KINDS
    from pipeline.lib.settings import settings

    if kind not in USER_KINDS:
        click.echo(f"error: unknown kind {kind!r}; kinds: {', '.join(USER_KINDS)}", err=True)
        sys.exit(2)
    events = default_store()
    try:
        removed = resubscribe_user(events, settings().config_dir, user_id, kind)
    except ValueError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(2)
    _fold(events)
    click.echo(
        f"{user_id} receives {kind} again"
        if removed
        else f"{user_id} was not unsubscribed from {kind}"
    )
