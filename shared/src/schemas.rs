//! JSON Schemas of the event contracts, generated from the Rust types.
//!
//! `events/schemas/<Type>.v<version>.json` holds one schema per event: the full envelope with
//! `type` and `version` pinned and `data` the payload's schema. The test below fails when the
//! checked-in files differ from what the types generate; `make schemas` rewrites them.

use schemars::{Schema, generate::SchemaSettings};
use serde_json::json;

use crate::envelope::EventEnvelope;
use crate::events::Event;

/// The schema of an [`EventEnvelope<E>`] with `type` and `version` pinned to `E`'s.
#[must_use]
pub fn envelope_schema<E: Event>() -> Schema {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<EventEnvelope<E>>();
    schema.insert("title".into(), json!(E::TYPE));
    schema.insert(
        "$id".into(),
        json!(format!(
            "urn:serverless-shop:event:{}:v{}",
            E::TYPE,
            E::VERSION
        )),
    );
    schema.insert(
        "description".into(),
        json!(format!(
            "Envelope of the {} event, version {}.",
            E::TYPE,
            E::VERSION
        )),
    );
    if let Some(properties) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) {
        properties.insert("type".into(), json!({ "const": E::TYPE }));
        properties.insert("version".into(), json!({ "const": E::VERSION }));
        properties.insert("source".into(), json!({ "const": E::SOURCE }));
    }
    schema
}

/// The file name of an event's schema under `events/schemas/`.
#[must_use]
pub fn schema_file_name(event_type: &str, version: u32) -> String {
    format!("{event_type}.v{version}.json")
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use super::*;
    use crate::events::DomainEvent;

    fn schema_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/schemas")
    }

    /// Set `UPDATE_SCHEMAS=1` (or run `make schemas`) to rewrite the files from the types.
    #[test]
    fn checked_in_event_schemas_match_the_rust_contracts() {
        let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
        let dir = schema_dir();
        let mut expected_files = BTreeSet::new();
        let mut drifted = Vec::new();
        for (event_type, version, schema) in DomainEvent::envelope_schemas() {
            let name = schema_file_name(event_type, version);
            let path = dir.join(&name);
            let generated = serde_json::to_string_pretty(&schema).unwrap() + "\n";
            if update {
                std::fs::create_dir_all(&dir).unwrap();
                std::fs::write(&path, &generated).unwrap();
            } else if std::fs::read_to_string(&path).ok().as_deref() != Some(generated.as_str()) {
                drifted.push(name.clone());
            }
            expected_files.insert(name);
        }
        let on_disk: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json"))
            .collect();
        let stale: Vec<_> = on_disk.difference(&expected_files).collect();
        assert!(
            drifted.is_empty() && stale.is_empty(),
            "event schemas drifted from the Rust contracts: changed {drifted:?}, stale {stale:?}; \
             run `make schemas` and review the diff"
        );
    }

    #[test]
    fn an_envelope_schema_pins_type_version_and_source() {
        let schema = envelope_schema::<crate::events::OrderPlaced>();
        let properties = schema.get("properties").unwrap();
        assert_eq!(properties["type"], json!({"const": "OrderPlaced"}));
        assert_eq!(properties["version"], json!({"const": 1}));
        assert_eq!(properties["source"], json!({"const": "orders"}));
        assert!(
            schema
                .get("required")
                .unwrap()
                .as_array()
                .unwrap()
                .contains(&json!("data"))
        );
    }
}
