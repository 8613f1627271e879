"""``std.email``: Mistral's e-mail action, one message sent through an SMTP server."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import Mapping
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

from tidings.engine.actions.local import LocalAction
from tidings.engine.actions.params import ParamError
from tidings.engine.actions.registry import ActionContext, ActionOutcome, JSONValue

__all__ = ["EmailAction"]

#: Seconds connecting to the server and each exchange with it may take.
SMTP_TIMEOUT_S = 60.0


def _addresses(value: JSONValue, name: str) -> list[str]:
    # Mistral takes lists; one address as a string is accepted too.
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(a, str) for a in value):
        return [a for a in value if isinstance(a, str)]
    raise ParamError(f"std.email: parameter {name!r} must be a list of addresses, got {value!r}")


def _text(params: Mapping[str, JSONValue], name: str, default: str | None) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        raise ParamError(f"std.email: parameter {name!r} must be a string, got {value!r}")
    return value


def _server(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, 25
    if not port.isdigit() or not host:
        raise ParamError(
            f"std.email: parameter 'smtp_server' must be host or host:port, got {text!r}"
        )
    return host, int(port)


class EmailAction(LocalAction):
    """``std.email``: sends one message, as Mistral's does; the result is null.

    Parameters (Mistral's): ``from_addr``, ``to_addrs`` and ``smtp_server`` (``host`` or
    ``host:port``, port 25 by default) are required; ``cc_addrs``, ``bcc_addrs``,
    ``reply_to`` (lists), ``subject`` (default ``<No subject>``), ``body`` (default
    ``<No body>``), ``html_body`` (then the message is multipart/alternative, text and
    HTML), ``smtp_password`` (then the session is upgraded with STARTTLS and logs in as
    ``from_addr``). The message goes to the To, Cc and Bcc addresses; Bcc is not written
    in it. A refusal by the server fails the task, naming it.
    """

    name = "std.email"
    required_params = frozenset({"from_addr", "to_addrs", "smtp_server"})
    optional_params: frozenset[str] | None = frozenset(
        {"reply_to", "cc_addrs", "bcc_addrs", "smtp_password", "subject", "body", "html_body"}
    )

    async def _run(self, params: Mapping[str, JSONValue], request: JSONValue) -> ActionOutcome:
        request = _masked(request)
        sender = _text(params, "from_addr", None)
        server = _text(params, "smtp_server", None)
        if sender is None or server is None:
            raise ParamError("std.email: parameters 'from_addr' and 'smtp_server' are required")
        host, port = _server(server)
        to = _addresses(params.get("to_addrs"), "to_addrs")
        cc = _addresses(params.get("cc_addrs"), "cc_addrs")
        bcc = _addresses(params.get("bcc_addrs"), "bcc_addrs")
        reply_to = _addresses(params.get("reply_to"), "reply_to")
        body = _text(params, "body", "<No body>") or "<No body>"
        html = _text(params, "html_body", None)
        message: MIMEText | MIMEMultipart
        if html is None:
            message = MIMEText(body, _charset="utf-8")
        else:
            message = MIMEMultipart("alternative")
            message.attach(MIMEText(body, "plain", _charset="utf-8"))
            message.attach(MIMEText(html, "html", _charset="utf-8"))
        message["Subject"] = Header(_text(params, "subject", "<No subject>"), "utf-8").encode()
        message["From"] = sender
        if reply_to:
            message["Reply-To"] = ", ".join(reply_to)
        message["To"] = ", ".join(to)
        if cc:
            message["Cc"] = ", ".join(cc)
        password = _text(params, "smtp_password", None)
        try:
            await asyncio.to_thread(
                _send, host, port, sender, password, cc + bcc + to, message.as_string()
            )
        except (smtplib.SMTPException, OSError) as exc:
            return ActionOutcome.failure(
                f"std.email: failed to send the message: {exc}", None, request
            )
        return ActionOutcome.success(None, request)

    def request_view(self, params: Mapping[str, JSONValue], ctx: ActionContext) -> JSONValue:
        """The parameters, the password hidden."""
        return _masked(super().request_view(params, ctx))


def _masked(request: JSONValue) -> JSONValue:
    # The password must not reach events or the store.
    if isinstance(request, dict) and request.get("smtp_password") is not None:
        return {**request, "smtp_password": "***"}
    return request


def _send(
    host: str, port: int, sender: str, password: str | None, recipients: list[str], text: str
) -> None:
    with smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_S) as smtp:
        if password is not None:
            # Mistral's sequence (RFC 3207): upgrade to TLS, then log in.
            smtp.ehlo()
            smtp.starttls()
            smtp.ehlo()
            smtp.login(sender, password)
        smtp.sendmail(sender, recipients, text)
