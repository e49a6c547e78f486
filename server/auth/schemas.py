import marshmallow as ma
from marshmallow import fields, validate

from .models import LOCALES, ROLES


class LoginArgs(ma.Schema):
    email = fields.String(required=True, validate=validate.Length(3, 254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(1, 1024))
    remember = fields.Boolean(load_default=False)


class WarehouseRefSchema(ma.Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class SellerSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    code = fields.String(validate=validate.Length(1, 32))
    name = fields.String(required=True, validate=validate.Length(1, 200))
    active = fields.Boolean(dump_only=True)


class UserSchema(ma.Schema):
    id = fields.Integer(dump_only=True)
    email = fields.String()
    name = fields.String()
    role = fields.String(validate=validate.OneOf(ROLES))
    seller_id = fields.Integer(allow_none=True)
    seller_name = fields.Function(lambda u: u.seller.name if u.seller else None)
    locale = fields.String(validate=validate.OneOf(LOCALES))
    warehouses = fields.List(fields.Nested(WarehouseRefSchema))
    active = fields.Boolean()


class MeSchema(UserSchema):
    csrf_token = fields.String()


class UserCreateArgs(ma.Schema):
    email = fields.Email(required=True)
    password = fields.String(required=True, load_only=True, validate=validate.Length(8, 1024))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    name = fields.String(load_default="", validate=validate.Length(0, 200))
    seller_id = fields.Integer(strict=True, load_default=None, allow_none=True)
    warehouse_ids = fields.List(fields.Integer(strict=True), load_default=list)
    locale = fields.String(load_default="en", validate=validate.OneOf(LOCALES))


class LocaleArgs(ma.Schema):
    locale = fields.String(required=True, validate=validate.OneOf(LOCALES))


class TokenCreateArgs(ma.Schema):
    name = fields.String(load_default="", validate=validate.Length(0, 100))


class TokenSchema(ma.Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(metadata={"description": "shown once; store it now"})


class PasswordChangeArgs(ma.Schema):
    current_password = fields.String(required=True, load_only=True,
                                     validate=validate.Length(1, 1024))
    password = fields.String(required=True, load_only=True, validate=validate.Length(8, 1024),
                             metadata={"description": "the new password"})
    revoke_tokens = fields.Boolean(load_default=False, metadata={
        "description": "also revoke every bearer token of yours (after a suspected "
                       "compromise); by default tokens stay"})


class UserUpdateArgs(ma.Schema):
    active = fields.Boolean(metadata={"description": "false: switch the user off (ends "
                                      "its sessions, revokes its tokens)"})
    password = fields.String(load_only=True, validate=validate.Length(8, 1024),
                             metadata={"description": "a new password (ends its sessions)"})
    revoke_tokens = fields.Boolean(load_default=False)
