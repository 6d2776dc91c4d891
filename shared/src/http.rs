//! HTTP glue shared by every API function: RFC 9457 problem responses, JSON bodies that can
//! only fail as 4xx problems, JSON responses, and the request's ids.

use std::time::Duration;

use lambda_http::http::header::{ALLOW, CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use lambda_http::http::{HeaderMap, Method, StatusCode};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::error::Category;

/// Request bodies above this size are refused with 413 before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The media type of problem responses.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// One invalid field of a request, reported in a problem's `errors`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct FieldError {
    /// Path of the field in the body, e.g. `lines[0].quantity`, or the parameter name.
    pub field: String,
    /// What is wrong with it, for a person.
    pub message: String,
}

impl FieldError {
    /// A field error.
    #[must_use]
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// An RFC 9457 problem (`application/problem+json`): the body of every error response.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "json-schema",
    derive(schemars::JsonSchema),
    schemars(rename = "Problem")
)]
pub struct ProblemDetails {
    /// A URI naming the kind of problem: `urn:problem-type:malformed-request` (400: the request
    /// cannot be read), `urn:problem-type:validation-failed` (422, with `errors`), or
    /// `about:blank` when the status says it all.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// A short, stable summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// This occurrence, for a person. Never internal details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// The request id, on server errors, to find the logs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Per-field validation errors.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub errors: Vec<FieldError>,
    /// Whole seconds for the `Retry-After` header: HTTP semantics, not a member of the body.
    #[serde(skip)]
    pub retry_after: Option<u64>,
    /// The `Allow` header of a 405, e.g. `GET, PATCH`: also a header, not a member.
    #[serde(skip)]
    pub allow: Option<String>,
}

/// Collects the errors of a request's fields as each is parsed, so one 422 lists them all.
#[derive(Debug, Default)]
pub struct Validation(Vec<FieldError>);

impl Validation {
    /// The parsed value, or `None` after recording `field`'s error.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &str,
        result: Result<T, E>,
    ) -> Option<T> {
        result
            .map_err(|err| self.0.push(FieldError::new(field, err.to_string())))
            .ok()
    }

    /// `Ok` when no field failed.
    ///
    /// # Errors
    /// A 422 problem listing every failed field.
    pub fn finish(self) -> Result<(), Problem> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Problem::validation(self.0))
        }
    }
}

/// An RFC 9457 problem: the body of every error response. Boxed, so `Result<T, Problem>` stays
/// one pointer wide on the happy path.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Problem(Box<ProblemDetails>);

impl std::ops::Deref for Problem {
    type Target = ProblemDetails;
    fn deref(&self) -> &ProblemDetails {
        &self.0
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.title)?;
        if let Some(detail) = &self.detail {
            write!(f, ": {detail}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problem {}

impl Problem {
    fn new(status: StatusCode, problem_type: &str, title: &str) -> Self {
        Self(Box::new(ProblemDetails {
            problem_type: problem_type.to_owned(),
            title: title.to_owned(),
            status: status.as_u16(),
            detail: None,
            instance: None,
            errors: Vec::new(),
            retry_after: None,
            allow: None,
        }))
    }

    fn plain(status: StatusCode) -> Self {
        Self::new(
            status,
            "about:blank",
            status.canonical_reason().unwrap_or("Error"),
        )
    }

    /// Adds a human-readable detail.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.0.detail = Some(detail.into());
        self
    }

    /// 400: the request cannot be read at all (malformed JSON, bad query parameter).
    #[must_use]
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "urn:problem-type:malformed-request",
            "Malformed request",
        )
        .with_detail(detail)
    }

    /// 422: the request is well-formed but some fields are invalid.
    #[must_use]
    pub fn validation(errors: Vec<FieldError>) -> Self {
        let mut problem = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "urn:problem-type:validation-failed",
            "Validation failed",
        )
        .with_detail("one or more fields are invalid");
        problem.0.errors = errors;
        problem
    }

    /// 422 for a single invalid field.
    #[must_use]
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError::new(field, message)])
    }

    /// 401: no valid credentials.
    #[must_use]
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::plain(StatusCode::UNAUTHORIZED).with_detail(detail)
    }

    /// 403: authenticated but not allowed.
    #[must_use]
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::plain(StatusCode::FORBIDDEN).with_detail(detail)
    }

    /// 404: also what a caller gets for another user's resource.
    #[must_use]
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::plain(StatusCode::NOT_FOUND).with_detail(detail)
    }

    /// 405 with `Allow` listing the methods the path has (what [`crate::router`] answers).
    #[must_use]
    pub fn method_not_allowed(allowed: &[&Method]) -> Self {
        let allow = allowed
            .iter()
            .map(|method| method.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        let mut problem =
            Self::plain(StatusCode::METHOD_NOT_ALLOWED).with_detail(format!("allowed: {allow}"));
        problem.0.allow = Some(allow);
        problem
    }

    /// 409: the state of the resource forbids it (duplicate, wrong state).
    #[must_use]
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::plain(StatusCode::CONFLICT).with_detail(detail)
    }

    /// 412: an `If-Match` precondition did not hold.
    #[must_use]
    pub fn precondition_failed(detail: impl Into<String>) -> Self {
        Self::plain(StatusCode::PRECONDITION_FAILED).with_detail(detail)
    }

    /// 428: the request must be conditional (`If-Match`).
    #[must_use]
    pub fn precondition_required(detail: impl Into<String>) -> Self {
        Self::plain(StatusCode::PRECONDITION_REQUIRED).with_detail(detail)
    }

    /// 429: the caller must wait before trying again (send `Retry-After` with it).
    #[must_use]
    pub fn too_many_requests(detail: impl Into<String>) -> Self {
        Self::plain(StatusCode::TOO_MANY_REQUESTS).with_detail(detail)
    }

    /// 413.
    #[must_use]
    pub fn payload_too_large(limit: usize) -> Self {
        Self::plain(StatusCode::PAYLOAD_TOO_LARGE)
            .with_detail(format!("request body exceeds {limit} bytes"))
    }

    /// 415.
    #[must_use]
    pub fn unsupported_media_type() -> Self {
        Self::plain(StatusCode::UNSUPPORTED_MEDIA_TYPE)
            .with_detail("request body must be application/json")
    }

    /// Asks the client to wait `wait` before retrying (`Retry-After`, in whole seconds rounded
    /// up, at least 1: a zero would invite every client back at once).
    #[must_use]
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        let whole = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
        self.0.retry_after = Some(whole.max(1));
        self
    }

    /// 503 with `Retry-After`: the request was fine and may succeed later (a throttled table, a
    /// dependency that did not answer, contention that outlasted the retries). Never a business
    /// answer, so clients may retry it unchanged.
    #[must_use]
    pub fn service_unavailable(detail: impl Into<String>, retry_after: Duration) -> Self {
        Self::plain(StatusCode::SERVICE_UNAVAILABLE)
            .with_detail(detail)
            .with_retry_after(retry_after)
    }

    /// 500 with an opaque body: only the request id, so the logs can be found. Log the cause
    /// yourself, once, before returning this.
    #[must_use]
    pub fn internal(request_id: &str) -> Self {
        let mut problem = Self::plain(StatusCode::INTERNAL_SERVER_ERROR)
            .with_detail("an unexpected error occurred; quote the instance when reporting it");
        problem.0.instance = Some(format!("urn:request:{request_id}"));
        problem
    }

    /// The HTTP status.
    #[must_use]
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The `application/problem+json` response.
    #[must_use]
    pub fn into_response(self) -> Response<Body> {
        let status = self.status_code();
        let mut response = json_response(status, &self);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        // Method names are tokens, so the list is always a valid header value.
        if let Some(allow) = self.allow.as_deref()
            && let Ok(value) = HeaderValue::from_str(allow)
        {
            response.headers_mut().insert(ALLOW, value);
        }
        response
    }
}

/// The one mapping from a function's errors to problem responses.
pub trait IntoProblem {
    /// The problem to answer with. A 5xx logs its cause here, once (see [`unexpected`]).
    fn into_problem(self, request_id: &str) -> Problem;
}

impl IntoProblem for Problem {
    fn into_problem(self, _request_id: &str) -> Problem {
        self
    }
}

/// How long a client should wait after an AWS service this API depends on was unavailable.
pub const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Logs an unexpected error once, with its whole chain, and returns the problem for it: a 503
/// with `Retry-After` when an AWS call failed for a reason that passes (throttled, a 5xx, a
/// timeout, a lost connection, after the SDK's retries: [`crate::retry::is_transient_aws_error`]),
/// otherwise the opaque 500 that names only the request id.
#[must_use]
pub fn unexpected(err: &anyhow::Error, request_id: &str) -> Problem {
    #[cfg(any(feature = "dynamodb", feature = "secrets", feature = "sqs-requeue"))]
    if crate::retry::is_transient_aws_error(err) {
        tracing::warn!(
            error = format!("{err:#}"),
            "request failed on an unavailable AWS service; answering 503"
        );
        return Problem::service_unavailable(
            "a service this request needs is unavailable; retry shortly",
            UNAVAILABLE_RETRY_AFTER,
        );
    }
    tracing::error!(error = format!("{err:#}"), "request failed");
    Problem::internal(request_id)
}

/// Runs an HTTP function: every request from API Gateway goes to `handler`, whose answer is
/// the response (a handler never fails: every error is already a problem+json response). What
/// every HTTP function's `main` ends with, once its dependencies are built.
///
/// # Errors
/// The Lambda runtime's own (its API unreachable); never a request's.
pub async fn serve<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(Request) -> Fut,
    Fut: std::future::Future<Output = Response<Body>> + Send,
{
    lambda_http::run(lambda_http::service_fn(|request: Request| {
        let response = handler(request);
        async move { Ok::<_, std::convert::Infallible>(response.await) }
    }))
    .await
}

/// Answers one API Gateway request: runs `route` in a span carrying the correlation id, with the
/// request's [`Trace`](crate::envelope::Trace), and turns its error into a problem response.
/// Every API function's `handle` is this; nothing it does can fail the invocation.
pub async fn respond<F, Fut, E>(request: Request, route: F) -> Response<Body>
where
    F: FnOnce(Request, crate::envelope::Trace) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Body>, E>>,
    E: IntoProblem,
{
    use tracing::Instrument as _;
    let request_id = request_id(&request);
    let trace = crate::envelope::Trace::from_request(&correlation_id(&request), &request_id);
    let xray_trace_id = crate::telemetry::invocation_trace_id();
    let span =
        crate::telemetry::correlation_span_traced(&trace.correlation_id, xray_trace_id.as_deref());
    let correlation_id = trace.correlation_id.clone();
    let answered = async move {
        match route(request, trace).await {
            Ok(response) => response,
            Err(err) => err.into_problem(&request_id).into_response(),
        }
    }
    .instrument(span);
    crate::telemetry::correlated(&correlation_id, xray_trace_id, answered).await
}

/// A JSON response with `status`.
#[must_use]
pub fn json_response<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    // Serialising our own response types cannot fail (no maps with non-string keys).
    let (status, text) = match serde_json::to_string(body) {
        Ok(text) => (status, text),
        Err(err) => {
            tracing::error!(error = %err, "response body failed to serialise");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                r#"{"type":"about:blank","title":"Internal Server Error","status":500}"#.to_owned(),
            )
        }
    };
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn is_json_media_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        // API clients often omit it; the body must still parse as JSON.
        return true;
    };
    let Ok(value) = value.to_str() else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Parses the request body as JSON into `T`.
///
/// Every failure is a 4xx [`Problem`], never a panic: a missing or malformed body is 400, a body
/// that is not JSON media type is 415, an oversized one 413, and JSON of the wrong shape (missing
/// field, wrong type, unknown variant) is 422 naming the field.
///
/// # Errors
/// The problem to return to the caller.
pub fn parse_json<T: DeserializeOwned>(request: &Request) -> Result<T, Problem> {
    if !is_json_media_type(request.headers()) {
        return Err(Problem::unsupported_media_type());
    }
    let bytes: &[u8] = match request.body() {
        Body::Empty => &[],
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        // `Body` is non-exhaustive; anything new is not a body we understand.
        _ => return Err(Problem::bad_request("request body is unreadable")),
    };
    parse_json_bytes(bytes)
}

/// [`parse_json`] on raw bytes.
///
/// # Errors
/// See [`parse_json`].
pub fn parse_json_bytes<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(Problem::payload_too_large(MAX_BODY_BYTES));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Problem::bad_request("a JSON request body is required"));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    // Bodies are JSON objects: StrictStructs refuses an array offered as a struct, which
    // serde would otherwise read field by field (Schemathesis sent `[null, null]` as a patch).
    let strict = crate::strict_json::StrictStructs(&mut deserializer);
    let value: T = serde_path_to_error::deserialize(strict).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            Category::Data => {
                let field = if path == "." { "body".to_owned() } else { path };
                Problem::invalid_field(field, data_error_message(&inner))
            }
            Category::Syntax | Category::Eof | Category::Io => malformed(&inner),
        }
    })?;
    deserializer.end().map_err(|err| malformed(&err))?;
    Ok(value)
}

fn malformed(err: &serde_json::Error) -> Problem {
    Problem::bad_request(format!(
        "request body is not valid JSON (line {}, column {})",
        err.line(),
        err.column()
    ))
}

/// serde's message without its " at line L column C" suffix, which means nothing to a client
/// given the field path.
fn data_error_message(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(index) => text[..index].to_owned(),
        None => text,
    }
}

/// The API Gateway request id, else the Lambda request id, else `"unknown"`.
#[must_use]
pub fn request_id(request: &Request) -> String {
    if let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref()
        && let Some(id) = &context.request_id
    {
        return id.clone();
    }
    request
        .lambda_context_ref()
        .map(|context| context.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The correlation id of the flow this request starts: the caller's `X-Correlation-Id` when it
/// is a sane token (so a client can follow its order through the saga), else the request id.
#[must_use]
pub fn correlation_id(request: &Request) -> String {
    request
        .headers()
        .get("x-correlation-id")
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            (1..=128).contains(&value.len())
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| request_id(request), str::to_owned)
}

/// The value of query parameter `name`, if present.
#[must_use]
pub fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters_ref()
        .and_then(|params| params.first(name).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use lambda_http::http;
    use serde_json::{Value, json};

    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Line {
        product_id: String,
        quantity: u32,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct PlaceOrder {
        lines: Vec<Line>,
    }

    fn request(body: &str, content_type: Option<&str>) -> Request {
        let mut builder = http::Request::builder().method("POST").uri("/orders");
        if let Some(content_type) = content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        builder.body(Body::Text(body.to_owned())).unwrap()
    }

    fn body_json(response: &Response<Body>) -> Value {
        match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn a_valid_body_parses() {
        let order: PlaceOrder = parse_json(&request(
            r#"{"lines":[{"product_id":"p1","quantity":2}]}"#,
            Some("application/json; charset=utf-8"),
        ))
        .unwrap();
        assert_eq!(order.lines[0].quantity, 2);
    }

    #[test]
    fn an_empty_body_is_a_400() {
        let problem =
            parse_json::<PlaceOrder>(&request("  ", Some("application/json"))).unwrap_err();
        assert_eq!(problem.status, 400);
    }

    #[test]
    fn malformed_json_is_a_400_with_its_position() {
        let problem = parse_json::<PlaceOrder>(&request(r#"{"lines": ["#, None)).unwrap_err();
        assert_eq!(problem.status, 400);
        assert!(problem.detail.as_deref().unwrap().contains("line 1"));
    }

    #[test]
    fn trailing_garbage_after_the_json_is_a_400() {
        let problem = parse_json::<PlaceOrder>(&request(r#"{"lines": []} x"#, None)).unwrap_err();
        assert_eq!(problem.status, 400);
    }

    #[test]
    fn a_wrong_type_deep_in_the_body_is_a_422_naming_the_field() {
        let problem = parse_json::<PlaceOrder>(&request(
            r#"{"lines":[{"product_id":"p1","quantity":-1}]}"#,
            None,
        ))
        .unwrap_err();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "lines[0].quantity");
        assert!(
            !problem.errors[0].message.contains("line 1"),
            "{:?}",
            problem.errors
        );
    }

    #[test]
    fn a_missing_field_is_a_422() {
        let problem = parse_json::<PlaceOrder>(&request("{}", None)).unwrap_err();
        assert_eq!(problem.status, 422);
        assert!(
            problem.errors[0].message.contains("lines"),
            "{:?}",
            problem.errors
        );
    }

    #[test]
    fn an_unknown_field_is_a_422_when_the_type_denies_them() {
        let problem = parse_json::<PlaceOrder>(&request(
            r#"{"lines":[{"product_id":"p1","quantity":1,"price":1}]}"#,
            None,
        ))
        .unwrap_err();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "lines[0].price");
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Patch {
        name: Option<String>,
        email: Option<String>,
        price: Option<Price>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Price {
        amount_minor: i64,
        currency: String,
    }

    #[test]
    fn an_array_in_place_of_the_body_object_is_a_422_not_a_patch_of_nothing() {
        // Found by Schemathesis: PATCH /users/me with `[null, null]` answered 200.
        let problem = parse_json::<Patch>(&request("[null, null]", None)).unwrap_err();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "body");
        assert!(
            problem.errors[0].message.contains("expected a JSON object"),
            "{:?}",
            problem.errors
        );
        let problem = parse_json::<PlaceOrder>(&request(r#"[[]]"#, None)).unwrap_err();
        assert_eq!(problem.status, 422);
    }

    #[test]
    fn an_array_in_place_of_a_nested_object_is_a_422_naming_it() {
        let problem =
            parse_json::<Patch>(&request(r#"{"price": [1299, "EUR"]}"#, None)).unwrap_err();
        assert_eq!(problem.status, 422);
        assert_eq!(problem.errors[0].field, "price");
        let problem = parse_json::<PlaceOrder>(&request(
            r#"{"lines": [["3f0b9a2e-1c4d-4e5f-8a6b-7c8d9e0f1a2b", 1]]}"#,
            None,
        ))
        .unwrap_err();
        assert_eq!(problem.errors[0].field, "lines[0]");
    }

    #[test]
    fn objects_arrays_and_options_inside_a_body_still_parse() {
        let patch: Patch = parse_json(&request(
            r#"{"name": "Ada", "price": {"amount_minor": 1299, "currency": "EUR"}}"#,
            None,
        ))
        .unwrap();
        assert_eq!(patch.price.unwrap().amount_minor, 1299);
        assert!(patch.email.is_none());
        let order: PlaceOrder = parse_json(&request(
            r#"{"lines": [{"product_id": "p1", "quantity": 1}, {"product_id": "p2", "quantity": 2}]}"#,
            None,
        ))
        .unwrap();
        assert_eq!(order.lines.len(), 2);
    }

    #[test]
    fn a_non_json_media_type_is_a_415() {
        let problem = parse_json::<PlaceOrder>(&request(
            "lines=1",
            Some("application/x-www-form-urlencoded"),
        ))
        .unwrap_err();
        assert_eq!(problem.status, 415);
    }

    #[test]
    fn an_oversized_body_is_a_413() {
        let big = format!(r#"{{"lines":[],"pad":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
        assert_eq!(
            parse_json::<PlaceOrder>(&request(&big, None))
                .unwrap_err()
                .status,
            413
        );
    }

    #[test]
    fn a_problem_response_is_problem_json_with_its_status() {
        let response = Problem::invalid_field("email", "is not an email address").into_response();
        assert_eq!(response.status(), 422);
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(
            body_json(&response),
            json!({
                "type": "urn:problem-type:validation-failed",
                "title": "Validation failed",
                "status": 422,
                "detail": "one or more fields are invalid",
                "errors": [{"field": "email", "message": "is not an email address"}]
            })
        );
    }

    #[test]
    fn validation_reports_every_failed_field_in_order() {
        let mut validation = Validation::default();
        assert_eq!(validation.check("a", Ok::<_, String>(1)), Some(1));
        assert_eq!(validation.check("b", Err::<u8, _>("bad b")), None);
        assert_eq!(validation.check("c", Err::<u8, _>("bad c")), None);
        let problem = validation.finish().unwrap_err();
        assert_eq!(
            problem.errors,
            [FieldError::new("b", "bad b"), FieldError::new("c", "bad c")]
        );
        assert!(Validation::default().finish().is_ok());
    }

    #[test]
    fn a_503_is_problem_json_with_retry_after_in_whole_seconds_rounded_up() {
        let response =
            Problem::service_unavailable("try again", std::time::Duration::from_millis(1500))
                .into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(response.headers()[RETRY_AFTER], "2");
        let body = body_json(&response);
        assert_eq!(
            body,
            json!({"type": "about:blank", "title": "Service Unavailable", "status": 503, "detail": "try again"}),
            "the wait is a header, not a member"
        );
        // Never "0": that would invite an immediate retry storm.
        let soon = Problem::service_unavailable("x", std::time::Duration::ZERO).into_response();
        assert_eq!(soon.headers()[RETRY_AFTER], "1");
    }

    #[cfg(feature = "dynamodb")]
    #[test]
    fn an_aws_call_that_timed_out_is_a_503_with_retry_after_and_a_bug_is_a_500() {
        use aws_sdk_dynamodb::config::http::HttpResponse;
        use aws_sdk_dynamodb::error::SdkError;
        use aws_sdk_dynamodb::operation::get_item::GetItemError;
        let timed_out: SdkError<GetItemError, HttpResponse> =
            SdkError::timeout_error("attempt timed out");
        let err = anyhow::Error::new(timed_out).context("reading the order");
        let response = unexpected(&err, "req-1").into_response();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[RETRY_AFTER], "1");
        let bug = unexpected(&anyhow::anyhow!("stored order is unreadable"), "req-2");
        assert_eq!(bug.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
    }

    #[test]
    fn a_401_asks_for_a_bearer_token() {
        let response = Problem::unauthorized("missing token").into_response();
        assert_eq!(response.headers()[WWW_AUTHENTICATE], "Bearer");
    }

    #[test]
    fn a_500_body_is_opaque_and_carries_the_request_id() {
        let body = body_json(&Problem::internal("abc-123").into_response());
        assert_eq!(body["status"], 500);
        assert_eq!(body["instance"], "urn:request:abc-123");
        assert_eq!(body.as_object().unwrap().len(), 5, "{body}");
    }

    #[test]
    fn the_correlation_id_header_is_used_only_when_it_is_a_sane_token() {
        let mut req = request("{}", None);
        req.headers_mut()
            .insert("x-correlation-id", HeaderValue::from_static("order-flow-1"));
        assert_eq!(correlation_id(&req), "order-flow-1");
        req.headers_mut().insert(
            "x-correlation-id",
            HeaderValue::from_static("has spaces\tand tabs"),
        );
        assert_eq!(correlation_id(&req), "unknown");
    }

    #[test]
    fn an_api_gateway_event_yields_its_request_id_and_query_parameters() {
        let event = json!({
            "version": "2.0",
            "routeKey": "GET /products",
            "rawPath": "/products",
            "rawQueryString": "limit=5",
            "queryStringParameters": {"limit": "5"},
            "headers": {"accept": "application/json"},
            "requestContext": {
                "accountId": "000000000000", "apiId": "api", "domainName": "localhost",
                "domainPrefix": "api", "http": {"method": "GET", "path": "/products",
                "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
                "requestId": "apigw-req-1", "routeKey": "GET /products", "stage": "$default",
                "time": "26/Nov/2026:13:00:00 +0000", "timeEpoch": 1795000000000i64
            },
            "isBase64Encoded": false
        });
        let req = lambda_http::request::from_str(&event.to_string()).unwrap();
        assert_eq!(request_id(&req), "apigw-req-1");
        assert_eq!(query_param(&req, "limit").as_deref(), Some("5"));
        assert_eq!(query_param(&req, "category"), None);
    }
}
