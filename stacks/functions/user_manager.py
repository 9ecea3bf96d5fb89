"""user-manager: Users CRUD, batch and email lookup, granted seed 003's policy."""

from __future__ import annotations

from constructs import Construct

from datamodel.functions import STAGE, UserManagerEnv
from datamodel.tables import EMAIL_INDEX
from stacks.constructs.function import PythonFunction
from stacks.functions.common import FunctionConstruct, FunctionContext, grant_on_indexes

# Exactly what the handler calls (lambda_src/README.md), and nothing more: seed 003's six
# actions plus BatchGetItem for BATCH_GET; its TransactWriteItems calls (CREATE, UPDATE,
# DELETE, BATCH_CREATE) are authorized as their Put/Update/Delete parts.
ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:Query",
    "dynamodb:Scan",
    "dynamodb:BatchGetItem",
)
# Index access is granted index by index, never `<table>/index/*`: user-manager queries only
# EmailIndex (`find_by_email`, lambda_src/user_manager/repository.py).
INDEXES = (EMAIL_INDEX,)
INDEX_ACTIONS = ("dynamodb:Query",)


class UserManagerFunction(PythonFunction):
    """user-manager on the users table, with Query on EmailIndex only."""

    def __init__(self, scope: Construct, context: FunctionContext) -> None:
        spec = context.config.table("users")
        environment = {
            STAGE: context.config.name,
            UserManagerEnv.TABLE: spec.table_name,
            UserManagerEnv.EMAIL_INDEX: EMAIL_INDEX,
        }
        if spec.ttl_attribute:
            # CREATE's expiresInDays writes the table's TTL attribute.
            environment[UserManagerEnv.TTL_ATTRIBUTE] = spec.ttl_attribute
        super().__init__(
            scope,
            "UserManager",
            function_name=context.function_name,
            handler=context.spec.handler,
            description="Users CRUD, batch and email lookup (EmailIndex)",
            environment=environment,
            reserved_concurrency=context.reserved_concurrency,
            **context.options,
        )
        users = context.tables["users"]
        users.grant(self.role, *ACTIONS)
        grant_on_indexes(self.role, users, INDEXES, INDEX_ACTIONS)


CONSTRUCT: FunctionConstruct = UserManagerFunction
