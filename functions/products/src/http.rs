//! lambda_http glue for products-api: routes, bodies -> commands, results -> responses, and the
//! one mapping from errors to problems.

use chrono::{DateTime, Utc};
use lambda_http::http::header::{ETAG, HeaderValue, IF_MATCH, LOCATION};
use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request, Response};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;
use shared::auth::JwtKeys;
use shared::envelope::Trace;
use shared::http::{
    IntoProblem, Problem, Validation, json_response, parse_json, query_param, respond, unexpected,
};
use shared::money::Money;
use shared::openapi::{Access, ApiDoc};
use shared::pagination::{Cursors, Page, Scope};
use shared::router::{Params, Route, Router};

use crate::domain::{
    Category, Description, Price, Product, ProductChanges, ProductId, ProductName, ProductStatus,
    Sku,
};
use crate::ports::{Catalog, Products};
use crate::service::{self, ChangeError, CreateError, NewProduct};

/// Everything products-api needs, built once per cold start.
#[derive(Debug)]
pub struct ProductsApi<R> {
    pub repo: R,
    pub keys: JwtKeys,
    pub cursors: Cursors,
}

/// What a product name must be, for the document: not blank, no control characters but
/// newlines and tabs (as the domain's `ProductName::parse` says).
const TEXT_PATTERN: &str = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$";

/// A description may be empty; otherwise as [`TEXT_PATTERN`].
const DESCRIPTION_PATTERN: &str = r"^[^\u0000-\u0008\u000b-\u001f\u007f-\u009f]*$";

/// A selling price: 1 to 100 000 000 minor units of an ISO 4217 currency.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "PriceInput")]
struct PriceBody {
    #[schemars(range(min = 1, max = 100_000_000))]
    amount_minor: i64,
    #[schemars(regex(pattern = r"^[A-Z]{3}$"))]
    currency: String,
}

/// `POST /products`: a new catalog entry.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "NewProduct")]
struct CreateBody {
    /// Letters, digits and `-`, up to 40; stored upper case, unique, never changed.
    #[schemars(
        length(min = 1, max = 40),
        regex(pattern = r"^[A-Za-z0-9][A-Za-z0-9-]*$")
    )]
    sku: String,
    #[schemars(length(min = 1, max = 200), regex(pattern = TEXT_PATTERN))]
    name: String,
    #[serde(default)]
    #[schemars(length(max = 2000), regex(pattern = DESCRIPTION_PATTERN))]
    description: String,
    /// A lowercase slug such as `office-supplies`.
    #[schemars(length(min = 1, max = 50), regex(pattern = r"^[a-z0-9-]+$"))]
    category: String,
    price: PriceBody,
}

/// `PATCH /products/{id}`: the fields to change; absent ones keep their value.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ProductPatch")]
struct PatchBody {
    #[schemars(length(min = 1, max = 200), regex(pattern = TEXT_PATTERN))]
    name: Option<String>,
    #[schemars(length(max = 2000), regex(pattern = DESCRIPTION_PATTERN))]
    description: Option<String>,
    #[schemars(length(min = 1, max = 50), regex(pattern = r"^[a-z0-9-]+$"))]
    category: Option<String>,
    price: Option<PriceBody>,
}

/// A product as the API shows it.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[schemars(rename = "Product")]
pub struct ProductView {
    #[schemars(with = "uuid::Uuid")]
    pub id: String,
    pub sku: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub price: Money,
    pub status: ProductStatus,
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&Product> for ProductView {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id.to_string(),
            sku: p.sku.as_str().to_owned(),
            name: p.name.as_str().to_owned(),
            description: p.description.as_str().to_owned(),
            category: p.category.as_str().to_owned(),
            price: p.price.money(),
            status: p.status,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// Every way a request can fail, mapped to a response in [`ApiError::into_problem`] only.
#[derive(Debug, thiserror::Error)]
enum ApiError {
    #[error(transparent)]
    Problem(#[from] Problem),
    #[error(transparent)]
    Create(#[from] CreateError),
    #[error(transparent)]
    Change(#[from] ChangeError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl IntoProblem for ApiError {
    fn into_problem(self, request_id: &str) -> Problem {
        match self {
            Self::Problem(problem) => problem,
            Self::Create(CreateError::SkuTaken) => {
                Problem::conflict("another product already has this SKU")
            }
            Self::Create(CreateError::Contended) => {
                tracing::warn!("product creation kept conflicting; answered 503");
                Problem::service_unavailable(
                    "the service is busy; retry the same request after the Retry-After delay",
                    std::time::Duration::from_secs(1),
                )
            }
            Self::Change(ChangeError::NotFound) => Problem::not_found("no such product"),
            Self::Change(ChangeError::VersionMismatch { current }) => {
                Problem::precondition_failed(format!(
                    "the product changed; it is now at version {current}: GET it again and retry with If-Match: \"{current}\""
                ))
            }
            Self::Change(ChangeError::Archived) => {
                Problem::conflict("archived products cannot be changed")
            }
            Self::Create(CreateError::Unexpected(err))
            | Self::Change(ChangeError::Unexpected(err))
            | Self::Unexpected(err) => unexpected(&err, request_id),
        }
    }
}

fn with_etag(mut response: Response<Body>, version: u64) -> Response<Body> {
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(ETAG, value);
    }
    response
}

/// The version an `If-Match` header names: `"3"`, `W/"3"` or `3`.
fn if_match(request: &Request) -> Result<u64, Problem> {
    let header = request.headers().get(IF_MATCH).ok_or_else(|| {
        Problem::precondition_required("send If-Match with the ETag from GET /products/{id}")
    })?;
    header
        .to_str()
        .ok()
        .map(|v| v.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| Problem::bad_request("If-Match must be an ETag such as \"3\""))
}

/// What products-api does for a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiRoute {
    List,
    Create,
    Get,
    Patch,
    Archive,
}

/// products-api's routes: the template's `RouteKey`s for this function.
pub static ROUTES: Router<ApiRoute> = Router(&[
    Route::new(Method::GET, "/products", ApiRoute::List),
    Route::new(Method::POST, "/products", ApiRoute::Create),
    Route::new(Method::GET, "/products/{id}", ApiRoute::Get),
    Route::new(Method::PATCH, "/products/{id}", ApiRoute::Patch),
    Route::new(Method::DELETE, "/products/{id}", ApiRoute::Archive),
]);

/// The product `{id}` names; one that is not a product id names no product.
fn product_id(params: &Params<'_>) -> Result<ProductId, Problem> {
    params
        .get("id")
        .and_then(ProductId::parse)
        .ok_or_else(|| Problem::not_found("no such product"))
}

impl<R: Products + Catalog> ProductsApi<R> {
    /// Handles one API Gateway request. Never fails: every error is a problem response.
    pub async fn handle(&self, request: Request) -> Response<Body> {
        respond(request, |request, trace| async move {
            self.route(&request, trace).await
        })
        .await
    }

    async fn route(&self, request: &Request, trace: Trace) -> Result<Response<Body>, ApiError> {
        let (route, params) = ROUTES.route(request)?;
        match route {
            ApiRoute::List => self.list(request).await,
            ApiRoute::Create => self.create(request, trace).await,
            ApiRoute::Get => {
                let product = service::get_product(&self.repo, product_id(&params)?).await?;
                Ok(with_etag(
                    json_response(StatusCode::OK, &ProductView::from(&product)),
                    product.version,
                ))
            }
            ApiRoute::Patch => self.patch(request, product_id(&params)?, trace).await,
            ApiRoute::Archive => {
                let id = product_id(&params)?;
                self.keys.authenticate(request)?.require_admin()?;
                let product = service::archive_product(&self.repo, id, trace).await?;
                Ok(with_etag(
                    json_response(StatusCode::OK, &ProductView::from(&product)),
                    product.version,
                ))
            }
        }
    }

    async fn list(&self, request: &Request) -> Result<Response<Body>, ApiError> {
        let category = query_param(request, "category")
            .map(|raw| {
                Category::parse(&raw)
                    .map_err(|err| Problem::invalid_field("category", err.to_string()))
            })
            .transpose()?;
        // A token continues only the list it came from: the whole catalog or one category.
        let scope = match &category {
            Some(category) => Scope::new("GET /products", "by-category", category.as_str()),
            None => Scope::new("GET /products", "by-name", ""),
        };
        let page = self
            .cursors
            .list_page::<_, _, ApiError>(
                request,
                &scope,
                async |limit, start| {
                    service::list_products(&self.repo, category.as_ref(), limit, start).await
                },
                |product| ProductView::from(product),
            )
            .await?;
        Ok(json_response(StatusCode::OK, &page))
    }

    async fn create(&self, request: &Request, trace: Trace) -> Result<Response<Body>, ApiError> {
        self.keys.authenticate(request)?.require_admin()?;
        let body: CreateBody = parse_json(request)?;
        let mut v = Validation::default();
        let sku = v.check("sku", Sku::parse(&body.sku));
        let name = v.check("name", ProductName::parse(&body.name));
        let description = v.check("description", Description::parse(&body.description));
        let category = v.check("category", Category::parse(&body.category));
        let price = v.check(
            "price",
            Price::parse(body.price.amount_minor, &body.price.currency),
        );
        v.finish()?;
        let (Some(sku), Some(name), Some(description), Some(category), Some(price)) =
            (sku, name, description, category, price)
        else {
            return Err(Problem::bad_request("invalid product").into());
        };
        let new = NewProduct {
            sku,
            name,
            description,
            category,
            price,
        };
        let product = service::create_product(&self.repo, new, trace).await?;
        let mut response = with_etag(
            json_response(StatusCode::CREATED, &ProductView::from(&product)),
            product.version,
        );
        if let Ok(location) = HeaderValue::from_str(&format!("/products/{}", product.id)) {
            response.headers_mut().insert(LOCATION, location);
        }
        Ok(response)
    }

    async fn patch(
        &self,
        request: &Request,
        id: ProductId,
        trace: Trace,
    ) -> Result<Response<Body>, ApiError> {
        self.keys.authenticate(request)?.require_admin()?;
        let expected = if_match(request)?;
        let body: PatchBody = parse_json(request)?;
        let mut v = Validation::default();
        let changes = ProductChanges {
            name: body
                .name
                .and_then(|raw| v.check("name", ProductName::parse(&raw))),
            description: body
                .description
                .and_then(|raw| v.check("description", Description::parse(&raw))),
            category: body
                .category
                .and_then(|raw| v.check("category", Category::parse(&raw))),
            price: body
                .price
                .and_then(|p| v.check("price", Price::parse(p.amount_minor, &p.currency))),
        };
        v.finish()?;
        let product = service::update_product(&self.repo, id, expected, changes, trace).await?;
        Ok(with_etag(
            json_response(StatusCode::OK, &ProductView::from(&product)),
            product.version,
        ))
    }
}

fn product_example() -> serde_json::Value {
    json!({
        "id": "3f0b9a2e-1c4d-4e5f-8a6b-7c8d9e0f1a2b",
        "sku": "MUG-001",
        "name": "Rust mug",
        "description": "A mug for long compiles.",
        "category": "kitchen",
        "price": {"amount_minor": 1299, "currency": "EUR"},
        "status": "active",
        "version": 1,
        "created_at": "2026-11-26T10:15:00Z",
        "updated_at": "2026-11-26T10:15:00Z"
    })
}

/// Describes products-api's routes (the ones [`ProductsApi::handle`] routes) in the OpenAPI
/// document. A create links to reading, changing and archiving what it created.
pub fn describe_api(doc: &mut ApiDoc) {
    const ID: &str = "3f0b9a2e-1c4d-4e5f-8a6b-7c8d9e0f1a2b";
    let page = json!({"items": [product_example()], "next_token": "eyJrIjoiLi4uIn0.c2lnbmF0dXJl"});
    doc.operation(
        "GET",
        "/products",
        "listProducts",
        "Active products, by name",
    )
    .tag("products")
    .access(Access::Anyone)
    .query_param(
        "category",
        "Only this category (a lowercase slug).",
        json!({"type": "string", "pattern": "^[a-z0-9-]{1,50}$"}),
        json!("kitchen"),
    )
    .paginated()
    .response::<Page<ProductView>>(200, "One page of products.", page)
    .add();
    doc.operation(
        "POST",
        "/products",
        "createProduct",
        "Add a product to the catalog",
    )
    .tag("products")
    .description("Records `ProductCreated`; inventory then keeps stock for it (0 on hand).")
    .access(Access::Admin)
    .json_body::<CreateBody>(json!({
        "sku": "MUG-001", "name": "Rust mug", "description": "A mug for long compiles.",
        "category": "kitchen", "price": {"amount_minor": 1299, "currency": "EUR"}
    }))
    .response::<ProductView>(201, "The new product.", product_example())
    .response_header(201, "ETag", Some("ETag"), json!({}))
    .response_header(201, "Location", Some("Location"), json!({}))
    .link(
        201,
        "GetProduct",
        "getProduct",
        json!({"id": "$response.body#/id"}),
    )
    .link(
        201,
        "UpdateProduct",
        "updateProduct",
        json!({"id": "$response.body#/id", "header.If-Match": "$response.header.ETag"}),
    )
    .link(
        201,
        "ArchiveProduct",
        "archiveProduct",
        json!({"id": "$response.body#/id"}),
    )
    .link(
        201,
        "GetStock",
        "getStock",
        json!({"productId": "$response.body#/id"}),
    )
    .link(
        201,
        "SetStock",
        "setStock",
        json!({"productId": "$response.body#/id"}),
    )
    .problem(409, "Another product already has this SKU.")
    .problem(
        503,
        "The creation kept losing races; send the same request again after Retry-After.",
    )
    .add();
    doc.operation(
        "GET",
        "/products/{id}",
        "getProduct",
        "One product, archived ones too",
    )
    .tag("products")
    .access(Access::Anyone)
    .uuid_path_param("id", "The product id.", ID)
    .response::<ProductView>(200, "The product.", product_example())
    .response_header(200, "ETag", Some("ETag"), json!({}))
    .problem(404, "No such product.")
    .add();
    doc.operation(
        "PATCH",
        "/products/{id}",
        "updateProduct",
        "Change a product's name, description, category or price",
    )
    .tag("products")
    .description(
        "Optimistic concurrency: send the ETag of the version you read as `If-Match`. \
             Records `ProductUpdated`.",
    )
    .access(Access::Admin)
    .uuid_path_param("id", "The product id.", ID)
    .header_param(
        "If-Match",
        true,
        "The ETag of the version the change is based on: `\"3\"`, `W/\"3\"` or `3`.",
        json!({"type": "string", "pattern": "^(W/)?\"?[0-9]+\"?$"}),
        "\"1\"",
    )
    .json_body::<PatchBody>(json!({"price": {"amount_minor": 1499, "currency": "EUR"}}))
    .response::<ProductView>(200, "The product as it is now.", product_example())
    .response_header(200, "ETag", Some("ETag"), json!({}))
    .problem(400, "The body is not JSON, or If-Match is not an ETag.")
    .problem(404, "No such product.")
    .problem(409, "The product is archived.")
    .problem(412, "The product changed since that version: GET it again.")
    .problem(428, "If-Match is missing.")
    .add();
    doc.operation(
        "DELETE",
        "/products/{id}",
        "archiveProduct",
        "Archive a product (idempotent)",
    )
    .tag("products")
    .description("It stays readable but is no longer sold. Records `ProductArchived` once.")
    .access(Access::Admin)
    .uuid_path_param("id", "The product id.", ID)
    .response::<ProductView>(200, "The archived product.", product_example())
    .response_header(200, "ETag", Some("ETag"), json!({}))
    .problem(404, "No such product.")
    .add();
}
