"""The SQL store's own test suites (tracking, lineage, the registry and its races, models in
runs, discussions) run again over REST: every test of those modules, with the store behind a
real flowtrack server.

The modules' tests are imported here, so pytest collects them a second time in this module,
where ``store_uri`` is the server's URL and FLOWTRACK_TRACKING_URI points at it (tests that use
the embedded default go to the server too).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.core.serverfixtures import Server, flowtrack_server  # noqa: F401
from tests.core.test_comments import *  # noqa: F403
from tests.core.test_lineage import *  # noqa: F403
from tests.core.test_models_runs import *  # noqa: F403
from tests.core.test_registry import *  # noqa: F403
from tests.core.test_registry_links import *  # noqa: F403
from tests.core.test_registry_races import *  # noqa: F403
from tests.core.test_tracking_api import *  # noqa: F403

# Registers a version from a file:// URI of the run's artifact root: over REST that root is a
# URL of the server, so there is no local path to name (the rest of the test is covered in
# test_rest_store.py: proxied artifact URIs as sources, and the refusals).
globals().pop("test_sources_outside_the_run_are_refused")
# Tampers with a model file through its local path; over REST, test_rest_store.py does it
# through the artifact proxy.
globals().pop("test_a_registered_model_with_a_tampered_file_is_refused")


@pytest.fixture
def store_uri(flowtrack_server: Server) -> str:  # noqa: F811
    return flowtrack_server.url


@pytest.fixture(autouse=True)
def _over_rest(ft_home: Path, flowtrack_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setenv("FLOWTRACK_TRACKING_URI", flowtrack_server.url)
