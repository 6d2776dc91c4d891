//! Opaque pagination tokens and page sizes for list endpoints.
//!
//! A `next_token` is DynamoDB's `LastEvaluatedKey` as URL-safe base64 of JSON. It is opaque to
//! clients, and decoding checks it holds exactly the key attributes the caller expects, so a
//! forged token is a 400, never a DynamoDB validation error turned 500. Every query that uses it
//! still has its own key condition (e.g. the caller's partition), so a token cannot widen access.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::http::Problem;

/// Default number of items per page.
pub const DEFAULT_LIMIT: i32 = 20;
/// Largest page a client may ask for.
pub const MAX_LIMIT: i32 = 100;
const MAX_TOKEN_LEN: usize = 2048;

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum KeyValue {
    S { s: String },
    N { n: String },
}

/// Encodes a `LastEvaluatedKey` as a `next_token`; `None` (last page) stays `None`.
#[must_use]
pub fn encode_token(
    last_evaluated_key: Option<&HashMap<String, AttributeValue>>,
) -> Option<String> {
    let key = last_evaluated_key?;
    let plain: HashMap<&str, KeyValue> = key
        .iter()
        .filter_map(|(name, value)| {
            let value = match value {
                AttributeValue::S(s) => KeyValue::S { s: s.clone() },
                AttributeValue::N(n) => KeyValue::N { n: n.clone() },
                // Key attributes are strings or numbers in every table of this project.
                _ => return None,
            };
            Some((name.as_str(), value))
        })
        .collect();
    serde_json::to_vec(&plain)
        .ok()
        .map(|json| URL_SAFE_NO_PAD.encode(json))
}

/// Decodes a `next_token` into an `ExclusiveStartKey` holding exactly `expected_attributes`.
///
/// # Errors
/// A 400 problem for anything that is not a token this service issued.
pub fn decode_token(
    token: &str,
    expected_attributes: &[&str],
) -> Result<HashMap<String, AttributeValue>, Problem> {
    let invalid =
        || Problem::bad_request("next_token is not valid; use the value from the previous page");
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid());
    }
    let json = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    let plain: HashMap<String, KeyValue> = serde_json::from_slice(&json).map_err(|_| invalid())?;
    let mut names: Vec<&str> = plain.keys().map(String::as_str).collect();
    names.sort_unstable();
    let mut expected = expected_attributes.to_vec();
    expected.sort_unstable();
    if names != expected {
        return Err(invalid());
    }
    Ok(plain
        .into_iter()
        .map(|(name, value)| {
            let value = match value {
                KeyValue::S { s } => AttributeValue::S(s),
                KeyValue::N { n } => AttributeValue::N(n),
            };
            (name, value)
        })
        .collect())
}

/// Parses a `limit` query parameter: absent is [`DEFAULT_LIMIT`], otherwise 1..=[`MAX_LIMIT`].
///
/// # Errors
/// A 422 problem naming `limit`.
pub fn parse_limit(raw: Option<&str>) -> Result<i32, Problem> {
    let Some(raw) = raw else {
        return Ok(DEFAULT_LIMIT);
    };
    raw.parse::<i32>()
        .ok()
        .filter(|limit| (1..=MAX_LIMIT).contains(limit))
        .ok_or_else(|| {
            Problem::invalid_field("limit", format!("must be an integer from 1 to {MAX_LIMIT}"))
        })
}

/// One page of a list response: `{ "items": [...], "next_token": "..." }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Present when there is another page: pass it back as `next_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key(pk: &str, created: i64) -> HashMap<String, AttributeValue> {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
            ("created".to_owned(), AttributeValue::N(created.to_string())),
        ])
    }

    #[test]
    fn the_last_page_has_no_token() {
        assert_eq!(encode_token(None), None);
    }

    #[test]
    fn a_token_with_other_attributes_than_expected_is_refused() {
        let token = encode_token(Some(&key("USER#1", 5))).unwrap();
        assert_eq!(decode_token(&token, &["pk", "sk"]).unwrap_err().status, 400);
    }

    #[test]
    fn garbage_tokens_are_a_400() {
        for token in ["", "!!!", "e30", &"A".repeat(5000)] {
            assert_eq!(
                decode_token(token, &["pk"]).unwrap_err().status,
                400,
                "{token}"
            );
        }
    }

    #[test]
    fn limit_defaults_and_is_bounded() {
        assert_eq!(parse_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some("100")).unwrap(), 100);
        for bad in ["0", "101", "-1", "ten", ""] {
            assert_eq!(parse_limit(Some(bad)).unwrap_err().status, 422, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn a_token_decodes_to_the_key_it_encoded(pk in "\\PC{0,40}", created in any::<i64>()) {
            let original = key(&pk, created);
            let token = encode_token(Some(&original)).unwrap();
            prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(decode_token(&token, &["created", "pk"]).unwrap(), original);
        }

        #[test]
        fn decoding_arbitrary_text_never_panics(token in "\\PC{0,200}") {
            let _ = decode_token(&token, &["pk", "sk"]);
        }
    }
}
