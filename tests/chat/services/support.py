"""Helpers of the services' tests."""

import pytest

from chat.errors import ChatError

TIMEOUT = 5


def assert_refused(code: str, call, *args, **kwargs) -> ChatError:
    with pytest.raises(ChatError) as info:
        call(*args, **kwargs)
    assert info.value.code == code
    assert info.value.detail
    return info.value
