"""The two delivery channels: SMTP mail and a chat robot's webhook (WeCom/DingTalk markdown).

Each channel raises :class:`DeliveryFailed` with a message that names what went wrong and never the secret:
passwords, signing secrets and the robot's URL (its ``access_token``/``key`` is a credential) are scrubbed
from every error text before it is logged or stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import quote_plus, urlsplit

import requests

from smartfin.camunda.secrets import read_secrets
from smartfin.kernel.settings import NotifySettings, Settings

SMTP_PASSWORD_KEY = "SMARTFIN_NOTIFY_SMTP_PASSWORD"
WEBHOOK_SECRET_KEY = "SMARTFIN_NOTIFY_WEBHOOK_SECRET"
TIMEOUT_S = 20.0


class DeliveryFailed(RuntimeError):
    """A message could not be handed over; the outbox retries it later."""


def _secret(settings: Settings, configured: Any, key: str) -> str | None:
    if configured is not None:
        return str(configured.get_secret_value())
    return read_secrets(settings).get(key) or None


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every secret replaced, cut to what the outbox keeps."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text[:480]


@dataclass
class MailChannel:
    """Sends one mail per call through the configured server (a new connection each time: mails are few)."""

    config: NotifySettings
    password: str | None

    def send(self, to: str, subject: str, text: str) -> None:
        message = EmailMessage()
        message["From"] = self.config.mail_from
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.config.mail_from.rpartition("@")[2] or None)
        message.set_content(text)
        host, port = str(self.config.smtp_host), self.config.smtp_port
        try:
            if self.config.smtp_security == "ssl":
                server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_S,
                                                        context=ssl.create_default_context())
            else:
                server = smtplib.SMTP(host, port, timeout=TIMEOUT_S)
            with server:
                if self.config.smtp_security == "starttls":
                    server.starttls(context=ssl.create_default_context())
                if self.config.smtp_user:
                    server.login(self.config.smtp_user, self.password or "")
                server.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            reason = scrub(f"{exc.__class__.__name__}: {exc}", [self.password or ""])
            raise DeliveryFailed(f"邮件未发出 / mail to {to} via {host}:{port} failed: {reason}") from None


def sign_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """The robot URL with DingTalk-style ``timestamp`` and ``sign`` (HMAC-SHA256 of "timestamp\\nsecret")."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    sign = quote_plus(base64.b64encode(digest).decode())
    return f"{url}{'&' if '?' in url else '?'}timestamp={timestamp}&sign={sign}"


def markdown_payload(title: str, text: str) -> dict[str, Any]:
    """The common robot format: DingTalk reads ``title``/``text``, WeCom reads ``content``."""
    return {"msgtype": "markdown", "markdown": {"title": title, "text": text, "content": text}}


@dataclass
class WebhookChannel:
    """Posts markdown to a chat robot; a non-zero ``errcode`` in the answer is a failure like an HTTP error."""

    url: str
    secret: str | None

    def _shown_url(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}{parts.path}"

    def post(self, title: str, text: str) -> None:
        target = sign_url(self.url, self.secret) if self.secret else self.url
        secrets = [self.url, target, self.secret or "", urlsplit(self.url).query]
        try:
            response = requests.post(target, json=markdown_payload(title, text), timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            raise DeliveryFailed(f"聊天机器人不可达 / webhook {self._shown_url()} unreachable: "
                                 f"{scrub(exc.__class__.__name__ + ': ' + str(exc), secrets)}") from None
        if response.status_code >= 400:
            raise DeliveryFailed(f"webhook {self._shown_url()} answered HTTP {response.status_code}")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if isinstance(answer, dict) and int(answer.get("errcode", 0) or 0) != 0:
            raise DeliveryFailed(f"webhook {self._shown_url()} refused the message: errcode {answer.get('errcode')} "
                                 f"{scrub(str(answer.get('errmsg', '')), secrets)}")


@dataclass
class Channels:
    """The channels configured for this installation; ``None`` where a channel is off."""

    mail: MailChannel | None
    webhook: WebhookChannel | None

    @property
    def secrets(self) -> list[str]:
        found = [self.mail.password or ""] if self.mail else []
        if self.webhook:
            found += [self.webhook.url, self.webhook.secret or "", urlsplit(self.webhook.url).query]
        return [s for s in found if s]


def configured_channels(settings: Settings) -> Channels:
    """The channels the settings turn on, with their secrets from the environment or var/secrets.env."""
    config = settings.notify
    mail = (MailChannel(config, _secret(settings, config.smtp_password, SMTP_PASSWORD_KEY))
            if config.smtp_host else None)
    webhook = (WebhookChannel(config.webhook_url, _secret(settings, config.webhook_secret, WEBHOOK_SECRET_KEY))
               if config.webhook_url else None)
    return Channels(mail, webhook)
