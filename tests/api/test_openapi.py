"""The OpenAPI document (/schema/openapi.json) is complete: every operation has a summary, a
description and tags, declares the refusals it can answer as problems (with an example of each),
and every request body shows examples of its fields."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

Client = AsyncTestClient[Litestar]
Document = dict[str, Any]
PROBLEM_SCHEMA = "#/components/schemas/ProblemDetails"


@pytest.fixture(scope="module")
async def document(api_client: Client) -> Document:
    response = await api_client.get("/schema/openapi.json")
    assert response.status_code == 200
    found: Document = response.json()
    return found


def operations(document: Document) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield f"{method.upper()} {path}", operation


def resolve(document: Document, schema: dict[str, Any]) -> dict[str, Any]:
    """A schema with its `$ref` followed, a lone `allOf` and a nullable `oneOf` unwrapped."""
    while True:
        if "$ref" in schema:
            schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        elif len(schema.get("allOf", ())) == 1:
            schema = schema["allOf"][0]
        elif "oneOf" in schema:
            options = [s for s in schema["oneOf"] if s.get("type") != "null"]
            if len(options) != 1:
                return schema
            schema = options[0]
        else:
            return schema


def test_every_operation_says_what_it_does(document: Document) -> None:
    missing = [
        (name, field)
        for name, operation in operations(document)
        for field in ("summary", "description", "tags", "operationId")
        if not operation.get(field)
    ]
    assert not missing


def test_every_operation_that_can_be_refused_declares_its_refusals(document: Document) -> None:
    undeclared = []
    for name, operation in operations(document):
        takes_input = operation.get("parameters") or operation.get("requestBody")
        if (takes_input or operation.get("security")) and not any(
            code.startswith("4") for code in operation["responses"]
        ):
            undeclared.append(name)
        if operation.get("security"):
            assert "401" in operation["responses"], name
    assert not undeclared


def test_every_refusal_is_a_problem_with_an_example(document: Document) -> None:
    assert "ProblemDetails" in document["components"]["schemas"]
    wrong = []
    for name, operation in operations(document):
        for code, response in operation["responses"].items():
            if code[0] not in "45":
                continue
            content = response.get("content", {})
            problem = content.get("application/problem+json")
            if (
                set(content) != {"application/problem+json"}
                or problem.get("schema", {}).get("$ref") != PROBLEM_SCHEMA
                or not problem.get("examples")
                or not response.get("description")
            ):
                wrong.append(f"{name} {code}")
                continue
            for example in problem["examples"].values():
                value = example["value"]
                assert value["status"] == int(code), (name, code)
                assert value["type"].startswith("urn:jaga:problem:"), (name, code)
                assert value["detail"], (name, code)
    assert not wrong


def test_every_request_body_has_examples_of_its_fields(document: Document) -> None:
    without = []
    for name, operation in operations(document):
        body = operation.get("requestBody")
        if body is None:
            continue
        for media_type, content in body["content"].items():
            if content.get("example") or content.get("examples"):
                continue
            schema = resolve(document, content["schema"])
            properties = schema.get("properties", {})
            if not properties and not schema.get("examples"):
                without.append(f"{name} {media_type}")
            for field, field_schema in properties.items():
                resolved = resolve(document, field_schema)
                if not (
                    field_schema.get("examples") or resolved.get("examples")
                    or resolved.get("enum") or resolved.get("type") in ("boolean", "object")
                    or resolved.get("format") == "binary"  # a file
                    or "properties" in resolved or "items" in resolved
                ):  # fmt: skip
                    without.append(f"{name} {media_type} {field}")
    assert not without


def test_every_parameter_is_described_or_shown(document: Document) -> None:
    bare = [
        f"{name} {parameter['name']}"
        for name, operation in operations(document)
        for parameter in operation.get("parameters", [])
        if parameter["in"] in ("path", "query")
        and not (
            parameter.get("description") or parameter.get("examples")
            or parameter.get("schema", {}).get("examples") or parameter["schema"].get("enum")
        )
    ]  # fmt: skip
    assert not bare
