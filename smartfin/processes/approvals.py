"""Approval chains fixed at routing time, the decisions the engine recorded, and the control step between them.

An approval chain (审批链) is decided once, when the document is routed, from the document as the project
recorded it — never from process variables, which users can reach. It is stored here step by step
(``ApprovalChainStep``): which group signs at which position, for which amount and plan status, by which
version of the routing table. A document that is routed again (its budget was used up meanwhile and it went
back through consent) gets a new round.

Who actually signed is read from the engine's history — the authenticated completer of each task, the task's
candidate groups, the value of its ``decision`` field — and kept in ``ApprovalDecision``. The ``decisions``
process variable is a display copy and is never read here.

``chain_problems`` is the control step (内部控制) before money moves: a pure function from the stored chain and
the signed tasks to a list of reasons; no reasons, the chain holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import UniqueConstraint, func
from sqlmodel import Field, Session, SQLModel, col, select

from smartfin.camunda.client import EngineClient
from smartfin.camunda.runtime import BusinessError, Job
from smartfin.camunda.variables import encode_variables
from smartfin.kernel.clock import HOSPITAL_TZ, hospital_today, utc_now
from smartfin.kernel.money import format_yuan, from_fen, to_fen
from smartfin.ledger.department_roles import (
    holders_on,
    role_of_group,
    roles_loaded,
    scoped_groups_of,
    scoped_membership,
)
from smartfin.store.audit import AuditEntry, record_audit
from smartfin.store.db import session_scope

APPROVE = "approve"
COMPLETED = "completed"  # the engine's delete reason of a task that was completed


class ApprovalChainStep(SQLModel, table=True):
    """One position of a document's approval chain as routing fixed it."""

    __tablename__ = "approval_chain_step"
    __table_args__ = (UniqueConstraint("document_type", "document_no", "round", "step",
                                       name="uq_approval_chain_step"),)

    id: int | None = Field(default=None, primary_key=True)
    document_type: str = Field(max_length=40)
    document_no: str = Field(max_length=80)
    round: int
    step: int
    candidate_group: str = Field(max_length=64)
    amount_fen: int
    within_plan: bool
    routed_at: datetime = Field(default_factory=utc_now)
    routing_decision_id: str = Field(max_length=64)
    routing_decision_version: int
    routed_by_task: str = Field(max_length=64)

    @property
    def amount(self) -> Decimal:
        return from_fen(self.amount_fen)


class ApprovalDecision(SQLModel, table=True):
    """One completed approval or consent task, as the engine recorded it (user, group, value, time)."""

    __tablename__ = "approval_decision"

    id: int | None = Field(default=None, primary_key=True)
    document_type: str = Field(max_length=40, index=True)
    document_no: str = Field(max_length=80, index=True)
    round: int
    step: int | None = None  # position in the chain; None for consent or a task that matches no step
    task_id: str = Field(max_length=64, unique=True)
    task_key: str = Field(max_length=64)
    candidate_group: str = Field(max_length=200)
    user_id: str | None = Field(default=None, max_length=64)
    outcome: str | None = Field(default=None, max_length=20)
    comment: str | None = Field(default=None, max_length=1000)
    decided_at: datetime | None = None


# ------------------------------------------------------------------------------------------ the chain

def fix_chain(session: Session, *, document_type: str, document_no: str, groups: Sequence[str], amount: Decimal,
              within_plan: bool, decision_id: str, decision_version: int,
              routed_by: str) -> list[ApprovalChainStep]:
    """Store a new round of the document's chain; the same routing task storing again gets its first answer."""
    if not groups:
        raise ValueError(f"{document_type} {document_no}: the routing table named no approver")
    existing = list(session.exec(select(ApprovalChainStep).where(
        ApprovalChainStep.document_type == document_type, ApprovalChainStep.document_no == document_no,
        ApprovalChainStep.routed_by_task == routed_by).order_by(col(ApprovalChainStep.step))).all())
    if existing:
        return existing
    last = session.exec(select(func.max(ApprovalChainStep.round)).where(
        ApprovalChainStep.document_type == document_type, ApprovalChainStep.document_no == document_no)).one()
    round_no = int(last or 0) + 1
    now = utc_now()
    steps = [ApprovalChainStep(document_type=document_type, document_no=document_no, round=round_no, step=i,
                               candidate_group=group, amount_fen=to_fen(amount), within_plan=within_plan,
                               routed_at=now, routing_decision_id=decision_id,
                               routing_decision_version=decision_version, routed_by_task=routed_by)
             for i, group in enumerate(groups, start=1)]
    session.add_all(steps)
    session.flush()
    return steps


def current_chain(session: Session, document_type: str, document_no: str) -> list[ApprovalChainStep]:
    """The steps of the document's latest round, in order; empty when it was never routed."""
    last = session.exec(select(func.max(ApprovalChainStep.round)).where(
        ApprovalChainStep.document_type == document_type, ApprovalChainStep.document_no == document_no)).one()
    if last is None:
        return []
    return list(session.exec(select(ApprovalChainStep).where(
        ApprovalChainStep.document_type == document_type, ApprovalChainStep.document_no == document_no,
        ApprovalChainStep.round == last).order_by(col(ApprovalChainStep.step))).all())


def all_steps(session: Session, document_type: str, document_no: str) -> list[ApprovalChainStep]:
    return list(session.exec(select(ApprovalChainStep).where(
        ApprovalChainStep.document_type == document_type, ApprovalChainStep.document_no == document_no)
        .order_by(col(ApprovalChainStep.round), col(ApprovalChainStep.step))).all())


def recorded_decisions(session: Session, document_type: str, document_no: str) -> list[ApprovalDecision]:
    return list(session.exec(select(ApprovalDecision).where(
        ApprovalDecision.document_type == document_type, ApprovalDecision.document_no == document_no)
        .order_by(col(ApprovalDecision.decided_at), col(ApprovalDecision.id))).all())


def on_the_chain(session: Session, engine: EngineClient, *, document_type: str, document_no: str,
                 requester: str, entered_by: str | None, user: str, groups: frozenset[str]) -> bool:
    """Whether ``user`` is on the document's chain, and so may open its original files.

    On the chain are: the requester and whoever keyed the document in for her; everyone whose decision on it
    is recorded; members (``groups``, read from the engine by the caller) of a group of the latest round's
    chain; and anyone the engine offers or assigns one of the document's open tasks to (a finance review, a
    deputy). Everyone else — another department's head, a colleague who knows the number — is not.
    """
    if user in {requester, entered_by}:
        return True
    if any(d.user_id == user for d in recorded_decisions(session, document_type, document_no)):
        return True
    if groups & {step.candidate_group for step in current_chain(session, document_type, document_no)}:
        return True
    for relation in ({"candidateUser": user}, {"assignee": user}):
        if engine.get("/task", processInstanceBusinessKey=document_no, **relation):
            return True
    return False


# ------------------------------------------------------------------------------------------ routing

_DECISIONS: dict[tuple[str, str], dict[str, Any]] = {}  # (process definition, table key) -> table; never changes


def routing_decision(job: Job, decision_key: str) -> dict[str, Any]:
    """The routing table deployed with this job's process definition (what ``binding="deployment"`` uses).

    A deployed definition never changes, so the answer is kept per process definition.
    """
    assert job.worker is not None
    engine = job.worker.engine
    definition_id = str(job.task._context.get("processDefinitionId") or "")
    if (definition_id, decision_key) in _DECISIONS:
        return _DECISIONS[(definition_id, decision_key)]
    if definition_id:
        deployment = engine.get(f"/process-definition/{definition_id}")["deploymentId"]
        found = engine.get("/decision-definition", key=decision_key, deploymentId=deployment)
        if found:
            _DECISIONS[(definition_id, decision_key)] = dict(found[0])
            return _DECISIONS[(definition_id, decision_key)]
    return dict(engine.get(f"/decision-definition/key/{decision_key}"))


class NoRoleHolder(RuntimeError):
    """A department-scoped step has nobody to sign it: the department's head is not recorded for today."""


def department_group(session: Session, group: str, department: str | None) -> str:
    """``group`` narrowed to ``department`` when it is a department-scoped role (``dept-head`` →
    ``dept-head.CARD``) and the hospital records department roles; else ``group`` itself. ``department`` must
    come from the project's record of the document, never from a process variable."""
    if not department or not roles_loaded(session):
        return group
    return scoped_groups_of([group], department)[0]


def department_scoped(session: Session, groups: Sequence[str], department: str | None,
                      on: date | None = None) -> list[str]:
    """The routed groups with each department-scoped role (``dept-head``) narrowed to the document's
    ``department`` as recorded — ``dept-head.CARD`` — so Tasklist offers the step to that department's head
    only (see ``smartfin.ledger.department_roles``).

    Groups stay as routed while no department role is recorded at all (a hospital that has not loaded its
    heads) or for a document without a department. ``NoRoleHolder`` when a scoped step would have nobody
    to sign it: the step would wait forever, so routing stops and says whom to record.
    """
    scoped = [department_group(session, group, department) for group in groups]
    day = on or hospital_today()
    for group in scoped:
        found = role_of_group(group)
        if found is not None and not holders_on(session, found[1], found[0], day):
            raise NoRoleHolder(f"科室 {department} 在 {day} 没有记录的{found[0].value}，无法确定审批人 / no "
                               f"{found[0].value} of department {department} is recorded for {day} (record one "
                               "with: smartfin departments roles import FILE)")
    return scoped


def route_document(job: Job, *, decision_key: str, document_type: str, document_no: str, amount: Decimal,
                   within_plan: bool, inputs: dict[str, Any], department: str | None = None) -> list[ApprovalChainStep]:
    """Evaluate the routing table on ``inputs`` (taken from the record by the caller) and store the chain.

    The chain is fixed here once per routing task, audited as ``approval-chain-fixed``; the model iterates
    its copy (``approvalChain``, see ``chain_variables``), which the engine lets no user write, and the
    control step before money moves compares the signatures with this stored chain only. ``department`` is
    the recorded document's department: department-scoped steps are narrowed to it (``department_scoped``).
    """
    assert job.worker is not None
    decision = routing_decision(job, decision_key)
    rows = job.worker.engine.post(f"/decision-definition/{decision['id']}/evaluate",
                                  {"variables": encode_variables(inputs)})
    routed = [row["approverGroup"]["value"] for row in rows]
    with session_scope() as session:
        groups = department_scoped(session, routed, department)
        steps = fix_chain(session, document_type=document_type, document_no=document_no, groups=groups,
                          amount=amount, within_plan=within_plan, decision_id=decision["id"],
                          decision_version=int(decision["version"]), routed_by=job.id)
        record_audit(session, actor="system", action="approval-chain-fixed", subject_type=document_type,
                     subject_id=document_no, details={
                         "round": steps[0].round, "groups": groups, "department": department,
                         "amount": format_yuan(amount),
                         "within_plan": within_plan, "decision": decision["id"]})
        session.expunge_all()
    return steps


def chain_variables(steps: Sequence[ApprovalChainStep]) -> dict[str, Any]:
    """The stored chain as the process sees it: its round, and the groups in order as JSON.

    ``approvalChain`` is what the engine checks each approval completion against (the task's candidate
    group must be the chain's group at the task's step); only the service account may write it.
    """
    return {"approvalRound": steps[0].round, "approvalChain": json.dumps([s.candidate_group for s in steps])}


# ------------------------------------------------------------------------------ what the engine knows

@dataclass(frozen=True)
class SignedTask:
    """A finished user task as the engine's history has it."""

    task_id: str
    task_key: str
    groups: frozenset[str]
    user: str | None        # the authenticated user who completed it (user operation log), else its assignee
    assignee: str | None
    outcome: str | None     # the value the completion wrote into ``decision``
    comment: str | None
    started: str
    ended: str | None
    completed: bool
    #: every value the completion wrote among the names asked for (``signed_tasks(..., value_names=...)``)
    values: dict[str, str | None] = field(default_factory=dict, compare=False, hash=False)

    @property
    def group_label(self) -> str:
        return ",".join(sorted(self.groups))


SIGNATURE_VALUES = ("decision", "comment")


OUTCOME_LABELS = {"approve": "同意 approved", "reject": "驳回 rejected", "sendBack": "退回修改 sent back",
                  "resubmit": "重新提交 resubmitted", "withdraw": "撤回 withdrawn"}


NO_DECISIONS_YET = "尚无审批记录 no decisions yet"


def decision_history_text(engine: EngineClient, process_instance_id: str, task_keys: Sequence[str],
                          outcome_names: Sequence[str] = ()) -> str:
    """Every decision taken on the instance so far, oldest first, one line each: when (hospital time), the
    group it was taken for, who, the outcome and the comment — what an approver reads before deciding.

    A task whose form records its outcome under another name (a requester's ``revisionAction``) names it in
    ``outcome_names``. Read from the engine's history like the control steps read signatures; a text for
    people, never an input.
    """
    found = signed_tasks_by_key(engine, process_instance_id, task_keys, value_names=(*SIGNATURE_VALUES,
                                                                                       *outcome_names))
    done = sorted((t for tasks in found.values() for t in tasks if t.completed), key=lambda t: t.ended or "")
    lines = []
    for task in done:
        when = _instant(task.ended).astimezone(HOSPITAL_TZ).strftime("%Y-%m-%d %H:%M") if task.ended else ""
        raw = task.outcome or next((task.values[n] for n in outcome_names if task.values.get(n)), None) or ""
        outcome = OUTCOME_LABELS.get(raw, raw)
        comment = f"：{task.comment}" if task.comment else ""
        lines.append(f"{when} {task.group_label or '-'} {task.user or '?'} {outcome}{comment}")
    return "\n".join(lines) or NO_DECISIONS_YET


def signed_tasks(engine: EngineClient, process_instance_id: str, task_key: str,
                 since: str | None = None, value_names: Sequence[str] = SIGNATURE_VALUES) -> list[SignedTask]:
    """Finished tasks ``task_key`` of a process instance started at or after ``since``, oldest first.

    ``value_names`` are the form fields whose completion values are read (``decision`` and ``comment`` always
    are); a task whose form asks for more (a cost review's explanation, measure and due date) names them.
    """
    return signed_tasks_by_key(engine, process_instance_id, [task_key], since, value_names)[task_key]


# the variable types a form writes (numbers for its number fields); a value is read back as text
VALUE_TYPES = "string,null,json,integer,long,double,short,boolean"


def signed_tasks_by_key(engine: EngineClient, process_instance_id: str, task_keys: Sequence[str],
                        since: str | None = None,
                        value_names: Sequence[str] = SIGNATURE_VALUES) -> dict[str, list[SignedTask]]:
    """``signed_tasks`` for several task keys at once: the instance's completions and their values are read
    in one query each (a control step asks for the chain and the audit together), the candidate groups per task.
    """
    names = set(SIGNATURE_VALUES) | set(value_names)
    wanted = set(task_keys)
    rows = [row for row in engine.get("/history/task", processInstanceId=process_instance_id, finished="true",
                                      sortBy="startTime", sortOrder="asc") or []
            if row["taskDefinitionKey"] in wanted
            and not (since and _instant(row["startTime"]) < _instant(since))]
    found: dict[str, list[SignedTask]] = {key: [] for key in task_keys}
    if not rows:
        return found
    ids = {row["id"] for row in rows}
    operations: dict[str, list[dict[str, Any]]] = {}
    for op in engine.get("/history/user-operation", processInstanceId=process_instance_id,
                         operationType="Complete") or []:
        if op.get("taskId") in ids:
            operations.setdefault(op["taskId"], []).append(op)
    operation_ids = {op["operationId"] for ops in operations.values() for op in ops if op.get("operationId")}
    details: dict[str, list[dict[str, Any]]] = {}
    if operation_ids:
        for detail in engine.get("/history/detail", processInstanceId=process_instance_id, variableUpdates="true",
                                 deserializeValues="false", variableTypeIn=VALUE_TYPES, sortBy="occurrence",
                                 sortOrder="asc") or []:
            if detail.get("userOperationId") in operation_ids and detail.get("variableName") in names:
                details.setdefault(detail["userOperationId"], []).append(detail)
    for row in rows:
        found[row["taskDefinitionKey"]].append(_signed(engine, row, operations.get(row["id"], []), details))
    return found


def _signed(engine: EngineClient, row: dict[str, Any], operations: list[dict[str, Any]],
            details: dict[str, list[dict[str, Any]]]) -> SignedTask:
    task_id = row["id"]
    groups: set[str] = set()
    links = engine.get("/history/identity-link-log", taskId=task_id, type="candidate", sortBy="time",
                       sortOrder="asc") or []
    for link in links:
        if link.get("groupId"):
            if link.get("operationType") == "add":
                groups.add(link["groupId"])
            else:
                groups.discard(link["groupId"])
    completers = {op["userId"] for op in operations if op.get("userId")}
    user = next(iter(completers)) if len(completers) == 1 else row.get("assignee")
    # the values the completion itself wrote: the variable updates of the Complete operation. The same
    # operation also carries what the process did next (the next task's input mappings, often ``decision``
    # reset to null), so a value written in the task's own activity instance wins, else the first written.
    values: dict[str, Any] = {}
    own: set[str] = set()
    for operation_id in {op["operationId"] for op in operations if op.get("operationId")}:
        for detail in details.get(operation_id, []):
            name = detail["variableName"]
            if name in own:
                continue
            if row.get("activityInstanceId") and detail.get("activityInstanceId") == row["activityInstanceId"]:
                values[name] = detail.get("value")
                own.add(name)
            else:
                values.setdefault(name, detail.get("value"))
    return SignedTask(task_id=task_id, task_key=row["taskDefinitionKey"], groups=frozenset(groups), user=user,
                      assignee=row.get("assignee"), outcome=_text(values.get("decision")),
                      comment=_text(values.get("comment")), started=row["startTime"], ended=row.get("endTime"),
                      completed=row.get("deleteReason") == COMPLETED,
                      values={name: _text(value) for name, value in values.items()})


def completed_by(engine: EngineClient, process_instance_id: str, task_key: str) -> str | None:
    """The authenticated user who completed the latest ``task_key`` of the instance (the operation log),
    when only the person is wanted and not the values of a signature (two queries, not ``signed_tasks``)."""
    tasks = [row["id"] for row in engine.get("/history/task", processInstanceId=process_instance_id,
                                             taskDefinitionKey=task_key, finished="true", sortBy="endTime",
                                             sortOrder="desc") or [] if row.get("deleteReason") == COMPLETED]
    if not tasks:
        return None
    for op in engine.get("/history/user-operation", taskId=tasks[0], operationType="Complete") or []:
        if op.get("userId"):
            return str(op["userId"])
    return None


def chain_started(engine: EngineClient, process_instance_id: str, activity_id: str) -> str | None:
    """When the latest run of a multi-instance activity began (its approvals are the current round's)."""
    rows = engine.get("/history/activity-instance", processInstanceId=process_instance_id,
                      activityId=f"{activity_id}#multiInstanceBody", sortBy="startTime", sortOrder="desc") or []
    return rows[0]["startTime"] if rows else None


def members_of(engine: EngineClient) -> Callable[[str, str], bool]:
    """``is_member(user, group)`` from the engine's identity service, each user's groups asked once."""
    known: dict[str, set[str]] = {}

    def is_member(user: str, group: str) -> bool:
        if user not in known:
            known[user] = {str(g["id"]) for g in engine.get("/group", member=user) or []}
        return group in known[user]
    return is_member


def signed_as_member(user: str, group: str, ended: str | None, is_member: Callable[[str, str], bool]) -> bool:
    """Whether ``user`` belonged to ``group`` when she completed a task that ended at ``ended``.

    A department-scoped group (``dept-head.CARD``) is answered from the department role record for the day
    the task ended (a head whose period had ended does not count, whatever the engine's copy says); any other
    group by ``is_member`` (the engine's identity service).
    """
    if role_of_group(group) is not None:
        if ended is None:
            return False
        return bool(scoped_membership(user, group, _instant(ended).astimezone(HOSPITAL_TZ).date()))
    return is_member(user, group)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _instant(stamp: str) -> datetime:
    """The engine's ``2026-05-01T10:00:00.000+0800`` as an aware datetime."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%f%z")


engine_instant = _instant  # the same, for the other processes' adapters


# --------------------------------------------------------------------------------- the control step

DeputyCheck = Callable[[str, str, str | None], str | None]
"""``check(user, group, ended)``: None when a recorded delegation lets ``user`` sign for ``group`` at ``ended``,
else why not (see ``smartfin.processes.delegations.deputy_check``)."""


def chain_problems(chain: Sequence[ApprovalChainStep], approvals: Sequence[SignedTask], *, amount: Decimal,
                   excluded: Iterable[str], is_member: Callable[[str, str], bool],
                   consent: SignedTask | None = None, consent_group: str = "president",
                   consent_required: bool | None = None, deputies: DeputyCheck | None = None) -> list[str]:
    """Every reason the signatures do not satisfy the stored chain; an empty list means they do.

    Each stored step needs exactly one completed approval, in order, whose only candidate group is the
    step's, completed with ``approve`` by a member of that group; the signers are distinct and none is
    excluded (the requester, the starter). Over plan, the prior consent of a member of ``consent_group``
    is required as well (``consent_required`` says otherwise where the rules do: a claim over an advisory
    line has no consent step). Tasks that ended without completion (withdrawn, escalation) do not count.

    A signer outside the group counts only when ``deputies`` is given and says a delegation from a member of
    the group covered the signature when the task ended (授权代理); without it, only members sign.
    """
    problems: list[str] = []
    if not chain:
        return ["未确定审批链 / no approval chain was fixed for this document"]
    excluded = {user for user in excluded if user}
    if chain[0].amount != amount:
        problems.append(f"审批链按 ¥{format_yuan(chain[0].amount)} 确定，单据金额为 ¥{format_yuan(amount)} / "
                        f"the chain was routed for {format_yuan(chain[0].amount)}, the document says "
                        f"{format_yuan(amount)}")
    completed = [task for task in approvals if task.completed]
    if len(completed) != len(chain):
        problems.append(f"审批链 {len(chain)} 级，完成的审批 {len(completed)} 项 / the stored chain has "
                        f"{len(chain)} steps, {len(completed)} approvals were completed")
    signers: dict[str, int] = {}
    for position, step in enumerate(chain):
        label = f"第 {step.step} 级 {step.candidate_group} / step {step.step} ({step.candidate_group})"
        if position >= len(completed):
            problems.append(f"{label}: 无人签批 / nobody signed")
            continue
        task = completed[position]
        problems += [f"{label}: {reason}" for reason in
                     signature_problems(task, step.candidate_group, excluded, is_member, deputies)]
        if task.user:
            if task.user in signers:
                problems.append(f"{label}: {task.user} 已在第 {signers[task.user]} 级签批 / {task.user} already "
                                f"signed step {signers[task.user]}")
            signers.setdefault(task.user, step.step)
    if (not chain[0].within_plan) if consent_required is None else consent_required:
        if consent is None or not consent.completed:
            problems.append("超计划缺少单位负责人事先同意 / over plan without the unit head's prior consent")
        else:
            problems += [f"事先同意 / prior consent: {reason}" for reason in
                         signature_problems(consent, consent_group, excluded, is_member, deputies)]
    return problems


def signature_problems(task: SignedTask, group: str, excluded: set[str],
                       is_member: Callable[[str, str], bool], deputies: DeputyCheck | None = None,
                       outcome: str = APPROVE) -> list[str]:
    """Why ``task`` is not a valid signature for ``group`` (candidate group, authenticated member or a
    deputy ``deputies`` accepts, not excluded, the assignee herself, ``outcome``); empty when it is."""
    problems = []
    if task.groups != {group}:
        problems.append(f"任务候选组为 {task.group_label or '(无)'} / the task's candidate groups were "
                        f"{task.group_label or '(none)'}, not {group}")
    if not task.user:
        problems.append("无经认证的办理人 / no authenticated user completed it")
        return problems
    if task.assignee and task.assignee != task.user:
        problems.append(f"由 {task.user} 办理，但任务指派给 {task.assignee} / completed by {task.user} while "
                        f"assigned to {task.assignee}")
    if task.user in excluded:
        problems.append(f"{task.user} 是申请人 / {task.user} is the requester")
    if not signed_as_member(task.user, group, task.ended, is_member):
        why_not = "" if deputies is None else deputies(task.user, group, task.ended)
        if why_not is not None:
            problems.append(f"{task.user} 不属于 {group} / {task.user} is not a member of {group}"
                            + (f" ({why_not})" if why_not else ""))
    if task.outcome != outcome:
        problems.append(f"意见为 {task.outcome!r} / the decision was {task.outcome!r}, not {outcome}")
    return problems


SEND_BACK = "sendBack"


def send_back_problems(task: SignedTask | None, group: str, excluded: set[str],
                       is_member: Callable[[str, str], bool], deputies: DeputyCheck | None = None) -> list[str]:
    """Why ``task`` cannot stand as a send-back for revision (退回修改) of the step offered to ``group``.

    A send-back ends the round as surely as a rejection, so it needs what a signature needs — the step's
    group, an authenticated member (or covered deputy) who is not the requester — and a reason, which the
    requester is shown. Empty when it holds.
    """
    if task is None or not task.completed:
        return ["没有完成的退回记录 / the engine has no completed send-back"]
    problems = signature_problems(task, group, excluded, is_member, deputies, outcome=SEND_BACK)
    if not (task.comment or "").strip():
        problems.append("退回修改须说明理由 / a send-back needs a reason in the comment")
    return problems


RESUBMIT, WITHDRAW = "resubmit", "withdraw"


def revision_problems(task: SignedTask | None, requester: str, action_name: str = "revisionAction") -> list[str]:
    """Why a completed revision task cannot stand as the requester's resubmission or withdrawal (the
    requester of the record completed it, choosing one of the two in the form field ``action_name``)."""
    if task is None or not task.completed:
        return ["没有完成的修改记录 / the engine has no completed revision"]
    problems = []
    if task.user != requester:
        problems.append(f"修改由 {task.user or '(未认证)'} 提交，只有申请人 {requester} 可以重新提交或撤回 / "
                        f"the revision was completed by {task.user or '(unauthenticated)'}; only the requester "
                        f"{requester} may resubmit or withdraw")
    if task.values.get(action_name) not in (RESUBMIT, WITHDRAW):
        problems.append(f"处理方式为 {task.values.get(action_name)!r} / the action was "
                        f"{task.values.get(action_name)!r}, not {RESUBMIT} or {WITHDRAW}")
    return problems


def latest_revision(engine: EngineClient, process_instance_id: str, task_key: str, requester: str,
                    value_names: Sequence[str] = (), action_name: str = "revisionAction"
                    ) -> tuple[SignedTask | None, list[str]]:
    """The latest completed revision task of the instance, with the values its completion wrote (``value_names``
    and the action), and every reason it cannot stand as ``requester``'s answer (``revision_problems``)."""
    revisions = [task for task in signed_tasks(engine, process_instance_id, task_key,
                                               value_names=(*value_names, action_name)) if task.completed]
    task = revisions[-1] if revisions else None
    return task, revision_problems(task, requester, action_name=action_name)


def refuse_revision(document_type: str, document_no: str, task: SignedTask | None, problems: Sequence[str],
                    action: str = "revision-refused") -> str:
    """Audit a revision that does not hold (who completed it, why) and give the text the requester is shown
    when the revision task comes back; nothing else changes."""
    with session_scope() as session:
        record_audit(session, actor=task.user if task and task.user else "system", action=action,
                     subject_type=document_type, subject_id=document_no,
                     details={"task": task.task_id if task else None, "problems": list(problems)})
    return "\n".join(problems)


def record_withdrawal(session: Session, document_type: str, document_no: str, task: SignedTask,
                      action: str = "withdrawal-requested") -> None:
    """Keep the requester's withdrawal in the round it ends and audit it, once per task however often the
    engine delivers the step."""
    if not audited_for_task(session, document_type, document_no, action, task.task_id):
        record_answer(session, document_type, document_no, task, WITHDRAW)
        record_audit(session, actor=task.user or "system", action=action, subject_type=document_type,
                     subject_id=document_no, details={"task": task.task_id})


@dataclass(frozen=True)
class RequesterAnswer:
    """A requester's answer to a send-back as a worker meets it: the revision task read from the engine's
    history, the variables that hand the revision back to the requester, and — when the answer ends here (it
    does not hold, or it withdraws the document) — the reply to give the engine now."""

    task: SignedTask | None
    again: dict[str, Any]
    reply: dict[str, Any] | None


def requester_answer(engine: EngineClient, process_instance_id: str, task_key: str, requester: str,
                     value_names: Sequence[str], *, document_type: str, document_no: str, closing_reason: str,
                     requester_variable: str = "requester", audit_prefix: str = "") -> RequesterAnswer:
    """Read the requester's latest answer (``latest_revision``) and settle the two ways it ends at once: one
    that does not hold is refused and audited (``refuse_revision``) and goes back to the requester; a
    withdrawal is recorded once per task (``record_withdrawal``) and ends the document with
    ``closing_reason``. Otherwise ``reply`` is None and the caller goes on with the resubmission, using
    ``again`` to send an invalid one back. ``audit_prefix`` is the process's prefix of its audit actions."""
    task, problems = latest_revision(engine, process_instance_id, task_key, requester, value_names)
    again = {"revisionOutcome": "revise", requester_variable: requester}
    if problems:
        text = refuse_revision(document_type, document_no, task, problems, action=f"{audit_prefix}revision-refused")
        return RequesterAnswer(task, again, {**again, "revisionProblem": text})
    assert task is not None and task.user
    if task.values.get("revisionAction") == WITHDRAW:
        with session_scope() as session:
            record_withdrawal(session, document_type, document_no, task, action=f"{audit_prefix}withdrawal-requested")
        return RequesterAnswer(task, again, {"revisionOutcome": WITHDRAW, "closingReason": closing_reason})
    return RequesterAnswer(task, again, None)


def record_answer(session: Session, document_type: str, document_no: str, task: SignedTask, action: str) -> None:
    """Keep the requester's answer to a send-back in the round it ends, beside the approvers' decisions."""
    chain = current_chain(session, document_type, document_no)
    if chain:
        record_signed(session, document_type=document_type, document_no=document_no, round_no=chain[0].round,
                      chain=chain, approvals=[], others=[replace(task, outcome=action)])


#: how lists show a document a send-back returned to its requester: its status column stays ``submitted``
#: (it is still in flight — reserved, counted against its line and limits) until the requester answers
AWAITING_REVISION = "sent-back"


def shown_statuses(session: Session, document_type: str, statuses: dict[str, str], *, audit_prefix: str = "",
                   in_flight: str = "submitted") -> dict[str, str]:
    """Each document's status as lists show it: ``sent-back`` for an in-flight document whose latest accepted
    send-back in the audit log has no resubmission after it, the stored status otherwise. ``statuses`` maps
    document numbers to stored statuses; ``audit_prefix`` is the process's prefix of its audit actions (claims
    audit ``claim.sent-back``). A send-back the control refused is audited under another action and counts
    for nothing here."""
    shown = dict(statuses)
    open_ = [number for number, status in statuses.items() if status == in_flight]
    sent, answered = f"{audit_prefix}sent-back", f"{audit_prefix}resubmitted"
    latest: dict[str, str] = {}
    for start in range(0, len(open_), 500):  # the database's limit on bound values
        rows = session.exec(select(AuditEntry.subject_id, AuditEntry.action).where(
            AuditEntry.subject_type == document_type, col(AuditEntry.subject_id).in_(open_[start:start + 500]),
            col(AuditEntry.action).in_((sent, answered))).order_by(col(AuditEntry.id))).all()
        latest.update({number: action for number, action in rows})
    for number, action in latest.items():
        if action == sent:
            shown[number] = AWAITING_REVISION
    return shown


def audited_for_task(session: Session, document_type: str, document_no: str, action: str, task_id: str) -> bool:
    """Whether ``action`` is audited already for this task (the engine delivers a task at least once, so a
    step that audits and changes a record in one transaction asks this before doing it again)."""
    rows = session.exec(select(AuditEntry).where(AuditEntry.subject_type == document_type,
                                                 AuditEntry.subject_id == document_no,
                                                 AuditEntry.action == action)).all()
    return any(row.details_dict.get("task") == task_id for row in rows)


def round_signatures(approvals: Sequence[SignedTask]) -> list[SignedTask]:
    """The round's approval tasks that count as signatures: a send-back the control refused is not one."""
    return [task for task in approvals if task.outcome != SEND_BACK]


def record_signed(session: Session, *, document_type: str, document_no: str, round_no: int,
                  chain: Sequence[ApprovalChainStep], approvals: Sequence[SignedTask],
                  consent: SignedTask | None = None, others: Iterable[SignedTask] = ()) -> list[ApprovalDecision]:
    """Keep what the engine knows about each signed task; a task recorded before is left as it was.

    ``others`` are completed tasks outside the chain that a control also relies on (a finance audit).
    """
    groups = {step.step: step.candidate_group for step in chain}
    completed = [task for task in approvals if task.completed]
    entries: list[tuple[SignedTask, int | None]] = []
    for position, task in enumerate(completed, start=1):
        entries.append((task, position if groups.get(position) in task.groups else None))
    if consent is not None and consent.completed:
        entries.append((consent, None))
    entries += [(task, None) for task in others if task.completed]
    recorded = []
    for task, step in entries:
        row = session.exec(select(ApprovalDecision).where(ApprovalDecision.task_id == task.task_id)).first()
        if row is None:
            row = ApprovalDecision(document_type=document_type, document_no=document_no, round=round_no, step=step,
                                   task_id=task.task_id, task_key=task.task_key,
                                   candidate_group=task.group_label[:200], user_id=task.user,
                                   outcome=(task.outcome or "")[:20] or None,
                                   comment=(task.comment or "")[:1000] or None,
                                   decided_at=_instant(task.ended).astimezone(UTC) if task.ended else None)
            session.add(row)
        recorded.append(row)
    session.flush()
    return recorded


APPROVALS_INCOMPLETE = "APPROVALS_INCOMPLETE"


def audit_verification(session: Session, *, document_type: str, document_no: str,
                       chain: Sequence[ApprovalChainStep], approvals: Sequence[SignedTask], problems: Sequence[str],
                       **details: Any) -> None:
    """The control step's result in the audit log: what was checked, who signed, and every reason it failed."""
    record_audit(session, actor="system", action="approvals-incomplete" if problems else "approvals-verified",
                 subject_type=document_type, subject_id=document_no, details={
                     "round": chain[0].round if chain else None,
                     "chain": [step.candidate_group for step in chain],
                     "signed": [[t.group_label, t.user, t.outcome] for t in approvals if t.completed],
                     **details, "problems": list(problems)})


def refuse_if_broken(problems: Sequence[str],
                     closing: str = "审批链异常，已作废 / approval chain broken") -> None:
    """Any reason stops the control step with APPROVALS_INCOMPLETE: the reasons go to the finance officer's
    exception task (its description shows ``approvalProblems``; the engine keeps 4,000 characters there)
    and become the closing reason when the document is voided."""
    if problems:
        text = "\n".join(problems)
        raise BusinessError(APPROVALS_INCOMPLETE, text[:600], {
            "approvalProblems": text[:3000], "closingReason": f"{closing}: {text}"[:1000]})
