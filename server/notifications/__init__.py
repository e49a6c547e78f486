"""Notifications to the customer (issue #11, item 4): shipped, out for delivery,
delivered, failed attempt and delayed, by e-mail (SMTP_URL) and SMS (a provider:
Twilio, or SMS_PROVIDER=log), in the customer's language, each one recorded with
its status; customers opt out from a link; without a transport they are held in
the outbox for an admin (GET /api/notifications).

- services.py: who is told what, decided in the transaction of the status change
- jobs.py: sending, with retry and backoff; the clock's 'delayed' sweep
- senders.py: the Mailer (smtplib) and the SMS providers behind one interface
- content.py and templates/: what the messages say, from this package's catalogue
- api.py: the outbox for admins and sellers, opt-outs, the public unsubscribe link
- fake_twilio.py: a local server that speaks Twilio's Messages API (tests, demo)
"""


def init_app(app, api) -> None:
    from . import api as doors
    from . import services  # noqa: F401  the flush watcher that decides
    doors.init_app(app, api)
