"""The Open Inference Protocol (KServe v2 REST) routes: Triton's own HTTP client against a real
uvicorn server (JSON and binary tensors), and what a request may get wrong."""

from __future__ import annotations

import json
import math
import socket
import struct
import threading
import time

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("tritonclient.http")
import tritonclient.http as httpclient
import uvicorn
from starlette.testclient import TestClient
from tritonclient.utils import InferenceServerException

from modelcrate import Model
from modelcrate.serve import create_app
from modelcrate.spec import parse_spec


class Optics(Model):
    """Every kind of variable a tensor carries, computed from the inputs so answers can be
    checked: spot = focal * gain (+ 100 when `flip`), a 2x3 screen of spot, the label back."""

    spec = parse_spec(
        """
model: {name: optics, description: Tensors of every kind.}
input_variables:
  focal: {type: scalar, default: 0.2, range: [0.0, 1.0], policy: error, unit: m}
  gain: {type: int, default: 2, range: [1, 10]}
  flip: {type: bool, default: false}
  label: {type: str, default: "beam"}
  mode: {type: enum, choices: [fast, slow], default: fast}
  profile: {type: array, shape: [3], default: [0.0, 0.0, 0.0]}
output_variables:
  spot: {type: scalar, unit: mm}
  count: {type: int}
  screen: {type: image, shape: [2, 3], dtype: float32}
  echo: {type: str}
  ok: {type: bool}
  spread: {type: distribution, distribution_type: Normal}
""",
        source="optics.yml",
    )
    version = "3.1"

    def __init__(self) -> None:
        self.batches: list[int] = []

    def evaluate(self, inputs):
        spot = inputs["focal"] * inputs["gain"] + float(np.sum(inputs["profile"]))
        spot += 100.0 if inputs["flip"] else 0.0
        return {
            "spot": spot,
            "count": inputs["gain"] * 3,
            "screen": np.full((2, 3), spot, dtype=np.float32),
            "echo": f"{inputs['label']}/{inputs['mode']}",
            "ok": spot < 50,
            "spread": {"loc": np.array([spot]), "scale": np.array([0.5])},
        }

    def evaluate_batch(self, input_sets):
        self.batches.append(len(input_sets))
        return [self.evaluate(inputs) for inputs in input_sets]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server():
    """A real uvicorn server of an `Optics` model (token `t0ken`) in a thread of this process."""
    model = Optics()
    port = _free_port()
    config = uvicorn.Config(
        create_app(model, token="t0ken"), host="127.0.0.1", port=port, log_level="warning"
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield model, f"127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


def auth() -> dict[str, str]:
    """The token's header, a new dict each time: Triton's client adds its own headers to it."""
    return {"Authorization": "Bearer t0ken"}


@pytest.fixture
def triton(server):
    client = httpclient.InferenceServerClient(url=server[1])
    yield client
    client.close()


def _inputs(binary: bool, **columns: np.ndarray) -> list[httpclient.InferInput]:
    tensors = []
    for name, values in columns.items():
        datatype = {"f": "FP64", "i": "INT64", "b": "BOOL", "O": "BYTES"}[values.dtype.kind]
        tensor = httpclient.InferInput(name, list(values.shape), datatype)
        tensor.set_data_from_numpy(values, binary_data=binary)
        tensors.append(tensor)
    return tensors


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_triton_s_client_infers_a_batch_with_tensors_named_after_the_variables(
    server, triton, binary
):
    model, _ = server
    inputs = _inputs(
        binary,
        focal=np.array([0.1, 0.3, 0.5]),
        gain=np.array([1, 2, 3], dtype=np.int64),
        flip=np.array([False, True, False]),
        label=np.array(["a", "é", "c c"], dtype=object),
        profile=np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.25]]),
    )
    outputs = None if binary else [httpclient.InferRequestedOutput(n, binary_data=False) for n in (
        "spot", "count", "screen", "echo", "ok", "spread.loc", "spread.scale"
    )]  # fmt: skip
    result = triton.infer("optics", inputs, outputs=outputs, headers=auth(), request_id="r-7")
    expected = model.batch(
        [
            {"focal": 0.1, "gain": 1, "label": "a"},
            {"focal": 0.3, "gain": 2, "flip": True, "label": "é", "profile": [1.0, 0.0, 0.0]},
            {"focal": 0.5, "gain": 3, "label": "c c", "profile": [0.0, 0.0, 0.25]},
        ]
    )
    spot = result.as_numpy("spot")
    assert spot.dtype == np.float64 and spot.shape == (3,)
    np.testing.assert_allclose(spot, [out["spot"] for out in expected])
    assert result.as_numpy("count").tolist() == [3, 6, 9]
    screen = result.as_numpy("screen")
    assert screen.dtype == np.float32 and screen.shape == (3, 2, 3)
    np.testing.assert_allclose(screen, np.stack([out["screen"] for out in expected]))
    echo = [e.decode() if isinstance(e, bytes) else e for e in result.as_numpy("echo").tolist()]
    assert echo == ["a/fast", "é/fast", "c c/fast"]
    assert result.as_numpy("ok").tolist() == [True, False, True]
    np.testing.assert_allclose(result.as_numpy("spread.loc"), [[0.1], [101.6], [1.75]])
    assert result.get_response()["id"] == "r-7"
    assert result.get_response()["model_version"] == "3.1"
    assert model.batches[-1] == 3  # one evaluate_batch call for the three sets


def test_triton_s_client_reads_the_server_and_model_metadata_and_readiness(triton):
    assert triton.is_server_live()  # liveness needs no token
    assert triton.is_server_ready(headers=auth())
    assert triton.is_model_ready("optics", headers=auth())
    assert triton.is_model_ready("optics", "3.1", headers=auth())
    assert not triton.is_model_ready("optics", "9", headers=auth())
    assert not triton.is_model_ready("other", headers=auth())
    assert not triton.is_server_ready()  # without the token
    server = triton.get_server_metadata(headers=auth())
    assert server["name"] == "modelcrate" and "binary_tensor_data" in server["extensions"]
    metadata = triton.get_model_metadata("optics", headers=auth())
    assert metadata["versions"] == ["3.1"]
    tensors = {t["name"]: (t["datatype"], t["shape"]) for t in metadata["inputs"]}
    assert tensors == {
        "focal": ("FP64", [-1]),
        "gain": ("INT64", [-1]),
        "flip": ("BOOL", [-1]),
        "label": ("BYTES", [-1]),
        "mode": ("BYTES", [-1]),
        "profile": ("FP64", [-1, 3]),
    }
    outputs = {t["name"]: (t["datatype"], t["shape"]) for t in metadata["outputs"]}
    assert outputs["screen"] == ("FP32", [-1, 2, 3])
    assert outputs["spread.scale"] == ("FP64", [-1, -1])


def test_triton_s_client_gets_the_reason_of_a_refused_input(triton):
    inputs = _inputs(True, focal=np.array([2.0]))
    with pytest.raises(InferenceServerException, match="focal") as refused:
        triton.infer("optics", inputs, headers=auth())
    assert "outside the range" in str(refused.value)
    with pytest.raises(InferenceServerException, match="token"):
        triton.infer("optics", _inputs(True, focal=np.array([0.2])))
    with pytest.raises(InferenceServerException, match="no model 'lens'"):
        triton.infer("lens", _inputs(True, focal=np.array([0.2])), headers=auth())


@pytest.fixture
def client():
    with TestClient(create_app(Optics())) as client:
        yield client


def infer(client, body, path="/v2/models/optics/infer", **kwargs):
    return client.post(path, content=json.dumps(body), **kwargs)


def tensor(name, shape, datatype, data):
    return {"name": name, "shape": shape, "datatype": datatype, "data": data}


def test_json_tensors_may_be_flat_or_nested_and_scalars_n_by_1(client):
    answer = infer(
        client,
        {
            "inputs": [
                tensor("focal", [2, 1], "FP32", [[0.25], [0.5]]),
                tensor("profile", [2, 3], "FP64", [1, 0, 0, 0, 0, 2]),
                tensor("mode", [2], "BYTES", ["slow", "fast"]),
            ],
            "outputs": [{"name": "spot"}, {"name": "echo"}],
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["model_name"] == "optics"
    assert body["outputs"] == [
        {"name": "spot", "datatype": "FP64", "shape": [2], "data": [1.5, 3.0]},
        {"name": "echo", "datatype": "BYTES", "shape": [2], "data": ["beam/slow", "beam/fast"]},
    ]


def test_the_version_route_and_warnings(client):
    answer = infer(
        client,
        {"inputs": [tensor("gain", [1], "INT64", [20])]},
        path="/v2/models/optics/versions/3.1/infer",
    )
    assert answer.status_code == 200, answer.text
    assert "gain" in answer.json()["parameters"]["warnings"]
    assert (
        infer(client, {"inputs": []}, path="/v2/models/optics/versions/2/infer").status_code == 404
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"inputs": []}, "inputs is empty"),
        ({"inputs": [tensor("lens", [1], "FP64", [1.0])]}, "no input tensor 'lens'"),
        ({"inputs": [tensor("focal", [1], "FP64", [1.0])] * 2}, "given twice"),
        ({"inputs": [tensor("focal", [2], "FP64", [0.1])]}, "holds 2 values, data has 1"),
        ({"inputs": [tensor("focal", [1], "BYTES", ["x"])]}, "the input takes FP64"),
        ({"inputs": [tensor("focal", [1], "FP64", [True])]}, "FP64 data must be numbers"),
        ({"inputs": [tensor("gain", [1], "INT64", [1.5])]}, "INT64 data must be integers"),
        ({"inputs": [tensor("gain", [1], "INT8", [300])]}, "does not fit INT8"),
        ({"inputs": [tensor("flip", [1], "FP64", [1.0])]}, "the input takes BOOL"),
        ({"inputs": [tensor("focal", [1], "FP99", [1.0])]}, "datatype 'FP99' is not one of"),
        ({"inputs": [tensor("focal", [], "FP64", [])]}, "shape must start with"),
        ({"inputs": [tensor("focal", [0], "FP64", [])]}, "holds 0 input sets"),
        ({"inputs": [tensor("focal", [1, 2], "FP64", [0.1, 0.2])]}, "shape [N] or [N, 1]"),
        ({"inputs": [tensor("profile", [1, 2], "FP64", [0.1, 0.2])]}, "profile"),
        (
            {"inputs": [tensor("focal", [1], "FP64", [0.1]), tensor("gain", [2], "INT64", [1, 2])]},
            "every tensor's first dimension",
        ),
        ({"inputs": [{"name": "focal", "shape": [1], "datatype": "FP64"}]}, "has no data"),
        (
            {"inputs": [tensor("focal", [1], "FP64", [0.1])], "outputs": [{"name": "x"}]},
            "no output",
        ),
        ({"inputs": [tensor("focal", [1], "FP64", [0.1])], "id": 3}, "id must be a string"),
        ({"inputs": [tensor("focal", [1], "FP64", [7.0])]}, "outside the range"),
        ({"inputs": {"focal": 1}}, "must be an object with a list of inputs"),
    ],
)
def test_what_a_request_gets_wrong_is_a_422_naming_it(client, body, reason):
    answer = infer(client, body)
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["error"]
    assert "\n" not in answer.json()["error"]


def _binary(header: dict, *chunks: bytes) -> tuple[bytes, dict[str, str]]:
    head = json.dumps(header).encode()
    return head + b"".join(chunks), {"Inference-Header-Content-Length": str(len(head))}


def test_binary_tensors_both_ways(client):
    label = "ünïcode".encode()
    body, headers = _binary(
        {
            "inputs": [
                {"name": "focal", "shape": [2], "datatype": "FP64", "parameters": {"binary_data_size": 16}},
                {"name": "label", "shape": [1, 1], "datatype": "BYTES", "parameters": {"binary_data_size": 4 + len(label)}},
                {"name": "flip", "shape": [2], "datatype": "BOOL", "data": [False, False]},
            ],
            "outputs": [{"name": "screen", "parameters": {"binary_data": True}}, {"name": "echo"}],
        },
        np.array([0.25, 0.5], dtype="<f8").tobytes(),
        struct.pack("<I", len(label)) + label,
    )  # fmt: skip
    # a label for 1 set while focal has 2: refused before anything runs
    assert client.post("/v2/models/optics/infer", content=body, headers=headers).status_code == 422
    body, headers = _binary(
        {
            "inputs": [
                {"name": "focal", "shape": [2], "datatype": "FP64", "parameters": {"binary_data_size": 16}},
            ],
            "parameters": {"binary_data_output": True},
            "outputs": [{"name": "screen"}, {"name": "echo", "parameters": {"binary_data": False}}],
        },
        np.array([0.25, 0.5], dtype="<f8").tobytes(),
    )  # fmt: skip
    answer = client.post("/v2/models/optics/infer", content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/octet-stream"
    size = int(answer.headers["inference-header-content-length"])
    head = json.loads(answer.content[:size])
    screen, echo = head["outputs"]
    assert screen["parameters"]["binary_data_size"] == 2 * 2 * 3 * 4 and "data" not in screen
    values = np.frombuffer(answer.content[size:], dtype="<f4").reshape(screen["shape"])
    np.testing.assert_allclose(values[:, 0, 0], [0.5, 1.0])
    assert echo["data"] == ["beam/fast", "beam/fast"]


@pytest.mark.parametrize(
    ("size", "extra", "header", "reason"),
    [
        (24, b"", None, "runs past"),
        (16, b"\0" * 8, None, "no input's binary_data_size claims"),
        (12, b"", None, "takes 16 bytes"),
        (16, b"", "nine", "Inference-Header-Content-Length"),
        (16, b"", "999999", "Inference-Header-Content-Length"),
    ],
)
def test_binary_data_that_does_not_add_up_is_a_422(client, size, extra, header, reason):
    body, headers = _binary(
        {"inputs": [{"name": "focal", "shape": [2], "datatype": "FP64", "parameters": {"binary_data_size": size}}]},
        np.array([0.25, 0.5]).tobytes()[: min(size, 16)] + extra,
    )  # fmt: skip
    if header is not None:
        headers["Inference-Header-Content-Length"] = header
    answer = client.post("/v2/models/optics/infer", content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["error"]


def test_single_set_infer_requests_are_gathered_with_v1_requests(tmp_path):
    model = Optics()
    with TestClient(create_app(model, batching=True, batch_window=0.2)) as client:
        answers: dict[str, object] = {}

        def v1(i: int) -> None:
            answers[f"v1-{i}"] = client.post(
                "/v1/evaluate", content=json.dumps({"inputs": {"gain": i}})
            ).json()["outputs"]["count"]

        def v2(i: int) -> None:
            body = {"inputs": [tensor("gain", [1], "INT64", [i])], "outputs": [{"name": "count"}]}
            answers[f"v2-{i}"] = infer(client, body).json()["outputs"][0]["data"]

        threads = [threading.Thread(target=f, args=(i,)) for i in (1, 2, 3) for f in (v1, v2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert answers == {
        **{f"v1-{i}": 3 * i for i in (1, 2, 3)},
        **{f"v2-{i}": [3 * i] for i in (1, 2, 3)},
    }
    assert max(model.batches) > 1  # some were evaluated together


class Kinds(Model):
    """Inputs of the kinds a tensor maps oddly to: text arrays, a 0-d array; outputs with a
    dotted distribution, a scalar named like a distribution's tensor, an unknown distribution."""

    spec = parse_spec(
        """
model: {name: kinds}
input_variables:
  x: {type: scalar, default: 0.5}
  v: {type: array, default: [1.0, 1.0]}
  words: {type: array, dtype: str, default: ["a"]}
  zero: {type: array, shape: [], default: 1.0}
  fail: {type: bool, default: false}
output_variables:
  y: {type: scalar}
  beam.size: {type: distribution, distribution_type: Normal}
  spread: {type: distribution, distribution_type: Normal}
  spread.loc: {type: scalar}
  other: {type: distribution, distribution_type: Gamma}
""",
        source="kinds.yml",
    )

    def evaluate(self, inputs):
        return self.evaluate_batch([inputs])[0]

    def evaluate_batch(self, input_sets):
        answers = []
        for inputs in input_sets:
            if inputs["fail"]:
                raise ValueError("asked to fail")
            total = float(inputs["v"].sum())
            inputs["v"] /= total  # a model that changes what it is given, in place
            answers.append(
                {
                    "y": total,
                    "beam.size": {"loc": np.array([total]), "scale": np.array([1.0])},
                    "spread": {"loc": np.array([2.0]), "scale": np.array([3.0])},
                    "spread.loc": 5.0,
                    "other": {"concentration": np.array([1.0])},
                }
            )
        return answers


@pytest.fixture
def kinds():
    with TestClient(create_app(Kinds())) as client:
        yield client


@pytest.mark.parametrize(
    ("tensor_", "reason"),
    [
        (tensor("v", [1] + [2**64] * 40000, "FP64", [1.0]), "dimensions; at most 33"),
        (tensor("v", [1, 10**3000, 10**3000], "FP64", [1.0]), "larger than a request holds"),
        (tensor("v", [1, 0, 2**70], "FP64", []), "larger than a request holds"),
        (tensor("v", [1] * 70, "FP64", [1.0]), "at most 33"),
        (tensor("x", [1], "FP16", [70000.0]), "does not fit FP16"),
        (tensor("x", [1], "FP32", [1e39]), "does not fit FP32"),
        (tensor("words", [1, 20001], "BYTES", ["x" * 2000] + [""] * 20000), "MiB"),
    ],
)
# (a text-array input sent one string per set, shape [N], is an array of no dimensions: taken)
def test_a_hostile_tensor_is_a_quick_422_not_a_500_or_a_stall(kinds, tensor_, reason):
    """Shapes whose product is huge or takes long to compute, text that numpy would pad to
    gigabytes, floats beyond FP16 or FP32: refused at once, naming the tensor."""
    began = time.monotonic()
    answer = infer(kinds, {"inputs": [tensor_]}, path="/v2/models/kinds/infer")
    assert answer.status_code == 422, answer.text
    assert reason in answer.json()["error"]
    assert time.monotonic() - began < 5


@pytest.mark.parametrize("header", [b"\xb2", b"9" * 5000, b"-1"])
def test_a_header_length_that_is_not_a_plain_number_is_a_422(kinds, header):
    answer = kinds.post(
        "/v2/models/kinds/infer",
        content=json.dumps({"inputs": [tensor("x", [1], "FP64", [0.5])]}).encode(),
        headers={"Inference-Header-Content-Length": header},
    )
    assert answer.status_code == 422, answer.text
    assert "Inference-Header-Content-Length" in answer.json()["error"]


def test_distribution_tensors_are_named_without_clashes_and_unknown_ones_left_out(kinds):
    metadata = kinds.get("/v2/models/kinds").json()
    names = [t["name"] for t in metadata["outputs"]]
    assert names == [
        "y", "beam.size.loc", "beam.size.scale", "spread[loc]", "spread.scale", "spread.loc"
    ]  # fmt: skip
    inputs = {t["name"]: t["shape"] for t in metadata["inputs"]}
    assert inputs["zero"] == [-1]  # a 0-d array: one value per input set
    answer = infer(
        kinds, {"inputs": [tensor("zero", [1], "FP64", [2.0])]}, "/v2/models/kinds/infer"
    )
    assert answer.status_code == 200, answer.text
    got = {t["name"]: t["data"] for t in answer.json()["outputs"]}
    assert got["beam.size.loc"] == [2.0] and got["spread[loc]"] == [2.0]
    assert got["spread.loc"] == [5.0]  # the scalar output's own value


def test_a_set_evaluated_again_after_a_failed_gathered_call_gets_what_was_sent():
    """A gathered call that fails is redone set by set from the requests as sent, not from the
    arrays the model changed in place; and what is stored is what was sent."""
    from modelcrate.serve._app import _answer_many, _Context, _Evaluate, _Infer
    from modelcrate.serve._metrics import Metrics

    model = Kinds()
    context: _Context = (model, Metrics(), None)
    good = (
        _Infer(model, 10),
        (json.dumps({"inputs": [tensor("v", [1, 2], "FP64", [4.0, 4.0])]}).encode(), None),
    )
    failing = (_Evaluate(10), json.dumps({"inputs": {"fail": True}}).encode())
    (first, _), (_, error) = _answer_many(context, [good, failing])
    assert isinstance(error, Exception) and "asked to fail" in str(error)
    y = {t["name"]: t["data"] for t in json.loads(first.body)["outputs"]}["y"]
    assert y == [8.0]


def test_what_is_stored_is_what_was_sent_though_the_model_changes_its_arrays(tmp_path):
    from modelcrate.runtime import FilesystemTarget

    with TestClient(create_app(Kinds(), targets=[str(tmp_path)])) as client:
        body = {"inputs": [tensor("v", [1, 2], "FP64", [4.0, 4.0])]}
        assert infer(client, body, "/v2/models/kinds/infer").status_code == 200
        assert client.post("/v1/evaluate", json={"inputs": {"v": [1.0, 3.0]}}).status_code == 200
    stored = sorted(r.inputs["v"].tolist() for r in FilesystemTarget(tmp_path).list())
    assert stored == [[1.0, 3.0], [4.0, 4.0]]


class Edges(Model):
    spec = parse_spec(
        "input_variables: {x: {type: scalar, default: 1.0}}\n"
        "output_variables: {y: {type: scalar}, n: {type: int}}",
        source="edges.yml",
    )

    def evaluate(self, inputs):
        x = inputs["x"]
        return {"y": math.inf if x > 1 else (math.nan if x < 0 else x), "n": 2**40}


def test_floats_that_are_not_finite_travel_as_strings_and_ints_as_they_are():
    with TestClient(create_app(Edges())) as client:
        body = {"inputs": [tensor("x", [3], "FP64", [2.0, -1.0, 0.5])]}
        answer = infer(client, body, "/v2/models/Edges/infer")
    assert answer.status_code == 200, answer.text
    y, n = answer.json()["outputs"]
    assert y == {"name": "y", "datatype": "FP64", "shape": [3], "data": ["Infinity", "NaN", 0.5]}
    assert n["data"] == [2**40] * 3 and n["datatype"] == "INT64"
