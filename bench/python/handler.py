"""The Python baseline of `make bench`: what teams write instead of a Rust function.

The same handler as the Rust floor (bench/floor): one boto3 DynamoDB client built at init,
one GetItem per event, the item's attributes returned as strings. Run by the official
runtime interface client: `python -m awslambdaric handler.handler`.

Event: {"table": "...", "pk": "...", "sk": "..."} (sk optional).
"""

import boto3

dynamodb = boto3.client("dynamodb")


def handler(event, context):
    key = {"pk": {"S": event["pk"]}}
    if event.get("sk"):
        key["sk"] = {"S": event["sk"]}
    item = dynamodb.get_item(TableName=event["table"], Key=key).get("Item", {})
    flat = {name: next(iter(value.values())) for name, value in item.items()}
    return {"found": bool(item), "item": flat}
