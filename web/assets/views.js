// The customer's pages. Each view renders into <main> and reports API errors through notice().
import * as api from "./api.js";
import { clearNotice, date, field, h, markFields, money, notice, show } from "./dom.js";
import { productAdmin } from "./admin.js";

/** Shows an error from the API (or anything else) in words; marks the form's fields on a 422. */
export function fail(error, form) {
  if (error instanceof api.ApiError) {
    notice(error.message, "error", error.details);
    if (form) markFields(form, error.problem?.errors ?? []);
  } else {
    notice(`Something went wrong in this page: ${error?.message ?? error}. Reload it and try again.`);
    console.error(error);
  }
}

/** Runs an async form action with its submit button disabled, so one click is one request. */
function submitting(form, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    form.setAttribute("aria-busy", "true");
    try {
      markFields(form, []);
      await action(new FormData(form));
    } catch (error) {
      fail(error, form);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
      form.removeAttribute("aria-busy");
    }
  });
  return form;
}

const REASONS = {
  out_of_stock: "Some of the items were out of stock, so nothing was reserved or charged.",
  payment_declined: "The card was declined, so the order was cancelled and its items put back on sale.",
  customer: "You cancelled this order.",
};

const STATUS_WORDS = {
  PENDING: "Pending: reserving the items and charging the card...",
  CONFIRMED: "Confirmed: paid and on its way.",
  REJECTED: "Rejected",
  CANCELLED: "Cancelled",
};

export function reasonWords(order) {
  if (!order.reason) return "";
  return REASONS[order.reason] ?? `Reason: ${order.reason.replace(/_/g, " ")}.`;
}

// --- catalog ------------------------------------------------------------------------------

const knownCategories = new Set();

export async function catalog(params, isCurrent) {
  const category = params.get("category") ?? "";
  const query = (params.get("q") ?? "").trim();
  const list = h("ul", { class: "products", "aria-live": "polite" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more products");
  const status = h("p", { class: "muted count", role: "status" });
  const categorySelect = h("select", { name: "category" }, h("option", { value: "" }, "All categories"));
  const search = h("input", { name: "q", type: "search", value: query, autocomplete: "off", placeholder: "e.g. mug" });
  const filters = h("form", { class: "filters", role: "search" },
    field("Category", categorySelect), field("Search by name", search), h("button", { type: "submit" }, "Search"));
  filters.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (categorySelect.value) next.set("category", categorySelect.value);
    if (search.value.trim()) next.set("q", search.value.trim());
    location.hash = `#/${next.size ? `?${next}` : ""}`;
  });
  categorySelect.addEventListener("change", () => filters.requestSubmit());
  show(h("h1", {}, category ? `Catalog: ${category}` : "Catalog"), filters, status, list, more);

  const fillCategories = () => {
    if (category) knownCategories.add(category);
    const current = [...categorySelect.options].map((o) => o.value);
    for (const name of [...knownCategories].sort()) {
      if (!current.includes(name)) categorySelect.append(h("option", { value: name }, name));
    }
    categorySelect.value = category;
  };
  let shown = 0;
  const load = async (token) => {
    const query_ = new URLSearchParams({ limit: "100" });
    if (category) query_.set("category", category);
    if (token) query_.set("next_token", token);
    const { data } = await api.call("GET", `products?${query_}`);
    for (const product of data.items) {
      knownCategories.add(product.category);
      // The API lists by name; the name search narrows what it listed.
      if (query && !product.name.toLowerCase().includes(query.toLowerCase())) continue;
      list.append(productCard(product));
      shown += 1;
    }
    fillCategories();
    more.hidden = !data.next_token;
    more.onclick = () => load(data.next_token).catch(fail);
    status.textContent = shown ? `${shown} product${shown === 1 ? "" : "s"}` : "No products match.";
    return data.next_token;
  };
  fillCategories();
  try {
    // A category's list does not show the other categories: learn them once from the whole list.
    if (category && knownCategories.size <= 1) {
      const { data } = await api.call("GET", "products?limit=100");
      data.items.forEach((p) => knownCategories.add(p.category));
    }
    let token = await load();
    // A name search looks through every page, not just the first.
    while (query && token && isCurrent()) token = await load(token);
  } catch (error) {
    status.textContent = "The catalog could not be loaded.";
    if (isCurrent()) fail(error);
  }
}

function productCard(product) {
  const quantity = 1;
  return h("li", { class: "card", dataset: { product: product.id } },
    h("h2", {}, h("a", { href: `#/products/${encodeURIComponent(product.id)}` }, product.name)),
    h("p", { class: "muted" }, product.category),
    h("p", { class: "price" }, money(product.price)),
    h("button", {
      type: "button",
      "aria-label": `Add ${product.name} to the cart`,
      on: { click: () => { api.addToCart(product, quantity); notice(`${product.name} is in your cart.`, "ok"); } },
    }, "Add to cart"));
}

// --- product ------------------------------------------------------------------------------

export async function product(id, isCurrent) {
  show(h("p", { class: "loading" }, "Loading the product..."));
  let found;
  try {
    found = await api.call("GET", `products/${encodeURIComponent(id)}`);
  } catch (error) {
    if (!isCurrent()) return;
    show(h("h1", {}, "Product not found"), h("p", {}, h("a", { href: "#/" }, "Back to the catalog")));
    fail(error);
    return;
  }
  // The person may have moved on while the product loaded: never draw over their new page.
  if (!isCurrent()) return;
  const item = found.data;
  const stock = h("p", { class: "stock", role: "status" }, "Checking stock...");
  const quantity = h("input", { name: "quantity", type: "number", min: 1, max: 100, value: 1, required: true });
  const buy = submitting(h("form", { class: "inline" },
    field("Quantity", quantity), h("button", { type: "submit" }, "Add to cart")), async () => {
    const count = Number.parseInt(quantity.value, 10);
    if (!(count >= 1 && count <= 100)) throw new api.ApiError(422, "Choose a quantity from 1 to 100.");
    api.addToCart(item, count);
    notice(`${count} x ${item.name} added to your cart.`, "ok");
  });
  const archived = item.status !== "active";
  show(
    h("p", {}, h("a", { href: "#/" }, "← Catalog")),
    h("article", { class: "product" },
      h("h1", {}, item.name),
      h("p", { class: "muted" }, `${item.category} · SKU ${item.sku}`),
      h("p", { class: "price" }, money(item.price)),
      item.description ? h("p", { class: "description" }, item.description) : null,
      archived ? h("p", { class: "warning" }, "This product is no longer sold.") : [stock, buy]),
    api.session()?.role === "admin" ? productAdmin(item, found.etag) : null);
  if (archived) return;
  try {
    const { data } = await api.call("GET", `inventory/${encodeURIComponent(id)}`);
    stock.textContent = data.available > 0 ? `In stock: ${data.available} available` : "Out of stock";
    stock.dataset.available = String(data.available);
  } catch (error) {
    stock.textContent = error.status === 404 ? "Stock not known yet." : "Stock could not be checked.";
  }
}

// --- cart and checkout --------------------------------------------------------------------

const CARDS = [
  ["tok_visa", "Test Visa: approved"],
  ["tok_chargeDeclined", "Test card: declined"],
  ["tok_fail_once", "Test card: fails once, then approved"],
];

// One Idempotency-Key per checkout: a retry of the same cart and card (after a 503 or a lost
// answer) sends the same key, so the order is placed once; any other checkout gets a new one.
let attempt = null;

export function cartView() {
  const lines = api.cart();
  if (!lines.length) {
    show(h("h1", {}, "Your cart"), h("p", {}, "Your cart is empty. ", h("a", { href: "#/" }, "Browse the catalog")));
    return;
  }
  const currencies = new Set(lines.map((l) => l.price?.currency));
  const total = lines.reduce((sum, l) => sum + (l.price?.amount_minor ?? 0) * l.quantity, 0);
  const rows = lines.map((line) => {
    const quantity = h("input", {
      type: "number", min: 0, max: 100, value: line.quantity, class: "qty",
      "aria-label": `Quantity of ${line.name}`,
      on: { change: (event) => { api.setQuantity(line.id, clamp(event.target.value)); cartView(); } },
    });
    return h("tr", { dataset: { product: line.id } },
      h("td", {}, h("a", { href: `#/products/${encodeURIComponent(line.id)}` }, line.name)),
      h("td", {}, money(line.price)),
      h("td", {}, quantity),
      h("td", {}, h("button", {
        type: "button", class: "secondary", "aria-label": `Remove ${line.name}`,
        on: { click: () => { api.setQuantity(line.id, 0); cartView(); } },
      }, "Remove")));
  });
  const table = h("table", { class: "cart" },
    h("caption", { class: "visually-hidden" }, "Items in your cart"),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Product"), h("th", { scope: "col" }, "Price"),
      h("th", { scope: "col" }, "Quantity"), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Remove")))),
    h("tbody", {}, rows));
  const totalLine = currencies.size === 1
    ? h("p", { class: "total" }, "Estimated total: ", money({ amount_minor: total, currency: [...currencies][0] }))
    : h("p", { class: "warning" }, "Your cart mixes currencies: an order takes one currency.");
  const signedIn = api.session();
  const checkout = signedIn
    ? submitting(h("form", { class: "checkout" },
      h("fieldset", {}, h("legend", {}, "Payment (simulated: pick a test card)"),
        CARDS.map(([token, label], index) => h("label", { class: "radio" },
          h("input", { type: "radio", name: "payment_token", value: token, checked: index === 0 }), ` ${label}`))),
      h("p", { class: "muted" }, "The shop prices your order when you place it."),
      h("button", { type: "submit" }, "Place order")), placeOrder)
    : h("p", {}, h("a", { href: "#/login?next=cart" }, "Log in"), " or ", h("a", { href: "#/register?next=cart" }, "register"), " to check out.");
  show(h("h1", {}, "Your cart"), table, totalLine, checkout);
}

function clamp(value) {
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) ? Math.max(0, Math.min(100, n)) : 1;
}

async function placeOrder(form) {
  const body = {
    lines: api.cart().map((l) => ({ product_id: l.id, quantity: l.quantity })),
    payment_token: form.get("payment_token"),
  };
  const fingerprint = JSON.stringify(body);
  if (!attempt || attempt.fingerprint !== fingerprint) attempt = { fingerprint, key: api.newKey() };
  let placed;
  try {
    placed = await api.call("POST", "orders", { body, auth: true, headers: { "Idempotency-Key": attempt.key } });
  } catch (error) {
    // Only a lost answer or a "try again" may be retried with the same key.
    if (!(error.status === 0 || error.status === 503)) attempt = null;
    throw error;
  }
  attempt = null;
  api.clearCart();
  notice("Order placed. Follow it below.", "ok");
  location.hash = `#/orders/${encodeURIComponent(placed.data.id)}`;
}

// --- account ------------------------------------------------------------------------------

function afterLogin(params) {
  location.hash = params.get("next") === "cart" ? "#/cart" : "#/";
}

export function login(params) {
  const form = submitting(h("form", { class: "narrow" },
    field("Email", h("input", { name: "email", type: "email", autocomplete: "username", required: true })),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("button", { type: "submit" }, "Log in")), async (data) => {
    await api.logIn(data.get("email").trim(), data.get("password"));
    notice("You are logged in.", "ok");
    afterLogin(params);
  });
  show(h("h1", {}, "Log in"), form,
    h("p", {}, "New here? ", h("a", { href: `#/register${params.size ? `?${params}` : ""}` }, "Create an account")));
}

export function register(params) {
  const form = submitting(h("form", { class: "narrow" },
    field("Name", h("input", { name: "name", autocomplete: "name", required: true })),
    field("Email", h("input", { name: "email", type: "email", autocomplete: "email", required: true })),
    field("Password", h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minLength: 10 }),
      "At least 10 characters."),
    h("button", { type: "submit" }, "Create account")), async (data) => {
    const email = data.get("email").trim();
    await api.call("POST", "users", { body: { name: data.get("name"), email, password: data.get("password") } });
    await api.logIn(email, data.get("password"));
    notice("Welcome! Your account is ready and you are logged in.", "ok");
    afterLogin(params);
  });
  show(h("h1", {}, "Create an account"), form);
}

function needLogin(what) {
  show(h("h1", {}, what), h("p", {}, h("a", { href: "#/login" }, "Log in"), ` to see your ${what.toLowerCase()}.`));
}

// --- orders -------------------------------------------------------------------------------

export async function orders(isCurrent) {
  if (!api.session()) return needLogin("Orders");
  const list = h("ul", { class: "orders" });
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show older orders");
  show(h("h1", {}, "Your orders"), list, more);
  const load = async (token) => {
    const query = new URLSearchParams({ limit: "20" });
    if (token) query.set("next_token", token);
    const { data } = await api.call("GET", `orders?${query}`, { auth: true });
    for (const order of data.items) {
      list.append(h("li", { class: "card", dataset: { order: order.id, status: order.status } },
        h("a", { href: `#/orders/${encodeURIComponent(order.id)}` }, `Order of ${date(order.placed_at)}`),
        " ", h("span", { class: `status status-${order.status.toLowerCase()}` }, order.status),
        " ", money(order.total)));
    }
    if (!list.children.length) list.append(h("li", {}, "No orders yet."));
    more.hidden = !data.next_token;
    more.onclick = () => load(data.next_token).catch(fail);
  };
  try {
    await load();
  } catch (error) {
    if (isCurrent()) fail(error);
  }
}

const productNames = new Map();

async function productName(id) {
  if (!productNames.has(id)) {
    const fromCart = api.cart().find((l) => l.id === id)?.name;
    productNames.set(id, fromCart
      ? Promise.resolve(fromCart)
      : api.call("GET", `products/${encodeURIComponent(id)}`).then((r) => r.data.name, () => "a product"));
  }
  return productNames.get(id);
}

/** One order, refreshed every second until it reaches its end (or the person leaves the page). */
export async function order(id, isCurrent) {
  if (!api.session()) return needLogin("Orders");
  const status = h("p", { class: "status-line", role: "status", "aria-live": "polite" });
  const reason = h("p", { class: "reason" });
  const refund = h("p", { class: "refund" });
  const lines = h("ul", { class: "lines" });
  const total = h("p", { class: "total" });
  const actions = h("div", { class: "actions" });
  show(h("p", {}, h("a", { href: "#/orders" }, "← Your orders")), h("h1", {}, "Order"),
    h("p", { class: "muted" }, `Number ${id}`), status, reason, refund, lines, total, actions);

  let drawnLines = false;
  const draw = async (current) => {
    status.dataset.status = current.status;
    status.textContent = STATUS_WORDS[current.status] ?? current.status;
    reason.textContent = reasonWords(current);
    refund.textContent = current.refunded ? `Refunded: ${money(current.refunded)} back to your card.` : "";
    total.textContent = `Total: ${money(current.total)}`;
    if (!drawnLines) {
      drawnLines = true;
      const names = await Promise.all(current.lines.map((l) => productName(l.product_id)));
      lines.replaceChildren(...current.lines.map((l, i) =>
        h("li", {}, `${l.quantity} x `, h("a", { href: `#/products/${encodeURIComponent(l.product_id)}` }, names[i]),
          ` at ${money(l.unit_price)}`)));
    }
    actions.replaceChildren();
    if (current.status === "PENDING" || current.status === "CONFIRMED") {
      actions.append(h("button", { type: "button", class: "danger", on: { click: cancel } }, "Cancel order"));
    }
  };
  const cancel = async (event) => {
    event.target.disabled = true;
    try {
      const { data } = await api.call("POST", `orders/${encodeURIComponent(id)}/cancel`, { auth: true });
      await draw(data);
      notice(data.refunded ? "Order cancelled and refunded." : "Order cancelled.", "ok");
    } catch (error) {
      event.target.disabled = false;
      fail(error);
    }
  };
  let failures = 0;
  while (isCurrent()) {
    try {
      const { data } = await api.call("GET", `orders/${encodeURIComponent(id)}`, { auth: true });
      failures = 0;
      if (!isCurrent()) return;
      await draw(data);
      if (data.status !== "PENDING") return;
    } catch (error) {
      failures += 1;
      // A missing order or a lost session will not mend itself; a busy or unreachable shop may.
      if (!(error.status === 0 || error.status >= 500) || failures >= 5) {
        status.textContent = "This order could not be loaded.";
        fail(error);
        return;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

// --- notifications ------------------------------------------------------------------------

export async function notifications(isCurrent = () => true) {
  if (!api.session()) return needLogin("Notifications");
  const list = h("ul", { class: "notifications" });
  const refresh = h("button", { type: "button", class: "secondary", on: { click: () => notifications(isCurrent) } }, "Refresh");
  show(h("h1", {}, "Your notifications"), refresh, list);
  try {
    const { data } = await api.call("GET", "notifications?limit=50", { auth: true });
    for (const item of data.items) {
      list.append(h("li", { class: "card", dataset: { type: item.event_type } },
        h("h2", {}, item.subject),
        h("p", { class: "muted" }, `${date(item.created_at)} · ${item.channel} to ${item.recipient} · ${item.status}`),
        h("p", { class: "body" }, item.body)));
    }
    if (!data.items.length) list.append(h("li", {}, "No notifications yet."));
  } catch (error) {
    if (isCurrent()) fail(error);
  }
}

export function notFound() {
  clearNotice();
  show(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Back to the catalog")));
}
