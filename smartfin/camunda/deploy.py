"""Deploy BPMN processes, DMN tables and Camunda Forms through REST, creating versions only on change.

Models bind their forms and decisions with ``binding="deployment"``, so a process and the forms and
decisions it references must always travel in the same deployment. The deployer therefore groups files
into units (a process plus what it references), compares each file with the latest deployed copy, and
uploads only the units that changed — as one deployment named ``smartfin``. Nothing changed, nothing
deployed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from smartfin.camunda.client import EngineClient
from smartfin.kernel.settings import PROJECT_ROOT

DEPLOYMENT_NAME = "smartfin"
MODEL_DIRS = ("bpmn", "rules")
MODEL_SUFFIXES = (".bpmn", ".dmn", ".form")
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"


class ModelError(ValueError):
    """A model file that cannot be deployed as it is (unreadable, no id, dangling reference)."""


@dataclass
class ModelFile:
    """One deployable resource; ``name`` (its path under the project) is its identity in the engine."""

    path: Path
    name: str
    content: bytes
    provides: set[str] = field(default_factory=set)
    references: set[str] = field(default_factory=set)

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


#: camunda:property of a service task whose worker evaluates a decision table deployed with its process
ROUTING_DECISION_PROPERTY = "routingDecision"


def _refs_of_bpmn(model: ModelFile) -> None:
    try:
        root = ElementTree.fromstring(model.content)
    except ElementTree.ParseError as exc:
        raise ModelError(f"{model.name}: not well-formed XML ({exc})") from exc
    for element in root.iter():
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "process" and element.get("isExecutable") == "true":
            if not element.get(f"{{{CAMUNDA_NS}}}historyTimeToLive"):
                raise ModelError(f"{model.name}: process {element.get('id')} has no "
                                 "camunda:historyTimeToLive (the engine refuses to deploy it)")
            model.provides.add(f"process:{element.get('id')}")
        form_ref = element.get(f"{{{CAMUNDA_NS}}}formRef")
        if form_ref:
            model.references.add(f"form:{form_ref}")
        decision_ref = element.get(f"{{{CAMUNDA_NS}}}decisionRef")
        if decision_ref:
            model.references.add(f"decision:{decision_ref}")
        # a worker that evaluates a table deployed with the process names it as ``routingDecision``
        if tag == "property" and element.get("name") == ROUTING_DECISION_PROPERTY and element.get("value"):
            model.references.add(f"decision:{element.get('value')}")


def _refs_of_dmn(model: ModelFile) -> None:
    try:
        root = ElementTree.fromstring(model.content)
    except ElementTree.ParseError as exc:
        raise ModelError(f"{model.name}: not well-formed XML ({exc})") from exc
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] == "decision":
            model.provides.add(f"decision:{element.get('id')}")
    if not re.search(rb'historyTimeToLive="[^"]+"', model.content):
        raise ModelError(f"{model.name}: decisions need camunda:historyTimeToLive")


def _refs_of_form(model: ModelFile) -> None:
    try:
        schema = json.loads(model.content)
    except ValueError as exc:
        raise ModelError(f"{model.name}: not valid JSON ({exc})") from exc
    form_id = schema.get("id") if isinstance(schema, dict) else None
    if not form_id:
        raise ModelError(f"{model.name}: a Camunda Form needs a top-level \"id\"")
    model.provides.add(f"form:{form_id}")


def collect_models(root: Path = PROJECT_ROOT, dirs: Iterable[str] = MODEL_DIRS) -> list[ModelFile]:
    """Every deployable file under the model folders, with what it provides and references."""
    models: list[ModelFile] = []
    for folder in dirs:
        base = root / folder
        for path in sorted(base.rglob("*")):
            if path.suffix not in MODEL_SUFFIXES or not path.is_file():
                continue
            model = ModelFile(path, path.relative_to(root).as_posix(), path.read_bytes())
            {".bpmn": _refs_of_bpmn, ".dmn": _refs_of_dmn, ".form": _refs_of_form}[path.suffix](model)
            models.append(model)
    provided = {item for m in models for item in m.provides}
    for model in models:
        missing = sorted(model.references - provided)
        if missing:
            raise ModelError(f"{model.name} references {', '.join(missing)}, which no model file provides")
    return models


def units(models: list[ModelFile]) -> list[set[str]]:
    """Connected groups of files (a process with its forms and decisions) that must deploy together."""
    by_provided = {item: m.name for m in models for item in m.provides}
    parent = {m.name: m.name for m in models}

    def find(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for model in models:
        for ref in model.references:
            parent[find(model.name)] = find(by_provided[ref])
    groups: dict[str, set[str]] = {}
    for model in models:
        groups.setdefault(find(model.name), set()).add(model.name)
    return list(groups.values())


def deployed_digests(engine: EngineClient, name: str = DEPLOYMENT_NAME) -> dict[str, str]:
    """sha256 of the latest deployed copy of each resource in deployments called ``name``."""
    digests: dict[str, str] = {}
    deployments = engine.get("/deployment", name=name, sortBy="deploymentTime", sortOrder="desc")
    for deployment in deployments or []:
        for resource in engine.get(f"/deployment/{deployment['id']}/resources") or []:
            if resource["name"] in digests:
                continue
            data = engine.request("GET", f"/deployment/{deployment['id']}/resources/{resource['id']}/data")
            if isinstance(data, dict | list):
                data = json.dumps(data).encode()
            digests[resource["name"]] = hashlib.sha256(data or b"").hexdigest()
    return digests


@dataclass
class DeployResult:
    deployment_id: str | None
    deployed: list[str]
    unchanged: list[str]


def deploy(engine: EngineClient, models: list[ModelFile] | None = None,
           name: str = DEPLOYMENT_NAME) -> DeployResult:
    """Upload the changed units as one deployment; returns what was deployed and what was not."""
    models = collect_models() if models is None else models
    current = deployed_digests(engine, name)
    changed = {m.name for m in models if current.get(m.name) != m.digest}
    upload = sorted({n for unit in units(models) if unit & changed for n in unit})
    unchanged = sorted(m.name for m in models if m.name not in upload)
    if not upload:
        return DeployResult(None, [], unchanged)
    by_name = {m.name: m for m in models}
    files = [(n, (n, by_name[n].content, "application/octet-stream")) for n in upload]
    data = {"deployment-name": name, "deployment-source": "smartfin", "deploy-changed-only": "false",
            "enable-duplicate-filtering": "false"}
    response = engine.request("POST", "/deployment/create", data=data, files=files)
    return DeployResult(response["id"], upload, unchanged)
