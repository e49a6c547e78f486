"""What a reply says, in the customer's language: a subject, a plain-text body and
a simple HTML body for e-mail (templates/customer_service/reply.txt, reply.html),
one short text for SMS. Every sentence is a message of this package's catalogue,
rendered under flask_babel.force_locale."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import render_template
from flask_babel import force_locale, format_date, gettext

from ..i18n import N_

TEMPLATES = ("where_is_my_order", "delayed", "delivered", "return_instructions")
# The template's name as staff read it (the picker, the history).
NAMES = {"where_is_my_order": N_("Where is my order"), "delayed": N_("Delayed"),
         "delivered": N_("Delivered"), "return_instructions": N_("Return instructions")}
SUBJECTS = {
    "where_is_my_order": N_("About your order %(order)s"),
    "delayed": N_("Your order %(order)s is delayed"),
    "delivered": N_("Your order %(order)s was delivered"),
    "return_instructions": N_("How to return your order %(order)s"),
}
SHIPPED_LEAD = N_("Your order is on its way with %(carrier)s, tracking number %(tracking)s.")
PREPARING_LEAD = N_("We have your order and are getting it ready to ship.")
ETA_LINE = N_("It is expected to arrive by %(eta)s.")
DELAYED_LEAD = N_("We are sorry: your order is taking longer than expected. We are "
                  "following it up with the carrier.")
DELIVERED_LEAD = N_("The carrier reports your order as delivered. If you cannot find it, "
                    "please check with neighbours or your building's reception, then "
                    "reply to this message.")
RETURN_LEAD = N_("To return your order, pack the items in their original packaging, "
                 "write the order number %(order)s on the parcel and send it to the "
                 "address below. We will let you know when it arrives.")


@dataclass
class Facts:
    template: str
    order_number: str
    name: str
    seller: str
    carrier: str
    tracking_number: str
    eta: date | None
    shipped: bool
    tracking_link: str | None
    return_address: str = ""
    note: str = ""


@dataclass
class Rendered:
    subject: str
    body: str
    body_html: str | None


def _lines(facts: Facts) -> list[str]:
    eta = format_date(facts.eta, format="long") if facts.eta else ""
    params = {"order": facts.order_number, "carrier": facts.carrier or gettext("the carrier"),
              "tracking": facts.tracking_number or "-", "eta": eta}
    t = facts.template
    if t == "where_is_my_order":
        lines = [gettext(SHIPPED_LEAD, **params) if facts.shipped else gettext(PREPARING_LEAD)]
        if eta:
            lines.append(gettext(ETA_LINE, **params))
    elif t == "delayed":
        lines = [gettext(DELAYED_LEAD)] + ([gettext(ETA_LINE, **params)] if eta else [])
    elif t == "delivered":
        lines = [gettext(DELIVERED_LEAD)]
    else:
        lines = [gettext(RETURN_LEAD, **params)]
        if facts.return_address:
            lines.append(facts.return_address)
    return lines


def render(facts: Facts, channel: str, locale: str) -> Rendered:
    with force_locale(locale):
        subject = gettext(SUBJECTS[facts.template], order=facts.order_number)
        lines = _lines(facts)
        if channel == "sms":
            body = " ".join([subject + "."] + lines)
            if facts.note:
                body += " " + facts.note
            if facts.tracking_link:
                body += " " + gettext("Track it: %(link)s", link=facts.tracking_link)
            if facts.seller:
                body = f"{facts.seller}: {body}"
            return Rendered(subject, body[:1200], None)
        context = {
            "facts": facts, "subject": subject, "lines": lines,
            "greeting": gettext("Hello %(name)s,", name=facts.name) if facts.name
            else gettext("Hello,"),
            "track_label": gettext("Track your parcel"),
            "signature": gettext("Kind regards, %(seller)s", seller=facts.seller)
            if facts.seller else gettext("Kind regards"),
            "html_lang": locale.replace("_", "-"),
        }
        return Rendered(subject, render_template("customer_service/reply.txt", **context),
                        render_template("customer_service/reply.html", **context))
