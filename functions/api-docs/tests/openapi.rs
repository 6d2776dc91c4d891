//! docs/openapi.json is what the code generates, and describes exactly the routes the template
//! deploys; every HTTP function's route table is exactly the template's routes to it. `make
//! openapi` (UPDATE_OPENAPI=1) rewrites the file from the code.

// Helpers are not #[test] functions, so clippy's allow-*-in-tests does not reach them.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;
use shared::openapi::ApiDoc;

fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn generated() -> Value {
    let describe: [fn(&mut ApiDoc); 5] = [
        users::http::describe_api,
        products::http::describe_api,
        inventory::http::describe_api,
        orders::http::describe_api,
        notifications::http::describe_api,
    ];
    api_docs::assemble(&describe)
}

#[test]
fn the_checked_in_openapi_document_matches_the_code() {
    let text = serde_json::to_string_pretty(&generated()).unwrap() + "\n";
    let path = repo_file("docs/openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "docs/openapi.json drifted from the routes and types that generate it: run `make \
         openapi` and review the diff"
    );
}

/// `METHOD /path` of every `RouteKey:` in the SAM template.
fn template_routes() -> BTreeSet<String> {
    let template = std::fs::read_to_string(repo_file("infra/template.yaml")).unwrap();
    template
        .lines()
        .filter_map(|line| line.trim().strip_prefix("RouteKey:"))
        .map(|key| key.trim().trim_matches('"').to_owned())
        .collect()
}

/// `METHOD /path` of every `RouteKey:` in the SAM template, by the `Binary` of the function its
/// integration invokes. The template's resources are read line by line: a route names its
/// integration in `Target`, the integration its function in `IntegrationUri`.
fn template_routes_by_binary() -> BTreeMap<String, BTreeSet<String>> {
    let template = std::fs::read_to_string(repo_file("infra/template.yaml")).unwrap();
    let mut resource = "";
    let mut route_keys: BTreeMap<&str, &str> = BTreeMap::new();
    let mut targets: BTreeMap<&str, &str> = BTreeMap::new();
    let mut functions: BTreeMap<&str, &str> = BTreeMap::new();
    let mut binaries: BTreeMap<&str, &str> = BTreeMap::new();
    for line in template.lines() {
        if let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            resource = name;
        }
        let line = line.trim();
        if let Some(key) = line.strip_prefix("RouteKey:") {
            route_keys.insert(resource, key.trim().trim_matches('"'));
        } else if let Some(target) = line.strip_prefix("Target: !Sub integrations/${") {
            targets.insert(resource, target.trim_end_matches('}'));
        } else if let Some(uri) = line.strip_prefix("IntegrationUri: !GetAtt ") {
            functions.insert(resource, uri.trim_end_matches(".Arn"));
        } else if let Some(binary) = line.strip_prefix("Binary:") {
            binaries.insert(resource, binary.trim());
        }
    }
    let mut routes: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (route, key) in route_keys {
        let binary = targets
            .get(route)
            .and_then(|integration| functions.get(integration))
            .and_then(|function| binaries.get(function))
            .unwrap_or_else(|| panic!("route {route} ({key}) reaches no function's binary"));
        routes
            .entry((*binary).to_owned())
            .or_default()
            .insert(key.to_owned());
    }
    routes
}

#[test]
fn every_http_function_routes_exactly_the_template_routes_that_reach_it() {
    let tables: [(&str, Vec<String>); 7] = [
        ("users-api", users::http::ROUTES.keys().collect()),
        ("products-api", products::http::ROUTES.keys().collect()),
        ("inventory-api", inventory::http::ROUTES.keys().collect()),
        ("orders-api", orders::http::ROUTES.keys().collect()),
        (
            "notifications-api",
            notifications::http::ROUTES.keys().collect(),
        ),
        ("storefront", storefront::ROUTES.keys().collect()),
        ("api-docs", api_docs::ROUTES.keys().collect()),
    ];
    let deployed = template_routes_by_binary();
    assert_eq!(
        deployed.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        tables.iter().map(|(binary, _)| *binary).collect(),
        "the functions behind the HTTP API"
    );
    for (binary, keys) in tables {
        let routed: BTreeSet<String> = keys.iter().cloned().collect();
        assert_eq!(routed.len(), keys.len(), "{binary} lists a route twice");
        assert_eq!(
            routed, deployed[binary],
            "{binary}'s route table and the template's RouteKeys for it"
        );
    }
}

#[test]
fn every_deployed_route_is_documented_and_every_documented_route_is_deployed() {
    let document = generated();
    let documented: BTreeSet<String> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, methods)| {
            methods
                .as_object()
                .unwrap()
                .keys()
                .map(move |method| format!("{} {path}", method.to_ascii_uppercase()))
        })
        .collect();
    let deployed = template_routes();
    // The storefront's page and files: the web page served from the API's origin, not part of
    // the JSON API this document describes.
    let storefront = ["GET /", "GET /assets/{proxy+}"];
    let not_api =
        |route: &&String| !route.starts_with("$default") && !storefront.contains(&route.as_str());
    let deployed: BTreeSet<String> = deployed.iter().filter(not_api).cloned().collect();
    assert_eq!(
        documented, deployed,
        "the OpenAPI paths and the template's RouteKeys must name the same routes"
    );
}

#[test]
fn every_operation_has_an_id_a_tag_responses_and_a_security_requirement() {
    let document = generated();
    for (path, methods) in document["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            let route = format!("{method} {path}");
            assert!(op["operationId"].is_string(), "{route}");
            assert!(
                op["tags"].as_array().is_some_and(|t| t.len() == 1),
                "{route}"
            );
            assert!(op["security"].is_array(), "{route}");
            let responses = op["responses"].as_object().unwrap();
            assert!(responses.keys().any(|s| s.starts_with('2')), "{route}");
            assert!(responses.contains_key("500"), "{route}");
            for param in ["{id}", "{productId}"] {
                if path.contains(param) {
                    let name = param.trim_matches(['{', '}']);
                    assert!(
                        op["parameters"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|p| p["name"] == name && p["in"] == "path"),
                        "{route} does not describe its path parameter {name}"
                    );
                }
            }
        }
    }
}

#[test]
fn every_link_names_an_operation_of_the_document() {
    let document = generated();
    let mut ids = BTreeSet::new();
    let mut targets = Vec::new();
    for methods in document["paths"].as_object().unwrap().values() {
        for op in methods.as_object().unwrap().values() {
            ids.insert(op["operationId"].as_str().unwrap().to_owned());
            for response in op["responses"].as_object().unwrap().values() {
                if let Some(links) = response.get("links").and_then(Value::as_object) {
                    for link in links.values() {
                        targets.push(link["operationId"].as_str().unwrap().to_owned());
                    }
                }
            }
        }
    }
    assert!(targets.len() >= 7, "{targets:?}");
    for target in targets {
        assert!(
            ids.contains(&target),
            "a link names unknown operation {target}"
        );
    }
}
