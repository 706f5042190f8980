"""The HTTP app of a model: every route, the spec's checks as 422s, the model's errors as 500s,
the token, the limits, arrays both ways, batching, storing, metrics and the OpenAPI document
(through Starlette's test client, and fuzzed from that document)."""

from __future__ import annotations

import json
import math
import threading
import time

import numpy as np
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

pytest.importorskip("starlette")
from schemathesis.specs.openapi.checks import positive_data_acceptance
from starlette.testclient import TestClient

from modelcrate import Model
from modelcrate.serve import check_token, create_app
from modelcrate.spec import parse_spec


class Beamline(Model):
    """A screen image and a spot size from a focal length; raises for focal 0.5 exactly."""

    spec = parse_spec(
        """
model: {name: beamline, description: A test beamline.}
input_variables:
  focal: {type: scalar, default: 0.2, range: [0.0, 1.0], policy: error, unit: m}
  gain: {type: int, default: 2, range: [1, 10]}
  profile: {type: array, shape: [3], default: [0.0, 0.0, 0.0]}
  offset: {type: scalar, default: 0.0, range: [-.inf, .inf]}
output_variables:
  spot: {type: scalar, unit: mm}
  screen: {type: image, shape: [2, 2]}
  edge: {type: scalar}
""",
        source="beamline.yml",
    )
    version = "1.2"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def evaluate(self, inputs):
        if inputs["focal"] == 0.5:
            raise ZeroDivisionError("the focus is at the singular point")
        spot = inputs["focal"] * inputs["gain"] + float(np.sum(inputs["profile"]))
        screen = np.full((2, 2), spot)
        return {"spot": spot, "screen": screen, "edge": math.inf if spot > 5 else math.nan}

    def evaluate_batch(self, input_sets):
        self.batches.append(len(input_sets))
        return [self.evaluate(inputs) for inputs in input_sets]


@pytest.fixture
def model():
    return Beamline()


@pytest.fixture
def client(model):
    with TestClient(create_app(model)) as client:
        yield client


def evaluate(client, body, **kwargs):
    return client.post("/v1/evaluate", content=json.dumps(body), **kwargs)


def test_one_input_set_gives_its_outputs_arrays_as_lists_and_non_finite_as_strings(client):
    answer = evaluate(client, {"inputs": {"focal": 0.25, "profile": [1, 0, 0]}})
    assert answer.status_code == 200
    assert answer.json() == {
        "outputs": {"spot": 1.5, "screen": [[1.5, 1.5], [1.5, 1.5]], "edge": "NaN"}
    }
    assert evaluate(client, {"inputs": {"focal": 1.0, "gain": 10}}).json()["outputs"]["edge"] == (
        "Infinity"
    )


def test_a_batch_is_one_evaluate_batch_call_with_the_answers_in_order(client, model):
    answer = evaluate(client, {"inputs": [{"focal": 0.1}, {"focal": 0.3}, {}]})
    assert answer.status_code == 200
    assert [out["spot"] for out in answer.json()["outputs"]] == [0.2, 0.6, 0.4]
    assert model.batches == [3]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"inputs": {"focal": 2.0}}, "focal"),
        ({"inputs": {"focal": "far"}}, "focal"),
        ({"inputs": {"lens": 1}}, "unknown input 'lens'; the inputs of beamline are: focal"),
        ({"inputs": {"profile": [1, 2]}}, "profile"),
        ({"inputs": [{"focal": 0.1}, {"focal": 3}]}, "input set 1: "),
        ({"inputs": []}, "inputs: expected an object of inputs, or a non-empty list"),
        ({"inputs": 3}, "expected an object of inputs"),
        ({"focal": 0.1}, "must be an object with one key, inputs"),
        ([1, 2], "must be an object with one key, inputs"),
    ],
)
def test_inputs_the_spec_refuses_are_a_422_naming_what_is_wrong(client, body, reason):
    answer = evaluate(client, body)
    assert answer.status_code == 422
    assert reason in answer.json()["error"]
    assert "\n" not in answer.json()["error"]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"inputs": {"focal": 0.1', "not valid JSON (line 1"),
        (b'{"inputs": {"focal": 0.1, "focal": 0.2}}', "appears twice"),
        (b"\xff\xfe", "not UTF-8"),
        (b"", "not valid JSON"),
        (b'{"inputs": {"gain": ' + b"9" * 5000 + b"}}", "too long"),
        (b"[" * 100_000 + b"]" * 100_000, "nested"),
    ],
)
def test_a_body_that_is_not_good_json_is_a_422(client, content, reason):
    answer = client.post("/v1/evaluate", content=content)
    assert answer.status_code == 422
    assert reason in answer.json()["error"]


def test_a_value_outside_its_range_under_warn_is_answered_with_the_warning(client):
    answer = evaluate(client, {"inputs": {"gain": 20}})
    assert answer.status_code == 200
    assert answer.json()["outputs"]["spot"] == pytest.approx(4.0)
    (warning,) = answer.json()["warnings"]
    assert "gain" in warning and "20" in warning


def test_an_exception_in_the_model_is_a_500_with_its_reason_and_the_server_goes_on(client, caplog):
    answer = evaluate(client, {"inputs": {"focal": 0.5}})
    assert answer.status_code == 500
    assert answer.json() == {"error": "ZeroDivisionError: the focus is at the singular point"}
    assert "Traceback" in caplog.text and "singular point" in caplog.text
    assert evaluate(client, {"inputs": {"focal": 0.4}}).status_code == 200


def test_outputs_that_break_the_variables_are_a_500_naming_the_output(model):
    model.evaluate = lambda inputs: {"spot": "wide", "screen": [[0]], "edge": 0.0}
    with TestClient(create_app(model)) as client:
        answer = evaluate(client, {"inputs": {}})
    assert answer.status_code == 500
    assert "spot" in answer.json()["error"]


def test_the_variables_and_the_schemas_describe_the_model(client):
    variables = client.get("/v1/variables").json()
    assert (variables["name"], variables["version"]) == ("beamline", "1.2")
    assert variables["variables"]["input_variables"]["focal"]["value_range"] == [0.0, 1.0]
    assert list(variables["variables"]["output_variables"]) == ["spot", "screen", "edge"]
    offset = variables["variables"]["input_variables"]["offset"]
    assert offset["value_range"] == ["-Infinity", "Infinity"]
    schemas = client.get("/v1/schema").json()
    focal = schemas["inputs"]["properties"]["focal"]
    assert (focal["minimum"], focal["maximum"]) == (0.0, 1.0)
    assert set(schemas["outputs"]["properties"]) == {"spot", "screen", "edge"}


def test_health_routes(client):
    assert client.get("/health/live").json() == {"status": "live"}
    ready = client.get("/health/ready").json()
    assert ready == {"status": "ready", "name": "beamline", "version": "1.2"}


def test_unknown_routes_and_methods_are_json_errors(client):
    assert client.get("/v2/nothing").status_code == 404
    assert "no route /v2/nothing" in client.get("/v2/nothing").json()["error"]
    wrong = client.get("/v1/evaluate")
    assert wrong.status_code == 405 and "GET is not allowed" in wrong.json()["error"]


def test_a_token_is_needed_on_every_route_but_liveness(model):
    with TestClient(create_app(model, token="s3cret-token")) as client:
        for path in ("/v1/variables", "/v1/schema", "/health/ready"):
            refused = client.get(path)
            assert refused.status_code == 401, path
            assert refused.headers["www-authenticate"] == "Bearer"
            assert "s3cret" not in refused.text
        assert client.get("/health/live").status_code == 200
        wrong = {"Authorization": "Bearer not-it"}
        assert evaluate(client, {"inputs": {}}, headers=wrong).status_code == 401
        right = {"Authorization": "Bearer s3cret-token"}
        assert evaluate(client, {"inputs": {}}, headers=right).status_code == 200
        assert client.get("/v1/schema", headers=right).status_code == 200


def test_a_body_over_the_limit_is_a_413_before_it_is_read_whole(model):
    with TestClient(create_app(model, max_body=100)) as client:
        big = {"inputs": {"profile": [0.0, 0.0, 0.0]}, "padding": "x" * 200}
        answer = evaluate(client, big)
        assert answer.status_code == 413 and "more than 100" in answer.json()["error"]

        def chunked():  # no Content-Length: counted as it arrives
            yield b'{"inputs": {"focal": 0.1' + b" " * 60
            yield b" " * 60 + b"}}"

        assert client.post("/v1/evaluate", content=chunked()).status_code == 413
        assert evaluate(client, {"inputs": {}}).status_code == 200
    with pytest.raises(ValueError, match="must be at least 1, got 0"):
        create_app(model, max_body=0)


@pytest.mark.parametrize(
    ("configured", "header"),
    [("s3cret\n", "Bearer s3cret"), (" s3cret ", "bearer   s3cret"), ("s3cret", "Bearer\ts3cret")],
)
def test_a_token_read_from_a_file_and_any_spacing_in_the_header_are_accepted(
    model, configured, header
):
    with TestClient(create_app(model, token=configured)) as client:
        assert client.get("/v1/schema", headers={"Authorization": header}).status_code == 200


@pytest.mark.parametrize("token", ["two words", "s3crét", "", "  \n"])
def test_a_token_no_header_can_carry_is_refused_when_the_app_is_made(model, token):
    with pytest.raises(ValueError, match="MODELCRATE_SERVE_TOKEN"):
        check_token(token)
    with pytest.raises(ValueError, match="MODELCRATE_SERVE_TOKEN"):
        create_app(model, token=token)


def test_a_batch_over_the_limit_is_a_422_saying_how_many(model):
    with TestClient(create_app(model, max_batch=3)) as client:
        answer = evaluate(client, {"inputs": [{}] * 4})
        assert answer.status_code == 422
        assert answer.json()["error"].startswith("the batch has 4 input sets, more than 3")
        assert evaluate(client, {"inputs": [{}] * 3}).status_code == 200
    assert model.batches == [3]


@pytest.mark.parametrize(
    ("raised", "reason"),
    [
        (SystemExit(3), "SystemExit: 3"),
        (KeyboardInterrupt(), "KeyboardInterrupt: "),
        (BaseException("odd"), "BaseException: odd"),
    ],
)
def test_whatever_the_model_raises_is_a_json_500_and_the_server_goes_on(model, raised, reason):
    def evaluate_badly(inputs):
        raise raised

    model.evaluate = evaluate_badly
    with TestClient(create_app(model)) as client:
        answer = evaluate(client, {"inputs": {}})
        assert (answer.status_code, answer.json()["error"]) == (500, reason)
        del model.evaluate  # the class's own again
        assert evaluate(client, {"inputs": {}}).status_code == 200


def test_a_long_reason_is_cut_short(client):
    answer = evaluate(client, {"inputs": {"x" * 200_000: 1}})
    assert answer.status_code == 422 and len(answer.json()["error"]) <= 500


def test_the_health_routes_answer_while_the_model_works(model):
    release = threading.Event()
    model.evaluate_batch = lambda sets: release.wait(30) and [Beamline().evaluate(s) for s in sets]
    with TestClient(create_app(model)) as client:
        slow = threading.Thread(target=evaluate, args=(client, {"inputs": {}}))
        slow.start()
        time.sleep(0.2)
        began = time.monotonic()
        assert client.get("/health/live").status_code == 200
        assert client.get("/health/ready").status_code == 200
        assert time.monotonic() - began < 5
        assert slow.is_alive()  # still evaluating
        release.set()
        slow.join(30)


def _answer_schema(document, path, method, status):
    """The schema the OpenAPI document declares for an answer, resolvable against it."""
    response = document["paths"][path][method]["responses"][str(status)]
    return {
        **response["content"]["application/json"]["schema"],
        "components": document["components"],
    }


def test_the_openapi_document_is_valid_and_every_answer_matches_what_it_declares(model):
    from jsonschema import Draft202012Validator
    from openapi_spec_validator import validate

    with TestClient(create_app(model, token="tok", max_batch=5, max_body=2000)) as client:
        auth = {"Authorization": "Bearer tok"}
        document = client.get("/openapi.json", headers=auth).json()
        validate(document)
        assert document["info"] == {
            "title": "beamline", "version": "1.2", "description": "A test beamline."
        }  # fmt: skip
        answers = [
            ("/v1/evaluate", "post", {"inputs": {"focal": 0.25}}),
            ("/v1/evaluate", "post", {"inputs": [{"focal": 0.1}, {"gain": 30}]}),  # NaN, warning
            ("/v1/evaluate", "post", {"inputs": {"focal": 9}}),  # 422
            ("/v1/evaluate", "post", {"inputs": [{}] * 6}),  # 422: too many sets
            ("/v1/evaluate", "post", {"inputs": {"gain": "x" * 3000}}),  # 413: too large
            ("/v1/evaluate", "post", {"inputs": {"focal": 0.5}}),  # 500
            ("/v1/variables", "get", None),
            ("/v1/schema", "get", None),
            ("/health/live", "get", None),
            ("/health/ready", "get", None),
        ]
        seen = set()
        for path, method, body in answers:
            if method == "post":
                answer = client.post(path, content=json.dumps(body), headers=auth)
                request = document["paths"][path]["post"]["requestBody"]["content"]
                schema = {
                    **request["application/json"]["schema"],
                    "components": document["components"],
                }
                if answer.status_code == 200:
                    Draft202012Validator(schema).validate(body)
            else:
                answer = client.get(path, headers=auth)
            schema = _answer_schema(document, path, method, answer.status_code)
            Draft202012Validator(schema).validate(answer.json())
            seen.add(answer.status_code)
        assert seen == {200, 413, 422, 500}
        refused = client.get("/v1/schema")
        Draft202012Validator(_answer_schema(document, "/v1/schema", "get", 401)).validate(
            refused.json()
        )


def test_a_range_that_only_warns_is_no_bound_of_the_request_schema(client):
    inputs = client.get("/openapi.json").json()["components"]["schemas"]["Inputs"]
    focal, gain = inputs["properties"]["focal"], inputs["properties"]["gain"]
    assert (focal["minimum"], focal["maximum"]) == (0.0, 1.0)  # policy error
    assert gain["maximum"] == 2**63 - 1 and gain["x-maximum"] == 10  # policy warn: int64 only
    outputs = client.get("/openapi.json").json()["components"]["schemas"]["Outputs"]
    assert {"enum": ["NaN", "Infinity", "-Infinity"]} in outputs["properties"]["edge"]["anyOf"]


def test_metrics_count_requests_by_route_and_status_batch_sizes_and_failed_evaluations(client):
    evaluate(client, {"inputs": {}})
    evaluate(client, {"inputs": [{}, {}, {}]})
    evaluate(client, {"inputs": {"focal": 9}})  # 422
    evaluate(client, {"inputs": {"focal": 0.5}})  # the model raises: 500
    client.get("/health/live")
    answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    for line in [
        'modelcrate_requests_total{route="/v1/evaluate",status="200"} 2.0',
        'modelcrate_requests_total{route="/v1/evaluate",status="422"} 1.0',
        'modelcrate_requests_total{route="/v1/evaluate",status="500"} 1.0',
        'modelcrate_requests_total{route="/health/live",status="200"} 1.0',
        'modelcrate_request_duration_seconds_count{route="/v1/evaluate"} 4.0',
        "modelcrate_batch_size_count 3.0",  # the 422 was refused before a batch was made
        "modelcrate_batch_size_sum 5.0",
        "modelcrate_evaluate_errors_total 1.0",
    ]:
        assert line in text.splitlines(), line


def test_results_are_stored_in_the_background_and_what_waits_is_stored_at_the_stop(model, tmp_path):
    from modelcrate.runtime import FilesystemTarget

    target = tmp_path / "results"
    with TestClient(create_app(model, targets=[str(target)])) as client:
        evaluate(client, {"inputs": {"focal": 0.1}})
        evaluate(client, {"inputs": [{"focal": 0.2}, {"focal": 0.3, "gain": 3}]})
        evaluate(client, {"inputs": {"focal": 9}})  # refused: nothing to store
    stored = {(r.inputs["focal"], r.inputs["gain"]): r for r in FilesystemTarget(target).list()}
    assert set(stored) == {(0.1, 2), (0.2, 2), (0.3, 3)}
    assert stored[(0.3, 3)].outputs["spot"] == pytest.approx(0.9)
    assert stored[(0.1, 2)].outputs["screen"].shape == (2, 2)


def test_a_target_that_fails_is_counted_and_logged_with_its_password_masked(
    model, caplog, monkeypatch
):
    from modelcrate.runtime import open_target

    monkeypatch.setenv("MODELCRATE_CONNECT_TIMEOUT", "1")
    unreachable = open_target("postgresql://user:hunter2secret@127.0.0.1:9/results")
    with TestClient(create_app(model, targets=[unreachable])) as client:
        assert evaluate(client, {"inputs": [{}, {}]}).status_code == 200  # the answer comes
        deadline = time.monotonic() + 30
        while "modelcrate_results_failed_total 2.0" not in client.get("/metrics").text:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert "results were not stored" in caplog.text and "127.0.0.1:9" in caplog.text
    assert "hunter2secret" not in caplog.text


def test_a_bad_target_is_refused_before_serving(model):
    from modelcrate import ModelcrateError

    with pytest.raises(ModelcrateError, match="unsupported target scheme"):
        create_app(model, targets=["nosuchscheme://x"])


def _concurrently(app, bodies):
    """Post every body at once to `app` (in this process, one event loop); the answers."""
    import asyncio

    import httpx2

    async def post_all():
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://test") as client:
            return await asyncio.gather(
                *(client.post("/v1/evaluate", content=json.dumps(b)) for b in bodies)
            )

    return asyncio.run(post_all())


class Held(Beamline):
    """A vectorised model whose first evaluate_batch call waits a moment, so that the requests
    sent with it queue up behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.first = True

    def evaluate_batch(self, input_sets):
        if self.first:
            self.first = False
            time.sleep(0.3)
        return super().evaluate_batch(input_sets)


def test_single_set_requests_that_arrive_together_are_one_call_and_each_gets_its_own_answer():
    model = Held()
    focals = [round(0.01 * i, 2) for i in range(1, 31)]
    answers = _concurrently(create_app(model), [{"inputs": {"focal": f}} for f in focals])
    assert [a.status_code for a in answers] == [200] * 30
    assert [a.json()["outputs"]["spot"] for a in answers] == pytest.approx([2 * f for f in focals])
    assert sum(model.batches) == 30 and max(model.batches) > 1  # gathered
    assert max(model.batches) <= 64


def test_a_set_the_model_fails_on_fails_alone_among_those_gathered():
    model = Held()
    bodies = [{"inputs": {"focal": f}} for f in (0.1, 0.5, 0.3, 0.5, 0.2)]
    bodies.insert(2, {"inputs": {"focal": 7}})  # refused by the variables: a 422, alone
    answers = _concurrently(create_app(model), bodies)
    assert [a.status_code for a in answers] == [200, 500, 422, 200, 500, 200]
    assert answers[1].json()["error"] == "ZeroDivisionError: the focus is at the singular point"
    assert [a.json()["outputs"]["spot"] for a in answers if a.status_code == 200] == (
        pytest.approx([0.2, 0.6, 0.4])
    )


def test_batching_is_off_for_a_model_that_only_loops_and_when_asked():
    class Looping(Beamline):
        evaluate_batch = Model.evaluate_batch  # the base class's loop

    looping = Looping()
    calls = []
    looping.evaluate = lambda inputs: calls.append(1) or Beamline.evaluate(looping, inputs)
    original = Model.evaluate_prepared

    def counted(self, input_sets, *, start=0):
        calls.append(len(input_sets))
        return original(self, input_sets, start=start)

    from modelcrate.serve import vectorised

    assert not vectorised(looping) and vectorised(Held())
    Looping.evaluate_prepared = counted
    answers = _concurrently(create_app(looping), [{"inputs": {"focal": 0.1}}] * 10)
    assert [a.status_code for a in answers] == [200] * 10
    assert [c for c in calls if c != 1] == []  # ten calls of one set each
    held = Held()
    _concurrently(create_app(held, batching=False), [{"inputs": {"focal": 0.1}}] * 10)
    assert held.batches == [1] * 10


class Odd(dict):
    """An output mapping that cannot be looked at."""

    def __iter__(self):
        raise TypeError("cannot iterate")


def test_outputs_that_cannot_be_looked_at_are_500s_and_the_server_still_answers():
    model = Held()
    model.evaluate = lambda inputs: Odd(spot=1.0)
    answers = _concurrently(create_app(model), [{"inputs": {"focal": 0.1}}] * 4)
    assert {a.status_code for a in answers} == {500}
    del model.evaluate
    assert [a.status_code for a in _concurrently(create_app(model), [{"inputs": {}}])] == [200]


def test_a_combined_call_that_fails_is_evaluated_again_alone_logged_and_counted(caplog):
    class Dropping(Held):
        def evaluate_batch(self, input_sets):
            out = super().evaluate_batch(input_sets)
            return out[:-1] if len(out) > 1 else out

    model = Dropping()
    app = create_app(model)
    answers = _concurrently(app, [{"inputs": {"focal": f}} for f in (0.1, 0.2, 0.3, 0.4, 0.6)])
    assert [a.status_code for a in answers] == [200] * 5
    assert "evaluating each alone" in caplog.text

    with TestClient(app) as client:
        assert "modelcrate_batch_fallbacks_total 1.0" in client.get("/metrics").text.splitlines()


def test_stored_inputs_are_those_sent_even_when_the_model_changes_its_own(model, tmp_path):
    from modelcrate.runtime import FilesystemTarget

    def changing(inputs):
        inputs["focal"] = 0.99
        return Beamline.evaluate(model, {**inputs, "focal": 0.3})

    model.evaluate = changing
    with TestClient(create_app(model, targets=[str(tmp_path)])) as client:
        assert evaluate(client, {"inputs": {"focal": 0.3}}).status_code == 200
    (result,) = FilesystemTarget(tmp_path).list()
    assert result.inputs["focal"] == 0.3


def test_an_error_outside_the_model_is_a_counted_one_line_500(model):
    model.prepare = lambda inputs, index=None: 1 / 0
    with TestClient(create_app(model, batching=False)) as client:
        answer = evaluate(client, {"inputs": {}})
        assert answer.status_code == 500
        assert answer.json()["error"] == "internal error: ZeroDivisionError: division by zero"
        text = client.get("/metrics").text
    assert 'modelcrate_requests_total{route="/v1/evaluate",status="500"} 1.0' in text


def test_the_answer_schema_bounds_only_outputs_whose_range_is_an_error_and_read_only_is_const():
    from modelcrate.serve._openapi import answer_outputs_schema, request_inputs_schema

    class Ranged(Model):
        spec = parse_spec(
            """
input_variables:
  distance: {type: scalar, default: 2.0, read_only: true}
output_variables:
  soft: {type: scalar, range: [0, 1]}
  hard: {type: scalar, range: [0, 1], policy: error}
""",
            source="ranged.yml",
        )

    outputs = answer_outputs_schema(Ranged())["properties"]
    assert outputs["soft"]["x-maximum"] == 1 and "maximum" not in outputs["soft"]["anyOf"][0]
    assert outputs["hard"]["anyOf"][0]["maximum"] == 1
    assert request_inputs_schema(Ranged())["properties"]["distance"]["const"] == 2.0


def test_an_app_whose_lifespan_runs_twice_still_answers_and_stores(model, tmp_path):
    from modelcrate.runtime import FilesystemTarget

    app = create_app(model, targets=[str(tmp_path)])
    for focal in (0.1, 0.2):
        with TestClient(app) as client:
            assert evaluate(client, {"inputs": {"focal": focal}}).status_code == 200
    assert sorted(r.inputs["focal"] for r in FilesystemTarget(tmp_path).list()) == [0.1, 0.2]


# The app fuzzed from its own OpenAPI document: every request made from it, valid or not, is
# answered as the document says (no 500 for what it allows, a 4xx for what it forbids, every
# answer matching its declared status and schema). A v2 infer request that fits its schema may
# still be refused: no JSON Schema says that a tensor's data holds as many values as its shape,
# or which datatype each named tensor takes; those are tested in test_open_inference.py.
class Steady(Beamline):
    """The beamline without its singular point: every 500 the fuzzer finds is then a bug."""

    def evaluate(self, inputs):
        return super().evaluate(
            {**inputs, "focal": 0.25 if inputs["focal"] == 0.5 else inputs["focal"]}
        )


fuzzed = schemathesis.openapi.from_asgi("/openapi.json", create_app(Steady(), max_batch=8))


@fuzzed.parametrize()
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_every_route_answers_as_its_openapi_document_says(case):
    loose = case.path.endswith("/infer")
    case.call_and_validate(excluded_checks=[positive_data_acceptance] if loose else None)
