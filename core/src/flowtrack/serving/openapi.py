"""What ``/openapi.json`` (and the ``/docs`` page) says about ``POST /invocations``.

The endpoint reads its body itself (JSON in four layouts, or CSV), so FastAPI cannot derive
this from type hints: it is written out here.
"""

from __future__ import annotations

from typing import Any

_SPLIT = {"dataframe_split": {"columns": ["age", "income"], "data": [[31, 5200.0]]}}
_ERROR = {
    "type": "object",
    "properties": {
        "error_code": {"type": "string", "enum": ["BAD_REQUEST", "INTERNAL_ERROR"]},
        "message": {"type": "string"},
        "field": {"type": "string", "description": "the input column that did not match"},
    },
    "required": ["error_code", "message"],
}

INVOCATIONS: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": "Exactly one of dataframe_split, dataframe_records, "
                    "instances or inputs (MLflow's scoring formats), and optionally params "
                    "(accepted and ignored).",
                    "properties": {
                        "dataframe_split": {
                            "type": "object",
                            "properties": {
                                "columns": {"type": "array"},
                                "data": {"type": "array", "items": {"type": "array"}},
                                "index": {"type": "array"},
                            },
                            "required": ["data"],
                        },
                        "dataframe_records": {"type": "array", "items": {"type": "object"}},
                        "instances": {"type": "array"},
                        "inputs": {"oneOf": [{"type": "array"}, {"type": "object"}]},
                        "params": {"type": "object"},
                    },
                },
                "examples": {
                    "dataframe_split": {"value": _SPLIT},
                    "dataframe_records": {
                        "value": {"dataframe_records": [{"age": 31, "income": 5200.0}]}
                    },
                    "inputs": {"value": {"inputs": [[31, 5200.0]]}},
                },
            },
            "text/csv": {
                "schema": {"type": "string"},
                "example": "age,income\n31,5200.0\n",
            },
        },
    }
}

RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The predictions",
        "content": {"application/json": {"example": {"predictions": [0]}}},
    },
    400: {
        "description": "The body cannot be read, or does not match the model's signature",
        "content": {"application/json": {"schema": _ERROR}},
    },
    415: {
        "description": "Not application/json or text/csv in UTF-8",
        "content": {"application/json": {"schema": _ERROR}},
    },
    500: {
        "description": "The model failed to predict (its traceback is in the server's log)",
        "content": {"application/json": {"schema": _ERROR}},
    },
}
