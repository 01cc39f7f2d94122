"""A small REST client for the Camunda 7 engine, shared by the launcher, deployer, workers and CLI.

It keeps one HTTP connection pool (a server session per request would pile up otherwise), puts a
timeout on every call, and turns transport and HTTP failures into errors that say what to do next.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import requests

from smartfin.camunda.secrets import service_password
from smartfin.camunda.variables import decode_variables, encode_variables
from smartfin.kernel.settings import Settings, get_settings

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 30.0


class EngineError(RuntimeError):
    """Base of every failure talking to the engine."""


class EngineUnreachable(EngineError):
    """No answer from the engine's address: it is not running, still starting, or the URL is wrong."""


class EngineAuthError(EngineError):
    """The engine refused the credentials (HTTP 401) or the user lacks an authorization (HTTP 403)."""


class EngineRequestError(EngineError):
    """The engine answered with an error; ``status``, ``kind`` and ``message`` come from its body."""

    def __init__(self, method: str, path: str, status: int, kind: str, message: str) -> None:
        self.status = status
        self.kind = kind
        self.message = message
        super().__init__(f"{method} {path} → HTTP {status} {kind}: {message}")


class EngineClient:
    """Authenticated access to ``/engine-rest`` with the errors mapped to the classes above."""

    def __init__(self, base_url: str, user: str | None, password: str | None,
                 timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.base_url = base_url.rstrip("/")
        self.user = user
        self.timeout = timeout
        #: what the 401 message tells to do; a logged-in user's client says to log in again
        self.refused_hint = "check SMARTFIN_ENGINE_USER / SMARTFIN_ENGINE_PASSWORD or var/secrets.env"
        self.http = requests.Session()
        if user is not None and password is not None:
            self.http.auth = (user, password)
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> EngineClient:
        """The service account's client, password from the environment or var/secrets.env."""
        settings = settings or get_settings()
        return cls(settings.engine_rest_url, settings.engine_user, service_password(settings))

    def as_user(self, user: str, password: str) -> EngineClient:
        """A client acting as another engine user (tests and scripts acting as approvers)."""
        return EngineClient(self.base_url, user, password, self.timeout)

    def close(self) -> None:
        self.http.close()

    # -- transport -------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, timeout: float | None = None, **kwargs: Any) -> Any:
        """One REST call; returns the decoded JSON body (or None for 204 / empty bodies)."""
        url = self.base_url + path
        try:
            response = self.http.request(method, url, timeout=timeout or self.timeout, **kwargs)
        except requests.ConnectionError as exc:
            raise EngineUnreachable(
                f"the engine at {self.base_url} is not reachable ({exc.__class__.__name__}); "
                "is it running? try `smartfin status` and `smartfin logs`"
            ) from exc
        except requests.Timeout as exc:
            raise EngineUnreachable(f"the engine at {self.base_url} did not answer {method} {path} "
                                    f"within {timeout or self.timeout:.0f} s") from exc
        if response.status_code == 401:
            raise EngineAuthError(
                f"the engine at {self.base_url} refused the credentials of user {self.user!r} (HTTP 401); "
                f"{self.refused_hint}"
            )
        if response.status_code == 403:
            raise EngineAuthError(f"user {self.user!r} is not authorized for {method} {path}: "
                                  f"{_error_message(response)}")
        if response.status_code >= 400:
            kind, message = _error_parts(response)
            raise EngineRequestError(method, path, response.status_code, kind, message)
        if response.status_code == 204 or not response.content:
            return None
        if "json" in response.headers.get("Content-Type", ""):
            return response.json()
        return response.content

    def get(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=body, **kwargs)

    def put(self, path: str, body: Any = None) -> Any:
        return self.request("PUT", path, json=body)

    def delete(self, path: str, **params: Any) -> Any:
        return self.request("DELETE", path, params=params)

    # -- engine operations used across the product ---------------------------------------------

    def version(self) -> str:
        return str(self.get("/version")["version"])

    def start_process(self, key: str, business_key: str, variables: dict[str, Any]) -> dict[str, Any]:
        """Start the latest version of a process, keyed by the document number."""
        return self.post(f"/process-definition/key/{key}/start",
                         {"businessKey": business_key, "variables": encode_variables(variables)})

    def correlate(self, message: str, business_key: str, variables: dict[str, Any] | None = None) -> Any:
        return self.post("/message", {"messageName": message, "businessKey": business_key,
                                      "processVariables": encode_variables(variables),
                                      "resultEnabled": True})

    def tasks(self, **filters: Any) -> list[dict[str, Any]]:
        return self.post("/task", filters)

    def complete_task(self, task_id: str, variables: dict[str, Any] | None = None) -> None:
        self.post(f"/task/{task_id}/complete", {"variables": encode_variables(variables)})

    def claim_task(self, task_id: str, user: str) -> None:
        self.post(f"/task/{task_id}/claim", {"userId": user})

    def process_variables(self, process_instance_id: str) -> dict[str, Any]:
        raw = self.get(f"/process-instance/{process_instance_id}/variables", deserializeValues="false")
        return decode_variables(raw)

    def historic_variables(self, process_instance_id: str) -> dict[str, Any]:
        rows = self.get("/history/variable-instance", processInstanceId=process_instance_id,
                        deserializeValues="false")
        return decode_variables({row["name"]: row for row in rows})

    def historic_process(self, process_instance_id: str) -> dict[str, Any]:
        return self.get(f"/history/process-instance/{process_instance_id}")

    def historic_activities(self, process_instance_id: str) -> list[dict[str, Any]]:
        return self.get("/history/activity-instance", processInstanceId=process_instance_id,
                        sortBy="startTime", sortOrder="asc")

    def incidents(self, process_instance_id: str) -> list[dict[str, Any]]:
        return self.get("/incident", processInstanceId=process_instance_id)

    def deployment_names(self) -> Iterable[str]:
        return [d["name"] for d in self.get("/deployment")]


def _error_parts(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "HttpError", response.text[:500]
    if isinstance(body, dict):
        return str(body.get("type", "Error")), str(body.get("message", body))
    return "Error", str(body)[:500]


def _error_message(response: requests.Response) -> str:
    return _error_parts(response)[1]
