#!/usr/bin/env python3
"""The operator's commands for a running stack (make dlq / redrive / status / logs).

    scripts/ops.py dlq      [--stage S] [--queue TEXT] [--json]
    scripts/ops.py redrive  [--stage S] [--queue TEXT] [--match TEXT] [--json]
    scripts/ops.py status   [--stage S] [--since 1h] [--json]
    scripts/ops.py logs     [--stage S] [--function NAME] [--correlation-id ID] [--since 15m] [--json]

They talk to whatever AWS_ENDPOINT_URL / the AWS environment points at: the emulator for
`make up` (the Makefile sets it), or an account for a deployed stage. Queues, functions and
tables are found by the stage's naming (`<stage>-<service>...`), as infra/template.yaml names
them; nothing is read from the template. docs/operations.md explains each command."""

import argparse
import json
import math
import os
import re
import sys
import time
from datetime import UTC, datetime

import boto3
from botocore.exceptions import ClientError

# --------------------------------------------------------------------------------------------
# Pure helpers (unit-tested in scripts/test_ops.py without an emulator)
# --------------------------------------------------------------------------------------------

DURATION = re.compile(r"^(\d+)([smhd])$")


def parse_since(text: str) -> float:
    """`15m`, `2h`, `30s`, `1d` -> seconds."""
    match = DURATION.match(text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: use a number and s, m, h or d (e.g. 15m)")
    return int(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def envelope_of(body: str):
    """The event envelope in an SQS body (raw, or wrapped in an SNS notification), else None."""
    try:
        value = json.loads(body)
    except (TypeError, ValueError):
        return None
    if (
        isinstance(value, dict)
        and value.get("Type") == "Notification"
        and isinstance(value.get("Message"), str)
    ):
        try:
            value = json.loads(value["Message"])
        except ValueError:
            return None
    if isinstance(value, dict) and {"id", "type"} <= value.keys():
        return value
    return None


def span_field(line: dict, name: str):
    """A field of a log line: top level (metric lines) or in one of its spans (log lines)."""
    if name in line:
        return line[name]
    for span in reversed(line.get("spans") or []):
        if isinstance(span, dict) and name in span:
            return span[name]
    return None


def metrics_of(line: dict) -> dict:
    """{metric name: value} of an EMF line; {} for any other line."""
    aws = line.get("_aws")
    if not isinstance(aws, dict):
        return {}
    values = {}
    for directive in aws.get("CloudWatchMetrics") or []:
        for metric in directive.get("Metrics") or []:
            name = metric.get("Name")
            if name in line and isinstance(line[name], (int, float)):
                values[name] = line[name]
    return values


def percentile(values: list, fraction: float):
    """Nearest-rank percentile of `values` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


# The fields a readable line shows in its prefix or leaves out.
HIDDEN_FIELDS = {"timestamp", "level", "message", "spans", "target", "threadId", "threadName"}


def readable(entry: dict) -> str:
    """One log entry (`function`, `timestamp` in ms, `line`: the parsed JSON or the raw text) as
    one readable line: time, function, level, message, fields, then the saga's ids."""
    stamp = datetime.fromtimestamp(entry["timestamp"] / 1000, tz=UTC).strftime("%H:%M:%S.%f")[:-3]
    line = entry["line"]
    function = entry["function"]
    if not isinstance(line, dict):
        return f"{stamp} {function:<28} {str(line).rstrip()}"
    values = metrics_of(line)
    if values:
        text = "METRIC " + " ".join(f"{name}={value:g}" for name, value in values.items())
    else:
        fields = " ".join(
            f"{key}={json.dumps(value) if not isinstance(value, str) else value}"
            for key, value in line.items()
            if key not in HIDDEN_FIELDS
        )
        text = f"{line.get('level', '?'):<5} {line.get('message', '')}" + (f"  {fields}" if fields else "")
    ids = []
    for name, label in (("correlation_id", "corr"), ("event_type", "event"), ("xray_trace_id", "trace")):
        value = span_field(line, name)
        if value:
            ids.append(f"{label}={value}")
    return f"{stamp} {function:<28} {text}" + (f"  [{' '.join(ids)}]" if ids else "")


# --------------------------------------------------------------------------------------------
# AWS access
# --------------------------------------------------------------------------------------------


def client(service: str):
    return boto3.client(service, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None)


def queue_name(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def arn_name(arn: str) -> str:
    return arn.rsplit(":", 1)[-1]


def queue_urls(sqs, stage: str) -> list:
    urls = []
    kwargs = {"QueueNamePrefix": f"{stage}-"}
    while True:
        page = sqs.list_queues(**kwargs)
        urls += page.get("QueueUrls", [])
        if not page.get("NextToken"):
            return sorted(urls)
        kwargs["NextToken"] = page["NextToken"]


def attributes(sqs, url: str) -> dict:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def dead_letter_queues(sqs, stage: str) -> list:
    """Every DLQ of the stage: each worker queue's redrive target (with its source queue and the
    function consuming that), and each outbox relay's failure destination (no source queue: the
    sweeper republishes what the relay could not)."""
    urls = queue_urls(sqs, stage)
    by_arn = {}
    queues = {}
    for url in urls:
        attrs = attributes(sqs, url)
        queues[url] = attrs
        by_arn[attrs["QueueArn"]] = url
    found = []
    for url, attrs in queues.items():
        policy = attrs.get("RedrivePolicy")
        if not policy:
            continue
        target = json.loads(policy)["deadLetterTargetArn"]
        if target in by_arn:
            found.append(
                {
                    "dlq_url": by_arn[target],
                    "dlq_arn": target,
                    "source_url": url,
                    "source_arn": attrs["QueueArn"],
                    "max_receive_count": int(json.loads(policy).get("maxReceiveCount", 0)),
                }
            )
    for url in urls:
        if queue_name(url).endswith("-outbox-relay-failures"):
            found.append(
                {
                    "dlq_url": url,
                    "dlq_arn": queues[url]["QueueArn"],
                    "source_url": None,
                    "source_arn": None,
                    "max_receive_count": None,
                }
            )
    lam = client("lambda")
    for dlq in found:
        dlq["consumer"] = None
        if dlq["source_arn"]:
            mappings = lam.list_event_source_mappings(EventSourceArn=dlq["source_arn"]).get(
                "EventSourceMappings", []
            )
            if mappings:
                dlq["consumer"] = arn_name(mappings[0]["FunctionArn"])
        else:
            # <stage>-<service>-outbox-relay-failures is the destination of <stage>-<service>-outbox-relay.
            dlq["consumer"] = queue_name(dlq["dlq_url"]).removesuffix("-failures")
        dlq["depth"] = int(queues[dlq["dlq_url"]].get("ApproximateNumberOfMessages", 0))
    return sorted(found, key=lambda d: queue_name(d["dlq_url"]))


def peek(sqs, url: str, limit: int = 100) -> list:
    """Up to `limit` messages of `url`, left where they are: each is hidden while the queue is
    read to its end (so each is seen once), then made visible again at once."""
    seen = {}
    handles = []
    try:
        while len(seen) < limit:
            got = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=30,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not got:
                break
            for message in got:
                handles.append(message["ReceiptHandle"])
                seen.setdefault(message["MessageId"], message)
    finally:
        for start in range(0, len(handles), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
                for i, h in enumerate(handles[start : start + 10])
            ]
            sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)
    return list(seen.values())


def log_lines(logs, group: str, since_ms: int, pattern: str | None = None) -> list:
    """Every event of `group` from `since_ms` (matching `pattern`, CloudWatch filter syntax),
    oldest first; [] when the group does not exist."""
    kwargs = {"logGroupName": group, "startTime": since_ms}
    if pattern:
        kwargs["filterPattern"] = pattern
    events = []
    try:
        while True:
            page = logs.filter_log_events(**kwargs)
            events += page.get("events", [])
            token = page.get("nextToken")
            if not token or token == kwargs.get("nextToken"):
                break
            kwargs["nextToken"] = token
    except ClientError as err:
        if err.response["Error"]["Code"] == "ResourceNotFoundException":
            return []
        raise
    return sorted(events, key=lambda e: (e["timestamp"], e.get("eventId", "")))


def parse_line(message: str):
    text = message.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


def function_groups(logs, stage: str, function: str | None = None) -> dict:
    """{function name without the stage: log group} of the stage's functions."""
    prefix = f"/aws/lambda/{stage}-"
    groups = {}
    kwargs = {"logGroupNamePrefix": prefix}
    while True:
        page = logs.describe_log_groups(**kwargs)
        for group in page.get("logGroups", []):
            name = group["logGroupName"][len(prefix) :]
            if function is None or name == function or name == function.removeprefix(f"{stage}-"):
                groups[name] = group["logGroupName"]
        if not page.get("nextToken"):
            return groups
        kwargs["nextToken"] = page["nextToken"]


def entries(
    stage: str,
    since_s: float,
    function: str | None = None,
    correlation_id: str | None = None,
    pattern: str | None = None,
) -> list:
    """The stage's log entries, oldest first: {function, timestamp, line}."""
    logs = client("logs")
    since_ms = int((time.time() - since_s) * 1000)
    found = []
    if correlation_id:
        pattern = f'"{correlation_id}"'
    for name, group in function_groups(logs, stage, function).items():
        for event in log_lines(logs, group, since_ms, pattern):
            line = parse_line(event["message"])
            if correlation_id and (
                not isinstance(line, dict) or span_field(line, "correlation_id") != correlation_id
            ):
                continue
            found.append({"function": name, "timestamp": event["timestamp"], "line": line})
    return sorted(found, key=lambda e: e["timestamp"])


# --------------------------------------------------------------------------------------------
# make dlq
# --------------------------------------------------------------------------------------------


def failure_reason(stage: str, consumer: str | None, message: dict, envelope) -> str | None:
    """The consumer's last logged error about this message (by event id, else message id)."""
    if not consumer:
        return None
    sent = int(message.get("Attributes", {}).get("SentTimestamp", "0")) or int(time.time() * 1000)
    needle = envelope["id"] if envelope else message["MessageId"]
    logs = client("logs")
    group = f"/aws/lambda/{consumer}"
    reason = None
    for event in log_lines(logs, group, sent - 60_000, f'"{needle}"'):
        line = parse_line(event["message"])
        if isinstance(line, dict) and line.get("level") in ("ERROR", "WARN"):
            detail = line.get("error") or line.get("reason") or ""
            reason = f"{line.get('message', '')}: {detail}".rstrip(": ")
    return reason


def describe(stage: str, dlq: dict, message: dict) -> dict:
    body = message.get("Body", "")
    envelope = envelope_of(body)
    attrs = message.get("Attributes", {})
    described = {
        "queue": queue_name(dlq["dlq_url"]),
        "source": queue_name(dlq["source_url"]) if dlq["source_url"] else None,
        "consumer": dlq["consumer"],
        "message_id": message["MessageId"],
        "receive_count": int(attrs.get("ApproximateReceiveCount", 0)),
        "sent_at": datetime.fromtimestamp(int(attrs.get("SentTimestamp", "0")) / 1000, tz=UTC).isoformat(
            timespec="seconds"
        ),
        "event_type": envelope.get("type") if envelope else None,
        "event_id": envelope.get("id") if envelope else None,
        "correlation_id": envelope.get("correlation_id") if envelope else None,
        "body": None if envelope else body[:300],
    }
    if dlq["source_url"] is None and not envelope:
        # A relay failure record: the stream batch the relay could not publish.
        try:
            record = json.loads(body)
            described["detail"] = {
                k: record.get(k) for k in ("requestContext", "DDBStreamBatchInfo") if k in record
            }
        except ValueError:
            pass
    described["reason"] = failure_reason(stage, dlq["consumer"], message, envelope)
    return described


def cmd_dlq(args) -> int:
    sqs = client("sqs")
    report = []
    for dlq in dead_letter_queues(sqs, args.stage):
        if args.queue and args.queue not in queue_name(dlq["dlq_url"]):
            continue
        messages = [describe(args.stage, dlq, m) for m in peek(sqs, dlq["dlq_url"])]
        report.append(
            {
                "queue": queue_name(dlq["dlq_url"]),
                "source": queue_name(dlq["source_url"]) if dlq["source_url"] else None,
                "consumer": dlq["consumer"],
                "messages": messages,
            }
        )
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    for queue in report:
        target = (
            f"-> redrives to {queue['source']}"
            if queue["source"]
            else "(relay failures: the outbox sweeper republishes)"
        )
        print(f"{queue['queue']}: {len(queue['messages'])} message(s) {target}; consumer {queue['consumer']}")
        for m in queue["messages"]:
            what = (
                f"{m['event_type']} {m['event_id']}" if m["event_type"] else f"unreadable body {m['body']!r}"
            )
            print(f"  - {what}")
            print(
                f"    message {m['message_id']}, sent {m['sent_at']}, received {m['receive_count']}x, correlation {m['correlation_id']}"
            )
            print(
                f"    reason: {m['reason'] or 'no error logged by ' + str(m['consumer']) + ' (see make logs)'}"
            )
    return 0


# --------------------------------------------------------------------------------------------
# make redrive
# --------------------------------------------------------------------------------------------


def move_task(sqs, dlq: dict, timeout_s: float = 300) -> dict | None:
    """Moves every message with an SQS message-move task; None when the endpoint has none."""
    try:
        handle = sqs.start_message_move_task(SourceArn=dlq["dlq_arn"], DestinationArn=dlq["source_arn"])[
            "TaskHandle"
        ]
    except ClientError as err:
        # Endpoints without message-move tasks (the local emulator) answer InvalidAction or
        # UnsupportedOperation; anything else (permissions, a bad ARN) is the operator's to see.
        if err.response["Error"]["Code"] in (
            "InvalidAction",
            "UnsupportedOperation",
            "AWS.SimpleQueueService.UnsupportedOperation",
        ):
            return None
        raise
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tasks = sqs.list_message_move_tasks(SourceArn=dlq["dlq_arn"]).get("Results", [])
        task = next((t for t in tasks if t.get("TaskHandle") == handle), tasks[0] if tasks else None)
        if task and task.get("Status") in ("COMPLETED", "FAILED", "CANCELLED"):
            return {
                "method": "message-move task",
                "status": task["Status"],
                "moved": task.get("ApproximateNumberOfMessagesMoved", 0),
                "failure": task.get("FailureReason"),
            }
        time.sleep(2)
    return {
        "method": "message-move task",
        "status": "RUNNING",
        "moved": None,
        "failure": None,
        "task": handle,
    }


def sendable_attributes(received: dict) -> dict:
    """Message attributes as received, in the shape SendMessage takes (no list fields, which
    SQS reserves and rejects)."""
    return {
        name: {
            key: value
            for key, value in attribute.items()
            if key in ("DataType", "StringValue", "BinaryValue")
        }
        for name, attribute in received.items()
    }


def receive_send_delete(sqs, dlq: dict, match: str | None) -> dict:
    """Moves each message (whose body contains `match`, when given) back to its source queue:
    send first, delete from the DLQ only after the send succeeded. A crash between the two
    leaves a copy in both, never in neither: the consumers' inboxes skip the second."""
    moved, skipped, failed = 0, [], []
    seen = set()
    while True:
        got = sqs.receive_message(
            QueueUrl=dlq["dlq_url"],
            MaxNumberOfMessages=10,
            VisibilityTimeout=60,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        fresh = [m for m in got if m["MessageId"] not in seen]
        if not fresh:
            # Everything left is a message this run skipped or could not send; show them again.
            for m in got:
                skipped.append(m["ReceiptHandle"])
            break
        for message in fresh:
            seen.add(message["MessageId"])
            if match and match not in message.get("Body", ""):
                skipped.append(message["ReceiptHandle"])
                continue
            send = {"QueueUrl": dlq["source_url"], "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                send["MessageAttributes"] = sendable_attributes(message["MessageAttributes"])
            try:
                sqs.send_message(**send)
            except ClientError as err:
                failed.append({"message_id": message["MessageId"], "error": str(err)})
                skipped.append(message["ReceiptHandle"])
                continue
            sqs.delete_message(QueueUrl=dlq["dlq_url"], ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    for start in range(0, len(skipped), 10):
        entries = [
            {"Id": str(i), "ReceiptHandle": h, "VisibilityTimeout": 0}
            for i, h in enumerate(skipped[start : start + 10])
        ]
        sqs.change_message_visibility_batch(QueueUrl=dlq["dlq_url"], Entries=entries)
    return {
        "method": "receive-send-delete",
        "status": "FAILED" if failed else "COMPLETED",
        "moved": moved,
        "failure": failed or None,
    }


def cmd_redrive(args) -> int:
    sqs = client("sqs")
    results = []
    for dlq in dead_letter_queues(sqs, args.stage):
        name = queue_name(dlq["dlq_url"])
        if args.queue and args.queue not in name:
            continue
        if dlq["source_url"] is None:
            results.append(
                {
                    "queue": name,
                    "source": None,
                    "method": None,
                    "status": "SKIPPED",
                    "moved": 0,
                    "failure": "relay failures have no source queue: the outbox sweeper republishes pending items",
                }
            )
            continue
        # A message-move task moves everything; a --match redrive picks messages one by one.
        result = None if args.match else move_task(sqs, dlq)
        if result is None:
            result = receive_send_delete(sqs, dlq, args.match)
        results.append({"queue": name, "source": queue_name(dlq["source_url"]), **result})
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for r in results:
            print(
                f"{r['queue']} -> {r['source']}: {r['status']}, {r['moved']} moved"
                + (f" ({r['method']})" if r["method"] else "")
                + (f"; {r['failure']}" if r["failure"] else "")
            )
    return 1 if any(r["status"] == "FAILED" for r in results) else 0


# --------------------------------------------------------------------------------------------
# make status
# --------------------------------------------------------------------------------------------


def count_items(
    ddb, table: str, expression: str, values: dict | None = None, names: dict | None = None
) -> int:
    kwargs = {"TableName": table, "Select": "COUNT", "FilterExpression": expression}
    if values:
        kwargs["ExpressionAttributeValues"] = values
    if names:
        kwargs["ExpressionAttributeNames"] = names
    total = 0
    while True:
        page = ddb.scan(**kwargs)
        total += page.get("Count", 0)
        if "LastEvaluatedKey" not in page:
            return total
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def orders(ddb, table: str) -> list:
    kwargs = {
        "TableName": table,
        "FilterExpression": "kind = :k",
        "ExpressionAttributeValues": {":k": {"S": "order"}},
        "ProjectionExpression": "order_id, #s, placed_at, updated_at, customer_id",
        "ExpressionAttributeNames": {"#s": "status"},
    }
    found = []
    while True:
        page = ddb.scan(**kwargs)
        found += [
            {
                "order_id": i["order_id"]["S"],
                "status": i["status"]["S"].upper(),
                "placed_at": i["placed_at"]["S"],
                "updated_at": i.get("updated_at", {}).get("S"),
                "customer_id": i.get("customer_id", {}).get("S"),
            }
            for i in page.get("Items", [])
        ]
        if "LastEvaluatedKey" not in page:
            return sorted(found, key=lambda o: o["placed_at"], reverse=True)
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def status(stage: str, since_s: float) -> dict:
    sqs, ddb = client("sqs"), client("dynamodb")
    report = {
        "stage": stage,
        "queues": [],
        "dead_letter_queues": [],
        "outbox_pending": {},
        "orders": {},
        "recent_orders": [],
        "metrics": {},
        "saga_ms": {},
        "errors": [],
    }
    for url in queue_urls(sqs, stage):
        name = queue_name(url)
        if name.endswith("-dlq") or name.endswith("-failures"):
            continue
        attrs = attributes(sqs, url)
        report["queues"].append(
            {
                "queue": name,
                "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
                "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
                "delayed": int(attrs.get("ApproximateNumberOfMessagesDelayed", 0)),
            }
        )
    for dlq in dead_letter_queues(sqs, stage):
        report["dead_letter_queues"].append({"queue": queue_name(dlq["dlq_url"]), "depth": dlq["depth"]})
    tables = [t for t in ddb.list_tables().get("TableNames", []) if t.startswith(f"{stage}-")]
    for table in sorted(tables):
        report["outbox_pending"][table.removeprefix(f"{stage}-")] = count_items(
            ddb, table, "attribute_exists(outbox_pending)"
        )
    if f"{stage}-orders" in tables:
        every = orders(ddb, f"{stage}-orders")
        for order in every:
            report["orders"][order["status"]] = report["orders"].get(order["status"], 0) + 1
        report["recent_orders"] = every[:10]
    durations = []
    for entry in entries(stage, since_s, pattern='"_aws"'):
        values = metrics_of(entry["line"]) if isinstance(entry["line"], dict) else {}
        for name, value in values.items():
            if name == "SagaDuration":
                durations.append(value)
            else:
                report["metrics"][name] = report["metrics"].get(name, 0) + value
    report["saga_ms"] = {
        "count": len(durations),
        "p50": percentile(durations, 0.50),
        "p95": percentile(durations, 0.95),
    }
    errors = [
        e
        for e in entries(stage, since_s, pattern='"ERROR"')
        if isinstance(e["line"], dict) and e["line"].get("level") == "ERROR"
    ]
    report["errors"] = [
        {
            "at": datetime.fromtimestamp(e["timestamp"] / 1000, tz=UTC).isoformat(timespec="seconds"),
            "function": e["function"],
            "message": e["line"].get("message"),
            "error": e["line"].get("error") or e["line"].get("reason"),
            "correlation_id": span_field(e["line"], "correlation_id"),
        }
        for e in errors[-5:]
    ]
    return report


def cmd_status(args) -> int:
    report = status(args.stage, args.since)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"stage {report['stage']}")
    print(
        "queues (visible / in flight / delayed):  "
        + "   ".join(
            f"{q['queue'].removeprefix(args.stage + '-')} {q['visible']}/{q['in_flight']}/{q['delayed']}"
            for q in report["queues"]
        )
    )
    print(
        "dead-letter queues:                       "
        + "   ".join(
            f"{d['queue'].removeprefix(args.stage + '-')} {d['depth']}" for d in report["dead_letter_queues"]
        )
    )
    print(
        "outbox items pending:                     "
        + "   ".join(f"{t} {n}" for t, n in report["outbox_pending"].items())
    )
    print(
        "orders by state:                          "
        + ("   ".join(f"{s} {n}" for s, n in sorted(report["orders"].items())) or "none")
    )
    for order in report["recent_orders"]:
        print(f"  {order['placed_at'][:19]}  {order['order_id']}  {order['status']}")
    window = f"last {args.since_text}"
    print(f"metrics ({window}, from the functions' logs):")
    for name, value in sorted(report["metrics"].items()):
        print(f"  {name:<22} {value:g}")
    saga = report["saga_ms"]
    if saga["count"]:
        print(
            f"  saga placed->final     p50 {saga['p50']:.0f} ms   p95 {saga['p95']:.0f} ms   ({saga['count']} orders)"
        )
    print(f"last errors ({window}):" + ("" if report["errors"] else " none"))
    for e in report["errors"]:
        print(
            f"  {e['at']}  {e['function']:<26} {e['message']}: {e['error'] or ''}  [corr={e['correlation_id']}]"
        )
    return 0


# --------------------------------------------------------------------------------------------
# make logs
# --------------------------------------------------------------------------------------------


def cmd_logs(args) -> int:
    found = entries(args.stage, args.since, args.function, args.correlation_id)
    if not args.platform:
        found = [e for e in found if isinstance(e["line"], dict)]
    if args.limit:
        found = found[-args.limit :]
    for entry in found:
        if args.json:
            print(json.dumps(entry))
        else:
            print(readable(entry))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p):
        p.add_argument("--stage", default=os.environ.get("STAGE") or "local")
        p.add_argument("--json", action="store_true", help="machine-readable output")
        return p

    p = common(sub.add_parser("dlq", help="every dead-letter queue's messages and why they failed"))
    p.add_argument("--queue", help="only DLQs whose name contains this")
    p = common(sub.add_parser("redrive", help="move dead-lettered messages back to their source queue"))
    p.add_argument("--queue", help="only DLQs whose name contains this")
    p.add_argument("--match", help="only messages whose body contains this (an event id, say)")
    p = common(sub.add_parser("status", help="one screen on the running stack"))
    p.add_argument("--since", default="1h", help="window for metrics and errors (default 1h)")
    p = common(sub.add_parser("logs", help="the functions' log lines, readable"))
    p.add_argument("--function", help="one function, e.g. orders-worker")
    p.add_argument("--correlation-id", help="every line of one saga, across functions")
    p.add_argument("--since", default="15m", help="how far back (default 15m)")
    p.add_argument("--limit", type=int, default=0, help="only the last N lines")
    p.add_argument("--platform", action="store_true", help="also Lambda's START/END/REPORT lines")
    args = parser.parse_args(argv)
    if hasattr(args, "since"):
        args.since_text = args.since
        args.since = parse_since(args.since)
    handler = {"dlq": cmd_dlq, "redrive": cmd_redrive, "status": cmd_status, "logs": cmd_logs}[args.command]
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())
