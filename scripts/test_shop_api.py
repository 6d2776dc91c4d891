"""Unit tests for scripts/shop_api.py's invoke transport: routing and the API Gateway event."""

import unittest

import stack
from shop_api import api_gateway_event, match_route

ROUTES = stack.http_routes(stack.TEMPLATE.read_text(), "local")


class Routes(unittest.TestCase):
    def test_every_route_of_the_template_is_found_with_its_function(self):
        self.assertEqual(len(ROUTES), stack.TEMPLATE.read_text().count("RouteKey:"))
        self.assertIn({"route_key": "GET /orders/{id}", "function": "local-orders-api"}, ROUTES)

    def test_a_parameter_segment_matches_one_segment_and_binds_it_decoded(self):
        route, parameters = match_route(ROUTES, "POST", "/orders/a%2Fb/cancel")
        self.assertEqual(route["route_key"], "POST /orders/{id}/cancel")
        self.assertEqual(parameters, {"id": "a/b"})

    def test_a_greedy_parameter_takes_the_rest_of_the_path_and_the_root_matches_only_itself(self):
        route, parameters = match_route(ROUTES, "GET", "/assets/css/shop.css")
        self.assertEqual(route["route_key"], "GET /assets/{proxy+}")
        self.assertEqual(parameters, {"proxy": "css/shop.css"})
        self.assertEqual(match_route(ROUTES, "GET", "/")[0]["route_key"], "GET /")
        with self.assertRaises(LookupError):
            match_route(ROUTES, "GET", "/assets/")

    def test_literal_segments_and_the_method_must_match(self):
        self.assertEqual(match_route(ROUTES, "GET", "/users/me")[0]["route_key"], "GET /users/me")
        with self.assertRaises(LookupError):
            match_route(ROUTES, "DELETE", "/users/me")
        with self.assertRaises(LookupError):
            match_route(ROUTES, "GET", "/orders/1/2")


class Event(unittest.TestCase):
    def test_the_event_carries_the_route_query_path_parameters_and_body_as_api_gateway_sends_them(self):
        route, parameters = match_route(ROUTES, "GET", "/products/p-1")
        event = api_gateway_event(
            route,
            parameters,
            "GET",
            "/products/p-1?limit=2&tag=a&tag=b",
            {"Authorization": "Bearer t"},
            b'{"x":1}',
        )
        self.assertEqual(event["version"], "2.0")
        self.assertEqual(event["routeKey"], "GET /products/{id}")
        self.assertEqual(event["rawPath"], "/products/p-1")
        self.assertEqual(event["rawQueryString"], "limit=2&tag=a&tag=b")
        self.assertEqual(event["queryStringParameters"], {"limit": "2", "tag": "a,b"})
        self.assertEqual(event["pathParameters"], {"id": "p-1"})
        self.assertEqual(event["headers"], {"authorization": "Bearer t"})
        self.assertEqual(event["requestContext"]["http"]["method"], "GET")
        self.assertEqual(event["body"], '{"x":1}')

    def test_a_request_without_query_parameters_or_body_has_neither(self):
        route, parameters = match_route(ROUTES, "GET", "/products")
        event = api_gateway_event(route, parameters, "GET", "/products", {}, None)
        for absent in ("queryStringParameters", "pathParameters", "body"):
            self.assertNotIn(absent, event)


if __name__ == "__main__":
    unittest.main()
