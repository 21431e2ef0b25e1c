"""Built-in plugin: the model flavors ``python_function``, ``sklearn`` and ``pytorch``.

Each flavor lives in its own module and imports its library only when a model of that kind
is saved, loaded or asked about (``handles`` looks in ``sys.modules``: an object can only be
an sklearn estimator or a torch module if that library is imported already).
"""

from __future__ import annotations

from flowtrack.builtin.flavors import python_function, pytorch, sklearn
from flowtrack.hookspecs import hookimpl
from flowtrack.plugins.records import FlavorSpec


@hookimpl
def flowtrack_register_flavors() -> list[FlavorSpec]:
    return [sklearn.FLAVOR, pytorch.FLAVOR, python_function.FLAVOR]
