"""Ticket states and the transition table."""

from __future__ import annotations

from enum import StrEnum

from .errors import InvalidTransition


class Status(StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    DONE = "done"
    NO_SHOW = "no_show"
    TRANSFERRED = "transferred"
    CANCELLED = "cancelled"
    CLOSED = "closed"  # still open when the service day ended


class Action(StrEnum):
    CALL = "call"
    RECALL = "recall"
    SERVE = "serve"
    COMPLETE = "complete"
    NO_SHOW = "no_show"
    REQUEUE = "requeue"  # put a called ticket back in the queue
    TRANSFER = "transfer"
    CANCEL = "cancel"
    CLOSE = "close"  # daily reset


W, C, S = Status.WAITING, Status.CALLED, Status.SERVING

TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (W, Action.CALL): C,
    (W, Action.CANCEL): Status.CANCELLED,
    (W, Action.TRANSFER): Status.TRANSFERRED,
    (W, Action.CLOSE): Status.CLOSED,
    (C, Action.RECALL): C,
    (C, Action.SERVE): S,
    (C, Action.NO_SHOW): Status.NO_SHOW,
    (C, Action.REQUEUE): W,
    (C, Action.TRANSFER): Status.TRANSFERRED,
    (C, Action.CLOSE): Status.CLOSED,
    (S, Action.COMPLETE): Status.DONE,
    (S, Action.TRANSFER): Status.TRANSFERRED,
    (S, Action.CLOSE): Status.CLOSED,
}

OPEN_STATUSES = frozenset({W, C, S})
TERMINAL_STATUSES = frozenset(Status) - OPEN_STATUSES


def next_status(current: Status | str, action: Action | str) -> Status:
    """The state a ticket moves to, or InvalidTransition naming both."""
    current, action = Status(current), Action(action)
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise InvalidTransition(status=current.value, action=action.value) from None
