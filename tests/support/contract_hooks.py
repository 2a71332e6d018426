"""Loaded into the API fuzzer's process by the contract test (`SCHEMATHESIS_HOOKS`).

Hypothesis names a strategy built with a lambda by reading the lambda's source with `ast.parse`.
The filter trees' schema is recursive, so that naming can happen deep in the call stack, where
CPython 3.11's parser raises `SystemError: AST constructor recursion depth mismatch` instead of
parsing (a fault of the interpreter, not of our schema or server). A name is only used in
reprs and reports: when the parser fails that way, the lambda goes unnamed and generation goes on.
"""

from hypothesis.internal import lambda_sources

_describe = lambda_sources._lambda_description


def _describe_or_leave_unnamed(f):
    try:
        return _describe(f)
    except SystemError:
        return "lambda: <unknown>"


lambda_sources._lambda_description = _describe_or_leave_unnamed
