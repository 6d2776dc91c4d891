//! JSON Schemas of the event contracts, generated from the Rust types in `contracts::events`.
//!
//! `events/schemas/<Type>.v<version>.json` holds one schema per event: the full envelope with
//! `type`, `version` and `source` pinned and `data` the payload's schema. The test below fails
//! when the checked-in files differ from what the types generate; `make schemas` rewrites them.
//!
//! This crate depends on the contracts, never the other way round: the contracts only derive
//! schemars' `JsonSchema` (their `json-schema` feature), so no function links this generator.

use contracts::envelope::EventEnvelope;
use contracts::events::{DomainEvent, Event, EventTypeVisitor};
use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};
use serde_json::json;

/// The schema of an [`EventEnvelope<E>`] with `type`, `version` and `source` pinned to `E`'s.
#[must_use]
pub fn envelope_schema<E: Event + JsonSchema>() -> Schema {
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

/// One checked-in schema: its file name under `events/schemas/` and its content.
#[derive(Debug)]
pub struct SchemaFile {
    /// `<Type>.v<version>.json`.
    pub name: String,
    /// The envelope's schema ([`envelope_schema`]).
    pub schema: Schema,
}

/// The schema file of every event type of the system.
#[must_use]
pub fn schema_files() -> Vec<SchemaFile> {
    struct Files(Vec<SchemaFile>);
    impl EventTypeVisitor for Files {
        fn visit<E: Event + JsonSchema>(&mut self) {
            self.0.push(SchemaFile {
                name: format!("{}.v{}.json", E::TYPE, E::VERSION),
                schema: envelope_schema::<E>(),
            });
        }
    }
    let mut files = Files(Vec::new());
    DomainEvent::visit_types(&mut files);
    files.0
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use super::*;

    fn schema_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../events/schemas")
    }

    /// Set `UPDATE_SCHEMAS=1` (or run `make schemas`) to rewrite the files from the types.
    #[test]
    fn checked_in_event_schemas_match_the_rust_contracts() {
        let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
        let dir = schema_dir();
        let mut expected_files = BTreeSet::new();
        let mut drifted = Vec::new();
        for SchemaFile { name, schema } in schema_files() {
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
    fn there_is_one_schema_file_per_event_type_of_the_system() {
        let files: Vec<String> = schema_files().into_iter().map(|file| file.name).collect();
        let types: Vec<String> = DomainEvent::TYPES
            .iter()
            .map(|(event_type, version, _)| format!("{event_type}.v{version}.json"))
            .collect();
        assert_eq!(files, types);
    }

    #[test]
    fn an_envelope_schema_pins_type_version_and_source() {
        let schema = envelope_schema::<contracts::events::OrderPlaced>();
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
