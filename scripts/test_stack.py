"""Unit tests for scripts/stack.py's logic beyond glue (python -m unittest discover -s scripts)."""
import unittest

import stack

BINARIES = stack.function_binaries(stack.TEMPLATE.read_text())


def configurations(**overrides):
    """Every function of the template with the environment the stack gives it (a small model)."""
    config = {}
    for logical, binary in BINARIES.items():
        if binary in stack.OUTBOX_BINARIES:
            service = logical.split("Outbox")[0].lower()
            config[logical] = {"OUTBOX_TABLE": f"local-{service}", "EVENTS_TOPIC_ARN": f"arn:{service}", "STAGE": "local"}
        else:
            config[logical] = {"STAGE": "local", f"{binary.split('-')[0].upper()}_TABLE": f"local-{binary.split('-')[0]}"}
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
        config = configurations(UsersApiFunction={"STAGE": "local", "USERS_TABLE": "local-users"},
                                ProductsApiFunction={"STAGE": "local", "USERS_TABLE": "other-users"})
        with self.assertRaises(SystemExit) as refused:
            stack.watch_environment("local", "orders", config)
        self.assertIn("USERS_TABLE", str(refused.exception))


if __name__ == "__main__":
    unittest.main()
