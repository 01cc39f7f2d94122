"""``smartfin departments``: import the department master data (科室主数据) and list the departments in force;
``smartfin departments roles``: who heads each department (科室负责人), the record the scoped approval groups
(``dept-head.CARD``) follow."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from smartfin.app.progress import working
from smartfin.camunda.client import EngineClient, EngineError
from smartfin.camunda.tasklist_filters import admin_client
from smartfin.kernel.clock import hospital_today
from smartfin.kernel.exits import ExitCode
from smartfin.kernel.jsontext import to_json
from smartfin.kernel.settings import get_settings
from smartfin.ledger import Department, import_departments
from smartfin.ledger.department_roles import department_roles, import_department_roles
from smartfin.ledger.departments import departments_on
from smartfin.ledger.staff import import_staff_grades, staff_grades
from smartfin.processes.department_groups import RoleGroupSync, sync_department_groups
from smartfin.store.db import session_scope

departments_app = typer.Typer(no_args_is_help=True, help="Department master data (科室主数据).")
roles_app = typer.Typer(no_args_is_help=True, help="Department roles (科室负责人) in dated periods; they decide "
                                                   "who sees and signs a department's dept-head steps.")
departments_app.add_typer(roles_app, name="roles")


def register(app: typer.Typer) -> None:
    """Add the ``departments`` and ``staff`` command groups (master data) to the ``smartfin`` CLI."""
    app.add_typer(departments_app, name="departments")
    app.add_typer(staff_app, name="staff")


@departments_app.command("import")
def import_command(path: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx")],
                   actor: Annotated[str, typer.Option(help="who imports")] = "finance") -> None:
    """Import department versions; a file with any bad row changes nothing and every bad row is listed."""
    report = _imported(path, lambda session: import_departments(session, path, actor=actor))
    typer.echo(f"{report.source}: {report.rows} rows, {report.opened} versions opened, {report.closed} closed, "
               f"{report.unchanged} unchanged")


def _imported(path: Path, run: Callable[[Any], Any]) -> Any:
    """Run one master-data import of ``path`` in one transaction; a missing file or any bad row is refused
    (exit 3) with every problem listed and nothing imported."""
    if not path.exists():
        typer.secho(f"error: {path}: no such file", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED)
    with working(f"导入 Importing {path.name}"), session_scope() as session:
        report = run(session)
    if not report.ok:
        typer.secho(f"{len(report.errors)} problems; nothing was imported:", fg=typer.colors.RED, err=True)
        for issue in report.errors:
            typer.echo(f"  row {issue.row}, column {issue.column}: {issue.reason}", err=True)
        raise typer.Exit(ExitCode.REFUSED)
    return report


@departments_app.command("list")
def list_command(
    on: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"],
                                                help="the day to list (default: today)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document instead of a tree")] = False,
) -> None:
    """The departments in force on a day, as a tree under their parents, with class and period."""
    day = on.date() if on else hospital_today()
    with session_scope() as session:
        rows = departments_on(session, day)
    if as_json:
        typer.echo(json.dumps({"on": day.isoformat(), "departments": [_as_json(d) for d in rows]},
                              ensure_ascii=False, indent=2))
        return
    if not rows:
        typer.echo(f"no departments in force on {day} (load them with: smartfin departments import FILE)")
        return
    typer.echo(f"科室 departments on {day}:")
    for depth, department in _tree(rows):
        label = f"{'  ' * depth}{department.code} {department.name}"
        english = f" ({department.name_en})" if department.name_en else ""
        typer.echo(f"  {label}{english}  · {department.class_label}  · {department.period}")


def _as_json(department: Department) -> dict[str, object]:
    return {"code": department.code, "name": department.name, "name_en": department.name_en,
            "class": department.department_class, "parent": department.parent_code,
            "valid_from": department.valid_from.isoformat(),
            "valid_to": department.valid_to.isoformat() if department.valid_to else None}


def _tree(rows: list[Department]) -> list[tuple[int, Department]]:
    """Depth-first by code: each department after its parent; one whose parent is not listed is a root."""
    codes = {d.code for d in rows}
    children: dict[str | None, list[Department]] = {}
    for department in rows:
        parent = department.parent_code if department.parent_code in codes else None
        children.setdefault(parent, []).append(department)
    ordered: list[tuple[int, Department]] = []

    def walk(parent: str | None, depth: int) -> None:
        for department in sorted(children.get(parent, []), key=lambda d: d.code):
            ordered.append((depth, department))
            walk(department.code, depth + 1)

    walk(None, 0)
    return ordered


# ------------------------------------------------------------------------------------- staff grades

staff_app = typer.Typer(no_args_is_help=True, help="The staff grade register (人员职级) the travel standards read.")


@staff_app.command("import")
def staff_import(path: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx: person, grade, valid_from")],
                 actor: Annotated[str, typer.Option(help="who imports")] = "finance") -> None:
    """Record travel grades from personnel's list; a file with any bad row changes nothing."""
    report = _imported(path, lambda session: import_staff_grades(session, path, actor=actor))
    typer.echo(f"{report.source}: {report.rows} rows, {report.added} grades recorded, {report.unchanged} unchanged")


@staff_app.command("list")
def staff_list(as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False) -> None:
    """Every recorded grade version, by person and day."""
    with session_scope() as session:
        rows = [{"person": r.person, "grade": r.grade, "valid_from": r.valid_from, "recorded_by": r.recorded_by}
                for r in staff_grades(session)]
    if as_json:
        typer.echo(to_json({"staff": rows}))
        return
    if not rows:
        typer.echo("no grades recorded (load them with: smartfin staff import FILE)")
        return
    for row in rows:
        typer.echo(f"{row['person']:20} {row['grade']:10} from {row['valid_from']}  (recorded by {row['recorded_by']})")


# ------------------------------------------------------------------------------------- department roles

@roles_app.command("import")
def roles_import(path: Annotated[Path, typer.Argument(help="CSV (UTF-8 or GBK) or .xlsx: department, role, user, "
                                                         "valid_from, valid_to")],
                 actor: Annotated[str, typer.Option(help="who imports (recorded with every period)")] = "finance"
                 ) -> None:
    """Record department heads and their periods, then bring the engine's scoped groups into step.

    Unknown departments, users the engine does not know and overlapping periods are refused with the row;
    a file with any bad row changes nothing. Needs the engine (``smartfin up``): it knows the users.
    """
    with _engine_errors():
        service = EngineClient.from_settings()
        try:
            report = _imported(path, lambda session: import_department_roles(
                session, path, actor=actor, user_exists=lambda user: bool(service.get("/user", id=user))))
        finally:
            service.close()
        typer.echo(f"{report.source}: {report.rows} rows, {report.added} periods recorded, {report.closed} closed, "
                   f"{report.unchanged} unchanged")
        typer.echo(_sync_roles().summary())


@roles_app.command("list")
def roles_list(
    on: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"],
                                                help="only the periods in force on this day")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON document")] = False,
) -> None:
    """Every recorded role period by department (or those in force on a day), with its engine group."""
    with session_scope() as session:
        rows = [{"department": r.department, "role": r.role, "user": r.user_id, "group": r.engine_group,
                 "valid_from": r.valid_from, "valid_to": r.valid_to, "recorded_by": r.recorded_by}
                for r in department_roles(session, on=on.date() if on else None)]
    if as_json:
        typer.echo(to_json({"on": on.date().isoformat() if on else None, "roles": rows}))
        return
    if not rows:
        typer.echo("no department roles recorded (load them with: smartfin departments roles import FILE)")
        return
    for row in rows:
        period = f"{row['valid_from']} – {row['valid_to'] or ''}".rstrip()
        typer.echo(f"{row['department']:8} {row['role']:6} {row['user']:16} {period:25} group {row['group']}  "
                   f"(recorded by {row['recorded_by']})")


@roles_app.command("sync")
def roles_sync() -> None:
    """Bring the engine's department groups (dept-head.<code>) into step with today's role holders; `up`
    and the scheduled delegation sync do the same."""
    with _engine_errors():
        typer.echo(_sync_roles().summary())


def _sync_roles() -> RoleGroupSync:
    with closing(admin_client(get_settings())) as admin, session_scope() as session:
        return sync_department_groups(session, admin)


@contextmanager
def _engine_errors() -> Iterator[None]:
    try:
        yield
    except EngineError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(ExitCode.REFUSED) from None
