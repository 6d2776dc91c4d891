//! lambda_http glue for notifications-api: `GET /notifications`, the caller's own, newest first.

use chrono::{DateTime, Utc};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::auth::JwtKeys;
use shared::http::{IntoProblem, Problem, json_response, respond, unexpected};
use shared::openapi::{Access, ApiDoc};
use shared::pagination::{Cursors, Page, Scope};
use shared::router::{Route, Router};
use uuid::Uuid;

use crate::domain::{Notification, NotificationStatus};
use crate::ports::NotificationHistory;
use crate::service;

/// Everything notifications-api needs, built once per cold start.
#[derive(Debug)]
pub struct NotificationsApi<S> {
    pub store: S,
    pub keys: JwtKeys,
    pub cursors: Cursors,
}

/// A notification as its recipient sees it.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[schemars(rename = "Notification")]
pub struct NotificationView {
    pub event_id: Uuid,
    pub event_type: String,
    pub channel: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub status: NotificationStatus,
    pub created_at: DateTime<Utc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<&Notification> for NotificationView {
    fn from(n: &Notification) -> Self {
        Self {
            event_id: n.event_id,
            event_type: n.event_type.clone(),
            channel: n.channel.clone(),
            recipient: n.recipient.clone(),
            subject: n.message.subject.clone(),
            body: n.message.body.clone(),
            status: n.status,
            created_at: n.created_at,
            sent_at: n.sent_at,
        }
    }
}

impl<S: NotificationHistory> NotificationsApi<S> {
    /// Handles one API Gateway request. Never fails: every error is a problem response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        respond(request, |request, _trace| async move {
            self.route(&request).await
        })
        .await
    }

    async fn route(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let (ApiRoute::List, _) = ROUTES.route(request)?;
        let identity = self.keys.authenticate(request)?;
        let user_id = Uuid::parse_str(&identity.user_id)
            .map_err(|_| Problem::unauthorized("the bearer token is invalid or expired"))?;
        // A user's token continues only that user's list.
        let scope = Scope::new("GET /notifications", "table", &user_id.to_string());
        let page = self
            .cursors
            .list_page::<_, _, ApiError>(
                request,
                &scope,
                async |limit, start| {
                    service::list_notifications(&self.store, user_id, limit, start).await
                },
                |notification| NotificationView::from(notification),
            )
            .await?;
        Ok(json_response(StatusCode::OK, &page))
    }
}

/// What notifications-api does for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiRoute {
    List,
}

/// notifications-api's route: the template's `RouteKey` for this function.
pub static ROUTES: Router<ApiRoute> =
    Router(&[Route::new(Method::GET, "/notifications", ApiRoute::List)]);

/// Every way a request can fail, mapped to a response in [`ApiError::into_problem`] only.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl IntoProblem for ApiError {
    fn into_problem(self, request_id: &str) -> Problem {
        match self {
            Self::Problem(problem) => problem,
            Self::Unexpected(err) => unexpected(&err, request_id),
        }
    }
}

/// Describes notifications-api's route in the OpenAPI document.
pub fn describe_api(doc: &mut ApiDoc) {
    doc.operation(
        "GET",
        "/notifications",
        "listNotifications",
        "The caller's notifications, newest first",
    )
    .tag("notifications")
    .access(Access::User)
    .paginated()
    .response::<Page<NotificationView>>(
        200,
        "One page of notifications.",
        json!({"items": [{
            "event_id": "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
            "event_type": "OrderConfirmed",
            "channel": "email",
            "recipient": "ada@example.org",
            "subject": "Your order is confirmed",
            "body": "Thank you for your order.",
            "status": "sent",
            "created_at": "2026-11-26T10:15:02Z",
            "sent_at": "2026-11-26T10:15:03Z"
        }]}),
    )
    .add();
}
