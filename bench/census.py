"""A census of a function's AWS calls: a local proxy between one function process and the
emulator that counts each call by service and operation, asks DynamoDB for the capacity every
call consumes (it adds `ReturnConsumedCapacity: TOTAL` to each DynamoDB request that takes it
and reads `ConsumedCapacity` from the answer, as computed by the emulator from the items'
sizes, the AWS way), and counts the messages published and e-mails sent.

`make bench` runs a few extra invocations of each function through it, apart from the timed
ones (the proxy adds a hop): the counts check the AWS call counts bench/budgets.toml declares,
and the units feed the cost per order (bench/cost.py).
"""

from __future__ import annotations

import http.client
import http.server
import json
import threading
import urllib.parse
from collections import Counter

# DynamoDB operations that accept ReturnConsumedCapacity.
CAPACITY_OPERATIONS = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "Query",
    "Scan",
    "BatchGetItem",
    "BatchWriteItem",
    "TransactGetItems",
    "TransactWriteItems",
}
READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}


def operation(headers: dict[str, str], path: str, body: bytes) -> tuple[str, str]:
    """(service, operation) of one AWS request: the JSON protocols name it in X-Amz-Target
    (`DynamoDB_20120810.GetItem`, `AmazonSQS.SendMessage`), the query protocol in the form's
    Action (SNS), the REST ones in the path (SES v2, Secrets Manager is JSON)."""
    target = {k.lower(): v for k, v in headers.items()}.get("x-amz-target")
    if target:
        prefix, _, name = target.partition(".")
        service = {
            "DynamoDB_20120810": "dynamodb",
            "AmazonSQS": "sqs",
            "secretsmanager": "secretsmanager",
            "DynamoDBStreams_20120810": "dynamodbstreams",
            "AmazonSimpleNotificationService": "sns",
        }.get(prefix, prefix.lower())
        return service, name
    if path.startswith("/v2/email/outbound-emails"):
        return "ses", "SendEmail"
    if path.startswith("/v2/email"):
        return "ses", path.split("?")[0]
    form = urllib.parse.parse_qs(body.decode(errors="replace"))
    if "Action" in form:
        action = form["Action"][0]
        service = "sns" if action in {"Publish", "PublishBatch", "Subscribe", "CreateTopic"} else "query"
        return service, action
    return "other", path.split("?")[0]


def published_messages(op: str, body: bytes) -> int:
    """Messages in an SNS Publish (1) or PublishBatch (its entries; query or JSON protocol)."""
    if op == "Publish":
        return 1
    if op == "PublishBatch":
        if body.lstrip().startswith(b"{"):
            return len(json.loads(body).get("PublishBatchRequestEntries", []))
        form = urllib.parse.parse_qs(body.decode(errors="replace"))
        return sum(
            1 for key in form if key.startswith("PublishBatchRequestEntries.member.") and key.endswith(".Id")
        )
    return 0


def with_capacity(body: bytes) -> bytes:
    """The DynamoDB request asking for its consumed capacity (unless it already does)."""
    request = json.loads(body or b"{}")
    request.setdefault("ReturnConsumedCapacity", "TOTAL")
    if request["ReturnConsumedCapacity"] == "NONE":
        request["ReturnConsumedCapacity"] = "TOTAL"
    return json.dumps(request).encode()


def consumed_units(answer: bytes) -> float:
    """The capacity units a DynamoDB answer reports (one entry or a list, per table)."""
    try:
        consumed = json.loads(answer or b"{}").get("ConsumedCapacity")
    except ValueError:
        return 0.0
    if consumed is None:
        return 0.0
    entries = consumed if isinstance(consumed, list) else [consumed]
    return float(sum(entry.get("CapacityUnits", 0.0) for entry in entries))


class Census:
    """The proxy, on an ephemeral loopback port, forwarding to `upstream` (the emulator)."""

    def __init__(self, upstream: str):
        parsed = urllib.parse.urlparse(upstream)
        self.upstream_host, self.upstream_port = parsed.hostname, parsed.port or 80
        self.lock = threading.Lock()
        self.reset()
        census = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_request(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("content-length", "host")
                }
                service, op = operation(headers, self.path, body)
                if service == "dynamodb" and op in CAPACITY_OPERATIONS:
                    body = with_capacity(body)
                upstream = http.client.HTTPConnection(census.upstream_host, census.upstream_port, timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                    status, answer_headers = answer.status, answer.getheaders()
                finally:
                    upstream.close()
                census.record(service, op, body, payload, status)
                self.send_response(status)
                for key, value in answer_headers:
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_request  # noqa: N815

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reset(self):
        with self.lock:
            self.calls: Counter[str] = Counter()
            self.read_units = 0.0
            self.write_units = 0.0
            self.published = 0
            self.errors = 0

    def record(self, service: str, op: str, body: bytes, answer: bytes, status: int):
        with self.lock:
            self.calls[f"{service}:{op}"] += 1
            if status >= 400:
                self.errors += 1
            if service == "dynamodb":
                units = consumed_units(answer)
                if op in READS:
                    self.read_units += units
                else:
                    self.write_units += units
            if service == "sns":
                self.published += published_messages(op, body)

    def snapshot(self, invocations: int) -> dict:
        """Per invocation: calls (in all and by operation), DynamoDB units, SNS messages."""
        with self.lock:
            per = lambda value: round(value / invocations, 3)  # noqa: E731
            return {
                "invocations": invocations,
                "aws_calls": per(sum(self.calls.values())),
                "by_operation": {name: per(count) for name, count in sorted(self.calls.items())},
                "dynamodb_read_units": per(self.read_units),
                "dynamodb_write_units": per(self.write_units),
                "sns_messages": per(self.published),
                "errors": self.errors,
            }

    def close(self):
        self.server.shutdown()
        self.server.server_close()
