"""Multipart pipeline uploads, served alike under v1beta1 and v2beta1 (one upstream handler).

The form field is ``uploadfile``; options come from the query string; failures answer with the
handler's own ``{error_message, error_details}`` or text/plain bodies (spec section 5.5).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from emulator.errors import UploadError
from emulator.http.common import credentials, json_response, query, upload_error_response
from emulator.kfp.server import KfpApiServer

FORM_FILE_KEY = "uploadfile"
Handler = Callable[[Request], Any]


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


def _options(request: Request) -> dict[str, str]:
    return {"name": query(request, "name"), "display_name": query(request, "display_name"),
            "description": query(request, "description"), "tags_text": query(request, "tags"),
            "code_source_url": query(request, "code_source_url")}


def pipeline_handler(server: KfpApiServer, render: Callable[[Any], Any]) -> Handler:
    """``POST …/pipelines/upload``: a new pipeline and its first version."""
    async def upload_pipeline(request: Request) -> Response:
        creds = credentials(request, server)
        try:
            filename, data = await read_upload_file(request)
            with server.state.lock:
                pipeline, _ = server.pipelines.upload(
                    creds, filename=filename, data=data, namespace=query(request, "namespace"),
                    **_options(request))
                body = render(pipeline)
        except UploadError as error:
            return upload_error_response(error)
        return json_response(body)
    return upload_pipeline


def version_handler(server: KfpApiServer, render: Callable[[Any], Any]) -> Handler:
    """``POST …/pipelines/upload_version?pipelineid=``: a new version of a pipeline."""
    async def upload_version(request: Request) -> Response:
        creds = credentials(request, server)
        try:
            filename, data = await read_upload_file(request, "Failed to create a pipeline "
                                                             "version")
            with server.state.lock:
                version = server.pipelines.upload_version(
                    creds, filename=filename, data=data,
                    pipeline_id=query(request, "pipelineid"), **_options(request))
                body = render(version)
        except UploadError as error:
            return upload_error_response(error)
        return json_response(body)
    return upload_version
