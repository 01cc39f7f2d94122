"""The two kinds of bot failure, and their named cases.

*Application errors* are the portal or the network misbehaving (down, a 500 page, a page we do not
recognise, a download that never starts): they are retried with backoff and end in an incident when
retries run out. *Business failures* are the portal saying no for a reason a person must look at (a
validation message): never retried, they become BPMN errors or human tasks. Every error carries the
portal's own message and, once captured, the folder with the evidence.
"""

from __future__ import annotations


class BotError(Exception):
    """Base of bot failures: ``portal_message`` is what the portal showed, ``evidence`` where it is kept."""

    retryable = True

    def __init__(self, message: str, *, portal_message: str = "", evidence: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.portal_message = portal_message
        self.evidence = evidence

    def __str__(self) -> str:
        text = self.message
        if self.evidence:  # before the portal text: engine error messages are cut at 666 characters
            text += f" [evidence: {self.evidence}]"
        if self.portal_message and self.portal_message not in text:
            text += f" — portal: {self.portal_message[:300]}"
        return text


class ApplicationError(BotError):
    """Technical trouble: retry with backoff, then an incident."""


class PortalUnavailable(ApplicationError):
    """The portal is down, unreachable or answered with a server error page."""


class UnexpectedPage(ApplicationError):
    """The page is not one the page object knows (changed layout, unknown dialog, missing element)."""


class DownloadMissing(ApplicationError):
    """A download was asked for and never arrived within the download timeout."""


class SessionExpired(ApplicationError):
    """The portal sent us back to its login page: the runtime logs in again and repeats the item once."""


class LoginRefused(ApplicationError):
    """The portal refused the account's password.

    Not retried in process, and the same password is not tried again until it changes: portals lock an
    account after a few wrong passwords. The task still fails into an incident so someone fixes the
    secrets file and retries it.
    """

    retryable = False


class BusinessFailure(BotError):
    """The portal refused the work item for a business reason; ``code`` is the BPMN error code."""

    retryable = False
    code = "BOT_BUSINESS_FAILURE"
    business = True


class BankRefused(BusinessFailure):
    """The bank refused a query or download (bad period, unknown account) with a message."""

    code = "BANK_REFUSED"


def worth_retrying(error: BaseException | None) -> bool:
    """Technical trouble is worth another try; a refusal (a business failure, a refused password) is not.

    The one rule for every retry around a portal: the runtime's own attempts and the flows' task retries.
    """
    return not getattr(error, "business", False) and getattr(error, "retryable", True) is not False
