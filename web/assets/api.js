// The shop's HTTP API, same origin. The page is served at the API's root, so every route is
// resolved against the directory above this module (assets/..), whatever prefix that root has.
const root = new URL("../", import.meta.url);

/** An answer from the API that is not a success, or no answer at all, in plain words. */
export class ApiError extends Error {
  constructor(status, message, { problem = null, details = [], retryAfter = null } = {}) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.details = details;
    this.retryAfter = retryAfter;
  }
}

const SESSION_KEY = "shop.session";
const CART_KEY = "shop.cart";
const listeners = new Set();

/** Called with no arguments whenever the session or the cart changes. */
export function onChange(listener) {
  listeners.add(listener);
}

function changed() {
  for (const listener of listeners) listener();
}

function readJson(key, fallback) {
  try {
    const value = JSON.parse(localStorage.getItem(key));
    return value ?? fallback;
  } catch {
    return fallback;
  }
}

// --- session ------------------------------------------------------------------------------

/** The logged-in person, {token, email, role, exp}, or null once the token has expired. */
export function session() {
  const current = readJson(SESSION_KEY, null);
  if (!current || typeof current.token !== "string") return null;
  if (typeof current.exp === "number" && current.exp * 1000 <= Date.now()) {
    localStorage.removeItem(SESSION_KEY);
    return null;
  }
  return current;
}

function claims(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), "=")));
  } catch {
    return {};
  }
}

export async function logIn(email, password) {
  const { data } = await call("POST", "auth/token", { body: { email, password } });
  // The token is verified by the API on every call; the page reads its claims only to show
  // the right links (an edited role would only show links the API then refuses).
  const { role, exp } = claims(data.access_token);
  localStorage.setItem(SESSION_KEY, JSON.stringify({ token: data.access_token, email, role, exp }));
  changed();
}

export function logOut() {
  localStorage.removeItem(SESSION_KEY);
  changed();
}

// --- cart: in localStorage, so it survives a reload and is shared by the shop's tabs ---------

/** [{id, name, price, quantity}] */
export function cart() {
  const lines = readJson(CART_KEY, []);
  return Array.isArray(lines) ? lines.filter((l) => l && typeof l.id === "string" && l.quantity > 0) : [];
}

function saveCart(lines) {
  localStorage.setItem(CART_KEY, JSON.stringify(lines));
  changed();
}

export function addToCart(product, quantity) {
  const lines = cart();
  const line = lines.find((l) => l.id === product.id);
  if (line) line.quantity = Math.min(100, line.quantity + quantity);
  else lines.push({ id: product.id, name: product.name, price: product.price, quantity });
  saveCart(lines);
}

export function setQuantity(id, quantity) {
  saveCart(cart().map((l) => (l.id === id ? { ...l, quantity } : l)).filter((l) => l.quantity > 0));
}

export function clearCart() {
  saveCart([]);
}

window.addEventListener("storage", (event) => {
  if (event.key === SESSION_KEY || event.key === CART_KEY) changed();
});

// --- calls ---------------------------------------------------------------------------------

/**
 * Calls the API: resolves to {status, data, etag} on a 2xx, throws an ApiError with a message
 * for a person otherwise. An authenticated call whose token the API refuses ends the session.
 */
export async function call(method, path, { body, auth = false, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  if (auth) {
    const current = session();
    if (!current) throw new ApiError(401, "Please log in first.");
    init.headers.Authorization = `Bearer ${current.token}`;
  }
  let response;
  try {
    response = await fetch(new URL(path, root), init);
  } catch {
    throw new ApiError(0, "The shop could not be reached. Check your connection and try again.");
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return { status: response.status, data, etag: response.headers.get("ETag") };
  if (auth && response.status === 401) logOut();
  throw explain(response, data, path);
}

// Problem+json (RFC 9457) -> words. The API's own `detail` says what happened in this case;
// the sentence before it says what the person can do about it.
function explain(response, problem, path) {
  const status = response.status;
  const isProblem = problem && typeof problem === "object" && "status" in problem;
  const detail = isProblem && typeof problem.detail === "string" ? sentence(problem.detail) : "";
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  const wait = Number.isFinite(retryAfter) ? ` Please try again in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.` : " Please try again in a moment.";
  const details = isProblem && Array.isArray(problem.errors)
    ? problem.errors.map((e) => `${label(e.field)}: ${e.message}`)
    : [];
  let message;
  switch (status) {
    case 400: message = `The shop did not understand that request. ${detail}`; break;
    case 401: message = path === "auth/token"
      ? "The email or password is not right."
      : "Please log in again: you are not logged in, or your session has ended."; break;
    case 403: message = "Your account is not allowed to do that."; break;
    case 404: message = `That could not be found. ${detail}`; break;
    case 409: message = `That cannot be done now. ${detail}`; break;
    case 412: message = "Someone else changed this product since you opened it. Reload the page to see their change, then try again."; break;
    case 413: message = "That is too large to send."; break;
    case 422: message = details.length ? "Please correct the fields below." : `That was not accepted. ${detail}`; break;
    case 428: message = "The shop needs the product's version to change it: reload the page and try again."; break;
    case 429: message = `Too many attempts.${detail ? ` ${detail}` : ""}${wait}`; break;
    case 503: message = `The shop is busy and nothing was changed.${wait}`; break;
    default:
      message = status >= 500
        ? `Something went wrong on our side; nothing you did caused it. Please try again.${isProblem && problem.instance ? ` (Reference: ${problem.instance})` : ""}`
        : `The shop answered ${status}. ${detail}`;
  }
  return new ApiError(status, message.trim(), {
    problem: isProblem ? problem : null,
    details,
    retryAfter: Number.isFinite(retryAfter) ? retryAfter : null,
  });
}

function sentence(text) {
  const trimmed = text.trim();
  if (!trimmed) return "";
  const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function label(field) {
  const name = String(field ?? "").replace(/_/g, " ").replace(/\./g, " ");
  return name ? name[0].toUpperCase() + name.slice(1) : "Request";
}

/** A fresh Idempotency-Key: one per checkout, reused only to retry that same checkout. */
export function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
