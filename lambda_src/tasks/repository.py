"""The Tasks table, through whichever client `clients.data_client` chose."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError
from common import dynamo
from common.dynamo import Item, deserialize, serialize

from tasks.errors import TaskExists


@dataclass
class TaskRepository:
    """Reads and writes tasks in `table` (eventually consistent reads, so DAX can serve them)."""

    client: Any
    table: str

    def add(self, task: Item) -> None:
        """Store a new task; `TaskExists` if its id is taken (the tutorial never overwrote)."""
        try:
            self.client.put_item(
                TableName=self.table,
                Item=serialize(task),
                ConditionExpression="attribute_not_exists(#id)",
                ExpressionAttributeNames={"#id": "id"},
            )
        except ClientError as error:
            if dynamo.error_code(error) == "ConditionalCheckFailedException":
                raise TaskExists(str(task["id"])) from None
            raise

    def get(self, task_id: str) -> Item | None:
        """The task `task_id`, or `None`."""
        response = self.client.get_item(TableName=self.table, Key={"id": {"S": task_id}})
        raw = response.get("Item")
        return deserialize(raw) if raw is not None else None

    def list_page(self, *, limit: int, start_id: str | None) -> tuple[list[Item], str | None]:
        """Up to `limit` tasks after `start_id` in table order, and the id to continue from."""
        request: dict[str, Any] = {"TableName": self.table}
        if start_id is not None:
            request["ExclusiveStartKey"] = {"id": {"S": start_id}}
        tasks: list[Item] = []
        while True:
            request["Limit"] = limit - len(tasks)
            response = self.client.scan(**request)
            tasks.extend(deserialize(raw) for raw in response.get("Items", []))
            last = response.get("LastEvaluatedKey")
            if not last:
                return tasks, None
            if len(tasks) >= limit:
                return tasks, str(last["id"]["S"])
            request["ExclusiveStartKey"] = last
