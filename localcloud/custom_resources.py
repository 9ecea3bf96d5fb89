"""CloudFormation custom resources (`AWS::CloudFormation::CustomResource`, `Custom::*`) whose
`ServiceToken` is a Lambda function, run as CloudFormation runs them.

moto 5.2.5 invoked the function in a thread with a `ResponseURL` on `host.docker.internal`
(unreachable here), sent the properties as the template had them (booleans and numbers
unconverted), never waited for the answer, ignored a `FAILED` one, and sent nothing on update
or delete. Here each create, update and delete:

* sends CloudFormation's request (`RequestType`, `ResponseURL`, `StackId`, `RequestId`,
  `ResourceType`, `LogicalResourceId`, `ResourceProperties` with every scalar as a string,
  nested ones too; an update adds `PhysicalResourceId` and `OldResourceProperties`, a delete
  `PhysicalResourceId`) to the function through our Lambda runner;
* waits for the answer at the `ResponseURL` (`PUT <endpoint>/_localcloud/cfn-response/<token>`,
  served by the front door through `answer`) for the resource's `ServiceTimeout` (seconds,
  default 3600 as on AWS); no answer in time, or the function failing before it answered
  (AWS would wait out the timeout), fails the resource; `Status: FAILED` fails it with the
  response's `Reason`, so the stack rolls back (`cfn_resources`);
* keeps the answered `PhysicalResourceId` (`Ref`) and `Data` (`Fn::GetAtt`; an attribute
  the answer did not have fails as on AWS). An update answered with a new physical id
  replaces the resource: the old one gets its `Delete` after the update.

An SNS `ServiceToken` is refused with a message that says so.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.cloudformation import parsing as cfn_parsing
from moto.cloudformation.exceptions import ValidationError
from moto.core.common_models import CloudFormationModel

from localcloud import cfn_types, lambda_runner
from localcloud.patches import Patch, PatchSet

log = logging.getLogger("localcloud.cfn")

RESOURCE_TYPE = "AWS::CloudFormation::CustomResource"
RESPONSE_PATH = "/_localcloud/cfn-response/"
# CloudFormation's default wait for a custom resource's answer (ServiceTimeout's maximum).
DEFAULT_TIMEOUT_S = 3600.0


class CustomResourceFailed(ValidationError):
    """The custom resource answered FAILED, never answered, or could not be asked."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message)


@dataclass
class _Pending:
    """One request waiting for its answer at the response URL."""

    done: threading.Event = field(default_factory=threading.Event)
    response: dict[str, Any] | None = None
    # The function's error when it failed before answering.
    crashed: str | None = None


_pending: dict[str, _Pending] = {}
_pending_lock = threading.Lock()


def as_sent(value: Any) -> Any:
    """A property value as CloudFormation sends it to a custom resource: every scalar a
    string (`true`/`false` for booleans), nested lists and objects alike."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        return {key: as_sent(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_sent(item) for item in value]
    return value


def answer(token: str, body: bytes) -> tuple[int, bytes]:
    """The response URL's `PUT`: hand the answer to the waiting request; status and body."""
    with _pending_lock:
        pending = _pending.get(token)
    if pending is None:
        return 404, b"no custom resource request waits for this response (it timed out?)"
    try:
        response = json.loads(body or b"{}")
    except ValueError:
        response = None
    if not isinstance(response, dict):
        pending.response = {"Status": "FAILED", "Reason": "the response is not a JSON object"}
    else:
        pending.response = response
    pending.done.set()
    return 200, b""


def _response_url(token: str) -> str:
    return f"{lambda_runner.runner().settings.endpoint}{RESPONSE_PATH}{token}"


def _function(service_token: str, account_id: str, region_name: str) -> LambdaFunction:
    parts = service_token.split(":")
    if len(parts) > 2 and parts[2] == "sns":
        raise CustomResourceFailed(
            f"ServiceToken {service_token} is an SNS topic: the local cloud runs custom "
            "resources backed by a Lambda function only"
        )
    region = parts[3] if len(parts) > 3 and parts[3] else region_name
    account = parts[4] if len(parts) > 4 and parts[4] else account_id
    try:
        fn: LambdaFunction = lambda_backends[account][region].get_function(service_token)
    except LambdaClientError as error:
        raise CustomResourceFailed(f"ServiceToken {service_token}: {error.message}") from None
    return fn


def _timeout_s(properties: dict[str, Any]) -> float:
    raw = properties.get("ServiceTimeout")
    try:
        return float(raw) if raw not in (None, "") else DEFAULT_TIMEOUT_S
    except (TypeError, ValueError):
        raise CustomResourceFailed(f"ServiceTimeout {raw!r} is not a number") from None


def _invoke(fn: LambdaFunction, event: dict[str, Any], pending: _Pending) -> None:
    try:
        outcome = lambda_runner.runner().invoke(fn, event)
    except LambdaClientError as error:
        pending.crashed = f"{getattr(error, 'error_type', 'Error')}: {error.message}"
        pending.done.set()
        return
    if outcome.function_error:
        try:
            payload = json.loads(outcome.payload or b"{}")
            pending.crashed = f"{payload.get('errorType')}: {payload.get('errorMessage')}"
        except (ValueError, AttributeError):
            pending.crashed = outcome.payload.decode(errors="replace")
        pending.done.set()


def send(
    request_type: str,
    *,
    account_id: str,
    region_name: str,
    stack_id: str,
    logical_id: str,
    resource_type: str,
    properties: dict[str, Any],
    physical_id: str | None = None,
    old_properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Send one request to the custom resource's function; its SUCCESS answer."""
    service_token = str(properties.get("ServiceToken") or "")
    if not service_token:
        raise CustomResourceFailed(f"{logical_id} has no ServiceToken")
    fn = _function(service_token, account_id, region_name)
    timeout_s = _timeout_s(properties)
    token, request_id = uuid.uuid4().hex, str(uuid.uuid4())
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": service_token,
        "ResponseURL": _response_url(token),
        "StackId": stack_id,
        "RequestId": request_id,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "ResourceProperties": as_sent(properties),
    }
    if physical_id is not None:
        event["PhysicalResourceId"] = physical_id
    if old_properties is not None:
        event["OldResourceProperties"] = as_sent(old_properties)
    pending = _Pending()
    with _pending_lock:
        _pending[token] = pending
    started = time.monotonic()
    try:
        threading.Thread(
            target=_invoke, args=(fn, event, pending), name="cfn-custom-resource", daemon=True
        ).start()
        pending.done.wait(timeout_s)
    finally:
        with _pending_lock:
            _pending.pop(token, None)
    response = pending.response
    if response is None:
        if pending.crashed is not None:
            raise CustomResourceFailed(
                f"the custom resource's function {fn.function_name} failed before it answered "
                f"(RequestId: {request_id}): {pending.crashed}"
            )
        raise CustomResourceFailed(
            "CloudFormation did not receive a response from your Custom Resource within "
            f"{time.monotonic() - started:.0f} s. Please check your logs for requestId "
            f"[{request_id}]."
        )
    status = response.get("Status")
    if status != "SUCCESS":
        reason = response.get("Reason") or "no reason given"
        raise CustomResourceFailed(
            f"Received response status [{status}] from custom resource. Message returned: "
            f"{reason} (RequestId: {request_id})"
        )
    if not response.get("PhysicalResourceId") and physical_id is None:
        raise CustomResourceFailed(
            f"Invalid PhysicalResourceId in the response of custom resource {logical_id}"
        )
    return response


class CustomResource(CloudFormationModel):
    """One custom resource: the physical id and `Data` its function answered."""

    def __init__(
        self,
        *,
        account_id: str,
        region_name: str,
        stack_id: str,
        logical_id: str,
        resource_type: str,
        properties: dict[str, Any],
        physical_id: str,
        data: dict[str, Any],
    ) -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.stack_id = stack_id
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.properties = properties
        self._physical_id = physical_id
        self.data = data

    @property
    def physical_resource_id(self) -> str:
        return self._physical_id

    @staticmethod
    def cloudformation_type() -> str:
        return RESOURCE_TYPE

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    def is_created(self) -> bool:
        # moto's ResourceMap asks custom resources whether they finished; ours always have.
        return True

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return True  # any key of the answer's Data

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name in self.data:
            return self.data[attribute_name]
        raise CustomResourceFailed(
            f"CustomResource attribute error: Vendor response doesn't contain "
            f"{attribute_name} attribute in object {self.stack_id}|{self.logical_id}|"
            f"{self._physical_id}"
        )

    @classmethod
    def create_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> CustomResource:
        properties = dict(cloudformation_json.get("Properties") or {})
        logical_id, stack_id = str(kwargs["LogicalId"]), str(kwargs["StackId"])
        resource_type = str(kwargs.get("ResourceType") or cloudformation_json.get("Type"))
        response = send(
            "Create",
            account_id=account_id,
            region_name=region_name,
            stack_id=stack_id,
            logical_id=logical_id,
            resource_type=resource_type,
            properties=properties,
        )
        return cls(
            account_id=account_id,
            region_name=region_name,
            stack_id=stack_id,
            logical_id=logical_id,
            resource_type=resource_type,
            properties=properties,
            physical_id=str(response["PhysicalResourceId"]),
            data=dict(response.get("Data") or {}),
        )

    @classmethod
    def update_from_cloudformation_json(
        cls,
        original_resource: CustomResource,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> CustomResource:
        properties = dict(cloudformation_json.get("Properties") or {})
        old = original_resource
        response = send(
            "Update",
            account_id=account_id,
            region_name=region_name,
            stack_id=old.stack_id,
            logical_id=old.logical_id,
            resource_type=old.resource_type,
            properties=properties,
            physical_id=old.physical_resource_id,
            old_properties=old.properties,
        )
        physical_id = str(response.get("PhysicalResourceId") or old.physical_resource_id)
        if physical_id != old.physical_resource_id:
            # A replacement: CloudFormation deletes the old one after the update.
            try:
                old.delete(account_id, region_name)
            except CustomResourceFailed as error:
                log.warning("the replaced %s was not deleted: %s", old.logical_id, error.message)
        return cls(
            account_id=account_id,
            region_name=region_name,
            stack_id=old.stack_id,
            logical_id=old.logical_id,
            resource_type=old.resource_type,
            properties=properties,
            physical_id=physical_id,
            data=dict(response.get("Data") or {}),
        )

    def delete(self, account_id: str, region_name: str) -> None:
        """Send the resource's `Delete`; a FAILED answer fails the delete."""
        send(
            "Delete",
            account_id=self.account_id,
            region_name=self.region_name,
            stack_id=self.stack_id,
            logical_id=self.logical_id,
            resource_type=self.resource_type,
            properties=self.properties,
            physical_id=self._physical_id,
        )


cfn_types.register(RESOURCE_TYPE, CustomResource, None)

# moto serves every `Custom::*` type with the class named here.
PATCHES = PatchSet(
    "custom_resources",
    [Patch("cfn.custom_resource.answered", cfn_parsing, "CustomModel", CustomResource)],
)
