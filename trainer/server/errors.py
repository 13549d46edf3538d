"""Refusals as ``{"reason", "detail"}`` JSON, strict JSON request bodies, and overload mapped to 503.

* :class:`Refusal`: an ``HTTPException`` with a machine-readable ``reason``.
* :class:`StrictJSONRoute`: request bodies are parsed without ``NaN``/``Infinity``, numbers that
  overflow a float (an integral ``900.0`` is the integer 900, as in JSON Schema), integers of more than 4300 digits, lone UTF-16 surrogates or duplicate keys;
  each of those is a 422 ``json_invalid`` instead of a value that later breaks storage or the answer.
* :func:`install_handlers`: every error answer (validation, HTTP errors, a locked or saturated
  database) in that shape; database overload is a 503 with ``Retry-After``, never a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

#: Reason used for each status when an error carries none.
DEFAULT_REASONS = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
                   405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_encoding",
                   422: "invalid_body", 429: "rate_limited", 503: "overloaded"}  # fmt: skip
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class Refusal(HTTPException):
    """A 4xx/5xx answer ``{"reason": reason, "detail": detail}`` (optional headers, e.g. ``Retry-After``)."""

    def __init__(self, status: int, reason: str, detail: str, headers: Optional[dict] = None):
        super().__init__(status, detail, headers)
        self.reason = reason


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed (finite numbers only)")


def _finite_float(text: str):
    v = float(text)
    if v in (float("inf"), float("-inf")):
        raise ValueError(f"number {text[:30]} overflows a float")
    # JSON has one number type: 900.0 is the integer 900 (as JSON Schema's "integer" says)
    if v.is_integer() and abs(v) <= 2**53:
        return int(v)
    return v


def _no_duplicate_keys(pairs: list) -> dict:
    d = dict(pairs)
    if len(d) != len(pairs):
        raise ValueError("duplicate key in an object")
    return d


def _check_surrogates(x: Any) -> None:
    if isinstance(x, str):
        x.encode("utf-8")  # UnicodeEncodeError for a lone surrogate
    elif isinstance(x, dict):
        for k, v in x.items():
            _check_surrogates(k)
            _check_surrogates(v)
    elif isinstance(x, list):
        for v in x:
            _check_surrogates(v)


def strict_json_loads(body: bytes) -> Any:
    """``json.loads`` that refuses what the payload rules forbid anyway; raises ``json.JSONDecodeError``."""
    try:
        text = body.decode("utf-8")
        obj = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                         object_pairs_hook=_no_duplicate_keys)  # fmt: skip
        if _SURROGATE_ESCAPE.search(body):
            _check_surrogates(obj)
    except json.JSONDecodeError:
        raise
    except (ValueError, UnicodeError, RecursionError) as exc:
        msg = str(exc).encode("ascii", "backslashreplace").decode()[:200]
        raise json.JSONDecodeError(msg, "", 0) from None
    return obj


class _StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_json_loads(await self.body())
        return self._json


class StrictJSONRoute(APIRoute):
    """An ``APIRoute`` whose JSON bodies go through :func:`strict_json_loads`."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def strict_handler(request: Request):
            return await handler(_StrictJSONRequest(request.scope, request.receive))

        return strict_handler


def _safe(s: Any) -> str:
    return str(s).encode("utf-8", "backslashreplace").decode("utf-8")[:300]


def error_body(status: int, detail: Any, reason: Optional[str] = None) -> dict:
    """The JSON of a refusal; ``detail`` a message or a list of field errors (``loc``, ``msg``, ``type``)."""
    return {"reason": reason or DEFAULT_REASONS.get(status, "error"), "detail": detail}


def install_handlers(api: FastAPI, retry_after_s: int = 1) -> None:
    """Register the handlers described in the module docstring."""

    @api.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        items = []
        for e in exc.errors():
            loc = [x if isinstance(x, int) and not isinstance(x, bool) else _safe(x) for x in e.get("loc", ())]
            items.append({"loc": loc, "msg": _safe(e.get("msg", "")), "type": _safe(e.get("type", "invalid"))})
        reason = items[0]["type"] if items else "invalid_body"
        return JSONResponse(error_body(422, items, reason), status_code=422)

    @api.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        reason = getattr(exc, "reason", None)
        return JSONResponse(error_body(exc.status_code, _safe(exc.detail), reason), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))  # fmt: skip

    async def _overloaded(request: Request, exc: Exception):
        # a locked SQLite file or an exhausted pool: the server is saturated, the request may be retried
        return JSONResponse(error_body(503, "database busy; retry later", "overloaded"), status_code=503,
                            headers={"Retry-After": str(retry_after_s)})  # fmt: skip

    # pool exhausted, SQLite file locked past its busy timeout, database unreachable: all transient
    api.add_exception_handler(PoolTimeoutError, _overloaded)
    api.add_exception_handler(OperationalError, _overloaded)
