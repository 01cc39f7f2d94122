"""Worker adapters for the procurement-evaluation process: variables in, a rules or ledger call, typed out.

Every handler is idempotent because the engine delivers a task at least once: the proposal row is
updated under its number, ballots are stored once per member, ledger postings are answered with the
entry already posted, a review is stored once per review number.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from sqlmodel import select

from rules.equipment import evaluate, three_way_match, variance_report
from rules.procurement import (
    Ballot,
    CastBallot,
    ProcurementStandards,
    Vote,
    VotingRule,
    admissible_ballots,
    quorum_for,
    tally,
)
from smartfin.camunda.client import EngineClient, EngineError
from smartfin.camunda.runtime import BusinessError, Job, TopicRegistry
from smartfin.kernel.money import InvalidAmount, format_yuan, parse_amount, to_fen
from smartfin.ledger import (
    Bucket,
    BudgetError,
    BudgetExceeded,
    BudgetLineKey,
    InvalidBudgetKey,
    balances,
    check_budget,
    document_holdings,
    encumber,
    pre_encumber,
    release,
)
from smartfin.processes.approvals import (
    RESUBMIT,
    SEND_BACK,
    WITHDRAW,
    SignedTask,
    audit_verification,
    audited_for_task,
    chain_started,
    engine_instant,
    latest_revision,
    members_of,
    record_signed,
    refuse_if_broken,
    refuse_revision,
    send_back_problems,
    signature_problems,
    signed_tasks,
)
from smartfin.processes.documents import BudgetErrorCodes, budget_refusal, release_holdings
from smartfin.processes.procurement.proposals import (
    DOCUMENT_TYPE,
    REVISABLE_FIELDS,
    DocumentsInvalid,
    EquipmentProposalRecord,
    PostPurchaseReview,
    ProposalRefused,
    ProposalStatus,
    describe_problems,
    findings_text,
    get_proposal,
    match_document,
    months_spanned,
    next_proposal_no,
    parse_document_lines,
    procurement_settings,
    procurement_standards,
    proposal_of,
    record_proposal,
    record_votes,
    report_document,
    reviews_of,
    set_status,
    submitted_values,
    unreviewed_actuals,
    validate_submission,
    variance_document,
)
from smartfin.store.audit import AuditEntry, record_audit
from smartfin.store.db import session_scope

log = logging.getLogger(__name__)
registry = TopicRegistry()
# procurement-evaluation.bpmn catches one code for every budget refusal
BUDGET_ERRORS = BudgetErrorCodes(line_unavailable="BUDGET_UNAVAILABLE", exceeded="BUDGET_UNAVAILABLE")


def _proposal_no(job: Job) -> str:
    """The proposal of this process instance: by its business key, else the record that holds the instance.

    Never by the ``proposalNo`` variable: a copy naming another proposal, or a record of another instance,
    is refused (the task fails into an incident and nothing is touched).
    """
    with session_scope() as session:
        row = _own_record(session, job)
        if row is None:
            raise LookupError(f"proposal {job.business_key or job.process_instance_id!r} is not recorded (task "
                              f"{job.id})")
        return row.proposal_no


def _own_record(session: Any, job: Job) -> EquipmentProposalRecord | None:
    """This instance's recorded proposal, or None when nothing was recorded yet; refuses a foreign record."""
    if job.business_key:
        row = session.get(EquipmentProposalRecord, job.business_key)
    else:
        row = session.exec(select(EquipmentProposalRecord).where(
            EquipmentProposalRecord.process_instance_id == job.process_instance_id)).first()
    named = job.var("proposalNo", None)
    if named not in (None, "", job.business_key or (row.proposal_no if row else named)) or (
            row is not None and row.process_instance_id not in (None, job.process_instance_id)):
        raise LookupError(f"设备申请 {row.proposal_no if row else job.business_key} 与流程实例 "
                          f"{job.process_instance_id} 的记录不符 / proposal "
                          f"{row.proposal_no if row else job.business_key} (instance "
                          f"{row.process_instance_id if row else None}) does not belong to process instance "
                          f"{job.process_instance_id} (proposalNo copy {named!r}); refused")
    return row


# ---------------------------------------------------------------------------------------- evaluation


@registry.topic("evaluate-equipment")
def evaluate_equipment(job: Job) -> dict[str, Any]:
    """Check the proposal again (a Tasklist start bypasses the command line), then run the figures.

    Bad fields → PROPOSAL_INVALID naming each field (the proposer corrects them); a blocking policy
    finding such as debt-financed large equipment → POLICY_BLOCKED.
    """
    values = dict(job.variables)
    proposer = values.get("proposer") or values.get("initiator")
    with session_scope() as session:
        recorded = _own_record(session, job)
        if recorded is not None:  # once recorded, the proposer is the record's, whatever a variable says
            proposer = recorded.proposer
    values["proposer"] = proposer
    settings = procurement_settings()
    standards = procurement_standards(settings)
    try:
        with session_scope() as session:
            submission = validate_submission(values, standards, session=session)
    except ProposalRefused as refused:
        text = describe_problems(refused.problems)
        with session_scope() as session:
            row = _own_record(session, job)
            if row is not None:
                set_status(session, row.proposal_no, ProposalStatus.INVALID, text)
        raise BusinessError("PROPOSAL_INVALID", f"申请有误 / proposal invalid: {text}", {
            "proposalErrors": text, "proposalErrorFields": refused.fields, "proposer": proposer or "",
            "correctionAction": None}) from refused

    report = evaluate(submission.proposal, standards.evaluation, standards.policy)
    codes = {f.code for f in report.findings}
    document = report_document(report)
    with session_scope() as session:
        own = _own_record(session, job)
        # a Tasklist start has no business key: a first delivery recorded the instance (``own``), else a new number
        number = own.proposal_no if own else job.business_key or next_proposal_no(session)
        status = ProposalStatus.BLOCKED if report.blocked else ProposalStatus.EVALUATED
        record_proposal(session, number, submission, report, status=status,
                        process_instance_id=job.process_instance_id)
        record_audit(session, actor=submission.proposer, action="evaluated", subject_type=DOCUMENT_TYPE,
                     subject_id=number, details={"findings": sorted(codes), "blocked": report.blocked,
                                                 "totalInvestment": document["totalInvestment"]})
    variables: dict[str, Any] = {
        **report.as_variables(),
        "proposalNo": number,
        "proposer": submission.proposer,
        "fiscalYear": submission.fiscal_year,
        "economicCode": submission.economic_code,
        "costBenefit": document,
        "costBenefitSummary": report.summary,
        "findings": document["findings"],
        "findingsText": findings_text(report),
        "collectiveDecisionRequired": "COLLECTIVE_DECISION_REQUIRED" in codes,
        "postPurchaseReviewRequired": "POST_PURCHASE_REVIEW" in codes,
        "reviewInterval": job.var("reviewInterval", settings.review_interval or standards.review_interval),
        "reviewCount": submission.proposal.economic_life_years,
        "reviewsDone": 0,
        "proposalErrors": "",
    }
    if report.blocked:
        blocks = "; ".join(f["message"] for f in document["findings"] if f["severity"] == "block")
        raise BusinessError("POLICY_BLOCKED", f"按现方案不得购置 / purchase blocked: {blocks}", variables)
    return variables


# ----------------------------------------------------------------------------------------- committee


VOTE_TASK = "committeeVote"
# start or process variables that once set the committee; never read, only reported when present
FORGEABLE = ("committeeMembers", "committeeQuorum", "committeeMajorityPct")


def _engine(job: Job) -> EngineClient | None:
    return job.worker.engine if job.worker is not None else None


def group_members(engine: EngineClient | None, group: str, configured: list[str]) -> list[str]:
    """The members of the committee's engine group now, as the service account sees them.

    ``configured`` (``SMARTFIN_PROCUREMENT_COMMITTEE_MEMBERS``) is used only when the engine cannot list
    the group (no engine, no READ on users) or lists nobody. Never a process variable.
    """
    members: list[str] = []
    if engine is not None:
        try:
            users = engine.get("/user", memberOfGroup=group, sortBy="userId", sortOrder="asc")
            members = [str(u["id"]) for u in users or []]
        except EngineError as exc:
            log.warning("could not list the members of group %s: %s", group, exc)
    return list(dict.fromkeys(members or configured))


def proposers_of(session: Any, job: Job, number: str) -> set[str]:
    """Who may not vote: the proposer on record and the user the engine recorded as the starter."""
    barred = {get_proposal(session, number).proposer}
    engine = _engine(job)
    if engine is not None:
        started = engine.historic_process(job.process_instance_id).get("startUserId")
        if started:
            barred.add(str(started))
    return {b for b in barred if b}


def committee_members(job: Job, group: str, configured: list[str], barred: set[str]) -> list[str]:
    """The voters: the engine group's current members (else configuration), never the proposer."""
    return [m for m in group_members(_engine(job), group, configured) if m not in barred]


def committee_rule(members: int, standards: ProcurementStandards) -> VotingRule:
    """Quorum and majority from the dated standards only."""
    return VotingRule(members, quorum_for(members, standards.committee_quorum_pct), standards.committee_majority_pct)


def _committee(job: Job) -> tuple[str, set[str], list[str], VotingRule]:
    """The proposal's number, who may not vote, the members who vote and the rule in force today.

    Read afresh from the record, the engine's group and the dated standards each time (convening and
    tallying alike), never from the process variables.
    """
    settings = procurement_settings()
    number = _proposal_no(job)
    with session_scope() as session:
        barred = proposers_of(session, job, number)
    members = committee_members(job, settings.committee_group, settings.configured_members, barred)
    if not members:
        raise RuntimeError(
            f"no equipment committee members for {number}: grant the service account READ on users "
            f"(group {settings.committee_group}) or set SMARTFIN_PROCUREMENT_COMMITTEE_MEMBERS")
    return number, barred, members, committee_rule(len(members), procurement_standards(settings))


@registry.topic("convene-committee")
def convene_committee(job: Job) -> dict[str, Any]:
    """Decide who votes and by which rule; the counters start at zero for the completion condition.

    The variables written here are copies for the multi-instance vote and its completion condition; the
    tally reads membership, rule and ballots again from the engine and the standards.
    """
    number, _barred, members, rule = _committee(job)
    with session_scope() as session:
        ignored = {name: job.variables[name] for name in FORGEABLE if job.variables.get(name) is not None}
        if ignored:
            log.warning("proposal %s: ignored committee variables %s set outside the product", number,
                        sorted(ignored))
            record_audit(session, actor="system", action="committee-variables-ignored",
                         subject_type=DOCUMENT_TYPE, subject_id=number,
                         details={"ignored": {k: str(v)[:500] for k, v in ignored.items()},
                                  "members": members, "quorum": rule.quorum,
                                  "majorityPct": str(rule.majority_pct)})
    return {"committeeMembers": members, "committeeQuorum": rule.quorum,
            "committeeMajorityPct": str(rule.majority_pct), "approveVotes": 0, "rejectVotes": 0,
            "abstainVotes": 0, "sendBackVotes": 0}


def _history_value(engine: EngineClient, activity_instance_id: str, name: str) -> Any:
    found = engine.get("/history/variable-instance", activityInstanceIdIn=activity_instance_id,
                       variableName=name, deserializeValues="false")
    return found[0].get("value") if found else None


def cast_ballots(engine: EngineClient, process_instance_id: str) -> list[CastBallot]:
    """Every completed vote task of the instance's latest vote from the engine's history: who completed it,
    and how. A proposal sent back and resubmitted is voted on afresh: earlier votes' ballots do not count.

    The voter is the task's assignee at completion and the authenticated user of the completion in the
    engine's operation log; the vote and reason are the values the task's own scope held when it ended.
    Tasks the engine ended itself (the vote was decided before every member voted) are no ballots.
    """
    tasks = engine.get("/history/task", processInstanceId=process_instance_id, taskDefinitionKey=VOTE_TASK,
                       finished="true", sortBy="endTime", sortOrder="asc")
    since = chain_started(engine, process_instance_id, VOTE_TASK)
    ballots = []
    for task in tasks or []:
        if task.get("deleteReason") != "completed":
            continue
        if since and engine_instant(task["startTime"]) < engine_instant(since):
            continue
        operations = engine.get("/history/user-operation", taskId=task["id"], operationType="Complete")
        completers = {str(op["userId"]) for op in operations or [] if op.get("userId")}
        completed_by = completers.pop() if len(completers) == 1 else ("?" if completers else None)
        scope = task.get("activityInstanceId") or ""
        ballots.append(CastBallot(
            task_id=str(task["id"]), assignee=task.get("assignee"), completed_by=completed_by,
            vote=Vote.of(_history_value(engine, scope, "decision")),
            comment=str(_history_value(engine, scope, "comment") or ""), time=str(task.get("endTime") or "")))
    return ballots


@registry.topic("tally-votes")
def tally_votes(job: Job) -> dict[str, Any]:
    """Count the ballots from the engine's history against the committee as it stands now.

    Membership is the engine group at tally time (else configuration), the rule is the standards' in
    force today, and a ballot counts only when a current member other than the proposer completed their
    own vote task. Process variables (members, quorum, majority, the decision trail) are never read.
    """
    engine = _engine(job)
    if engine is None:
        raise RuntimeError("the committee's ballots are read from the engine's history; no engine is available")
    number, barred, members, rule = _committee(job)
    cast = cast_ballots(engine, job.process_instance_id)
    counted, refused = admissible_ballots(cast, members, barred)
    result = tally(counted, rule)
    counters = (job.var("approveVotes", 0), job.var("rejectVotes", 0), job.var("abstainVotes", 0))
    if counters != (result.approve, result.reject, result.abstain):
        log.warning("proposal %s: vote counters %s differ from the engine's history %s; the history counts",
                    number, counters, (result.approve, result.reject, result.abstain))
    sent_back: dict[str, Any] = {}
    with session_scope() as session:
        record_votes(session, number, result)
        record_signed(session, document_type=DOCUMENT_TYPE, document_no=number,
                      round_no=proposal_round(session, number), chain=[], approvals=[],
                      others=ballot_decisions(cast, result.ballots, procurement_settings().committee_group))
        if result.sent_back:
            sent_back = _committee_sent_back(session, job, number, result.send_back_reasons)
        record_audit(session, actor="equipment-committee", action=f"committee-{result.outcome}",
                     subject_type=DOCUMENT_TYPE, subject_id=number,
                     details={"summary": result.summary, "members": members,
                              "ballots": [{"member": b.member, "vote": b.vote.value, "comment": b.comment,
                                           "time": b.time} for b in result.ballots],
                              "refused": [{"task": r.task_id, "user": r.user, "vote": r.vote.value,
                                           "reason": r.reason} for r in refused]})
    return {**sent_back, "committeeOutcome": result.outcome, "committeeSummary": result.summary,
            "committeeVotes": [{"member": b.member, "vote": b.vote.value, "comment": b.comment, "time": b.time}
                               for b in result.ballots],
            "committeeDissent": [{"member": b.member, "vote": b.vote.value, "comment": b.comment}
                                 for b in result.dissent],
            "committeeRefusedBallots": [{"user": r.user, "reason": r.reason} for r in refused]}


def ballot_decisions(cast: list[CastBallot], counted: tuple[Ballot, ...], group: str) -> list[SignedTask]:
    """The ballots that counted, as decisions kept with the round's others in ``approval_decision``."""
    tasks = {((c.completed_by or c.assignee or ""), c.time): c for c in cast}
    found = []
    for ballot in counted:
        task = tasks.get((ballot.member, ballot.time))
        if task is not None:
            found.append(SignedTask(task_id=task.task_id, task_key=VOTE_TASK, groups=frozenset({group}),
                                    user=ballot.member, assignee=task.assignee, outcome=ballot.vote.value,
                                    comment=ballot.comment, started="", ended=ballot.time or None, completed=True))
    return found


def _committee_sent_back(session: Any, job: Job, number: str, reasons: tuple[str, ...]) -> dict[str, Any]:
    """The committee sent the proposal back (more send-back votes than reject votes, none approving enough):
    the proposer of the record gets the revision task with every member's reason (audit ``sent-back``)."""
    row = set_status(session, number, ProposalStatus.SENT_BACK)
    reason = "\n".join(reasons)[:1000]
    round_no = proposal_round(session, number)
    told = session.exec(select(AuditEntry).where(AuditEntry.subject_type == DOCUMENT_TYPE,
                                                 AuditEntry.subject_id == number,
                                                 AuditEntry.action == "sent-back")).all()
    if not any(e.details_dict.get("round") == round_no and e.details_dict.get("step") == VOTE_TASK for e in told):
        record_audit(session, actor="equipment-committee", action="sent-back", subject_type=DOCUMENT_TYPE,
                     subject_id=number, details={"reason": reason, "round": round_no, "step": VOTE_TASK,
                                                 "group": "equipment-committee", "task": job.id})
    return {"sendBackReason": reason, "proposer": row.proposer, "proposalErrors": "", "revisionProblem": ""}


# ------------------------------------------------------------------------------------------ send back


def proposal_round(session: Any, number: str) -> int:
    """Which round of decisions the proposal is in: one more than the resubmissions accepted so far."""
    resubmitted = session.exec(select(AuditEntry).where(AuditEntry.subject_type == DOCUMENT_TYPE,
                                                        AuditEntry.subject_id == number,
                                                        AuditEntry.action == "resubmitted")).all()
    return 1 + len(resubmitted)


def round_started(engine: EngineClient, process_instance_id: str) -> str | None:
    """When the latest evaluation of the proposal began: the decisions of the current round come after it."""
    rows = engine.get("/history/activity-instance", processInstanceId=process_instance_id,
                      activityId=EVALUATION_ACTIVITY, sortBy="startTime", sortOrder="desc") or []
    return rows[0]["startTime"] if rows else None


EVALUATION_ACTIVITY = "evaluateEquipment"
REVISION_TASK = "correctProposal"
#: the service task verifying a send-back → the decision it verifies (task, group)
SEND_BACK_STEPS = {"budgetSendBack": ("budgetCommitteeReview", "budget-committee"),
                   "presidentSendBack": ("presidentOfficeMeeting", "president"),
                   "partySendBack": ("partyCommitteeMeeting", "party-committee")}


@registry.topic("send-back-proposal")
def send_back_proposal(job: Job) -> dict[str, Any]:
    """The budget committee, the president's office meeting or the Party committee sent the proposal back for
    revision (退回修改): check the send-back against the engine's history before anything moves.

    Which decision it was is the engine's own record of the job (the activity it belongs to); the decision
    task is the latest of the current round. It holds when it is what a signature of that step needs — the
    step's group, completed by an authenticated member, not the proposer or the starter — with ``sendBack``
    and a reason. Else SEND_BACK_REFUSED (audited): the same step is asked again and the task says why.
    When it holds, the decision is kept with the round's, the proposer of the record gets the revision task
    with the reason (audit ``sent-back``); the reservation stays until the proposer resubmits or withdraws.
    """
    engine = _engine(job)
    if engine is None or job.activity_id not in SEND_BACK_STEPS:
        raise RuntimeError(f"send-back-proposal runs only at {sorted(SEND_BACK_STEPS)} with an engine, not "
                           f"{job.activity_id!r}")
    task_key, group = SEND_BACK_STEPS[job.activity_id]
    number = _proposal_no(job)
    with session_scope() as session:
        barred = proposers_of(session, job, number)
        round_no = proposal_round(session, number)
    done = [t for t in signed_tasks(engine, job.process_instance_id, task_key,
                                    round_started(engine, job.process_instance_id)) if t.completed]
    task = done[-1] if done and done[-1].outcome == SEND_BACK else None
    problems = send_back_problems(task, group, barred, members_of(engine))
    if problems:
        text = "\n".join(problems)
        with session_scope() as session:
            record_audit(session, actor=task.user if task and task.user else "system", action="send-back-refused",
                         subject_type=DOCUMENT_TYPE, subject_id=number,
                         details={"task": task.task_id if task else None, "step": task_key, "problems": problems})
        raise BusinessError("SEND_BACK_REFUSED", f"退回未被接受 / send-back refused: {text}"[:600])
    assert task is not None and task.user
    reason = (task.comment or "").strip()[:1000]
    with session_scope() as session:
        record_signed(session, document_type=DOCUMENT_TYPE, document_no=number, round_no=round_no, chain=[],
                      approvals=[], others=[task])
        row = set_status(session, number, ProposalStatus.SENT_BACK)
        if not audited_for_task(session, DOCUMENT_TYPE, number, "sent-back", task.task_id):
            record_audit(session, actor=task.user, action="sent-back", subject_type=DOCUMENT_TYPE, subject_id=number,
                         details={"reason": reason, "round": round_no, "step": task_key, "group": group,
                                  "task": task.task_id})
        proposer = row.proposer
    log.info("proposal %s sent back by %s at %s", number, task.user, task_key)
    return {"sendBackReason": reason, "sendBackProblem": "", "revisionProblem": "", "proposalErrors": "",
            "proposer": proposer}


def _refused_revision(job: Job, number: str | None, task: SignedTask | None, proposer: str,
                      problems: list[str]) -> dict[str, Any]:
    text = refuse_revision(DOCUMENT_TYPE, number or job.process_instance_id, task, problems)
    return {"revisionOutcome": "revise", "revisionProblem": text, "proposer": proposer}


@registry.topic("check-proposal-revision")
def check_proposal_revision(job: Job) -> dict[str, Any]:
    """The proposer's answer to a correction or a send-back, from the engine's history of the revision task.

    Only the proposer of the record (before anything was recorded: the proposer the evaluation named) may
    resubmit or withdraw; a revision completed by anyone else goes back to the proposer with the reason and
    changes nothing (audit ``revision-refused``). Withdraw closes the proposal (the reservation is released
    on the way out). A resubmission of a recorded proposal is validated like the intake
    (``validate_submission``: the proposal's stored values with the revisable fields the form carried,
    the proposer always the record's) and may not move a reservation to another budget line; when it holds
    it starts a new round (audit ``resubmitted`` with each change): evaluation, committee, reservation and
    decisions again, the collective-decision need recomputed from the new figures.
    """
    engine = _engine(job)
    if engine is None:
        raise RuntimeError("a revision is read from the engine's history; no engine is available")
    with session_scope() as session:
        row = _own_record(session, job)
        if row is not None:
            session.expunge(row)
    proposer = row.proposer if row is not None else str(job.var("proposer", None) or job.var("initiator", ""))
    number = row.proposal_no if row is not None else job.business_key
    task, problems = latest_revision(engine, job.process_instance_id, REVISION_TASK, proposer, REVISABLE_FIELDS,
                                     action_name="correctionAction")
    if problems:
        return _refused_revision(job, number, task, proposer, problems)
    assert task is not None and task.user
    action = task.values.get("correctionAction")
    if row is None:  # nothing recorded yet: the evaluation validates and records the corrected proposal
        return {"revisionOutcome": action, "revisionProblem": "", "proposer": proposer,
                **({"closingReason": "申请人撤回 / withdrawn by the proposer"} if action == WITHDRAW else {})}
    with session_scope() as session:
        round_no = proposal_round(session, row.proposal_no)
        if action == WITHDRAW:
            record_signed(session, document_type=DOCUMENT_TYPE, document_no=row.proposal_no, round_no=round_no,
                          chain=[], approvals=[], others=[_answer(task, WITHDRAW)])
            if not audited_for_task(session, DOCUMENT_TYPE, row.proposal_no, "withdrawal-requested", task.task_id):
                record_audit(session, actor=task.user, action="withdrawal-requested", subject_type=DOCUMENT_TYPE,
                             subject_id=row.proposal_no, details={"task": task.task_id, "round": round_no})
            return {"revisionOutcome": WITHDRAW, "revisionProblem": "", "proposer": proposer,
                    "closingReason": "申请人撤回 / withdrawn by the proposer"}
    # what the completion itself wrote, from the engine's history (not the variables, which anyone on the
    # instance could have rewritten since); a field it did not carry keeps the recorded value
    edited = {name: value for name, value in task.values.items() if name in REVISABLE_FIELDS}
    values = {**row.values, **edited, "proposer": row.proposer}
    try:
        with session_scope() as session:
            submission = validate_submission(values, session=session)
            held = document_holdings(session, DOCUMENT_TYPE, row.proposal_no)
    except ProposalRefused as refused:
        text = describe_problems(refused.problems)
        result = _refused_revision(job, row.proposal_no, task, proposer, [text])
        return {**result, "proposalErrors": text, "proposalErrorFields": refused.fields}
    try:
        new_key: BudgetLineKey | None = submission.budget_key
    except (InvalidBudgetKey, ValueError):
        new_key = None
    if held.total and held.key is not None and new_key != held.key:
        text = describe_problems([("department", (
            f"已在预算行 {held.key} 预占 ¥{format_yuan(held.total)}，修改不得更换预算行，请撤回后重新申请 / "
            f"¥{format_yuan(held.total)} is reserved on line {held.key}: a revision cannot move it to "
            f"{new_key}; withdraw and propose anew"))])
        result = _refused_revision(job, row.proposal_no, task, proposer, [text])
        return {**result, "proposalErrors": text, "proposalErrorFields": ["department"]}
    before = row.values
    changes = {name: [before.get(name), value] for name, value in submission.values.items()
               if before.get(name) != value and name != "proposer"}
    with session_scope() as session:
        record_signed(session, document_type=DOCUMENT_TYPE, document_no=row.proposal_no, round_no=round_no,
                      chain=[], approvals=[], others=[_answer(task, RESUBMIT)])
        if not audited_for_task(session, DOCUMENT_TYPE, row.proposal_no, "resubmitted", task.task_id):
            record_audit(session, actor=task.user, action="resubmitted", subject_type=DOCUMENT_TYPE,
                         subject_id=row.proposal_no, details={"task": task.task_id, "round": round_no + 1,
                                                              "changes": changes})
    # the validated values replace whatever the variables held: the evaluation reads these
    return {**submitted_values(submission.values), "proposer": row.proposer, "revisionOutcome": RESUBMIT,
            "revisionProblem": "", "sendBackReason": "", "proposalErrors": ""}


def _answer(task: SignedTask, action: str) -> SignedTask:
    """The proposer's revision as a recorded decision (its outcome is the action chosen)."""
    return replace(task, outcome=action)


# -------------------------------------------------------------------------------------------- budget


@registry.topic("pre-encumber-proposal")
def pre_encumber_proposal(job: Job) -> dict[str, Any]:
    """Reserve the total investment on the department's equipment line before the budget committee sits."""
    number = _proposal_no(job)
    with session_scope() as session:
        row = get_proposal(session, number)
        replaced = document_holdings(session, DOCUMENT_TYPE, number)[Bucket.PRE_ENCUMBRANCE]
        try:
            key = row.budget_key
            if replaced and replaced != row.total_investment:
                # a resubmitted proposal with new figures: the earlier reservation is given back and the new
                # one made in this one transaction, under the line's lock — never both held
                release(session, document_type=DOCUMENT_TYPE, document_no=number, bucket=Bucket.PRE_ENCUMBRANCE,
                        actor="equipment-committee", reason=f"resubmitted: {format_yuan(replaced)} replaced by "
                                                            f"{format_yuan(row.total_investment)}")
            check = check_budget(session, key, row.total_investment)
            entry = pre_encumber(session, key, row.total_investment, document_type=DOCUMENT_TYPE,
                                 document_no=number, actor="equipment-committee",
                                 reason="equipment committee approved")
        except (BudgetError, ValueError) as exc:
            code, message = budget_refusal(exc, BUDGET_ERRORS)
            raise BusinessError(code, message, {"budgetMessage": message}) from exc
        set_status(session, number, ProposalStatus.RESERVED)
        after = balances(session, key)
        record_audit(session, actor="equipment-committee", action="pre-encumbered", subject_type=DOCUMENT_TYPE,
                     subject_id=number, details={"journalEntry": entry.id, "amount": format_yuan(row.total_investment),
                                                 "line": str(key), "replaced": format_yuan(replaced)})
    return {"budgetLine": str(key), "reservedAmount": format_yuan(row.total_investment),
            "budgetMessage": check.message, "budgetAvailable": format_yuan(after.available),
            "preEncumbranceEntry": entry.id}


COLLECTIVE_FINDING = "COLLECTIVE_DECISION_REQUIRED"
#: the decisions every contract needs, then those a collective decision (三重一大) adds: (task, group)
BUDGET_DECISION = ("budgetCommitteeReview", "budget-committee")
COLLECTIVE_DECISIONS = (("presidentOfficeMeeting", "president"), ("partyCommitteeMeeting", "party-committee"))
CONTRACT_TASK, CONTRACT_GROUP = "signContract", "finance-officer"


def collective_decision_required(row: EquipmentProposalRecord) -> bool:
    """From the evaluation on record (never the ``collectiveDecisionRequired`` variable)."""
    findings = json.loads(row.report_json or "{}").get("findings") or []
    return any(finding.get("code") == COLLECTIVE_FINDING for finding in findings)


def decision_problems(job: Job, row: EquipmentProposalRecord, barred: set[str]) -> tuple[list[str], list[SignedTask]]:
    """The control step before the contract encumbers the budget: every decision the rules require, from
    the engine's history, of the current round only (since the latest evaluation).

    The committee's tally on record approved; the budget committee's review, and for a proposal the
    evaluation found above the collective-decision line the president's office meeting and the party
    committee, each last completed with ``approve`` by an authenticated member of its group; the contract
    recorded by a finance officer; none of them the proposer or the starter. Returns the reasons and the
    tasks that were read.
    """
    engine = _engine(job)
    if engine is None:
        return ["无法读取引擎历史 / the engine's history cannot be read"], []
    problems = []
    if row.committee_outcome != Vote.APPROVE.value:
        problems.append(f"设备论证委员会未通过（记录为 {row.committee_outcome!r}） / the equipment committee's "
                        f"recorded outcome is {row.committee_outcome!r}, not approve")
    required = [BUDGET_DECISION, *(COLLECTIVE_DECISIONS if collective_decision_required(row) else ())]
    is_member = members_of(engine)
    read: list[SignedTask] = []
    # only the current round counts: a decision taken before the proposal was sent back and resubmitted
    # was taken on other figures
    since = round_started(engine, job.process_instance_id)
    for task_key, group in required:
        done = [task for task in signed_tasks(engine, job.process_instance_id, task_key, since) if task.completed]
        if not done:
            problems.append(f"{task_key} ({group}): 无决策记录 / no completed decision")
            continue
        read.append(done[-1])
        problems += [f"{task_key} ({group}): {reason}" for reason in
                     signature_problems(done[-1], group, barred, is_member)]
    contracts = [task for task in signed_tasks(engine, job.process_instance_id, CONTRACT_TASK) if task.completed]
    if not contracts:
        problems.append(f"{CONTRACT_TASK}: 无合同登记记录 / no recorded contract registration")
    else:
        read.append(contracts[-1])
        # the registration's form has no approve/reject: everything but the outcome is checked
        problems += [f"{CONTRACT_TASK} ({CONTRACT_GROUP}): {reason}" for reason in
                     signature_problems(contracts[-1], CONTRACT_GROUP, barred, is_member) if "decision" not in reason]
    return problems, read


@registry.topic("encumber-contract")
def encumber_contract(job: Job) -> dict[str, Any]:
    """Contract signed: move the reservation to an encumbrance under the contract number.

    A contract above the approved amount needs a new approval (CONTRACT_EXCEEDS_APPROVAL); a cheaper
    contract gives the difference back to the line. Before anything moves, the control step
    (``decision_problems``) checks the required decisions in the engine's history (APPROVALS_INCOMPLETE).
    """
    number = _proposal_no(job)
    contract_no = str(job.var("contractNo", "")).strip()
    try:
        amount = parse_amount(job.var("contractAmount", None), field="contractAmount")
    except InvalidAmount as exc:
        raise BusinessError("CONTRACT_EXCEEDS_APPROVAL", f"合同金额无效 / contractAmount {exc.reason}",
                            {"contractProblem": f"contractAmount: {exc.reason}"}) from exc
    if not contract_no:
        raise BusinessError("CONTRACT_EXCEEDS_APPROVAL", "合同编号必填 / contractNo is required",
                            {"contractProblem": "contractNo: 必填 / is required"})
    with session_scope() as session:
        barred = proposers_of(session, job, number)
        row = get_proposal(session, number)
        session.expunge(row)
    approved = row.total_investment
    if amount > approved:  # back to the registration before anything is checked or moved
        problem = (f"合同金额 ¥{amount:,.2f} 超出批准金额 ¥{approved:,.2f}，须重新审批 / contract amount "
                   f"{amount} exceeds the approved {approved}; a new approval is needed")
        raise BusinessError("CONTRACT_EXCEEDS_APPROVAL", problem, {"contractProblem": problem})
    problems, read = decision_problems(job, row, barred)
    signer = read[-1].user if read and read[-1].task_key == CONTRACT_TASK and read[-1].user else "system"
    with session_scope() as session:
        record_signed(session, document_type=DOCUMENT_TYPE, document_no=number,
                      round_no=proposal_round(session, number), chain=[], approvals=[], others=read)
        audit_verification(session, document_type=DOCUMENT_TYPE, document_no=number, chain=[], approvals=[],
                           problems=problems, decisions=[[t.task_key, t.group_label, t.user, t.outcome] for t in read])
    refuse_if_broken(problems, "决策记录异常，已作废 / required decisions missing or invalid")
    with session_scope() as session:
        held = document_holdings(session, DOCUMENT_TYPE, number)
        try:
            entry = encumber(session, document_type=DOCUMENT_TYPE, document_no=number, actor=signer,
                             amount=amount, contract_no=contract_no, reason=f"contract {contract_no} signed")
        except BudgetExceeded as exc:
            raise BusinessError("CONTRACT_EXCEEDS_APPROVAL", exc.message, {"contractProblem": exc.message}) from exc
        set_status(session, number, ProposalStatus.CONTRACTED, contract_no=contract_no,
                   contract_amount_fen=to_fen(amount), president_minutes=job.var("presidentMinutesRef", None),
                   party_minutes=job.var("partyMinutesRef", None))
        record_audit(session, actor=signer, action="contract-encumbered", subject_type=DOCUMENT_TYPE,
                     subject_id=number, details={"contractNo": contract_no, "amount": format_yuan(amount),
                                                 "released": format_yuan(held[Bucket.PRE_ENCUMBRANCE] - amount),
                                                 "journalEntry": entry.id})
    return {"encumbranceEntry": entry.id, "encumberedAmount": format_yuan(amount), "contractProblem": ""}


@registry.topic("release-proposal")
def release_proposal(job: Job) -> dict[str, Any]:
    """Close a proposal that will not be bought: give back every reservation and record why."""
    outcome = str(job.var("outcome"))
    reason = job.var("closingReason", None) or _closing_reason(job, outcome)
    with session_scope() as session:
        own = _own_record(session, job)
        number = own.proposal_no if own else job.business_key
        if own is None:
            # Withdrawn before any evaluation succeeded: nothing was stored or reserved.
            record_audit(session, actor=str(job.var("proposer", None) or job.var("initiator", "system")),
                         action=f"closed-{outcome}", subject_type=DOCUMENT_TYPE,
                         subject_id=number or job.process_instance_id, details={"reason": reason})
            return {"proposalStatus": outcome, "releasedAmount": "0.00"}
        released = release_holdings(session, DOCUMENT_TYPE, number, f"proposal {outcome}")
        set_status(session, number, outcome, reason, president_minutes=job.var("presidentMinutesRef", None),
                   party_minutes=job.var("partyMinutesRef", None))
        record_audit(session, actor="system", action=f"closed-{outcome}", subject_type=DOCUMENT_TYPE,
                     subject_id=number, details={"reason": reason, "released": format_yuan(released),
                                                 "decisions": job.var("decisions", [])})
    return {"proposalStatus": outcome, "releasedAmount": format_yuan(released)}


def _closing_reason(job: Job, outcome: str) -> str:
    if outcome == "rejected":
        if job.var("committeeOutcome", None) == "reject":
            return str(job.var("committeeSummary", "equipment committee rejected"))
        last = next((d for d in reversed(job.var("decisions", [])) if d.get("outcome") == "reject"), None)
        if last:
            return f"{last.get('taskName')}: {last.get('user')} — {last.get('comment') or ''}".strip(" —")
    return outcome


# ---------------------------------------------------------------------------------------- after purchase


@registry.topic("match-purchase")
def match_purchase(job: Job) -> dict[str, Any]:
    """Purchase order ↔ goods receipt ↔ invoice within the configured tolerance; a mismatch is routed
    to the exception task, never paid silently."""
    number = _proposal_no(job)
    try:
        po = parse_document_lines("purchaseOrder", job.var("purchaseOrder"))
        receipt = parse_document_lines("goodsReceipt", job.var("goodsReceipt"), amount_required=False)
        invoice = parse_document_lines("invoice", job.var("invoice"))
    except DocumentsInvalid as exc:
        # the command line checks documents before sending them; anything else is a caller's bug
        raise ValueError(f"purchase documents of {number} are malformed: {exc}") from exc
    tolerance = procurement_standards(procurement_settings()).match_tolerance
    result = three_way_match(po, receipt, invoice, tolerance)
    document = match_document(result)
    outcome = "mismatch" if result.exception_needed else "matched"
    with session_scope() as session:
        fields: dict[str, Any] = {"match_json": json.dumps(document, ensure_ascii=False)}
        row = get_proposal(session, number)
        set_status(session, number, ProposalStatus.DELIVERED if outcome == "matched" else row.status, **fields)
        record_audit(session, actor="system", action=f"three-way-{outcome}", subject_type=DOCUMENT_TYPE,
                     subject_id=number, details=document)
    lines = "\n".join(f"{line['itemCode']}: {line['statusText']} {line['reason']}".rstrip()
                      for line in document["lines"])
    return {"matchOutcome": outcome, "matchSummary": result.summary, "matchResult": document,
            "matchText": lines}


@registry.topic("review-post-purchase")
def review_post_purchase(job: Job) -> dict[str, Any]:
    """The yearly review: actuals imported from HIS since the last review against the pro-rated forecast."""
    number = _proposal_no(job)
    review_no = int(job.var("reviewsDone", 0)) + 1
    with session_scope() as session:
        row = get_proposal(session, number)
        stored = next((r for r in reviews_of(session, number) if r.review_no == review_no), None)
        if stored is None:
            actuals = unreviewed_actuals(session, number)
            if not actuals:
                message = (f"尚未导入 {row.device_name}（收费编码 {row.charge_codes}）上次评价后的 HIS 收费数据 / "
                           f"no HIS charges imported for {number} since the last review")
                raise BusinessError("HIS_EXPORT_MISSING", message, {"hisMessage": message,
                                                                    "chargeCodes": row.charge_codes})
            proposal = proposal_of(row.values)
            periods = sorted({a.period for a in actuals})
            report = variance_report(proposal, actuals, months=months_spanned(periods))
            stored = PostPurchaseReview(proposal_no=number, review_no=review_no, first_period=periods[0],
                                        last_period=periods[-1], months=report.months,
                                        report_json=json.dumps(variance_document(report, review_no),
                                                               ensure_ascii=False),
                                        summary=report.summary[:2000])
            session.add(stored)
            record_audit(session, actor="system", action="post-purchase-reviewed", subject_type=DOCUMENT_TYPE,
                         subject_id=number, details={"reviewNo": review_no, "summary": report.summary})
        document = stored.report
    return {"reviewNo": review_no, "reviewsDone": review_no, "varianceReport": document,
            "varianceSummary": f"{document['summaryZh']}\n{document['summaryEn']}", "varianceTable": document["text"]}
