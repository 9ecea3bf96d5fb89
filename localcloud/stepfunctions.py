"""Step Functions executions that run, so CDK's `Provider` waiter polls `is_complete`.

moto 5.2.5 keeps two Step Functions backends: the recording one (`StartExecution` only
stores an execution) and its ASL interpreter, which the API uses only with moto's
`stepfunctions.execute_state_machine` config. The patches here make the interpreter the
backend of the API and of CloudFormation (which always wrote to the recording one, so a
stack's state machine was not found by an interpreted `StartExecution`), and point the
interpreter's own clients at this server (they call `localhost:$MOTO_PORT`, 5000 by
default), so a Task's Lambda invocation runs in our runner. A state machine CloudFormation
names is cut to Step Functions' 80 characters (moto's `<stack>-<logical id>-<suffix>` of a
long stack name was refused), keeping the random suffix.
"""

from __future__ import annotations

from typing import Any

from moto.stepfunctions import models as sfn_models
from moto.stepfunctions import responses as sfn_responses
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.models import stepfunctions_parser_backends

from localcloud.patches import Patch, PatchSet
from localcloud.settings import Settings

_port = 0  # this server's, set by `install`


def _get_backend(account: str, region: str) -> Any:
    """The interpreting backend, whatever moto's config says."""
    return stepfunctions_parser_backends[account][region]


def _server_port() -> str:
    return str(_port)


MAX_NAME = 80  # Step Functions' limit on a state machine name


def _create_from_cloudformation_json(
    cls: type[sfn_models.StateMachine],
    /,
    resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
    **kwargs: Any,
) -> sfn_models.StateMachine:
    """moto's create, with a generated name short enough for Step Functions."""
    if "StateMachineName" not in cloudformation_json.get("Properties", {}):
        prefix, _, suffix = resource_name.rpartition("-")
        resource_name = f"{prefix[: MAX_NAME - len(suffix) - 1].rstrip('-')}-{suffix}"
    original = _CREATE.original.__func__
    return original(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)  # type: ignore[no-any-return]


_CREATE = Patch(
    "stepfunctions.cfn.short_name",
    sfn_models.StateMachine,
    "create_from_cloudformation_json",
    classmethod(_create_from_cloudformation_json),
)


PATCHES = PatchSet(
    "stepfunctions",
    [
        Patch("stepfunctions.api.executes", sfn_responses, "get_backend", _get_backend),
        # CloudFormation's StateMachine looks this module global up at call time.
        Patch(
            "stepfunctions.cfn.executes",
            sfn_models,
            "stepfunctions_backends",
            stepfunctions_parser_backends,
        ),
        _CREATE,
        Patch("stepfunctions.tasks.local_endpoint", boto_client, "moto_server_port", _server_port),
    ],
)


def install(settings: Settings) -> None:
    """Run state machine executions, their Tasks calling this server on `settings.port`."""
    global _port
    _port = settings.port
    PATCHES.install()
