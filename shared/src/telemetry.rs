//! Structured JSON logs for every function.
//!
//! One JSON object per line. Each line carries the spans it was logged in: the runtime's
//! `Lambda runtime invoke` span (with `requestId`) and, inside it, the [`correlation_span`] a
//! handler opens from the event's correlation id, so every line of one saga can be found by it.

use tracing::Span;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// The log filter: `AWS_LAMBDA_LOG_LEVEL` (set by Lambda's logging config), else `RUST_LOG`,
/// else `info`.
fn filter() -> EnvFilter {
    let directive = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned());
    EnvFilter::try_new(directive.to_lowercase()).unwrap_or_else(|_| EnvFilter::new("info"))
}

fn subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter())
        .with_writer(writer)
        .with_target(false)
        .with_current_span(false)
        .with_span_list(true)
        .flatten_event(true)
        .with_ansi(false)
        .finish()
}

/// Installs the JSON subscriber for the process. Call once, first thing in `main`.
/// A second call (as happens in tests) keeps the first subscriber.
pub fn init() {
    let _ = tracing::subscriber::set_global_default(subscriber(std::io::stdout));
}

/// A span that stamps `correlation_id` on every log line inside it.
#[must_use]
pub fn correlation_span(correlation_id: &str) -> Span {
    tracing::info_span!("correlated", correlation_id = %correlation_id)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Self;
        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    #[test]
    fn a_log_line_is_json_with_the_request_id_and_the_correlation_id() {
        let captured = Captured::default();
        tracing::subscriber::with_default(subscriber(captured.clone()), || {
            let invoke = tracing::info_span!("Lambda runtime invoke", requestId = "req-42");
            let _invoke = invoke.enter();
            let correlated = correlation_span("corr-7");
            let _correlated = correlated.enter();
            tracing::info!(order_id = "o-1", "order placed");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "order placed");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["order_id"], "o-1");
        let spans = line["spans"].as_array().unwrap();
        assert!(spans.iter().any(|s| s["requestId"] == "req-42"), "{line}");
        assert!(
            spans.iter().any(|s| s["correlation_id"] == "corr-7"),
            "{line}"
        );
    }
}
