"""Hypothesis profiles: HYPOTHESIS_PROFILE=dev (default, quick), ci (more examples), long."""

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "ci", max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """With MINIGRAD_NO_SKIPS=1 (CI sets it) a skipped test fails: CI installs everything the
    opt-in tests need (MNIST, PyTorch, Chromium), so a skip there means a missing install step."""
    outcome = yield
    report = outcome.get_result()
    if (
        report.skipped
        and os.environ.get("MINIGRAD_NO_SKIPS") == "1"
        and not hasattr(report, "wasxfail")
    ):
        report.outcome = "failed"
        report.longrepr = f"skipped under MINIGRAD_NO_SKIPS=1: {report.longrepr}"
