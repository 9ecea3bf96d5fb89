"""Fixtures of the local cloud tests: fake credentials, moto in-process, patch toggles."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

REGION = "us-east-1"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region; never a user's real profile or endpoint."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


@pytest.fixture
def cfn_fixes(aws_env: None) -> Iterator[None]:
    """moto in-process with our CloudFormation overrides installed."""
    from moto import mock_aws

    from localcloud import cfn

    was_installed = cfn.PATCHES.installed
    cfn.PATCHES.install()
    try:
        with mock_aws():
            yield
    finally:
        if not was_installed:
            cfn.PATCHES.uninstall()
