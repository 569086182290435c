"""Input checks and masking: what may become an e-mail, and how an address appears outside its row."""

from __future__ import annotations

import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

_ADDRESS = re.compile(r"[^\s<>@\"',;:()\[\]]+@[A-Za-z0-9.-]+")


class NotificationRejected(ValueError):
    """The e-mail cannot be sent as given (bad address, header injection, size); retrying cannot help."""


def mask_email(address: str) -> str:
    """'user@example.com' -> 'u***@example.com': enough to recognise, not enough to harvest."""
    local, at, domain = str(address).rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_emails_in(text: str) -> str:
    """Every address inside `text` masked (SMTP servers echo recipients in their error replies)."""
    return _ADDRESS.sub(lambda match: mask_email(match.group(0)), str(text))


def has_control_character(text: str) -> bool:
    """Any C0/C1 control (NUL, tab, vertical tab, DEL, ...) or a Unicode line/paragraph separator."""
    return any(unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in text)


def printable(text: str) -> str:
    """`text` with every control character shown as U+FFFD: what a refused value may be stored as (a NUL
    cannot be stored in PostgreSQL at all)."""
    return "".join("\ufffd" if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch for ch in text)


def notification_problem(*, recipient, subject, body) -> str | None:
    """Why this e-mail must not be sent, in plain words (without echoing the values), or None."""
    if not isinstance(recipient, str) or not isinstance(subject, str) or not isinstance(body, str):
        return "recipient, subject and message must be text"
    if has_control_character(recipient) or len(recipient) > 254:
        return "recipient is not a valid e-mail address"
    try:
        validate_email(recipient)
    except ValidationError:
        return "recipient is not a valid e-mail address"
    if "\r" in subject or "\n" in subject:
        return "subject contains a line break (header injection)"
    if has_control_character(subject):
        return "subject contains a control character (tab, NUL, ...)"
    if not subject.strip():
        return "subject is empty"
    if len(subject) > settings.NOTIFICATION_MAX_SUBJECT_CHARS:
        return f"subject is longer than {settings.NOTIFICATION_MAX_SUBJECT_CHARS} characters"
    if not body.strip():
        return "message is empty"
    if "\x00" in body:
        return "message contains a NUL character"
    if len(body.encode()) > settings.NOTIFICATION_MAX_BODY_BYTES:
        return f"message is larger than {settings.NOTIFICATION_MAX_BODY_BYTES} bytes"
    return None
