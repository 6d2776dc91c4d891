use storefront::Storefront;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    shared::telemetry::init();
    // Hashes every embedded file once per cold start; requests only look them up.
    let site = Storefront::new();
    shared::http::serve(|request| site.handle(request)).await
}
