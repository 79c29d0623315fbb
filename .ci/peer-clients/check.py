"""Drives one StoreSync sandbox with a client library published on PyPI.

Usage: check.py shopee|tiktok|lazada BASE_URL "CREDENTIALS LINE"

The credentials line is the first line `storesync sandbox` prints
(`partner_id=… partner_key=…` or `app_key=… app_secret=…`). The check seeds a
shop through the sandbox's control API (`/__sandbox/...`, which also stands in
for the seller pressing Approve on the consent page), then goes through auth,
product list and detail, a stock update, order list and detail with the
library alone, and compares every answer with the sandbox's own state. Any
mismatch or error exits non-zero: a fidelity regression fails CI.
"""

import contextlib
import datetime
import io
import json
import sys
import urllib.request

FAILURES = []


def check(cond, what):
    if cond:
        print(f"  ok    {what}")
    else:
        print(f"  FAIL  {what}")
        FAILURES.append(what)


def control(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def seed(base, products):
    """A shop with `products`, and an approved authorization: (shop view, auth code)."""
    control(base, "PUT", "/__sandbox/app", {"redirect_url": "https://peer.example/cb"})
    shop = control(base, "POST", "/__sandbox/shops", {"name": "Peer shop", "region": "SG", "products": products})
    auth = control(
        base, "POST", "/__sandbox/authorize", {"shop_id": shop["shop_id"], "redirect": "https://peer.example/cb"}
    )
    return shop, auth["code"]


def place_order(base, shop_id, seller_sku, quantity):
    order = control(
        base,
        "POST",
        f"/__sandbox/shops/{shop_id}/orders",
        {"lines": [{"seller_sku": seller_sku, "quantity": quantity}]},
    )
    return order


def listing(base, shop_id, seller_sku):
    rows = control(base, "GET", f"/__sandbox/shops/{shop_id}/listings")
    return next(r for r in rows if r["seller_sku"] == seller_sku)


# ---- Shopee: pyshopee2 (the Shopee Open Platform v2 client of the pyshopee package) ----------


def quiet(call, **kwargs):
    """pyshopee2 prints every signed URL (tokens included): keep that out of the CI log."""
    with contextlib.redirect_stdout(io.StringIO()):
        return call(**kwargs)


def shopee(base, creds):
    import pyshopee2

    shop, code = seed(base, [{"name": "Peer tee", "item_sku": "PEER-TEE", "price": "12.50", "stock": 10}])
    shop_id = shop["shop_id"]
    item_id = shop["products"][0]["product_id"]
    client = pyshopee2.Client(shop_id, creds["partner_id"], creds["partner_key"], "https://peer.example/cb")
    client.host = base
    client.code = code
    access, expire_in, _refresh = quiet(client.get_token)
    check(bool(access) and expire_in == 14_400, "auth: code exchanged for a 4-hour access token")

    items = quiet(client.product.get_item_list, offset=0, page_size=10, item_status="NORMAL")
    ids = [i["item_id"] for i in items.get("response", {}).get("item", [])]
    check(items.get("error") == "" and ids == [item_id], f"product list names the item ({items.get('error')!r})")
    info = quiet(client.product.get_item_base_info, item_id_list=item_id)
    got = info.get("response", {}).get("item_list", [{}])[0]
    check(got.get("item_sku") == "PEER-TEE", "product detail has the item's SKU")

    upd = quiet(
        client.product.update_stock, item_id=item_id, stock_list=[{"model_id": 0, "seller_stock": [{"stock": 7}]}]
    )
    check(upd.get("error") == "", f"stock update accepted ({upd.get('error')!r})")
    check(listing(base, shop_id, "PEER-TEE")["total_stock"] == 7, "the sandbox shows the new stock")

    order = place_order(base, shop_id, "PEER-TEE", 2)
    now = int(datetime.datetime.now().timestamp())
    lst = quiet(
        client.order.get_order_list,
        time_range_field="create_time",
        time_from=now - 3600,
        time_to=now + 60,
        page_size=20,
    )
    sns = [o["order_sn"] for o in lst.get("response", {}).get("order_list", [])]
    check(order["order_id"] in sns, f"order list names the order ({lst.get('error')!r})")
    det = quiet(client.order.get_order_detail, order_sn_list=order["order_id"], response_optional_fields="item_list")
    o = det.get("response", {}).get("order_list", [{}])[0]
    qty = sum(i.get("model_quantity_purchased", 0) for i in o.get("item_list", []))
    check(o.get("order_status") == order["status"] and qty == 2, "order detail: status and quantity match")


# ---- TikTok Shop: tiktok-shop-api (response models generated from TikTok's spec) -------------


def tiktok(base, creds):
    from tiktok_shop_api import TikTokShop, TikTokShopAuth
    from tiktok_shop_api.generated.models import SearchProductsRequest, UpdateInventoryRequest
    from tiktok_shop_api.generated.models import GetOrderListRequest

    shop, code = seed(base, [{"name": "Peer batik", "variants": [{"seller_sku": "PEER-BATIK", "price": "15", "stock": 10}]}])
    shop_id = shop["shop_id"]
    product_id = str(shop["products"][0]["product_id"])
    sku_id = str(shop["products"][0]["variants"][0]["variant_id"])
    auth = TikTokShopAuth(creds["app_key"], creds["app_secret"], base_url=base)
    tokens = auth.exchange_code(code)
    check(bool(tokens.access_token), "auth: code exchanged for a token")

    client = TikTokShop(creds["app_key"], creds["app_secret"], access_token=tokens.access_token, base_url=base)
    shops = client.authorization.get_authorized_shops()
    cipher = shops.data.shops[0].cipher
    check(cipher == shop["cipher"], "authorized shops give the shop's cipher")
    client = client.with_shop(shop_cipher=cipher)

    # The SDK's default versions: product search 202502, order detail 202507.
    found = client.products.search_products(page_size=10, body=SearchProductsRequest())
    ids = [p.id for p in found.data.products]
    check(ids == [product_id], "product search (202502) names the product")
    detail = client.products.get_product(product_id)
    check(detail.data.skus[0].seller_sku == "PEER-BATIK", "product detail parses with the spec's models")

    warehouse = shop["warehouses"][0]
    body = UpdateInventoryRequest.from_dict(
        {"skus": [{"id": sku_id, "inventory": [{"warehouse_id": warehouse, "quantity": 7}]}]}
    )
    client.products.update_inventory(product_id, body=body)
    check(listing(base, shop_id, "PEER-BATIK")["total_stock"] == 7, "the sandbox shows the new stock")

    order = place_order(base, shop_id, "PEER-BATIK", 2)
    lst = client.orders.get_order_list(page_size=20, body=GetOrderListRequest())
    oids = [o.id for o in lst.data.orders]
    check(order["order_id"] in oids, "order list names the order")
    det = client.orders.get_order_detail(ids=[order["order_id"]])
    o = det.data.orders[0]
    check(o.status == order["status"] and len(o.line_items) == 2, "order detail (202507): status and units match")


# ---- Lazada: lazop-sdk (Lazada's official SDK) ------------------------------------------------


def lazada(base, creds):
    import lazop_sdk as lazop

    shop, code = seed(base, [{"name": "Peer kaos", "variants": [{"seller_sku": "PEER-KAOS", "price": "9.90", "stock": 10}]}])
    shop_id = shop["shop_id"]
    item_id = shop["products"][0]["product_id"]
    sku_id = shop["products"][0]["variants"][0]["variant_id"]
    client = lazop.LazopClient(base + "/rest", creds["app_key"], creds["app_secret"])

    req = lazop.LazopRequest("/auth/token/create")
    req.add_api_param("code", code)
    tok = client.execute(req).body
    token = tok.get("access_token")
    check(tok.get("code") == "0" and bool(token), f"auth: code exchanged for a token ({tok.get('code')!r})")

    req = lazop.LazopRequest("/products/get", "GET")
    req.add_api_param("filter", "all")
    got = client.execute(req, token).body
    ids = [p["item_id"] for p in got.get("data", {}).get("products", [])]
    check(got.get("code") == "0" and ids == [item_id], f"product list names the item ({got.get('code')!r})")
    req = lazop.LazopRequest("/product/item/get", "GET")
    req.add_api_param("item_id", str(item_id))
    got = client.execute(req, token).body
    skus = [s.get("SellerSku") for s in got.get("data", {}).get("skus", [])]
    check(skus == ["PEER-KAOS"], "product detail has the SKU")

    payload = (
        "<Request><Product><Skus><Sku>"
        f"<ItemId>{item_id}</ItemId><SkuId>{sku_id}</SkuId><SellerSku>PEER-KAOS</SellerSku>"
        "<SellableQuantity>7</SellableQuantity>"
        "</Sku></Skus></Product></Request>"
    )
    req = lazop.LazopRequest("/product/stock/sellable/update")
    req.add_api_param("payload", payload)
    got = client.execute(req, token).body
    check(got.get("code") == "0", f"stock update accepted ({got.get('code')!r} {got.get('message')!r})")
    check(listing(base, shop_id, "PEER-KAOS")["total_stock"] == 7, "the sandbox shows the new stock")

    order = place_order(base, shop_id, "PEER-KAOS", 2)
    since = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)).isoformat(timespec="seconds")
    req = lazop.LazopRequest("/orders/get", "GET")
    req.add_api_param("created_after", since)
    got = client.execute(req, token).body
    oids = [str(o["order_id"]) for o in got.get("data", {}).get("orders", [])]
    check(order["order_id"] in oids, f"order list names the order ({got.get('code')!r})")
    req = lazop.LazopRequest("/order/get", "GET")
    req.add_api_param("order_id", order["order_id"])
    got = client.execute(req, token).body
    statuses = got.get("data", {}).get("statuses", [])
    check(order["status"] in statuses, "order detail: status matches")
    req = lazop.LazopRequest("/order/items/get", "GET")
    req.add_api_param("order_id", order["order_id"])
    got = client.execute(req, token).body
    check(len(got.get("data", [])) == 2, "order items: one per unit, as Lazada lists them")


def main():
    marketplace, base, line = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
    creds = dict(kv.split("=", 1) for kv in line.split())
    print(f"{marketplace}: {base}")
    {"shopee": shopee, "tiktok": tiktok, "lazada": lazada}[marketplace](base, creds)
    if FAILURES:
        print(f"{marketplace}: {len(FAILURES)} mismatch(es)")
        sys.exit(1)


if __name__ == "__main__":
    main()
