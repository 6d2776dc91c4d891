#!/usr/bin/env python3
"""A walk through the shop against the stack `make up` deployed (or another: SHOP_STAGE, SHOP_API_URL):
register, log in, browse, order and watch it reach CONFIRMED with its notification; then an
order for something out of stock (REJECTED) and one paid with a declined card (CANCELLED, stock
released). Prints each step and exits non-zero as soon as an expectation fails."""

import os
import sys
import time
import urllib.parse
import uuid

from shop_api import ShopApi

# SHOP_STAGE: another stack (make sam-check walks stage sam); SHOP_API_URL: another HTTP API;
# API_TRANSPORT=invoke: through the functions, where the emulator has no HTTP API (scripts/shop_api.py).
API = ShopApi(os.environ.get("SHOP_STAGE", "local"))
call = API.call
STEP = 0


def step(text):
    global STEP
    STEP += 1
    print(f"{STEP:2}. {text}")


def expect(condition, what):
    if not condition:
        print(f"    FAILED: {what}")
        sys.exit(1)
    print(f"    ok: {what}")


def wait_for(what, probe, timeout=30.0):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        value = probe()
        if value:
            return value, time.monotonic() - started
        time.sleep(0.1)
    print(f"    FAILED: {what} within {timeout:.0f} s")
    sys.exit(1)


def order(token, product, quantity, card):
    status, placed = call(
        "POST",
        "/orders",
        {"lines": [{"product_id": product["id"], "quantity": quantity}], "payment_token": card},
        token,
        {"idempotency-key": uuid.uuid4().hex},
    )
    expect(
        status == 201 and placed["status"] == "PENDING",
        f"order {placed.get('id', '?')[:8]} placed: {placed.get('total')}",
    )
    final, took = wait_for(
        "the saga to finish",
        lambda: (lambda o: o if o["status"] != "PENDING" else None)(
            call("GET", f"/orders/{placed['id']}", token=token)[1]
        ),
    )
    print(f"    saga finished in {took:.2f} s: {final['status']} {final.get('reason', '')}")
    return final


def notified(token, event_type, order_id):
    def probe():
        _, page = call("GET", "/notifications?limit=50", token=token)
        # A notification is listed from the moment it is claimed ("sending"): wait for its outcome.
        return next(
            (
                n
                for n in page["items"]
                if n["event_type"] == event_type and order_id in n["body"] and n["status"] != "sending"
            ),
            None,
        )

    notification, took = wait_for(f"a {event_type} notification", probe)
    expect(
        notification["status"] == "sent",
        f'notified by email within {took:.2f} s: "{notification["subject"]}"',
    )


def main():
    print(
        f"API: {API.url}"
        + (" (through the functions: API_TRANSPORT=invoke)" if API.transport == "invoke" else "")
    )
    email = f"demo-{uuid.uuid4().hex[:8]}@example.org"
    step(f"register {email}")
    status, user = call(
        "POST", "/users", {"email": email, "password": "correct horse battery", "name": "Demo Customer"}
    )
    expect(status == 201 and user["role"] == "customer", f"registered as {user.get('id')}")
    step("log in")
    status, token = call("POST", "/auth/token", {"email": email, "password": "correct horse battery"})
    expect(status == 200, "got a bearer token")
    token = token["access_token"]
    step("browse the catalog")
    # Page by page (next_token), as a client does: on a stack other tests have filled, the demo's
    # products need not be on the first page.
    catalog, pages, query = {}, 0, "limit=20"
    while query is not None:
        status, page = call("GET", f"/products?{query}")
        if status != 200:
            expect(False, f"page {pages + 1} of the catalog: {status} {page}")
        catalog.update({p["sku"]: p for p in page["items"]})
        pages += 1
        more = page.get("next_token")
        query = (
            None
            if {"MUG-001", "BOOK-01"} <= catalog.keys() or not more
            else f"limit=20&next_token={urllib.parse.quote(more)}"
        )
    demo_skus = sorted(sku for sku in catalog if sku in ("MUG-001", "TEE-001", "STK-001", "BOOK-01"))
    expect(
        {"MUG-001", "BOOK-01"} <= catalog.keys(),
        f"{len(catalog)} products on {pages} page(s), the demo's among them: " + ", ".join(demo_skus),
    )
    mug, book = catalog["MUG-001"], catalog["BOOK-01"]
    _, before = call("GET", f"/inventory/{mug['id']}")

    step("order 2 Rust mugs with tok_visa")
    confirmed = order(token, mug, 2, "tok_visa")
    expect(confirmed["status"] == "CONFIRMED", "confirmed and paid")
    _, after = call("GET", f"/inventory/{mug['id']}")
    expect(
        after["reserved"] == before["reserved"] + 2,
        f"2 mugs reserved (available {before['available']} -> {after['available']})",
    )
    notified(token, "OrderConfirmed", confirmed["id"])

    step("order the out-of-stock book")
    rejected = order(token, book, 1, "tok_visa")
    expect(
        rejected["status"] == "REJECTED" and rejected.get("reason") == "out_of_stock",
        "rejected: out of stock, nothing charged",
    )
    notified(token, "OrderRejected", rejected["id"])

    step("order a mug with a card that is declined (tok_chargeDeclined)")
    _, before = call("GET", f"/inventory/{mug['id']}")
    declined = order(token, mug, 1, "tok_chargeDeclined")
    expect(
        declined["status"] == "CANCELLED" and declined.get("reason") == "payment_declined",
        "cancelled: payment declined",
    )
    released, took = wait_for(
        "the reservation to be released",
        lambda: (lambda lvl: lvl if lvl["reserved"] == before["reserved"] else None)(
            call("GET", f"/inventory/{mug['id']}")[1]
        ),
    )
    expect(True, f"stock released within {took:.2f} s (reserved back to {released['reserved']})")
    notified(token, "OrderCancelled", declined["id"])

    step("cancel the confirmed order")
    status, cancelled = call("POST", f"/orders/{confirmed['id']}/cancel", token=token)
    expect(
        status == 200 and cancelled.get("refunded") == confirmed["total"],
        f"cancelled and refunded {cancelled.get('refunded')}",
    )
    notified(token, "OrderCancelled", confirmed["id"])

    step("list my orders and notifications")
    _, orders = call("GET", "/orders", token=token)
    _, notes = call("GET", "/notifications", token=token)
    expect(
        len(orders["items"]) == 3,
        "3 orders, newest first: " + ", ".join(o["status"] for o in orders["items"]),
    )
    expect(len(notes["items"]) >= 5, f"{len(notes['items'])} notifications")
    print("demo passed")


if __name__ == "__main__":
    main()
