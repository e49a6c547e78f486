"""A refused field's problem in the reader's language (issue #11, item 5)."""
import marshmallow as ma
import pytest
from marshmallow import fields, validate

from server import i18n
from server.field_problems import TEMPLATES, as_message

from .helpers import make_user, token_headers


def _problems_marshmallow_writes() -> list[str]:
    """Every problem text marshmallow itself formats for the fields and validators
    the API's schemas use, produced by loading bad data (not copied from its source)."""
    class Everything(ma.Schema):
        required = fields.String(required=True)
        not_null = fields.String(allow_none=False)
        text = fields.String()
        whole = fields.Integer()
        number = fields.Float()
        decimal = fields.Decimal()
        flag = fields.Boolean()
        many = fields.List(fields.String())
        mapping = fields.Dict()
        day = fields.Date()
        moment = fields.DateTime()
        aware = fields.AwareDateTime()
        naive = fields.NaiveDateTime()
        clock = fields.Time()
        email = fields.Email()
        url = fields.URL()
        uuid = fields.UUID()
        nested = fields.Nested(ma.Schema.from_dict({"a": fields.String()}))
        between = fields.String(validate=validate.Length(2, 4))
        exactly = fields.String(validate=validate.Length(equal=3))
        at_most = fields.String(validate=validate.Length(max=2))
        at_least = fields.String(validate=validate.Length(min=5))
        choice = fields.String(validate=validate.OneOf(["a", "b"]))
        pattern = fields.String(validate=validate.Regexp(r"^\d+$"))
        r1 = fields.Integer(validate=validate.Range(1, 200))
        r2 = fields.Integer(validate=validate.Range(1, 200, min_inclusive=False))
        r3 = fields.Integer(validate=validate.Range(1, 200, max_inclusive=False))
        r4 = fields.Integer(validate=validate.Range(1, 200, min_inclusive=False,
                                                    max_inclusive=False))
        r5 = fields.Integer(validate=validate.Range(min=1))
        r6 = fields.Integer(validate=validate.Range(min=1, min_inclusive=False))
        r7 = fields.Integer(validate=validate.Range(max=1))
        r8 = fields.Integer(validate=validate.Range(max=1, max_inclusive=False))
        tooth = fields.Float(allow_nan=False)

    bad = {"not_null": None, "text": 5, "whole": "x", "number": "x", "decimal": "x",
           "flag": "maybe", "many": "x", "mapping": 5, "day": "x", "moment": "x",
           "aware": "2026-01-01T00:00:00", "naive": "2026-01-01T00:00:00+01:00",
           "clock": "x", "email": "x", "url": "x", "uuid": "x", "nested": 5,
           "between": "x", "exactly": "x", "at_most": "xxx", "at_least": "x",
           "choice": "c", "pattern": "x", "r1": 0, "r2": 1, "r3": 200, "r4": 1, "r5": 0,
           "r6": 1, "r7": 2, "r8": 1, "tooth": "nan", "unknown_one": 1}
    with pytest.raises(ma.ValidationError) as raised:
        Everything().load(bad)
    problems = []
    for value in raised.value.messages.values():
        items = value if isinstance(value, list) else [v for vs in value.values() for v in vs]
        problems += items
    # One per field above but the (fine) nested shape: none went unnoticed.
    assert len(raised.value.messages) == len(bad) + 1  # + the missing required one
    return problems


def test_every_problem_marshmallow_writes_has_a_translated_template():
    """Is each problem text the installed marshmallow writes matched back to a
    template, so none reaches a Chinese screen in English (a new marshmallow that
    rewords one fails here)?"""
    unmatched = [p for p in _problems_marshmallow_writes() if not i18n.is_message(as_message(p))]
    assert unmatched == []


def test_a_matched_problem_keeps_its_values(app):
    """Are the limits a problem names carried into the translation?"""
    found = as_message("Must be greater than or equal to 1 and less than or equal to 200.")
    assert found == {"msgid": TEMPLATES[TEMPLATES.index(found["msgid"])],
                     "params": {"min": "1", "max": "200"}}
    with app.test_request_context():
        assert i18n.render(found, "zh_Hans") == "必须大于等于 1 且小于等于 200。"
        assert i18n.render(found, "es") == \
            "Debe ser mayor o igual que 1 y menor o igual que 200."
    assert as_message("a view's own words") == "a view's own words"


@pytest.mark.parametrize("locale, missing, limit", [
    ("zh-CN", "必填字段缺少数据。", "必须大于等于 1 且小于等于 200。"),
    ("es", "Falta el dato de un campo obligatorio.",
     "Debe ser mayor o igual que 1 y menor o igual que 200."),
    ("en", "Missing data for required field.",
     "Must be greater than or equal to 1 and less than or equal to 200."),
])
def test_a_refused_field_reads_in_the_readers_language(client, db_session, locale,
                                                        missing, limit):
    """Does a Chinese or Spanish seller see, beside the field's name, what is wrong
    with it in their language, for a body, a query and a text the request check
    refuses, with nothing stored?"""
    user = make_user(db_session, "admin")
    user.locale = locale
    headers = token_headers(db_session, user)
    body = client.post("/api/skus", headers=headers, json={"name": "no code"})
    assert body.status_code == 422
    assert body.get_json()["fields"]["code"] == [missing]
    query = client.get("/api/orders?limit=0", headers=headers)
    assert query.status_code == 422 and query.get_json()["fields"]["limit"] == [limit]
    nul = client.post("/api/skus", headers=headers, json={"code": "A\u0000", "name": "x"})
    assert nul.status_code == 422
    want = i18n.render(i18n.message("must not contain NUL characters (\\u0000)"),
                       i18n.match_locale(locale))
    assert nul.get_json()["fields"]["code"] == [want]
    if locale != "en":
        assert want != "must not contain NUL characters (\\u0000)"
    assert client.get("/api/skus", headers=headers).get_json()["items"] == []


def test_a_business_rule_refusal_names_the_field_in_the_readers_language(client, db_session):
    """Is a refusal by a service rule (a SKU code taken) answered with the field's
    problem in Chinese, the field's name unchanged, and nothing stored twice?"""
    user = make_user(db_session, "admin")
    user.locale = "zh-CN"
    headers = token_headers(db_session, user)
    seller = client.post("/api/sellers", headers=headers, json={"name": "Zh Seller"})
    assert seller.status_code == 201, seller.get_json()
    body = {"seller_id": seller.get_json()["id"], "code": "ZH-1", "name": "x"}
    assert client.post("/api/skus", headers=headers, json=body).status_code == 201
    again = client.post("/api/skus", headers=headers, json=body)
    assert again.status_code == 409
    assert again.get_json()["fields"] == {"code": ["已存在"]}
    assert "ZH-1" in again.get_json()["message"]
    assert len(client.get("/api/skus", headers=headers).get_json()["items"]) == 1
