//! A fault-injecting HTTP proxy for the local stack: the functions' AWS calls go through it to
//! the emulator, and it can answer a seeded share of them, per service and operation, the way
//! AWS misbehaves: the service's own throttling error, a 500 or 503 in the service's protocol, a
//! delay, or a connection dropped before or after the call reached the emulator. What AWS's Fault
//! Injection Service does for Lambda, on one machine.
//!
//! The plan is switched at run time through the control endpoint on the proxy's own port:
//! `PUT /_faults` (a [`Plan`] as JSON; resets the counts), `DELETE /_faults` (faults off, counts
//! kept), `GET /_faults` (the plan and a [`Stats`] of every call since the last `PUT`). With no
//! plan the proxy forwards every call unchanged.
//!
//! Which call is which comes from the request itself: the service from the SigV4 credential
//! scope (`Credential=<key>/<date>/<region>/<service>/aws4_request`), the operation from
//! `X-Amz-Target` (JSON protocols: DynamoDB, SQS, Secrets Manager), the `Action` form field
//! (query protocol: SNS) or the method and path (REST: SES v2).
//!
//! Seeded and reproducible: the n-th call of an operation draws the same number for the same
//! seed, whatever the other operations do in between, so a run's faults can be replayed.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde::{Deserialize, Serialize};

/// The path of the control endpoint.
pub const CONTROL_PATH: &str = "/_faults";

/// Which calls fail, and how. Rules are tried in order for each call; the call's draw `u` in
/// `[0, 1)` picks the first rule whose running sum of `share` (over the rules matching the call)
/// exceeds it, so rules `{throttle 0.04}, {status 500 0.03}` fail 7 % of calls, 4 % throttled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Seeds every draw: the same seed and the same sequence of calls give the same faults.
    pub seed: u64,
    pub rules: Vec<Rule>,
}

/// One kind of fault for a share of the calls it matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// `dynamodb`, `sqs`, `sns`, `ses`, `secretsmanager` (the SigV4 signing name), or `*`.
    #[serde(default = "any")]
    pub service: String,
    /// The operation (`PutItem`, `Publish`, `SendEmail`, ...), or `*`.
    #[serde(default = "any")]
    pub operation: String,
    /// Share of the matching calls, 0 to 1.
    pub share: f64,
    pub fault: Fault,
    /// At most this many faults from this rule (then it matches nothing): "lose the answer of
    /// the first `UpdateItem`" is `share: 1, limit: 1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

fn any() -> String {
    String::from("*")
}

/// What a faulted call gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// The service's own throttling error (DynamoDB `ProvisionedThroughputExceededException`,
    /// SQS and SNS `Throttling`, SES `TooManyRequestsException`, ...); never forwarded.
    Throttle,
    /// A 5xx (500 or 503 in practice) in the service's error format; never forwarded.
    Status { code: u16 },
    /// Forwarded after `millis`.
    Delay { millis: u64 },
    /// The connection closes without an answer; the call never reaches the emulator.
    Drop,
    /// The call reaches the emulator (and takes effect), then the connection closes without the
    /// answer: the case where a client must retry a write it cannot know was applied.
    DropAfterForward,
}

impl Fault {
    fn label(self) -> String {
        match self {
            Self::Throttle => String::from("throttle"),
            Self::Status { code } => format!("status_{code}"),
            Self::Delay { .. } => String::from("delay"),
            Self::Drop => String::from("drop"),
            Self::DropAfterForward => String::from("drop_after_forward"),
        }
    }
}

impl Plan {
    /// Rejects shares outside `[0, 1]`, statuses outside 5xx and delays over a minute.
    ///
    /// # Errors
    /// A sentence naming the rule that is wrong.
    pub fn validate(&self) -> Result<(), String> {
        for (n, rule) in self.rules.iter().enumerate() {
            if !(0.0..=1.0).contains(&rule.share) {
                return Err(format!("rule {n}: share must be between 0 and 1"));
            }
            match rule.fault {
                Fault::Status { code } if !(500..=599).contains(&code) => {
                    return Err(format!("rule {n}: status must be a 5xx"));
                }
                Fault::Delay { millis } if millis > 60_000 => {
                    return Err(format!("rule {n}: delay must be at most 60000 ms"));
                }
                _ => {}
            }
        }
        Ok(())
    }
}

/// An AWS call as the proxy sees it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Call {
    pub service: String,
    pub operation: String,
}

impl Call {
    /// Names the call from its SigV4 scope and protocol (see the module documentation).
    #[must_use]
    pub fn classify(method: &Method, path: &str, headers: &HeaderMap, body: &[u8]) -> Self {
        let service = headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|auth| auth.split("Credential=").nth(1))
            .and_then(|credential| credential.split(['/', ',']).nth(3))
            .unwrap_or("unknown")
            .to_owned();
        let operation = if let Some(target) = headers
            .get("x-amz-target")
            .and_then(|value| value.to_str().ok())
        {
            target.rsplit('.').next().unwrap_or(target).to_owned()
        } else if let Some(action) = form_field(body, "Action") {
            action
        } else if service == "ses" && *method == Method::POST && path == "/v2/email/outbound-emails"
        {
            String::from("SendEmail")
        } else {
            format!("{method} {path}")
        };
        Self { service, operation }
    }

    fn key(&self) -> String {
        format!("{}.{}", self.service, self.operation)
    }
}

/// The value of `name` in an `application/x-www-form-urlencoded` body (AWS query protocol).
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

/// Counts per operation (`service.Operation`) since the plan was last set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub calls: u64,
    pub faulted: u64,
    pub by_operation: BTreeMap<String, OperationStats>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationStats {
    pub calls: u64,
    /// Faults by kind: `throttle`, `status_500`, `status_503`, `delay`, `drop`, `drop_after_forward`.
    pub faults: BTreeMap<String, u64>,
}

/// What `GET /_faults` answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub plan: Option<Plan>,
    pub stats: Stats,
}

/// The plan in force and the draws made under it.
#[derive(Debug, Default)]
pub struct Injector {
    plan: Option<Plan>,
    drawn: HashMap<Call, u64>,
    /// Faults injected so far, by rule index (for `limit`).
    applied: HashMap<usize, u64>,
    stats: Stats,
}

impl Injector {
    /// Puts `plan` in force and starts counting afresh.
    pub fn set(&mut self, plan: Plan) {
        *self = Self {
            plan: Some(plan),
            ..Self::default()
        };
    }

    /// No more faults; the counts stay readable.
    pub fn clear(&mut self) {
        self.plan = None;
    }

    #[must_use]
    pub fn report(&self) -> Report {
        Report {
            plan: self.plan.clone(),
            stats: self.stats.clone(),
        }
    }

    /// The fault for this call, if any; counts the call.
    pub fn decide(&mut self, call: &Call) -> Option<Fault> {
        let fault = self.plan.as_ref().and_then(|plan| {
            let n = self.drawn.entry(call.clone()).or_default();
            let draw = unit(plan.seed, call, *n);
            *n += 1;
            let mut sum = 0.0;
            let applied = &mut self.applied;
            let (index, rule) = plan
                .rules
                .iter()
                .enumerate()
                .filter(|(index, rule)| {
                    (rule.service == "*" || rule.service == call.service)
                        && (rule.operation == "*" || rule.operation == call.operation)
                        && rule
                            .limit
                            .is_none_or(|limit| applied.get(index).copied().unwrap_or(0) < limit)
                })
                .find(|(_, rule)| {
                    sum += rule.share;
                    draw < sum
                })?;
            *applied.entry(index).or_default() += 1;
            Some(rule.fault)
        });
        self.stats.calls += 1;
        let entry = self.stats.by_operation.entry(call.key()).or_default();
        entry.calls += 1;
        if let Some(fault) = fault {
            self.stats.faulted += 1;
            *entry.faults.entry(fault.label()).or_default() += 1;
        }
        fault
    }
}

/// A number in `[0, 1)` from the seed, the call's name and its ordinal: FNV-1a over the name,
/// then SplitMix64 to spread the bits.
fn unit(seed: u64, call: &Call, n: u64) -> f64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in call
        .service
        .bytes()
        .chain([0])
        .chain(call.operation.bytes())
    {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = seed ^ hash ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // The top 53 bits, exactly representable in an f64.
    #[allow(clippy::cast_precision_loss)]
    let value = (z >> 11) as f64 / (1u64 << 53) as f64;
    value
}

type Body = BoxBody<Bytes, hyper::Error>;

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never: Infallible| match never {})
        .boxed()
}

/// The error a service answers for `fault` (a throttle or a 5xx), in its own protocol: what
/// the SDK parses to decide whether, and how soon, to retry.
#[must_use]
pub fn error_response(service: &str, fault: Fault, request_id: &str) -> Response<Bytes> {
    let (status, code, message) = match fault {
        Fault::Status { code: 503 } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "ServiceUnavailable",
            "Service is unable to handle request.",
        ),
        Fault::Status { code } => (
            StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "InternalFailure",
            "The request processing has failed because of an unknown error.",
        ),
        _ => (StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded"),
    };
    let throttled = status == StatusCode::BAD_REQUEST;
    let json = |type_name: &str| serde_json::json!({"__type": type_name, "message": message});
    let (status, content_type, headers, body): (StatusCode, &str, Vec<(&str, String)>, String) =
        match service {
            "dynamodb" => {
                let code = match (throttled, status) {
                    (true, _) => "ProvisionedThroughputExceededException",
                    (false, StatusCode::SERVICE_UNAVAILABLE) => "ServiceUnavailable",
                    (false, _) => "InternalServerError",
                };
                let message = if throttled {
                    "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."
                } else {
                    message
                };
                (
                    status,
                    "application/x-amz-json-1.0",
                    vec![],
                    serde_json::json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": message}).to_string(),
                )
            }
            // JSON protocol, compatible with the query protocol's error codes through
            // `x-amzn-query-error` (what aws-sdk-sqs reads first).
            "sqs" => {
                let (type_name, query_code, fault_side) = match (throttled, status) {
                    (true, _) => ("ThrottlingException", "Throttling", "Sender"),
                    (false, StatusCode::SERVICE_UNAVAILABLE) => {
                        ("ServiceUnavailable", "ServiceUnavailable", "Receiver")
                    }
                    (false, _) => ("InternalError", "InternalError", "Receiver"),
                };
                (
                    status,
                    "application/x-amz-json-1.0",
                    vec![("x-amzn-query-error", format!("{query_code};{fault_side}"))],
                    json(&format!("com.amazonaws.sqs#{type_name}")).to_string(),
                )
            }
            // Query protocol: an XML ErrorResponse.
            "sns" => {
                let (code, fault_side) = match (throttled, status) {
                    (true, _) => ("Throttling", "Sender"),
                    (false, StatusCode::SERVICE_UNAVAILABLE) => ("ServiceUnavailable", "Receiver"),
                    (false, _) => ("InternalFailure", "Receiver"),
                };
                (
                    status,
                    "text/xml",
                    vec![],
                    format!(
                        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>{fault_side}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
                    ),
                )
            }
            // REST-JSON: the code in `x-amzn-ErrorType`; throttling is a 429.
            "ses" => {
                let (status, code) = if throttled {
                    (StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException")
                } else {
                    (status, code)
                };
                (
                    status,
                    "application/json",
                    vec![("x-amzn-errortype", code.to_owned())],
                    serde_json::json!({"message": message}).to_string(),
                )
            }
            // JSON 1.1 (Secrets Manager) and anything else: `__type` and `x-amzn-ErrorType`.
            _ => {
                let code = if throttled {
                    "ThrottlingException"
                } else {
                    code
                };
                (
                    status,
                    "application/x-amz-json-1.1",
                    vec![("x-amzn-errortype", code.to_owned())],
                    json(code).to_string(),
                )
            }
        };
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let response_headers = response.headers_mut();
    response_headers.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static(match content_type {
            "text/xml" => "text/xml",
            "application/json" => "application/json",
            "application/x-amz-json-1.0" => "application/x-amz-json-1.0",
            _ => "application/x-amz-json-1.1",
        }),
    );
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response_headers.insert(HeaderName::from_static(name), value);
        }
    }
    if let Ok(id) = HeaderValue::from_str(request_id) {
        response_headers.insert(HeaderName::from_static("x-amzn-requestid"), id);
    }
    response
}

/// The connection is to be closed without an answer (hyper does that when the service fails).
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault plan")
    }
}

impl std::error::Error for Dropped {}

/// The proxy: one upstream (the emulator), one injector.
#[derive(Debug, Clone)]
pub struct Proxy {
    upstream: Uri,
    injector: Arc<Mutex<Injector>>,
    client: Client<HttpConnector, Full<Bytes>>,
    requests: Arc<std::sync::atomic::AtomicU64>,
}

/// Headers that describe one hop, not the message (RFC 9110, 7.6.1).
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

impl Proxy {
    /// A proxy forwarding to `upstream` (`http://host:port`).
    ///
    /// # Errors
    /// `upstream` is not an `http://` URI with a host.
    pub fn new(upstream: &str) -> anyhow::Result<Self> {
        let upstream: Uri = upstream.trim_end_matches('/').parse()?;
        anyhow::ensure!(
            upstream.scheme_str() == Some("http") && upstream.authority().is_some(),
            "the upstream must be an http:// URL with a host, not {upstream}"
        );
        Ok(Self {
            upstream,
            injector: Arc::default(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            requests: Arc::default(),
        })
    }

    /// Serves on `listener` until the process ends.
    ///
    /// # Errors
    /// The listener fails to accept.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> anyhow::Result<()> {
        loop {
            let (stream, _) = listener.accept().await?;
            let proxy = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let proxy = proxy.clone();
                    async move { proxy.handle(request).await }
                });
                // A dropped connection (the plan's, or the client's) ends here; nothing to do.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    /// Binds `addr` and serves; returns the bound address (port 0 picks one) once listening.
    ///
    /// # Errors
    /// The address cannot be bound.
    pub async fn spawn(self, addr: SocketAddr) -> anyhow::Result<SocketAddr> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        tokio::spawn(self.serve(listener));
        Ok(bound)
    }

    fn injector(&self) -> std::sync::MutexGuard<'_, Injector> {
        // A panic while holding the lock cannot leave the counts inconsistent enough to matter.
        self.injector.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn handle(&self, request: Request<Incoming>) -> Result<Response<Body>, Dropped> {
        if request.uri().path() == CONTROL_PATH {
            return Ok(self.control(request).await);
        }
        let (mut parts, body) = request.into_parts();
        let Ok(body) = body
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes)
        else {
            return Err(Dropped);
        };
        let call = Call::classify(&parts.method, parts.uri.path(), &parts.headers, &body);
        let fault = self.injector().decide(&call);
        let n = self
            .requests
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request_id = format!("fault-proxy-{n:012}");
        if let Some(fault) = fault {
            eprintln!(
                "{{\"fault\":\"{}\",\"service\":\"{}\",\"operation\":\"{}\",\"request\":\"{request_id}\"}}",
                fault.label(),
                call.service,
                call.operation
            );
        }
        match fault {
            Some(fault @ (Fault::Throttle | Fault::Status { .. })) => {
                return Ok(error_response(&call.service, fault, &request_id).map(full));
            }
            Some(Fault::Drop) => return Err(Dropped),
            Some(Fault::Delay { millis }) => {
                tokio::time::sleep(Duration::from_millis(millis)).await;
            }
            Some(Fault::DropAfterForward) | None => {}
        }
        let mut uri = self.upstream.clone().into_parts();
        uri.path_and_query = parts.uri.path_and_query().cloned();
        let Ok(uri) = Uri::from_parts(uri) else {
            return Ok(plain(StatusCode::BAD_REQUEST, "unusable request target"));
        };
        parts.uri = uri;
        for name in HOP_BY_HOP {
            parts.headers.remove(name);
        }
        let response = match self
            .client
            .request(Request::from_parts(parts, Full::new(body)))
            .await
        {
            Ok(response) => response,
            // The emulator is down or restarting: what a load balancer in front of it answers.
            Err(err) => {
                return Ok(plain(
                    StatusCode::BAD_GATEWAY,
                    &format!("upstream unreachable: {err}"),
                ));
            }
        };
        let (mut parts, body) = response.into_parts();
        for name in HOP_BY_HOP {
            parts.headers.remove(name);
        }
        if fault == Some(Fault::DropAfterForward) {
            // Let the emulator finish the call (it has taken effect), then lose the answer.
            let _ = body.collect().await;
            return Err(Dropped);
        }
        Ok(Response::from_parts(parts, body.boxed()))
    }

    async fn control(&self, request: Request<Incoming>) -> Response<Body> {
        match *request.method() {
            Method::GET => json_response(StatusCode::OK, &self.injector().report()),
            Method::DELETE => {
                self.injector().clear();
                json_response(StatusCode::OK, &self.injector().report())
            }
            Method::PUT => {
                let body = match request.into_body().collect().await {
                    Ok(body) => body.to_bytes(),
                    Err(err) => return plain(StatusCode::BAD_REQUEST, &err.to_string()),
                };
                let plan: Plan = match serde_json::from_slice(&body) {
                    Ok(plan) => plan,
                    Err(err) => {
                        return plain(StatusCode::BAD_REQUEST, &format!("not a plan: {err}"));
                    }
                };
                if let Err(reason) = plan.validate() {
                    return plain(StatusCode::BAD_REQUEST, &reason);
                }
                self.injector().set(plan);
                json_response(StatusCode::OK, &self.injector().report())
            }
            _ => plain(
                StatusCode::METHOD_NOT_ALLOWED,
                "GET, PUT or DELETE /_faults",
            ),
        }
    }
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut response = Response::new(full(format!("{text}\n")));
    *response.status_mut() = status;
    response
}

fn json_response(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    let mut response = Response::new(full(serde_json::to_vec(value).unwrap_or_default()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests;
