"""Who submits a document, and for whom: the authenticated user, or a recorded proxy entry (代录).

A person submits their own document with their own engine login: the process is started with that
login, so the engine's ``initiator`` (historic ``startUserId``) is the person, and the start carries
only the start form's fields (the engine refuses reserved variables such as ``requester`` from users;
the registration step takes the person from the authenticated starter).

Naming someone else as requester, claimant or proposer is a proxy entry. Only members of the
``proxy-entry`` group may make one, and the named person must be an existing engine user. After the
proxy's own login has been checked, the service account starts the process on the proxy's behalf with
the person as ``requester``/``claimant``/``proposer`` (only the service may write those); the record
keeps ``entered_by`` (the proxy) next to the person, and the audit log has a ``proxy-entry`` entry.

Trusted intake by the service account itself (tests, benchmarks, the invoice inbox flow) keeps
starting with the full variables, as before; its rows record the service account as ``entered_by``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from smartfin.camunda.client import EngineClient
from smartfin.camunda.login import groups_of, user_exists
from smartfin.kernel.settings import get_settings
from smartfin.processes.documents import Refused
from smartfin.store.audit import record_audit

PROXY_GROUP = "proxy-entry"


@dataclass(frozen=True)
class Submitter:
    """The client that starts the process, the person the document belongs to, and who keyed it in.

    ``entered_by`` is None when the person submits for themselves; the proxy's user id for a proxy
    entry; the service account's id for trusted intake by the service.
    """

    engine: EngineClient
    person: str
    entered_by: str | None = None
    proxy: bool = False

    @property
    def as_service(self) -> bool:
        return is_service(self.engine)

    @property
    def actor(self) -> str:
        """Who did it, for the audit log: the proxy, else the person."""
        return self.entered_by if self.proxy and self.entered_by else self.person

    def start_variables(self, variables: Mapping[str, Any], form_fields: Iterable[str]) -> dict[str, Any]:
        """Everything for the service; for a user only the start form's fields (the engine refuses the rest)."""
        if self.as_service:
            return dict(variables)
        allowed = set(form_fields)
        return {name: value for name, value in variables.items() if name in allowed}

    def audit_details(self) -> dict[str, Any]:
        """For the submission's audit entry: who keyed in a proxy entry (nothing otherwise)."""
        return {"enteredBy": self.entered_by, "proxyEntry": True} if self.proxy else {}


def is_service(engine: EngineClient) -> bool:
    return engine.user == get_settings().engine_user


def named_or_self(engine: EngineClient, named: Any) -> str:
    """The person a submission names, or the submitting user when it names nobody (never the service)."""
    text = str(named or "").strip()
    if text or is_service(engine):
        return text
    return str(engine.user or "")


def resolve_submitter(engine: EngineClient, named: str | None, *, role: str = "requester",
                      service: EngineClient | None = None) -> Submitter:
    """Decide who submits: ``named`` (a ``--requester``/``--claimant``/``--proposer``) or the user herself.

    The service account may name anyone (trusted intake); a user naming someone else must be in the
    ``proxy-entry`` group, and the start is then made by ``service`` (default: the service account) on
    the proxy's behalf. Whoever is named must exist in the engine.
    """
    user = str(engine.user or "")
    person = (named or "").strip() or user
    if is_service(engine):
        if not person or person == user:
            raise Refused(f"{role}: the service account submits only on behalf of a named person")
        _must_exist(engine, person, role)
        return Submitter(engine, person, entered_by=user)
    if person == user:
        return Submitter(engine, person)
    service = service or EngineClient.from_settings()
    groups = {g["id"] for g in groups_of(service, user)}
    if PROXY_GROUP not in groups:
        raise Refused(f"{role} {person!r} is not you ({user}): only members of the {PROXY_GROUP} group (代录) "
                      f"may submit on behalf of someone else; leave out --{role} to submit as yourself")
    _must_exist(service, person, role)
    return Submitter(service, person, entered_by=user, proxy=True)


def _must_exist(service: EngineClient, person: str, role: str) -> None:
    if not user_exists(service, person):
        raise Refused(f"{role} {person!r} is not a user of the engine (用户不存在); a document can only be "
                      "submitted for an existing engine user")


def start_form_fields(engine: EngineClient, process_key: str) -> set[str]:
    """The field keys of the latest deployed start form of ``process_key`` (what a user may start with)."""
    form = engine.get(f"/process-definition/key/{process_key}/deployed-start-form")
    if isinstance(form, bytes | str):
        form = json.loads(form)
    keys: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("key"), str) and node.get("type") not in (None, "default", "button"):
                keys.add(node["key"])
            for child in node.get("components") or []:
                walk(child)

    walk(form)
    return keys


def start(submitter: Submitter, process_key: str, business_key: str, variables: Mapping[str, Any]) -> dict[str, Any]:
    """Start the process as the submitter: the person with their login (form fields only), else the service."""
    fields: Iterable[str] = () if submitter.as_service else start_form_fields(submitter.engine, process_key)
    return submitter.engine.start_process(process_key, business_key,
                                          submitter.start_variables(variables, fields))


def record_entry(session: Any, submitter: Submitter, *, document_type: str, number: str) -> None:
    """A proxy entry goes into the audit log as such: who keyed it in, for whom."""
    if submitter.proxy:
        record_audit(session, actor=str(submitter.entered_by), action="proxy-entry", subject_type=document_type,
                     subject_id=number, details={"for": submitter.person, "enteredBy": submitter.entered_by})
