//! SQS glue for notifications-worker.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use shared::events::DomainEvent;
use shared::sqs::{UnidentifiableFailure, process_batch};

use crate::domain::render;
use crate::ports::{Consumed, Inbox, NotificationSender, Notifications, Recipients};
use crate::service::{self, NotifyError, Outcome};

/// Records handled concurrently per batch.
pub const CONCURRENCY: usize = 4;

/// Routes one event.
///
/// # Errors
/// [`NotifyError`]: the record is retried, then dead-lettered.
pub async fn handle_event<S: Recipients + Notifications + Inbox, N: NotificationSender>(
    store: &S,
    sender: &N,
    event: Consumed,
) -> Result<Outcome, NotifyError> {
    let outcome = match &event.data {
        DomainEvent::UserRegistered(user) => {
            service::remember_recipient(store, &event, user.user_id, &user.email, &user.name)
                .await?;
            let welcome = user.clone();
            service::notify(store, sender, &event, user.user_id, move |_| {
                render::welcome(&welcome)
            })
            .await?
        }
        DomainEvent::UserProfileUpdated(user) => {
            service::remember_recipient(store, &event, user.user_id, &user.email, &user.name)
                .await?;
            service::acknowledge(store, &event, Outcome::RecipientUpdated).await?
        }
        DomainEvent::OrderConfirmed(order) => {
            let order = order.clone();
            service::notify(store, sender, &event, order.customer_id, move |r| {
                render::confirmed(&r.name, &order)
            })
            .await?
        }
        DomainEvent::OrderRejected(order) => {
            let order = order.clone();
            service::notify(store, sender, &event, order.customer_id, move |r| {
                render::rejected(&r.name, &order)
            })
            .await?
        }
        DomainEvent::OrderCancelled(order) => {
            let order = order.clone();
            service::notify(store, sender, &event, order.customer_id, move |r| {
                render::cancelled(&r.name, &order)
            })
            .await?
        }
        DomainEvent::OrderRefunded(order) => {
            let order = order.clone();
            service::notify(store, sender, &event, order.customer_id, move |r| {
                render::refunded(&r.name, &order)
            })
            .await?
        }
        other => {
            shared::sqs::not_consumed("notifications", other);
            Outcome::Ignored
        }
    };
    shared::sqs::record_outcome(&outcome, outcome == Outcome::Duplicate);
    Ok(outcome)
}

/// Handles a batch from the notifications queue, reporting only the failed records.
///
/// # Errors
/// [`UnidentifiableFailure`].
pub async fn handle_batch<S: Recipients + Notifications + Inbox, N: NotificationSender>(
    store: &S,
    sender: &N,
    event: SqsEvent,
) -> Result<SqsBatchResponse, UnidentifiableFailure> {
    process_batch(event, CONCURRENCY, |envelope| async move {
        handle_event(store, sender, envelope).await.map(|_| ())
    })
    .await
}
