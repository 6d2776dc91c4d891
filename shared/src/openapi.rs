//! The OpenAPI 3.1 document of the HTTP API, assembled from the Rust types.
//!
//! Request and response bodies are the JSON Schemas `schemars` derives from the very types the
//! handlers parse and serialise (the same generator `events/schemas/` comes from); each API's
//! `http` module describes its routes next to its router with an [`ApiDoc`], and the
//! `api-docs` package puts them together into `docs/openapi.json`, with a test that fails when
//! the checked-in file drifts from the code (`make openapi` rewrites it).
//!
//! What every operation shares is added here once, so no route can forget it: the optional
//! `X-Correlation-Id` header, the opaque 500, and for a JSON body the 400, 413, 415 and 422
//! problems [`crate::http::parse_json`] answers with; for authenticated routes the bearer
//! security requirement with its 401 (and 403 for admin routes).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use schemars::generate::{Contract, SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::http::{FieldError, MAX_BODY_BYTES, PROBLEM_JSON, ProblemDetails};

/// The OpenAPI version of the document.
pub const OPENAPI_VERSION: &str = "3.1.0";

/// The name of the bearer token security scheme.
pub const BEARER: &str = "bearerAuth";

/// Who may call an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No token needed.
    Anyone,
    /// Any signed-in user (a bearer token from `POST /auth/token`).
    User,
    /// A user whose token carries the `admin` role.
    Admin,
}

/// The document being assembled: paths and the schemas their bodies refer to.
#[derive(Debug)]
pub struct ApiDoc {
    /// Request bodies: what the handlers accept (serde's deserialize view).
    requests: SchemaGenerator,
    /// Response bodies: what the handlers send (serde's serialize view).
    responses: SchemaGenerator,
    paths: BTreeMap<String, Map<String, Value>>,
    operation_ids: Vec<String>,
}

impl Default for ApiDoc {
    fn default() -> Self {
        Self::new()
    }
}

fn generator(contract: Contract) -> SchemaGenerator {
    SchemaSettings::draft2020_12()
        .with(|settings| {
            settings.definitions_path = "/components/schemas".into();
            settings.meta_schema = None;
            settings.contract = contract;
        })
        .into_generator()
}

impl ApiDoc {
    /// An empty document.
    #[must_use]
    pub fn new() -> Self {
        Self {
            requests: generator(Contract::Deserialize),
            responses: generator(Contract::Serialize),
            paths: BTreeMap::new(),
            operation_ids: Vec::new(),
        }
    }

    /// Starts describing `method path` (`path` as API Gateway names it, `{param}` included);
    /// [`Operation::add`] puts it into the document.
    pub fn operation(
        &mut self,
        method: &str,
        path: &str,
        operation_id: &str,
        summary: &str,
    ) -> Operation<'_> {
        let mut op = Map::new();
        op.insert("operationId".into(), json!(operation_id));
        op.insert("summary".into(), json!(summary));
        Operation {
            doc: self,
            method: method.to_ascii_lowercase(),
            path: path.to_owned(),
            op,
            parameters: vec![json!({"$ref": "#/components/parameters/CorrelationId"})],
            responses: BTreeMap::new(),
        }
    }

    /// The whole document.
    ///
    /// # Panics
    /// When a request and a response type generate different schemas under one name: the
    /// document could not say which one a `$ref` means. Rename one of the types.
    #[must_use]
    pub fn into_document(mut self, info: Value, tags: Value) -> Value {
        let problem = self.responses.subschema_for::<ProblemDetails>();
        debug_assert_eq!(
            problem.get("$ref").and_then(Value::as_str),
            Some("#/components/schemas/Problem")
        );
        let mut schemas = self.responses.take_definitions(true);
        for (name, schema) in self.requests.take_definitions(true) {
            if let Some(existing) = schemas.get(&name) {
                assert_eq!(
                    existing, &schema,
                    "schema {name} differs between a request and a response type"
                );
            } else {
                schemas.insert(name, schema);
            }
        }
        let paths: Map<String, Value> = self
            .paths
            .into_iter()
            .map(|(path, methods)| (path, Value::Object(methods)))
            .collect();
        json!({
            "openapi": OPENAPI_VERSION,
            "info": info,
            "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
            "servers": [{
                "url": ".",
                "description": "The API this document is served from (GET /openapi.json)."
            }],
            "tags": tags,
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {
                    BEARER: {
                        "type": "http",
                        "scheme": "bearer",
                        "bearerFormat": "JWT",
                        "description": "An EdDSA (Ed25519) JWT from POST /auth/token, valid for one hour, \
                            verifiable with the keys at GET /.well-known/jwks.json. It carries the role \
                            it was issued with: operations marked x-required-role admin refuse \
                            other roles with 403."
                    }
                },
                "parameters": {
                    "CorrelationId": {
                        "name": "X-Correlation-Id",
                        "in": "header",
                        "required": false,
                        "description": "Follows one flow through every service's logs and events. \
                            Used when it is 1 to 128 letters, digits or `-_.:`; any other value \
                            is ignored, never refused, and the request id is used instead.",
                        // Any string: an unusable one is ignored (`http::correlation_id`), so a
                        // pattern here would call requests invalid that the API rightly serves.
                        "schema": {"type": "string"},
                        "example": "checkout-7f3a9c"
                    }
                },
                "headers": {
                    "ETag": {
                        "description": "The product's version, quoted: send it back as If-Match.",
                        "schema": {"type": "string", "pattern": "^\"[0-9]+\"$"},
                        "example": "\"3\""
                    },
                    "Location": {
                        "description": "Where the created resource is read.",
                        "schema": {"type": "string"}
                    },
                    "RetryAfter": {
                        "description": "Whole seconds to wait before sending the same request again.",
                        "schema": {"type": "string", "pattern": "^[1-9][0-9]*$"},
                        "example": "1"
                    },
                    "WWWAuthenticate": {
                        "description": "Always Bearer.",
                        "schema": {"type": "string", "const": "Bearer"}
                    }
                }
            }
        })
    }
}

/// One operation being described; [`Operation::add`] puts it into its [`ApiDoc`].
#[derive(Debug)]
#[must_use = "an operation is in the document only once added"]
pub struct Operation<'a> {
    doc: &'a mut ApiDoc,
    method: String,
    path: String,
    op: Map<String, Value>,
    parameters: Vec<Value>,
    responses: BTreeMap<u16, Map<String, Value>>,
}

/// The example body of a problem with `status`, as [`crate::http::Problem`] makes it.
fn problem_example(status: u16, detail: &str) -> Value {
    let title = lambda_http::http::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    match status {
        400 => json!({
            "type": "urn:problem-type:malformed-request",
            "title": "Malformed request",
            "status": 400,
            "detail": detail
        }),
        422 => json!({
            "type": "urn:problem-type:validation-failed",
            "title": "Validation failed",
            "status": 422,
            "detail": "one or more fields are invalid",
            "errors": [FieldError::new("name", detail)]
        }),
        500 => json!({
            "type": "about:blank",
            "title": title,
            "status": 500,
            "detail": "an unexpected error occurred; quote the instance when reporting it",
            "instance": "urn:request:6f1c2b1e-4c55-4a0e-9a4b-5d8a3e0e2f10"
        }),
        _ => json!({"type": "about:blank", "title": title, "status": status, "detail": detail}),
    }
}

impl Operation<'_> {
    /// Groups the operation under `tag`.
    pub fn tag(mut self, tag: &str) -> Self {
        self.op.insert("tags".into(), json!([tag]));
        self
    }

    /// A longer description (CommonMark).
    pub fn description(mut self, text: &str) -> Self {
        self.op.insert("description".into(), json!(text));
        self
    }

    /// Who may call it: for [`Access::User`] and [`Access::Admin`] the bearer token and its
    /// 401, for [`Access::Admin`] also the 403 other roles get.
    pub fn access(mut self, access: Access) -> Self {
        match access {
            Access::Anyone => {
                self.op.insert("security".into(), json!([]));
            }
            Access::User | Access::Admin => {
                self.op.insert("security".into(), json!([{ BEARER: [] }]));
                self = self.problem(401, "No valid bearer token: missing, malformed, expired or not signed by users-api.");
                if let Some(response) = self.responses.get_mut(&401) {
                    response.insert(
                        "headers".into(),
                        json!({"WWW-Authenticate": {"$ref": "#/components/headers/WWWAuthenticate"}}),
                    );
                }
            }
        }
        if access == Access::Admin {
            self.op.insert("x-required-role".into(), json!("admin"));
            self = self.problem(403, "The token's role is not admin.");
        }
        self
    }

    /// A path parameter: a UUID the route names its resource by. Anything else is a 404.
    pub fn uuid_path_param(mut self, name: &str, description: &str, example: &str) -> Self {
        self.parameters.push(json!({
            "name": name,
            "in": "path",
            "required": true,
            "description": description,
            "schema": {"type": "string", "format": "uuid"},
            "example": example
        }));
        self
    }

    /// An optional query parameter.
    pub fn query_param(
        mut self,
        name: &str,
        description: &str,
        schema: Value,
        example: Value,
    ) -> Self {
        self.parameters.push(json!({
            "name": name,
            "in": "query",
            "required": false,
            "description": description,
            "schema": schema,
            "example": example
        }));
        self
    }

    /// The `limit` and `next_token` query parameters of a paginated list
    /// ([`crate::pagination`]), and the 400 a token that does not belong to the list gets.
    pub fn paginated(self) -> Self {
        self.query_param(
            "limit",
            "Items per page, 1 to 100.",
            json!({"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
            json!(20),
        )
        .query_param(
            "next_token",
            "The `next_token` of the previous page, unchanged, with the same other parameters.",
            json!({"type": "string", "minLength": 1}),
            json!("eyJrIjoiLi4uIn0.c2lnbmF0dXJl"),
        )
        .problem(400, "The next_token was altered, truncated or belongs to another list: start again without it.")
        .problem(422, "A query parameter is invalid: `errors` names it.")
    }

    /// A request header.
    pub fn header_param(
        mut self,
        name: &str,
        required: bool,
        description: &str,
        schema: Value,
        example: &str,
    ) -> Self {
        self.parameters.push(json!({
            "name": name,
            "in": "header",
            "required": required,
            "description": description,
            "schema": schema,
            "example": example
        }));
        self
    }

    /// A required JSON request body of type `T`, with its example, and the problems
    /// [`crate::http::parse_json`] answers a bad body with.
    pub fn json_body<T: JsonSchema>(mut self, example: Value) -> Self {
        let schema = self.doc.requests.subschema_for::<T>();
        self.op.insert(
            "requestBody".into(),
            json!({
                "required": true,
                "content": {"application/json": {"schema": schema, "example": example}}
            }),
        );
        self.problem(400, "The body is empty or not JSON.")
            .problem(
                413,
                &format!("The body is larger than {MAX_BODY_BYTES} bytes."),
            )
            .problem(415, "The body's Content-Type is not JSON.")
            .problem(
                422,
                "A field is missing, of the wrong type, unknown or invalid: `errors` names each one.",
            )
    }

    /// A JSON response of type `T` with status `status`.
    pub fn response<T: JsonSchema>(
        mut self,
        status: u16,
        description: &str,
        example: Value,
    ) -> Self {
        let schema = self.doc.responses.subschema_for::<T>();
        self.responses.insert(
            status,
            json_map(json!({
                "description": description,
                "content": {"application/json": {"schema": schema, "example": example}}
            })),
        );
        self
    }

    /// A response whose body is described by `media_type` and a literal JSON Schema.
    pub fn raw_response(
        mut self,
        status: u16,
        description: &str,
        media_type: &str,
        schema: Value,
    ) -> Self {
        self.responses.insert(
            status,
            json_map(json!({
                "description": description,
                "content": {media_type: {"schema": schema}}
            })),
        );
        self
    }

    /// A header of the `status` response, described in `components/headers` under `component`
    /// or inline when `component` is `None`.
    pub fn response_header(
        mut self,
        status: u16,
        name: &str,
        component: Option<&str>,
        inline: Value,
    ) -> Self {
        let header = match component {
            Some(component) => json!({"$ref": format!("#/components/headers/{component}")}),
            None => inline,
        };
        if let Some(response) = self.responses.get_mut(&status) {
            let headers = response
                .entry("headers")
                .or_insert_with(|| Value::Object(Map::new()));
            headers[name] = header;
        }
        self
    }

    /// An OpenAPI link from the `status` response to `operation_id`, with its parameters as
    /// runtime expressions (`$response.body#/id`, `$response.header.ETag`).
    pub fn link(mut self, status: u16, name: &str, operation_id: &str, parameters: Value) -> Self {
        if let Some(response) = self.responses.get_mut(&status) {
            let links = response
                .entry("links")
                .or_insert_with(|| Value::Object(Map::new()));
            links[name] = json!({"operationId": operation_id, "parameters": parameters});
        }
        self
    }

    /// A problem+json response; 429 and 503 also carry `Retry-After`.
    pub fn problem(mut self, status: u16, description: &str) -> Self {
        let mut response = json_map(json!({
            "description": description,
            "content": {PROBLEM_JSON: {
                "schema": {"$ref": "#/components/schemas/Problem"},
                "example": problem_example(status, description)
            }}
        }));
        if matches!(status, 429 | 503) {
            response.insert(
                "headers".into(),
                json!({"Retry-After": {"$ref": "#/components/headers/RetryAfter"}}),
            );
        }
        self.responses.insert(status, response);
        self
    }

    /// Puts the operation into the document, with the 500 every operation can answer.
    ///
    /// # Panics
    /// When the operation id or `METHOD path` was added before: both must be unique.
    pub fn add(mut self) {
        self = self.problem(
            500,
            "An unexpected error; the body names only the request id (instance) to find the logs.",
        );
        let id = self.op["operationId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        assert!(
            !self.doc.operation_ids.contains(&id),
            "operationId {id} is used twice"
        );
        self.doc.operation_ids.push(id);
        self.op
            .insert("parameters".into(), Value::Array(self.parameters));
        let responses: Map<String, Value> = self
            .responses
            .into_iter()
            .map(|(status, response)| (status.to_string(), Value::Object(response)))
            .collect();
        self.op.insert("responses".into(), Value::Object(responses));
        let methods = self.doc.paths.entry(self.path.clone()).or_default();
        assert!(
            methods
                .insert(self.method.clone(), Value::Object(self.op))
                .is_none(),
            "{} {} is described twice",
            self.method,
            self.path
        );
    }
}

fn json_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(JsonSchema, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Thing {
        name: String,
        size: Option<u32>,
    }

    #[derive(JsonSchema, serde::Serialize)]
    #[allow(dead_code)]
    struct Created {
        id: String,
    }

    fn one_operation(access: Access) -> Value {
        let mut doc = ApiDoc::new();
        doc.operation("POST", "/things", "createThing", "Create a thing")
            .access(access)
            .json_body::<Thing>(json!({"name": "a"}))
            .response::<Created>(201, "Created.", json!({"id": "a"}))
            .add();
        doc.into_document(json!({"title": "t", "version": "1"}), json!([]))
    }

    #[test]
    fn an_operation_with_a_json_body_documents_every_problem_parse_json_answers() {
        let document = one_operation(Access::Anyone);
        let responses = document["paths"]["/things"]["post"]["responses"]
            .as_object()
            .unwrap();
        let statuses: Vec<&str> = responses.keys().map(String::as_str).collect();
        assert_eq!(statuses, ["201", "400", "413", "415", "422", "500"]);
        assert_eq!(
            responses["422"]["content"][PROBLEM_JSON]["schema"]["$ref"],
            "#/components/schemas/Problem"
        );
        let thing = &document["components"]["schemas"]["Thing"];
        assert_eq!(thing["additionalProperties"], json!(false));
        assert_eq!(thing["required"], json!(["name"]));
    }

    #[test]
    fn an_admin_operation_needs_the_bearer_token_and_documents_401_and_403() {
        let document = one_operation(Access::Admin);
        let op = &document["paths"]["/things"]["post"];
        assert_eq!(op["security"], json!([{BEARER: []}]));
        assert_eq!(op["x-required-role"], "admin");
        assert!(op["responses"]["401"]["headers"]["WWW-Authenticate"].is_object());
        assert!(op["responses"]["403"].is_object());
        assert_eq!(
            op["parameters"][0]["$ref"],
            "#/components/parameters/CorrelationId"
        );
    }

    #[test]
    fn the_problem_schema_is_the_problem_type_the_handlers_send() {
        let document = one_operation(Access::Anyone);
        let problem = &document["components"]["schemas"]["Problem"];
        assert_eq!(problem["required"], json!(["type", "title", "status"]));
        assert!(problem["properties"]["errors"].is_object());
        assert!(
            problem["properties"].get("retry_after").is_none(),
            "Retry-After is a header, never a member"
        );
    }

    #[test]
    #[should_panic(expected = "differs between a request and a response type")]
    fn a_request_and_a_response_type_of_one_name_and_two_shapes_are_refused() {
        let mut doc = ApiDoc::new();
        doc.operation("POST", "/things", "createThing", "Create a thing")
            .json_body::<Thing>(json!({"name": "a"}))
            .response::<Thing>(201, "Created.", json!({"name": "a", "size": null}))
            .add();
        let _ = doc.into_document(json!({}), json!([]));
    }

    #[test]
    fn the_correlation_id_header_is_documented_as_any_string_since_an_unusable_one_is_ignored() {
        // Schemathesis' negative_data_rejection found that `X-Correlation-Id: {}` was served
        // (rightly: it is ignored) while the document's pattern called it invalid.
        let document = one_operation(Access::Anyone);
        let header = &document["components"]["parameters"]["CorrelationId"];
        assert_eq!(header["schema"], json!({"type": "string"}));
        let mut request = lambda_http::http::Request::builder()
            .header("x-correlation-id", "{}")
            .body(lambda_http::Body::Empty)
            .unwrap();
        assert_eq!(crate::http::correlation_id(&request), "unknown");
        request.headers_mut().insert(
            "x-correlation-id",
            lambda_http::http::HeaderValue::from_static("checkout-7f3a9c"),
        );
        assert_eq!(crate::http::correlation_id(&request), "checkout-7f3a9c");
    }

    #[test]
    #[should_panic(expected = "described twice")]
    fn describing_one_route_twice_is_refused() {
        let mut doc = ApiDoc::new();
        doc.operation("GET", "/a", "one", "One").add();
        doc.operation("GET", "/a", "two", "Two").add();
    }
}
