"""Sessions that end, cookies a security review accepts, passwords that are not
trivia, one log-in bucket per account and per address, and sockets that close
with the credential they were opened with."""
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import requests
import socketio as socketio_client

from server.auth.models import User
from server.config import load as load_config
from server.demo import DEMO_PASSWORD
from server.extensions import db, socketio

from .conftest import make_app
from .helpers import PASSWORD, login, make_seller, make_user, make_warehouse, token_headers
from .test_realtime_scaleout import two_web_processes  # noqa: F401  (a fixture)

WEAK = ("password", "12345678", "aaaaaaaa", "haicang123", "haicang-demo", "qwertyuiop")
STRONG = "tidal-ledger-orchid"


def _csrf(client) -> str:
    return client.get("/api/auth/csrf").get_json()["csrf_token"]


def _fresh_client_with(app, name, value):
    fresh = app.test_client()
    fresh.set_cookie(name, value)
    return fresh


# -- sessions that end ----------------------------------------------------------

def test_after_log_out_the_old_session_and_remember_cookies_are_401(app, client, db_session):
    """Copy the session cookie and the remember-me cookie before log-out: do both
    still open /api/auth/me before (200), and neither after (401)?"""
    user = make_user(db_session, "admin")
    db_session.commit()
    answer = client.post("/api/auth/login", headers={"X-CSRFToken": _csrf(client)},
                         json={"email": user.email, "password": PASSWORD, "remember": True})
    assert answer.status_code == 200
    session_cookie = client.get_cookie("session").value
    remember_cookie = client.get_cookie("remember_token").value
    for name, value in (("session", session_cookie), ("remember_token", remember_cookie)):
        assert _fresh_client_with(app, name, value).get("/api/auth/me").status_code == 200

    out = client.post("/api/auth/logout", headers={"X-CSRFToken": _csrf(client)})
    assert out.status_code == 204
    for name, value in (("session", session_cookie), ("remember_token", remember_cookie)):
        stale = _fresh_client_with(app, name, value).get("/api/auth/me")
        assert stale.status_code == 401, name
        assert stale.get_json()["error"] == "unauthorized"
    # Both together (a browser that kept them) are no better.
    both = _fresh_client_with(app, "session", session_cookie)
    both.set_cookie("remember_token", remember_cookie)
    assert both.get("/api/auth/me").status_code == 401


def test_log_out_ends_the_sessions_on_every_device(app, client, db_session):
    """The same user logged in on two handhelds: does a log-out on one end the other?
    Its bearer token is a credential of its own and keeps working."""
    user = make_user(db_session, "picker", warehouses=[make_warehouse(db_session)[0]])
    headers = token_headers(db_session, user)
    other = app.test_client()
    assert login(client, user.email).status_code == 200
    assert login(other, user.email).status_code == 200
    assert other.get("/api/auth/me").status_code == 200
    client.post("/api/auth/logout", headers={"X-CSRFToken": _csrf(client)})
    assert other.get("/api/auth/me").status_code == 401
    assert app.test_client().get("/api/auth/me", headers=headers).status_code == 200
    # Logging in again works, with a new session.
    assert login(other, user.email).status_code == 200
    assert other.get("/api/auth/me").status_code == 200


def test_a_cookie_from_before_session_versions_is_refused(app, client, db_session):
    """A session that names the user id alone (issued before versions existed) must
    not log anyone in."""
    user = make_user(db_session, "admin")
    db_session.commit()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
    assert client.get("/api/auth/me").status_code == 401
    with client.session_transaction() as sess:
        sess["_user_id"] = f"{user.id}:{user.session_version}"
    assert client.get("/api/auth/me").status_code == 200


def test_a_password_change_ends_the_other_sessions(app, client, db_session):
    """Change the password on one device: is the other device logged out, this one
    still in, the old password refused and the new one accepted?"""
    user = make_user(db_session, "seller", seller=make_seller(db_session))
    headers = token_headers(db_session, user)
    other = app.test_client()
    login(client, user.email)
    other.post("/api/auth/login", headers={"X-CSRFToken": _csrf(other)},
               json={"email": user.email, "password": PASSWORD, "remember": True})
    remember_cookie = other.get_cookie("remember_token").value

    changed = client.post("/api/auth/password", headers={"X-CSRFToken": _csrf(client)},
                          json={"current_password": PASSWORD, "password": STRONG})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["csrf_token"]
    assert client.get("/api/auth/me").status_code == 200  # this browser stays in
    assert other.get("/api/auth/me").status_code == 401
    assert _fresh_client_with(app, "remember_token",
                              remember_cookie).get("/api/auth/me").status_code == 401
    # Tokens stay by default (auth.services.set_password says why).
    assert app.test_client().get("/api/auth/me", headers=headers).status_code == 200
    fresh = app.test_client()
    assert login(fresh, user.email, PASSWORD).status_code == 401
    assert login(fresh, user.email, STRONG).status_code == 200


def test_a_password_change_can_revoke_every_token(app, client, db_session):
    """After a suspected compromise: does revoke_tokens end the tokens too?"""
    user = make_user(db_session, "admin")
    headers = token_headers(db_session, user)
    login(client, user.email)
    changed = client.post("/api/auth/password", headers={"X-CSRFToken": _csrf(client)},
                          json={"current_password": PASSWORD, "password": STRONG,
                                "revoke_tokens": True})
    assert changed.status_code == 200
    assert app.test_client().get("/api/auth/me", headers=headers).status_code == 401


def test_a_password_change_needs_the_current_password_and_a_strong_new_one(client,
                                                                          db_session):
    user = make_user(db_session, "admin")
    db_session.commit()
    login(client, user.email)
    csrf = {"X-CSRFToken": _csrf(client)}
    wrong = client.post("/api/auth/password", headers=csrf,
                        json={"current_password": "not it at all", "password": STRONG})
    assert wrong.status_code == 422 and "current_password" in wrong.get_json()["fields"]
    for weak in WEAK:
        refused = client.post("/api/auth/password", headers=csrf,
                              json={"current_password": PASSWORD, "password": weak})
        assert refused.status_code == 422, weak
        assert list(refused.get_json()["fields"]) == ["password"], weak
    # Nothing changed: the old password still logs in.
    assert login(client.application.test_client(), user.email).status_code == 200


def test_switching_a_user_off_ends_its_sessions_and_tokens(app, client, world):
    """An admin switches a picker off: its session, remember-me and token all stop,
    and switching it back on brings none of them back."""
    picker = world.users["picker1"]
    device = app.test_client()
    assert login(device, picker.email).status_code == 200
    off = client.patch(f"/api/users/{picker.id}", headers=world.headers["admin"],
                       json={"active": False})
    assert off.status_code == 200 and off.get_json()["active"] is False
    assert device.get("/api/auth/me").status_code == 401
    assert client.get("/api/auth/me", headers=world.headers["picker1"]).status_code == 401
    on = client.patch(f"/api/users/{picker.id}", headers=world.headers["admin"],
                      json={"active": True})
    assert on.status_code == 200
    assert device.get("/api/auth/me").status_code == 401
    assert client.get("/api/auth/me", headers=world.headers["picker1"]).status_code == 401
    assert login(device, picker.email).status_code == 200


def test_an_admin_reset_ends_sessions_and_is_checked_like_any_password(app, client, world):
    seller = world.users["seller_a"]
    device = app.test_client()
    login(device, seller.email)
    for weak in WEAK:
        refused = client.patch(f"/api/users/{seller.id}", headers=world.headers["admin"],
                               json={"password": weak})
        assert refused.status_code == 422 and "password" in refused.get_json()["fields"]
    assert device.get("/api/auth/me").status_code == 200  # a refused reset ends nothing
    reset = client.patch(f"/api/users/{seller.id}", headers=world.headers["admin"],
                         json={"password": STRONG})
    assert reset.status_code == 200
    assert device.get("/api/auth/me").status_code == 401
    assert login(app.test_client(), seller.email, STRONG).status_code == 200
    # An admin changes its own password only with the current one.
    own = client.patch(f"/api/users/{world.users['admin'].id}",
                       headers=world.headers["admin"], json={"password": STRONG})
    assert own.status_code == 422


# -- cookies --------------------------------------------------------------------

def _set_cookies(response) -> dict:
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0]
        cookies[name] = [part.strip().lower() for part in header.split(";")]
    return cookies


@pytest.mark.parametrize("how", ["environment", "override"])
def test_session_cookie_secure_makes_both_cookies_secure(how, tmp_path, monkeypatch):
    """With SESSION_COOKIE_SECURE=1, are the session and the remember-me cookie both
    Secure, HttpOnly and SameSite=Lax, and does "remember me" last two weeks, not a
    year?"""
    if how == "environment":
        monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
        application = make_app(f"sqlite:///{tmp_path / 'secure.db'}")
    else:
        application = make_app(f"sqlite:///{tmp_path / 'secure.db'}",
                               SESSION_COOKIE_SECURE=True)
    try:
        with application.app_context():
            make_user(db.session, "admin", email="secure@example.com")
            db.session.commit()
        client = application.test_client()
        https = "https://localhost"
        csrf = client.get("/api/auth/csrf", base_url=https).get_json()["csrf_token"]
        # Over https, Flask-WTF also wants a same-origin Referer.
        answer = client.post("/api/auth/login", base_url=https,
                             headers={"X-CSRFToken": csrf, "Referer": f"{https}/login"},
                             json={"email": "secure@example.com", "password": PASSWORD,
                                   "remember": True})
        assert answer.status_code == 200
        cookies = _set_cookies(answer)
        assert {"session", "remember_token"} <= set(cookies)
        for name in ("session", "remember_token"):
            assert "secure" in cookies[name], name
            assert "httponly" in cookies[name], name
            assert "samesite=lax" in cookies[name], name
        expires = next(p for p in cookies["remember_token"] if p.startswith("expires="))
        lasts = parsedate_to_datetime(expires.split("=", 1)[1]) - datetime.now(UTC)
        assert timedelta(days=13, hours=23) < lasts <= timedelta(days=14)
    finally:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def test_without_https_the_cookies_are_still_httponly_and_samesite(tmp_path):
    config = load_config(str(tmp_path), {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert config["SESSION_COOKIE_SECURE"] is False and config["REMEMBER_COOKIE_SECURE"] is False
    assert config["SESSION_COOKIE_HTTPONLY"] and config["REMEMBER_COOKIE_HTTPONLY"]
    assert config["SESSION_COOKIE_SAMESITE"] == config["REMEMBER_COOKIE_SAMESITE"] == "Lax"


# -- passwords ------------------------------------------------------------------

def test_weak_passwords_are_refused_for_every_role_through_the_api(client, world):
    """An admin creating a user of any role with a common, patterned or product-name
    password: 422 naming `password`, and no user made."""
    extra = {"admin": {}, "seller": {"seller_id": world.seller_a.id},
             "picker": {"warehouse_ids": [world.wh1.id]},
             "driver": {"warehouse_ids": [world.wh1.id]}}
    for role, fields in extra.items():
        for weak in WEAK:
            email = f"weak-{role}@example.com"
            answer = client.post("/api/users", headers=world.headers["admin"],
                                 json={"email": email, "password": weak, "role": role,
                                       **fields})
            assert answer.status_code == 422, (role, weak, answer.get_json())
            body = answer.get_json()
            assert body["error"] == "validation_error"
            assert list(body["fields"]) == ["password"], (role, weak)
        made = client.post("/api/users", headers=world.headers["admin"],
                           json={"email": f"strong-{role}@example.com", "password": STRONG,
                                 "role": role, **fields})
        assert made.status_code == 201, (role, made.get_json())


def test_why_a_password_is_weak_reads_in_the_readers_language(client, world):
    """Does a Chinese admin read why a password is refused, zxcvbn's own warning
    included, in Chinese; and is every warning the installed zxcvbn gives for common
    weak passwords one we translate?"""
    from zxcvbn import zxcvbn

    from server.auth.passwords import WARNINGS
    for weak in ("password", "qwertyuiop", "aaaaaaaaaaaa", "abcdefghijkl", "1234567890",
                 "john smith", "19701970", "abcabcabcabc", "dragon", "iloveyou1"):
        warning = (zxcvbn(weak)["feedback"].get("warning") or "").rstrip(".")
        assert not warning or warning in WARNINGS, warning
    answer = client.post("/api/users?lang=zh-CN", headers=world.headers["admin"],
                         json={"email": "weak-zh@example.com", "password": "qwertyuiop",
                               "role": "admin"})
    assert answer.status_code == 422
    (why,) = answer.get_json()["fields"]["password"]
    assert "这是最常见的 100 个密码之一" in why, why  # zxcvbn: a top-100 password


def test_a_password_made_of_the_users_own_e_mail_is_refused(client, world):
    answer = client.post("/api/users", headers=world.headers["admin"],
                         json={"email": "li.wei@example.com", "password": "li.wei2024",
                               "role": "admin"})
    assert answer.status_code == 422 and "password" in answer.get_json()["fields"]


@pytest.fixture
def cli_app(backend, tmp_path):
    from .conftest import recreate_pg_database
    url = (f"sqlite:///{tmp_path / 'cli.db'}" if backend == "sqlite"
           else recreate_pg_database("haicang_test_cli"))
    application = make_app(url)
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def test_weak_passwords_are_refused_by_the_cli_for_every_role(cli_app):
    """`flask --app server users create` for each role with a weak password: exit 1,
    a message about the password, no user; a strong one works."""
    runner = cli_app.test_cli_runner()
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    where = {"admin": [], "seller": ["--seller", "Acme Trading"],
             "picker": ["--warehouse", "LAX1"], "driver": ["--warehouse", "LAX1"]}
    for role, extra in where.items():
        for weak in WEAK:
            result = runner.invoke(args=["users", "create", f"{role}-cli@example.com",
                                         "--role", role, "--password", weak, *extra])
            assert result.exit_code == 1, (role, weak, result.output)
            assert "password" in result.output and "too easy to guess" in result.output
        made = runner.invoke(args=["users", "create", f"{role}-cli@example.com",
                                   "--role", role, "--password", STRONG, *extra])
        assert made.exit_code == 0, made.output
    with cli_app.app_context():
        emails = set(db.session.scalars(db.select(User.email)))
    assert {f"{role}-cli@example.com" for role in where} <= emails
    # The demo log-ins still work, with the README's password.
    assert login(cli_app.test_client(), "admin@demo.haicang", DEMO_PASSWORD).status_code == 200


# -- one log-in bucket per account and per address --------------------------------

def _form_login(client, email, password, address):
    return client.post("/login", data={"email": email, "password": password,
                                       "csrf_token": _csrf(client)},
                       environ_base={"REMOTE_ADDR": address})


def _api_login(client, email, password, address):
    return client.post("/api/auth/login", json={"email": email, "password": password},
                       headers={"X-CSRFToken": _csrf(client)},
                       environ_base={"REMOTE_ADDR": address})


def test_form_attempts_count_against_the_api_per_account_across_addresses(app, client,
                                                                          db_session):
    """Ten wrong passwords for one account through the form, each from another
    address: is the API then closed to that account (429, JSON), the right password
    included, from yet another address, while another account still logs in?"""
    user = make_user(db_session, "admin")
    bystander = make_user(db_session, "admin")
    db_session.commit()
    for i in range(10):
        assert _form_login(client, user.email, "a wrong guess", f"10.0.1.{i}").status_code == 401
    blocked = _api_login(client, user.email.upper(), PASSWORD, "10.0.2.1")
    assert blocked.status_code == 429
    body = blocked.get_json()
    assert body["error"] == "rate_limited" and body["message"]
    assert _api_login(client, bystander.email, PASSWORD, "10.0.2.1").status_code == 200
    # And the form answers with its page, the message by the password field.
    page = _form_login(app.test_client(), user.email, PASSWORD, "10.0.3.1")
    assert page.status_code == 429
    assert "Too many attempts" in page.get_data(as_text=True)


def test_api_attempts_count_against_the_form_per_address_across_accounts(app, client,
                                                                         db_session):
    """Ten wrong passwords from one address, each for another (made-up) account,
    through the API: is the form then closed to that address, for a real account
    with its right password, while another address still logs that account in?"""
    user = make_user(db_session, "admin")
    db_session.commit()
    for i in range(10):
        assert _api_login(client, f"guess{i}@example.com", "a wrong guess",
                          "10.0.9.9").status_code == 401
    assert _form_login(client, user.email, PASSWORD, "10.0.9.9").status_code == 429
    assert _api_login(client, user.email, PASSWORD, "10.0.9.9").status_code == 429
    assert _form_login(client, user.email, PASSWORD, "10.0.9.10").status_code == 302


def test_successful_log_ins_do_not_fill_the_buckets(client, db_session):
    """A shift of pickers logging in behind one warehouse address is not locked out:
    only refused passwords count."""
    user = make_user(db_session, "admin")
    db_session.commit()
    for _ in range(15):
        assert _api_login(client, user.email, PASSWORD, "10.0.5.5").status_code == 200
        assert _form_login(client, user.email, PASSWORD, "10.0.5.5").status_code == 302


def test_wrong_current_passwords_count_against_the_account(app, client, db_session):
    """Guessing the current password through a password change (a stolen session)
    fills the same account bucket as log-ins do."""
    user = make_user(db_session, "admin")
    db_session.commit()
    login(client, user.email)
    csrf = {"X-CSRFToken": _csrf(client)}
    for i in range(10):
        answer = client.post("/api/auth/password", headers=csrf,
                             environ_base={"REMOTE_ADDR": f"10.0.7.{i}"},
                             json={"current_password": f"guess {i}", "password": STRONG})
        assert answer.status_code == 422
    assert _api_login(app.test_client(), user.email, PASSWORD, "10.0.8.1").status_code == 429


# -- sockets in one process ---------------------------------------------------------

def test_revoking_a_token_disconnects_its_socket_in_process(app, client, world, db_session):
    """The in-memory manager (no Redis): a socket opened with a token is closed when
    the token is revoked; a socket of the same user with another token is not."""
    from server.auth.models import ApiToken
    picker = world.users["picker1"]
    first = world.headers["picker1"]["Authorization"].split()[1]
    second = token_headers(db_session, picker)["Authorization"].split()[1]
    one = socketio.test_client(app, auth={"token": first})
    two = socketio.test_client(app, auth={"token": second})
    assert one.is_connected() and two.is_connected()
    token_id = db_session.scalars(db.select(ApiToken.id).where(
        ApiToken.user_id == picker.id).order_by(ApiToken.id)).first()
    revoked = client.delete(f"/api/tokens/{token_id}", headers=world.headers["admin"])
    assert revoked.status_code == 204
    assert not one.is_connected()
    assert two.is_connected()
    again = socketio.test_client(app, auth={"token": first})
    assert not again.is_connected()
    two.disconnect()


def test_log_out_and_switch_off_disconnect_cookie_sockets_in_process(app, client, world):
    seller = world.users["seller_a"]
    login(client, seller.email)
    sock = socketio.test_client(app, flask_test_client=client)
    assert sock.is_connected()
    client.post("/api/auth/logout", headers={"X-CSRFToken": _csrf(client)})
    assert not sock.is_connected()
    # A socket opened with the cookie after log-out is refused.
    assert not socketio.test_client(app, flask_test_client=client).is_connected()

    device = app.test_client()
    login(device, seller.email)
    cookie_socket = socketio.test_client(app, flask_test_client=device)
    token_socket = socketio.test_client(app, auth={"token": world.headers["seller_a"][
        "Authorization"].split()[1]})
    assert cookie_socket.is_connected() and token_socket.is_connected()
    client.patch(f"/api/users/{seller.id}", headers=world.headers["admin"],
                 json={"active": False})
    assert not cookie_socket.is_connected() and not token_socket.is_connected()


def test_a_revocation_that_rolls_back_closes_nothing(app, world, db_session):
    from server.auth.models import ApiToken
    from server.auth.services import revoke_token
    token = world.headers["picker1"]["Authorization"].split()[1]
    sock = socketio.test_client(app, auth={"token": token})
    row = db_session.scalars(db.select(ApiToken).where(
        ApiToken.user_id == world.users["picker1"].id)).first()
    revoke_token(db_session, world.users["admin"], row.id)
    db_session.rollback()
    assert sock.is_connected()
    sock.disconnect()


# -- sockets across real processes, through Redis ------------------------------------

class Watched:
    """A real socket.io client, with the moment it was disconnected."""

    def __init__(self, url, **connect):
        self.client = socketio_client.Client(reconnection=False)
        self.ready = threading.Event()
        self.closed = threading.Event()
        self.closed_at = None
        self.client.on("session.ready", lambda data: self.ready.set())

        def on_disconnect(*_reason):
            self.closed_at = time.monotonic()
            self.closed.set()
        self.client.on("disconnect", on_disconnect)
        self.client.connect(url, transports=["websocket"], wait_timeout=10, **connect)
        assert self.ready.wait(10), "no session.ready"

    def stop(self):
        if self.client.connected:
            self.client.disconnect()


def _demo_login(base, email):
    browser = requests.Session()
    csrf = browser.get(f"{base}/api/auth/csrf").json()["csrf_token"]
    answer = browser.post(f"{base}/api/auth/login", headers={"X-CSRFToken": csrf},
                          json={"email": email, "password": DEMO_PASSWORD, "remember": True})
    assert answer.status_code == 200, answer.text
    return browser, answer.json()["csrf_token"]


def test_revoking_a_token_closes_its_socket_on_another_process_within_a_second(
        two_web_processes):  # noqa: F811
    """A socket opened with a token on web process 1; the token revoked through web
    process 2: is it disconnected within one second, through Redis, and refused when
    it tries again, while the admin's other socket stays?"""
    (first, second), tokens = two_web_processes
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    made = requests.post(f"http://127.0.0.1:{second}/api/tokens", headers=admin,
                         json={"name": "scanner to lose"})
    assert made.status_code == 201, made.text
    doomed_token, doomed_id = made.json()["token"], made.json()["id"]
    doomed = Watched(f"http://127.0.0.1:{first}", auth={"token": doomed_token})
    bystander = Watched(f"http://127.0.0.1:{first}", auth={"token": tokens["admin"]})
    try:
        revoked = requests.delete(f"http://127.0.0.1:{second}/api/tokens/{doomed_id}",
                                  headers=admin)
        assert revoked.status_code == 204
        answered = time.monotonic()
        assert doomed.closed.wait(1.0), "the revoked token's socket is still open after 1 s"
        assert doomed.closed_at - answered < 1.0
        assert not bystander.closed.wait(0.5)
        with pytest.raises(socketio_client.exceptions.ConnectionError):
            Watched(f"http://127.0.0.1:{second}", auth={"token": doomed_token})
    finally:
        doomed.stop()
        bystander.stop()


def test_log_out_closes_a_cookie_socket_on_another_process_within_a_second(
        two_web_processes):  # noqa: F811
    """A browser logged in through web process 1 keeps a cookie socket on web
    process 2; it logs out through process 1: is the socket closed within a second,
    and the old cookies refused everywhere?"""
    (first, second), tokens = two_web_processes
    browser, csrf = _demo_login(f"http://127.0.0.1:{first}", "picker@demo.haicang")
    cookies = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    assert "remember_token=" in cookies
    sock = Watched(f"http://127.0.0.1:{second}", headers={"Cookie": cookies})
    token_sock = Watched(f"http://127.0.0.1:{second}", auth={"token": tokens["seller"]})
    try:
        out = browser.post(f"http://127.0.0.1:{first}/api/auth/logout",
                           headers={"X-CSRFToken": csrf})
        assert out.status_code == 204
        assert sock.closed.wait(1.0), "the logged-out session's socket is still open after 1 s"
        assert not token_sock.closed.wait(0.5)  # another user's socket stays
        for port in (first, second):
            stale = requests.get(f"http://127.0.0.1:{port}/api/auth/me",
                                 headers={"Cookie": cookies})
            assert stale.status_code == 401
    finally:
        sock.stop()
        token_sock.stop()


def test_a_password_change_closes_the_other_devices_sockets_across_processes(
        two_web_processes):  # noqa: F811
    """Two devices of one seller, sockets on both processes; a password change on one:
    do the cookie sockets of the ended sessions close within a second?"""
    (first, second), _tokens = two_web_processes
    one, csrf = _demo_login(f"http://127.0.0.1:{first}", "seller@demo.haicang")
    two, _csrf2 = _demo_login(f"http://127.0.0.1:{second}", "seller@demo.haicang")
    cookies_two = "; ".join(f"{c.name}={c.value}" for c in two.cookies)
    sock = Watched(f"http://127.0.0.1:{first}", headers={"Cookie": cookies_two})
    try:
        changed = one.post(f"http://127.0.0.1:{first}/api/auth/password",
                           headers={"X-CSRFToken": csrf},
                           json={"current_password": DEMO_PASSWORD, "password": STRONG})
        assert changed.status_code == 200, changed.text
        assert sock.closed.wait(1.0)
        assert two.get(f"http://127.0.0.1:{second}/api/auth/me").status_code == 401
        assert one.get(f"http://127.0.0.1:{second}/api/auth/me").status_code == 200
    finally:
        sock.stop()
