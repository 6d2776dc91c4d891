"""One client for the shop's HTTP API, used by scripts/stack.py (seed) and scripts/demo.py.

Two transports, chosen by API_TRANSPORT:
- `http` (default): the stack's HTTP API (API Gateway v2), as any client reaches it;
- `invoke`: the route's function, called through the Lambda Invoke API with the API Gateway
  (payload 2.0) event the HTTP API would send it. For emulators without HTTP APIs (the free
  LocalStack image); `make test` runs the end-to-end suite this way too, so it cannot rot.

The stack is found through `.local/stack.<stage>.json` (written by `scripts/stack.py deploy` or
`outputs`): its API URL and its routes, each with the function it invokes.
"""

import base64
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

STATE = Path(__file__).resolve().parent.parent / ".local"


def transport() -> str:
    value = os.environ.get("API_TRANSPORT", "http")
    if value not in ("http", "invoke"):
        raise SystemExit(f"API_TRANSPORT={value!r}: expected http or invoke")
    return value


def match_route(routes: list[dict], method: str, path: str) -> tuple[dict, dict[str, str]]:
    """The route whose key matches `method path`, and the path parameters it binds: as in API
    Gateway, a `{name}` segment matches one segment, a last `{name+}` the rest of the path."""
    segments = path.strip("/").split("/")
    for route in routes:
        route_method, route_path = route["route_key"].split(" ", 1)
        pattern = route_path.strip("/").split("/")
        if route_method != method:
            continue
        if (
            pattern[-1].startswith("{")
            and pattern[-1].endswith("+}")
            and len(segments) >= len(pattern)
            and segments[-1]
        ):
            segments_here = [*segments[: len(pattern) - 1], "/".join(segments[len(pattern) - 1 :])]
            pattern = [*pattern[:-1], "{" + pattern[-1][1:-2] + "}"]
        else:
            segments_here = segments
        if len(pattern) != len(segments_here):
            continue
        parameters = {}
        for expected, actual in zip(pattern, segments_here, strict=True):
            if expected.startswith("{") and expected.endswith("}"):
                parameters[expected[1:-1]] = urllib.parse.unquote(actual)
            elif expected != actual:
                break
        else:
            return route, parameters
    raise LookupError(f"no route for {method} {path}")


def api_gateway_event(
    route: dict, parameters: dict, method: str, target: str, headers: dict, body: bytes | None
) -> dict:
    """The API Gateway HTTP API (payload format 2.0) event for one request."""
    path, _, query = target.partition("?")
    now = time.time()
    event = {
        "version": "2.0",
        "routeKey": route["route_key"],
        "rawPath": path,
        "rawQueryString": query,
        "headers": {key.lower(): value for key, value in headers.items()},
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "invoke",
            "domainName": "invoke.local",
            "domainPrefix": "invoke",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", "shop-api"),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route["route_key"],
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if query:
        # API Gateway joins repeated parameters with commas.
        pairs: dict[str, list[str]] = {}
        for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            pairs.setdefault(key, []).append(value)
        event["queryStringParameters"] = {key: ",".join(values) for key, values in pairs.items()}
    if parameters:
        event["pathParameters"] = parameters
    if body is not None:
        event["body"] = body.decode()
    return event


class ShopApi:
    def __init__(self, stage: str = "local", url: str | None = None, via: str | None = None):
        self.stage = stage
        self.transport = via or transport()
        self.url = url or os.environ.get("SHOP_API_URL") or (STATE / f"api-url.{stage}").read_text().strip()
        self._routes = None
        self._lambda = None

    def call(self, method: str, path: str, body=None, token=None, headers=None):
        """(status, JSON body or None) of one request."""
        all_headers = {"content-type": "application/json", **(headers or {})}
        if token:
            all_headers["authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        if self.transport == "invoke":
            return self._invoke(method, path, all_headers, data)
        request = urllib.request.Request(self.url + path, data=data, method=method)
        for key, value in all_headers.items():
            request.add_header(key, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def _invoke(self, method: str, path: str, headers: dict, data: bytes | None):
        if self._routes is None:
            import boto3  # only this transport needs it

            self._routes = json.loads((STATE / f"stack.{self.stage}.json").read_text())["routes"]
            self._lambda = boto3.client("lambda")
        try:
            route, parameters = match_route(self._routes, method, path.partition("?")[0])
        except LookupError:
            return 404, {"title": "Not Found", "status": 404}  # what the HTTP API answers
        event = api_gateway_event(route, parameters, method, path, headers, data)
        answer = self._lambda.invoke(FunctionName=route["function"], Payload=json.dumps(event).encode())
        payload = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            # The HTTP API turns a failed invocation into a 500.
            return 500, payload
        body = payload.get("body") or ""
        if payload.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        return payload["statusCode"], json.loads(body or "null")
