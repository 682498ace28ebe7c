"""Request bodies over DATA_UPLOAD_MAX_MEMORY_SIZE, refused before anything reads them.

Django raises RequestDataTooBig where a body is first read; with DEBUG on its
debug page answers that (an HTML 400), with DEBUG off handler400 does (our
JSON 413). This middleware looks at Content-Length first, so the answer is the
same documented 413 either way, under /api/ and on the pages. Async-capable,
like chat.static_files: it must not make the request path sync.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest

from chat import upload_handlers
from chat.api.errors import body_too_large


class BodyLimitMiddleware:
    async_capable = True
    sync_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        if too_large(request):
            return body_too_large(request)
        return self.get_response(request)

    async def _acall(self, request: HttpRequest):
        if too_large(request):
            return body_too_large(request)
        return await self.get_response(request)


def too_large(request: HttpRequest) -> bool:
    """Whether the body the client announces is over the limit (any content type)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if upload_handlers.takes_files(request.path):
        limit = upload_handlers.body_limit()  # a file: its own, larger limit
    length = request.META.get("CONTENT_LENGTH") or "0"
    if limit is None:
        return False
    # A malformed length is not ours to judge: Django answers it as before.
    return length.isdigit() and int(length) > limit
