//! A test's own resources on the emulator, deleted when the test ends however it ends:
//! `scoped(async |scope| { let queue = scope.queue("work", &[]).await; ... }).await`. Each is
//! recorded as it is made, so one made before a later step fails is still deleted, and a test
//! cannot forget one.

use std::sync::Mutex;

use aws_sdk_sqs::types::QueueAttributeName;

use crate::{
    IndexSpec, Queue, create_queue, create_service_table_with_indexes, delete_queue, delete_table,
    dynamodb, ses, sns, sqs, unique_name, with_cleanup,
};

/// What a scope made, in order.
#[derive(Debug)]
enum Made {
    Table(String),
    Queue(Queue),
    Topic(String),
    EmailIdentity(String),
}

/// The resources one test made; see [`scoped`].
#[derive(Debug, Default)]
pub struct Scope {
    made: Mutex<Vec<Made>>,
}

/// Runs `body` with a fresh [`Scope`], then deletes everything made through it, newest first,
/// whether `body` returned or panicked; then returns or resumes the panic.
pub async fn scoped<T, F>(body: F) -> T
where
    F: AsyncFnOnce(&Scope) -> T,
{
    let scope = Scope::default();
    with_cleanup(body(&scope), scope.delete_all()).await
}

impl Scope {
    fn record(&self, made: Made) {
        // A test that panicked while holding the lock still gets its resources deleted.
        self.made
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(made);
    }

    /// A service table (see [`create_service_table_with_indexes`]): its name.
    ///
    /// # Panics
    /// When the emulator refuses.
    pub async fn table(&self, prefix: &str, indexes: &[IndexSpec<'_>]) -> String {
        let table = create_service_table_with_indexes(&dynamodb().await, prefix, indexes)
            .await
            .unwrap_or_else(|err| panic!("creating a {prefix} table: {err:#}"));
        self.record(Made::Table(table.clone()));
        table
    }

    /// A standard queue with `attributes`.
    ///
    /// # Panics
    /// When the emulator refuses.
    pub async fn queue(&self, prefix: &str, attributes: &[(QueueAttributeName, String)]) -> Queue {
        let queue = create_queue(&sqs().await, prefix, attributes)
            .await
            .unwrap_or_else(|err| panic!("creating a {prefix} queue: {err:#}"));
        self.record(Made::Queue(queue.clone()));
        queue
    }

    /// An SNS topic: its ARN. Its subscriptions go with it.
    ///
    /// # Panics
    /// When the emulator refuses.
    pub async fn topic(&self, prefix: &str) -> String {
        let arn = sns()
            .await
            .create_topic()
            .name(unique_name(prefix))
            .send()
            .await
            .unwrap_or_else(|err| panic!("creating a {prefix} topic: {err:?}"))
            .topic_arn
            .unwrap_or_else(|| panic!("the {prefix} topic has no ARN"));
        self.record(Made::Topic(arn.clone()));
        arn
    }

    /// A sender address on a domain of its own, verified in the emulator's SES.
    ///
    /// # Panics
    /// When the emulator refuses.
    pub async fn verified_sender(&self) -> String {
        let domain = format!("{}.example.org", unique_name("shop"));
        ses()
            .await
            .create_email_identity()
            .email_identity(&domain)
            .send()
            .await
            .unwrap_or_else(|err| panic!("CreateEmailIdentity {domain}: {err:?}"));
        self.record(Made::EmailIdentity(domain.clone()));
        format!("noreply@{domain}")
    }

    /// Deletes what was made, newest first, logging rather than failing: a cleanup must not mask
    /// the test's own outcome.
    async fn delete_all(&self) {
        let made = std::mem::take(
            &mut *self
                .made
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        {
            for made in made.into_iter().rev() {
                match made {
                    Made::Table(name) => delete_table(&dynamodb().await, &name).await,
                    Made::Queue(queue) => delete_queue(&sqs().await, &queue).await,
                    Made::Topic(arn) => {
                        if let Err(err) = sns().await.delete_topic().topic_arn(&arn).send().await {
                            eprintln!("cleanup: could not delete topic {arn}: {err:?}");
                        }
                    }
                    Made::EmailIdentity(domain) => {
                        let deleted = ses()
                            .await
                            .delete_email_identity()
                            .email_identity(&domain)
                            .send()
                            .await;
                        if let Err(err) = deleted {
                            eprintln!("cleanup: could not delete SES identity {domain}: {err:?}");
                        }
                    }
                }
            }
        }
    }
}

/// Subscribes `queue` to `topic_arn`: raw delivery (the envelope as the body) or SNS-wrapped,
/// with a `filter` policy when given. The subscription is deleted with its topic.
///
/// # Panics
/// When the emulator refuses.
pub async fn subscribe(topic_arn: &str, queue: &Queue, raw: bool, filter: Option<&str>) {
    let mut request = sns()
        .await
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(&queue.arn)
        .attributes("RawMessageDelivery", raw.to_string());
    if let Some(filter) = filter {
        request = request.attributes("FilterPolicy", filter);
    }
    if let Err(err) = request.send().await {
        panic!("subscribing {} to {topic_arn}: {err:?}", queue.arn);
    }
}
