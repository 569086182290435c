"""What the claims app tells the apps above it, through hooks they register from their AppConfig.ready().

Claims sits below notifications and reports (pyproject.toml [tool.importlinter]): it imports neither, so
it cannot call them. An app that must act on the decisions registers a listener here instead:

    from claims.hooks import register_decisions_listener
    register_decisions_listener("notifications", claim_decision_notifications_create)
"""

from __future__ import annotations

from collections.abc import Callable

# (claim id, claim number, status, family id, decision round): ids and numbers, no member data. The round is 0
# for a first decision, n after the n-th reversal (announced only when the outcome changed).
Decision = tuple[int, str, str, int, int]

_decisions_listeners: dict[str, Callable[..., object]] = {}


def register_decisions_listener(name: str, fn: Callable[..., object]) -> None:
    """Add (or replace, so a re-run ready() is harmless) the listener `name`: `fn(decisions=[Decision, ...])`."""
    _decisions_listeners[name] = fn


def claim_decisions_announce(*, decisions: list[Decision]) -> None:
    """Call every listener, in the caller's transaction (the decision e-mails' rows are written with the
    decisions, or not at all). A listener that raises rolls the decisions back, as a direct call did."""
    for fn in _decisions_listeners.values():
        fn(decisions=decisions)
