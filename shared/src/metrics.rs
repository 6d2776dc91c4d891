//! Business and runtime metrics in CloudWatch's embedded metric format (EMF).
//!
//! Each call writes one JSON line to stdout, next to the log lines: CloudWatch Logs turns the
//! `_aws` block into metrics in namespace [`NAMESPACE`], and the line stays searchable with the
//! correlation id and X-Ray trace id of the saga that caused it (properties, not dimensions).
//!
//! Dimensions are few and low-cardinality, so each metric costs a handful of time series:
//! `Service` (`orders`), `Function` (`orders-worker`: the function's name without its stage
//! prefix), `Stage` (`local`, `dev`, `prod`). Every value is published under two dimension sets,
//! `[Service, Stage]` (the dashboard's funnel, summed over a service's functions) and
//! `[Service, Function, Stage]` (per consumer).
//!
//! Why a small writer and not the `metrics` facade with `metrics_cloudwatch_embedded`: that
//! crate aggregates into a process-wide recorder and flushes once per invocation, so a batch of
//! ten SQS records from ten sagas shares one document and cannot name the saga each value came
//! from; histograms hold at most 100 values between flushes; and a process-wide recorder makes
//! in-process tests of one handler see every other test's values. One line per event is what
//! this shop's volume affords, keeps each value next to its correlation id, and needs no
//! dependency beyond `serde_json` (docs/operations.md, "Metrics").

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// The CloudWatch namespace of every metric the functions emit.
pub const NAMESPACE: &str = "ServerlessShop";

/// A metric's unit, as CloudWatch names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Self::Count => "Count",
            Self::Milliseconds => "Milliseconds",
        }
    }
}

/// Metric names: one place, so the dashboard, the alarms, `make status` and the tests agree.
pub mod names {
    /// A new order was stored (not an idempotent replay).
    pub const ORDERS_PLACED: &str = "OrdersPlaced";
    /// An order reached CONFIRMED.
    pub const ORDERS_CONFIRMED: &str = "OrdersConfirmed";
    /// An order reached REJECTED (out of stock).
    pub const ORDERS_REJECTED: &str = "OrdersRejected";
    /// An order reached CANCELLED (payment declined, or cancelled by its customer).
    pub const ORDERS_CANCELLED: &str = "OrdersCancelled";
    /// Milliseconds from an order's placement to its first terminal state.
    pub const SAGA_DURATION: &str = "SagaDuration";
    /// A charge the payment gateway declined.
    pub const PAYMENTS_DECLINED: &str = "PaymentsDeclined";
    /// A stock write that lost a race with another message and was tried again.
    pub const RESERVATION_CONFLICTS: &str = "ReservationConflicts";
    /// A record handed back to its queue to be retried within seconds (contention).
    pub const RECORDS_REQUEUED: &str = "RecordsRequeued";
    /// A record a consumer failed on; SQS retries it, then dead-letters it.
    pub const RECORDS_FAILED: &str = "RecordsFailed";
    /// An event a consumer applied.
    pub const EVENTS_PROCESSED: &str = "EventsProcessed";
    /// A redelivered event a consumer had already applied, skipped.
    pub const DUPLICATES_SKIPPED: &str = "DuplicatesSkipped";
    /// An email the notifications worker sent.
    pub const NOTIFICATIONS_SENT: &str = "NotificationsSent";
    /// An email that failed to send (retried through SQS).
    pub const NOTIFICATIONS_FAILED: &str = "NotificationsFailed";
    /// A new execution environment started the function.
    pub const COLD_STARTS: &str = "ColdStarts";
}

/// `Service`, `Function` and `Stage` of this process, from the Lambda environment
/// (`AWS_LAMBDA_FUNCTION_NAME` is `<stage>-<service>-<role>` in the template; `STAGE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dimensions {
    pub service: String,
    pub function: String,
    pub stage: String,
}

impl Dimensions {
    /// From a function name and stage as the template sets them. A name without the stage
    /// prefix is kept whole; the service is its first dash-separated word.
    #[must_use]
    pub fn from_names(function_name: &str, stage: &str) -> Self {
        let function = function_name
            .strip_prefix(stage)
            .and_then(|rest| rest.strip_prefix('-'))
            .unwrap_or(function_name);
        let service = function.split('-').next().unwrap_or(function);
        Self {
            service: service.to_owned(),
            function: function.to_owned(),
            stage: stage.to_owned(),
        }
    }

    fn of_process() -> &'static Self {
        static DIMENSIONS: OnceLock<Dimensions> = OnceLock::new();
        DIMENSIONS.get_or_init(|| {
            let function = std::env::var("AWS_LAMBDA_FUNCTION_NAME")
                .ok()
                .filter(|name| !name.is_empty())
                .or_else(|| {
                    std::env::current_exe().ok().and_then(|exe| {
                        exe.file_stem()
                            .map(|stem| stem.to_string_lossy().into_owned())
                    })
                })
                .unwrap_or_else(|| "unknown".to_owned());
            let stage = std::env::var("STAGE").unwrap_or_else(|_| "unknown".to_owned());
            Self::from_names(&function, &stage)
        })
    }
}

/// The EMF document for `values` at `timestamp`, with the current saga's correlation id and
/// X-Ray trace id as properties (see [`crate::telemetry::correlated`]).
#[must_use]
pub fn document(
    dimensions: &Dimensions,
    values: &[(&str, Unit, f64)],
    timestamp: SystemTime,
) -> Value {
    let millis = timestamp.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    });
    let definitions: Vec<Value> = values
        .iter()
        .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".to_owned(),
        json!({
            "Timestamp": millis,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["Service", "Stage"], ["Service", "Function", "Stage"]],
                "Metrics": definitions,
            }],
        }),
    );
    line.insert("Service".to_owned(), json!(dimensions.service));
    line.insert("Function".to_owned(), json!(dimensions.function));
    line.insert("Stage".to_owned(), json!(dimensions.stage));
    for (name, _, value) in values {
        line.insert((*name).to_owned(), json!(value));
    }
    if let Some(current) = crate::telemetry::current_correlation() {
        line.insert("correlation_id".to_owned(), json!(current.correlation_id));
        if let Some(trace) = current.xray_trace_id {
            line.insert("xray_trace_id".to_owned(), json!(trace));
        }
    }
    Value::Object(line)
}

/// Emits `values` as one EMF line now.
pub fn emit(values: &[(&str, Unit, f64)]) {
    if values.is_empty() {
        return;
    }
    let line = document(Dimensions::of_process(), values, SystemTime::now());
    crate::telemetry::write_line(&line.to_string());
}

/// Emits one count of `name`.
pub fn count(name: &str) {
    emit(&[(name, Unit::Count, 1.0)]);
}

/// Emits `duration` of `name` in milliseconds.
pub fn duration(name: &str, duration: Duration) {
    emit(&[(name, Unit::Milliseconds, duration.as_secs_f64() * 1000.0)]);
}

/// Emits one [`names::COLD_STARTS`]; [`crate::telemetry::init`] calls it once per process.
pub(crate) fn cold_start() {
    count(names::COLD_STARTS);
}

/// The EMF lines among captured log text, for tests: `(metric name, value)` of each value,
/// in order, with the line it came from.
#[cfg(any(test, feature = "test-support"))]
#[must_use]
pub fn emitted(text: &str) -> Vec<(String, f64, Value)> {
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line.get("_aws").is_some())
        .flat_map(|line| {
            let names: Vec<String> = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .map(|metrics| {
                    metrics
                        .iter()
                        .filter_map(|m| m["Name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            names
                .into_iter()
                .map(|name| {
                    let value = line[&name].as_f64().unwrap_or(f64::NAN);
                    (name, value, line.clone())
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::{CapturedLogs, correlated};

    fn dims() -> Dimensions {
        Dimensions::from_names("local-orders-worker", "local")
    }

    #[test]
    fn dimensions_are_the_function_name_without_its_stage_and_its_first_word() {
        assert_eq!(
            Dimensions::from_names("prod-notifications-worker", "prod"),
            Dimensions {
                service: "notifications".into(),
                function: "notifications-worker".into(),
                stage: "prod".into()
            }
        );
        let relay = Dimensions::from_names("dev-users-outbox-relay", "dev");
        assert_eq!(
            (relay.service.as_str(), relay.function.as_str()),
            ("users", "users-outbox-relay")
        );
        let foreign = Dimensions::from_names("orders-worker", "local");
        assert_eq!(
            (foreign.service.as_str(), foreign.function.as_str()),
            ("orders", "orders-worker")
        );
    }

    #[test]
    fn a_document_declares_each_metric_with_its_unit_under_both_dimension_sets() {
        let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let doc = document(
            &dims(),
            &[
                (names::ORDERS_CONFIRMED, Unit::Count, 1.0),
                (names::SAGA_DURATION, Unit::Milliseconds, 840.5),
            ],
            at,
        );
        let aws = &doc["_aws"];
        assert_eq!(aws["Timestamp"], 1_700_000_000_123_u64);
        let directive = &aws["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "ServerlessShop");
        assert_eq!(
            directive["Dimensions"],
            json!([["Service", "Stage"], ["Service", "Function", "Stage"]])
        );
        assert_eq!(
            directive["Metrics"],
            json!([
                {"Name": "OrdersConfirmed", "Unit": "Count"},
                {"Name": "SagaDuration", "Unit": "Milliseconds"}
            ])
        );
        assert_eq!(doc["OrdersConfirmed"], 1.0);
        assert_eq!(doc["SagaDuration"], 840.5);
        assert_eq!(
            (&doc["Service"], &doc["Function"], &doc["Stage"]),
            (&json!("orders"), &json!("orders-worker"), &json!("local"))
        );
        assert!(doc.get("correlation_id").is_none(), "{doc}");
    }

    #[tokio::test]
    async fn a_metric_inside_a_correlated_scope_carries_its_correlation_and_trace_ids() {
        let captured = CapturedLogs::default();
        {
            let _guard = captured.install();
            correlated(
                "corr-9",
                Some("1-5759e988-bd862e3fe1be46a994272793".into()),
                async {
                    count(names::ORDERS_PLACED);
                },
            )
            .await;
        }
        let metrics = emitted(&captured.text());
        assert_eq!(metrics.len(), 1, "{}", captured.text());
        let (name, value, line) = &metrics[0];
        assert_eq!((name.as_str(), *value), ("OrdersPlaced", 1.0));
        assert_eq!(line["correlation_id"], "corr-9");
        assert_eq!(line["xray_trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
    }

    #[test]
    fn a_duration_is_emitted_in_milliseconds() {
        let captured = CapturedLogs::default();
        {
            let _guard = captured.install();
            duration(names::SAGA_DURATION, Duration::from_millis(1_250));
        }
        let metrics = emitted(&captured.text());
        assert_eq!(metrics.len(), 1);
        assert_eq!(metrics[0].0, "SagaDuration");
        assert!((metrics[0].1 - 1250.0).abs() < 1e-9, "{}", metrics[0].1);
        assert_eq!(
            metrics[0].2["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"],
            "Milliseconds"
        );
    }
}
