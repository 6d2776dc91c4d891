"""Unit tests for scripts/stack.py's logic beyond glue (python -m unittest discover -s scripts)."""

import os
import re
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import stack

TEMPLATE = stack.TEMPLATE.read_text()

BINARIES = stack.function_binaries(TEMPLATE)


def configurations(**overrides):
    """Every function of the template with the environment the stack gives it (a small model)."""
    config = {}
    for logical, binary in BINARIES.items():
        if binary in stack.OUTBOX_BINARIES:
            service = logical.split("Outbox")[0].lower()
            config[logical] = {
                "OUTBOX_TABLE": f"local-{service}",
                "EVENTS_TOPIC_ARN": f"arn:{service}",
                "STAGE": "local",
            }
        else:
            config[logical] = {
                "STAGE": "local",
                f"{binary.split('-')[0].upper()}_TABLE": f"local-{binary.split('-')[0]}",
            }
    config.update(overrides)
    return config


class WatchEnvironment(unittest.TestCase):
    def test_the_template_names_a_binary_for_every_function(self):
        self.assertEqual(len(BINARIES), len(stack.functions_in_template(stack.TEMPLATE.read_text())))
        self.assertIn("users-api", BINARIES.values())

    def test_the_outbox_pair_of_the_chosen_service_is_taken_and_no_other(self):
        environment = stack.watch_environment("local", "products", configurations())
        self.assertEqual(environment["OUTBOX_TABLE"], "local-products")
        self.assertEqual(environment["EVENTS_TOPIC_ARN"], "arn:products")
        self.assertEqual(environment["USERS_TABLE"], "local-users")

    def test_a_service_without_an_outbox_relay_is_refused(self):
        with self.assertRaises(SystemExit):
            stack.watch_environment("local", "payments", configurations())

    def test_two_functions_disagreeing_on_a_variable_is_refused_not_silently_merged(self):
        config = configurations(
            UsersApiFunction={"STAGE": "local", "USERS_TABLE": "local-users"},
            ProductsApiFunction={"STAGE": "local", "USERS_TABLE": "other-users"},
        )
        with self.assertRaises(SystemExit) as refused:
            stack.watch_environment("local", "orders", config)
        self.assertIn("USERS_TABLE", str(refused.exception))


class Template(unittest.TestCase):
    def test_every_resource_block_is_found_and_none_swallows_the_next(self):
        blocks = stack.resource_blocks(TEMPLATE)
        resources = TEMPLATE[TEMPLATE.index("\nResources:\n") : TEMPLATE.index("\nOutputs:\n")]
        self.assertEqual(list(blocks), re.findall(r"^  (\w+):\n", resources, re.M))
        for logical, body in blocks.items():
            self.assertEqual(len(re.findall(r"^    Type: ", body, re.M)), 1, f"{logical}: one Type, its own")
        self.assertNotIn("ApiUrl", blocks, "an output is not a resource")

    def test_the_binaries_are_read_from_function_resources_only(self):
        self.assertEqual(
            set(BINARIES),
            {k for k, b in stack.resource_blocks(TEMPLATE).items() if "Serverless::Function\n" in b},
        )
        self.assertEqual(BINARIES["OrdersApiFunction"], "orders-api")

    def test_every_code_uri_points_at_its_own_zip_and_concurrency_becomes_a_number(self):
        locations = {binary: f"s3://code/{binary}.zip" for binary in BINARIES.values()}
        localised = stack.localised_template(TEMPLATE, locations)
        self.assertNotRegex(localised, r"CodeUri:\s*\.\.\s*$")
        for logical, binary in BINARIES.items():
            self.assertIn(f"CodeUri: s3://code/{binary}.zip", stack.resource_blocks(localised)[logical])
        self.assertNotIn("!Ref WorkerMaximumConcurrency", localised)
        self.assertIn(f"MaximumConcurrency: {stack.WORKER_MAXIMUM_CONCURRENCY}", localised)

    def test_a_template_whose_functions_cannot_all_be_rewritten_is_refused(self):
        locations = {binary: f"s3://code/{binary}.zip" for binary in BINARIES.values()}
        broken = TEMPLATE.replace("CodeUri: ..", "CodeUri: ./elsewhere", 1)
        with self.assertRaises(SystemExit):
            stack.localised_template(broken, locations)

    def test_sam_builds_long_form_concurrency_is_rewritten_too(self):
        with tempfile.TemporaryDirectory() as tmp:
            built = Path(tmp, "template.yaml")
            built.write_text(
                "MaximumConcurrency:\n  Ref: WorkerMaximumConcurrency\nMaximumConcurrency: !Ref WorkerMaximumConcurrency\n"
            )
            stack.literal_concurrency(mock.Mock(template=str(built)))
            self.assertEqual(
                built.read_text().count(f"MaximumConcurrency: {stack.WORKER_MAXIMUM_CONCURRENCY}"), 2
            )
            built.write_text("nothing here\n")
            with self.assertRaises(SystemExit):
                stack.literal_concurrency(mock.Mock(template=str(built)))

    def test_each_http_route_names_the_deployed_function_of_its_integration(self):
        routes = {r["route_key"]: r["function"] for r in stack.http_routes(TEMPLATE, "dev")}
        self.assertEqual(routes["POST /orders"], "dev-orders-api")
        self.assertEqual(routes["GET /products/{id}"], "dev-products-api")
        self.assertEqual(len(routes), TEMPLATE.count("Type: AWS::ApiGatewayV2::Route\n"))
        self.assertTrue(all(name.startswith("dev-") for name in routes.values()))


class Endpoint(unittest.TestCase):
    def test_only_this_machine_is_accepted_as_the_emulator(self):
        for url in ("http://127.0.0.1:4566", "http://localhost:4600", "http://[::1]:4566"):
            with mock.patch.dict(os.environ, {"AWS_ENDPOINT_URL": url}):
                self.assertEqual(stack.endpoint(), url)
        for url in (
            "",
            "https://dynamodb.us-east-1.amazonaws.com",
            "http://10.0.0.5:4566",
            "http://127.0.0.1.evil.example:4566",
        ):
            with mock.patch.dict(os.environ, {"AWS_ENDPOINT_URL": url}), self.assertRaises(SystemExit):
                stack.endpoint()

    def test_the_host_architecture_maps_to_a_lambda_one_or_stops(self):
        for machine, expected in (("x86_64", "x86_64"), ("AMD64", "x86_64"), ("aarch64", "arm64")):
            with mock.patch("platform.machine", return_value=machine):
                self.assertEqual(stack.host_architecture(), expected)
        with mock.patch("platform.machine", return_value="riscv64"), self.assertRaises(SystemExit):
            stack.host_architecture()

    def test_the_bootstrap_zip_holds_one_executable_named_bootstrap(self):
        import io
        import zipfile

        with tempfile.NamedTemporaryFile() as binary:
            binary.write(b"\x7fELF...")
            binary.flush()
            archive = zipfile.ZipFile(io.BytesIO(stack.zip_bootstrap(Path(binary.name))))
        (info,) = archive.infolist()
        self.assertEqual(info.filename, "bootstrap")
        self.assertEqual(info.external_attr >> 16, 0o755)
        self.assertEqual(archive.read("bootstrap"), b"\x7fELF...")


if __name__ == "__main__":
    unittest.main()
