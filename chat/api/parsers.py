"""The API's JSON parser: DRF's, reading through chat.json_input's limits."""

import codecs

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from chat import json_input


class JSONParser(parsers.JSONParser):
    """Deep nesting, huge numbers and NaN are a 400 `parse_error`, never a 500."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
            return json_input.loads(text)
        except ValueError as exc:  # InvalidJSON, and UnicodeDecodeError
            raise ParseError(f"JSON parse error - {exc}") from None
