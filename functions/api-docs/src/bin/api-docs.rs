use std::convert::Infallible;

use lambda_http::{Request, service_fn};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    lambda_http::run(service_fn(|request: Request| async move {
        Ok::<_, Infallible>(api_docs::handle(request).await)
    }))
    .await
}
