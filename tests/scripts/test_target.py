"""Stage and endpoint resolution: nothing needs editing to switch between targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.errors import UsageError
from scripts.target import DEFAULT_LOCAL_ENDPOINT, resolve_target


def test_local_defaults_to_the_local_cloud() -> None:
    target = resolve_target("local", env={})
    assert target.endpoint == DEFAULT_LOCAL_ENDPOINT
    assert target.region == "us-east-1"
    assert target.table_name("messages") == "cruddur-messages"


def test_endpoint_option_beats_the_environment() -> None:
    env = {"AWS_ENDPOINT_URL": "http://localhost:8000"}
    assert resolve_target("local", env=env).endpoint == "http://localhost:8000"
    assert resolve_target("local", "http://h:1/", env=env).endpoint == "http://h:1"
    env["AWS_ENDPOINT_URL_DYNAMODB"] = "http://dynamo:9"
    assert resolve_target("local", env=env).endpoint == "http://dynamo:9"


def test_prod_uses_prod_names_and_no_endpoint_even_when_one_is_exported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = resolve_target("prod", env={"AWS_ENDPOINT_URL": "http://localhost:4566"})
    assert target.endpoint is None
    assert target.is_prod
    assert target.table_name("users") == "Users-prod"
    # botocore itself would honour AWS_ENDPOINT_URL; prod clients must not.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://localhost:4566")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    client = target.client()
    assert client.meta.endpoint_url == "https://dynamodb.us-east-1.amazonaws.com"


def test_prod_refuses_an_endpoint_override() -> None:
    with pytest.raises(UsageError, match="--endpoint cannot be used with --stage prod"):
        resolve_target("prod", "http://localhost:4566", env={})


def test_unknown_stage_and_bad_endpoint_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="unknown stage 'qa'"):
        resolve_target("qa", env={})
    with pytest.raises(UsageError, match="must be an http"):
        resolve_target("local", "localhost:8000", env={})


def test_table_name_passes_unknown_names_through() -> None:
    target = resolve_target("local", env={})
    assert target.table_name("Users") == "Users"
    assert target.table_name("bench-messages") == "bench-messages"
    assert target.table_spec("bench-messages") is None


def test_local_uses_fake_credentials_only_when_none_are_configured(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    client = resolve_target("local", "http://127.0.0.1:9").client()
    assert client._request_signer._credentials.access_key == "local"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "mine")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    client = resolve_target("local", "http://127.0.0.1:9").client()
    assert client._request_signer._credentials.access_key == "mine"


def test_each_target_resolves_its_own_credentials_over_one_model_loader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "first")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "first-secret")
    first = resolve_target("prod", env={})
    assert first.session.get_credentials().access_key == "first"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "second")
    second = resolve_target("prod", env={})
    assert second.session.get_credentials().access_key == "second"
    assert first.session.get_credentials().access_key == "first"  # resolved per target
    loaders = {id(t.session._session.get_component("data_loader")) for t in (first, second)}
    assert len(loaders) == 1  # the models are read once, not once per target
