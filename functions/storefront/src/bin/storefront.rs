use std::convert::Infallible;

use lambda_http::{Request, service_fn};
use storefront::Storefront;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    // Hashes every embedded file once per cold start; requests only look them up.
    let site = Storefront::new();
    let site = &site;
    lambda_http::run(service_fn(move |request: Request| async move {
        Ok::<_, Infallible>(site.handle(request).await)
    }))
    .await
}
