"""CloudFormation's API Gateway resources that moto skips or keeps only in part.

moto 5.2.5 skips `AWS::ApiGateway::Stage` (so `RestApi.url` ends in `/None/`), keeps of an
`AWS::ApiGateway::Method` only its type and integration URI (a `MOCK` integration, as CDK's
CORS preflight makes, fails the deploy; integration and method responses, request
templates and parameters are lost), gives an `AWS::ApiGateway::Deployment` no physical id,
and has no CloudFormation support at all for `AWS::ApiGatewayV2::*` (an `HttpApi` is
skipped, a `Fn::GetAtt` on it fails the deploy). The classes here serve those types through
the type registry (`cfn_types`) and keep everything in moto's API Gateway backends, so the
control plane (`aws apigateway get-method`, `aws apigatewayv2 get-routes`) shows what the
data plane (`apigateway.py`) serves.
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

from moto.apigateway.models import APIGatewayBackend, RestAPI, apigateway_backends
from moto.apigatewayv2.models import ApiGatewayV2Backend, apigatewayv2_backends
from moto.cloudformation import parsing as cfn_parsing

from localcloud import cfn_types
from localcloud.cfn_types import ServedResource

REST_API = "AWS::ApiGateway::RestApi"
REST_AUTHORIZER = "AWS::ApiGateway::Authorizer"
HTTP_AUTHORIZER = "AWS::ApiGatewayV2::Authorizer"
REST_STAGE = "AWS::ApiGateway::Stage"
REST_METHOD = "AWS::ApiGateway::Method"
REST_DEPLOYMENT = "AWS::ApiGateway::Deployment"
HTTP_API = "AWS::ApiGatewayV2::Api"
HTTP_INTEGRATION = "AWS::ApiGatewayV2::Integration"
HTTP_ROUTE = "AWS::ApiGatewayV2::Route"
HTTP_STAGE = "AWS::ApiGatewayV2::Stage"


def rest_backend(account_id: str, region_name: str) -> APIGatewayBackend:
    backend: APIGatewayBackend = apigateway_backends[account_id][region_name]
    return backend


def http_backend(account_id: str, region_name: str) -> ApiGatewayV2Backend:
    backend: ApiGatewayV2Backend = apigatewayv2_backends[account_id][region_name]
    return backend


def _id(value: Any) -> str:
    """A `Ref` resolved by moto: a string, or a model whose physical id moto did not know."""
    return str(getattr(value, "physical_resource_id", None) or getattr(value, "id", value))


def _bool(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


class _ApiChild(ServedResource):
    """A part of one API, kept in its `parts` (`stages`, `routes`, ...): named by the API's
    id (`api_property`) and its own id, or its name (`name_property`)."""

    api_property: ClassVar[str]
    name_property: ClassVar[str | None] = None
    parts: ClassVar[str]

    def __init__(self, api_id: str, physical_id: str, account_id: str, region: str) -> None:
        super().__init__(physical_id, account_id, region)
        self.api_id = api_id

    @classmethod
    def from_physical_id(
        cls, physical_id: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> Self:
        if cls.name_property:
            physical_id = str(properties.get(cls.name_property) or physical_id)
        return cls(_id(properties.get(cls.api_property)), physical_id, account_id, region_name)

    def _api(self, account_id: str, region_name: str) -> Any:
        """The API this is a part of, or None when it is gone."""
        raise NotImplementedError

    def _kept_part(self, properties: dict[str, Any], account_id: str, region_name: str) -> Any:
        """This part, or None when it is gone or the new `properties` name another API (both
        replace it)."""
        api = self._api(account_id, region_name)
        if api is None or _id(properties.get(self.api_property)) != self.api_id:
            return None
        return getattr(api, self.parts).get(self.physical_id)

    def delete(self, account_id: str, region_name: str) -> None:
        api = self._api(account_id, region_name)
        if api is not None:
            getattr(api, self.parts).pop(self.physical_id, None)


# -- REST APIs (v1) -------------------------------------------------------------------------
class _RestApiChild(_ApiChild):
    """A part of one REST API (deployment, stage, authorizer)."""

    api_property = "RestApiId"

    def _api(self, account_id: str, region_name: str) -> RestAPI | None:
        return rest_backend(account_id, region_name).apis.get(self.api_id)


class RestDeployment(_RestApiChild):
    """`AWS::ApiGateway::Deployment`: moto's deployment, with its id as the `Ref`."""

    id_attribute = "DeploymentId"
    parts = "deployments"

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Self:
        api_id = _id(properties["RestApiId"])
        deployment = rest_backend(account_id, region_name).create_deployment(
            function_id=api_id,
            name=str(properties.get("StageName") or ""),
            description=str(properties.get("Description") or ""),
            stage_variables=(properties.get("StageDescription") or {}).get("Variables"),
        )
        return cls(api_id, deployment.id, account_id, region_name)


class RestStage(_RestApiChild):
    """`AWS::ApiGateway::Stage`: a stage of the API on its deployment; `Ref` is its name."""

    name_property = "StageName"
    parts = "stages"

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Self:
        api_id = _id(properties["RestApiId"])
        name = str(properties["StageName"])
        tags = {str(t["Key"]): str(t["Value"]) for t in properties.get("Tags") or []}
        rest_backend(account_id, region_name).create_stage(
            function_id=api_id,
            stage_name=name,
            deploymentId=_id(properties.get("DeploymentId")),
            variables=dict(properties.get("Variables") or {}),
            description=str(properties.get("Description") or ""),
            cacheClusterEnabled=_bool(properties.get("CacheClusterEnabled", False)),
            cacheClusterSize=properties.get("CacheClusterSize"),
            tags=tags or None,
            tracing_enabled=_bool(properties.get("TracingEnabled", False)),
        )
        return cls(api_id, name, account_id, region_name)

    def update_in_place(
        self, properties: dict[str, Any], account_id: str, region_name: str
    ) -> bool:
        """A new deployment or new variables change the stage in place (as on AWS)."""
        stage = self._kept_part(properties, account_id, region_name)
        if stage is None or str(properties.get("StageName")) != self.physical_id:
            return False
        stage.deployment_id = _id(properties.get("DeploymentId"))
        stage.variables = dict(properties.get("Variables") or {})
        stage.description = str(properties.get("Description") or "")
        return True


class RestMethod(ServedResource):
    """`AWS::ApiGateway::Method` with its whole integration, integration responses and
    method responses (moto keeps only the integration's type and URI)."""

    def __init__(
        self, api_id: str, resource_id: str, http_method: str, account_id: str, region: str
    ) -> None:
        super().__init__(f"{api_id}-{resource_id}-{http_method}", account_id, region)
        self.api_id = api_id
        self.resource_id = resource_id
        self.http_method = http_method

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Self:
        backend = rest_backend(account_id, region_name)
        api_id = _id(properties["RestApiId"])
        resource_id = _id(properties["ResourceId"])
        http_method = str(properties["HttpMethod"]).upper()
        scopes = properties.get("AuthorizationScopes")
        backend.put_method(
            function_id=api_id,
            resource_id=resource_id,
            method_type=http_method,
            authorization_type=properties.get("AuthorizationType") or "NONE",
            api_key_required=_bool(properties.get("ApiKeyRequired", False)),
            request_parameters=properties.get("RequestParameters"),
            request_models=properties.get("RequestModels"),
            operation_name=properties.get("OperationName"),
            authorizer_id=_id(properties["AuthorizerId"])
            if properties.get("AuthorizerId")
            else None,
            authorization_scopes=scopes,
            request_validator_id=properties.get("RequestValidatorId"),
        )
        for response in properties.get("MethodResponses") or []:
            backend.put_method_response(
                function_id=api_id,
                resource_id=resource_id,
                method_type=http_method,
                response_code=str(response["StatusCode"]),
                response_models=response.get("ResponseModels") or {},
                response_parameters=response.get("ResponseParameters") or {},
            )
        integration = properties.get("Integration")
        if integration:
            timeout = integration.get("TimeoutInMillis")
            backend.put_integration(
                function_id=api_id,
                resource_id=resource_id,
                method_type=http_method,
                integration_type=str(integration["Type"]),
                uri=str(integration.get("Uri") or ""),
                integration_method=integration.get("IntegrationHttpMethod") or "",
                credentials=integration.get("Credentials"),
                request_templates=integration.get("RequestTemplates"),
                passthrough_behavior=integration.get("PassthroughBehavior"),
                timeout_in_millis=str(timeout) if timeout is not None else None,
                request_parameters=integration.get("RequestParameters"),
                content_handling=integration.get("ContentHandling"),
                connection_type=integration.get("ConnectionType"),
            )
            for response in integration.get("IntegrationResponses") or []:
                backend.put_integration_response(
                    function_id=api_id,
                    resource_id=resource_id,
                    method_type=http_method,
                    status_code=str(response["StatusCode"]),
                    selection_pattern=response.get("SelectionPattern") or "",
                    response_templates=response.get("ResponseTemplates") or {},
                    response_parameters=response.get("ResponseParameters") or {},
                    content_handling=response.get("ContentHandling"),
                )
        return cls(api_id, resource_id, http_method, account_id, region_name)

    @classmethod
    def from_physical_id(
        cls, physical_id: str, properties: dict[str, Any], account_id: str, region_name: str
    ) -> Self:
        return cls(
            _id(properties.get("RestApiId")),
            _id(properties.get("ResourceId")),
            str(properties.get("HttpMethod") or "").upper(),
            account_id,
            region_name,
        )

    def delete(self, account_id: str, region_name: str) -> None:
        api = rest_backend(account_id, region_name).apis.get(self.api_id)
        resource = api.resources.get(self.resource_id) if api is not None else None
        if resource is not None:
            resource.delete_method(self.http_method)


class RestApiResource(RestAPI):
    """`AWS::ApiGateway::RestApi` as moto creates it, plus the delete moto lacks (a deleted
    or rolled-back stack left its API, with every resource and method, behind)."""

    @classmethod
    def delete_from_cloudformation_json(
        cls,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> None:
        rest_backend(account_id, region_name).apis.pop(str(resource_name), None)


class RestAuthorizer(_RestApiChild):
    """`AWS::ApiGateway::Authorizer` (TOKEN, REQUEST, COGNITO_USER_POOLS); `Ref` is its id.
    moto's control plane keeps it; `apigateway_auth` runs it."""

    id_attribute = "AuthorizerId"
    parts = "authorizers"

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Self:
        api_id = _id(properties["RestApiId"])
        ttl = properties.get("AuthorizerResultTtlInSeconds")
        authorizer = rest_backend(account_id, region_name).create_authorizer(
            restapi_id=api_id,
            name=str(properties.get("Name") or ""),
            authorizer_type=str(properties.get("Type") or "TOKEN"),
            provider_arns=properties.get("ProviderARNs"),
            auth_type=properties.get("AuthType"),
            authorizer_uri=properties.get("AuthorizerUri"),
            authorizer_credentials=properties.get("AuthorizerCredentials"),
            identity_source=properties.get("IdentitySource"),
            authorizer_result_ttl=int(ttl) if ttl is not None else None,
        )
        # moto's create_authorizer drops the expression (a misspelt keyword).
        authorizer.identity_validation_expression = properties.get("IdentityValidationExpression")
        return cls(api_id, str(authorizer.id), account_id, region_name)


# -- HTTP APIs (v2) -------------------------------------------------------------------------
def _api_endpoint(api_id: str, region_name: str) -> str:
    return f"https://{api_id}.execute-api.{region_name}.amazonaws.com"


class HttpApiResource(ServedResource):
    """`AWS::ApiGatewayV2::Api`; `Ref` is its id, `Fn::GetAtt` answers `ApiId` and
    `ApiEndpoint`."""

    id_attribute = "ApiId"
    attributes = ("ApiEndpoint",)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "ApiEndpoint":
            return _api_endpoint(self.physical_id, self.region_name)
        return super().get_cfn_attribute(attribute_name)

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Self:
        cors = properties.get("CorsConfiguration")
        api = http_backend(account_id, region_name).create_api(
            api_key_selection_expression=properties.get("ApiKeySelectionExpression") or "",
            cors_configuration=cors,  # type: ignore[arg-type]
            description=str(properties.get("Description") or ""),
            disable_schema_validation=properties.get("DisableSchemaValidation") or "",
            disable_execute_api_endpoint=properties.get("DisableExecuteApiEndpoint") or "",
            name=str(properties.get("Name") or ""),
            protocol_type=str(properties.get("ProtocolType") or "HTTP"),
            route_selection_expression=properties.get("RouteSelectionExpression") or "",
            tags=dict(properties.get("Tags") or {}),
            version=str(properties.get("Version") or ""),
        )
        return cls(api.api_id, account_id, region_name)

    def update_in_place(
        self, properties: dict[str, Any], account_id: str, region_name: str
    ) -> bool:
        """In place: the API keeps its id, routes and stages."""
        api = http_backend(account_id, region_name).apis.get(self.physical_id)
        if api is None:
            return False
        api.name = str(properties.get("Name") or api.name)
        api.description = str(properties.get("Description") or "")
        api.cors_configuration = properties.get("CorsConfiguration")
        return True

    def delete(self, account_id: str, region_name: str) -> None:
        http_backend(account_id, region_name).delete_api(self.physical_id)


class _HttpApiChild(_ApiChild):
    """A part of one HTTP API (integration, route, authorizer, stage)."""

    api_property = "ApiId"

    def _api(self, account_id: str, region_name: str) -> Any:
        return http_backend(account_id, region_name).apis.get(self.api_id)


class HttpIntegration(_HttpApiChild):
    """`AWS::ApiGatewayV2::Integration`; `Ref` is its id."""

    id_attribute = "IntegrationId"
    parts = "integrations"

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Self:
        api_id = _id(properties["ApiId"])
        timeout = properties.get("TimeoutInMillis")
        integration = http_backend(account_id, region_name).create_integration(
            api_id=api_id,
            connection_id=properties.get("ConnectionId") or "",
            connection_type=properties.get("ConnectionType") or "INTERNET",
            content_handling_strategy=properties.get("ContentHandlingStrategy") or "",
            credentials_arn=properties.get("CredentialsArn") or "",
            description=str(properties.get("Description") or ""),
            integration_method=properties.get("IntegrationMethod") or "",
            integration_subtype=properties.get("IntegrationSubtype") or "",
            integration_type=str(properties["IntegrationType"]),
            integration_uri=str(properties.get("IntegrationUri") or ""),
            passthrough_behavior=properties.get("PassthroughBehavior") or "",
            payload_format_version=str(properties.get("PayloadFormatVersion") or "1.0"),
            request_parameters=properties.get("RequestParameters"),
            request_templates=properties.get("RequestTemplates"),
            response_parameters=properties.get("ResponseParameters"),
            template_selection_expression=properties.get("TemplateSelectionExpression") or "",
            timeout_in_millis=str(timeout) if timeout is not None else "",
            tls_config=properties.get("TlsConfig") or {},
        )
        return cls(api_id, integration.id, account_id, region_name)

    def update_in_place(
        self, properties: dict[str, Any], account_id: str, region_name: str
    ) -> bool:
        """In place: routes name the integration by its id."""
        integration = self._kept_part(properties, account_id, region_name)
        if integration is None:
            return False
        integration.integration_type = str(properties["IntegrationType"])
        integration.integration_uri = str(properties.get("IntegrationUri") or "")
        integration.payload_format_version = str(properties.get("PayloadFormatVersion") or "1.0")
        integration.request_parameters = properties.get("RequestParameters")
        return True


class HttpRoute(_HttpApiChild):
    """`AWS::ApiGatewayV2::Route`; `Ref` is its id."""

    id_attribute = "RouteId"
    parts = "routes"

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Self:
        api_id = _id(properties["ApiId"])
        route = http_backend(account_id, region_name).create_route(
            api_id=api_id,
            api_key_required=_bool(properties.get("ApiKeyRequired", False)),
            authorization_scopes=list(properties.get("AuthorizationScopes") or []),
            authorization_type=str(properties.get("AuthorizationType") or "NONE"),
            authorizer_id=_id(properties["AuthorizerId"]) if properties.get("AuthorizerId") else "",
            model_selection_expression=properties.get("ModelSelectionExpression") or "",
            operation_name=properties.get("OperationName") or "",
            request_models=properties.get("RequestModels"),
            request_parameters=properties.get("RequestParameters"),
            route_key=str(properties["RouteKey"]),
            route_response_selection_expression=properties.get("RouteResponseSelectionExpression")
            or "",
            target=str(properties.get("Target") or ""),
        )
        return cls(api_id, route.route_id, account_id, region_name)

    def update_in_place(
        self, properties: dict[str, Any], account_id: str, region_name: str
    ) -> bool:
        """In place: the route keeps its id."""
        route = self._kept_part(properties, account_id, region_name)
        if route is None:
            return False
        route.route_key = str(properties["RouteKey"])
        route.target = str(properties.get("Target") or "")
        route.authorization_type = str(properties.get("AuthorizationType") or "NONE")
        route.authorizer_id = (
            _id(properties["AuthorizerId"]) if properties.get("AuthorizerId") else ""
        )
        return True


class HttpAuthorizer(_HttpApiChild):
    """`AWS::ApiGatewayV2::Authorizer` (REQUEST: a Lambda authorizer; JWT kept, not run);
    `Ref` is its id."""

    id_attribute = "AuthorizerId"
    parts = "authorizers"

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Self:
        api_id = _id(properties["ApiId"])
        ttl = properties.get("AuthorizerResultTtlInSeconds")
        authorizer = http_backend(account_id, region_name).create_authorizer(
            api_id=api_id,
            auth_creds_arn=properties.get("AuthorizerCredentialsArn") or "",
            auth_payload_format_version=str(properties.get("AuthorizerPayloadFormatVersion") or ""),
            auth_result_ttl=str(ttl) if ttl is not None else "",
            authorizer_uri=str(properties.get("AuthorizerUri") or ""),
            authorizer_type=str(properties["AuthorizerType"]),
            enable_simple_response=properties.get("EnableSimpleResponses") or "",
            identity_source=properties.get("IdentitySource") or [],  # type: ignore[arg-type]
            identity_validation_expr=properties.get("IdentityValidationExpression") or "",
            jwt_config=properties.get("JwtConfiguration") or {},  # type: ignore[arg-type]
            name=str(properties.get("Name") or ""),
        )
        return cls(api_id, str(authorizer.id), account_id, region_name)


class HttpStage(_HttpApiChild):
    """`AWS::ApiGatewayV2::Stage` (`$default` with auto-deploy, as `HttpApi` makes it);
    `Ref` is its name."""

    name_property = "StageName"
    parts = "stages"

    @classmethod
    def create(cls, properties: dict[str, Any], account_id: str, region_name: str) -> Self:
        api_id = _id(properties["ApiId"])
        name = str(properties["StageName"])
        config = {
            "stageName": name,
            "autoDeploy": _bool(properties.get("AutoDeploy", False)),
            "stageVariables": dict(properties.get("StageVariables") or {}),
            "description": properties.get("Description"),
            "deploymentId": properties.get("DeploymentId"),
            "tags": dict(properties.get("Tags") or {}),
        }
        http_backend(account_id, region_name).create_stage(api_id, config)
        return cls(api_id, name, account_id, region_name)


SERVED = {
    REST_AUTHORIZER: RestAuthorizer,
    HTTP_AUTHORIZER: HttpAuthorizer,
    REST_STAGE: RestStage,
    REST_METHOD: RestMethod,
    REST_DEPLOYMENT: RestDeployment,
    HTTP_API: HttpApiResource,
    HTTP_INTEGRATION: HttpIntegration,
    HTTP_ROUTE: HttpRoute,
    HTTP_STAGE: HttpStage,
}


def install() -> None:
    """Serve the API Gateway types through the type registry (idempotent)."""
    for resource_type, resource_class in SERVED.items():
        cfn_types.register(resource_type, resource_class, None)
    if REST_API not in cfn_types.served_types():
        # moto's create (and its name property), with a delete.
        name_property = cfn_parsing.resource_name_property_from_type(REST_API)
        cfn_types.register(REST_API, RestApiResource, name_property)
