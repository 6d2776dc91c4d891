//! The CloudEvents-shaped envelope every event travels in.
//!
//! On the wire: `{ id, type, version, source, time, correlation_id, causation_id, data }`.
//! Producers build an [`EventEnvelope<E>`] from a typed payload; consumers read a
//! [`RawEnvelope`] and [`RawEnvelope::decode`] it into an [`EventEnvelope<DomainEvent>`].

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::events::{ContractError, DomainEvent, Event, Source};

/// An event with its metadata. `D` is the payload: a contract type when publishing,
/// `serde_json::Value` when just read, [`DomainEvent`] once decoded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct EventEnvelope<D> {
    /// Unique per event; consumers deduplicate on it.
    pub id: Uuid,
    /// The payload's contract name, e.g. `OrderPlaced`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The payload's contract version.
    pub version: u32,
    /// The publishing service.
    pub source: Source,
    /// When the event happened (RFC 3339, UTC).
    pub time: DateTime<Utc>,
    /// Shared by every event of one business flow (one order's saga), taken from the request
    /// that started it.
    pub correlation_id: String,
    /// The id of the request or event that directly caused this one.
    pub causation_id: String,
    /// The payload.
    pub data: D,
}

/// An envelope whose payload has not been checked against a contract yet.
pub type RawEnvelope = EventEnvelope<serde_json::Value>;

/// Where an event comes from in the flow of a business process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// See [`EventEnvelope::correlation_id`].
    pub correlation_id: String,
    /// See [`EventEnvelope::causation_id`].
    pub causation_id: String,
}

impl Trace {
    /// The trace of a flow started by an HTTP request: it correlates and causes.
    #[must_use]
    pub fn from_request(correlation_id: &str, request_id: &str) -> Self {
        Self {
            correlation_id: correlation_id.to_owned(),
            causation_id: request_id.to_owned(),
        }
    }

    /// The trace of an event emitted in reaction to `cause`: same correlation, caused by it.
    #[must_use]
    pub fn caused_by<D>(cause: &EventEnvelope<D>) -> Self {
        Self {
            correlation_id: cause.correlation_id.clone(),
            causation_id: cause.id.to_string(),
        }
    }
}

impl<E: Event> EventEnvelope<E> {
    /// Wraps `data` in a fresh envelope: new id, now, `E`'s type, version and source.
    #[must_use]
    pub fn new(data: E, trace: Trace) -> Self {
        Self {
            id: Uuid::new_v4(),
            event_type: E::TYPE.to_owned(),
            version: E::VERSION,
            source: E::SOURCE,
            // Millisecond precision keeps `time` identical across JSON and DynamoDB round trips.
            time: Utc::now().trunc_subsecs(3),
            correlation_id: trace.correlation_id,
            causation_id: trace.causation_id,
            data,
        }
    }
}

impl<D: Serialize> EventEnvelope<D> {
    /// The envelope as the JSON text published to SNS.
    ///
    /// # Errors
    /// Only if the payload's `Serialize` impl fails, which contract types never do.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(self)
    }
}

impl RawEnvelope {
    /// Parses the JSON text of an envelope without interpreting its payload.
    ///
    /// # Errors
    /// When the text is not JSON or lacks an envelope field.
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Checks the payload against the contract named by `type` and `version`.
    ///
    /// # Errors
    /// See [`ContractError`].
    pub fn decode(self) -> Result<EventEnvelope<DomainEvent>, ContractError> {
        let data = DomainEvent::decode(&self.event_type, self.version, self.data)?;
        Ok(EventEnvelope {
            id: self.id,
            event_type: self.event_type,
            version: self.version,
            source: self.source,
            time: self.time,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            data,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{ProductArchived, StockReserved};

    fn archived() -> EventEnvelope<ProductArchived> {
        EventEnvelope::new(
            ProductArchived {
                product_id: Uuid::new_v4(),
                version: 2,
            },
            Trace::from_request("corr-1", "req-1"),
        )
    }

    #[test]
    fn a_new_envelope_carries_the_contract_metadata_and_the_trace() {
        let envelope = archived();
        assert_eq!(envelope.event_type, "ProductArchived");
        assert_eq!(envelope.version, 1);
        assert_eq!(envelope.source, Source::Products);
        assert_eq!(envelope.correlation_id, "corr-1");
        assert_eq!(envelope.causation_id, "req-1");
    }

    #[test]
    fn the_wire_form_uses_type_not_event_type() {
        let json: serde_json::Value = serde_json::from_str(&archived().to_json().unwrap()).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys.iter()
                .map(String::as_str)
                .collect::<std::collections::BTreeSet<_>>(),
            [
                "causation_id",
                "correlation_id",
                "data",
                "id",
                "source",
                "time",
                "type",
                "version"
            ]
            .into_iter()
            .collect()
        );
    }

    #[test]
    fn an_envelope_round_trips_through_json_and_decodes_to_its_event() {
        let envelope = archived();
        let decoded = RawEnvelope::parse(&envelope.to_json().unwrap())
            .unwrap()
            .decode()
            .unwrap();
        assert_eq!(decoded.id, envelope.id);
        assert_eq!(decoded.time, envelope.time);
        assert_eq!(decoded.data, DomainEvent::ProductArchived(envelope.data));
    }

    #[test]
    fn a_reaction_keeps_the_correlation_and_is_caused_by_its_trigger() {
        let cause = archived();
        let reaction = EventEnvelope::new(
            StockReserved {
                order_id: Uuid::new_v4(),
                lines: vec![],
            },
            Trace::caused_by(&cause),
        );
        assert_eq!(reaction.correlation_id, "corr-1");
        assert_eq!(reaction.causation_id, cause.id.to_string());
    }

    #[test]
    fn parse_refuses_text_that_is_not_an_envelope() {
        assert!(RawEnvelope::parse("not json").is_err());
        assert!(RawEnvelope::parse(r#"{"type": "ProductArchived"}"#).is_err());
    }
}
