"""The transports behind one small interface: `send(message) -> provider id`.

- Mailer: SMTP from SMTP_URL (smtp://host:port, smtps://user:pass@host:port), with
  smtplib and a timeout (SMTP_TIMEOUT_SECONDS). On smtp:// STARTTLS is used when
  the server offers it (`?starttls=0` to never, `?starttls=1` to require it).
- SMS: a provider interface with one real provider, Twilio, through its official
  client (`twilio`); TWILIO_API_BASE points it at another endpoint (the fake in
  fake_twilio.py). SMS_PROVIDER=log records what would be sent and sends nothing.

A failure is either worth another try (Temporary: the server is down, busy, or
said 4xx) or not (Permanent: the address is refused). Without a transport for a
channel (`sender_for` answers None) notifications are held, not sent.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger(__name__)


class SendError(Exception):
    """The transport did not take the message."""
    permanent = False


class Temporary(SendError):
    """Try again later."""


class Permanent(SendError):
    """Trying again will not help (the address is refused)."""
    permanent = True


class OptedOutAtProvider(Permanent):
    """The provider refuses the number because its owner opted out there (STOP)."""


@dataclass
class Outgoing:
    """What a sender needs of a notification."""
    channel: str
    recipient: str
    subject: str
    body: str
    body_html: str | None = None
    locale: str = "en"
    sender_name: str = ""
    unsubscribe_url: str | None = None


# -- e-mail ---------------------------------------------------------------------------

@dataclass
class SmtpSettings:
    host: str
    port: int
    ssl: bool
    username: str | None
    password: str | None
    starttls: str  # "auto", "never", "require"

    @classmethod
    def from_url(cls, url: str) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://host:port or "
                             "smtps://user:pass@host:port")
        query = parse_qs(parts.query)
        flag = (query.get("starttls") or ["auto"])[0].lower()
        starttls = {"0": "never", "no": "never", "false": "never", "1": "require",
                    "yes": "require", "true": "require"}.get(flag, "auto")
        return cls(host=parts.hostname, port=parts.port or (465 if parts.scheme == "smtps"
                                                             else 25),
                   ssl=parts.scheme == "smtps",
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   starttls=starttls)


class Mailer:
    channel = "email"

    def __init__(self, url: str, sender: str, timeout: float = 10.0):
        self.settings = SmtpSettings.from_url(url)
        self.sender = sender
        self.timeout = timeout

    def build(self, message: Outgoing) -> EmailMessage:
        name, address = parseaddr(self.sender)
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = formataddr((message.sender_name or name, address))
        mail["To"] = message.recipient
        domain = address.rpartition("@")[2] or "localhost"
        mail["Message-ID"] = make_msgid(domain=domain)
        mail["Content-Language"] = message.locale.replace("_", "-")
        mail["Auto-Submitted"] = "auto-generated"
        if message.unsubscribe_url:
            # RFC 8058: a mail client may unsubscribe in one click, by a POST.
            mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        mail.set_content(message.body)
        if message.body_html:
            mail.add_alternative(message.body_html, subtype="html")
        return mail

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.ssl:
            return smtplib.SMTP_SSL(s.host, s.port, timeout=self.timeout,
                                    context=ssl.create_default_context())
        server = smtplib.SMTP(s.host, s.port, timeout=self.timeout)
        if s.starttls != "never":
            server.ehlo()
            if server.has_extn("starttls"):
                server.starttls(context=ssl.create_default_context())
                server.ehlo()
            elif s.starttls == "require":
                server.close()
                raise Temporary("the SMTP server does not offer STARTTLS")
        return server

    def send(self, message: Outgoing) -> str:
        mail = self.build(message)
        try:
            server = self._connect()
            try:
                if self.settings.username:
                    server.login(self.settings.username, self.settings.password or "")
                refused = server.send_message(mail)
            finally:
                try:
                    server.quit()
                except (smtplib.SMTPException, OSError):
                    server.close()
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _msg in error.recipients.values()]
            text = "; ".join(f"{code} {msg.decode(errors='replace') if isinstance(msg, bytes) else msg}"
                             for code, msg in error.recipients.values())
            if codes and all(500 <= code < 600 for code in codes):
                raise Permanent(f"recipient refused: {text}") from error
            raise Temporary(f"recipient deferred: {text}") from error
        except smtplib.SMTPAuthenticationError as error:
            raise Temporary(f"SMTP log-in refused: {error.smtp_code}") from error
        except smtplib.SMTPResponseException as error:
            raise Temporary(f"SMTP {error.smtp_code}: {error.smtp_error!r}") from error
        except (smtplib.SMTPException, OSError) as error:  # down, timed out, reset
            raise Temporary(f"{type(error).__name__}: {error}") from error
        if refused:
            raise Permanent(f"recipient refused: {refused}")
        return mail["Message-ID"]


# -- SMS ------------------------------------------------------------------------------

class SmsProvider:
    """send(message) -> the provider's message id; raises Temporary or Permanent."""
    channel = "sms"

    def send(self, message: Outgoing) -> str:  # pragma: no cover - interface
        raise NotImplementedError


class LogSms(SmsProvider):
    """Records what would be sent (the log, and `sent` in memory); sends nothing."""

    def __init__(self):
        self.sent: list[Outgoing] = []

    def send(self, message: Outgoing) -> str:
        self.sent.append(message)
        log.info("SMS to %s (not sent: SMS_PROVIDER=log): %s", message.recipient, message.body)
        return f"log-{len(self.sent)}"


# Twilio's error codes that say the number will not take messages (not worth a retry):
# 21211 invalid 'To', 21612/21614 not reachable or not a mobile, 21408 region
# disabled; 21610 the owner replied STOP.
_TWILIO_PERMANENT = {21211, 21408, 21612, 21614}
_TWILIO_STOPPED = 21610


class TwilioSms(SmsProvider):
    """Twilio's Messages API through the official client. `api_base` replaces
    https://api.twilio.com (a local fake, a proxy): the client takes a custom
    http_client, and ours rewrites the host of every request it is handed."""

    def __init__(self, account_sid: str, auth_token: str, from_: str,
                 api_base: str | None = None, timeout: float = 10.0):
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client

        base = api_base.rstrip("/") if api_base else None

        class _Http(TwilioHttpClient):
            def request(self, method, url, *args, **kwargs):
                if base and url.startswith("https://api.twilio.com"):
                    url = base + url[len("https://api.twilio.com"):]
                return super().request(method, url, *args, **kwargs)

        self.from_ = from_
        self.client = Client(account_sid, auth_token,
                             http_client=_Http(timeout=timeout, pool_connections=False))

    def send(self, message: Outgoing) -> str:
        import requests
        from twilio.base.exceptions import TwilioException, TwilioRestException
        try:
            sent = self.client.messages.create(to=message.recipient, from_=self.from_,
                                               body=message.body)
        except TwilioRestException as error:
            text = f"Twilio {error.status} ({error.code}): {error.msg}"
            if error.code == _TWILIO_STOPPED:
                raise OptedOutAtProvider(text) from error
            if error.code in _TWILIO_PERMANENT or (
                    400 <= error.status < 500 and error.status not in (401, 403, 408, 429)):
                raise Permanent(text) from error
            raise Temporary(text) from error
        except (requests.RequestException, TwilioException, OSError) as error:
            raise Temporary(f"{type(error).__name__}: {error}") from error
        return sent.sid


# -- which one ------------------------------------------------------------------------

_LOG_SMS = LogSms()


def sender_for(channel: str, config) -> Mailer | SmsProvider | None:
    """The configured transport for a channel, or None (the notification is held)."""
    if channel == "email":
        url = config.get("SMTP_URL")
        if not url:
            return None
        return Mailer(url, config.get("SMTP_FROM") or "Haicang <notifications@localhost>",
                      float(config.get("SMTP_TIMEOUT_SECONDS") or 10))
    if channel == "sms":
        provider = (config.get("SMS_PROVIDER") or "").lower()
        if provider == "log":
            return _LOG_SMS
        if provider == "twilio" and config.get("TWILIO_ACCOUNT_SID"):
            return TwilioSms(config["TWILIO_ACCOUNT_SID"], config.get("TWILIO_AUTH_TOKEN") or "",
                             config.get("SMS_FROM") or "", config.get("TWILIO_API_BASE"),
                             float(config.get("SMTP_TIMEOUT_SECONDS") or 10))
        return None
    raise ValueError(f"unknown channel {channel!r}")
