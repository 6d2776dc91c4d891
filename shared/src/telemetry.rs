//! Structured JSON logs for every function.
//!
//! One JSON object per line. Each line carries the spans it was logged in: the runtime's
//! `Lambda runtime invoke` span (with `requestId`) and, inside it, the
//! [`correlation_span_traced`] a handler opens from the event's correlation id, so every line of
//! one saga can be found by it.
//! The same span carries the X-Ray trace id (`xray_trace_id`, the `Root` of the trace header),
//! so a line leads to its trace in X-Ray and back.
//!
//! [`correlated`] makes the same two ids known to code that does not log through a span: the
//! [`metrics`](crate::metrics) lines carry them as properties.

use std::future::Future;
use std::io::Write as _;

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

/// The JSON subscriber writing to `writer`: what [`init`] installs, exposed so tests can capture
/// log lines and check what they contain (and what they must never contain).
pub fn json_subscriber<W>(writer: W) -> impl tracing::Subscriber + Send + Sync
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

/// Installs the JSON subscriber for the process and counts its cold start
/// ([`crate::metrics::names::COLD_STARTS`]). Call once, first thing in `main`.
/// A second call (as happens in tests) keeps the first subscriber.
pub fn init() {
    if tracing::subscriber::set_global_default(json_subscriber(std::io::stdout)).is_ok() {
        crate::metrics::cold_start();
    }
}

/// A span that stamps `correlation_id` and, when there is one, `xray_trace_id` (an SQS
/// record's, or this invocation's: [`invocation_trace_id`]) on every log line inside it.
#[must_use]
pub fn correlation_span_traced(correlation_id: &str, xray_trace_id: Option<&str>) -> Span {
    let span = tracing::info_span!(
        "correlated",
        correlation_id = %correlation_id,
        xray_trace_id = tracing::field::Empty
    );
    if let Some(trace) = xray_trace_id {
        span.record("xray_trace_id", trace);
    }
    span
}

/// The `Root` of an X-Ray trace header (`Root=1-…;Parent=…;Sampled=1`), if it has one.
#[must_use]
pub fn trace_root(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|part| part.trim().strip_prefix("Root="))
        .find(|root| !root.is_empty())
}

/// This invocation's X-Ray trace id: the runtime sets `_X_AMZN_TRACE_ID` before each invocation
/// when the function is traced (`Tracing: Active` in the template).
#[must_use]
pub fn invocation_trace_id() -> Option<String> {
    let header = std::env::var("_X_AMZN_TRACE_ID").ok()?;
    trace_root(&header).map(str::to_owned)
}

/// The ids of the saga a piece of work belongs to (see [`correlated`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Correlation {
    pub correlation_id: String,
    pub xray_trace_id: Option<String>,
}

tokio::task_local! {
    static CURRENT: Correlation;
}

/// Runs `work` with `correlation_id` and `xray_trace_id` as [`current_correlation`]. Scoped to
/// the future, not the thread: records of one batch handled concurrently each see their own.
pub async fn correlated<F: Future>(
    correlation_id: &str,
    xray_trace_id: Option<String>,
    work: F,
) -> F::Output {
    let correlation = Correlation {
        correlation_id: correlation_id.to_owned(),
        xray_trace_id,
    };
    CURRENT.scope(correlation, work).await
}

/// The ids [`correlated`] set for the work running now, if any.
#[must_use]
pub fn current_correlation() -> Option<Correlation> {
    CURRENT.try_with(Clone::clone).ok()
}

/// Writes one whole line to stdout (or, in tests, to this thread's [`CapturedLogs`]) in a single
/// write under the stdout lock, so it never interleaves with a log line.
pub(crate) fn write_line(line: &str) {
    let mut buffer = String::with_capacity(line.len() + 1);
    buffer.push_str(line);
    buffer.push('\n');
    #[cfg(any(test, feature = "test-support"))]
    if capture::write_captured(buffer.as_bytes()) {
        return;
    }
    // Nothing sensible to do when stdout is gone: the log line would be lost the same way.
    let _ = std::io::stdout().lock().write_all(buffer.as_bytes());
}

/// Log capture for tests: install with [`CapturedLogs::install`], read with [`CapturedLogs::text`].
#[cfg(any(test, feature = "test-support"))]
pub use capture::{CapturedLogs, Capturing};

#[cfg(any(test, feature = "test-support"))]
mod capture {
    use std::cell::RefCell;
    use std::io::Write;
    use std::sync::{Arc, Mutex, OnceLock};

    use tracing_subscriber::fmt::MakeWriter;

    /// A writer that keeps every log line in memory.
    #[derive(Clone, Debug, Default)]
    pub struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

    thread_local! {
        /// Where the lines logged on this thread go while a capture is installed.
        static CURRENT: RefCell<Option<CapturedLogs>> = const { RefCell::new(None) };
    }

    /// Until dropped, this thread's log lines go to the [`CapturedLogs`] that returned it.
    #[derive(Debug)]
    #[must_use = "the capture ends when this is dropped"]
    pub struct Capturing {
        previous: Option<CapturedLogs>,
        _scoped: Option<tracing::subscriber::DefaultGuard>,
    }

    impl Drop for Capturing {
        fn drop(&mut self) {
            let previous = self.previous.take();
            CURRENT.with(|current| *current.borrow_mut() = previous);
        }
    }

    impl CapturedLogs {
        /// Routes this thread's logs (the JSON subscriber) here until the guard drops.
        ///
        /// One process-wide subscriber writes each line to the capture of the thread that
        /// logged it. A per-thread (scoped) subscriber would be racy: a callsite another test
        /// thread registers while it is being installed keeps the "nobody listens" interest it
        /// computed without it, and this thread's lines from it are lost. The scoped one is
        /// only the fallback when the process already has a global subscriber.
        pub fn install(&self) -> Capturing {
            static ROUTED: OnceLock<bool> = OnceLock::new();
            let routed = *ROUTED.get_or_init(|| {
                tracing::subscriber::set_global_default(super::json_subscriber(ThreadRouter))
                    .is_ok()
            });
            let previous = CURRENT.with(|current| current.replace(Some(self.clone())));
            let scoped = (!routed)
                .then(|| tracing::subscriber::set_default(super::json_subscriber(self.clone())));
            Capturing {
                previous,
                _scoped: scoped,
            }
        }

        /// Everything logged so far.
        #[must_use]
        pub fn text(&self) -> String {
            self.0
                .lock()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .unwrap_or_default()
        }
    }

    impl Write for CapturedLogs {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if let Ok(mut bytes) = self.0.lock() {
                bytes.extend_from_slice(buf);
            }
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for CapturedLogs {
        type Writer = Self;
        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    /// The global subscriber's writer: the logging thread's capture, or nowhere.
    struct ThreadRouter;

    impl<'w> MakeWriter<'w> for ThreadRouter {
        type Writer = Routed;
        fn make_writer(&'w self) -> Self::Writer {
            Routed(CURRENT.with(|current| current.borrow().clone()))
        }
    }

    struct Routed(Option<CapturedLogs>);

    /// Writes `bytes` to this thread's capture; `false` when none is installed.
    pub(crate) fn write_captured(bytes: &[u8]) -> bool {
        CURRENT.with(|current| match current.borrow_mut().as_mut() {
            Some(logs) => {
                let _ = logs.write(bytes);
                true
            }
            None => false,
        })
    }

    impl Write for Routed {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            match &mut self.0 {
                Some(logs) => logs.write(buf),
                None => Ok(buf.len()),
            }
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_line_is_json_with_the_request_id_and_the_correlation_id() {
        let captured = CapturedLogs::default();
        {
            let _guard = captured.install();
            let invoke = tracing::info_span!("Lambda runtime invoke", requestId = "req-42");
            let _invoke = invoke.enter();
            let correlated = correlation_span_traced("corr-7", None);
            let _correlated = correlated.enter();
            tracing::info!(order_id = "o-1", "order placed");
        }
        let text = captured.text();
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

    #[test]
    fn a_traced_line_carries_the_xray_trace_id_next_to_the_correlation_id() {
        let captured = CapturedLogs::default();
        {
            let _guard = captured.install();
            let correlated = correlation_span_traced(
                "corr-8",
                trace_root(
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
                ),
            );
            let _correlated = correlated.enter();
            tracing::info!("payment approved");
        }
        let line: serde_json::Value = serde_json::from_str(captured.text().trim()).unwrap();
        let span = line["spans"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["correlation_id"] == "corr-8")
            .cloned()
            .unwrap();
        assert_eq!(span["xray_trace_id"], "1-5759e988-bd862e3fe1be46a994272793");
    }

    #[test]
    fn an_untraced_line_has_no_xray_trace_id_field() {
        let captured = CapturedLogs::default();
        {
            let _guard = captured.install();
            let correlated = correlation_span_traced("corr-9", None);
            let _correlated = correlated.enter();
            tracing::info!("order placed");
        }
        assert!(
            !captured.text().contains("xray_trace_id"),
            "{}",
            captured.text()
        );
    }

    #[test]
    fn a_trace_header_without_a_root_has_no_trace_id() {
        assert_eq!(trace_root("Parent=53995c3f42cd8ad8;Sampled=1"), None);
        assert_eq!(trace_root("Root=;Sampled=0"), None);
        assert_eq!(trace_root("Sampled=1; Root=1-a-b"), Some("1-a-b"));
    }
}
