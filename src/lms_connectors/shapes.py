"""Provider answers of an unexpected shape are :class:`~lms_connectors.errors.MalformedResponse`, never a crash.

An adapter reads the provider's JSON with the shapes the provider documents. Valid JSON of another shape (a list
where an object was due, a missing field, a number where a string was) makes such code raise ``KeyError``,
``TypeError``, ``ValueError``, ``IndexError`` or ``AttributeError``. None of those may leave a public method: the
caller would not know it is the provider's answer that is wrong, and a scheduler could not tell that the call may
have been carried out. :func:`guard_shapes` wraps a method so that such an exception becomes a
``MalformedResponse`` naming the provider, the operation and what was wrong; :class:`~lms_connectors.adapter.Adapter`
applies it to every operation of every adapter class.

That guard is the last line. The first is a checked shape: each adapter declares, in its own module, a pydantic
model (an :class:`AnswerShape`) of the fields it reads from each answer, and reads answers through
:func:`checked` (or :meth:`~lms_connectors.http.transport.HttpTransport.request_checked`). An answer of another
shape is then a ``MalformedResponse`` naming the provider, the endpoint, the field that was wrong and what was
wrong with it, with a redacted excerpt of the body, before any of it is used.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from lms_connectors.errors import ConnectorError, MalformedResponse
from lms_connectors.http.answers import AnswerList, AnswerShape, checked

__all__ = ["SHAPE_ERRORS", "AnswerList", "AnswerShape", "checked", "guard_shapes", "unexpected_shape"]

SHAPE_ERRORS: tuple[type[Exception], ...] = (KeyError, TypeError, ValueError, IndexError, AttributeError)
"""What code reading an answer raises when the answer has another shape than the one it expects."""

F = TypeVar("F", bound=Callable[..., Any])


def unexpected_shape(provider: str | None, operation: str, exc: Exception) -> MalformedResponse:
    """The error for an answer of ``operation`` that ``exc`` shows to be of an unexpected shape."""
    return MalformedResponse(
        f"{operation}: the provider's answer has a shape the adapter does not expect ({type(exc).__name__}: {exc})",
        provider=provider,
        code="unexpected_shape",
    )


def _guarded_iterator(items: Iterator[Any], provider: str | None, operation: str) -> Iterator[Any]:
    try:
        yield from items
    except ConnectorError:
        raise
    except SHAPE_ERRORS as exc:
        raise unexpected_shape(provider, operation, exc) from exc


def guard_shapes(method: F) -> F:
    """Wrap an adapter method (and the iterator it returns, if any) so shape errors become ``MalformedResponse``.

    Errors of the SDK (a :class:`~lms_connectors.errors.ValidationError` is also a ``ValueError``) pass through.
    """
    if getattr(method, "__guards_shapes__", False):
        return method
    operation = method.__name__

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        provider = getattr(self, "name", None)
        try:
            result = method(self, *args, **kwargs)
        except ConnectorError:
            raise
        except SHAPE_ERRORS as exc:
            raise unexpected_shape(provider, operation, exc) from exc
        if isinstance(result, Iterator):
            return _guarded_iterator(result, provider, operation)
        return result

    wrapper.__guards_shapes__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]
