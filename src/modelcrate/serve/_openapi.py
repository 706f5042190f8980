"""The OpenAPI 3.1 document of a model's HTTP app, derived from its variables: the request and
response schemas of each route are the JSON Schemas of the inputs and outputs (units, ranges,
shapes, descriptions), adjusted to what travels over HTTP."""

from __future__ import annotations

import copy
from typing import Any

from ..model import Model
from ..spec import input_schema, output_schema
from ._oip import infer_schemas

NON_FINITE = ["NaN", "Infinity", "-Infinity"]
"""How an output float that is not finite travels (JSON has no such numbers)."""

_JSON = "application/json"
_INT64 = (-(2**63), 2**63 - 1)
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def openapi_document(model: Model, *, max_batch: int, token: bool) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the app serving `model` (`create_app`); with `token`, every
    route but liveness declares the bearer token."""
    inputs_ref = {"$ref": "#/components/schemas/Inputs"}
    outputs_ref = {"$ref": "#/components/schemas/Outputs"}
    evaluate_request = {
        "type": "object",
        "properties": {
            "inputs": {
                "anyOf": [
                    inputs_ref,
                    {"type": "array", "items": inputs_ref, "minItems": 1, "maxItems": max_batch},
                ],
                "description": "One input set, or a list of them (a batch); missing inputs "
                "take their defaults.",
            }
        },
        "required": ["inputs"],
        "additionalProperties": False,
    }
    evaluate_answer = {
        "type": "object",
        "properties": {
            "outputs": {"anyOf": [outputs_ref, {"type": "array", "items": outputs_ref}]},
            "warnings": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["outputs"],
        "additionalProperties": False,
    }
    status = {
        "type": "object",
        "properties": {"status": {"type": "string"}},
        "required": ["status"],
    }
    paths: dict[str, Any] = {
        "/v1/evaluate": {
            "post": _operation(
                "evaluate",
                "Evaluate the model on one input set or a batch",
                _json_body(evaluate_answer),
                request=evaluate_request,
                errors={
                    "413": "The body is too large",
                    "422": "The body is not JSON of inputs, the batch is too large, or the "
                    "variables refuse an input",
                    "500": "The model's code failed, or its outputs break the variables",
                    "503": "The server stopped before the model answered",
                },
            )
        },
        "/v1/variables": {
            "get": _operation(
                "variables",
                "The model's name, version and variables",
                _json_body({"type": "object"}),
            )
        },
        "/v1/schema": {
            "get": _operation(
                "schema",
                "The JSON Schemas of the inputs and outputs",
                _json_body(
                    {
                        "type": "object",
                        "properties": {"inputs": {"type": "object"}, "outputs": {"type": "object"}},
                        "required": ["inputs", "outputs"],
                    }
                ),
            )
        },
        "/metrics": {
            "get": _operation(
                "metrics",
                "Prometheus metrics: requests, latency, batch sizes, failed evaluations",
                {"text/plain": {"schema": {"type": "string"}}},
            )
        },
        "/health/live": {"get": _operation("live", "The process answers", _json_body(status))},
        "/health/ready": {"get": _operation("ready", "The model is loaded", _json_body(status))},
        **_open_inference_paths(model, max_batch),
    }
    if token:
        for path, methods in paths.items():
            if path not in ("/health/live", "/v2/health/live"):
                for operation in methods.values():
                    operation["security"] = [{"bearer": []}]
                    operation["responses"]["401"] = _error_response("The token is missing or wrong")
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": model.name, "version": str(model.version)},
        "paths": paths,
        "components": {
            "schemas": {
                "Inputs": request_inputs_schema(model),
                "Outputs": answer_outputs_schema(model),
                "Error": {
                    "type": "object",
                    "properties": {"error": {"type": "string"}},
                    "required": ["error"],
                },
            }
        },
    }
    if model.spec.model_description:
        document["info"]["description"] = model.spec.model_description
    if token:
        document["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
    return document


def _open_inference_paths(model: Model, max_batch: int) -> dict[str, Any]:
    """The routes of the Open Inference Protocol (KServe v2 REST), with and without the version
    in the path."""
    request, answer = infer_schemas(model, max_batch)
    flag = {"type": "object", "additionalProperties": {"type": "boolean"}}
    paths: dict[str, Any] = {
        "/v2": {
            "get": _operation(
                "v2_server",
                "The server's name, version and protocol extensions",
                _json_body({"type": "object", "required": ["name", "version", "extensions"]}),
            )
        },
        "/v2/health/live": {"get": _operation("v2_live", "The process answers", _json_body(flag))},
        "/v2/health/ready": {
            "get": _operation("v2_ready", "The model is loaded", _json_body(flag))
        },
    }
    name = {"name": "model_name", "in": "path", "required": True, "schema": {"enum": [model.name]}}
    version = {
        "name": "model_version",
        "in": "path",
        "required": True,
        "schema": {"enum": [str(model.version)]},
    }
    missing = {"404": "No such model or version here"}
    for prefix, parameters in (
        ("/v2/models/{model_name}", [name]),
        ("/v2/models/{model_name}/versions/{model_version}", [name, version]),
    ):
        suffix = "_version" if len(parameters) > 1 else ""
        infer = _operation(
            f"v2_infer{suffix}",
            "Evaluate the model on tensors named after its inputs (one input set per row)",
            {**_json_body(answer), "application/octet-stream": {"schema": {}}},
            request=request,
            errors={
                **missing,
                "413": "The body is too large",
                "422": "The tensors do not fit the inputs, or the variables refuse a value",
                "500": "The model's code failed, or its outputs break the variables",
                "503": "The server stopped before the model answered",
            },
        )
        paths[prefix] = {
            "get": _operation(
                f"v2_model{suffix}",
                "The model's tensors: names, datatypes and shapes",
                _json_body(
                    {"type": "object", "required": ["name", "versions", "inputs", "outputs"]}
                ),
                errors=missing,
            )
        }
        paths[f"{prefix}/ready"] = {
            "get": _operation(
                f"v2_model_ready{suffix}",
                "The model is ready",
                _json_body({"type": "object", "required": ["name", "ready"]}),
                errors=missing,
            )
        }
        paths[f"{prefix}/infer"] = {"post": infer}
        for operation in (paths[prefix]["get"], paths[f"{prefix}/ready"]["get"], infer):
            operation["parameters"] = parameters
    return paths


def request_inputs_schema(model: Model) -> dict[str, Any]:
    """The schema of one input set as a request carries it: the inputs' JSON Schema, whose
    bounds are kept as `x-minimum`/`x-maximum` for an input whose range only warns (the server
    takes a value outside it, and says so in the answer's warnings)."""
    schema = input_schema(model.spec)
    _warn_only_bounds(schema, model.spec.inputs)
    for variable in model.spec.inputs:
        prop = schema["properties"][variable.name]
        if variable.read_only and "default" in prop:  # the one value a request may give
            prop["const"] = prop["default"]
        if prop.get("type") == "integer":  # what an int input holds, whatever its range
            prop.setdefault("minimum", _INT64[0])
            prop.setdefault("maximum", _INT64[1])
    return schema


def _warn_only_bounds(schema: dict[str, Any], variables: Any) -> None:
    """Keep the bounds of a variable whose range only warns as `x-minimum`/`x-maximum`: a value
    outside it is taken (or answered), with a warning."""
    for variable in variables:
        if variable.policy != "error":
            prop = schema["properties"][variable.name]
            for bound in ("minimum", "maximum"):
                if bound in prop:
                    prop[f"x-{bound}"] = prop.pop(bound)


def answer_outputs_schema(model: Model) -> dict[str, Any]:
    """The schema of one set of outputs as an answer carries it: every number may also be one
    of the strings of `NON_FINITE`, and a range that only warns bounds nothing."""
    schema = copy.deepcopy(output_schema(model.spec))
    _warn_only_bounds(schema, model.spec.outputs)
    return _allow_non_finite(schema)


def _allow_non_finite(node: Any) -> Any:
    if isinstance(node, list):
        return [_allow_non_finite(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _allow_non_finite(value) for key, value in node.items()}
    if node.get("type") == "number":
        number = {k: node.pop(k) for k in ("type", "minimum", "maximum") if k in node}
        node["anyOf"] = [number, {"enum": NON_FINITE}]
    return node


def _operation(
    name: str,
    summary: str,
    answer: dict[str, Any],
    *,
    request: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": name, "summary": summary}
    if request is not None:
        operation["requestBody"] = {"required": True, "content": {_JSON: {"schema": request}}}
    operation["responses"] = {"200": {"description": "OK", "content": answer}}
    for code, description in (errors or {}).items():
        operation["responses"][code] = _error_response(description)
    return operation


def _json_body(schema: dict[str, Any]) -> dict[str, Any]:
    return {_JSON: {"schema": schema}}


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": _json_body(_ERROR_REF)}
