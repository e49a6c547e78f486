"""Log-in, log-out, CSRF, bearer tokens, roles and the log-in rate limit."""
from sqlalchemy import select

from server.auth.models import ApiToken, User

from .helpers import PASSWORD, login, make_user, token_headers


def test_a_user_logs_in_and_out_with_a_session_cookie(client, db_session):
    """Can a user log in through the API, see who they are, and log out?"""
    user = make_user(db_session, "admin")
    db_session.commit()
    response = login(client, user.email.upper())  # e-mails are case-insensitive
    assert response.status_code == 200, response.get_json()
    me = response.get_json()
    assert me["email"] == user.email and me["role"] == "admin" and me["csrf_token"]
    assert client.get("/api/auth/me").get_json()["id"] == user.id
    assert client.post("/api/auth/logout",
                       headers={"X-CSRFToken": me["csrf_token"]}).status_code == 204
    assert client.get("/api/auth/me").status_code == 401


def test_wrong_password_and_unknown_email_get_the_same_answer(client, db_session):
    """Does a log-in failure tell nothing about which e-mails exist?"""
    user = make_user(db_session, "admin")
    db_session.commit()
    wrong = login(client, user.email, "not the password")
    unknown = login(client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"] == "bad_credentials"


def test_passwords_are_stored_as_argon2_hashes(db_session):
    """Is the password itself never stored?"""
    user = make_user(db_session, "admin")
    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith("$argon2id$")


def test_an_inactive_user_cannot_log_in_or_use_a_token(client, db_session):
    """Does switching a user off lock out both its log-in and its tokens?"""
    user = make_user(db_session, "admin")
    headers = token_headers(db_session, user)
    user.active = False
    db_session.commit()
    assert login(client, user.email).status_code == 401
    assert client.get("/api/skus", headers=headers).status_code == 401


def test_state_changing_cookie_calls_need_the_csrf_token(client, world):
    """Is a cookie-authenticated POST without X-CSRFToken refused, and with it allowed?"""
    me = login(client, world.users["admin"].email).get_json()
    body = {"sku_id": world.sku_a.id, "bin_id": world.bins1[0].id, "quantity": 1}
    refused = client.post("/api/stock/receive", json=body)
    assert refused.status_code == 400
    assert refused.get_json()["error"] == "csrf_failed"
    allowed = client.post("/api/stock/receive", json=body,
                          headers={"X-CSRFToken": me["csrf_token"]})
    assert allowed.status_code == 200


def test_the_log_in_itself_needs_the_csrf_token(client, db_session):
    """Is log-in CSRF (logging a victim into an attacker's account) refused?"""
    user = make_user(db_session, "admin")
    db_session.commit()
    response = client.post("/api/auth/login", json={"email": user.email,
                                                    "password": PASSWORD})
    assert response.status_code == 400 and response.get_json()["error"] == "csrf_failed"


def test_a_bearer_token_needs_no_csrf_and_can_be_revoked(client, db_session):
    """Does a device token work for writes without CSRF, and stop when revoked?"""
    user = make_user(db_session, "admin")
    db_session.commit()
    login(client, user.email)
    csrf = client.get("/api/auth/csrf").get_json()["csrf_token"]
    created = client.post("/api/tokens", json={"name": "scanner 7"},
                          headers={"X-CSRFToken": csrf})
    assert created.status_code == 201
    token = created.get_json()["token"]
    assert token.startswith("hc_")
    # Only a hash is kept.
    stored = db_session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).one()
    assert token not in stored.token_hash
    other = client.application.test_client()
    bearer = {"Authorization": f"Bearer {token}"}
    assert other.post("/api/sellers", json={"name": "Acme"}, headers=bearer).status_code == 201
    listed = client.get("/api/tokens").get_json()
    assert [t["name"] for t in listed] == ["scanner 7"] and "token" not in listed[0]
    assert listed[0]["last_used_at"] is not None  # the admin can see it is in use
    assert client.delete(f"/api/tokens/{stored.id}",
                         headers={"X-CSRFToken": csrf}).status_code == 204
    assert other.get("/api/skus", headers=bearer).status_code == 401


def test_a_wrong_token_is_401_not_anonymous_access(client, world):
    """Is a made-up token refused rather than treated as no token?"""
    for header in ("Bearer hc_made-up", "Bearer ", "Basic abc"):
        response = client.get("/api/skus", headers={"Authorization": header})
        assert response.status_code == 401
        assert response.get_json()["error"] == "unauthorized"


def test_log_in_is_rate_limited(client, db_session):
    """After ten failed log-ins in a minute, is the eleventh refused with 429, even
    with the right password?"""
    user = make_user(db_session, "admin")
    db_session.commit()
    statuses = [login(client, user.email, "guess").status_code for _ in range(10)]
    assert statuses == [401] * 10
    blocked = login(client, user.email)
    assert blocked.status_code == 429
    assert blocked.get_json()["error"] == "rate_limited"


def test_a_user_can_change_its_language(client, db_session):
    """Can a user switch the PWA's language, and is a made-up one refused?"""
    user = make_user(db_session, "admin")
    db_session.commit()
    csrf = login(client, user.email).get_json()["csrf_token"]
    assert client.patch("/api/auth/me", json={"locale": "zh-CN"},
                        headers={"X-CSRFToken": csrf}).get_json()["locale"] == "zh-CN"
    bad = client.patch("/api/auth/me", json={"locale": "klingon"},
                       headers={"X-CSRFToken": csrf})
    assert bad.status_code == 422 and "locale" in bad.get_json()["fields"]
    assert db_session.get(User, user.id).locale == "zh-CN"


def test_admin_creates_a_picker_for_a_warehouse(client, world):
    """Can an admin create a picker bound to a warehouse, who then sees it?"""
    response = client.post("/api/users", headers=world.headers["admin"], json={
        "email": "new.picker@example.com", "password": "long enough pw", "role": "picker",
        "warehouse_ids": [world.wh2.id], "locale": "es"})
    assert response.status_code == 201, response.get_json()
    assert [w["id"] for w in response.get_json()["warehouses"]] == [world.wh2.id]
    fresh = client.application.test_client()
    me = login(fresh, "new.picker@example.com", "long enough pw").get_json()
    assert me["role"] == "picker" and me["locale"] == "es"
