//! api-docs: serves the HTTP API's OpenAPI 3.1 document at `GET /openapi.json` and a page
//! that renders it (Redoc) at `GET /docs`.
//!
//! The document is `docs/openapi.json`, compiled in. It is generated from every API's routes
//! and Rust types by [`assemble`] in this package's test, which fails when the checked-in file
//! differs from what the code generates (`make openapi` rewrites it): so the function needs no
//! service's code and answers from memory.

use lambda_http::http::Method;
use lambda_http::http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::http::{Problem, respond};
use shared::openapi::{Access, ApiDoc};
use shared::router::{Route, Router};

/// The OpenAPI document, as checked in.
pub const DOCUMENT: &str = include_str!("../../../docs/openapi.json");

/// The page that renders [`DOCUMENT`]: Redoc from a CDN, pinned by version and Subresource
/// Integrity hash, so there is nothing to build and a changed script is refused by the browser.
pub const DOCS_PAGE: &str = include_str!("docs.html");

/// The `info` of the document.
#[must_use]
pub fn info() -> Value {
    json!({
        "title": "serverless-shop HTTP API",
        "version": env!("CARGO_PKG_VERSION"),
        "summary": "Users, catalog, stock, orders and notifications of the serverless shop.",
        "description": "JSON in and out. Every error is an RFC 9457 problem \
            (`application/problem+json`) with per-field `errors` on 422. A 503 comes with \
            `Retry-After` and means nothing was decided: send the same request again after the \
            delay. Money is `{\"amount_minor\": 1999, \"currency\": \"EUR\"}`. Lists are pages \
            of `items` with an opaque, signed `next_token`. Generated from the Rust request and \
            response types; docs/api.md has the limits in prose.",
        "license": {"name": "MIT OR Apache-2.0", "identifier": "MIT OR Apache-2.0"}
    })
}

/// The document's tags, one per service, in reading order.
#[must_use]
pub fn tags() -> Value {
    json!([
        {"name": "users", "description": "Accounts, login and the token verification keys (users-api)."},
        {"name": "products", "description": "The catalog (products-api)."},
        {"name": "inventory", "description": "Stock per product (inventory-api)."},
        {"name": "orders", "description": "Ordering, the saga's visible state, cancellation (orders-api)."},
        {"name": "notifications", "description": "What the shop told the customer (notifications-api)."},
        {"name": "docs", "description": "This document and its rendering (api-docs)."}
    ])
}

/// The whole document: every API's routes, described by the `describe` functions of their
/// `http` modules, then this function's own.
#[must_use]
pub fn assemble(describe: &[fn(&mut ApiDoc)]) -> Value {
    let mut doc = ApiDoc::new();
    for describe in describe {
        describe(&mut doc);
    }
    describe_api(&mut doc);
    doc.into_document(info(), tags())
}

/// Describes this function's own routes.
pub fn describe_api(doc: &mut ApiDoc) {
    doc.operation(
        "GET",
        "/openapi.json",
        "getOpenApiDocument",
        "This OpenAPI document",
    )
    .tag("docs")
    .access(Access::Anyone)
    .raw_response(
        200,
        "The OpenAPI 3.1 document of the HTTP API.",
        "application/json",
        json!({"type": "object", "required": ["openapi", "info", "paths"]}),
    )
    .add();
    doc.operation(
        "GET",
        "/docs",
        "getApiDocs",
        "The document, rendered for reading (Redoc)",
    )
    .tag("docs")
    .access(Access::Anyone)
    .raw_response(
        200,
        "An HTML page that renders openapi.json.",
        "text/html",
        json!({"type": "string"}),
    )
    .add();
}

fn static_response(content_type: &'static str, body: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Text(body.to_owned()));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Changes only with a deploy.
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// What api-docs serves for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiRoute {
    Document,
    Page,
}

/// api-docs' routes: the template's `RouteKey`s for this function.
pub static ROUTES: Router<ApiRoute> = Router(&[
    Route::new(Method::GET, "/openapi.json", ApiRoute::Document),
    Route::new(Method::GET, "/docs", ApiRoute::Page),
]);

/// Answers one API Gateway request. Never fails: anything but the two routes is a problem.
pub async fn handle(request: Request) -> Response<Body> {
    respond(request, |request, _trace| async move {
        let (route, _) = ROUTES.route(&request)?;
        Ok::<_, Problem>(match route {
            ApiRoute::Document => static_response("application/json", DOCUMENT),
            ApiRoute::Page => static_response("text/html; charset=utf-8", DOCS_PAGE),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use lambda_http::http::{self, StatusCode};

    use super::*;

    fn get(path: &str) -> Request {
        http::Request::builder()
            .method("GET")
            .uri(path)
            .body(Body::Empty)
            .unwrap()
    }

    fn text(response: &Response<Body>) -> &str {
        match response.body() {
            Body::Text(text) => text,
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[tokio::test]
    async fn get_openapi_json_serves_the_checked_in_document_as_json() {
        let response = handle(get("/openapi.json")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(text(&response), DOCUMENT);
        let document: Value = serde_json::from_str(text(&response)).unwrap();
        assert_eq!(document["openapi"], "3.1.0");
    }

    #[tokio::test]
    async fn get_docs_serves_a_page_that_loads_the_document_next_to_it() {
        let response = handle(get("/docs")).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        let page = text(&response);
        // Relative: the page works under any base path (the emulator's /_aws/execute-api/<id>).
        assert!(page.contains(r#"spec-url="openapi.json""#), "{page}");
        assert!(page.contains(r#"integrity="sha384-"#), "{page}");
    }

    #[tokio::test]
    async fn another_method_is_a_405_and_another_path_a_404_problem() {
        let mut post = get("/openapi.json");
        *post.method_mut() = Method::POST;
        let response = handle(post).await;
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()[lambda_http::http::header::ALLOW], "GET");
        let response = handle(get("/openapi.yaml")).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(response.headers()[CONTENT_TYPE], shared::http::PROBLEM_JSON);
    }
}
