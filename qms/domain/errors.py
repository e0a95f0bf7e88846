"""Named errors of the domain. Each carries a catalogue message id and an HTTP status.

The web layer renders ``message`` through the translation catalogue with ``params``;
nothing here knows about Flask.
"""


class QmsError(Exception):
    """Base of every refusal the system gives to a request."""

    status = 400
    message = "bad_request"

    def __init__(self, message: str | None = None, **params):
        self.message = message or self.message
        self.params = params
        super().__init__(f"{self.message} {params}" if params else self.message)


class ValidationError(QmsError):
    """The request is malformed: missing field, wrong type, unknown value."""

    status = 400
    message = "invalid_request"


class NotAuthenticated(QmsError):
    status = 401
    message = "login_required"


class Forbidden(QmsError):
    status = 403
    message = "forbidden"


class NotFound(QmsError):
    status = 404
    message = "not_found"


class Conflict(QmsError):
    """The request is well formed but the state does not allow it now."""

    status = 409
    message = "conflict"


class InvalidTransition(Conflict):
    """A ticket was asked to move in a way its state machine does not allow."""

    message = "invalid_transition"


class RecallLimitReached(Conflict):
    message = "recall_limit_reached"


class NoCurrentTicket(Conflict):
    message = "no_current_ticket"


class ServiceClosed(Conflict):
    message = "service_closed"


class CounterNotOpen(Conflict):
    message = "counter_not_open"


class CounterBusy(Conflict):
    message = "counter_busy"


class TooManyRequests(QmsError):
    """One client sent more requests than its share; ``retry_after`` is in seconds."""

    status = 429
    message = "too_many_requests"

    def __init__(self, retry_after: int, message: str | None = None, **params):
        super().__init__(message, seconds=retry_after, **params)
        self.retry_after = retry_after
