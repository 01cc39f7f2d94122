"""`smartfin budget compilation …` as the logged-in person: finance names contacts and starts a year, a body's
member attaches its minutes; anyone else is refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from smartfin.app.cli import app
from smartfin.app.demo_users import demo_password
from smartfin.budgeting import open_round
from smartfin.processes.compilation.records import contact_of, minutes_for
from smartfin.store.db import session_scope
from tests.support.compilation import prepare_year, tasks_of
from tests.support.settings import environment

pytestmark = pytest.mark.engine
YEAR = 2036


@pytest.fixture()
def cli(tmp_path: Path) -> Iterator[CliRunner]:
    with environment({"SMARTFIN_CREDENTIALS_DIR": str(tmp_path / "credentials")}):
        yield CliRunner()


def as_person(cli: CliRunner, user: str, *args: str):  # type: ignore[no-untyped-def]
    assert cli.invoke(app, ["login", "--user", user], input=f"{demo_password()}\n").exit_code == 0
    return cli.invoke(app, ["budget", "compilation", *args])


def test_finance_names_contacts_and_starts_a_year_members_attach_minutes(camunda, workers, cli, tmp_path):
    prepare_year(YEAR + 1)  # departments in the master data and the other contacts (a year not started here)
    refused = as_person(cli, "li.na", "contact", "--department", "CARD", "--user", "li.na")
    assert refused.exit_code == 3 and "not in finance-officer or chief-accountant" in refused.output
    assert as_person(cli, "wang.fang", "contact", "--department", "NOPE", "--user", "li.na").exit_code == 3
    assert as_person(cli, "wang.fang", "contact", "--department", "CARD", "--user", "nobody.x").exit_code == 3
    done = as_person(cli, "wang.fang", "contact", "--department", "CARD", "--user", "li.na")
    assert done.exit_code == 0, done.output
    with session_scope() as session:
        assert contact_of(session, "CARD") == "li.na"
        open_round(session, YEAR, guidance="g", first_deadline=date(2099, 1, 1), second_deadline=date(2099, 2, 1),
                   template_version="v", actor="wang.fang")
    assert as_person(cli, "li.na", "start", "--year", str(YEAR)).exit_code == 3
    started = as_person(cli, "wang.fang", "start", "--year", str(YEAR))
    assert started.exit_code == 0, started.output
    pid = started.output.strip().rsplit(" ", 1)[-1]
    assert len(tasks_of(camunda, pid, "firstSubmitDraft", 3)) == 3

    minutes = tmp_path / "minutes.pdf"
    minutes.write_bytes(b"%PDF-1.7 minutes")
    attach = ["minutes", str(minutes), "--year", str(YEAR), "--body", "president", "--number", "院办-1",
              "--meeting-date", "2026-12-01"]
    assert as_person(cli, "sun.li", *attach).exit_code == 3
    attached = as_person(cli, "zhao.lei", *attach)
    assert attached.exit_code == 0, attached.output
    with session_scope() as session:
        row = minutes_for(session, YEAR, "president", "院办-1")
        assert row is not None and row.attached_by == "zhao.lei"
    camunda.delete(f"/process-instance/{pid}")
