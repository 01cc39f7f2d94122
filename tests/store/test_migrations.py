"""The Alembic revisions against the models, the rows of an existing database, and each other.

Every test runs on a new database: a SQLite file, or a database of its own on the session's throwaway
PostgreSQL (tests marked ``postgres``). Rows are generated from the reflected schema of the database at the
revision under test, so the same test keeps working when later revisions add tables or columns.
"""

from __future__ import annotations

import hashlib
import json
import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from smartfin.app import stack
from smartfin.app.cli import app
from smartfin.app.tables import metadata
from smartfin.kernel.background import ServiceError
from smartfin.store import migrations
from smartfin.store.migrations import (
    BASELINE,
    MigrationError,
    alembic_config,
    current_revision,
    head_revision,
    upgrade_to_head,
)
from tests.support.settings import environment

ROOT = Path(__file__).resolve().parents[2]
ROWS_PER_TABLE = 3
BASE_TIME = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
UNREACHABLE_POSTGRES = "postgresql+psycopg://smartfin@127.0.0.1:1/smartfin"


# ----------------------------------------------------------------------------------------- helpers

def upgrade_to(engine: Engine, revision: str) -> None:
    """Run the revisions up to ``revision`` only (a database as an older release left it)."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection), revision)


def schema_of(connection: Connection) -> MetaData:
    """The tables the database has now (not the models'), without Alembic's version table."""
    reflected = MetaData()
    reflected.reflect(connection)
    if "alembic_version" in reflected.tables:
        reflected.remove(reflected.tables["alembic_version"])
    return reflected


def differences(connection: Connection, target: MetaData = metadata) -> list[Any]:
    return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), target)


def sample_value(table: Table, column: Column[Any], row: int, inserted: dict[tuple[str, str], list[Any]],
                 dialect: str) -> Any:
    """A value for ``column`` in the ``row``-th generated row: distinct per row (so every unique constraint
    holds), a real parent key for a foreign key, NULL in the first row wherever NULL is allowed."""
    for foreign_key in column.foreign_keys:
        target = foreign_key.column
        if target.table is table:  # a self-reference (a journal reversal): the row before, none for the first
            return inserted[(table.name, target.name)][row - 1] if row else None
        parents = inserted[(target.table.name, target.name)]
        return parents[row % len(parents)]
    if column.nullable and row == 0:
        return None
    kind = column.type
    if isinstance(kind, Boolean):
        return row % 2 == 1
    if isinstance(kind, BigInteger):
        return 2**40 + 7 * row  # does not fit 32 bits: a narrowed column would show
    if isinstance(kind, Integer):
        return 1000 + row
    if isinstance(kind, DateTime):
        moment = BASE_TIME + timedelta(days=row, microseconds=row)
        return moment.replace(tzinfo=None) if dialect == "sqlite" else moment  # as UtcDateTime stores it
    if isinstance(kind, Date):
        return date(2026, 1, 1) + timedelta(days=row)
    if isinstance(kind, JSON):
        return {"row": row, "names": ["张伟", table.name], "amount": "12.34"}
    if isinstance(kind, String):
        value = f"{row}-{table.name}.{column.name}-张伟-¥12.34"
        return value[:kind.length] if kind.length else value
    raise AssertionError(f"no sample value for {table.name}.{column.name} of type {kind!r}")


def populate(engine: Engine) -> dict[str, int]:
    """ROWS_PER_TABLE rows in every table the database has, parents first; returns the counts."""
    with engine.begin() as connection:
        schema = schema_of(connection)
        inserted: dict[tuple[str, str], list[Any]] = {}
        for table in schema.sorted_tables:
            generated = table.autoincrement_column
            for row in range(ROWS_PER_TABLE):
                values = {column.name: sample_value(table, column, row, inserted, connection.dialect.name)
                          for column in table.columns if column is not generated}
                result = connection.execute(table.insert().values(values))
                values.update(zip([c.name for c in table.primary_key.columns], result.inserted_primary_key,
                                  strict=True))
                for column in table.columns:
                    inserted.setdefault((table.name, column.name), []).append(values[column.name])
        return {table.name: ROWS_PER_TABLE for table in schema.sorted_tables}


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | bytes):
        return str(value)
    return value


def fingerprints(engine: Engine, columns: dict[str, list[str]]) -> dict[str, tuple[int, str]]:
    """Per table: how many rows, and a SHA-256 of the rows (the given columns, in primary-key order)."""
    result: dict[str, tuple[int, str]] = {}
    with engine.connect() as connection:
        schema = schema_of(connection)
        for name, names in sorted(columns.items()):
            table = schema.tables[name]
            rows = connection.execute(select(*[table.c[n] for n in names])
                                      .order_by(*table.primary_key.columns)).all()
            canonical = json.dumps([[_canonical(v) for v in row] for row in rows], ensure_ascii=False,
                                   sort_keys=True)
            result[name] = (len(rows), hashlib.sha256(canonical.encode()).hexdigest())
    return result


def columns_of(engine: Engine) -> dict[str, list[str]]:
    with engine.connect() as connection:
        return {t.name: [c.name for c in t.columns] for t in schema_of(connection).sorted_tables}


def alembic_runs(records: list[logging.LogRecord]) -> list[str]:
    """One entry per upgrade run of a new database: the step from no revision at all starts each run
    (a run then logs one line per later revision)."""
    return [r.getMessage() for r in records if r.getMessage().startswith("Running upgrade  -> ")]


# --------------------------------------------------------------------------- models and migrations

def test_models_and_migrations_agree(engine: Engine) -> None:
    """A new database migrated to the head is what the models describe: no table, column, type,
    nullability, index, unique constraint or foreign key differs (Alembic's autogenerate comparison)."""
    assert upgrade_to_head(engine) == head_revision()
    with engine.connect() as connection:
        diff = differences(connection)
    assert diff == [], ("the models and the migrations differ; add a revision "
                        "(smartfin/store/migrations/versions/) for:\n" + "\n".join(map(str, diff)))


def test_the_comparison_sees_a_column_without_a_migration(engine: Engine) -> None:
    """The check above is not vacuous: a model column no revision creates is reported."""
    upgrade_to_head(engine)
    drifted = MetaData()
    for table in metadata.sorted_tables:
        table.to_metadata(drifted)
    drifted.tables["budget_line"].append_column(Column("drift_probe", Integer, nullable=True))
    with engine.connect() as connection:
        diff = differences(connection, drifted)
    assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "budget_line", "drift_probe")]


def _schema_details(connection: Connection) -> dict[str, Any]:
    """What compare_metadata does not look at as well: partial-index predicates, server defaults,
    constraint names, and the triggers."""
    inspector = inspect(connection)
    details: dict[str, Any] = {}
    for name in sorted(inspector.get_table_names()):
        if name == "alembic_version":
            continue
        details[name] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"], c.get("default"))
                        for c in inspector.get_columns(name)],
            "primary key": inspector.get_pk_constraint(name)["constrained_columns"],
            "foreign keys": sorted((fk["name"] or "", tuple(fk["constrained_columns"]), fk["referred_table"],
                                    tuple(fk["referred_columns"])) for fk in inspector.get_foreign_keys(name)),
            "indexes": sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]),
                               sorted((k, str(v)) for k, v in ix.get("dialect_options", {}).items()))
                              for ix in inspector.get_indexes(name)),
            "unique": sorted((uq["name"] or "", tuple(uq["column_names"]))
                             for uq in inspector.get_unique_constraints(name)),
        }
    if connection.dialect.name == "sqlite":
        triggers = connection.execute(text(
            "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger' ORDER BY name")).all()
    else:
        triggers = connection.execute(text(
            "SELECT tgname, tgrelid::regclass::text, pg_get_triggerdef(oid) FROM pg_trigger "
            "WHERE NOT tgisinternal ORDER BY tgname")).all()
    details["triggers"] = [tuple(" ".join(str(part).split()) for part in row) for row in triggers]
    return details


def test_the_migrated_schema_is_the_one_create_all_makes(database_url: str,
                                                         engine_for: Callable[[str], Engine]) -> None:
    """Index predicates (the live-invoice partial unique index), defaults and the journal's triggers: the
    migrations make them exactly as the models' ``create_all`` does, so an adopted database is the same."""
    migrated = engine_for(database_url)
    upgrade_to_head(migrated)
    with migrated.connect() as connection:
        expected = _schema_details(connection)
    with migrated.begin() as connection:  # the same database again, this time from the models
        connection.exec_driver_sql("DROP TABLE alembic_version")
        metadata.drop_all(connection)
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("DROP FUNCTION journal_entry_append_only()")
        metadata.create_all(connection)
    with migrated.connect() as connection:
        assert _schema_details(connection) == expected
    assert expected["triggers"], "the journal's append-only triggers are missing"


# ------------------------------------------------------------------------------------ existing rows

def test_every_row_survives_the_upgrade_from_the_baseline(engine: Engine) -> None:
    upgrade_to(engine, BASELINE)
    counts = populate(engine)
    if head_revision() == BASELINE:
        assert set(counts) == set(metadata.tables), "a table of the models has no rows in this test"
    columns = columns_of(engine)
    before = fingerprints(engine, columns)
    assert {name: count for name, (count, _) in before.items()} == counts

    assert upgrade_to_head(engine) == head_revision()

    assert fingerprints(engine, columns) == before
    with engine.connect() as connection:
        assert current_revision(connection) == head_revision()


@pytest.fixture
def alembic_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every Alembic stamp and upgrade that ``upgrade_to_head`` runs, with its target revision."""
    calls: list[tuple[str, str]] = []
    for name in ("stamp", "upgrade"):
        real = getattr(command, name)

        def spy(config: Any, revision: str, *args: Any, _name: str = name, _real: Any = real,
                **kwargs: Any) -> Any:
            calls.append((_name, revision))
            return _real(config, revision, *args, **kwargs)

        monkeypatch.setattr(migrations.command, name, spy)
    return calls


def test_a_database_made_by_create_all_is_adopted_at_the_baseline(
        engine: Engine, alembic_calls: list[tuple[str, str]]) -> None:
    metadata.create_all(engine)  # the way releases before the migrations made their database
    populate(engine)
    columns = columns_of(engine)
    before = fingerprints(engine, columns)
    assert set(before) == set(metadata.tables)
    with engine.connect() as connection:
        assert current_revision(connection) is None

    assert upgrade_to_head(engine) == head_revision()
    assert alembic_calls == [("stamp", BASELINE), ("upgrade", "head")]
    assert fingerprints(engine, columns) == before

    alembic_calls.clear()
    assert upgrade_to_head(engine) == head_revision()
    assert alembic_calls == [], "a database at the head was migrated again"
    assert fingerprints(engine, columns) == before


def test_a_database_at_an_unknown_revision_is_refused(engine: Engine) -> None:
    upgrade_to_head(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'")
    with pytest.raises(MigrationError, match=r"9999_from_a_newer_release.*newer release"):
        upgrade_to_head(engine)


# ---------------------------------------------------------------------------------------- the journal

def test_the_journal_is_append_only_in_the_migrated_database(engine: Engine) -> None:
    upgrade_to_head(engine)
    populate(engine)
    columns = {"journal_entry": columns_of(engine)["journal_entry"]}
    before = fingerprints(engine, columns)

    for statement in ("UPDATE journal_entry SET amount_fen = amount_fen + 1",
                      "DELETE FROM journal_entry WHERE reverses IS NOT NULL"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql(statement)

    assert fingerprints(engine, columns) == before
    with engine.begin() as connection:  # the rule is the journal's only: its budget lines still change
        assert connection.exec_driver_sql("UPDATE budget_line SET status = 'closed'").rowcount == ROWS_PER_TABLE


def _assert_append_only(engine: Engine) -> None:
    for statement in ("UPDATE journal_entry SET amount_fen = amount_fen + 1",
                      "DELETE FROM journal_entry WHERE reverses IS NOT NULL"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
            connection.exec_driver_sql(statement)


def test_the_effective_date_revision_dates_the_journal_and_keeps_it_append_only(engine: Engine) -> None:
    """A journal written before 0005: budget and adjustment entries take their line's first day (its
    effective_from, else 1 January of its fiscal year), every other entry the hospital date of its posting
    (Asia/Shanghai: 16:00 UTC is already the next day). The append-only triggers survive the upgrade and the
    downgrade."""
    upgrade_to(engine, "0004_delegation")
    sqlite = engine.dialect.name == "sqlite"

    def utc(*parts: int) -> datetime:  # as UtcDateTime stores it
        moment = datetime(*parts, tzinfo=UTC)  # type: ignore[misc]
        return moment.replace(tzinfo=None) if sqlite else moment

    line = {"project": "", "name": "", "control_level": "control", "tolerance_bp": 0, "tolerance_fen": 0,
            "warning_bp": 9000, "status": "open", "effective_to": None, "created_at": utc(2026, 6, 1),
            "created_by": "finance", "funding_source": "fiscal", "economic_code": "30218"}
    # (id, line, bucket, posted at (UTC), reverses, the date 0005 must give it)
    journal = [
        (1, 1, "budget", utc(2026, 6, 10, 1), None, date(2026, 3, 1)),
        (2, 2, "budget", utc(2026, 6, 10, 1), None, date(2025, 1, 1)),
        (3, 1, "pre_encumbrance", utc(2026, 6, 10, 15, 59, 59), None, date(2026, 6, 10)),
        (4, 1, "pre_encumbrance", utc(2026, 6, 10, 16), 3, date(2026, 6, 11)),
        (5, 1, "encumbrance", utc(2026, 6, 11, 3), None, date(2026, 6, 11)),
        (6, 2, "adjustment", utc(2026, 6, 11, 4), None, date(2025, 1, 1)),  # amid entries of 11 June
        (7, 1, "actual", utc(2026, 6, 11, 10), None, date(2026, 6, 11)),
        (8, 2, "actual", utc(2026, 6, 9, 20), None, date(2026, 6, 10)),  # posted out of order
        (9, 1, "adjustment", utc(2026, 8, 1), None, date(2026, 3, 1)),
    ]
    with engine.begin() as connection:
        tables = schema_of(connection).tables
        connection.execute(tables["budget_line"].insert(), [
            {**line, "id": 1, "fiscal_year": 2026, "department": "0301", "effective_from": date(2026, 3, 1)},
            {**line, "id": 2, "fiscal_year": 2025, "department": "0302", "effective_from": None}])
        for entry_id, line_id, bucket, posted, reverses, _ in journal:
            connection.execute(tables["journal_entry"].insert().values(
                id=entry_id, line_id=line_id, bucket=bucket, amount_fen=-100 if reverses else 100 * entry_id,
                document_type="test", document_no=f"DOC-{entry_id}", reverses=reverses, actor="t", reason="",
                created_at=posted))
    columns = columns_of(engine)["journal_entry"]
    before = fingerprints(engine, {"journal_entry": columns})

    upgrade_to(engine, "0005_effective_date")
    with engine.connect() as connection:
        dated = connection.execute(text("SELECT id, effective_on FROM journal_entry ORDER BY id")).all()
        assert [(entry_id, _as_date(day)) for entry_id, day in dated] == [(j[0], j[5]) for j in journal]
        not_null = {c["name"]: c["nullable"] for c in inspect(connection).get_columns("journal_entry")}
        assert not_null["effective_on"] is False
    assert fingerprints(engine, {"journal_entry": columns}) == before, "a column of the journal changed"
    _assert_append_only(engine)

    with engine.begin() as connection:
        command.downgrade(alembic_config(connection), "0004_delegation")
    assert columns_of(engine)["journal_entry"] == columns
    assert fingerprints(engine, {"journal_entry": columns}) == before
    _assert_append_only(engine)
    assert upgrade_to_head(engine) == head_revision()
    _assert_append_only(engine)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


# ---------------------------------------------------------------------------------------- concurrency

@pytest.mark.parametrize("make", [pytest.param("product", id="make_engine"),
                                  pytest.param("plain", id="plain_create_engine")])
def test_threads_upgrading_one_new_sqlite_file_at_once(sqlite_url: str, make: str,
                                                       engine_for: Callable[[str], Engine],
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """Each thread with an engine of its own (as separate processes would have): all succeed, and the
    baseline runs once. ``plain``: an engine without the product's BEGIN IMMEDIATE."""
    caplog.set_level(logging.INFO, logger="alembic.runtime.migration")
    threads_count = 4
    engines = [engine_for(sqlite_url) if make == "product" else create_engine(sqlite_url)
               for _ in range(threads_count)]
    barrier = threading.Barrier(threads_count)
    revisions: list[str] = []
    errors: list[BaseException] = []

    def upgrade(engine: Engine) -> None:
        barrier.wait()
        try:
            revisions.append(upgrade_to_head(engine))
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=upgrade, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    for engine in engines:
        engine.dispose()

    assert errors == []
    assert revisions == [head_revision()] * threads_count
    assert len(alembic_runs(caplog.records)) == 1, alembic_runs(caplog.records)
    check = engine_for(sqlite_url)
    with check.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
        assert differences(connection) == []


_PROCESS_SCRIPT = textwrap.dedent("""
    import logging, sys, time
    from pathlib import Path
    from sqlalchemy import create_engine
    from smartfin.store.migrations import upgrade_to_head

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    logging.getLogger("alembic.runtime.migration").setLevel(logging.INFO)
    url, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    engine = create_engine(url)
    ready.touch()
    while not go.exists():
        time.sleep(0.005)
    print(upgrade_to_head(engine))
""")


def _upgrade_in_processes(url: str, tmp_path: Path, count: int = 3) -> tuple[list[str], str]:
    """``count`` processes call upgrade_to_head on ``url`` at the same moment; their revisions and logs."""
    go = tmp_path / "go"
    ready = [tmp_path / f"ready-{n}" for n in range(count)]
    processes = [subprocess.Popen([sys.executable, "-c", _PROCESS_SCRIPT, url, str(r), str(go)], cwd=ROOT,
                                  env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for r in ready]
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    outputs = [p.communicate(timeout=120) for p in processes]
    logs = "\n".join(err for _, err in outputs)
    assert all(p.returncode == 0 for p in processes), logs
    return [out.strip() for out, _ in outputs], logs


def test_processes_upgrading_one_new_database_at_once(database_url: str, tmp_path: Path,
                                                      engine_for: Callable[[str], Engine]) -> None:
    """Separate processes, plain engines: SQLite's write lock, or PostgreSQL's advisory lock, lets one
    migrate while the others wait; the baseline runs once."""
    revisions, logs = _upgrade_in_processes(database_url, tmp_path)
    assert revisions == [head_revision()] * len(revisions)
    assert len(alembic_runs([logging.makeLogRecord({"msg": line}) for line in logs.splitlines()])) == 1, logs
    with engine_for(database_url).connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
        assert differences(connection) == []


# -------------------------------------------------------------------------------------- the commands

@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    """A var/ of the test's own for the CLI, on the default SQLite database."""
    with environment({"SMARTFIN_VAR_DIR": str(tmp_path / "var")}):
        yield tmp_path / "var"


def _run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def test_db_current_and_upgrade_on_a_new_var_dir(var_dir: Path) -> None:
    database = var_dir / "smartfin.db"
    head = head_revision()

    result = _run("db", "current")
    assert result.exit_code == 3, result.output
    assert "current:  none (no database file yet)" in result.stdout
    assert f"head:     {head}" in result.stdout
    assert not database.exists(), "`db current` must not create the database"

    result = _run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [f"database: sqlite:///{database}", "before:   none (empty database)",
                                          f"after:    {head} (head)"]

    result = _run("db", "current")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [f"current:  {head}", f"head:     {head}", "up to date"]

    result = _run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [f"before:   {head}", f"after:    {head} (head)"]


def test_db_commands_on_a_database_made_by_create_all(var_dir: Path, engine_for: Callable[[str], Engine]) -> None:
    var_dir.mkdir(parents=True)
    engine = engine_for(f"sqlite:///{var_dir / 'smartfin.db'}")
    metadata.create_all(engine)
    populate(engine)
    before = fingerprints(engine, columns_of(engine))

    result = _run("db", "current")
    assert result.exit_code == 3, result.output
    assert f"tables made before migrations; adopted at {BASELINE}" in result.stdout
    assert "behind: run `smartfin db upgrade`" in result.stdout

    result = _run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert "before:   none (tables made before migrations" in result.stdout
    assert fingerprints(engine, columns_of(engine)) == before
    assert _run("db", "current").exit_code == 0


def test_db_commands_fail_with_one_line(var_dir: Path, engine_for: Callable[[str], Engine]) -> None:
    with environment({"SMARTFIN_DATABASE_URL": UNREACHABLE_POSTGRES}):
        for command_name in ("current", "upgrade"):
            result = _run("db", command_name)
            assert result.exit_code == 3, result.output
            assert len(result.stderr.strip().splitlines()) == 1, result.stderr
            assert result.stderr.startswith("error: OperationalError: "), result.stderr

    _run("db", "upgrade")
    with engine_for(f"sqlite:///{var_dir / 'smartfin.db'}").begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999_from_a_newer_release'")
    for command_name in ("current", "upgrade"):
        result = _run("db", command_name)
        assert result.exit_code == 3, result.output
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error: MigrationError: the database is at revision "
                                        "9999_from_a_newer_release, which this version of SmartFin does not know")


def test_up_brings_the_database_to_the_head_first(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack, "stack", lambda: [])  # no services: only the database step runs
    said: list[str] = []
    with environment({"SMARTFIN_VAR_DIR": str(var_dir)}) as settings:
        stack.bring_up(settings, said.append, said.append)
    assert said == [f"database: at revision {head_revision()}"]
    check = create_engine(f"sqlite:///{var_dir / 'smartfin.db'}")
    with check.connect() as connection:
        assert current_revision(connection) == head_revision()
    check.dispose()

    with environment({"SMARTFIN_DATABASE_URL": UNREACHABLE_POSTGRES}) as settings, \
            pytest.raises(ServiceError, match=r"^the database could not be brought to the newest schema: "):
        stack.bring_up(settings, said.append, said.append)
