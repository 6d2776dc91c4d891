//! Sends notifications as email with Amazon SES (v2 `SendEmail`, simple content, text part).

use anyhow::Context as _;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as SesMessage};

use crate::domain::Message;
use crate::ports::{NotificationSender, SendError};

/// SES from a verified sender address.
#[derive(Clone, Debug)]
pub struct SesSender {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl SesSender {
    #[must_use]
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Self {
            client,
            from: from.into(),
        }
    }

    async fn send_email(&self, to: &str, message: &Message) -> anyhow::Result<String> {
        let text = |value: &str| {
            Content::builder()
                .data(value)
                .charset("UTF-8")
                .build()
                .context("building SES content")
        };
        let email = EmailContent::builder()
            .simple(
                SesMessage::builder()
                    .subject(text(&message.subject)?)
                    .body(Body::builder().text(text(&message.body)?).build())
                    .build(),
            )
            .build();
        let output = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(email)
            .send()
            .await
            .context("SES SendEmail")?;
        output
            .message_id()
            .map(str::to_owned)
            .context("SES returned no message id")
    }
}

impl NotificationSender for SesSender {
    async fn send(&self, to: &str, message: &Message) -> Result<String, SendError> {
        self.send_email(to, message).await.map_err(SendError)
    }
}
