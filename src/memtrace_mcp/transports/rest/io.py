"""Request bodies in, models out.

Bodies are parsed here rather than by FastAPI so that every route treats JSON the
same way (any Content-Type, strict types, errors naming the field) and so that
responses are serialised once, by pydantic, without a second validation pass.
The OpenAPI document still describes each body: ``body_doc`` adds the schema.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel
from starlette.responses import Response

from ...errors import InvalidInputError
from ...models import parse

M = TypeVar("M", bound=BaseModel)

# Models named in request bodies; the OpenAPI generator adds them to components.
BODY_MODELS: dict[str, type[BaseModel]] = {}


async def read_json(request: Request, *, optional: bool = False) -> Any:
    return decode_json(await request.body(), optional=optional)


def decode_json(raw: bytes, *, optional: bool = False) -> Any:
    """A request body as JSON; 400 naming ``body`` when it is not."""
    if not raw.strip():
        if optional:
            return {}
        raise InvalidInputError("request body is required (a JSON object)", field="body")
    try:
        # NaN and Infinity are not JSON; Python's parser would accept them.
        return json.loads(raw, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInputError("request body is not valid JSON", field="body") from None
    except RecursionError:  # nesting deeper than the parser's stack: bad input, not a 500
        raise InvalidInputError("request body is nested too deeply", field="body") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_body(model: type[M], *, optional: bool = False) -> Callable[[Request], Awaitable[M]]:
    """A dependency that parses the body as ``model``."""

    async def dependency(request: Request) -> M:
        data = await read_json(request, optional=optional)
        if not isinstance(data, dict):
            raise InvalidInputError("request body must be a JSON object", field="body")
        return parse(model, data)

    return dependency


def body_doc(*models: type[BaseModel], required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` describing a JSON body of one of ``models``."""
    for model in models:
        BODY_MODELS[model.__name__] = model
    refs = [{"$ref": f"#/components/schemas/{m.__name__}"} for m in models]
    schema = refs[0] if len(refs) == 1 else {"oneOf": refs}
    return {
        "requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}
    }


class ModelResponse(Response):
    media_type = "application/json"

    def __init__(self, model: BaseModel, status_code: int = 200) -> None:
        super().__init__(model.model_dump_json().encode(), status_code)
