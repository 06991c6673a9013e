"""GET /api.html: the API reference, Swagger UI rendering /api; GET /report: the violation report
page (a form posting to POST /reports).

FastAPI's own Swagger UI page loads its script and styles from a CDN and runs an inline script: it
neither works offline nor passes the server's Content-Security-Policy. This page is served from
`web_dir` like the viewer: Swagger UI vendored under web/static/vendor, started from a file, no
inline code."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from server.deps import SettingsDep
from server.errors import NotFoundError

router = APIRouter(tags=["docs"])


@router.get("/api.html", include_in_schema=False)
def api_docs(settings: SettingsDep) -> FileResponse:
    page = Path(settings.api.web_dir or "") / "apidocs" / "index.html"
    if not settings.api.web_dir or not page.is_file():
        raise NotFoundError("the API reference page is served with the viewer (TRUCE_API_WEB_DIR)")
    return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/report", include_in_schema=False)
def report_page(settings: SettingsDep) -> FileResponse:
    page = Path(settings.api.web_dir or "") / "report" / "index.html"
    if not settings.api.web_dir or not page.is_file():
        raise NotFoundError("the report page is served with the viewer (TRUCE_API_WEB_DIR)")
    return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache"})
