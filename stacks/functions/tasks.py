"""tasks: TaskService on the tasks table, or through the DAX cluster when the stage has one."""

from __future__ import annotations

from constructs import Construct

from datamodel.functions import STAGE, TasksEnv
from stacks.constructs.function import PythonFunction
from stacks.functions.common import FunctionConstruct, FunctionContext

TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Scan")
DAX_ACTIONS = ("dax:GetItem", "dax:PutItem", "dax:Scan")


class TasksFunction(PythonFunction):
    """tasks; with DAX it runs in the DAX VPC and may call only the cluster."""

    def __init__(self, scope: Construct, context: FunctionContext) -> None:
        config, dax = context.config, context.dax
        environment = {STAGE: config.name, TasksEnv.TABLE: config.table("tasks").table_name}
        if dax is not None:
            environment[TasksEnv.DAX_ENDPOINT] = dax.endpoint_url
        super().__init__(
            scope,
            "Tasks",
            function_name=context.function_name,
            handler=context.spec.handler,
            description="TaskService: add, get and list tasks"
            + (" through DAX" if dax is not None else ""),
            environment=environment,
            vpc=dax.vpc if dax is not None else None,
            security_groups=[dax.client_security_group] if dax is not None else None,
            reserved_concurrency=context.reserved_concurrency,
            **context.options,
        )
        if dax is not None:
            dax.grant(self.role, *DAX_ACTIONS)
        else:
            context.tables["tasks"].grant(self.role, *TABLE_ACTIONS)


CONSTRUCT: FunctionConstruct = TasksFunction
