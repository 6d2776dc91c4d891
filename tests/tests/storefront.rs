//! The storefront in a real browser: Debian's headless Chromium driven over WebDriver
//! (chromedriver) with fantoccini, against the stack deployed on the emulator. Each test is one
//! person's walk through the page, with its own browser, account and products; the page's
//! screenshots go to the folder each test prints (`STOREFRONT_SCREENSHOTS`, else
//! `<target>/tmp/storefront-screenshots`).
//!
//! Needs `chromium` and `chromium-driver` (`scripts/setup-browser.sh`, run by `make test`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

/// How long a saga may take to end, as the end-to-end tests allow.
const SAGA: Duration = Duration::from_secs(30);
/// How long the page may take to show something that needs no saga (generous: CI runs two
/// browsers beside the emulator and every function on two cores).
const PAGE: Duration = Duration::from_secs(20);
/// Registering and logging in: each costs an Argon2id hash, and a cold users-api.
const ACCOUNT: Duration = Duration::from_secs(30);
const PASSWORD: &str = "correct horse battery";

/// The deployed stack's URL, through this run's emulator endpoint (a dead endpoint fails).
fn shop_url() -> String {
    let endpoint = emulator_tests::endpoint();
    let path = format!("{}/../.local/stack.local.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!("{path} is missing: the browser tests need the deployed stack (`make up`, or `make test`)")
    });
    let stack: Value = serde_json::from_str(&text).unwrap();
    format!(
        "{}/_aws/execute-api/{}/",
        endpoint.trim_end_matches('/'),
        stack["api_id"].as_str().unwrap()
    )
}

fn users_table() -> String {
    let path = format!("{}/../.local/stack.local.json", env!("CARGO_MANIFEST_DIR"));
    let stack: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    stack["outputs"]["UsersTableName"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn screenshot_dir() -> PathBuf {
    std::env::var_os("STOREFRONT_SCREENSHOTS").map_or_else(
        || PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("storefront-screenshots"),
        PathBuf::from,
    )
}

/// `text` as an XPath 1.0 string literal (which has no escapes: quotes are concatenated).
fn xpath_literal(text: &str) -> String {
    if !text.contains('\'') {
        format!("'{text}'")
    } else if !text.contains('"') {
        format!("\"{text}\"")
    } else {
        let parts: Vec<String> = text.split('\'').map(|part| format!("'{part}'")).collect();
        format!("concat({})", parts.join(", \"'\", "))
    }
}

/// chromedriver on a free loopback port; killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One headless Chromium with the shop open, as one person uses it.
struct Browser {
    client: Client,
    url: String,
    _driver: Driver,
    _profile: TempDir,
}

/// A directory removed when dropped (Chromium's profile: a fresh one per browser).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Browser {
    /// Starts chromedriver and a browser, after checking the page is served: a stack that is
    /// not there fails here, at once, rather than in a browser timeout.
    async fn open(width: u32, height: u32) -> Self {
        let url = shop_url();
        let page = reqwest::get(&url)
            .await
            .unwrap_or_else(|err| panic!("the storefront at {url} does not answer: {err}"));
        assert_eq!(page.status(), StatusCode::OK, "GET {url}");

        let chromedriver =
            std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "/usr/bin/chromedriver".to_owned());
        let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Driver(
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|err| {
                    panic!("{chromedriver} does not start ({err}): run scripts/setup-browser.sh")
                }),
        );
        let profile = TempDir(
            std::env::temp_dir().join(format!("storefront-chromium-{}", Uuid::new_v4().simple())),
        );
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                // --no-sandbox: CI runs as root, where Chromium's sandbox cannot start.
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                         "--disable-gpu", "--no-first-run", "--lang=en-US",
                         format!("--window-size={width},{height}"),
                         format!("--user-data-dir={}", profile.0.display())],
                // The viewport itself: a headless window is never narrower than 500 px.
                "mobileEmulation": {
                    "deviceMetrics": {"width": width, "height": height, "pixelRatio": 1.0},
                },
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!()
        };
        let started = Instant::now();
        let client = loop {
            let mut builder =
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
            match builder
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(err) if started.elapsed() < PAGE => {
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => {
                    panic!("no browser session through {chromedriver} within {PAGE:?}: {err}")
                }
            }
        };
        let browser = Self {
            client,
            url,
            _driver: driver,
            _profile: profile,
        };
        browser.client.goto(&browser.url).await.unwrap();
        browser.wait_for_css("header nav").await;
        browser
    }

    async fn desktop() -> Self {
        Self::open(1280, 900).await
    }

    /// A phone-sized viewport.
    async fn phone() -> Self {
        Self::open(412, 915).await
    }

    async fn go(&self, fragment: &str) {
        self.client
            .goto(&format!("{}{fragment}", self.url))
            .await
            .unwrap();
    }

    async fn wait_for_css(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(PAGE)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|err| panic!("no {css} on the page within {PAGE:?}: {err}"))
    }

    /// The visible text of `css` once it contains `needle` (panics with what it shows instead).
    async fn wait_for_text(&self, css: &str, needle: &str, within: Duration) -> String {
        let started = Instant::now();
        let mut last = String::new();
        while started.elapsed() < within {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if text.contains(needle) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.screenshot(&format!("failed-{}", Uuid::new_v4().simple()))
            .await;
        panic!("{css} never showed {needle:?} within {within:?}; it shows {last:?}")
    }

    /// The text of `css` once it contains one of `needles`.
    async fn wait_for_any(&self, css: &str, needles: &[&str]) -> String {
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
                && needles.iter().any(|needle| text.contains(needle))
            {
                return text;
            }
            assert!(
                started.elapsed() < PAGE,
                "{css} never showed any of {needles:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types into the form field labelled `label` (what a person reads, not an id).
    async fn fill(&self, label: &str, value: &str) {
        let label_element = self
            .client
            .wait()
            .at_most(PAGE)
            .for_element(Locator::XPath(&format!(
                "//main//label[normalize-space()={}]",
                xpath_literal(label)
            )))
            .await
            .unwrap_or_else(|err| panic!("no field labelled {label:?}: {err}"));
        let id = label_element.attr("for").await.unwrap().unwrap();
        let control = self.client.find(Locator::Id(&id)).await.unwrap();
        if control.tag_name().await.unwrap() == "select" {
            control.select_by_value(value).await.unwrap();
        } else {
            control.clear().await.unwrap();
            control.send_keys(value).await.unwrap();
        }
    }

    /// Clicks the button (or link) showing `text` in the main view; waits for it to be enabled.
    async fn press(&self, text: &str) {
        let xpath = format!(
            "//main//*[self::button or self::a][normalize-space()={}]",
            xpath_literal(text)
        );
        let started = Instant::now();
        loop {
            if let Ok(element) = self.client.find(Locator::XPath(&xpath)).await
                && element.is_enabled().await.unwrap_or(false)
                && element.click().await.is_ok()
            {
                return;
            }
            assert!(started.elapsed() < PAGE, "no enabled {text:?} to press");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn notice(&self, needle: &str) -> String {
        self.wait_for_text("#notice", needle, PAGE).await
    }

    /// Saves a PNG of the viewport as `<name>.png` in the screenshot folder.
    async fn screenshot(&self, name: &str) {
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let png = self.client.screenshot().await.unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        println!("screenshot: {}", path.display());
    }

    /// Registers a new customer through the page; returns their email.
    async fn register(&self) -> String {
        let email = format!("web-{}@example.org", Uuid::new_v4().simple());
        self.go("#/register").await;
        self.fill("Name", "Web Shopper").await;
        self.fill("Email", &email).await;
        self.fill("Password", PASSWORD).await;
        self.press("Create account").await;
        self.wait_for_text("#notice", "Your account is ready", ACCOUNT)
            .await;
        self.wait_for_text("#nav-user", &email, PAGE).await;
        email
    }

    async fn log_in(&self, email: &str, password: &str) {
        self.go("#/login").await;
        self.fill("Email", email).await;
        self.fill("Password", password).await;
        self.press("Log in").await;
        self.wait_for_text("#notice", "You are logged in", ACCOUNT)
            .await;
    }

    /// Opens the product's page and puts `quantity` of it in the cart.
    async fn add_to_cart(&self, product: &Product, quantity: u32) {
        self.go(&format!("#/products/{}", product.id)).await;
        self.wait_for_text("main h1", &product.name, PAGE).await;
        self.fill("Quantity", &quantity.to_string()).await;
        self.press("Add to cart").await;
        self.notice("added to your cart").await;
    }

    /// Checks out the cart with the test card `card` (its label); returns the order page's
    /// final status line.
    async fn check_out(&self, card: &str) -> String {
        self.go("#/cart").await;
        let radio = self
            .client
            .wait()
            .at_most(PAGE)
            .for_element(Locator::XPath(&format!(
                "//label[contains(normalize-space(), {})]/input",
                xpath_literal(card)
            )))
            .await
            .unwrap();
        radio.click().await.unwrap();
        self.press("Place order").await;
        self.wait_for_text(".status-line", "", PAGE).await;
        self.settled_status().await
    }

    /// The order page's status once it has left PENDING.
    async fn settled_status(&self) -> String {
        let started = Instant::now();
        loop {
            let line = self.wait_for_css(".status-line").await;
            let status = line.attr("data-status").await.unwrap().unwrap_or_default();
            if !status.is_empty() && status != "PENDING" {
                return status;
            }
            assert!(
                started.elapsed() < SAGA,
                "the order stayed {status:?} for {SAGA:?}"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Whether the page fits the viewport's width (nothing to scroll sideways to).
    async fn fits_width(&self) -> bool {
        self.client
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await
            .unwrap()
            .as_bool()
            .unwrap()
    }

    /// How many `<img>` the main view holds (the page itself shows none).
    async fn images_in_main(&self) -> u64 {
        self.client
            .execute(
                "return document.querySelectorAll('main img').length;",
                vec![],
            )
            .await
            .unwrap()
            .as_u64()
            .unwrap()
    }

    async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// A product made through the API by the seeded admin, with stock, for one test.
struct Product {
    id: String,
    name: String,
    category: String,
}

async fn admin_token(http: &reqwest::Client, url: &str) -> String {
    // The seeded admin (`scripts/stack.py seed`); granting a role it has changes nothing.
    emulator_tests::users_admin(&users_table(), &["grant", "--email", "admin@shop.local"]);
    let token: Value = http
        .post(format!("{url}auth/token"))
        .json(&json!({"email": "admin@shop.local", "password": "local-admin-password"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("admin login failed: {token}"))
        .to_owned()
}

async fn product(name: &str, stock: u32) -> Product {
    let http = reqwest::Client::new();
    let url = shop_url();
    let token = admin_token(&http, &url).await;
    let tag = &Uuid::new_v4().simple().to_string()[..10];
    let category = format!("web-{tag}");
    let response = http
        .post(format!("{url}products"))
        .bearer_auth(&token)
        .json(&json!({"sku": format!("WEB-{tag}"), "name": name, "description": "Made by a browser test.",
                      "category": category, "price": {"amount_minor": 1250, "currency": "EUR"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    set_stock(&http, &url, &token, &id, stock).await;
    Product {
        id,
        name: name.to_owned(),
        category,
    }
}

/// Inventory learns of a product from its event: retries until it has.
async fn set_stock(http: &reqwest::Client, url: &str, token: &str, id: &str, stock: u32) {
    let started = Instant::now();
    loop {
        let status = http
            .put(format!("{url}inventory/{id}"))
            .bearer_auth(token)
            .json(&json!({"on_hand": stock}))
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::OK {
            return;
        }
        assert!(started.elapsed() < SAGA, "inventory never learned of {id}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_customer_browses_registers_buys_and_sees_the_order_confirmed_and_notified() {
    println!("screenshots: {}", screenshot_dir().display());
    let item = product(&format!("Ferris plush {}", Uuid::new_v4().simple()), 5).await;
    let browser = Browser::desktop().await;

    // Browse: by category, then by name.
    browser.go(&format!("#/?category={}", item.category)).await;
    browser.wait_for_text("ul.products", &item.name, PAGE).await;
    browser.go("#/").await;
    browser.wait_for_css("ul.products li").await;
    browser.fill("Search by name", &item.name).await;
    browser.press("Search").await;
    let listed = browser.wait_for_text("ul.products", &item.name, PAGE).await;
    assert!(
        !listed.contains("Rust mug"),
        "the name search kept other products: {listed}"
    );
    browser.go("#/").await;
    browser.wait_for_text("ul.products", "Rust mug", PAGE).await;
    browser.screenshot("catalog").await;

    browser.add_to_cart(&item, 2).await;
    browser
        .wait_for_text(".stock", "In stock: 5 available", PAGE)
        .await;
    browser.screenshot("product").await;
    browser.register().await;
    browser.go("#/cart").await;
    browser.wait_for_text("table.cart", &item.name, PAGE).await;
    browser.screenshot("cart").await;

    assert_eq!(browser.check_out("approved").await, "CONFIRMED");
    browser
        .wait_for_text(".status-line", "Confirmed", PAGE)
        .await;
    browser.wait_for_text(".total", "25.00", PAGE).await;
    browser.screenshot("order-confirmed").await;

    // The confirmation's notification, once the event has reached notifications.
    let started = Instant::now();
    loop {
        browser.go("#/notifications").await;
        browser.wait_for_css("ul.notifications li").await;
        if browser
            .client
            .find(Locator::Css("li[data-type='OrderConfirmed']"))
            .await
            .is_ok()
        {
            break;
        }
        assert!(
            started.elapsed() < SAGA,
            "no OrderConfirmed notification listed"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    browser.screenshot("notifications").await;
    browser.go("#/orders").await;
    browser.wait_for_text("ul.orders", "CONFIRMED", PAGE).await;
    browser.close().await;
}

#[tokio::test]
async fn a_declined_card_shows_the_order_cancelled_with_its_reason() {
    let item = product(&format!("Declined lamp {}", Uuid::new_v4().simple()), 5).await;
    let browser = Browser::desktop().await;
    browser.register().await;
    browser.add_to_cart(&item, 1).await;
    assert_eq!(browser.check_out("declined").await, "CANCELLED");
    browser
        .wait_for_text(".reason", "The card was declined", PAGE)
        .await;
    browser.screenshot("order-declined").await;
    browser.close().await;
}

#[tokio::test]
async fn an_order_for_more_than_the_stock_shows_rejected_out_of_stock() {
    let item = product(&format!("Scarce vase {}", Uuid::new_v4().simple()), 1).await;
    let browser = Browser::desktop().await;
    browser.register().await;
    browser.add_to_cart(&item, 3).await;
    assert_eq!(browser.check_out("approved").await, "REJECTED");
    browser.wait_for_text(".reason", "out of stock", PAGE).await;
    browser.close().await;
}

#[tokio::test]
async fn a_card_that_fails_once_still_confirms_the_order() {
    let item = product(&format!("Retry kettle {}", Uuid::new_v4().simple()), 5).await;
    let browser = Browser::desktop().await;
    browser.register().await;
    browser.add_to_cart(&item, 1).await;
    assert_eq!(browser.check_out("fails once").await, "CONFIRMED");
    browser.close().await;
}

#[tokio::test]
async fn cancelling_a_confirmed_order_shows_the_refund() {
    let item = product(&format!("Refund clock {}", Uuid::new_v4().simple()), 5).await;
    let browser = Browser::desktop().await;
    browser.register().await;
    browser.add_to_cart(&item, 1).await;
    assert_eq!(browser.check_out("approved").await, "CONFIRMED");
    browser.press("Cancel order").await;
    browser.notice("Order cancelled and refunded").await;
    browser
        .wait_for_text(".status-line", "Cancelled", PAGE)
        .await;
    browser
        .wait_for_text(".reason", "You cancelled this order", PAGE)
        .await;
    browser
        .wait_for_text(".refund", "12.50 back to your card", PAGE)
        .await;
    browser.screenshot("order-refunded").await;
    browser.close().await;
}

#[tokio::test]
async fn an_admin_creates_a_product_in_the_page_and_a_customer_then_sees_it() {
    let admin = Browser::desktop().await;
    let http = reqwest::Client::new();
    admin_token(&http, &shop_url()).await;
    admin
        .log_in("admin@shop.local", "local-admin-password")
        .await;
    admin.go("#/admin").await;
    let tag = &Uuid::new_v4().simple().to_string()[..10];
    let name = format!("Admin's teapot {tag}");
    let category = format!("admin-{tag}");
    admin.fill("SKU", &format!("ADM-{tag}")).await;
    admin.fill("Name", &name).await;
    admin.fill("Description", "Pours well.").await;
    admin.fill("Category", &category).await;
    admin.fill("Price", "12,5").await;
    admin.screenshot("admin-new-product").await;
    admin.press("Create product").await;
    admin.notice("created").await;
    admin.wait_for_text("main h1", &name, PAGE).await;
    admin.wait_for_text(".price", "12.50", PAGE).await;

    // Stock: inventory learns of the product a moment after it is created; the page says so.
    let started = Instant::now();
    loop {
        admin.fill("Units on hand", "7").await;
        admin.press("Set stock").await;
        let shown = admin
            .wait_for_any("#notice", &["Stock set: 7 on hand", "still being set up"])
            .await;
        if shown.contains("Stock set") {
            break;
        }
        assert!(started.elapsed() < SAGA, "stock never became settable");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Edit with If-Match: the new price is saved.
    admin.fill("Price", "13.00").await;
    admin.press("Save changes").await;
    admin.notice("Saved").await;
    admin.wait_for_text(".price", "13.00", PAGE).await;
    admin.close().await;

    let customer = Browser::desktop().await;
    customer.go(&format!("#/?category={category}")).await;
    customer.wait_for_text("ul.products", &name, PAGE).await;
    customer.wait_for_text("ul.products", "13.00", PAGE).await;
    customer.press(&name).await;
    customer
        .wait_for_text(".stock", "In stock: 7 available", PAGE)
        .await;
    assert!(
        customer
            .client
            .find(Locator::Css("section.admin"))
            .await
            .is_err(),
        "a visitor sees the admin panel"
    );
    customer.close().await;
}

#[tokio::test]
async fn an_admin_archives_a_product_and_it_leaves_the_catalog() {
    let item = product(&format!("Old stock {}", Uuid::new_v4().simple()), 2).await;
    let admin = Browser::desktop().await;
    admin_token(&reqwest::Client::new(), &shop_url()).await;
    admin
        .log_in("admin@shop.local", "local-admin-password")
        .await;
    admin.go(&format!("#/products/{}", item.id)).await;
    admin.wait_for_text("main h1", &item.name, PAGE).await;
    admin.press("Archive product").await;
    admin.notice("is archived").await;
    admin.go(&format!("#/?category={}", item.category)).await;
    admin
        .wait_for_text("main p.count", "No products match", PAGE)
        .await;
    admin.go(&format!("#/products/{}", item.id)).await;
    admin
        .wait_for_text("main", "This product is no longer sold", PAGE)
        .await;
    admin.close().await;
}

#[tokio::test]
async fn a_product_named_like_markup_is_shown_as_text_and_runs_nothing() {
    let name = "<img src=x onerror=alert(1)>";
    let item = product(name, 3).await;
    let browser = Browser::desktop().await;
    browser.go(&format!("#/?category={}", item.category)).await;
    let listed = browser.wait_for_text("ul.products", name, PAGE).await;
    assert!(listed.contains(name), "{listed}");
    assert_eq!(browser.images_in_main().await, 0);
    browser.add_to_cart(&item, 1).await;
    browser.wait_for_text("main h1", name, PAGE).await;
    assert_eq!(browser.images_in_main().await, 0);
    browser.go("#/cart").await;
    browser.wait_for_text("table.cart", name, PAGE).await;
    assert_eq!(browser.images_in_main().await, 0);
    assert!(
        browser.client.get_alert_text().await.is_err(),
        "an alert opened"
    );
    browser.screenshot("markup-as-text").await;
    browser.close().await;
}

#[tokio::test]
async fn the_cart_survives_a_reload_on_a_phone_sized_screen() {
    let item = product(&format!("Pocket knife {}", Uuid::new_v4().simple()), 5).await;
    let browser = Browser::phone().await;
    browser.go(&format!("#/?category={}", item.category)).await;
    browser.wait_for_text("ul.products", &item.name, PAGE).await;
    assert!(
        browser.fits_width().await,
        "the catalog is wider than a phone"
    );
    browser.add_to_cart(&item, 2).await;
    assert!(
        browser.fits_width().await,
        "the product page is wider than a phone"
    );
    browser.wait_for_text("#nav-cart", "Cart (2)", PAGE).await;
    browser.client.refresh().await.unwrap();
    browser.wait_for_text("#nav-cart", "Cart (2)", PAGE).await;
    browser.go("#/cart").await;
    browser.wait_for_text("table.cart", &item.name, PAGE).await;
    let quantity = browser
        .wait_for_css("table.cart input.qty")
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(quantity.as_deref(), Some("2"));
    assert!(browser.fits_width().await, "the cart is wider than a phone");
    browser.screenshot("cart-phone").await;
    browser.close().await;
}

#[tokio::test]
async fn api_errors_are_shown_in_plain_words() {
    let browser = Browser::desktop().await;
    // 401 from POST /auth/token.
    browser
        .log_in_expecting_failure(
            &format!("nobody-{}@example.org", Uuid::new_v4().simple()),
            "not the password at all",
        )
        .await;
    browser
        .wait_for_text("#notice", "The email or password is not right", ACCOUNT)
        .await;
    // 422 with per-field errors from POST /users, next to the field.
    browser.go("#/register").await;
    browser.fill("Name", "Short").await;
    browser.fill("Email", "short@example.org").await;
    browser.fill("Password", "          ").await;
    browser.press("Create account").await;
    browser.notice("Please correct the fields below").await;
    let beside = browser.wait_for_css("#f-password-error").await;
    assert!(
        !beside.text().await.unwrap().trim().is_empty(),
        "no message next to the password field"
    );
    // 409 from POST /users: the email is taken.
    let email = browser.register().await;
    browser.press_logout().await;
    browser.go("#/register").await;
    browser.fill("Name", "Again").await;
    browser.fill("Email", &email).await;
    browser.fill("Password", PASSWORD).await;
    browser.press("Create account").await;
    browser
        .wait_for_text(
            "#notice",
            "An account with this email already exists",
            ACCOUNT,
        )
        .await;
    browser.screenshot("error-in-words").await;
    // 404 from GET /products/{id}.
    browser.go(&format!("#/products/{}", Uuid::new_v4())).await;
    browser.notice("That could not be found").await;
    browser.close().await;
}

impl Browser {
    async fn log_in_expecting_failure(&self, email: &str, password: &str) {
        self.go("#/login").await;
        self.fill("Email", email).await;
        self.fill("Password", password).await;
        self.press("Log in").await;
    }

    async fn press_logout(&self) {
        self.client
            .find(Locator::Id("logout"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        self.wait_for_text("header nav", "Log in", PAGE).await;
    }
}

impl Browser {
    /// Types `keys` into whatever has the focus, as a keyboard would.
    async fn keys(&self, keys: &str) {
        self.client
            .active_element()
            .await
            .unwrap()
            .send_keys(keys)
            .await
            .unwrap();
    }

    /// The accessible name of the focused element: its label's text, or its own text.
    async fn focused(&self) -> String {
        self.client
            .execute(
                "const e = document.activeElement; \
                 return (e.labels && e.labels[0] ? e.labels[0].textContent : e.textContent).trim();",
                vec![],
            )
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

#[tokio::test]
async fn a_customer_can_register_log_in_and_fill_the_cart_with_the_keyboard_alone() {
    let item = product(&format!("Keyboard {}", Uuid::new_v4().simple()), 5).await;
    let browser = Browser::desktop().await;
    let email = browser.register().await;
    browser.press_logout().await;

    // Each page puts the focus on its content; Tab walks the labelled fields in order.
    browser.go("#/login").await;
    browser.wait_for_css("main form").await;
    browser.keys(TAB).await;
    assert_eq!(browser.focused().await, "Email");
    browser.keys(&email).await;
    browser.keys(TAB).await;
    assert_eq!(browser.focused().await, "Password");
    browser.keys(PASSWORD).await;
    browser.keys(ENTER).await;
    browser
        .wait_for_text("#notice", "You are logged in", ACCOUNT)
        .await;

    browser.go(&format!("#/products/{}", item.id)).await;
    browser.wait_for_text(".stock", "In stock", PAGE).await;
    let started = Instant::now();
    while browser.focused().await != "Quantity" {
        assert!(started.elapsed() < PAGE, "Tab never reached the quantity");
        browser.keys(TAB).await;
    }
    browser.keys(TAB).await;
    assert_eq!(browser.focused().await, "Add to cart");
    browser.keys(ENTER).await;
    browser.notice("added to your cart").await;
    browser.wait_for_text("#nav-cart", "Cart (1)", PAGE).await;
    browser.close().await;
}
