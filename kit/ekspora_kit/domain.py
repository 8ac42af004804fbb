"""What every service's pure domain shares: strict models and the refusals rules can make."""

from pydantic import BaseModel, ConfigDict


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class DomainError(Exception):
    """A rule refused the operation; `field` names the input it is about, if any."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotAllowed(DomainError):
    """Well-formed, but the current state does not allow it (HTTP 409)."""


class NotPermitted(DomainError):
    """The caller's role or regions do not allow it, whatever the state (HTTP 403)."""


class Invalid(DomainError):
    """The request names something the rules do not know or accept (HTTP 422)."""


class NotFound(DomainError):
    """Nothing by that id, or nothing the caller may see (HTTP 404)."""


class Busy(Exception):
    """An aggregate kept changing under a use case; the caller may retry (HTTP 409)."""
