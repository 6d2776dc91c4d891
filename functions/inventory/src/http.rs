//! lambda_http glue for inventory-api: `GET /inventory/{productId}` (public) and
//! `PUT /inventory/{productId}` (admin: set or adjust what is on hand).

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::auth::JwtKeys;
use shared::http::{IntoProblem, Problem, json_response, parse_json, respond, unexpected};
use shared::openapi::{Access, ApiDoc};
use shared::router::{Route, Router};
use uuid::Uuid;

use crate::domain::{StockChange, StockChangeError, StockLevel};
use crate::ports::{ChangeStockError, StockAdjustments, StockLevels};
use crate::service;

/// Everything inventory-api needs, built once per cold start.
#[derive(Debug)]
pub struct InventoryApi<S> {
    pub store: S,
    pub keys: JwtKeys,
}

/// `{"on_hand": 25}` sets, `{"adjust": -3}` adjusts; exactly one of them.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "StockChange", extend("minProperties" = 1, "maxProperties" = 1))]
struct PutBody {
    /// Sets the units on hand.
    on_hand: Option<u32>,
    /// Adds (positive) or removes (negative) units on hand.
    adjust: Option<i64>,
}

/// Stock as the API shows it.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[schemars(rename = "Stock")]
pub struct StockView {
    pub product_id: Uuid,
    pub on_hand: u64,
    pub available: u32,
    pub reserved: u32,
}

impl From<StockLevel> for StockView {
    fn from(level: StockLevel) -> Self {
        Self {
            product_id: level.product_id,
            on_hand: level.on_hand(),
            available: level.available,
            reserved: level.reserved,
        }
    }
}

impl IntoProblem for ApiError {
    fn into_problem(self, request_id: &str) -> Problem {
        let err = match self {
            Self::Problem(problem) => return problem,
            Self::Stock(err) => err,
        };
        match err {
            ChangeStockError::NotFound => {
                Problem::not_found("inventory has no stock record for this product")
            }
            ChangeStockError::Refused(StockChangeError::BelowReserved { reserved }) => {
                Problem::conflict(format!(
                    "stock cannot go below the {reserved} units reserved for orders"
                ))
            }
            ChangeStockError::Refused(StockChangeError::TooLarge) => {
                Problem::invalid_field("on_hand", "is too large")
            }
            ChangeStockError::Conflict => {
                Problem::conflict("stock is changing concurrently; try again")
            }
            ChangeStockError::Unexpected(err) => unexpected(&err, request_id),
        }
    }
}

impl<S: StockLevels + StockAdjustments> InventoryApi<S> {
    /// Handles one API Gateway request. Never fails: every error is a problem response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        respond(request, |request, _trace| async move {
            self.route(&request).await
        })
        .await
    }

    async fn route(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let (route, params) = ROUTES.route(request)?;
        let product_id = params
            .get("productId")
            .and_then(|id| Uuid::parse_str(id).ok())
            .ok_or_else(|| Problem::not_found("inventory has no stock record for this product"))?;
        match route {
            ApiRoute::Get => {
                let level = service::get_stock(&self.store, product_id).await?;
                Ok(json_response(StatusCode::OK, &StockView::from(level)))
            }
            ApiRoute::Put => {
                self.keys.authenticate(request)?.require_admin()?;
                let change = match parse_json::<PutBody>(request)? {
                    PutBody {
                        on_hand: Some(units),
                        adjust: None,
                    } => StockChange::SetOnHand(units),
                    PutBody {
                        on_hand: None,
                        adjust: Some(delta),
                    } => StockChange::Adjust(delta),
                    _ => {
                        return Err(Problem::invalid_field(
                            "body",
                            "send exactly one of on_hand (set) or adjust (add or remove)",
                        )
                        .into());
                    }
                };
                let level = service::change_stock(&self.store, product_id, change).await?;
                tracing::info!(%product_id, available = level.available, reserved = level.reserved, "stock changed");
                Ok(json_response(StatusCode::OK, &StockView::from(level)))
            }
        }
    }
}

/// What inventory-api does for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiRoute {
    Get,
    Put,
}

/// inventory-api's routes: the template's `RouteKey`s for this function.
pub static ROUTES: Router<ApiRoute> = Router(&[
    Route::new(Method::GET, "/inventory/{productId}", ApiRoute::Get),
    Route::new(Method::PUT, "/inventory/{productId}", ApiRoute::Put),
]);

/// Every way a request can fail, mapped to a response in [`ApiError::into_problem`] only.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error(transparent)]
    Stock(#[from] ChangeStockError),
}

/// Describes inventory-api's routes (the ones [`InventoryApi::handle`] routes) in the OpenAPI
/// document.
pub fn describe_api(doc: &mut ApiDoc) {
    const ID: &str = "3f0b9a2e-1c4d-4e5f-8a6b-7c8d9e0f1a2b";
    let stock = json!({"product_id": ID, "on_hand": 25, "available": 22, "reserved": 3});
    doc.operation("GET", "/inventory/{productId}", "getStock", "A product's stock")
        .tag("inventory")
        .description("`on_hand` = `available` + `reserved` (units held for pending orders).")
        .access(Access::Anyone)
        .uuid_path_param("productId", "The product id.", ID)
        .response::<StockView>(200, "The stock.", stock.clone())
        .problem(404, "Inventory has no stock record for this product (yet: it is made when the product is created).")
        .add();
    doc.operation("PUT", "/inventory/{productId}", "setStock", "Set or adjust the units on hand")
        .tag("inventory")
        .description("Send exactly one of `on_hand` (set) or `adjust` (add or remove).")
        .access(Access::Admin)
        .uuid_path_param("productId", "The product id.", ID)
        .json_body::<PutBody>(json!({"on_hand": 25}))
        .response::<StockView>(200, "The stock as it is now.", stock)
        .problem(404, "Inventory has no stock record for this product.")
        .problem(409, "The change would leave fewer units than are reserved, or the stock is changing concurrently.")
        .add();
}
