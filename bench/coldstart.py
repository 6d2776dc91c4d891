#!/usr/bin/env python3
"""Cold start of a Lambda bootstrap against a local Runtime API: the time from exec until the
first event's response is posted, the median of N starts, plus the peak RSS of the process.

    bench/coldstart.py BOOTSTRAP EVENT.json [--runs 20] [--env K=V ...]

Only the standard library. The Runtime API here answers instantly, so the figure is the
function's own init + first invocation (SDK client construction included, no network I/O unless
the handler makes AWS calls for that event).
"""
import argparse
import http.server
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid

class RuntimeApi(http.server.BaseHTTPRequestHandler):
    event = b"{}"
    served = None  # threading.Event set when the response is posted
    response_at = None
    waiting = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        if not self.path.endswith("/invocation/next"):
            self.send_error(404)
            return
        if RuntimeApi.served.is_set():
            # Second poll after the first event: hold it until the process is killed.
            time.sleep(30)
            return

        request_id = str(uuid.uuid4())
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 10_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:bench")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Length", str(len(RuntimeApi.event)))
        self.end_headers()
        try:
            self.wfile.write(RuntimeApi.event)
        except BrokenPipeError:
            pass  # the previous run's process was killed while polling

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length)
        RuntimeApi.response_at = time.perf_counter()
        RuntimeApi.last_body = body
        RuntimeApi.last_path = self.path
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()
        RuntimeApi.served.set()


def peak_rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bootstrap")
    parser.add_argument("event")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--env", action="append", default=[])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()

    with open(args.event, "rb") as f:
        RuntimeApi.event = f.read()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]

    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": "bench",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        "AWS_LAMBDA_LOG_LEVEL": "WARN",
    }
    for pair in args.env:
        key, _, value = pair.partition("=")
        env[key] = value

    starts, rss = [], []
    for _ in range(args.runs):
        RuntimeApi.served = threading.Event()
        began = time.perf_counter()
        process = subprocess.Popen([args.bootstrap], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not RuntimeApi.served.wait(10):
            process.kill()
            sys.exit(f"no response within 10 s: {process.stderr.read().decode()[-2000:]}")
        starts.append((RuntimeApi.response_at - began) * 1000)
        if "/error" in RuntimeApi.last_path:
            process.kill()
            sys.exit(f"the function reported an error: {RuntimeApi.last_body[:500]!r}")
        rss.append(peak_rss_kib(process.pid))
        process.kill()
        process.wait()
    result = {
        "bootstrap": args.bootstrap,
        "runs": args.runs,
        "cold_start_ms_median": round(statistics.median(starts), 2),
        "cold_start_ms_min": round(min(starts), 2),
        "cold_start_ms_max": round(max(starts), 2),
        "peak_rss_kib_median": statistics.median([r for r in rss if r is not None]) if any(rss) else None,
        "size_bytes": os.path.getsize(args.bootstrap),
    }
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
