"""The pieces of `make bench` that run one Lambda bootstrap: a local Lambda Runtime API that
hands it events and times each one, and the events themselves.

Only the standard library. The Runtime API answers at once, so what it measures is the
function's own work (plus whatever AWS calls the function makes, answered by the local emulator).

Per invocation it records
- latency: from the moment the event is written to the function (its GET /next returns) until
  the function POSTs the response;
- CPU: the function process's on-CPU time over the same interval, summed over its threads, from
  /proc/<pid>/task/*/schedstat (nanoseconds). Awaited I/O costs no CPU, so this is the
  handler's own work plus the runtime client's (reading the event, posting the response).
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import queue
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

RUNTIME_PREFIX = "/2018-06-01/runtime"
ACCOUNT = "000000000000"
REGION = "us-east-1"


def cpu_ns(pid: int) -> int:
    """On-CPU time of every thread of `pid`, in nanoseconds (0 if it is gone)."""
    total = 0
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return 0
    for task in tasks:
        try:
            with (task / "schedstat").open() as stat:
                total += int(stat.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that ended between listdir and open
    return total


def peak_rss_kib(pid: int) -> int | None:
    try:
        with Path(f"/proc/{pid}/status").open() as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


@dataclass
class Invocation:
    event: bytes
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sent_at: float = 0.0
    answered_at: float = 0.0
    cpu_before: int = 0
    cpu_after: int = 0
    response: bytes = b""
    failed: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def latency_ms(self) -> float:
        return (self.answered_at - self.sent_at) * 1000

    @property
    def cpu_ms(self) -> float:
        return (self.cpu_after - self.cpu_before) / 1e6

    def json(self):
        return json.loads(self.response or b"null")


class RuntimeApi:
    """One Runtime API per function process: a process that is killed while polling leaves a
    waiting request behind, which must never take the next process's event."""

    def __init__(self):
        self.pending: queue.Queue[Invocation | None] = queue.Queue()
        self.by_id: dict[str, Invocation] = {}
        self.pid = 0
        self.init_error: bytes | None = None
        self.init_failed = threading.Event()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real Runtime API
            # Headers and body in one write, no Nagle: otherwise a client's delayed ACK adds
            # ~40 ms to every event (measured with the Python client before this was set).
            disable_nagle_algorithm = True
            wbufsize = 64 * 1024

            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path != f"{RUNTIME_PREFIX}/invocation/next":
                    self.send_error(404)
                    self.wfile.flush()
                    return
                invocation = api.pending.get()
                if invocation is None:
                    self.close_connection = True
                    return
                invocation.cpu_before = cpu_ns(api.pid)
                invocation.sent_at = time.perf_counter()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Lambda-Runtime-Aws-Request-Id", invocation.request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
                self.send_header(
                    "Lambda-Runtime-Invoked-Function-Arn", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:bench"
                )
                self.send_header(
                    "Lambda-Runtime-Trace-Id",
                    f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
                )
                self.send_header("Content-Length", str(len(invocation.event)))
                self.end_headers()
                try:
                    self.wfile.write(invocation.event)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_POST(self):
                answered_at = time.perf_counter()
                cpu_after = cpu_ns(api.pid)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                parts = self.path[len(RUNTIME_PREFIX) :].strip("/").split("/")
                if parts[:2] == ["init", "error"]:
                    api.init_error = body
                    api.init_failed.set()
                elif len(parts) == 3 and parts[0] == "invocation" and parts[1] in api.by_id:
                    invocation = api.by_id[parts[1]]
                    invocation.answered_at, invocation.cpu_after = answered_at, cpu_after
                    invocation.response, invocation.failed = body, parts[2] == "error"
                    invocation.done.set()
                else:
                    self.send_error(404)
                    self.wfile.flush()
                    return
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.wfile.flush()

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a killed function process resets its connection: expected

        self.server = Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.server_address[1]}"

    def submit(self, event) -> Invocation:
        payload = event if isinstance(event, bytes) else json.dumps(event).encode()
        invocation = Invocation(payload)
        self.by_id[invocation.request_id] = invocation
        self.pending.put(invocation)
        return invocation

    def close(self):
        self.pending.put(None)
        self.server.shutdown()
        self.server.server_close()


class FunctionError(RuntimeError):
    pass


class Process:
    """A function process started against its own Runtime API."""

    log_dir: Path | None = None  # when set, each process's stdout (its logs) is appended there
    # A command put in front of each function's, e.g. "perf record -g -o /tmp/{name}.perf --"
    # ({name}: the bootstrap's file name). Its CPU and RSS figures are then the wrapper's.
    wrapper: str | None = None

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path | None = None):
        self.api = RuntimeApi()
        self.command = command
        full_env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_LAMBDA_RUNTIME_API": self.api.address,
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
            "LAMBDA_TASK_ROOT": str(cwd or Path.cwd()),
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_EC2_METADATA_DISABLED": "true",
            **env,
        }
        self.env, self.cwd = full_env, cwd
        self.started_at = 0.0
        self.process: subprocess.Popen | None = None

    def start(self):
        # stdout is where Lambda functions log: a file, or nowhere.
        stdout = subprocess.DEVNULL
        if Process.log_dir is not None:
            Process.log_dir.mkdir(parents=True, exist_ok=True)
            # Closed right after the child inherits it (below).
            stdout = (Process.log_dir / f"{Path(self.command[0]).name}.log").open("ab")
        self.started_at = time.perf_counter()
        command = self.command
        if Process.wrapper:
            command = Process.wrapper.format(name=Path(command[0]).name).split() + command
        self.process = subprocess.Popen(
            command, env=self.env, cwd=self.cwd, stdout=stdout, stderr=subprocess.PIPE
        )
        if stdout is not subprocess.DEVNULL:
            stdout.close()
        self.api.pid = self.process.pid
        return self

    def invoke(self, event, timeout: float = 30) -> Invocation:
        invocation = self.api.submit(event)
        if self.process is None:
            self.start()
        deadline = time.monotonic() + timeout
        while not invocation.done.wait(0.05):
            if self.api.init_failed.is_set():
                raise FunctionError(f"{self.command[0]}: init error {self.api.init_error[:500]!r}")
            if self.process.poll() is not None:
                raise FunctionError(
                    f"{self.command[0]} exited ({self.process.returncode}): "
                    f"{self.process.stderr.read().decode(errors='replace')[-1500:]}"
                )
            if time.monotonic() > deadline:
                raise FunctionError(f"{self.command[0]}: no answer within {timeout} s")
        if invocation.failed:
            raise FunctionError(
                f"{self.command[0]}: the function reported an error: {invocation.response[:500]!r}"
            )
        return invocation

    def peak_rss_kib(self) -> int | None:
        return peak_rss_kib(self.process.pid) if self.process else None

    def stop(self):
        if self.process is not None:
            if Process.wrapper:  # let the wrapper (a profiler) write its output
                self.process.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(10)
            self.process.kill()
            self.process.wait()
        self.api.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


# --- events ---------------------------------------------------------------------------------


def now_ms() -> int:
    return int(time.time() * 1000)


def http_event(method: str, path: str, body=None, token: str | None = None, headers=None) -> dict:
    """An API Gateway HTTP API (payload 2.0) event, as the deployed routes send it."""
    raw_path, _, query = path.partition("?")
    all_headers = {
        "content-type": "application/json",
        "accept": "application/json",
        "user-agent": "serverless-shop-bench",
        **(headers or {}),
    }
    if token:
        all_headers["authorization"] = f"Bearer {token}"
    request_id = str(uuid.uuid4())
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": "bench",
            "domainName": "bench.execute-api.localhost",
            "domainPrefix": "bench",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "serverless-shop-bench",
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "timeEpoch": now_ms(),
        },
        "isBase64Encoded": False,
        **({"body": json.dumps(body)} if body is not None else {}),
    }


def http_answer(invocation: Invocation, expect: int) -> dict | list | None:
    """The JSON body of an HTTP function's answer; FunctionError unless the status is `expect`."""
    answer = invocation.json()
    status = answer.get("statusCode")
    body = answer.get("body") or "null"
    if status != expect:
        raise FunctionError(f"expected HTTP {expect}, got {status}: {body[:500]}")
    return json.loads(body)


def sqs_event(bodies: list[str], queue_name: str) -> dict:
    """An SQS batch (raw message delivery from SNS: each body is an event envelope)."""
    sent = str(now_ms())
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"rh-{uuid.uuid4()}",
                "body": body,
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": sent,
                    "SenderId": "bench",
                    "ApproximateFirstReceiveTimestamp": sent,
                },
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue_name}",
                "awsRegion": REGION,
            }
            for body in bodies
        ]
    }


def no_batch_failures(invocation: Invocation) -> None:
    answer = invocation.json() or {}
    if answer.get("batchItemFailures"):
        raise FunctionError(f"records failed: {answer}")


def stream_event(items: list[dict], table: str) -> dict:
    """A DynamoDB stream batch of INSERTs with NEW_IMAGE, the items in DynamoDB JSON."""
    return {
        "Records": [
            {
                "eventID": uuid.uuid4().hex,
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": {
                    "ApproximateCreationDateTime": int(time.time()),
                    "Keys": {"pk": item["pk"], "sk": item["sk"]},
                    "NewImage": item,
                    "SequenceNumber": str(index + 1),
                    "SizeBytes": 512,
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{table}/stream/2026-11-26T00:00:00.000",
            }
            for index, item in enumerate(items)
        ]
    }


def scheduled_event() -> dict:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "region": REGION,
        "resources": [f"arn:aws:events:{REGION}:{ACCOUNT}:rule/bench"],
        "detail": {},
    }
