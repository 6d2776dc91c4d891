//! lambda_http glue for orders-api: `POST /orders` (with `Idempotency-Key`), `GET /orders`,
//! `GET /orders/{id}`, `POST /orders/{id}/cancel`; errors mapped to problems in one place.

use chrono::{DateTime, Utc};
use lambda_http::http::header::{HeaderValue, LOCATION};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::auth::JwtKeys;
use shared::envelope::Trace;
use shared::events::OrderLine;
use shared::http::{
    FieldError, IntoProblem, Problem, json_response, parse_json, respond, unexpected,
};
use shared::money::Money;
use shared::openapi::{Access, ApiDoc};
use shared::pagination::{Cursors, Page, Scope};
use shared::router::{Route, Router};
use uuid::Uuid;

use crate::domain::{IdempotencyKey, NewOrderLine, Order, OrderError, OrderState, PaymentToken};
use crate::ports::{Checkout, OrderHistory, Orders, PaymentError, PaymentGateway};
use crate::service::{self, OrderAccessError, PlaceOrderError};

/// What a 503 asks the client to wait: throttling, contention and a gateway blip all pass in
/// moments, and a client that waits at least this long does not add to them.
const RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// A 503 for a condition that passes: logged as a warning (not an error: nothing is broken),
/// the cause never shown to the client.
fn unavailable(cause: &dyn std::fmt::Display) -> Problem {
    tracing::warn!(cause = %cause, "answered 503");
    Problem::service_unavailable(
        "the service is busy; retry the same request after the Retry-After delay",
        RETRY_AFTER,
    )
}

/// Everything orders-api needs, built once per cold start.
#[derive(Debug)]
pub struct OrdersApi<R, G> {
    pub repo: R,
    pub gateway: G,
    pub keys: JwtKeys,
    pub cursors: Cursors,
}

/// One line of a new order: the price is the service's, never the client's.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NewOrderLine")]
struct LineBody {
    product_id: Uuid,
    #[schemars(range(min = 1, max = 100))]
    quantity: u32,
}

/// `POST /orders`: what to buy and how to pay.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NewOrder")]
struct PlaceBody {
    /// 1 to 50 lines, all products in one currency.
    #[schemars(length(min = 1, max = 50))]
    lines: Vec<LineBody>,
    /// A card token from the payment provider's SDK. The simulator's: `tok_visa` and
    /// `tok_mastercard` approve, `tok_chargeDeclined` declines, `tok_fail_once` fails once.
    #[schemars(length(min = 3, max = 100), regex(pattern = r"^[!-~]+$"))]
    payment_token: String,
}

/// An order as its owner sees it (never the payment token).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[schemars(rename = "Order")]
pub struct OrderView {
    pub id: Uuid,
    /// `PENDING` (waiting for stock, then payment), `CONFIRMED`, `REJECTED` or `CANCELLED`.
    #[schemars(extend("enum" = ["PENDING", "CONFIRMED", "REJECTED", "CANCELLED"]))]
    pub status: String,
    /// Why it was rejected (`out_of_stock`) or cancelled (`customer`, `payment_declined`).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["out_of_stock", "customer", "payment_declined"]))]
    pub reason: Option<String>,
    pub lines: Vec<OrderLine>,
    pub total: Money,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refunded: Option<Money>,
    pub placed_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Order> for OrderView {
    fn from(order: &Order) -> Self {
        let reason = match order.state {
            OrderState::Rejected(reason) => serde_json::to_value(reason).ok(),
            OrderState::Cancelled(reason) => serde_json::to_value(reason).ok(),
            OrderState::Pending | OrderState::Confirmed => None,
        }
        .and_then(|value| value.as_str().map(str::to_owned));
        Self {
            id: order.id,
            status: order.state.status().to_owned(),
            reason,
            lines: order.lines.clone(),
            total: order.total,
            refunded: order.refunded,
            placed_at: order.placed_at,
            updated_at: order.updated_at,
        }
    }
}

/// What orders-api does for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiRoute {
    Place,
    List,
    Get,
    Cancel,
}

/// orders-api's routes: the template's `RouteKey`s for this function.
pub static ROUTES: Router<ApiRoute> = Router(&[
    Route::new(Method::POST, "/orders", ApiRoute::Place),
    Route::new(Method::GET, "/orders", ApiRoute::List),
    Route::new(Method::GET, "/orders/{id}", ApiRoute::Get),
    Route::new(Method::POST, "/orders/{id}/cancel", ApiRoute::Cancel),
]);

/// Every way a request can fail, mapped to a response in [`ApiError::into_problem`] only.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error(transparent)]
    Place(#[from] PlaceOrderError),
    #[error(transparent)]
    Access(#[from] OrderAccessError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

fn order_problem(err: OrderError) -> Problem {
    match err {
        OrderError::LineCount => Problem::invalid_field("lines", err.to_string()),
        OrderError::Quantity { index } => Problem::invalid_field(
            format!("lines[{index}].quantity"),
            "must be between 1 and 100",
        ),
        OrderError::NotForSale(lines) => Problem::validation(
            lines
                .into_iter()
                .map(|(index, product_id)| {
                    FieldError::new(
                        format!("lines[{index}].product_id"),
                        format!("product {product_id} is not for sale"),
                    )
                })
                .collect(),
        ),
        OrderError::MixedCurrencies => Problem::invalid_field("lines", err.to_string()),
        OrderError::Money(_) => Problem::invalid_field("lines", "the order total is too large"),
    }
}

impl IntoProblem for ApiError {
    fn into_problem(self, request_id: &str) -> Problem {
        match self {
            Self::Problem(problem) => problem,
            Self::Place(PlaceOrderError::KeyReused) => Problem::invalid_field(
                "Idempotency-Key",
                "was already used for a different request; use a new key",
            ),
            Self::Place(PlaceOrderError::Invalid(err)) => order_problem(err),
            Self::Access(OrderAccessError::NotFound) => Problem::not_found("no such order"),
            Self::Access(OrderAccessError::Refused(why)) => Problem::conflict(why),
            Self::Place(PlaceOrderError::Unavailable(why))
            | Self::Access(OrderAccessError::Unavailable(why)) => unavailable(&why),
            Self::Access(OrderAccessError::Payment(PaymentError::Transient(err))) => {
                unavailable(&format_args!("payment gateway: {err:#}"))
            }
            Self::Access(OrderAccessError::Payment(err)) => {
                unexpected(&anyhow::Error::new(err), request_id)
            }
            Self::Place(PlaceOrderError::Unexpected(err))
            | Self::Access(OrderAccessError::Unexpected(err))
            | Self::Unexpected(err) => unexpected(&err, request_id),
        }
    }
}

fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => &[],
    }
}

impl<R: Orders + Checkout + OrderHistory, G: PaymentGateway> OrdersApi<R, G> {
    /// Handles one API Gateway request. Never fails: every error is a problem response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        respond(request, |request, trace| async move {
            self.route(&request, trace).await
        })
        .await
    }

    async fn route(&self, request: &Request, trace: Trace) -> Result<Response<Body>, ApiError> {
        let (route, params) = ROUTES.route(request)?;
        let identity = self.keys.authenticate(request)?;
        let customer_id = Uuid::parse_str(&identity.user_id)
            .map_err(|_| Problem::unauthorized("the bearer token is invalid or expired"))?;
        // An id that is not an order id names no order (after authentication, as for any id).
        let order_id = || {
            params
                .get("id")
                .and_then(|id| Uuid::parse_str(id).ok())
                .ok_or_else(|| ApiError::from(Problem::not_found("no such order")))
        };
        match route {
            ApiRoute::Place => self.place(request, customer_id, trace).await,
            ApiRoute::List => self.list(request, customer_id).await,
            ApiRoute::Get => {
                let order = service::get_order(&self.repo, customer_id, order_id()?).await?;
                Ok(json_response(StatusCode::OK, &OrderView::from(&order)))
            }
            ApiRoute::Cancel => {
                let order = service::cancel_order(
                    &self.repo,
                    &self.gateway,
                    customer_id,
                    order_id()?,
                    trace,
                )
                .await?;
                Ok(json_response(StatusCode::OK, &OrderView::from(&order)))
            }
        }
    }

    async fn place(
        &self,
        request: &Request,
        customer_id: Uuid,
        trace: Trace,
    ) -> Result<Response<Body>, ApiError> {
        let raw_key = request.headers().get("idempotency-key").ok_or_else(|| {
            Problem::bad_request(
                "an Idempotency-Key header is required (any unique string per order)",
            )
        })?;
        let body = body_bytes(request);
        let key = raw_key
            .to_str()
            .ok()
            .and_then(|raw| IdempotencyKey::parse(raw, body))
            .ok_or_else(|| {
                Problem::bad_request("Idempotency-Key must be 1 to 255 visible ASCII characters")
            })?;
        let parsed: PlaceBody = parse_json(request)?;
        let token = PaymentToken::parse(&parsed.payment_token).ok_or_else(|| {
            Problem::invalid_field("payment_token", "must be a card token such as tok_visa")
        })?;
        let lines: Vec<NewOrderLine> = parsed
            .lines
            .iter()
            .map(|l| NewOrderLine {
                product_id: l.product_id,
                quantity: l.quantity,
            })
            .collect();
        let (order, created) =
            service::place_order(&self.repo, customer_id, &key, &lines, token, trace).await?;
        let status = if created {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        };
        let mut response = json_response(status, &OrderView::from(&order));
        if let Ok(location) = HeaderValue::from_str(&format!("/orders/{}", order.id)) {
            response.headers_mut().insert(LOCATION, location);
        }
        Ok(response)
    }

    async fn list(&self, request: &Request, customer_id: Uuid) -> Result<Response<Body>, ApiError> {
        // A customer's token continues only that customer's list.
        let scope = Scope::new("GET /orders", "by-customer", &customer_id.to_string());
        let page = self
            .cursors
            .list_page::<_, _, ApiError>(
                request,
                &scope,
                async |limit, start| {
                    service::list_orders(&self.repo, customer_id, limit, start).await
                },
                |order| OrderView::from(order),
            )
            .await?;
        Ok(json_response(StatusCode::OK, &page))
    }
}

fn order_example() -> serde_json::Value {
    json!({
        "id": "9d7c5b3a-1e2f-4a6b-8c9d-0e1f2a3b4c5d",
        "status": "PENDING",
        "lines": [{
            "product_id": "3f0b9a2e-1c4d-4e5f-8a6b-7c8d9e0f1a2b",
            "quantity": 2,
            "unit_price": {"amount_minor": 1299, "currency": "EUR"}
        }],
        "total": {"amount_minor": 2598, "currency": "EUR"},
        "placed_at": "2026-11-26T10:15:00Z",
        "updated_at": "2026-11-26T10:15:00Z"
    })
}

/// Describes orders-api's routes (the ones [`OrdersApi::handle`] routes) in the OpenAPI
/// document. Placing an order links to reading and cancelling it.
pub fn describe_api(doc: &mut ApiDoc) {
    const ID: &str = "9d7c5b3a-1e2f-4a6b-8c9d-0e1f2a3b4c5d";
    let not_yours = "No such order (also for another customer's order).";
    doc.operation("POST", "/orders", "placeOrder", "Place an order")
        .tag("orders")
        .description(
            "Idempotent by `Idempotency-Key`: the same key with the same body answers 200 with \
             the same order. Prices come from the service's own catalog snapshots. The order \
             starts `PENDING`; stock, then payment, move it on. Records `OrderPlaced`.",
        )
        .access(Access::User)
        .header_param(
            "Idempotency-Key",
            true,
            "Any unique string per order, 1 to 255 visible ASCII characters.",
            json!({"type": "string", "pattern": "^[!-~]{1,255}$"}),
            "order-2026-11-26-0001",
        )
        .json_body::<PlaceBody>(json!({
            "lines": [{"product_id": "3f0b9a2e-1c4d-4e5f-8a6b-7c8d9e0f1a2b", "quantity": 2}],
            "payment_token": "tok_visa"
        }))
        .response::<OrderView>(201, "The new order, PENDING.", order_example())
        .response_header(201, "Location", Some("Location"), json!({}))
        .response::<OrderView>(200, "The order this key already placed, unchanged.", order_example())
        .response_header(200, "Location", Some("Location"), json!({}))
        .link(201, "GetOrder", "getOrder", json!({"id": "$response.body#/id"}))
        .link(201, "CancelOrder", "cancelOrder", json!({"id": "$response.body#/id"}))
        .problem(400, "The body is not JSON, or Idempotency-Key is missing or invalid.")
        .problem(
            422,
            "A field is invalid, a product is unknown or archived (per line), the currencies \
             differ, or the key was used for another body.",
        )
        .problem(503, "Prices cannot be read now or the key is contended; retry with the same key after Retry-After.")
        .add();
    doc.operation(
        "GET",
        "/orders",
        "listOrders",
        "The caller's orders, newest first",
    )
    .tag("orders")
    .access(Access::User)
    .paginated()
    .response::<Page<OrderView>>(
        200,
        "One page of orders.",
        json!({"items": [order_example()]}),
    )
    .add();
    doc.operation(
        "GET",
        "/orders/{id}",
        "getOrder",
        "One of the caller's orders",
    )
    .tag("orders")
    .access(Access::User)
    .uuid_path_param("id", "The order id.", ID)
    .response::<OrderView>(200, "The order.", order_example())
    .problem(404, not_yours)
    .add();
    doc.operation("POST", "/orders/{id}/cancel", "cancelOrder", "Cancel one of the caller's orders (idempotent)")
        .tag("orders")
        .description(
            "A charged order is refunded (`refunded`). Records `OrderCancelled`. Rejected \
             orders cannot be cancelled.",
        )
        .access(Access::User)
        .uuid_path_param("id", "The order id.", ID)
        .response::<OrderView>(200, "The order, CANCELLED.", order_example())
        .problem(404, not_yours)
        .problem(409, "The order was rejected.")
        .problem(503, "The refund cannot be made now (the order is unchanged) or the order keeps changing; retry after Retry-After.")
        .add();
}
