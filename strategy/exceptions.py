"""Domain errors of the strategy runtime (the API handler maps them to the JSON error body)."""

from mrmarket.exceptions import Conflict, Forbidden, NotFound


class SessionNotFound(NotFound):
    code = "session_not_found"


class SessionStopped(Conflict):
    code = "session_stopped"


class SessionOwnedByOrder(Conflict):
    code = "session_owned_by_order"


class UserSessionsDisabled(Forbidden):
    code = "user_sessions_disabled"
