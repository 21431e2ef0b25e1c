"""Reading MLflow requests and registering handlers.

The MLflow client sends GET requests with the fields in the query string (repeated keys for
lists) and other methods with a JSON body, in protobuf's JSON mapping: 64-bit integers may come
as strings, and NaN and infinities as "NaN", "Infinity" and "-Infinity". Handlers are plain
functions ``(state, params) -> dict`` run in the thread pool, because the store is synchronous.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from flowtrack.server.mlflow.errors import invalid
from flowtrack.server.state import ServerState, get_state

API = "/api/2.0/mlflow"
# The server's state, as a FastAPI dependency (Annotated: no call in argument defaults).
State = Annotated[ServerState, Depends(get_state)]
_SPECIAL_FLOATS = {"nan": math.nan, "infinity": math.inf, "-infinity": -math.inf}


class Params:
    """The fields of one request, with typed getters that name the field in their errors."""

    def __init__(self, data: dict[str, Any], request: Request | None = None) -> None:
        self.data = data
        # For the permission checks a handler makes itself (access.py).
        self.request = request

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name)
        if isinstance(value, list) and value and not isinstance(value[0], dict):
            value = value[-1]  # a scalar repeated in a query string: the last one wins
        if value is None and required:
            raise invalid(
                f"Missing value for required parameter '{name}'; send it in the JSON body "
                "(or the query string of a GET request)"
            )
        return value

    def text(self, name: str, required: bool = False) -> str | None:
        value = self._get(name, required)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _text(value)
        raise invalid(f"Invalid value {value!r} for parameter '{name}': expected a string")

    def req_text(self, name: str) -> str:
        value = self.text(name, required=True)
        assert value is not None
        return value

    def integer(self, name: str, required: bool = False) -> int | None:
        value = self._get(name, required)
        if value is None or (isinstance(value, str) and not value and not required):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise invalid(f"Invalid value {value!r} for parameter '{name}': expected an integer")

    def real(self, name: str, required: bool = False) -> float | None:
        return parse_float(self._get(name, required), f"parameter '{name}'")

    def flag(self, name: str, default: bool = False) -> bool:
        value = self._get(name, False)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise invalid(f"Invalid value {value!r} for parameter '{name}': expected true or false")

    def strings(self, name: str) -> list[str]:
        value = self.data.get(name)
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(v, str) for v in items):
            raise invalid(f"Invalid value {value!r} for parameter '{name}': expected strings")
        return list(items)

    def objects(self, name: str) -> list[dict[str, Any]]:
        value = self.data.get(name)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise invalid(f"Invalid value for parameter '{name}': expected a list of objects")
        return value

    def key_values(self, name: str) -> dict[str, str]:
        """``[{"key": k, "value": v}, ...]`` (MLflow's tags) as a dict."""
        out: dict[str, str] = {}
        for item in self.objects(name):
            key, value = item.get("key"), item.get("value", "")
            if not isinstance(key, str):
                raise invalid(f"Invalid {name}: every entry needs a string 'key', got {item!r}")
            out[key] = value if isinstance(value, str) else _text(value)
        return out


def _text(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def parse_float(value: Any, what: str) -> float | None:
    """A number as protobuf's JSON mapping sends it; ``what`` names it in the error."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        special = _SPECIAL_FLOATS.get(value.strip().lower())
        if special is not None:
            return special
        try:
            return float(value)
        except ValueError:
            pass
    raise invalid(
        f"Invalid value {value!r} for {what}: expected a number "
        "(NaN, Infinity and -Infinity are allowed)"
    )


def number(value: float) -> float | str:
    """A double in protobuf's JSON mapping: NaN and infinities as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


async def read_params(request: Request) -> Params:
    """The query string of a GET, the JSON body of other methods; path parameters win."""
    data: dict[str, Any] = {}
    body = b"" if request.method == "GET" else await request.body()
    if body.strip():
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise invalid(
                f"The request body is not valid JSON ({exc}); send a JSON object"
            ) from None
        if not isinstance(parsed, dict):
            raise invalid("The request body must be a JSON object")
        data = parsed
    else:
        # Scalars stay lists here; the getters take the last value, list getters all of them.
        for key, value in request.query_params.multi_items():
            data.setdefault(key, []).append(value)
    data.update(request.path_params)
    return Params(data, request)


Handler = Callable[[ServerState, Params], dict[str, Any]]


def json_response(payload: dict[str, Any]) -> Response:
    # allow_nan=False: a NaN that escaped `number` is a bug, better loud than invalid JSON.
    body = json.dumps(payload, allow_nan=False, separators=(",", ":"))
    return Response(body, media_type="application/json")


def endpoint(
    router: APIRouter, path: str, *methods: str, access: Sequence[Callable[..., Any]]
) -> Callable[[Handler], Handler]:
    """Register ``handler`` at ``/api/2.0/mlflow<path>`` for ``methods``, behind the
    permission checks ``access`` (dependencies from access.py; required, so that no route is
    registered without deciding who may call it)."""

    def register(handler: Handler) -> Handler:
        async def serve(request: Request, state: State) -> Response:
            params = await read_params(request)
            return json_response(await run_in_threadpool(handler, state, params))

        # One route per method: OpenAPI operation ids must be unique, and FastAPI derives one
        # id for all the methods of a route.
        for method in methods:
            router.add_api_route(
                API + path,
                serve,
                methods=[method],
                # Unique per route (several modules have a `create`): the path says which.
                name="mlflow" + re.sub(r"\W+", "_", path) + "_" + method.lower(),
                summary=(handler.__doc__ or handler.__name__).strip().splitlines()[0],
                response_class=Response,
                dependencies=[Depends(check) for check in access],
            )
        return handler

    return register
