"""Where the tools point: stage (names, region), endpoint and credentials, and error mapping.

`--stage local|prod` picks physical table names and region from `stacks.config`. For
`local` the endpoint is `--endpoint`, else `AWS_ENDPOINT_URL_DYNAMODB` / `AWS_ENDPOINT_URL`,
else the local cloud on `http://localhost:4566`; fake credentials are used when none are
configured. `prod` talks to AWS itself and ignores endpoint variables from the environment,
so a shell exported for local work cannot redirect a prod command.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import (
    ConnectTimeoutError as BotoConnectTimeoutError,
)

from datamodel.tables import ConfigError, TableSpec
from scripts.errors import (
    EndpointUnreachable,
    IndexNotFound,
    InvalidRequest,
    TableNotFound,
    ToolError,
    UsageError,
)
from stacks.config import StageConfig, stage_config

DEFAULT_LOCAL_ENDPOINT = "http://localhost:4566"
FAKE_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


@functools.cache
def _model_loader(data_path: str | None) -> botocore.loaders.Loader:
    """botocore's service models and endpoint data (`AWS_DATA_PATH` too), read once."""
    return botocore.loaders.create_loader(data_path)


def new_session() -> boto3.session.Session:
    """A session of its own (its own credentials) that shares the process's model loader:
    a session's first client otherwise parses botocore's JSON models again (~50 ms)."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _model_loader(core.get_config_variable("data_path")))
    return boto3.session.Session(botocore_session=core)


@dataclass(frozen=True)
class Target:
    """A stage and the DynamoDB endpoint that serves it (`None`: AWS itself)."""

    stage: StageConfig
    endpoint: str | None
    # A session of its own: credentials are resolved per target, not cached process-wide.
    session: boto3.session.Session = field(default_factory=new_session, compare=False, repr=False)

    @property
    def region(self) -> str:
        """The stage's region."""
        return self.stage.region

    @property
    def is_prod(self) -> bool:
        """True when commands act on the production account."""
        return self.stage.name == "prod"

    @property
    def where(self) -> str:
        """A short description of the endpoint for messages."""
        return self.endpoint or f"AWS {self.region}"

    def client(
        self, *, max_pool: int = 10, read_timeout: float = 30.0, validate_params: bool = True
    ) -> Any:
        """A low-level DynamoDB client for this target.

        `validate_params=False` skips botocore's client-side request validation, for callers
        that have validated every item themselves (the seeder): it is CPU per request.
        """
        return self._client(
            "dynamodb",
            max_pool=max_pool,
            read_timeout=read_timeout,
            validate_params=validate_params,
        )

    def sts_client(self) -> Any:
        """An STS client (prod only: names the account before a destructive action)."""
        return self._client("sts", max_pool=1, read_timeout=10.0)

    def _client(
        self, service: str, *, max_pool: int, read_timeout: float, validate_params: bool = True
    ) -> Any:
        local = self.endpoint is not None
        config = Config(
            region_name=self.region,
            max_pool_connections=max_pool,
            connect_timeout=2 if local else 10,
            read_timeout=read_timeout,
            # Locally a dead endpoint should fail fast; AWS gets the SDK's standard retries.
            retries={"mode": "standard", "max_attempts": 2 if local else 5},
            ignore_configured_endpoint_urls=not local,
            parameter_validation=validate_params,
        )
        kwargs: dict[str, Any] = {"config": config}
        if local:
            kwargs["endpoint_url"] = self.endpoint
            if not _credentials_configured(os.environ):
                kwargs.update(FAKE_CREDENTIALS)
        return self.session.client(service, **kwargs)

    def table_spec(self, name: str) -> TableSpec | None:
        """The stage's spec for `name` (logical key or physical name), if it is one."""
        for spec in self.stage.tables:
            if name in (spec.key, spec.table_name):
                return spec
        return None

    def table_name(self, name: str) -> str:
        """The physical name for `name`: a logical key (`messages`) or any table name."""
        spec = self.table_spec(name)
        return spec.table_name if spec is not None else name


def _credentials_configured(env: Mapping[str, str]) -> bool:
    if env.get("AWS_ACCESS_KEY_ID") or env.get("AWS_PROFILE"):
        return True
    shared = env.get("AWS_SHARED_CREDENTIALS_FILE", str(Path.home() / ".aws" / "credentials"))
    return Path(shared).is_file()


def resolve_target(
    stage: str = "local",
    endpoint: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Target:
    """Build the `Target` for `stage`, honouring `--endpoint` and the endpoint variables."""
    env = os.environ if env is None else env
    try:
        config = stage_config(stage)
    except ConfigError as error:
        raise UsageError(str(error)) from None
    if config.name == "prod":
        if endpoint:
            raise UsageError("--endpoint cannot be used with --stage prod (prod is AWS itself)")
        return Target(config, None)
    chosen = (
        endpoint
        or env.get("AWS_ENDPOINT_URL_DYNAMODB")
        or env.get("AWS_ENDPOINT_URL")
        or DEFAULT_LOCAL_ENDPOINT
    )
    if not chosen.startswith(("http://", "https://")):
        raise UsageError(f"endpoint {chosen!r} must be an http:// or https:// URL")
    return Target(config, chosen.rstrip("/"))


def error_code(error: ClientError) -> str:
    """The DynamoDB error code of a `ClientError`."""
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    """The service's own message of a `ClientError`."""
    return str(error.response.get("Error", {}).get("Message", "")) or error_code(error)


@contextmanager
def translated_errors(target: Target, table: str | None = None) -> Iterator[None]:
    """Turn botocore failures into the tool's one-line `ToolError`s."""
    try:
        yield
    except (
        EndpointConnectionError,
        BotoConnectTimeoutError,
        ConnectionClosedError,
        ReadTimeoutError,
    ) as error:
        raise EndpointUnreachable(f"cannot reach DynamoDB at {target.where}: {error}") from None
    except NoCredentialsError:
        raise ToolError(
            f"no AWS credentials for stage {target.stage.name}: set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        ) from None
    except ClientError as error:
        raise client_error(error, target, table) from None
    except BotoCoreError as error:
        raise ToolError(f"DynamoDB at {target.where}: {error}") from None


def client_error(error: ClientError, target: Target, table: str | None) -> ToolError:
    """The `ToolError` for a service error."""
    code = error_code(error)
    message = error_message(error)
    if code == "ResourceNotFoundException":
        name = f"table {table}" if table else "the table"
        return TableNotFound(f"{name} does not exist at {target.where} ({message})")
    if code == "ValidationException":
        if "specified index" in message:
            return IndexNotFound(f"{table or 'table'}: {message}")
        return InvalidRequest(f"{table or 'DynamoDB'} refused the request: {message}")
    if code in {"UnrecognizedClientException", "InvalidSignatureException", "ExpiredToken"}:
        return ToolError(f"credentials rejected by {target.where}: {message}")
    return ToolError(f"{code or 'error'} from {target.where}: {message}")
