"""The HTTP API, fuzzed from its own OpenAPI schema (schemathesis) on a real daphne.

Every operation of /api/schema/ gets generated requests, valid and not; each
answer must be no 5xx and match the schema (status, content type, headers,
body). Bounded and repeatable: a few examples per operation, derandomized.
"""

import json

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode, checks

from accounts.tokens import create_token
from tests.live import DaphneServer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

EXAMPLES = 12  # per operation and mode
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]


def _operation_labels() -> list[str]:
    """The operations, read from the same generator that serves /api/schema/."""
    spec = SchemaGenerator().get_schema(request=None, public=True)
    return [
        f"{method.upper()} {path}"
        for path, methods in spec["paths"].items()
        for method in methods
    ]


@pytest.fixture(scope="module")
def api_server(django_db_setup, tmp_path_factory):
    """A daphne whose limits stay out of the fuzzer's way."""
    log = tmp_path_factory.mktemp("fuzz") / "daphne.log"
    server = DaphneServer(
        log,
        CHAT_RATE_BURST="1000000",
        CHAT_AUTH_RATE_BURST="1000000",
        CHAT_MAX_CONNECTIONS_PER_USER="1000",
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(api_server):
    """The schema as the live server serves it."""
    return schemathesis.openapi.from_url(f"{api_server.http_url}/api/schema/")


@pytest.fixture
def fuzz_world(make_user, make_room):
    """A user, a room it is in and a peer: half the cases aim at them."""
    user = make_user("fuzzer")
    make_user("fuzzpeer")
    make_room("fuzzroom", members=[user])
    return user


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
@pytest.mark.parametrize("label", _operation_labels())
def test_api_answers_every_generated_request_within_its_schema(
    api_server, api_schema, fuzz_world, label, mode
):
    """No 5xx, and every answer is one the schema describes."""
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]
    aimed = {"slug": "fuzzroom", "username": "fuzzpeer"}
    drawn = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_within_schema(case):
        _, token = create_token(user=fuzz_world)  # fresh: a case may revoke it
        if case.query and "wait" in case.query:
            case.query["wait"] = "0"  # a long poll would hold the run for 30 s
        drawn.append(case)
        if case.path_parameters and len(drawn) % 2:
            case.path_parameters = {
                name: aimed.get(name, value)
                for name, value in case.path_parameters.items()
            }
        response = case.call(
            base_url=api_server.http_url,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        case.validate_response(response, checks=CHECKS)

    answers_within_schema()


def test_schema_lists_every_api_operation():
    """The fuzzer reaches the whole API: the schema holds all 22 operations."""
    labels = _operation_labels()
    assert "POST /api/auth/ticket/" in labels
    assert "POST /api/rooms/{slug}/read/" in labels
    for label in (
        "PATCH /api/rooms/{slug}/",
        "DELETE /api/rooms/{slug}/",
        "DELETE /api/rooms/{slug}/members/{username}/",
        "POST /api/rooms/{slug}/members/{username}/role/",
    ):
        assert label in labels
    assert len(labels) == 22, json.dumps(labels)
