"""chat.json_input: the client JSON the server reads, and why it refuses the rest."""

import pytest

from chat.json_input import MAX_DEPTH, InvalidJSON, loads


def test_nesting_up_to_the_limit_is_read():
    """32 levels are read; brackets inside strings are text, not nesting."""
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    assert loads('{"body": "' + "[" * 100 + '"}') == {"body": "[" * 100}


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nested deeper than 32"),
        ("[" * 5000 + "]" * 5000, "nested deeper than 32"),
        ('{"a":' * 5000 + "1" + "}" * 5000, "nested deeper than 32"),
        ('{"after": 1e400}', "out of range"),
        ('{"after": -1e400}', "out of range"),
        ('{"after": NaN}', "NaN is not a JSON number"),
        ('{"after": -Infinity}', "-Infinity is not a JSON number"),
        ('{"after": ' + "9" * 5000 + "}", "too many digits"),
        ("{", "Not valid JSON"),
    ],
)
def test_what_is_not_read_is_a_value_error_with_a_reason(text, reason):
    """Each refusal is an InvalidJSON (a ValueError) whose text says why."""
    with pytest.raises(InvalidJSON, match=reason):
        loads(text)
    assert issubclass(InvalidJSON, ValueError)
