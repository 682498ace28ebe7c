"""Static files served by daphne itself, without a thread for every request.

WhiteNoise's middleware is sync-only. In Django's async handler one sync
middleware puts the whole request path through the shared sync thread, the
long poll included, and waiting polls then queue behind each other. This
middleware is async-capable: it looks the path up in WhiteNoise's index (built
once at start-up, from the finders and STATIC_ROOT) and reads only a static
file, in a worker thread; every other request goes on untouched.
"""

from asgiref.sync import iscoroutinefunction, markcoroutinefunction, sync_to_async
from django.http import HttpRequest, HttpResponse
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware:
    async_capable = True
    sync_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.whitenoise = WhiteNoiseMiddleware(get_response)
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        static_file = self.find(request)
        if static_file is None:
            return self.get_response(request)
        return respond(static_file, request)

    async def _acall(self, request: HttpRequest):
        static_file = self.find(request)
        if static_file is None:
            return await self.get_response(request)
        return await sync_to_async(respond, thread_sensitive=False)(
            static_file, request
        )

    def find(self, request: HttpRequest):
        """WhiteNoise's file for the path, or None if it is not a static file."""
        if self.whitenoise.autorefresh:
            return self.whitenoise.find_file(request.path_info)
        return self.whitenoise.files.get(request.path_info)


def respond(static_file, request: HttpRequest) -> HttpResponse:
    """WhiteNoise's answer (headers, 304, ranges) as a plain response.

    The body is read whole: these are the pages' few small files and the admin's.
    """
    answer = static_file.get_response(request.method, request.META)
    body = b""
    if answer.file is not None:
        with answer.file:
            body = answer.file.read()
    response = HttpResponse(body, status=int(answer.status))
    del response["Content-Type"]
    for name, value in answer.headers:
        response[name] = value
    return response
