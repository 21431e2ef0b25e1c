"""Render the hookspecs' docstrings as docs/plugins.md: ``python -m flowtrack.plugins.docs``.

A test checks that the committed page matches, so the docstrings stay the documentation.
"""

from __future__ import annotations

import inspect
import sys
import textwrap

from flowtrack import hookspecs

HEADER = """\
# Writing flowtrack plugins

<!-- Generated from core/src/flowtrack/hookspecs.py by `python -m flowtrack.plugins.docs`;
     edit the docstrings there, then regenerate this page. -->
"""


def hook_names() -> list[str]:
    return [name for name in vars(hookspecs) if name.startswith("flowtrack_")]


def render() -> str:
    parts = [HEADER, inspect.cleandoc(hookspecs.__doc__ or ""), ""]
    parts += [
        "## Turning plugins off",
        "",
        "`FLOWTRACK_PLUGINS` narrows what is loaded: unset or `all` loads everything; `none` only",
        "the built-in stores and model flavors; `git_context,airflow` those plus the required",
        "built-ins; `-git_context` everything but that one. The built-ins are `sql_store`,",
        "`rest_store`, `fsspec_artifacts`, `flavors`, `git_context`, `host_context` and",
        "`serializers`.",
        "",
        "## Testing a plugin",
        "",
        "`flowtrack.testing.reset()` gives a clean process state and a fresh plugin manager;",
        "`flowtrack.testing.registered(plugin)` registers a plugin for the length of a `with`",
        "block.",
        "",
        "## Hooks",
        "",
    ]
    for name in hook_names():
        fn = getattr(hookspecs, name)
        signature = str(inspect.signature(fn)).replace("'", "")
        parts += [
            f"### `{name}`",
            "",
            "```python",
            f"def {name}{signature}",
            "```",
            "",
            textwrap.dedent(inspect.cleandoc(fn.__doc__ or "")),
            "",
        ]
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
