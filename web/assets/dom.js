// Building the page. Text is only ever set as text (text nodes, textContent, attribute values):
// nothing here parses a string as HTML, so a product named "<img src=x onerror=...>" shows as
// those characters. The storefront crate's tests fail if any module uses an HTML-parsing sink.

/** Creates an element: h("a", {href: "#/", class: "x", on: {click: fn}}, "text", child, ...). */
export function h(tag, props = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "on") {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else if (name === "class") {
      element.className = value;
    } else if (name === "dataset") {
      Object.assign(element.dataset, value);
    } else if (name in element && typeof element[name] !== "function" && !name.includes("-")) {
      element[name] = value;
    } else {
      element.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the contents of the main view and moves focus there (keyboard and screen readers). */
export function show(...children) {
  const view = document.getElementById("view");
  view.replaceChildren();
  append(view, children);
  view.focus({ preventScroll: true });
  window.scrollTo(0, 0);
}

/** A labelled form field; the label names the control for assistive technology and tests. */
export function field(label, control, hint) {
  const id = control.id || `f-${label.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  control.id = id;
  const hintId = hint ? `${id}-hint` : undefined;
  if (hintId) control.setAttribute("aria-describedby", hintId);
  return h("div", { class: "field" },
    h("label", { htmlFor: id }, label),
    control,
    hint ? h("small", { id: hintId }, hint) : null,
    h("span", { class: "field-error", id: `${id}-error`, role: "status" }));
}

/** Money in minor units, as the API gives it: {amount_minor: 1999, currency: "EUR"}. */
export function money(value) {
  if (!value || typeof value.amount_minor !== "number") return "";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: value.currency })
      .format(value.amount_minor / 100);
  } catch {
    return `${(value.amount_minor / 100).toFixed(2)} ${value.currency}`;
  }
}

/** "12.5" or "12,50" -> 1250 minor units, exactly (no floating point); null when it is not a price. */
export function parseMinor(text) {
  const match = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(text);
  if (!match) return null;
  return Number(match[1]) * 100 + Number((match[2] || "0").padEnd(2, "0"));
}

export function date(text) {
  const value = new Date(text);
  return Number.isNaN(value.getTime()) ? text : value.toLocaleString();
}

let noticeTimer;

/** Shows a message to the person: kind "error" stays until the next one, "ok" fades after a while. */
export function notice(message, kind = "error", details = []) {
  const box = document.getElementById("notice");
  clearTimeout(noticeTimer);
  box.className = `notice ${kind}`;
  box.replaceChildren(h("p", {}, message));
  if (details.length) box.append(h("ul", {}, details.map((d) => h("li", {}, d))));
  box.append(h("button", { type: "button", class: "close", "aria-label": "Dismiss", on: { click: clearNotice } }, "×"));
  box.hidden = false;
  if (kind === "ok") noticeTimer = setTimeout(clearNotice, 6000);
}

export function clearNotice() {
  const box = document.getElementById("notice");
  box.hidden = true;
  box.replaceChildren();
}

/** Marks each field named in a 422 problem's `errors` next to its control. */
export function markFields(form, errors = []) {
  for (const span of form.querySelectorAll(".field-error")) span.textContent = "";
  for (const control of form.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  for (const error of errors) {
    const control = form.querySelector(`[name="${CSS.escape(fieldName(error.field))}"]`);
    if (!control) continue;
    control.setAttribute("aria-invalid", "true");
    const span = form.querySelector(`#${CSS.escape(control.id)}-error`);
    if (span) span.textContent = error.message;
  }
}

// "price.amount_minor" -> "price", "lines[0].quantity" -> "lines".
function fieldName(path = "") {
  return String(path).split(/[.[]/)[0];
}
