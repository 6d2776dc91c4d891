// What an admin can do: create products, edit them (If-Match with the version the page shows),
// archive them and set their stock. The API checks the role on every call; the page only hides
// these forms from others.
import * as api from "./api.js";
import { field, h, markFields, money, notice, parseMinor, show } from "./dom.js";

function guard(form, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach((b) => { b.disabled = true; });
    try {
      markFields(form, []);
      await action(new FormData(form));
    } catch (error) {
      if (error instanceof api.ApiError) {
        notice(error.message, "error", error.details);
        markFields(form, error.problem?.errors ?? []);
      } else {
        notice(`Something went wrong in this page: ${error?.message ?? error}.`);
      }
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  return form;
}

function priceOf(data) {
  const minor = parseMinor(String(data.get("price") ?? ""));
  if (minor === null) {
    throw new api.ApiError(422, "Please correct the fields below.", {
      problem: { errors: [{ field: "price", message: "a price such as 12.50" }] },
      details: ["Price: a price such as 12.50"],
    });
  }
  return { amount_minor: minor, currency: data.get("currency") };
}

function productFields(item = {}) {
  const currency = item.price?.currency ?? "EUR";
  return [
    field("Name", h("input", { name: "name", required: true, value: item.name ?? "", maxLength: 200 })),
    field("Description", h("textarea", { name: "description", rows: 3, value: item.description ?? "" })),
    field("Category", h("input", { name: "category", required: true, value: item.category ?? "", pattern: "[a-z0-9-]+" }),
      "Lowercase letters, digits and dashes, e.g. kitchen."),
    field("Price", h("input", { name: "price", inputMode: "decimal", required: true,
      value: item.price ? (item.price.amount_minor / 100).toFixed(2) : "" }), "e.g. 12.50"),
    field("Currency", h("select", { name: "currency" },
      ["EUR", "USD", "GBP"].map((c) => h("option", { value: c, selected: c === currency }, c)))),
  ];
}

/** #/admin: create a product. */
export function adminView() {
  if (api.session()?.role !== "admin") {
    show(h("h1", {}, "Admin"), h("p", {}, "This page is for the shop's admins. ", h("a", { href: "#/login" }, "Log in"), " as one."));
    return;
  }
  const form = guard(h("form", { class: "narrow" },
    field("SKU", h("input", { name: "sku", required: true, maxLength: 40, pattern: "[A-Za-z0-9-]+" }),
      "Letters, digits and dashes; it cannot change later."),
    productFields(),
    h("button", { type: "submit" }, "Create product")), async (data) => {
    const { data: created } = await api.call("POST", "products", {
      auth: true,
      body: {
        sku: data.get("sku").trim(),
        name: data.get("name"),
        description: data.get("description"),
        category: data.get("category").trim(),
        price: priceOf(data),
      },
    });
    notice(`${created.name} created. Set its stock below to put it on sale.`, "ok");
    location.hash = `#/products/${encodeURIComponent(created.id)}`;
  });
  show(h("h1", {}, "Admin: new product"), form);
}

/** The admin panel on a product's page. */
export function productAdmin(item, etag) {
  let version = etag;
  const edit = guard(h("form", { class: "narrow" }, productFields(item), h("button", { type: "submit" }, "Save changes")),
    async (data) => {
      const { data: saved, etag: next } = await api.call("PATCH", `products/${encodeURIComponent(item.id)}`, {
        auth: true,
        headers: { "If-Match": version },
        body: {
          name: data.get("name"),
          description: data.get("description"),
          category: data.get("category").trim(),
          price: priceOf(data),
        },
      });
      version = next;
      notice(`Saved: ${saved.name} at ${money(saved.price)}.`, "ok");
      location.hash = `#/products/${encodeURIComponent(item.id)}?v=${saved.version}`;
    });
  const stock = guard(h("form", { class: "inline" },
    field("Units on hand", h("input", { name: "on_hand", type: "number", min: 0, required: true })),
    h("button", { type: "submit" }, "Set stock")), async (data) => {
    try {
      const { data: level } = await api.call("PUT", `inventory/${encodeURIComponent(item.id)}`, {
        auth: true, body: { on_hand: Number.parseInt(data.get("on_hand"), 10) },
      });
      notice(`Stock set: ${level.on_hand} on hand, ${level.available} available.`, "ok");
      const line = document.querySelector(".stock");
      if (line) {
        line.textContent = level.available > 0 ? `In stock: ${level.available} available` : "Out of stock";
        line.dataset.available = String(level.available);
      }
    } catch (error) {
      // Inventory learns of a new product from its ProductCreated event, a moment after it is created.
      if (error.status === 404) {
        throw new api.ApiError(404, "The stock record of this new product is still being set up. Try again in a few seconds.");
      }
      throw error;
    }
  });
  const archive = h("button", { type: "button", class: "danger", on: { click: async (event) => {
    event.target.disabled = true;
    try {
      await api.call("DELETE", `products/${encodeURIComponent(item.id)}`, { auth: true });
      notice(`${item.name} is archived: no longer listed or sold.`, "ok");
      location.hash = "#/";
    } catch (error) {
      event.target.disabled = false;
      notice(error.message, "error", error.details ?? []);
    }
  } } }, "Archive product");
  return h("section", { class: "admin", "aria-labelledby": "admin-heading" },
    h("h2", { id: "admin-heading" }, "Admin"),
    item.status === "active" ? [h("h3", {}, "Stock"), stock, h("h3", {}, "Edit"), edit, h("h3", {}, "Archive"), archive]
      : h("p", {}, "Archived products cannot be changed."));
}
