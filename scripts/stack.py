#!/usr/bin/env python3
"""Deploys infra/template.yaml -- the same template `sam deploy` sends to AWS -- onto the local
emulator, and seeds a demo catalog.

    scripts/stack.py deploy [--profile debug|release] [--stage local]
    scripts/stack.py outputs [--stage local]
    scripts/stack.py seed [--profile debug|release] [--stage local]
    scripts/stack.py literal-concurrency --template infra/.aws-sam/build/template.yaml
    scripts/stack.py watch-env [--stage local] [--outbox orders]
    scripts/stack.py watch [--stage local] [--outbox orders] [--port 9000] [-- <cargo lambda watch options>]

`deploy` zips each function's bootstrap (built for this machine by `cargo build --bins`), uploads
the zips to the emulator's S3 (`aws cloudformation package` ignores --endpoint-url for its
upload), rewrites each `CodeUri: ..` of the template to its uploaded zip -- nothing else of the
template changes -- creates the token signing keys if the stage has none (`users-keys ensure`,
the operator's command, built with the functions) and passes their public keys on
(`users-keys jwks`), and creates or updates the stack. Only boto3 (from the project venv); every call goes to AWS_ENDPOINT_URL, which must be a
loopback address.

`watch` runs `cargo lambda watch` with the environment the deployed stack gives its functions
(tables, topics, key references: read from each deployed function's configuration), so
`cargo lambda invoke <function> --data-file events/...` works for every function with nothing
exported by hand; `watch-env` prints that environment. One `cargo lambda watch` serves every
binary with one environment: the stack's functions agree on every variable except the outbox
relay's and sweeper's (one pair per service), so those two serve the service `--outbox` names.

`seed` registers the demo admin through the API like any customer (registration only ever
creates customers), then grants it the admin role with the operator's command, `users-admin`
(built with the functions), on the stack's users table.
"""

import argparse
import hashlib
import io
import json
import os
import platform
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import boto3
from botocore.exceptions import ClientError
from shop_api import ShopApi

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "infra" / "template.yaml"
STATE = ROOT / ".local"
ADMIN_EMAIL = "admin@shop.local"
ADMIN_PASSWORD = "local-admin-password"


def endpoint() -> str:
    url = os.environ.get("AWS_ENDPOINT_URL", "")
    host = url.split("://", 1)[-1].split("/")[0].rsplit(":", 1)[0]
    if host not in ("127.0.0.1", "localhost", "[::1]"):
        sys.exit(f"refusing to deploy: AWS_ENDPOINT_URL={url!r} is not the local emulator")
    return url


def client(service: str):
    return boto3.client(service, endpoint_url=endpoint())


def target_dir(profile: str) -> Path:
    """Where cargo put the binaries of `profile` (CARGO_TARGET_DIR when set, as cargo does)."""
    return Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / profile


def stack_name(stage: str) -> str:
    return f"serverless-shop-{stage}"


def functions_in_template(text: str) -> list[str]:
    """The binary of every function, in template order (Metadata.BuildProperties.Binary)."""
    return re.findall(r"BuildProperties:\s*\n\s*Binary:\s*(\S+)", text)


# The SQS workers' ScalingConfig.MaximumConcurrency. ministack 1.5.33 keeps a Number parameter
# a string, and its SQS poller, comparing that string with an integer, then stops delivering
# from every queue; so the local template gets the value as a literal (AWS converts it itself).
WORKER_MAXIMUM_CONCURRENCY = 5


def localised_template(text: str, locations: dict[str, str]) -> str:
    """The template with each function's `CodeUri: ..` pointing at its uploaded zip, and the
    workers' `MaximumConcurrency` a literal number."""
    pattern = re.compile(r"(Binary:\s*(\S+)\s*\n(?:.*\n)*?\s*CodeUri:\s*)\.\.\s*$", re.M)

    def swap(match: re.Match) -> str:
        return match.group(1) + locations[match.group(2)]

    localised, count = pattern.subn(swap, text)
    expected = len(functions_in_template(text))
    if count != expected:
        sys.exit(f"template rewrite touched {count} CodeUri entries, expected {expected}")
    localised, count = re.subn(
        r"(MaximumConcurrency:\s*)!Ref WorkerMaximumConcurrency\b",
        rf"\g<1>{WORKER_MAXIMUM_CONCURRENCY}",
        localised,
    )
    if count == 0:
        sys.exit("template rewrite found no MaximumConcurrency: !Ref WorkerMaximumConcurrency")
    return localised


def literal_concurrency(args) -> None:
    """`sam deploy` onto the emulator (make sam-check): the same MaximumConcurrency rewrite as
    localised_template, in the template `sam build` wrote (`Ref:` long form or `!Ref`)."""
    path = Path(args.template)
    text, count = re.subn(
        r"(MaximumConcurrency:)\s*(?:!Ref\s+|Ref:\s*)WorkerMaximumConcurrency\b",
        rf"\g<1> {WORKER_MAXIMUM_CONCURRENCY}",
        path.read_text(),
    )
    if count == 0:
        sys.exit(f"{path}: no MaximumConcurrency refers to WorkerMaximumConcurrency")
    path.write_text(text)
    print(
        f"{path}: {count} MaximumConcurrency set to {WORKER_MAXIMUM_CONCURRENCY} (the emulator's SQS poller needs a number)"
    )


def host_architecture() -> str:
    """This machine's instruction set, as the template's Architecture parameter names it."""
    machine = platform.machine().lower()
    return {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}.get(
        machine
    ) or sys.exit(f"no Lambda architecture for this machine ({machine})")


def zip_bootstrap(binary: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        archive.writestr(info, binary.read_bytes())
    return buffer.getvalue()


def operator_command(args, binary: str, *arguments: str, env: dict | None = None) -> str:
    """Runs one of the operator's commands (built with the functions) against the emulator."""
    path = target_dir(args.profile) / binary
    if not path.exists():
        sys.exit(
            f"{path} is missing: build it first (cargo build --bins{' --release' if args.profile == 'release' else ''})"
        )
    result = subprocess.run(
        [str(path), *arguments],
        env={**os.environ, **(env or {}), "AWS_ENDPOINT_URL": endpoint()},
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"{binary} {' '.join(arguments)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def signing_keys(args, secret: str) -> str:
    """Creates the stage's token signing keys unless they exist; returns their public JWKS."""
    print(operator_command(args, "users-keys", "ensure", "--secret", secret))
    return operator_command(args, "users-keys", "jwks", "--secret", secret)


def wait_for(cfn, name: str) -> dict:
    while True:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        status = stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            if status not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
                events = cfn.describe_stack_events(StackName=name)["StackEvents"]
                failed = [
                    f"{e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
                    for e in events
                    if "FAILED" in e["ResourceStatus"]
                ]
                sys.exit(f"stack {name} ended {status}:\n  " + "\n  ".join(failed[:20]))
            return stack
        time.sleep(1)


def deploy(args) -> None:
    text = TEMPLATE.read_text()
    target = target_dir(args.profile)
    bucket = f"serverless-shop-artifacts-{args.stage}"
    s3 = client("s3")
    try:
        s3.create_bucket(Bucket=bucket)
    except ClientError as err:
        if err.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise
    locations = {}
    for binary in dict.fromkeys(functions_in_template(text)):
        path = target / binary
        if not path.exists():
            sys.exit(
                f"{path} is missing: build it first (cargo build --bins{' --release' if args.profile == 'release' else ''})"
            )
        payload = zip_bootstrap(path)
        key = f"{binary}-{hashlib.sha256(payload).hexdigest()[:16]}.zip"
        s3.put_object(Bucket=bucket, Key=key, Body=payload)
        locations[binary] = f"s3://{bucket}/{key}"
        print(f"uploaded {binary}: {len(payload) / 1e6:.1f} MB zip")
    STATE.mkdir(exist_ok=True)
    localised = localised_template(text, locations)
    (STATE / f"template.{args.stage}.yaml").write_text(localised)
    # From S3, as `sam deploy` does: a TemplateBody may not exceed 51,200 bytes, a TemplateURL 1 MB.
    template_key = f"template-{hashlib.sha256(localised.encode()).hexdigest()[:16]}.yaml"
    s3.put_object(Bucket=bucket, Key=template_key, Body=localised.encode())
    template_url = f"{os.environ['AWS_ENDPOINT_URL'].rstrip('/')}/{bucket}/{template_key}"

    secret_name = f"serverless-shop/{args.stage}/jwt-signing-keys"
    jwks = signing_keys(args, secret_name)
    parameters = [
        {"ParameterKey": "Stage", "ParameterValue": args.stage},
        {"ParameterKey": "JwtSigningSecretName", "ParameterValue": secret_name},
        {"ParameterKey": "JwtPublicKeys", "ParameterValue": jwks},
        {"ParameterKey": "SenderEmail", "ParameterValue": "shop@example.org"},
        {"ParameterKey": "LogLevel", "ParameterValue": "INFO"},
        {"ParameterKey": "WorkerQueueVisibilityTimeout", "ParameterValue": "10"},
        {"ParameterKey": "WorkerMaximumConcurrency", "ParameterValue": str(WORKER_MAXIMUM_CONCURRENCY)},
        # The bootstraps are built for this machine: an emulator that runs them in containers
        # (LocalStack) needs the matching architecture; ministack runs them as host processes.
        {"ParameterKey": "Architecture", "ParameterValue": host_architecture()},
        # The emulator has no metric-math alarms: the API's 5xx alarm counts instead (docs/operations.md).
        {"ParameterKey": "ApiErrorAlarmKind", "ParameterValue": "count"},
    ]
    cfn = client("cloudformation")
    name = stack_name(args.stage)
    capabilities = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]
    started = time.monotonic()
    try:
        cfn.describe_stacks(StackName=name)
        try:
            cfn.update_stack(
                StackName=name, TemplateURL=template_url, Parameters=parameters, Capabilities=capabilities
            )
        except ClientError as err:
            if "No updates are to be performed" not in str(err):
                raise
    except ClientError as err:
        if "does not exist" not in str(err):
            raise
        cfn.create_stack(
            StackName=name, TemplateURL=template_url, Parameters=parameters, Capabilities=capabilities
        )
    wait_for(cfn, name)
    print(f"stack {name} ready in {time.monotonic() - started:.1f} s")
    print_outputs(args)


def resource_blocks(text: str) -> dict[str, str]:
    """Each top-level resource of the template: logical id -> its indented body."""
    resources = text[text.index("\nResources:\n") + 1 :]
    # The section ends where the next top-level key (Outputs:) begins.
    end = re.search(r"^\w+:", resources[len("Resources:") :], re.M)
    if end:
        resources = resources[: len("Resources:") + end.start()]
    return {
        m.group(1): m.group(2) for m in re.finditer(r"^  (\w+):\n((?:    .*\n|[ \t]*\n)*)", resources, re.M)
    }


def http_routes(text: str, stage: str) -> list[dict[str, str]]:
    """The HTTP API's routes and the function each invokes: RouteKey -> integration -> function
    -> its FunctionName. What an end-to-end client needs to call the functions through the Lambda
    Invoke API where the emulator has no HTTP APIs (E2E_TRANSPORT=invoke)."""
    blocks = resource_blocks(text)
    routes = []
    for _logical, body in blocks.items():
        if "Type: AWS::ApiGatewayV2::Route\n" not in body:
            continue
        key = re.search(r"RouteKey:\s*(.+)", body).group(1).strip()
        integration = re.search(r"Target:\s*!Sub\s+integrations/\$\{(\w+)\}", body).group(1)
        function = re.search(r"IntegrationUri:\s*!GetAtt\s+(\w+)\.Arn", blocks[integration]).group(1)
        name = (
            re.search(r"FunctionName:\s*!Sub\s+(\S+)", blocks[function]).group(1).replace("${Stage}", stage)
        )
        routes.append({"route_key": key, "function": name})
    if not routes:
        sys.exit("the template declares no AWS::ApiGatewayV2::Route")
    return routes


def api_id(stage: str) -> str:
    cfn = client("cloudformation")
    return cfn.describe_stack_resource(StackName=stack_name(stage), LogicalResourceId="HttpApi")[
        "StackResourceDetail"
    ]["PhysicalResourceId"]


def api_url(stage: str) -> str:
    # The emulator serves every HTTP API under this path (LocalStack's convention too).
    return f"{endpoint().rstrip('/')}/_aws/execute-api/{api_id(stage)}"


def print_outputs(args) -> None:
    url = api_url(args.stage)
    (STATE / f"api-url.{args.stage}").write_text(url + "\n")
    stack = client("cloudformation").describe_stacks(StackName=stack_name(args.stage))["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    # What the end-to-end tests need to find the stack (tests/tests/e2e.rs).
    (STATE / f"stack.{args.stage}.json").write_text(
        json.dumps(
            {
                "stage": args.stage,
                "api_id": api_id(args.stage),
                "api_url": url,
                "outputs": outputs,
                "routes": http_routes(TEMPLATE.read_text(), args.stage),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"HTTP API: {url}")
    print(f"  try: curl {url}/products")


DEMO_CATALOG = [
    ("MUG-001", "Rust mug", "kitchen", 1999, 25),
    ("TEE-001", "Ferris t-shirt", "clothing", 2499, 10),
    ("STK-001", "Crab sticker pack", "stationery", 499, 100),
    ("BOOK-01", "The serverless book", "books", 3999, 0),
]


def grant_admin(args, email: str) -> None:
    """`users-admin grant --email <email>` on the stack's users table: the operator's command."""
    table = client("cloudformation").describe_stack_resource(
        StackName=stack_name(args.stage), LogicalResourceId="UsersTable"
    )["StackResourceDetail"]["PhysicalResourceId"]
    print(operator_command(args, "users-admin", "grant", "--email", email, env={"USERS_TABLE": table}))


def seed(args) -> None:
    """Through the stack's API (API_TRANSPORT=invoke: its functions, where there is no HTTP API)."""
    call = ShopApi(args.stage, api_url(args.stage)).call
    status, _ = call(
        "POST", "/users", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "name": "Shop admin"}
    )
    if status not in (201, 409):
        sys.exit(f"registering the admin failed: {status}")
    grant_admin(args, ADMIN_EMAIL)
    status, token = call("POST", "/auth/token", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    if status != 200:
        sys.exit(f"admin login failed: {status} {token}")
    token = token["access_token"]
    status, page = call("GET", "/products?limit=100")
    existing = {p["sku"]: p for p in (page or {}).get("items", [])} if status == 200 else {}
    for sku, name, category, price, stock in DEMO_CATALOG:
        product = existing.get(sku)
        if product is None:
            status, product = call(
                "POST",
                "/products",
                {
                    "sku": sku,
                    "name": name,
                    "category": category,
                    "price": {"amount_minor": price, "currency": "EUR"},
                },
                token,
            )
            if status not in (201,):
                sys.exit(f"creating {sku} failed: {status} {product}")
        # Inventory learns of the product through ProductCreated: wait for its stock record.
        for _ in range(60):
            status, level = call("PUT", f"/inventory/{product['id']}", {"on_hand": stock}, token)
            if status == 200:
                break
            time.sleep(0.5)
        else:
            sys.exit(f"stock for {sku} never became settable (last answer {status} {level})")
        print(f"seeded {sku:8} {name:22} {price / 100:7.2f} EUR  stock {stock}")
    print(f"admin: {ADMIN_EMAIL} / {ADMIN_PASSWORD}")


def function_binaries(text: str) -> dict[str, str]:
    """Each function's logical id in the template and the binary it runs."""
    binaries = {}
    for logical, body in resource_blocks(text).items():
        binary = re.search(r"^      BuildProperties:\n        Binary:\s*(\S+)", body, re.M)
        if "    Type: AWS::Serverless::Function\n" in body and binary:
            binaries[logical] = binary.group(1)
    expected = len(functions_in_template(text))
    if len(binaries) != expected:
        sys.exit(f"found {len(binaries)} functions with a binary in the template, expected {expected}")
    return binaries


OUTBOX_BINARIES = ("outbox-relay", "outbox-sweeper")


def watch_environment(
    stage: str, outbox: str, configurations: dict[str, dict[str, str]] | None = None
) -> dict[str, str]:
    """The union of the deployed functions' environment variables, as `cargo lambda watch`
    needs them: one environment for every binary. The outbox relay and sweeper exist once per
    service with their own table and topic; only the `outbox` service's pair is taken."""
    binaries = function_binaries(TEMPLATE.read_text())
    if configurations is None:
        cfn, lam = client("cloudformation"), client("lambda")
        configurations = {}
        for logical in binaries:
            physical = cfn.describe_stack_resource(StackName=stack_name(stage), LogicalResourceId=logical)[
                "StackResourceDetail"
            ]["PhysicalResourceId"]
            config = lam.get_function_configuration(FunctionName=physical)
            configurations[logical] = config.get("Environment", {}).get("Variables", {})
    services = sorted(
        {
            logical[: -len(suffix)].lower()
            for logical, binary in binaries.items()
            for suffix in ("OutboxRelayFunction",)
            if binary == "outbox-relay" and logical.endswith(suffix)
        }
    )
    if outbox not in services:
        sys.exit(f"--outbox {outbox!r}: the stack has outbox relays for {', '.join(services)}")
    environment: dict[str, str] = {}
    origin: dict[str, str] = {}
    for logical, variables in sorted(configurations.items()):
        if binaries[logical] in OUTBOX_BINARIES and not logical.lower().startswith(outbox):
            continue
        for key, value in variables.items():
            if key in environment and environment[key] != value:
                sys.exit(
                    f"{key} differs between {origin[key]} and {logical}: one `cargo lambda watch` cannot serve both"
                )
            environment[key], origin[key] = value, logical
    return environment


def watch_env(args) -> None:
    for key, value in sorted(watch_environment(args.stage, args.outbox).items()):
        print(f"{key}={value}")


def watch(args) -> None:
    """`cargo lambda watch` (loopback only) with the stack's environment; replaces this process."""
    environment = watch_environment(args.stage, args.outbox)
    print(
        f"cargo lambda watch with the environment of stack {stack_name(args.stage)} (outbox: {args.outbox}): "
        + ", ".join(sorted(environment)),
        flush=True,
    )
    extra = [a for a in args.rest if a != "--"]
    command = [
        "cargo",
        "lambda",
        "watch",
        "--invoke-address",
        "127.0.0.1",
        "--invoke-port",
        str(args.port),
        *extra,
    ]
    os.execvpe(command[0], command, {**os.environ, **environment, "AWS_ENDPOINT_URL": endpoint()})


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "command", choices=["deploy", "outputs", "seed", "literal-concurrency", "watch-env", "watch"]
    )
    parser.add_argument("--stage", default="local")
    parser.add_argument("--profile", default="debug", choices=["debug", "release"])
    parser.add_argument("--template", help="literal-concurrency: the template sam build wrote")
    parser.add_argument(
        "--outbox", default="orders", help="watch: the service whose outbox relay and sweeper to serve"
    )
    parser.add_argument("--port", type=int, default=9000, help="watch: where cargo lambda invoke reaches it")
    # watch passes whatever else it is given on to cargo lambda watch; the others take nothing else.
    args, args.rest = parser.parse_known_args()
    if args.rest and args.command != "watch":
        parser.error(f"unrecognized arguments: {' '.join(args.rest)}")
    {
        "deploy": deploy,
        "outputs": print_outputs,
        "seed": seed,
        "literal-concurrency": literal_concurrency,
        "watch-env": watch_env,
        "watch": watch,
    }[args.command](args)


if __name__ == "__main__":
    main()
