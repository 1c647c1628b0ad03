"""The analysts' pages: GET/POST /upload puts a sales file into the landing zone under the
signed-in user's tenant (streamed to disk, never whole in memory), where the landing sensor
takes it; GET /uploads lists the tenant's files and their state, refreshing while one is in
progress. Everything is read from the landing zone and the Dagster instance, never the
warehouse."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from pathlib import Path, PurePath

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pipeline.lib.sales.formats import FORMATS, format_of
from pipeline.lib.sales.landing import (
    datasource_problem,
    open_landing,
    receive,
    upload_key,
    with_hash_suffix,
)
from pipeline.lib.settings import settings
from pipeline.lib.web_sessions import UPLOADS
from pipeline.web import upload_status
from pipeline.web.instance import dagster_instance
from pipeline.web.pages import NOT_FROM_THIS_PAGE, TOO_LARGE, PageError, page

log = logging.getLogger("pipeline.web")

REFRESH_SECONDS = 5
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.()+-]{0,150}$")


def max_upload_bytes() -> int:
    """The landing zone's own limit for one file (PIPELINE_MAX_FILE_MB), so an upload the zone
    would refuse is refused while it arrives."""
    return settings().max_file_bytes


def _bad(message: str) -> PageError:
    return PageError(400, "The file was not uploaded", message)


def _file_name(raw: str) -> str:
    name = PurePath(raw.replace("\\", "/")).name
    if not FILE_NAME.match(name) or format_of(name) is None:
        raise _bad(
            f"{name or 'The file'}: a file name of letters, digits, spaces and _.()+- ending "
            f"in one of {', '.join(FORMATS)} is expected"
        )
    return name


class Team:
    def __init__(self, app, auth) -> None:
        self.app, self.auth = app, auth

    def _limited(self, request: Request) -> Request:
        """The request, its body refused (413) past the upload limit while it streams in."""
        limit = max_upload_bytes() + 64 * 1024  # the form's fields and boundaries
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise TOO_LARGE
        seen = 0
        receive_next = request.receive

        async def counted():
            nonlocal seen
            message = await receive_next()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise TOO_LARGE
            return message

        return Request(request.scope, counted)

    async def upload_page(self, request: Request) -> Response:
        user = await self.auth.require(request, UPLOADS)
        return page("upload.html", user=user, max_mb=max_upload_bytes() // (1024 * 1024))

    def _land(self, spooled, datasource: str, name: str) -> str:
        """Copy the received file into the zone (the `pipeline ingest` path, without the
        warehouse: the sensor registers it)."""
        location = settings().landing
        scratch = settings().data_dir / "tmp" / "uploads"
        scratch.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=scratch) as tmp:
            source = Path(tmp) / name
            with source.open("wb") as out:
                shutil.copyfileobj(spooled, out, 1 << 20)
            received = receive(location, source)
            landing = open_landing(location)
            key = upload_key(datasource, name)
            try:
                if landing.exists(key) and landing.hash_of(key) != received.file_hash:
                    key = with_hash_suffix(key, received.file_hash)
                landing.put_received(received, key)
            except BaseException:
                received.discard()
                raise
        return key

    async def upload(self, request: Request) -> Response:
        user = await self.auth.require(request, UPLOADS)
        if not self.app.same_origin(request):
            raise NOT_FROM_THIS_PAGE
        form = await self._limited(request).form(max_files=1, max_fields=4)
        try:
            short = str(form.get("datasource", "")).strip()
            if problem := datasource_problem(short):
                raise _bad(problem)
            sent = form.get("file")
            if sent is None or isinstance(sent, str):
                raise _bad("Choose a file to upload.")
            name = _file_name(sent.filename or "")
            if sent.size is not None and sent.size > max_upload_bytes():
                raise TOO_LARGE
            datasource = upload_status.tenant_datasource(user.tenant, short)
            if problem := datasource_problem(datasource):
                raise _bad(problem)
            key = await run_in_threadpool(self._land, sent.file, datasource, name)
        finally:
            await form.close()
        log.info("uploaded one file for tenant %s", user.tenant)
        return RedirectResponse(f"/uploads?landed={Path(key).name}", status_code=303)

    def _states(self, tenant: str) -> list[upload_status.UploadState]:
        return upload_status.upload_states(tenant, dagster_instance(), open_landing())

    async def uploads(self, request: Request) -> Response:
        user = await self.auth.require(request, UPLOADS)
        states = await run_in_threadpool(self._states, user.tenant)
        busy = any(s.state in upload_status.IN_PROGRESS for s in states)
        headers = {"Refresh": str(REFRESH_SECONDS)} if busy else None
        return page("uploads.html", headers=headers, user=user, files=states, busy=busy)
