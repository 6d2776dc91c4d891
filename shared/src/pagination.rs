//! Signed, opaque pagination cursors and page sizes for every list endpoint.
//!
//! A list query returns at most `limit` items and, when there are more, the position to go on
//! from: DynamoDB's `LastEvaluatedKey` (a memory adapter builds the same kind of key). Clients get
//! that position as a `next_token` they cannot read or alter: [`Cursors::seal`] signs it with an
//! HMAC-SHA256 over the key and the [`Scope`] of the query it came from (route, index and
//! partition, the caller's id where the list is the caller's), and [`Cursors::open`] gives a key
//! back only if the signature matches the scope of the query being asked now. So a forged,
//! truncated, altered token or one issued for another query (another customer, another
//! category, another route) is a 400 problem and never reaches DynamoDB, where a start key that
//! does not fit the key condition is a `ValidationException`, a 500.
//!
//! The format is versioned (`1` + base64url of MAC and key), so a later format can be told
//! apart and old tokens refused with the same 400. The key comes from a secret the stack
//! generates (see [`Cursors::from_secret`]); every instance of a function shares it, so a token
//! issued by one instance opens in another.

use std::collections::{BTreeMap, HashMap};

use aws_lc_rs::hmac;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::http::Problem;

/// Default number of items per page.
pub const DEFAULT_LIMIT: i32 = 20;
/// Largest page a client may ask for.
pub const MAX_LIMIT: i32 = 100;
/// The environment variable naming the Secrets Manager secret cursors are signed with.
pub const CURSOR_SECRET_VARIABLE: &str = "CURSOR_SECRET_ARN";
/// Shortest accepted cursor secret, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;
/// Longest token accepted; real ones are a few hundred bytes.
const MAX_TOKEN_LEN: usize = 2048;
/// The first character of every token of this format.
const VERSION: char = '1';
/// Length of an HMAC-SHA256 tag.
const TAG_LEN: usize = 32;
/// Separates the parts the MAC covers, so no two (scope, key) pairs share an input.
const DOMAIN: &[u8] = b"serverless-shop next_token v1\0";

/// A position in a list: the key attributes of the last item returned (DynamoDB's
/// `LastEvaluatedKey`, or `ExclusiveStartKey` when going on).
pub type StartKey = HashMap<String, AttributeValue>;

/// One page of items as a repository returns it: the position is still a raw key.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyPage<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub last_key: Option<StartKey>,
}

/// One page of a list response: `{ "items": [...], "next_token": "..." }`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "json-schema",
    derive(schemars::JsonSchema),
    schemars(rename = "{T}Page")
)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// Present when there is another page: pass it back as `next_token`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// What a token is bound to: the list query it continues.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope(String);

impl Scope {
    /// The query `route` (e.g. `GET /orders`) runs on `index` (the table's own key: `table`)
    /// within `partition` (the caller's id, a category, ...).
    #[must_use]
    pub fn new(route: &str, index: &str, partition: &str) -> Self {
        // Lengths first, so the parts cannot be shifted into one another.
        Self(format!(
            "{}:{route}{}:{index}{}:{partition}",
            route.len(),
            index.len(),
            partition.len()
        ))
    }
}

/// Why a cursor could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    /// The secret is too short to be safe.
    #[error("the cursor secret must be at least {MIN_SECRET_BYTES} bytes")]
    SecretTooShort,
    /// A key attribute is neither a string nor a number (no table here has such keys).
    #[error("key attribute {0} is neither a string nor a number")]
    UnsupportedKey(String),
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum KeyValue {
    S { s: String },
    N { n: String },
}

/// Seals and opens `next_token`s. Build once per cold start.
#[derive(Clone)]
pub struct Cursors {
    key: hmac::Key,
}

impl std::fmt::Debug for Cursors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cursors(<redacted>)")
    }
}

impl Cursors {
    /// Cursors signed with `secret` (the stack's cursor secret, random, at least
    /// [`MIN_SECRET_BYTES`]).
    ///
    /// # Errors
    /// [`CursorError::SecretTooShort`].
    pub fn from_secret(secret: &[u8]) -> Result<Self, CursorError> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(CursorError::SecretTooShort);
        }
        Ok(Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        })
    }

    /// Cursors signed with the secret named by [`CURSOR_SECRET_VARIABLE`], read once at cold
    /// start.
    ///
    /// # Errors
    /// The secret cannot be read or is too short.
    pub async fn from_secrets_manager(config: &aws_config::SdkConfig) -> anyhow::Result<Self> {
        let secret = crate::config::secret_string(config, CURSOR_SECRET_VARIABLE).await?;
        Ok(Self::from_secret(secret.as_bytes())?)
    }

    /// A `next_token` for `key`, bound to `scope`.
    ///
    /// # Errors
    /// [`CursorError::UnsupportedKey`]: never for the keys of this project's tables; an error,
    /// not a silent "last page", if one ever is.
    pub fn seal_key(&self, scope: &Scope, key: &StartKey) -> Result<String, CursorError> {
        // Sorted, so the same key always gives the same token.
        let plain = key
            .iter()
            .map(|(name, value)| {
                let value = match value {
                    AttributeValue::S(s) => KeyValue::S { s: s.clone() },
                    AttributeValue::N(n) => KeyValue::N { n: n.clone() },
                    _ => return Err(CursorError::UnsupportedKey(name.clone())),
                };
                Ok((name.as_str(), value))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()?;
        // Serialising a map of strings cannot fail.
        let json = serde_json::to_vec(&plain).unwrap_or_default();
        let tag = hmac::sign(&self.key, &signing_input(scope, &json));
        let mut bytes = Vec::with_capacity(TAG_LEN + json.len());
        bytes.extend_from_slice(tag.as_ref());
        bytes.extend_from_slice(&json);
        Ok(format!("{VERSION}{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The response page for `page`: its items and, when there are more, a token bound to
    /// `scope`.
    ///
    /// # Errors
    /// See [`seal_key`](Self::seal_key).
    pub fn seal<T>(&self, scope: &Scope, page: KeyPage<T>) -> Result<Page<T>, CursorError> {
        let next_token = page
            .last_key
            .map(|key| self.seal_key(scope, &key))
            .transpose()?;
        Ok(Page {
            items: page.items,
            next_token,
        })
    }

    /// One page of a list route, read the same way on every route: `limit` and `next_token`
    /// from the request's query, the page read from where the caller's token left off
    /// (`read(limit, start)`), each item shown through `view`, and the next token sealed to
    /// `scope`.
    ///
    /// # Errors
    /// A bad `limit` (422) or token (400) as a [`Problem`]; what `read` fails with, and a
    /// position that cannot be sealed, as `anyhow::Error`.
    pub async fn list_page<T, V, E>(
        &self,
        request: &lambda_http::Request,
        scope: &Scope,
        read: impl AsyncFnOnce(i32, Option<StartKey>) -> anyhow::Result<KeyPage<T>>,
        view: impl Fn(&T) -> V,
    ) -> Result<Page<V>, E>
    where
        E: From<Problem> + From<anyhow::Error>,
    {
        let limit = parse_limit(crate::http::query_param(request, "limit").as_deref())?;
        let token = crate::http::query_param(request, "next_token");
        let start = self.open(scope, token.as_deref())?;
        let page = self
            .seal(scope, read(limit, start).await?)
            .map_err(anyhow::Error::new)?;
        Ok(Page {
            items: page.items.iter().map(view).collect(),
            next_token: page.next_token,
        })
    }

    /// The start key a client's `next_token` stands for, if it was sealed for `scope`; `None`
    /// (the first page) without a token.
    ///
    /// # Errors
    /// A 400 problem for a token that is malformed, altered, of an unknown version or issued
    /// for another query.
    pub fn open(&self, scope: &Scope, token: Option<&str>) -> Result<Option<StartKey>, Problem> {
        let Some(token) = token else {
            return Ok(None);
        };
        let invalid = || {
            Problem::bad_request(
                "next_token is not valid for this list; pass the value from the previous page \
                 of the same query unchanged",
            )
        };
        if token.len() > MAX_TOKEN_LEN {
            return Err(invalid());
        }
        let body = token.strip_prefix(VERSION).ok_or_else(invalid)?;
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| invalid())?;
        if bytes.len() < TAG_LEN {
            return Err(invalid());
        }
        let (tag, json) = bytes.split_at(TAG_LEN);
        // The library's verify compares in constant time.
        hmac::verify(&self.key, &signing_input(scope, json), tag).map_err(|_| invalid())?;
        let plain: HashMap<String, KeyValue> =
            serde_json::from_slice(json).map_err(|_| invalid())?;
        Ok(Some(
            plain
                .into_iter()
                .map(|(name, value)| {
                    let value = match value {
                        KeyValue::S { s } => AttributeValue::S(s),
                        KeyValue::N { n } => AttributeValue::N(n),
                    };
                    (name, value)
                })
                .collect(),
        ))
    }
}

/// Pages as a DynamoDB `Query` with `Limit` does, for the memory adapters: `items` are
/// `(position, item)` pairs in any order; the page holds, in ascending position, the first
/// `limit` items after `after` (the position of the start key), and the key of its last item
/// (`key_of`) when more remain. Use `std::cmp::Reverse` positions for a descending query.
pub fn page_in_memory<P: Ord, T>(
    items: impl IntoIterator<Item = (P, T)>,
    after: Option<&P>,
    limit: i32,
    key_of: impl Fn(&T) -> StartKey,
) -> KeyPage<T> {
    let mut rest: Vec<(P, T)> = items
        .into_iter()
        .filter(|(position, _)| after.is_none_or(|after| position > after))
        .collect();
    rest.sort_by(|(a, _), (b, _)| a.cmp(b));
    let take = usize::try_from(limit.max(0)).unwrap_or(usize::MAX);
    let more = rest.len() > take;
    let items: Vec<T> = rest.into_iter().take(take).map(|(_, item)| item).collect();
    let last_key = if more { items.last().map(key_of) } else { None };
    KeyPage { items, last_key }
}

/// What the MAC covers, in one buffer, for [`hmac::verify`].
fn signing_input(scope: &Scope, key_json: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(DOMAIN.len() + scope.0.len() + 1 + key_json.len());
    input.extend_from_slice(DOMAIN);
    input.extend_from_slice(scope.0.as_bytes());
    input.push(0);
    input.extend_from_slice(key_json);
    input
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

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn cursors() -> Cursors {
        Cursors::from_secret(SECRET).unwrap()
    }

    fn orders_of(customer: &str) -> Scope {
        Scope::new("GET /orders", "by-customer", customer)
    }

    fn key(pk: &str, placed: i64) -> StartKey {
        HashMap::from([
            ("pk".to_owned(), AttributeValue::S(pk.to_owned())),
            ("sk".to_owned(), AttributeValue::S("ORDER".to_owned())),
            ("placed".to_owned(), AttributeValue::N(placed.to_string())),
        ])
    }

    #[test]
    fn the_last_page_has_no_token_and_no_token_is_the_first_page() {
        let page = cursors()
            .seal(
                &orders_of("c1"),
                KeyPage {
                    items: vec![1, 2],
                    last_key: None,
                },
            )
            .unwrap();
        assert_eq!(
            page,
            Page {
                items: vec![1, 2],
                next_token: None
            }
        );
        assert_eq!(cursors().open(&orders_of("c1"), None).unwrap(), None);
    }

    #[test]
    fn a_token_opens_to_its_key_in_the_query_it_was_issued_for() {
        let token = cursors()
            .seal_key(&orders_of("c1"), &key("O#1", 5))
            .unwrap();
        assert!(token.starts_with('1'));
        assert_eq!(
            cursors().open(&orders_of("c1"), Some(&token)).unwrap(),
            Some(key("O#1", 5))
        );
    }

    #[test]
    fn a_token_of_another_customer_index_or_route_is_a_400() {
        let token = cursors()
            .seal_key(&orders_of("c1"), &key("O#1", 5))
            .unwrap();
        for other in [
            orders_of("c2"),
            Scope::new("GET /orders", "table", "c1"),
            Scope::new("GET /notifications", "by-customer", "c1"),
            // The lengths keep "a:bc" and "ab:c" apart.
            Scope::new("GET /orders", "by-custome", "rc1"),
        ] {
            assert_eq!(
                cursors().open(&other, Some(&token)).unwrap_err().status,
                400,
                "{other:?}"
            );
        }
    }

    #[test]
    fn a_token_signed_with_another_secret_is_a_400() {
        let other = Cursors::from_secret(b"another-secret-another-secret-xx").unwrap();
        let token = other.seal_key(&orders_of("c1"), &key("O#1", 5)).unwrap();
        assert_eq!(
            cursors()
                .open(&orders_of("c1"), Some(&token))
                .unwrap_err()
                .status,
            400
        );
    }

    #[test]
    fn a_token_with_a_forged_key_is_a_400() {
        // The attack the old unsigned token allowed: right attribute names, another customer's
        // partition or values of the wrong type.
        let token = cursors()
            .seal_key(&orders_of("c1"), &key("O#1", 5))
            .unwrap();
        let bytes = URL_SAFE_NO_PAD.decode(&token[1..]).unwrap();
        let (tag, json) = bytes.split_at(TAG_LEN);
        for forged_json in [
            String::from_utf8(json.to_vec())
                .unwrap()
                .replace("O#1", "O#2"),
            r#"{"pk":{"n":"1"},"placed":{"n":"5"},"sk":{"s":"ORDER"}}"#.to_owned(),
            r#"{"pk":{"s":""},"placed":{"n":"5"},"sk":{"s":""}}"#.to_owned(),
        ] {
            let mut forged = tag.to_vec();
            forged.extend_from_slice(forged_json.as_bytes());
            let forged = format!("1{}", URL_SAFE_NO_PAD.encode(forged));
            assert_eq!(
                cursors()
                    .open(&orders_of("c1"), Some(&forged))
                    .unwrap_err()
                    .status,
                400,
                "{forged_json}"
            );
        }
    }

    #[test]
    fn garbage_and_other_versions_are_a_400() {
        let token = cursors()
            .seal_key(&orders_of("c1"), &key("O#1", 5))
            .unwrap();
        let other_version = format!("2{}", &token[1..]);
        let truncated = &token[..token.len() - 4];
        for bad in [
            "",
            "1",
            "!!!",
            "1e30",
            &"1A".repeat(2000),
            &other_version,
            truncated,
        ] {
            assert_eq!(
                cursors()
                    .open(&orders_of("c1"), Some(bad))
                    .unwrap_err()
                    .status,
                400,
                "{bad}"
            );
        }
    }

    #[test]
    fn a_key_that_cannot_be_sealed_is_an_error_not_a_last_page() {
        let key = HashMap::from([("pk".to_owned(), AttributeValue::Bool(true))]);
        let result = cursors().seal(
            &orders_of("c1"),
            KeyPage {
                items: vec![1],
                last_key: Some(key),
            },
        );
        assert!(matches!(result, Err(CursorError::UnsupportedKey(name)) if name == "pk"));
    }

    #[test]
    fn a_short_secret_is_refused_and_debug_hides_the_key() {
        assert!(matches!(
            Cursors::from_secret(b"short"),
            Err(CursorError::SecretTooShort)
        ));
        assert_eq!(format!("{:?}", cursors()), "Cursors(<redacted>)");
    }

    #[test]
    fn limit_defaults_and_is_bounded() {
        assert_eq!(parse_limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(parse_limit(Some("100")).unwrap(), 100);
        for bad in ["0", "101", "-1", "ten", ""] {
            assert_eq!(parse_limit(Some(bad)).unwrap_err().status, 422, "{bad}");
        }
    }

    #[test]
    fn memory_pages_follow_the_position_and_end_without_a_key() {
        let items = [(3, "c"), (1, "a"), (4, "d"), (2, "b")];
        let key_of =
            |item: &&str| HashMap::from([("pk".to_owned(), AttributeValue::S((*item).to_owned()))]);
        let first = page_in_memory(items, None, 2, key_of);
        assert_eq!(first.items, ["a", "b"]);
        assert_eq!(first.last_key, Some(key_of(&"b")));
        let second = page_in_memory(items, Some(&2), 2, key_of);
        assert_eq!(second.items, ["c", "d"]);
        assert_eq!(second.last_key, None, "nothing after d");
        let descending = page_in_memory(
            items.map(|(p, i)| (std::cmp::Reverse(p), i)),
            None,
            3,
            key_of,
        );
        assert_eq!(descending.items, ["d", "c", "b"]);
    }

    proptest! {
        #[test]
        fn a_token_is_url_safe_and_opens_to_the_key_it_sealed(pk in "\\PC{0,40}", placed in any::<i64>(), customer in "\\PC{0,20}") {
            let original = key(&pk, placed);
            let scope = orders_of(&customer);
            let token = cursors().seal_key(&scope, &original).unwrap();
            prop_assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            prop_assert_eq!(cursors().open(&scope, Some(&token)).unwrap(), Some(original));
        }

        #[test]
        fn opening_arbitrary_text_never_panics_and_is_a_400(token in "\\PC{0,200}") {
            prop_assert_eq!(cursors().open(&orders_of("c1"), Some(&token)).unwrap_err().status, 400);
        }
    }
}
