"""What a notification says, in the recipient's language: a subject, a plain-text
body and a simple HTML body for e-mail (templates/notifications/email.txt and
email.html), one short text for SMS. Every sentence is a gettext message of this
package's catalogue (translations/), rendered with flask_babel.force_locale, so a
job renders in the customer's language whatever the request's was.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import render_template
from flask_babel import force_locale, format_date, gettext

from ..i18n import N_

# Per kind: the subject, the headline and the first paragraph of the e-mail.
SUBJECTS = {
    "shipped": N_("Your order %(order)s has shipped"),
    "out_for_delivery": N_("Your order %(order)s is out for delivery"),
    "delivered": N_("Your order %(order)s has been delivered"),
    "failed_attempt": N_("We could not deliver your order %(order)s"),
    "delayed": N_("Your order %(order)s is running late"),
}
HEADLINES = {
    "shipped": N_("Your parcel is on its way"),
    "out_for_delivery": N_("Your parcel arrives today"),
    "delivered": N_("Your parcel has been delivered"),
    "failed_attempt": N_("A delivery attempt failed"),
    "delayed": N_("Your parcel is late"),
}
LEADS = {
    "shipped": N_("Your parcel has left our warehouse with %(carrier)s."),
    "out_for_delivery": N_("Your parcel is on the delivery vehicle and should arrive today."),
    "delivered": N_("The carrier reports your parcel as delivered."),
    "failed_attempt": N_("The carrier tried to deliver your parcel but could not. It will "
                         "try again, or tell you where to pick it up."),
    "delayed": N_("Your parcel was expected by %(eta)s and has not arrived yet. We are "
                  "keeping an eye on it."),
}


@dataclass
class Facts:
    """What a message may mention: all of it the customer already knows."""
    kind: str
    order_number: str
    name: str
    seller: str
    carrier: str
    tracking_number: str
    eta: date | None
    tracking_link: str | None
    unsubscribe_url: str | None = None
    where: str = ""  # the last event's place ("Los Angeles, CA")


@dataclass
class Rendered:
    subject: str
    body: str
    body_html: str | None


def _params(facts: Facts) -> dict:
    return {"order": facts.order_number, "carrier": facts.carrier or gettext("the carrier"),
            "eta": format_date(facts.eta, format="long") if facts.eta else "",
            "tracking": facts.tracking_number or "", "seller": facts.seller}


def render_email(facts: Facts, locale: str) -> Rendered:
    with force_locale(locale):
        params = _params(facts)
        context = {
            "facts": facts, "locale": locale,
            "subject": gettext(SUBJECTS[facts.kind], **params),
            "headline": gettext(HEADLINES[facts.kind]),
            "greeting": gettext("Hello %(name)s,", name=facts.name) if facts.name
            else gettext("Hello,"),
            "lead": gettext(LEADS[facts.kind], **params),
            "rows": [(gettext("Order"), facts.order_number)]
            + ([(gettext("Carrier"), facts.carrier)] if facts.carrier else [])
            + ([(gettext("Tracking number"), facts.tracking_number)]
               if facts.tracking_number else [])
            + ([(gettext("Expected delivery"), params["eta"])]
               if facts.eta and facts.kind not in ("delivered",) else [])
            + ([(gettext("Last seen"), facts.where)] if facts.where else []),
            "track_label": gettext("Track your parcel"),
            "why": gettext("You receive this message because you ordered from %(seller)s.",
                           seller=facts.seller) if facts.seller else
            gettext("You receive this message because you placed an order."),
            "unsubscribe_label": gettext("Unsubscribe from these e-mails"),
            "html_lang": locale.replace("_", "-"),
        }
        text = render_template("notifications/email.txt", **context)
        html = render_template("notifications/email.html", **context)
    return Rendered(context["subject"], text, html)


def render_sms(facts: Facts, locale: str) -> Rendered:
    with force_locale(locale):
        subject = gettext(SUBJECTS[facts.kind], **_params(facts))
        if facts.tracking_link:
            body = gettext("%(subject)s. Track it: %(link)s", subject=subject,
                           link=facts.tracking_link)
        else:
            body = gettext("%(subject)s. Tracking number: %(tracking)s", subject=subject,
                           tracking=facts.tracking_number or "-")
        if facts.seller:
            body = f"{facts.seller}: {body}"
    return Rendered(subject, body[:1200], None)
