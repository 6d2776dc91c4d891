// The storefront's entry module: hash routes (#/, #/products/<id>, #/cart, ...), so every page
// is the one index.html and no route of the page can collide with a route of the API.
import * as api from "./api.js";
import { adminView } from "./admin.js";
import { clearNotice } from "./dom.js";
import * as views from "./views.js";

let generation = 0;

function route() {
  generation += 1;
  const mine = generation;
  const isCurrent = () => mine === generation;
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path, query = ""] = hash.split("?");
  const params = new URLSearchParams(query);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const run = () => {
    switch (parts[0] ?? "") {
      case "": return views.catalog(params, isCurrent);
      case "products": return parts[1] ? views.product(parts[1], isCurrent) : views.catalog(params, isCurrent);
      case "cart": return views.cartView();
      case "login": return views.login(params);
      case "register": return views.register(params);
      case "orders": return parts[1] ? views.order(parts[1], isCurrent) : views.orders(isCurrent);
      case "notifications": return views.notifications(isCurrent);
      case "admin": return adminView();
      default: return views.notFound();
    }
  };
  Promise.resolve().then(run).catch(views.fail);
}

function updateNav() {
  const current = api.session();
  for (const item of document.querySelectorAll("[data-when]")) {
    const when = item.dataset.when;
    item.hidden = when === "guest" ? Boolean(current) : when === "admin" ? current?.role !== "admin" : !current;
  }
  document.getElementById("nav-user").textContent = current ? current.email : "";
  const count = api.cart().reduce((sum, line) => sum + line.quantity, 0);
  document.getElementById("nav-cart").textContent = count ? `Cart (${count})` : "Cart";
}

document.getElementById("logout").addEventListener("click", () => {
  api.logOut();
  location.hash = "#/";
});

api.onChange(updateNav);
window.addEventListener("hashchange", () => {
  // A message belongs to the page it was shown on, except a success that led here.
  if (!document.querySelector("#notice.ok")) clearNotice();
  route();
});
window.addEventListener("unhandledrejection", (event) => views.fail(event.reason));
updateNav();
route();
