"""Multipart pipeline uploads: the form field ``uploadfile`` and the handlers' error shapes."""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from emulator.errors import UploadError
from emulator.http.common import upload_error_response

FORM_FILE_KEY = "uploadfile"


async def read_upload_file(request: Request,
                           failure: str = "Failed to read pipeline from file") -> tuple[str, bytes]:
    """Return (filename, bytes) of the uploaded file or raise the handler's 400."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise UploadError(400, failure, "request Content-Type isn't multipart/form-data")
    try:
        form = await request.form()
    except Exception as exc:
        raise UploadError(400, failure, f"malformed multipart body: {exc}") from None
    upload = form.get(FORM_FILE_KEY)
    if not isinstance(upload, UploadFile):
        raise UploadError(400, failure, "http: no such file")
    data = await upload.read()
    await form.close()
    return upload.filename or "", data


def error(failure: UploadError) -> Response:
    return upload_error_response(failure)
