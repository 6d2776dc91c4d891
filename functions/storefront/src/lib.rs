//! The shop's web page: the files under `web/` (plain HTML, CSS and JavaScript modules, no build
//! step), embedded in the binary at compile time and served by one Lambda behind the same HTTP
//! API as the services, so the page calls the API same-origin (no CORS).
//!
//! Routes (the template's, in [`ROUTES`]): `GET /` is `web/index.html`, `GET /assets/{proxy+}`
//! the files under `web/assets/`; both answer `HEAD` too. Every file is answered with its content type, a strong `ETag` (a hash of its
//! bytes), `Cache-Control: no-cache` and a strict Content-Security-Policy; a request whose
//! `If-None-Match` names the current tag gets `304 Not Modified` without a body.

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use lambda_http::http::{HeaderMap, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use sha2::{Digest as _, Sha256};
use shared::http::{Problem, respond};
use shared::router::{Route, Router};

/// Scripts, styles, images and API calls only from this origin; no inline script or style, no
/// `eval`, no plugins, no framing, no `<base>` rewriting, no form posted anywhere (every form is
/// handled by the page's script). The page is useless to an injected `<script>` or `onerror=`.
pub const CONTENT_SECURITY_POLICY_VALUE: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; \
     frame-ancestors 'none'";

/// The files are not renamed per version (no build step to fingerprint them), so a browser may
/// keep them but must ask before each use: with the `ETag` that question costs a `304` and no
/// body, and a deploy is seen by the next page load, never a mix of old and new modules.
pub const CACHE_CONTROL_VALUE: &str = "no-cache";

macro_rules! embed {
    ($path:literal) => {
        (
            $path,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../web/", $path)),
        )
    };
}

/// Every file under `web/`, by its path there. `include_str!` makes a missing file a compile
/// error and a changed one a rebuild; a test checks this list against the directory.
pub const FILES: &[(&str, &str)] = &[
    embed!("index.html"),
    embed!("assets/app.js"),
    embed!("assets/api.js"),
    embed!("assets/dom.js"),
    embed!("assets/views.js"),
    embed!("assets/admin.js"),
    embed!("assets/style.css"),
    embed!("assets/icon.svg"),
];

/// One embedded file, ready to serve.
#[derive(Debug)]
struct File {
    content_type: &'static str,
    etag: HeaderValue,
    body: &'static str,
}

/// The embedded site, hashed once per cold start.
#[derive(Debug)]
pub struct Storefront {
    files: HashMap<&'static str, File>,
}

impl Default for Storefront {
    fn default() -> Self {
        Self::new()
    }
}

/// The media type of a file under `web/`, by its extension; `None` for one the site may not
/// contain (a test checks every embedded file has one).
#[must_use]
pub fn content_type(path: &str) -> Option<&'static str> {
    let extension = path.rsplit_once('.').map(|(_, ext)| ext)?;
    Some(match extension {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        _ => return None,
    })
}

/// A strong entity tag for `bytes`: 128 bits of their SHA-256, base64url.
#[must_use]
pub fn etag(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!("\"{}\"", URL_SAFE_NO_PAD.encode(&digest[..16]))
}

/// Whether an `If-None-Match` header value matches `etag` (RFC 9110 13.1.2: `*`, or a list of
/// tags compared weakly, so `W/"x"` matches `"x"`).
#[must_use]
pub fn none_match(header: &str, etag: &str) -> bool {
    header.split(',').map(str::trim).any(|candidate| {
        candidate == "*" || candidate.strip_prefix("W/").unwrap_or(candidate) == etag
    })
}

impl Storefront {
    /// Hashes every embedded file. A file without a known content type would not be served;
    /// a test requires every embedded file to have one.
    #[must_use]
    pub fn new() -> Self {
        let files = FILES
            .iter()
            .filter_map(|&(path, body)| {
                let content_type = content_type(path)?;
                // A base64url tag in quotes is always a valid header value.
                let etag = HeaderValue::from_str(&etag(body.as_bytes())).ok()?;
                Some((
                    path,
                    File {
                        content_type,
                        etag,
                        body,
                    },
                ))
            })
            .collect();
        Self { files }
    }

    /// Handles one API Gateway request. Never fails: an unknown path is a 404 problem.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        respond(
            request,
            |request, _trace| async move { self.route(&request) },
        )
        .await
    }

    fn route(&self, request: &Request) -> Result<Response<Body>, Problem> {
        let (route, params) = ROUTES.route(request)?;
        let name = match route {
            Page::Index => "index.html".to_owned(),
            Page::Asset => format!("assets/{}", params.get("proxy").unwrap_or_default()),
        };
        let file = self
            .files
            .get(name.as_str())
            .ok_or_else(|| Problem::not_found("no such file"))?;
        Ok(serve(
            file,
            request.headers(),
            request.method() == Method::HEAD,
        ))
    }
}

/// What the storefront serves for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Page {
    Index,
    Asset,
}

/// The storefront's routes: the template's `RouteKey`s for this function, each answering
/// `HEAD` as well (a browser or a cache may ask for a file's headers alone).
pub static ROUTES: Router<Page> = Router(&[
    Route::new(Method::GET, "/", Page::Index).answering_head(),
    Route::new(Method::GET, "/assets/{proxy+}", Page::Asset).answering_head(),
]);

fn serve(file: &File, request_headers: &HeaderMap, head: bool) -> Response<Body> {
    let not_modified = request_headers
        .get(IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| none_match(value, file.etag.to_str().unwrap_or_default()));
    let (status, body) = if not_modified {
        (StatusCode::NOT_MODIFIED, Body::Empty)
    } else if head {
        (StatusCode::OK, Body::Empty)
    } else {
        (StatusCode::OK, Body::Text(file.body.to_owned()))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(ETAG, file.etag.clone());
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_CONTROL_VALUE));
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY_VALUE),
    );
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    if status == StatusCode::OK {
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(file.content_type));
    }
    response
}
