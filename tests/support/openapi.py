"""The OpenAPI schema as drf-spectacular generates it (once per test session), and lookups
of an operation's parameters, request body and responses, with `$ref`s resolved."""

from __future__ import annotations

from functools import cache


@cache
def openapi_schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def resolve(node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = openapi_schema()["components"]["schemas"][name]
    return node


def operation(path: str, method: str) -> dict:
    return openapi_schema()["paths"][path][method.lower()]


def parameter(path: str, method: str, name: str) -> dict:
    """The schema of a query parameter."""
    (found,) = [p for p in operation(path, method)["parameters"] if p["name"] == name]
    return found["schema"]


def request_body(path: str, method: str) -> dict:
    body = operation(path, method)["requestBody"]["content"]["application/json"]["schema"]
    return resolve(body)


def response(path: str, method: str, status: int) -> dict:
    return operation(path, method)["responses"][str(status)]
