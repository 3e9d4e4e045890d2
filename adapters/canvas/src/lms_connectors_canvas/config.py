"""Configuration of the Canvas adapter (validated with pydantic).

Two ways to authenticate, as Canvas offers them: an access token issued for a service user (an admin creates
it in the user's profile or through the API; it may have no expiry), or OAuth 2 through a developer key
(``client_id``, ``client_secret``) with a user's ``refresh_token``: access tokens then last an hour and are
refreshed at ``POST /login/oauth2/token``.
"""

from __future__ import annotations

from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, model_validator

from lms_connectors.http.settings import TransportSettings

__all__ = ["API_BASE_URL", "TOKEN_URL", "CanvasConfig"]

API_BASE_URL = "https://canvas.example.edu/api/v1"
"""The canonical instance of the documentation and the cassettes; yours is ``https://<instance>/api/v1``."""
TOKEN_URL = "https://canvas.example.edu/login/oauth2/token"  # noqa: S105 - an endpoint, not a secret
"""Its OAuth 2 token endpoint (outside ``/api/v1``)."""


class CanvasConfig(TransportSettings):
    """Settings of one Canvas instance (plus the transport settings every adapter has).

    Attributes:
        base_url: The instance's API root, ``https://<instance>/api/v1``.
        access_token: A token issued for the service user the adapter acts as (no refresh: a refused token is an
            ``AuthError`` at once). Give this, or the three OAuth fields.
        client_id: The developer key's id (OAuth 2).
        client_secret: The developer key's secret.
        refresh_token: The service user's refresh token, from the authorization-code flow.
        token_url: The OAuth 2 token endpoint; ``<instance>/login/oauth2/token`` when unset.
        as_user_id: Act for this user (``as_user_id`` on every call; the token's user needs the masquerade
            permission): a user id or ``sis_user_id:...``.
        course_id: The course of a session that names none (``Session.course_id`` wins).
        list_course_ids: Courses whose events ``list_sessions`` reads, one listing each (Canvas fails a whole
            listing when one of its ``context_codes[]`` is not readable); ``[course_id]`` when empty.
        user_id_template: How a learner's email names her Canvas user in ``enrollment[user_id]``: with the default
            ``sis_login_id:{email}`` the login id is the email, as on instances whose accounts come from SIS or
            single sign-on; ``sis_user_id:{email}`` when the SIS user id is the email.
        notify: Let Canvas email learners about their new enrolment (``enrollment[notify]``).
        unenrol_task: What unenrolling does to the enrolment: ``conclude`` keeps it as completed (grades and
            history stay), ``delete`` removes it.
        native_capacity: Also make an appointment group whose one slot takes ``capacity`` participants: Canvas then
            refuses the seat after the last (``CapacityFull``), and each enrolled learner reserves the slot.
        page_size: ``per_page`` of listings (Canvas caps it, usually at 100).
        leak_per_second: How fast the instance's throttling bucket drains (Canvas's default is 10 units a second).
        low_water: Budget (``X-Rate-Limit-Remaining``) under which calls wait for the bucket to drain; Canvas
            charges each request 50 units up front, so below that one may be refused.
    """

    base_url: str = API_BASE_URL
    access_token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    token_url: str | None = None
    as_user_id: str | None = None
    course_id: int | None = Field(default=None, ge=1)
    list_course_ids: tuple[int, ...] = ()
    user_id_template: Literal["sis_login_id:{email}", "sis_user_id:{email}"] = "sis_login_id:{email}"
    notify: bool = False
    unenrol_task: Literal["conclude", "delete"] = "conclude"
    native_capacity: bool = False
    page_size: int = Field(default=100, ge=1, le=100)
    leak_per_second: float = Field(default=10.0, gt=0)
    low_water: float = Field(default=50.0, ge=0)

    @model_validator(mode="after")
    def _one_way_to_authenticate(self) -> Self:
        oauth = (self.client_id, self.client_secret, self.refresh_token)
        if self.access_token is not None and any(value is not None for value in oauth):
            raise ValueError("give access_token, or client_id, client_secret and refresh_token, not both")
        if self.access_token is None and any(value is None for value in oauth):
            raise ValueError("give access_token, or all of client_id, client_secret and refresh_token")
        return self

    @property
    def resolved_token_url(self) -> str:
        """The token endpoint actually used: ``token_url``, else the instance's ``/login/oauth2/token``."""
        if self.token_url:
            return self.token_url
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}/login/oauth2/token"

    @property
    def listed_courses(self) -> tuple[int, ...]:
        """The courses ``list_sessions`` reads."""
        if self.list_course_ids:
            return self.list_course_ids
        return (self.course_id,) if self.course_id is not None else ()
