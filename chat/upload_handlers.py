"""The size limit of an uploaded file, enforced while it streams in.

Django's multipart parser hands each chunk to its upload handlers; this one,
first in FILE_UPLOAD_HANDLERS, stops the upload once a file passes
CHAT_UPLOAD_MAX_BYTES (or the declared body already does), and marks the request
so that the view answers `413 too_long`. What comes after it (Django's own
handlers) keeps at most FILE_UPLOAD_MAX_MEMORY_SIZE in memory, the rest in a
temporary file, so no more than the limit is ever held.
"""

import re

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload

# Room for the multipart framing and the form's other fields.
OVERHEAD_BYTES = 65536
# The endpoints that take a file: a member's, a visitor's.
UPLOAD_PATHS = re.compile(r"^/api/(?:support/[A-Za-z0-9_-]{1,64}/)?uploads/$")


def takes_files(path: str) -> bool:
    return UPLOAD_PATHS.match(path) is not None


def body_limit() -> int:
    """The largest request body an upload endpoint takes."""
    return settings.CHAT_UPLOAD_MAX_BYTES + OVERHEAD_BYTES


def too_large(request) -> bool:
    """Whether the limit stopped this request's upload."""
    return getattr(request, "chat_upload_too_large", False)


class LimitedUploadHandler(FileUploadHandler):
    def handle_raw_input(
        self, input_data, META, content_length, boundary, encoding=None
    ):
        self.received = 0
        if content_length and content_length > body_limit():
            self._stop()

    def receive_data_chunk(self, raw_data, start):
        self.received = start + len(raw_data)
        if self.received > settings.CHAT_UPLOAD_MAX_BYTES:
            self._stop()
        return raw_data

    def file_complete(self, file_size):
        return None

    def _stop(self):
        if self.request is not None:
            self.request.chat_upload_too_large = True
        raise StopUpload(connection_reset=True)
