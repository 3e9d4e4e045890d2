"""Answers that are not what an adapter reads, for each adapter's tests of its checked answer shapes.

An adapter's test serves its simulator with one of these bodies in place of an endpoint's answer (a truncated
JSON body or an HTML page with status 200, plus wrong types and missing fields of its own) and checks the error
with :func:`assert_malformed`: a :class:`~lms_connectors.errors.MalformedResponse` naming the provider and the
endpoint (and the field, for JSON of another shape), with a body excerpt in which no secret shows.

The two tests every adapter runs over the answers it reads are written once, in :class:`AnswerShapeChecks`: the
adapter's test module lists an :class:`AnswerCase` per answer and subclasses it::

    class TestAnswerShapes(AnswerShapeChecks):
        provider = "acme_lms"
        cases = {"sessions.get": AnswerCase("GET", r"/sessions/[^/]+$", lambda a, r: a.get_session(r),
                                            wrong={"title": "no id", **LEAKY_FIELD}, field="id")}

with two fixtures in the module: ``server`` (the running sandbox) and ``answer_target`` (the adapter and the ref of
an object it made).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from lms_connectors.errors import MalformedResponse
from lms_connectors.models import ProviderRef
from lms_connectors.testing.sandbox import Fault, SandboxServer

__all__ = ["GARBLED", "LEAKY_FIELD", "AnswerCase", "AnswerShapeChecks", "assert_malformed"]

GARBLED: dict[str, tuple[dict[str, str], bytes]] = {
    "truncated JSON": ({"Content-Type": "application/json"}, b'{"id": 85012345678, "items": [{"email": "ines@exa'),
    "HTML page with status 200": (
        {"Content-Type": "text/html; charset=utf-8"},
        b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Your session has expired.</body></html>",
    ),
}
"""Bodies that are not JSON at all, by name: headers and body of a 200 answer."""

LEAKY_FIELD: dict[str, str] = {"password": "hunter2-is-a-secret"}
"""A sensitive field to put in a wrong-shape answer: its value must not show in the error's excerpt."""


def assert_malformed(
    error: BaseException,
    *,
    provider: str,
    endpoint: str,
    field: str | None = None,
    hidden: Sequence[str] = (LEAKY_FIELD["password"],),
) -> None:
    """Check that ``error`` is the ``MalformedResponse`` an answer of another shape must give.

    Args:
        error: What the adapter raised.
        provider: The adapter's name the error must carry.
        endpoint: A part of the endpoint the error must name (``"GET /meetings/"``).
        field: The dotted path of the wrong field, for JSON of another shape (``None``: not checked).
        hidden: Values that must not show in the error's message or excerpt (secrets).
    """
    assert isinstance(error, MalformedResponse), f"{type(error).__name__}: {error}"
    assert error.provider == provider, error.evidence()
    assert endpoint in (error.endpoint or ""), error.evidence()
    if field is not None:
        assert error.field == field, error.evidence()
    assert error.body_excerpt, error.evidence()
    for value in hidden:
        assert value not in (error.body_excerpt or ""), error.evidence()
        assert value not in str(error), error.evidence()


@dataclass(frozen=True)
class AnswerCase:
    """One answer an adapter reads, for :class:`AnswerShapeChecks`.

    Attributes:
        method: The request's HTTP method.
        path: A regular expression the request's path matches (the sandbox serves the wrong answer there).
        call: The adapter call that reads the answer, given the adapter and the ref of an object it made.
        wrong: JSON of another shape for that answer (with :data:`LEAKY_FIELD` in it: the excerpt must hide it).
        field: The dotted path of the field the error must name.
        endpoint: What the error must name; by default ``"<case name> (<method> "``.
        status: The status of the wrong answer: the provider's success status for the request.
    """

    method: str
    path: str
    call: Callable[[Any, ProviderRef], object]
    wrong: Any
    field: str
    endpoint: str | None = None
    status: int = 200


class AnswerShapeChecks:
    """The answer-shape tests of an adapter: JSON of another shape, and answers that are not JSON at all.

    Subclass it in the adapter's tests (the class name must start with ``Test``) and set :attr:`provider` and
    :attr:`cases`; the module gives the fixtures ``server`` and ``answer_target``. Each case is served once with its
    wrong JSON and once with each :data:`GARBLED` body, and the call must raise the
    :class:`~lms_connectors.errors.MalformedResponse` :func:`assert_malformed` checks.
    """

    provider: ClassVar[str]
    """The adapter's name, which every error must carry."""
    cases: ClassVar[Mapping[str, AnswerCase]]
    """The answers the adapter reads, by the operation name its errors give."""
    garbled_answers: ClassVar[int] = 30
    """How many requests get a garbled body (every attempt of a read, and a create's look-ups and second send)."""

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """One test per case (and per garbled body)."""
        if "case_name" in metafunc.fixturenames:
            metafunc.parametrize("case_name", sorted(self.cases))
        if "garbled" in metafunc.fixturenames:
            metafunc.parametrize("garbled", sorted(GARBLED))

    def _endpoint(self, case_name: str) -> str:
        case = self.cases[case_name]
        return case.endpoint or f"{case_name} ({case.method} "

    def test_json_of_another_shape_names_the_endpoint_and_the_field(
        self, server: SandboxServer[Any], answer_target: tuple[Any, ProviderRef], case_name: str
    ) -> None:
        """JSON of another shape: a MalformedResponse naming the endpoint and the field, no secret in it."""
        case = self.cases[case_name]
        # times=2: a create's answer of another shape leaves its outcome unknown, so the adapter looks the object up
        # and sends the create once more; the second answer is of that shape as well.
        server.faults.add(Fault.error(case.status, case.wrong, method=case.method, path=case.path, times=2))
        with pytest.raises(MalformedResponse) as caught:
            case.call(*answer_target)
        assert_malformed(caught.value, provider=self.provider, endpoint=self._endpoint(case_name), field=case.field)
        assert caught.value.code == "unexpected_shape"
        assert caught.value.status == case.status

    def test_an_answer_that_is_not_json_names_the_endpoint(
        self, server: SandboxServer[Any], answer_target: tuple[Any, ProviderRef], case_name: str, garbled: str
    ) -> None:
        """A truncated JSON body or an HTML page with status 200: a MalformedResponse naming the endpoint."""
        case = self.cases[case_name]
        headers, body = GARBLED[garbled]
        server.faults.add(Fault.error(200, body, headers=headers, method=case.method, path=case.path,
                                      times=self.garbled_answers))
        with pytest.raises(MalformedResponse) as caught:
            case.call(*answer_target)
        assert_malformed(caught.value, provider=self.provider, endpoint=self._endpoint(case_name))
