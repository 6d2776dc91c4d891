//! The typed contracts of every event in the system (docs/design.md, "Services" table).
//!
//! Each payload is a plain serde type implementing [`Event`]; [`DomainEvent`] is the closed set a
//! consumer decodes into. The contracts know nothing of schema tooling: with the `json-schema`
//! feature they also derive schemars' `JsonSchema`, and the `event-schemas` crate generates the
//! JSON Schemas checked in under `events/schemas/` from them; its test fails when the two drift
//! apart.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::money::Money;

/// The service that published an event (the envelope's `source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// users-api
    Users,
    /// products-api
    Products,
    /// inventory-worker
    Inventory,
    /// orders-api and orders-worker
    Orders,
}

/// A payload that travels in an [`crate::envelope::EventEnvelope`].
pub trait Event: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The envelope's `type`, also the SNS `event_type` message attribute.
    const TYPE: &'static str;
    /// The schema version of this payload; a breaking change gets a new version.
    const VERSION: u32;
    /// The only service allowed to publish it.
    const SOURCE: Source;
}

/// A user account was created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct UserRegistered {
    pub user_id: Uuid,
    /// Normalised email address.
    pub email: String,
    pub name: String,
}

/// A user changed their name or email.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct UserProfileUpdated {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
}

/// What a user may do, as events name it. Its own type rather than the token's role, so the
/// contract changes only when the event does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    Customer,
    Admin,
}

/// An operator granted or revoked a user's admin rights. Tokens issued from then on carry
/// `role`; tokens issued before keep theirs until they expire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct UserRoleChanged {
    pub user_id: Uuid,
    pub role: UserRole,
    pub previous_role: UserRole,
}

/// A product was added to the catalog (active, with stock 0).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct ProductCreated {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub category: String,
    pub price: Money,
    /// Starts at 1; every change increments it so consumers can drop stale updates.
    pub version: u64,
}

/// A product's details or price changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct ProductUpdated {
    pub product_id: Uuid,
    pub sku: String,
    pub name: String,
    pub category: String,
    /// The new price.
    pub price: Money,
    pub version: u64,
}

/// A product was archived: it is no longer sold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct ProductArchived {
    pub product_id: Uuid,
    pub version: u64,
}

/// One priced line of an order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct OrderLine {
    pub product_id: Uuid,
    pub quantity: u32,
    /// Price per unit taken from the orders service's snapshot when the order was placed.
    pub unit_price: Money,
}

/// A quantity of one product, as inventory sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct StockLine {
    pub product_id: Uuid,
    pub quantity: u32,
}

/// A product that could not be reserved in the quantity asked for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct Shortage {
    pub product_id: Uuid,
    pub requested: u32,
    pub available: u32,
}

/// A customer placed an order; saga step 1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct OrderPlaced {
    pub order_id: Uuid,
    pub customer_id: Uuid,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub placed_at: DateTime<Utc>,
}

/// Every line of an order was reserved, atomically; saga step 2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct StockReserved {
    pub order_id: Uuid,
    pub lines: Vec<StockLine>,
}

/// At least one line was short, so nothing was reserved; saga step 2.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct StockReservationFailed {
    pub order_id: Uuid,
    pub unavailable: Vec<Shortage>,
}

/// An order's reservation was returned to available stock; saga step 4.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct StockReleased {
    pub order_id: Uuid,
    pub lines: Vec<StockLine>,
}

/// Payment succeeded; the order is confirmed; saga step 3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct OrderConfirmed {
    pub order_id: Uuid,
    pub customer_id: Uuid,
    pub lines: Vec<OrderLine>,
    pub total: Money,
}

/// Why an order was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum RejectionReason {
    /// Inventory could not reserve every line.
    OutOfStock,
}

/// The order could not be fulfilled; saga step 3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct OrderRejected {
    pub order_id: Uuid,
    pub customer_id: Uuid,
    pub reason: RejectionReason,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    pub unavailable: Vec<Shortage>,
}

/// Why an order was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CancellationReason {
    /// The customer cancelled it.
    Customer,
    /// The payment gateway declined the charge.
    PaymentDeclined,
}

/// The order was cancelled; inventory releases its reservation; saga steps 3 and 5.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct OrderCancelled {
    pub order_id: Uuid,
    pub customer_id: Uuid,
    pub reason: CancellationReason,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    /// What was refunded, when the order had been charged.
    pub refunded: Option<Money>,
}

/// Money taken for an order was given back after the order had already ended and its end was
/// announced: a charge that completed just as the customer cancelled (or inventory rejected)
/// the order. The `OrderCancelled` sent then carried no refund, so this one tells the customer.
/// A refund made by the cancellation itself travels in `OrderCancelled.refunded` instead.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "json-schema", derive(schemars::JsonSchema))]
pub struct OrderRefunded {
    pub order_id: Uuid,
    pub customer_id: Uuid,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    /// What was given back.
    pub refunded: Money,
}

/// Something done once per event type, as a type rather than a value: the JSON Schema
/// generator (the `event-schemas` crate) writes one schema per type. See
/// [`DomainEvent::visit_types`].
#[cfg(feature = "json-schema")]
pub trait EventTypeVisitor {
    /// Called with one event type.
    fn visit<E: Event + schemars::JsonSchema>(&mut self);
}

/// Why an envelope could not be turned into a [`DomainEvent`].
#[derive(Debug, thiserror::Error)]
pub enum ContractError {
    /// The `type` is not one this system knows.
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    /// The `version` is not the one this build understands.
    #[error("{event_type} version {found} is not supported (expected {expected})")]
    UnsupportedVersion {
        event_type: String,
        found: u32,
        expected: u32,
    },
    /// The `data` does not match the contract.
    #[error("{event_type} data does not match its contract: {source}")]
    InvalidData {
        event_type: String,
        #[source]
        source: serde_json::Error,
    },
}

macro_rules! domain_events {
    ($($name:ident => $source:ident),+ $(,)?) => {
        $(
            impl Event for $name {
                const TYPE: &'static str = stringify!($name);
                const VERSION: u32 = 1;
                const SOURCE: Source = Source::$source;
            }
        )+

        /// Every event of the system, decoded from an envelope by its `type`.
        #[derive(Clone, Debug, PartialEq, Eq)]
        #[allow(clippy::large_enum_variant)]
        pub enum DomainEvent {
            $(
                #[doc = concat!("A [`", stringify!($name), "`].")]
                $name($name),
            )+
        }

        impl DomainEvent {
            /// The envelope `type` of this event.
            #[must_use]
            pub fn event_type(&self) -> &'static str {
                match self {
                    $(Self::$name(_) => $name::TYPE,)+
                }
            }

            /// Decodes `data` as the contract named by `event_type` at `version`.
            ///
            /// # Errors
            /// A [`ContractError`] for an unknown type, another version, or data off contract.
            pub fn decode(
                event_type: &str,
                version: u32,
                data: serde_json::Value,
            ) -> Result<Self, ContractError> {
                match event_type {
                    $(
                        $name::TYPE => {
                            if version != $name::VERSION {
                                return Err(ContractError::UnsupportedVersion {
                                    event_type: event_type.to_owned(),
                                    found: version,
                                    expected: $name::VERSION,
                                });
                            }
                            serde_json::from_value(data).map(Self::$name).map_err(|source| {
                                ContractError::InvalidData { event_type: event_type.to_owned(), source }
                            })
                        }
                    )+
                    other => Err(ContractError::UnknownType(other.to_owned())),
                }
            }

            /// Every event type of the system, with its version and publisher.
            pub const TYPES: &[(&'static str, u32, Source)] =
                &[$(($name::TYPE, $name::VERSION, $name::SOURCE),)+];

            /// Calls `visitor` once with each event type of the system.
            #[cfg(feature = "json-schema")]
            pub fn visit_types(visitor: &mut impl EventTypeVisitor) {
                $(visitor.visit::<$name>();)+
            }
        }
    };
}

domain_events! {
    UserRegistered => Users,
    UserProfileUpdated => Users,
    UserRoleChanged => Users,
    ProductCreated => Products,
    ProductUpdated => Products,
    ProductArchived => Products,
    StockReserved => Inventory,
    StockReservationFailed => Inventory,
    StockReleased => Inventory,
    OrderPlaced => Orders,
    OrderConfirmed => Orders,
    OrderRejected => Orders,
    OrderCancelled => Orders,
    OrderRefunded => Orders,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decode_picks_the_contract_named_by_the_type() {
        let id = Uuid::new_v4();
        let event = DomainEvent::decode(
            "ProductArchived",
            1,
            json!({"product_id": id, "version": 3}),
        )
        .unwrap();
        assert_eq!(
            event,
            DomainEvent::ProductArchived(ProductArchived {
                product_id: id,
                version: 3
            })
        );
        assert_eq!(event.event_type(), "ProductArchived");
    }

    #[test]
    fn decode_refuses_unknown_types_other_versions_and_off_contract_data() {
        assert!(matches!(
            DomainEvent::decode("OrderShipped", 1, json!({})),
            Err(ContractError::UnknownType(t)) if t == "OrderShipped"
        ));
        assert!(matches!(
            DomainEvent::decode("ProductArchived", 2, json!({})),
            Err(ContractError::UnsupportedVersion {
                found: 2,
                expected: 1,
                ..
            })
        ));
        assert!(matches!(
            DomainEvent::decode(
                "ProductArchived",
                1,
                json!({"product_id": "not-a-uuid", "version": 1})
            ),
            Err(ContractError::InvalidData { .. })
        ));
    }

    #[test]
    fn every_event_type_has_one_publisher_and_a_unique_name() {
        let mut names: Vec<_> = DomainEvent::TYPES.iter().map(|(name, ..)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), DomainEvent::TYPES.len());
        assert_eq!(names.len(), 14);
    }
}
