//! Pure order domain: the state machine, the order aggregate and the rules for new orders.

mod order;
mod state;

pub use order::{
    IdempotencyKey, NewOrderLine, Order, OrderError, PaymentToken, check_lines, price_lines,
};
pub use state::{Decision, Effect, OrderState, Trigger, decide};
