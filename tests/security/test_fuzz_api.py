"""The HTTP API, fuzzed from its own OpenAPI schema (schemathesis) on a real daphne.

Every operation of /api/schema/ gets generated requests, valid and not; each
answer must be no 5xx and match the schema (status, content type, headers,
body). Beside the schema (hypothesis): bodies nested thousands deep or holding
numbers Python's reader trips on, every route with the methods it does not
serve, and paths no route serves. All of it with DEBUG off and on (`make run`).
Bounded and repeatable: a few examples per operation, derandomized.
"""

import json

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode, checks

from accounts.tokens import create_token
from chat.models import Message
from chat.services.messages import store_message
from tests.live import DaphneServer, http_json

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


@pytest.fixture(scope="module", params=["0", "1"], ids=["debug_off", "debug_on"])
def api_server(request, django_db_setup, tmp_path_factory):
    """A daphne whose limits stay out of the fuzzer's way, DEBUG off then on."""
    log = tmp_path_factory.mktemp("fuzz") / "daphne.log"
    server = DaphneServer(
        log,
        DEBUG=request.param,
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
    """A user, a room it is in with a message of its own, and a peer: half the
    cases aim at them."""
    user = make_user("fuzzer")
    make_user("fuzzpeer")
    make_room("fuzzroom", members=[user])
    store_message(sender=user, room="fuzzroom", body="fuzz me")
    return user


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda mode: mode.value)
@pytest.mark.parametrize("label", _operation_labels())
def test_api_answers_every_generated_request_within_its_schema(
    api_server, api_schema, fuzz_world, label, mode
):
    """No 5xx, and every answer is one the schema describes."""
    method, path = label.split(" ", 1)
    operation = api_schema[path][method]
    aimed = {
        "slug": "fuzzroom",
        "username": "fuzzpeer",
        "message_id": Message.objects.filter(sender=fuzz_world).first().pk,
        "emoji": "👍",
    }
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
    """The fuzzer reaches the whole API: the schema holds all 67 operations."""
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
    assert "GET /api/users/" in labels
    for label in (
        "PATCH /api/messages/{message_id}/",
        "DELETE /api/messages/{message_id}/",
        "PUT /api/messages/{message_id}/reactions/{emoji}/",
        "DELETE /api/messages/{message_id}/reactions/{emoji}/",
        "GET /api/changes/",
    ):
        assert label in labels
    assert "GET /api/search/" in labels
    assert "POST /api/uploads/" in labels
    assert "GET /api/uploads/{upload_id}/{key}/" in labels
    for label in (
        "GET /api/rooms/{slug}/bans/",
        "POST /api/rooms/{slug}/bans/",
        "DELETE /api/rooms/{slug}/bans/{username}/",
        "GET /api/rooms/{slug}/mutes/",
        "POST /api/rooms/{slug}/mutes/",
        "DELETE /api/rooms/{slug}/mutes/{username}/",
        "GET /api/rooms/{slug}/audit/",
    ):
        assert label in labels
    assert "POST /api/push/subscriptions/" in labels
    for label in (
        "GET /api/rooms/{slug}/invites/",
        "POST /api/rooms/{slug}/invites/",
        "DELETE /api/rooms/{slug}/invites/{code}/",
        "DELETE /api/invites/{code}/",
        "POST /api/invites/{code}/accept/",
        "POST /api/messages/{message_id}/report/",
        "GET /api/rooms/{slug}/reports/",
        "POST /api/rooms/{slug}/reports/{report_id}/resolve/",
        "POST /api/support/{public_key}/visitors/",
        "POST /api/support/{public_key}/uploads/",
        "GET /api/support/{public_key}/uploads/{upload_id}/{key}/",
        "GET /api/support/conversations/{id}/",
        "POST /api/support/conversations/{id}/transfer/",
        "GET /api/support/metrics.csv",
    ):
        assert label in labels
    assert "GET /api/presence/" in labels
    assert len(labels) == 69, json.dumps(labels)


# --- Beside the schema: shapes, methods and paths it does not describe --------------

METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "TRACE", "PROPFIND", "FOO"]
FIELDS = ["body", "username", "password", "slug", "title", "id", "client_id", "name"]
FILLED = {
    "{slug}": "fuzzroom",
    "{username}": "fuzzpeer",
    "{message_id}": "1",
    "{emoji}": "%F0%9F%91%8D",
    "{upload_id}": "1",
    "{key}": "fuzzkey",
    "{code}": "fuzzcode",
    "{report_id}": "1",
    "{public_key}": "fuzzsite",
    "{id}": "1",
}


def _routes() -> dict[str, set[str]]:
    """Each API path, filled in, with the methods its operations document."""
    spec = SchemaGenerator().get_schema(request=None, public=True)
    routes = {}
    for path, methods in spec["paths"].items():
        for placeholder, value in FILLED.items():
            path = path.replace(placeholder, value)
        routes[path] = {method.upper() for method in methods}
    return routes


def _json_bodies() -> set[tuple[str, str]]:
    """(method, filled path) of the operations that read a JSON body."""
    spec = SchemaGenerator().get_schema(request=None, public=True)
    found = set()
    for path, methods in spec["paths"].items():
        for placeholder, value in FILLED.items():
            path = path.replace(placeholder, value)
        found |= {
            (m.upper(), path)
            for m, op in methods.items()
            if "application/json" in op.get("requestBody", {}).get("content", {})
        }
    return found


ROUTES = _routes()
JSON_BODIES = _json_bodies()

depths = st.integers(min_value=33, max_value=6000)
nested = depths.flatmap(
    lambda depth: st.sampled_from(
        [
            "[" * depth + "]" * depth,
            '{"a":' * depth + "1" + "}" * depth,
            '[{"b":' * depth + "0" + "}]" * depth,
        ]
    )
)
huge_numbers = st.sampled_from(
    ["1e400", "-1e400", "1E999999", "NaN", "Infinity", "-Infinity"]
) | st.integers(min_value=4301, max_value=20000).map(lambda digits: "9" * digits)
bad_bodies = (
    nested
    | huge_numbers
    | st.tuples(st.sampled_from(FIELDS), nested | huge_numbers).map(
        lambda pair: '{"%s": %s}' % pair  # noqa: UP031 - the value is JSON text
    )
)


def _fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )


def _assert_json_error(status: int, headers: dict, answer, what) -> None:
    assert status < 500, (what, status, answer)
    assert headers.get("Content-Type") == "application/json", (what, headers)
    assert isinstance(answer, dict), (what, answer)
    assert isinstance(answer.get("code"), str), (what, answer)
    assert isinstance(answer.get("detail"), str), (what, answer)


def test_deep_and_huge_number_bodies_are_400_parse_error(api_server, fuzz_world):
    """Nesting past 32 levels or a number out of reach: 400 parse_error, never 5xx."""
    _, token = create_token(user=fuzz_world)

    @_fuzz_settings(60)
    @given(operation=st.sampled_from(sorted(JSON_BODIES)), body=bad_bodies)
    def answers_parse_error(operation, body):
        method, path = operation
        status, headers, answer = http_json(
            method,
            f"{api_server.http_url}{path}",
            token=token,
            raw=body.encode(),
            headers={"Content-Type": "application/json"},
        )
        _assert_json_error(status, headers, answer, (method, path, body[:40]))
        assert (status, answer["code"]) == (400, "parse_error"), (method, path)

    answers_parse_error()


def test_every_route_answers_the_methods_it_does_not_serve_in_json(
    api_server, fuzz_world
):
    """A method a route does not document: 405 (401 without a token), JSON, no 5xx."""
    _, token = create_token(user=fuzz_world)
    cases = [
        (path, method)
        for path, served in sorted(ROUTES.items())
        for method in METHODS
        if method not in served and not (method == "GET" and "POST" in served)
    ]

    @_fuzz_settings(60)
    @given(case=st.sampled_from(cases), with_token=st.booleans())
    def answers_405(case, with_token):
        path, method = case
        status, headers, answer = http_json(
            method, f"{api_server.http_url}{path}", token=token if with_token else None
        )
        _assert_json_error(status, headers, answer, (method, path))
        if with_token:
            assert (status, answer["code"]) == (405, "method_not_allowed"), case
        else:
            assert status in {401, 405}, case

    answers_405()
    assert len(cases) > 40, cases


paths = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~%/", min_size=1, max_size=40
)


def test_unknown_api_paths_are_a_json_404_for_every_method(api_server, fuzz_world):
    """A path no route serves, under /api/ or beyond a real one: a JSON 404."""
    _, token = create_token(user=fuzz_world)
    bases = ["/api/zz", "/api/rooms/fuzzroom/zz", "/api/dm/fuzzpeer/zz", "/api/auth/zz"]

    @_fuzz_settings(60)
    @given(
        base=st.sampled_from(bases),
        rest=paths,
        method=st.sampled_from(METHODS),
        with_token=st.booleans(),
    )
    def answers_404(base, rest, method, with_token):
        path = f"{base}{rest}"
        status, headers, answer = http_json(
            method, f"{api_server.http_url}{path}", token=token if with_token else None
        )
        _assert_json_error(status, headers, answer, (method, path))
        assert (status, answer["code"]) == (404, "not_found"), (method, path)

    answers_404()


def test_unknown_page_paths_are_never_a_server_error(api_server):
    """Outside /api/, a path no page serves gets a 4xx for any method."""

    @_fuzz_settings(40)
    @given(rest=paths, method=st.sampled_from(METHODS))
    def answers_4xx(rest, method):
        status, _, answer = http_json(method, f"{api_server.http_url}/zz{rest}")
        assert 400 <= status < 500, (method, rest, status)

    answers_4xx()
