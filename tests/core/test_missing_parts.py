"""The tests' own rule for a missing part (tests/conftest.py): a developer's partial setup
skips the tests that need it, naming it; under ./scripts/test, which installs everything, the
same absence fails them, so a broken install cannot pass as skipped tests."""

from __future__ import annotations

import pytest

import tests.conftest as shared


def test_a_missing_part_skips_for_a_developer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared, "COMPLETE", False)
    with pytest.raises(pytest.skip.Exception, match="chromium is missing"):
        shared.missing("chromium is missing")


def test_a_missing_part_fails_under_scripts_test(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shared, "COMPLETE", True)
    with pytest.raises(pytest.fail.Exception, match=r"chromium is missing; \./scripts/test"):
        shared.missing("chromium is missing")
    with pytest.raises(pytest.fail.Exception, match="no_such_module is not installed"):
        shared.need_module("no_such_module")
