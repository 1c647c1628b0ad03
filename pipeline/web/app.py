"""The ASGI app behind `pipeline serve` (Starlette; uvicorn runs it).

* `/unsubscribe?token=…`: GET shows a confirmation page with a button; POST unsubscribes (the
  RFC 8058 one-click POST of mail clients, or the button): no cookies needed, idempotent.
* `/preferences?token=…`: the user's preferences as a form (CSRF-protected by a signed
  double-submit cookie); saved as overrides over users.yaml (pipeline.lib.notify.preferences).
* `/t/open.gif` and `/t/click`: the open pixel and click redirects, signed per message (and
  URL), counted in notify.email_log. A click only leads where the e-mail's own link led.

Tokens live in query strings, so no request line is logged (uvicorn's access log is off); the
app logs method, path and status only.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import secrets
import time
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from pipeline.lib import warehouse, warehouse_choice
from pipeline.lib.notify import links, preferences, tracking
from pipeline.lib.notify.mailer import unsubscribe_secret
from pipeline.lib.notify.render import http_url
from pipeline.lib.notify.subscriptions import (
    InvalidUnsubscribeToken,
    UnknownRecipient,
    is_unsubscribed,
    require_user,
    unsubscribe_with_token,
    verify_unsubscribe_token,
)
from pipeline.lib.notify.users import WEEKDAYS, User
from pipeline.lib.scoring.categories import CATEGORY_LABELS, NEWS_CATEGORIES
from pipeline.lib.settings import settings
from pipeline.lib.templates import template_environment
from pipeline.lib.warehouse import Warehouse

log = logging.getLogger("pipeline.web")

KIND_LABELS = {
    "instant_alert": "instant alerts",
    "daily_digest": "the daily digest",
    "weekly_digest": "the weekly digest",
    "deadline_reminder": "deadline reminders",
}
CSRF_COOKIE = "pipeline_csrf"
# The smallest transparent GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the page's URL carries the token
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
}
TIMEZONES = sorted(zoneinfo.available_timezones())

_templates = template_environment("pipeline.web")


@dataclass(frozen=True)
class WebSettings:
    warehouse: Warehouse
    config_dir: Path
    secret: str = field(repr=False)
    public_url: str = links.DEFAULT_PUBLIC_URL
    # A request waits this long for a run holding the DuckDB warehouse, then answers 503.
    lock_timeout_s: float = 20.0

    @classmethod
    def from_env(cls, environ: dict | None = None) -> WebSettings:
        return cls(
            warehouse=warehouse_choice.configured(),
            config_dir=settings().config_dir,
            secret=unsubscribe_secret(environ),
            public_url=links.public_url(environ),
        )


class PageError(Exception):
    """Answered with a page that says what went wrong."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def page(name: str, status: int = 200, headers: dict | None = None, **context) -> HTMLResponse:
    html = _templates.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status, headers=headers)


def error_page(error: PageError) -> HTMLResponse:
    headers = {"Retry-After": "60"} if error.status == 503 else None
    return page(
        "message.html", error.status, headers, title=error.title, message=error.message, ok=False
    )


INVALID_LINK = PageError(
    400,
    "This link is not valid",
    "The link is incomplete or was changed. Open it again from the e-mail you received; "
    "if it still fails, the e-mail may be from before this service's signing key changed.",
)


class App:
    def __init__(self, config: WebSettings) -> None:
        self.config = config

    # --- plumbing ------------------------------------------------------------------------

    def connection(self):
        return warehouse.connection(self.config.warehouse, timeout_s=self.config.lock_timeout_s)

    def unsubscribe_target(self, request: Request) -> tuple[str, str]:
        try:
            return verify_unsubscribe_token(
                request.query_params.get("token", ""), secret=self.config.secret
            )
        except InvalidUnsubscribeToken as error:
            raise INVALID_LINK from error

    def preferences_user(self, request: Request) -> str:
        user_id = links.verify_preferences_token(
            self.config.secret, request.query_params.get("token", "")
        )
        if user_id is None:
            raise INVALID_LINK
        return user_id

    @staticmethod
    def users_file_broken(error: ValueError) -> PageError:
        log.warning("preferences unavailable: %s", error)
        return PageError(
            503,
            "Preferences are unavailable",
            "The list of recipients cannot be read right now; please try again later.",
        )

    @staticmethod
    def not_a_user() -> PageError:
        return PageError(
            404,
            "Not a recipient",
            "This address does not receive e-mail from this service (any more).",
        )

    # --- unsubscribe -----------------------------------------------------------------------

    def _unsubscribed_already(self, user_id: str, kind: str) -> bool:
        with self.connection() as conn:
            try:
                require_user(conn, user_id)
            except UnknownRecipient as error:
                raise self.not_a_user() from error
            return is_unsubscribed(conn, user_id, kind)

    def _unsubscribe(self, token: str) -> tuple[str, str, bool]:
        """The same code as `pipeline unsubscribe TOKEN`."""
        try:
            return unsubscribe_with_token(self.config.warehouse, token, secret=self.config.secret)
        except InvalidUnsubscribeToken as error:
            raise INVALID_LINK from error
        except UnknownRecipient as error:
            raise self.not_a_user() from error
        except ValueError as error:  # a kind that cannot be stopped
            raise PageError(400, "Cannot unsubscribe", str(error)) from error

    async def unsubscribe_page(self, request: Request) -> Response:
        """Only shows the question: link scanners and previews GET links, so a GET never
        unsubscribes anyone."""
        user_id, kind = self.unsubscribe_target(request)
        already = await run_in_threadpool(self._unsubscribed_already, user_id, kind)
        return page(
            "unsubscribe.html",
            email=user_id,
            what=KIND_LABELS.get(kind, kind),
            token=request.query_params["token"],
            already=already,
            preferences_url=links.Links(self.config.public_url, self.config.secret).preferences(
                user_id
            ),
        )

    async def unsubscribe(self, request: Request) -> Response:
        """RFC 8058: the mail client POSTs `List-Unsubscribe=One-Click` to the URL of the
        header, without cookies; the confirmation page's button posts `confirmed=page`."""
        form = await request.form()
        user_id, kind, newly = await run_in_threadpool(
            self._unsubscribe, request.query_params.get("token", "")
        )
        log.info("unsubscribed one recipient from %s (%s)", kind, "new" if newly else "again")
        if form.get("confirmed") != "page":
            return Response("unsubscribed\n", media_type="text/plain")
        return page(
            "message.html",
            title="You are unsubscribed",
            message=f"{user_id} will no longer receive {KIND_LABELS.get(kind, kind)}.",
            ok=True,
        )

    # --- preferences -----------------------------------------------------------------------

    def csrf_field(self, nonce: str, user_id: str) -> str:
        return links.csrf_signature(self.config.secret, nonce, user_id)

    def load_user(self, user_id: str) -> tuple[User, User]:
        """(users.yaml entry, effective preferences) of a user; 404 page if not a user."""
        try:
            base = preferences.yaml_user(self.config.config_dir, user_id)
        except ValueError as error:  # users.yaml is broken: the operator has to fix it
            raise self.users_file_broken(error) from error
        if base is None:
            raise self.not_a_user()
        with self.connection() as conn:
            try:
                require_user(conn, user_id)
            except UnknownRecipient as error:
                raise self.not_a_user() from error
            changes = preferences.read_overrides(conn).get(user_id, {})
        try:
            return base, preferences.with_changes(base, changes)
        except ValidationError:
            return base, base

    def preferences_form(
        self,
        request: Request,
        user_id: str,
        values: dict,
        *,
        errors: list[str] = (),
        field_errors: dict | None = None,
        saved: bool = False,
        status: int = 200,
    ) -> Response:
        nonce = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)
        response = page(
            "preferences.html",
            status,
            email=user_id,
            token=request.query_params["token"],
            csrf=self.csrf_field(nonce, user_id),
            values=values,
            errors=list(errors),
            field_errors=field_errors or {},
            saved=saved,
            categories=[(c, CATEGORY_LABELS.get(c, c)) for c in NEWS_CATEGORIES],
            weekdays=WEEKDAYS,
            timezones=TIMEZONES,
        )
        response.set_cookie(
            CSRF_COOKIE,
            nonce,
            httponly=True,
            samesite="strict",
            secure=self.config.public_url.startswith("https://"),
        )
        return response

    async def preferences_page(self, request: Request) -> Response:
        user_id = self.preferences_user(request)
        _, current = await run_in_threadpool(self.load_user, user_id)
        return self.preferences_form(request, user_id, form_values(current))

    async def save_preferences(self, request: Request) -> Response:
        user_id = self.preferences_user(request)
        form = await request.form()
        nonce = request.cookies.get(CSRF_COOKIE, "")
        sent = str(form.get("csrf", ""))
        if not nonce or not links.signature_matches(self.csrf_field(nonce, user_id), sent):
            raise PageError(
                403,
                "Please try again",
                "The form was not sent from this page (or the page was open too long). "
                "Open the preferences link again and save once more.",
            )
        base, _ = await run_in_threadpool(self.load_user, user_id)
        values, problems = parse_form(form)
        wanted = None
        if not problems:
            try:
                wanted = preferences.with_changes(base, as_changes(values))
            except ValidationError as error:
                problems = validation_problems(error)
        if wanted is None:
            return self.preferences_form(
                request,
                user_id,
                values,
                errors=[f"{label}: {message}" for label, message in problems],
                field_errors=dict(problems),
                status=400,
            )
        try:
            await run_in_threadpool(
                preferences.save_preferences, self.config.warehouse, self.config.config_dir, wanted
            )
        except UnknownRecipient as error:
            raise self.not_a_user() from error
        except ValueError as error:
            raise self.users_file_broken(error) from error
        log.info("preferences saved for one user")
        return self.preferences_form(request, user_id, form_values(wanted), saved=True)

    # --- tracking --------------------------------------------------------------------------

    def count(self, message_id: str, event: str) -> None:
        try:
            with self.connection() as conn:
                tracking.record_event(conn, message_id, event, dt.datetime.now(dt.UTC))
        except (warehouse.WarehouseLockedError, duckdb.Error):
            # Counting is best effort: the reader still gets the image or their page.
            log.warning("could not count an e-mail %s", event)

    async def open_pixel(self, request: Request) -> Response:
        message_id = request.query_params.get("m", "")
        expected = links.open_signature(self.config.secret, message_id)
        if message_id and links.signature_matches(expected, request.query_params.get("s")):
            await run_in_threadpool(self.count, message_id, "open")
            return Response(PIXEL, media_type="image/gif")
        return Response(b"invalid tracking link\n", status_code=400, media_type="text/plain")

    async def click(self, request: Request) -> Response:
        message_id = request.query_params.get("m", "")
        url = request.query_params.get("u", "")
        expected = links.click_signature(self.config.secret, message_id, url)
        target = http_url(url)
        if not (message_id and target and target == url) or not links.signature_matches(
            expected, request.query_params.get("s")
        ):
            # Not a link this service put in an e-mail: no redirect anywhere.
            raise INVALID_LINK
        await run_in_threadpool(self.count, message_id, "click")
        return RedirectResponse(url, status_code=302)

    async def index(self, request: Request) -> Response:
        return page(
            "message.html",
            title="Notification service",
            message="This service handles the unsubscribe and preferences links in e-mails.",
            ok=True,
        )


# --- the form ----------------------------------------------------------------------------

WATCHLIST_FIELDS = ("include_keywords", "exclude_keywords", "agencies", "eligibility")


def _words(text: str) -> list[str]:
    return [w.strip() for w in text.split(",") if w.strip()]


def form_values(user: User) -> dict:
    """A user's preferences as the form shows them."""
    return {
        "threshold": f"{user.threshold:g}",
        "categories": list(user.categories),
        "frequency": user.frequency,
        "digest_day": user.digest.day,
        "digest_hour": str(user.digest.hour),
        "timezone": user.timezone,
        "watchlists": [
            {
                "name": w.name,
                **{f: ", ".join(getattr(w, f)) for f in WATCHLIST_FIELDS},
                "amount_min": "" if w.amount_min is None else f"{w.amount_min:g}",
                "amount_max": "" if w.amount_max is None else f"{w.amount_max:g}",
            }
            for w in user.watchlists
        ],
    }


def parse_form(form) -> tuple[dict, list[tuple[str, str]]]:
    """The submitted values (kept as typed, to show them again) and problems pydantic cannot
    name well (a watchlist without a name)."""
    values = {
        "threshold": str(form.get("threshold", "")).strip(),
        "categories": [str(c) for c in form.getlist("categories")],
        "frequency": str(form.get("frequency", "")),
        "digest_day": str(form.get("digest_day", "")),
        "digest_hour": str(form.get("digest_hour", "")).strip(),
        "timezone": str(form.get("timezone", "")).strip(),
        "watchlists": [],
    }
    problems = []
    try:
        count = min(int(str(form.get("watchlist_count", "0"))), 50)
    except ValueError:
        count = 0
    for index in range(count):
        prefix = f"wl{index}_"
        entry = {
            name: str(form.get(prefix + name, "")).strip()
            for name in ("name", *WATCHLIST_FIELDS, "amount_min", "amount_max")
        }
        if form.get(prefix + "remove") or not any(entry.values()):
            continue
        if not entry["name"]:
            problems.append((f"watchlist {index + 1}", "give the watchlist a name"))
        values["watchlists"].append(entry)
    return values, problems


def as_changes(values: dict) -> dict:
    """Form values as override columns (pydantic parses and checks the numbers)."""
    return {
        "threshold": values["threshold"],
        "categories": values["categories"],
        "frequency": values["frequency"],
        "digest_day": values["digest_day"],
        "digest_hour": values["digest_hour"],
        "timezone": values["timezone"],
        "watchlists": [
            {
                "name": w["name"],
                **{f: _words(w[f]) for f in WATCHLIST_FIELDS},
                "amount_min": w["amount_min"] or None,
                "amount_max": w["amount_max"] or None,
            }
            for w in values["watchlists"]
        ],
    }


FIELD_LABELS = {"digest.day": "digest_day", "digest.hour": "digest_hour"}


def validation_problems(error: ValidationError) -> list[tuple[str, str]]:
    """(form field, message) per problem: 'threshold', 'digest_hour', 'watchlist 2'."""
    problems = []
    for problem in error.errors():
        loc = [str(p) for p in problem["loc"]]
        where = ".".join(loc)
        message = problem["msg"].removeprefix("Value error, ")
        if loc and loc[0] == "watchlists" and len(loc) > 1 and loc[1].isdigit():
            where = f"watchlist {int(loc[1]) + 1}"
            message = f"{loc[2]}: {message}" if len(loc) > 2 else message
        problems.append((FIELD_LABELS.get(where, where), message))
    return problems


# --- the Starlette app -------------------------------------------------------------------


def create_app(config: WebSettings) -> Starlette:
    app = App(config)

    def handled(handler):
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except PageError as error:
                response = error_page(error)
            except warehouse.WarehouseLockedError:
                response = error_page(
                    PageError(503, "Busy", "The service is busy; please try again in a minute.")
                )
            response.headers.update(SECURITY_HEADERS)
            # Path only: the query string holds the signed token.
            log.info(
                "%s %s %d %.0fms",
                request.method,
                request.url.path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            return response

        return endpoint

    routes = [
        Route("/", handled(app.index), methods=["GET"]),
        Route(links.UNSUBSCRIBE_PATH, handled(app.unsubscribe_page), methods=["GET"]),
        Route(links.UNSUBSCRIBE_PATH, handled(app.unsubscribe), methods=["POST"]),
        Route(links.PREFERENCES_PATH, handled(app.preferences_page), methods=["GET"]),
        Route(links.PREFERENCES_PATH, handled(app.save_preferences), methods=["POST"]),
        Route(links.OPEN_PATH, handled(app.open_pixel), methods=["GET"]),
        Route(links.CLICK_PATH, handled(app.click), methods=["GET"]),
    ]
    return Starlette(routes=routes)
