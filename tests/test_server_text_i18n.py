"""Text the server writes for people, read in their language (issue #11, item 5): the
allocation reason and the order's history, the floor's rejections and errors, task
titles. Stored as messages, rendered when read: one order, many readers."""
import pytest

from server.inventory import services as stock
from server.orders.models import Order, OrderEvent
from sync.models import SyncMutation

from .helpers import PASSWORD, make_sku, make_user, token_headers


def _split_and_backordered(client, world, db_session, external_id):
    """Seller A's order for 2 of X (stock only in wh1) and 3 of Y (2 in stock, only in
    wh2): split over the two warehouses, one unit of Y backordered."""
    s = db_session
    x = make_sku(s, world.seller_a, weight_g=500, length_mm=200, width_mm=150,
                 height_mm=100)
    y = make_sku(s, world.seller_a, weight_g=500, length_mm=200, width_mm=150,
                 height_mm=100)
    stock.receive(s, sku_id=x.id, bin_id=world.bins1[0].id, quantity=2, reason="test")
    stock.receive(s, sku_id=y.id, bin_id=world.bins2[0].id, quantity=2, reason="test")
    s.commit()
    response = client.post("/api/orders", headers=world.headers["seller_a"], json={
        "external_id": external_id,
        "ship_to": {"name": "Li Lei", "address1": "1 Main St", "city": "Los Angeles",
                    "state": "CA", "zip": "90001"},
        "lines": [{"sku_id": x.id, "quantity": 2, "unit_price_cents": 2500},
                  {"sku_id": y.id, "quantity": 3, "unit_price_cents": 2500}]})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_a_chinese_seller_reads_the_reason_and_history_in_chinese(client, world, db_session):
    """The order's reason has parts (a split, a backorder, unit counts) and its history
    lines: the seller whose setting is 简体中文 reads every one in Chinese, an English
    admin reads the same order in English, and the stored English is unchanged."""
    world.users["seller_a"].locale = "zh-CN"
    db_session.commit()
    created = _split_and_backordered(client, world, db_session, "ZH-1001")
    assert created["status"] == "backordered"
    assert created["allocation_reason"]["strategy"] == "split"

    order = client.get(f"/api/orders/{created['id']}",
                       headers=world.headers["seller_a"]).get_json()
    w1, w2 = world.wh1.code, world.wh2.code
    # Allocated at once (split), then tried again for the backordered unit once the
    # commit offered the stock to backorders: the reason says both, nested.
    why = order["allocation_reason"]["why"]
    assert why == (f"已分配：{w1}：2 件，{w2}：2 件。其余部分：允许的仓库都没有剩余商品的"
                   "库存：等待到货。缺货待发：1 件"), why
    assert order["allocation_reason"]["why_lang"] == "zh-Hans"
    assert "why_i18n" not in order["allocation_reason"]
    events = order["events"]
    assert events[0]["kind"] == "created"
    assert events[0]["message"] == "已从 manual 接收订单 ZH-1001"
    assert events[0]["message_lang"] == "zh-Hans"
    allocations = [e["message"] for e in events if e["kind"] == "allocation"]
    parts = {f"{w1}：2 件，{w2}：2 件", f"{w2}：2 件，{w1}：2 件"}
    assert allocations[0] in {f"没有一个仓库能整单发货；按最少包裹拆单：{p}。缺货待发：1 件"
                              for p in parts}, allocations[0]
    assert allocations[-1] == why
    # A status change keeps its machine form (the screen names the statuses itself).
    assert "received -> backordered" in [e["message"] for e in events if e["kind"] == "status"]

    english = client.get(f"/api/orders/{created['id']}",
                         headers=world.headers["admin"]).get_json()
    why_en = english["allocation_reason"]["why"]
    assert why_en == (f"Already allocated: {w1}: 2 units, {w2}: 2 units. For the rest: No "
                      "allowed warehouse has the rest in stock: waiting for stock. "
                      "Backordered: 1 unit"), why_en
    assert english["allocation_reason"]["why_lang"] == "en"
    first_en = next(e["message"] for e in english["events"] if e["kind"] == "allocation")
    assert first_en.startswith("No single warehouse can ship every line; fewest parcels: ")
    assert first_en.endswith(". Backordered: 1 unit")
    assert english["events"][0]["message"] == "Order ZH-1001 received from manual"

    # Stored: the English for API clients and old readers, and the message beside it,
    # the same on both backends (PostgreSQL writes it in one set-based statement).
    db_session.expire_all()
    stored = db_session.get(Order, created["id"])
    assert stored.allocation_reason["why"] == why_en
    assert stored.allocation_reason["why_i18n"]["msgid"] == \
        "Already allocated: %(where)s. For the rest: %(why)s"
    line = db_session.query(OrderEvent).filter_by(order_id=stored.id, kind="allocation") \
        .order_by(OrderEvent.id.desc()).first()
    assert line.message == why_en and line.message_i18n == stored.allocation_reason["why_i18n"]


def test_a_history_line_stored_before_messages_is_shown_as_it_is(client, world, db_session):
    """A line (or reason) written before messages existed has only English: shown as is."""
    world.users["seller_a"].locale = "zh-CN"
    db_session.commit()
    created = _split_and_backordered(client, world, db_session, "ZH-1002")
    order = db_session.get(Order, created["id"])
    db_session.add(OrderEvent(order_id=order.id, seller_id=order.seller_id, kind="note",
                              message="an old English note"))
    order.allocation_reason = {k: v for k, v in order.allocation_reason.items()
                               if k != "why_i18n"}
    db_session.commit()
    body = client.get(f"/api/orders/{order.id}", headers=world.headers["seller_a"]).get_json()
    note = next(e for e in body["events"] if e["kind"] == "note")
    assert note["message"] == "an old English note" and note["message_lang"] == "en"
    assert body["allocation_reason"]["why"].startswith("Already allocated: ")
    assert body["allocation_reason"]["why_lang"] == "en"


def test_a_floor_rejection_reads_in_spanish(client, world, db_session):
    """A picker whose setting is Español scans a bin that is not there: the rejection's
    message and the field's problem are Spanish, its error code and field name stay
    machine-readable, the stored result keeps English and the messages to render, and
    a replay is Spanish too. An API
    error for the same picker is Spanish as well."""
    picker = world.users["picker1"]
    picker.locale = "es"
    db_session.commit()
    push = {"device_id": "device-es-0001", "mutations": [
        {"id": 1, "name": "receive.scan", "args": {"bin": "NOPE-9", "sku": world.sku_a.code,
                                                   "qty": 1}}]}
    body = client.post("/api/sync/push", headers=world.headers["picker1"], json=push).get_json()
    [result] = body["results"]
    assert result["status"] == "rejected"
    detail = result["detail"]
    assert detail["error"] == "rejected"
    assert detail["message"] == "bin: no hay ninguna ubicación NOPE-9 en tu almacén"
    # The field keeps its name (machine-readable); its problem reads in Spanish too.
    assert detail["fields"] == {"bin": ["no hay ninguna ubicación NOPE-9 en tu almacén"]}
    assert "message_i18n" not in detail and "fields_i18n" not in detail
    row = db_session.query(SyncMutation).filter_by(device_id="device-es-0001").one()
    assert row.detail["message"] == "bin: no bin NOPE-9 in your warehouse"
    assert row.detail["fields"] == {"bin": ["no bin NOPE-9 in your warehouse"]}
    assert row.detail["message_i18n"]["msgid"] == "%(field)s: %(problem)s"
    again = client.post("/api/sync/push", headers=world.headers["picker1"], json=push)
    assert again.get_json()["results"][0]["detail"]["message"] == detail["message"]

    refused = client.post("/api/waves", headers=world.headers["picker1"],
                          json={"warehouse_id": world.wh1.id})
    assert refused.status_code == 422
    error = refused.get_json()
    assert error["error"] == "validation_error"
    assert error["message"] == "warehouse_id: aquí no hay pedidos asignados que liberar"
    assert error["fields"] == {"warehouse_id": ["aquí no hay pedidos asignados que liberar"]}


def test_a_task_title_reads_in_traditional_chinese_from_the_browser(client, world, db_session):
    """A picker who never chose a language, on a handheld that asks for zh-TW, reads a
    pick list's title in Traditional Chinese; an English reader of the same task reads
    English; the list of tasks and the sync pull say the same."""
    s = db_session
    response = client.post("/api/orders", headers=world.headers["seller_a"], json={
        "external_id": "TW-1", "ship_to": {"name": "Chen", "zip": "90001"},
        "lines": [{"sku_id": world.sku_a.id, "quantity": 2, "unit_price_cents": 2500}]})
    order = response.get_json()
    warehouse_id = order["lines"][0]["allocated"][0]["warehouse_id"]
    picker = make_user(s, "picker", warehouses=[world.wh1, world.wh2])
    picker.locale = ""  # no setting of their own: the browser decides
    s.commit()
    headers = token_headers(s, picker)
    wave = client.post("/api/waves", headers=headers, json={
        "warehouse_id": warehouse_id, "order_ids": [order["id"]]}).get_json()
    assert wave["title"] == "Wave of 1 order, 2 units"  # no Accept-Language: English

    tw = {**headers, "Accept-Language": "zh-TW,zh;q=0.9,en;q=0.5"}
    task = client.get(f"/api/tasks/{wave['id']}", headers=tw).get_json()
    assert task["title"] == "波次：1 筆訂單，2 件"
    listed = client.get("/api/tasks?kind=pick", headers=tw).get_json()["items"]
    assert [t["title"] for t in listed if t["id"] == wave["id"]] == ["波次：1 筆訂單，2 件"]
    pulled = client.get("/api/sync/pull", headers=tw).get_json()
    assert [t["title"] for t in pulled["changes"]["tasks"] if t["id"] == wave["id"]] == \
        ["波次：1 筆訂單，2 件"]
    english = client.get(f"/api/tasks/{wave['id']}", headers=world.headers["admin"])
    assert english.get_json()["title"] == "Wave of 1 order, 2 units"


@pytest.mark.parametrize("locale, expected", [
    ("zh_Hans", "订单 7 状态为已发货：已无法取消"),
    ("zh_Hant", "訂單 7 狀態為已出貨：已無法取消"),
    ("es", "El pedido 7 está enviado: demasiado tarde para cancelarlo"),
])
def test_an_error_names_the_status_in_the_readers_words(app, locale, expected):
    """A DomainError's message is rendered with its parts (the status) translated;
    its English and its code stay as they were."""
    from server.errors import Conflict, localized
    from server.i18n import message
    from server.orders.models import status_word
    error = Conflict(message("Order %(id)s is %(status)s: too late to cancel", id=7,
                             status=status_word("shipped")))
    assert error.message == "Order 7 is shipped: too late to cancel"
    with app.app_context():
        body = localized(error.to_dict(), locale)
    assert body["message"] == expected and body["error"] == "conflict"


def test_a_sellers_refusals_read_in_their_language(client, world, db_session):
    """A seller whose setting is 简体中文 creates a SKU code that exists and picks a
    password that is too easy: both refusals read in Chinese, while the error code
    and the field names stay machine-readable English."""
    world.users["seller_a"].locale = "zh-CN"
    sku = make_sku(db_session, world.seller_a)
    db_session.commit()
    headers = world.headers["seller_a"]
    taken = client.post("/api/skus", headers=headers, json={"code": sku.code, "name": "Again"})
    assert taken.status_code == 409, taken.get_json()
    body = taken.get_json()
    assert body["message"] == f"SKU {sku.code} 已存在"
    assert body["error"] == "conflict" and "code" in body["fields"]

    wrong = client.post("/api/auth/password", headers=headers,
                        json={"current_password": "wrong-anyway", "password": "password1"})
    assert wrong.get_json()["message"] == "current_password：不是您当前的密码", wrong.get_json()
    weak = client.post("/api/auth/password", headers=headers,
                       json={"current_password": PASSWORD, "password": "password1"})
    assert weak.status_code == 422, weak.get_json()
    assert weak.get_json()["message"].startswith("password：太容易被猜到"), weak.get_json()
    assert list(weak.get_json()["fields"]) == ["password"]
