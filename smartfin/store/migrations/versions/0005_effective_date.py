"""Effective dates in the budget journal: the hospital date each movement takes effect, apart from when it was
posted, so that a report "as of" a month counts the budget loaded later for the whole year.

Existing entries get the date they would have had: a budget or adjustment entry its line's first day
(``effective_from``, else 1 January of the fiscal year); every other entry the hospital date (Asia/Shanghai) of
its ``created_at``. The journal is append-only by database triggers, so they are dropped for the fill and
recreated exactly as revision 0001 made them, all in the migration's one transaction.

Revision ID: 0005_effective_date
Revises: 0004_delegation
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from itertools import groupby

import sqlalchemy as sa
import sqlmodel
from alembic import op

from smartfin.kernel.clock import hospital_date

revision: str = "0005_effective_date"
down_revision: str | None = "0004_delegation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUTHORITY_BUCKETS = ("budget", "adjustment")  # dated by their line; every other bucket by its posting
CHUNK = 5000  # entries read at a time while filling by posting date

journal = sa.table("journal_entry", sa.column("id", sa.Integer), sa.column("line_id", sa.Integer),
                   sa.column("bucket", sa.String), sa.column("created_at", sa.DateTime(timezone=True)),
                   sa.column("effective_on", sa.Date))
lines = sa.table("budget_line", sa.column("id", sa.Integer), sa.column("fiscal_year", sa.Integer),
                 sa.column("effective_from", sa.Date))


def _has_column(table: str, column: str) -> bool:
    return any(c["name"] == column for c in sa.inspect(op.get_bind()).get_columns(table))


def upgrade() -> None:
    # a database adopted at the baseline was made by create_all and may have the column already
    if _has_column("journal_entry", "effective_on"):
        return
    _drop_append_only_triggers()
    op.add_column("journal_entry", sa.Column("effective_on", sa.Date(), nullable=True))
    _fill_from_lines()
    _fill_from_posting_dates()
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_journal_not_null()
    else:
        op.alter_column("journal_entry", "effective_on", existing_type=sa.Date(), nullable=False)
    op.create_index("ix_journal_line_effective", "journal_entry", ["line_id", "effective_on"], unique=False)
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_index("ix_journal_line_effective", table_name="journal_entry")
    op.drop_column("journal_entry", "effective_on")  # SQLite 3.35+ drops an unindexed column in place
    _create_append_only_triggers()


def _rebuild_sqlite_journal_not_null() -> None:
    """SQLite cannot make a column NOT NULL in place: copy the journal into a table declared with it, drop the
    old one, rename. Alembic's batch mode would do the same but point the copy's ``reverses`` foreign key at
    the old table, which the drop then orphans inside this transaction (foreign keys stay on, and cannot be
    switched off within it); the copy names itself instead, and the rename rewrites that to ``journal_entry``.
    """
    new = "_journal_entry_effective"
    columns = ("id", "line_id", "bucket", "amount_fen", "document_type", "document_no", "reference", "reverses",
               "actor", "reason", "created_at", "override_by", "override_reason", "override_at", "effective_on")
    op.create_table(
        new,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("document_type", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("document_no", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reference", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("reverses", sa.Integer(), nullable=True),
        sa.Column("actor", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("override_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("override_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("override_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(["line_id"], ["budget_line.id"]),
        sa.ForeignKeyConstraint(["reverses"], [f"{new}.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    listed = ", ".join(columns)
    op.execute(f"INSERT INTO {new} ({listed}) SELECT {listed} FROM journal_entry ORDER BY id")
    op.drop_table("journal_entry")  # its indexes go with it
    op.execute(f"ALTER TABLE {new} RENAME TO journal_entry")
    op.create_index("ix_journal_document", "journal_entry", ["document_type", "document_no", "bucket"], unique=False)
    op.create_index("ix_journal_line_bucket", "journal_entry", ["line_id", "bucket"], unique=False)


def _fill_from_lines() -> None:
    """Budget and adjustment entries: the line's ``effective_from``, else 1 January of its fiscal year."""
    bind = op.get_bind()
    authority = journal.c.bucket.in_(AUTHORITY_BUCKETS)
    bind.execute(journal.update()
                 .where(authority, journal.c.line_id.in_(
                     sa.select(lines.c.id).where(lines.c.effective_from.is_not(None)).scalar_subquery()))
                 .values(effective_on=sa.select(lines.c.effective_from)
                         .where(lines.c.id == journal.c.line_id).scalar_subquery()))
    years = bind.execute(sa.select(lines.c.fiscal_year).where(lines.c.effective_from.is_(None)).distinct()).scalars()
    for year in list(years):
        bind.execute(journal.update()
                     .where(authority, journal.c.line_id.in_(
                         sa.select(lines.c.id).where(lines.c.fiscal_year == year, lines.c.effective_from.is_(None))
                         .scalar_subquery()))
                     .values(effective_on=date(int(year), 1, 1)))


def _fill_from_posting_dates() -> None:
    """Every other entry: the hospital date of its ``created_at``, computed with the product's own clock
    (SQLite knows no time zones). Consecutive ids of one date are set by one ranged UPDATE, so a journal
    posted day by day takes about one statement per day."""
    bind = op.get_bind()
    after = 0
    while True:
        chunk = bind.execute(sa.select(journal.c.id, journal.c.created_at)
                             .where(journal.c.effective_on.is_(None), journal.c.id > after)
                             .order_by(journal.c.id).limit(CHUNK)).all()
        if not chunk:
            return
        for day, run in groupby(_hospital_dates(chunk), key=lambda pair: pair[1]):
            ids = [entry_id for entry_id, _ in run]
            # every entry still undated between the first and last id of the run is in the run
            bind.execute(journal.update()
                         .where(journal.c.id.between(ids[0], ids[-1]), journal.c.effective_on.is_(None))
                         .values(effective_on=day))
        after = chunk[-1][0]


def _hospital_dates(rows: Sequence[sa.Row[tuple[int, datetime]]]) -> Iterator[tuple[int, date]]:
    for entry_id, created_at in rows:
        # SQLite hands back the stored UTC wall clock without its zone (smartfin.store.audit.UtcDateTime)
        moment = created_at if created_at.tzinfo is not None else created_at.replace(tzinfo=UTC)
        yield entry_id, hospital_date(moment)


# The journal's append-only rule in the database, exactly as 0001_baseline creates it.
def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for operation in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS journal_entry_no_{operation}")
    elif op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS journal_entry_append_only ON journal_entry")


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for operation in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER journal_entry_no_{operation.lower()} BEFORE {operation} ON journal_entry "
                "BEGIN SELECT RAISE(ABORT, 'journal entries are append-only: post a reversal'); END"
            )
    elif op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE OR REPLACE FUNCTION journal_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'journal entries are append-only: post a reversal'; END $$"
        )
        op.execute(
            "CREATE TRIGGER journal_entry_append_only BEFORE UPDATE OR DELETE ON journal_entry "
            "FOR EACH ROW EXECUTE FUNCTION journal_entry_append_only()"
        )
