"""The ASGI app behind `pipeline serve` (Starlette; uvicorn runs it).

* `/unsubscribe?token=…`: GET shows a confirmation page with a button; POST unsubscribes (the
  RFC 8058 one-click POST of mail clients, or the button): no cookies needed, idempotent.
* `/preferences?token=…`: the user's preferences as a form (CSRF-protected by a signed
  double-submit cookie and an Origin check); saved as overrides over users.yaml.
* `/t/open.gif` and `/t/click`: the open pixel and click redirects, signed per message (and
  URL). A click only leads where the e-mail's own link led. HEAD (link scanners, previews)
  is answered but not counted.

The service never opens the warehouse (DuckDB lets one process hold it, and runs need it):
every recipient action is appended to the recipient event store
(pipeline.lib.notify.recipient_events) and folded into the warehouse by a sensor.

Tokens live in query strings, so no request line is logged (uvicorn's access log is off); the
app logs method, path and status only.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pipeline.lib.notify import links, preferences
from pipeline.lib.notify.mailer import unsubscribe_secret
from pipeline.lib.notify.recipient_events import CLICK, OPEN, RecipientEvents
from pipeline.lib.notify.render import http_url
from pipeline.lib.notify.subscriptions import (
    InvalidUnsubscribeToken,
    UnknownRecipient,
    require_user,
    unsubscribe_with_token,
    verify_unsubscribe_token,
)
from pipeline.lib.notify.users import WEEKDAYS, User
from pipeline.lib.scoring.categories import CATEGORY_LABELS, NEWS_CATEGORIES
from pipeline.lib.settings import recipient_events_location, settings
from pipeline.lib.settings.notify import DEFAULT_PUBLIC_URL, public_url
from pipeline.web import forms
from pipeline.web.auth import Auth
from pipeline.web.dashboard import Dashboard
from pipeline.web.ops import Ops
from pipeline.web.pages import (
    INVALID_LINK,
    KIND_LABELS,
    NOT_A_USER,
    NOT_FROM_THIS_PAGE,
    SECURITY_HEADERS,
    TIMEZONES,
    USERS_FILE_BROKEN,
    PageError,
    Redirect,
    error_page,
    page,
)
from pipeline.web.team import Team

log = logging.getLogger("pipeline.web")

CSRF_COOKIE = "pipeline_csrf"
# The smallest transparent GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@dataclass(frozen=True)
class WebSettings:
    events: Path | str  # the recipient event store (a SQLite file or a PostgreSQL URL)
    config_dir: Path
    secret: str = field(repr=False)
    public_url: str = DEFAULT_PUBLIC_URL

    @classmethod
    def from_env(cls, environ: dict | None = None) -> WebSettings:
        return cls(
            events=recipient_events_location(),
            config_dir=settings().config_dir,
            secret=unsubscribe_secret(environ),
            public_url=public_url(environ),
        )


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class App:
    def __init__(self, config: WebSettings) -> None:
        self.config = config
        self.events = RecipientEvents(config.events)

    # --- plumbing ------------------------------------------------------------------------

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

    def require_user(self, user_id: str) -> None:
        try:
            require_user(self.config.config_dir, user_id)
        except UnknownRecipient as error:
            raise NOT_A_USER from error
        except ValueError as error:  # users.yaml is broken: the operator has to fix it
            log.warning("users.yaml unreadable: %s", error)
            raise USERS_FILE_BROKEN from error

    # --- unsubscribe -----------------------------------------------------------------------

    def _unsubscribed_already(self, user_id: str, kind: str) -> bool:
        self.require_user(user_id)
        return self.events.is_unsubscribed(user_id, kind)

    def _unsubscribe(self, token: str) -> tuple[str, str, bool]:
        """The same code as `pipeline unsubscribe TOKEN`."""
        try:
            return unsubscribe_with_token(
                self.events, self.config.config_dir, token, secret=self.config.secret
            )
        except InvalidUnsubscribeToken as error:
            raise INVALID_LINK from error
        except UnknownRecipient as error:
            raise NOT_A_USER from error
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
        form = await (await forms.bounded(request)).form()
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

    def same_origin(self, request: Request) -> bool:
        """A browser names the page a POST comes from; this service's pages are at the public
        URL (or reached directly). No Origin header (old clients): the CSRF token decides."""
        origin = request.headers.get("origin")
        if origin is None:
            return True
        own = {_origin(self.config.public_url), _origin(str(request.base_url))}
        return origin.lower() in own

    def load_user(self, user_id: str) -> tuple[User, User]:
        """(users.yaml entry, effective preferences: users.yaml plus the saved changes in the
        event store); 404 page if not a user."""
        try:
            base = preferences.yaml_user(self.config.config_dir, user_id)
        except ValueError as error:  # users.yaml is broken: the operator has to fix it
            log.warning("preferences unavailable: %s", error)
            raise USERS_FILE_BROKEN from error
        if base is None:
            raise NOT_A_USER
        changes = preferences.current_changes(self.events, user_id)
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
        return self.preferences_form(request, user_id, forms.form_values(current))

    async def save_preferences(self, request: Request) -> Response:
        user_id = self.preferences_user(request)
        if not self.same_origin(request):
            log.warning("preferences POST refused: cross-site Origin")
            raise NOT_FROM_THIS_PAGE
        form = await (await forms.bounded(request)).form()
        nonce = request.cookies.get(CSRF_COOKIE, "")
        sent = str(form.get("csrf", ""))
        if not nonce or not links.signature_matches(self.csrf_field(nonce, user_id), sent):
            raise NOT_FROM_THIS_PAGE
        base, _ = await run_in_threadpool(self.load_user, user_id)
        values, problems = forms.parse_form(form)
        wanted = None
        if not problems:
            try:
                wanted = preferences.with_changes(base, forms.as_changes(values))
            except ValidationError as error:
                problems = forms.validation_problems(error)
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
                preferences.record_preferences, self.events, self.config.config_dir, wanted
            )
        except UnknownRecipient as error:
            raise NOT_A_USER from error
        except ValueError as error:
            log.warning("preferences unavailable: %s", error)
            raise USERS_FILE_BROKEN from error
        log.info("preferences saved for one user")
        return self.preferences_form(request, user_id, forms.form_values(wanted), saved=True)

    # --- tracking --------------------------------------------------------------------------

    async def count(self, request: Request, message_id: str, action: str) -> None:
        # HEAD is what link scanners and previews send: answered, never counted.
        if request.method != "HEAD":
            await run_in_threadpool(self.events.append, action, message_id=message_id)

    async def open_pixel(self, request: Request) -> Response:
        message_id = request.query_params.get("m", "")
        expected = links.open_signature(self.config.secret, message_id)
        if message_id and links.signature_matches(expected, request.query_params.get("s")):
            await self.count(request, message_id, OPEN)
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
        await self.count(request, message_id, CLICK)
        return RedirectResponse(url, status_code=302)

    async def index(self, request: Request) -> Response:
        return page(
            "message.html",
            title="Notification service",
            message="This service handles the unsubscribe and preferences links in e-mails.",
            ok=True,
        )


# --- the Starlette app -------------------------------------------------------------------


def create_app(config: WebSettings) -> Starlette:
    app = App(config)
    ops = Ops(app.events)
    auth = Auth(app)
    team = Team(app, auth)
    dashboard = Dashboard(auth)

    def handled(handler):
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            try:
                response = await handler(request)
            except PageError as error:
                response = error_page(error)
            except Redirect as redirect:
                response = RedirectResponse(redirect.url, status_code=303)
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
        Route("/healthz", handled(ops.healthz), methods=["GET"]),
        Route("/metrics", handled(ops.metrics), methods=["GET"]),
        Route("/login", handled(auth.login_page), methods=["GET"]),
        Route("/login", handled(auth.login), methods=["POST"]),
        Route("/login/link", handled(auth.link_page), methods=["GET"]),
        Route("/login/link", handled(auth.follow_link), methods=["POST"]),
        Route("/logout", handled(auth.logout), methods=["POST"]),
        Route("/upload", handled(team.upload_page), methods=["GET"]),
        Route("/upload", handled(team.upload), methods=["POST"]),
        Route("/uploads", handled(team.uploads), methods=["GET"]),
        Route("/dashboard", handled(dashboard.page), methods=["GET"]),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(_):
        yield
        app.events.close()  # the PostgreSQL pool, when the store is PostgreSQL

    return Starlette(routes=routes, lifespan=lifespan)
