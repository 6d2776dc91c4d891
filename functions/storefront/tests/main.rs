//! storefront in process: what the Lambda answers for each path, and checks on the files under
//! `web/` that keep the page safe (no inline script, no HTML parsing of strings).

// Helpers are not #[test] functions, so clippy's allow-*-in-tests does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use shared::test_support::{ApiRequest, assert_method_not_allowed, assert_problem, body_text};
use storefront::{CONTENT_SECURITY_POLICY_VALUE, FILES, Storefront, content_type};

fn request(method: &str, path: &str, if_none_match: Option<&str>) -> Request {
    let request = ApiRequest::new(method, path);
    match if_none_match {
        Some(tag) => request.header("if-none-match", tag),
        None => request,
    }
    .build()
}

async fn get(path: &str) -> Response<Body> {
    Storefront::new().handle(request("GET", path, None)).await
}

fn header<'a>(response: &'a Response<Body>, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

fn web_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web")
}

fn files_on_disk(dir: &Path, root: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_on_disk(&path, root, found);
        } else {
            let relative = path.strip_prefix(root).unwrap();
            found.push(relative.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[tokio::test]
async fn the_root_is_the_page_with_its_content_type_etag_cache_and_security_headers() {
    let response = get("/").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "content-type"),
        "text/html; charset=utf-8"
    );
    assert_eq!(header(&response, "cache-control"), "no-cache");
    assert_eq!(
        header(&response, "content-security-policy"),
        CONTENT_SECURITY_POLICY_VALUE
    );
    assert_eq!(header(&response, "x-content-type-options"), "nosniff");
    let etag = header(&response, "etag");
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 10,
        "{etag}"
    );
    assert!(body_text(&response).contains(r#"<script type="module" src="assets/app.js">"#));
}

#[tokio::test]
async fn every_asset_is_served_with_the_content_type_of_its_kind() {
    for (path, expected) in [
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/assets/style.css", "text/css; charset=utf-8"),
        ("/assets/icon.svg", "image/svg+xml"),
    ] {
        let response = get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert_eq!(header(&response, "content-type"), expected, "{path}");
        assert!(!body_text(&response).is_empty(), "{path}");
    }
}

#[tokio::test]
async fn a_request_naming_the_current_etag_is_answered_304_without_a_body() {
    let site = Storefront::new();
    let first = site.handle(request("GET", "/assets/app.js", None)).await;
    let etag = header(&first, "etag").to_owned();
    for candidate in [
        etag.clone(),
        format!("W/{etag}"),
        format!("\"stale\", {etag}"),
        "*".to_owned(),
    ] {
        let again = site
            .handle(request("GET", "/assets/app.js", Some(&candidate)))
            .await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{candidate}");
        assert_eq!(body_text(&again), "", "{candidate}");
        assert_eq!(header(&again, "etag"), etag);
        assert_eq!(header(&again, "cache-control"), "no-cache");
    }
}

#[tokio::test]
async fn a_stale_etag_gets_the_whole_file_again() {
    let response = Storefront::new()
        .handle(request("GET", "/", Some("\"an-older-version\"")))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(body_text(&response).starts_with("<!doctype html>"));
}

#[tokio::test]
async fn each_file_has_its_own_etag_and_the_same_one_on_every_cold_start() {
    let (a, b) = (Storefront::new(), Storefront::new());
    let tag = |response: Response<Body>| header(&response, "etag").to_owned();
    let page = tag(a.handle(request("GET", "/", None)).await);
    let script = tag(a.handle(request("GET", "/assets/app.js", None)).await);
    assert_ne!(page, script);
    assert_eq!(page, tag(b.handle(request("GET", "/", None)).await));
}

#[tokio::test]
async fn unknown_files_and_paths_outside_the_site_are_404_problems() {
    for path in [
        "/assets/missing.js",
        "/assets/../Cargo.toml",
        "/assets/",
        "/web/index.html",
        "/products",
        "/openapi.json",
    ] {
        let response = get(path).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        assert_problem(&response, 404);
    }
}

#[tokio::test]
async fn a_head_request_has_the_headers_and_no_body_and_other_methods_are_405() {
    let site = Storefront::new();
    let head = site.handle(request("HEAD", "/", None)).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(body_text(&head), "");
    assert_eq!(header(&head, "content-type"), "text/html; charset=utf-8");
    let post = site.handle(request("POST", "/", None)).await;
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_method_not_allowed(&post, "GET, HEAD");
    let delete = site.handle(request("DELETE", "/assets/app.js", None)).await;
    assert_method_not_allowed(&delete, "GET, HEAD");
    let head = site.handle(request("HEAD", "/assets/app.js", None)).await;
    assert_eq!(
        (head.status(), body_text(&head)),
        (StatusCode::OK, String::new())
    );
}

#[test]
fn every_file_under_web_is_embedded_and_has_a_content_type() {
    let mut on_disk = Vec::new();
    files_on_disk(&web_dir(), &web_dir(), &mut on_disk);
    on_disk.sort();
    let mut embedded: Vec<String> = FILES.iter().map(|(path, _)| (*path).to_owned()).collect();
    embedded.sort();
    assert_eq!(
        embedded, on_disk,
        "storefront::FILES must list exactly the files under web/"
    );
    for (path, _) in FILES {
        assert!(content_type(path).is_some(), "{path} has no content type");
    }
}

#[test]
fn the_page_has_no_inline_script_style_or_event_handler_attribute() {
    let (_, page) = FILES
        .iter()
        .find(|(path, _)| *path == "index.html")
        .unwrap();
    let lower = page.to_ascii_lowercase();
    for (at, _) in lower.match_indices("<script") {
        let tag = &lower[at..at + lower[at..].find('>').unwrap()];
        assert!(
            tag.contains(" src="),
            "inline script (blocked by the CSP): {tag}"
        );
        assert!(
            lower[at..].starts_with(&format!("{tag}></script>")),
            "{tag}"
        );
    }
    assert!(!lower.contains("<style"), "inline style block");
    assert!(!lower.contains(" style="), "inline style attribute");
    let handler = lower
        .split(|c: char| c.is_whitespace())
        .find(|word| word.starts_with("on") && word.contains('='));
    assert_eq!(handler, None, "inline event handler attribute");
    assert!(!lower.contains("javascript:"));
}

#[test]
fn no_script_turns_a_string_into_html_or_code() {
    // Every piece of user text reaches the page as text: these are the ways it would not.
    let sinks = [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "createContextualFragment",
        "DOMParser",
    ];
    for (path, source) in FILES.iter().filter(|(path, _)| path.ends_with(".js")) {
        for sink in sinks {
            assert!(!source.contains(sink), "{path} uses {sink}");
        }
    }
}
