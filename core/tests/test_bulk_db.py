"""core/db.py: bulk insert and update take their columns from the model, on SQLite and PostgreSQL.

The models live in an isolated app registry and their table is created inside the test's
transaction, so nothing is migrated and nothing outlives the test.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import DataError, IntegrityError, connection, models, transaction
from django.test.utils import isolate_apps

from core.db import insert_rows, update_rows

pytestmark = pytest.mark.django_db

TABLE = "core_test_bulk_row"
JOHANNESBURG = ZoneInfo("Africa/Johannesburg")


def _model(class_name: str = "BulkRow", **extra: models.Field) -> type[models.Model]:
    """The test model: `name` and `amount`, plus the given fields (the "added column")."""
    meta = type("Meta", (), {"app_label": "core", "db_table": TABLE})
    attrs = {
        "__module__": __name__,
        "Meta": meta,
        "name": models.CharField(max_length=40, unique=True),
        "amount": models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.00")),
        **extra,
    }
    return type(class_name, (models.Model,), attrs)


def _create_table(model: type[models.Model]) -> None:
    """CREATE TABLE in the test's transaction (SQLite's schema editor refuses to run inside one)."""
    editor = connection.schema_editor()
    editor.deferred_sql = []  # set by __enter__, which is the part that refuses
    sql, params = editor.table_sql(model)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for statement in editor.deferred_sql:
            cursor.execute(str(statement))


def _every_type() -> dict[str, models.Field]:
    """One added field per kind of value the bulk writers carry; NOT NULL ones have no database default."""
    return {
        "price": models.DecimalField(max_digits=14, decimal_places=4, default=Decimal("1.2500")),
        "day": models.DateField(default=dt.date(2026, 1, 31)),
        "at": models.DateTimeField(null=True),
        "data": models.JSONField(default=list, null=True),
        "flag": models.BooleanField(default=True),
        "note": models.CharField(max_length=200, null=True, db_column="note_text"),
        "count": models.PositiveSmallIntegerField(default=7),
        "created_at": models.DateTimeField(auto_now_add=True),
        "token": models.UUIDField(default=uuid.uuid4),  # a callable default: one call per row
    }


@pytest.fixture
def isolated():
    with isolate_apps("core"):
        yield


def _write_names(model, names):
    """A caller written once, before any field was added: it names only `name`."""
    return insert_rows(model, ["name"], [(name,) for name in names], returning=True)


def test_a_field_added_to_the_model_is_written_by_insert_and_update(isolated):
    before = _model()
    _create_table(before)
    ids = _write_names(before, ["a", "b"])
    assert list(before.objects.order_by("id").values_list("id", "name", "amount")) == [
        (ids[0], "a", Decimal("0.00")),
        (ids[1], "b", Decimal("0.00")),
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {TABLE}")

    # The model gains fields; the added columns are NOT NULL without a database default, so the same
    # caller's insert fails unless it writes them.
    after = _model("BulkRowChanged", **_every_type())
    _create_table(after)
    started = dt.datetime.now(dt.UTC)
    ids = _write_names(after, ["a", "b"])
    rows = {row["id"]: row for row in after.objects.values()}
    assert set(rows) == set(ids)
    for row in rows.values():
        assert (row["price"], row["day"], row["at"], row["data"], row["flag"], row["note"], row["count"]) == (
            Decimal("1.2500"),
            dt.date(2026, 1, 31),
            None,
            [],
            True,
            None,
            7,
        )
        assert started <= row["created_at"] <= dt.datetime.now(dt.UTC)
    assert len({row["token"] for row in rows.values()}) == 2 and all(row["token"].version == 4 for row in rows.values())
    # Updating an added field needs nothing but its name.
    assert update_rows(after, ["price", "note"], [(Decimal("9.9999"), "set", ids[1])]) == 1
    assert after.objects.filter(id=ids[1], price=Decimal("9.9999"), note="set").exists()
    assert after.objects.get(id=ids[0]).note is None


AWKWARD_TEXT = ['say "hi"', "back\\slash", "a,b", "{braces}", "NULL", "", "  spaced  ", "ünï €", "it's", '\\"x']


def _values(i: int) -> tuple:
    """Row i: (name, amount, price, day, at, data, flag, note, count), every type and its edge cases."""
    moments = [
        dt.datetime(2026, 3, 1, 23, 30, 15, 123456, tzinfo=JOHANNESBURG),  # another day in UTC
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
        None,
    ]
    data = [
        {"a": [1, 2.5, 'q"uote', "back\\", None], "ü": {"nested": True}, "empty": {}},
        [],
        "a JSON string",
        None,
    ]
    return (
        f"{AWKWARD_TEXT[i % len(AWKWARD_TEXT)]}#{i}",
        [Decimal("-1234567890.12"), Decimal("0.01"), Decimal("0.00")][i % 3],
        [Decimal("3.1416"), Decimal("-0.0001"), Decimal("12345678.9000")][i % 3],
        [dt.date(2026, 2, 28), dt.date(1900, 1, 1), dt.date(2099, 12, 31)][i % 3],
        moments[i % 3],
        data[i % 4],
        i % 2 == 0,
        [None, AWKWARD_TEXT[i % len(AWKWARD_TEXT)]][i % 2],
        i % 32768,
    )


FIELDS = ["name", "amount", "price", "day", "at", "data", "flag", "note", "count"]


def _read(model, ids) -> list[tuple]:
    by_id = {row[0]: row[1:] for row in model.objects.filter(id__in=ids).values_list("id", *FIELDS)}
    return [by_id[i] for i in ids]


def _exact(rows: list[tuple]) -> list[tuple]:
    """Comparable values: Decimals by their digits (0.10 is not 0.1), datetimes as UTC instants."""
    return [
        tuple(
            str(v) if isinstance(v, Decimal) else v.astimezone(dt.UTC) if isinstance(v, dt.datetime) else v for v in row
        )
        for row in rows
    ]


def test_every_value_type_round_trips_exactly_through_insert_and_update(isolated):
    model = _model(**_every_type())
    _create_table(model)
    written = [_values(i) for i in range(12)]
    ids = insert_rows(model, FIELDS, written, returning=True)
    assert len(ids) == 12 and len(set(ids)) == 12
    assert _exact(_read(model, ids)) == _exact(written)  # also: ids come back in row order

    # Update every field of each row to another row's values (the name stays unique: it is rotated too).
    moved = [(f"{name}~", *rest) for name, *rest in (_values(i + 5) for i in range(12))]
    changed = update_rows(model, FIELDS, [(*values, row_id) for values, row_id in zip(moved, ids, strict=True)])
    assert changed == 12
    assert _exact(_read(model, ids)) == _exact(moved)


def test_update_writes_only_rows_matching_where(isolated):
    model = _model(status=models.CharField(max_length=10, default="pending"))
    _create_table(model)
    ids = _write_names(model, ["a", "b", "c"])
    model.objects.filter(id=ids[1]).update(status="done")
    rows = [(Decimal("5.00"), "decided", row_id) for row_id in ids]
    assert update_rows(model, ["amount", "status"], rows, where={"status": "pending"}) == 2
    assert dict(model.objects.values_list("id", "status")) == {ids[0]: "decided", ids[1]: "done", ids[2]: "decided"}
    # Running it again changes nothing: every row has left "pending".
    assert update_rows(model, ["amount", "status"], rows, where={"status": "pending"}) == 0


def test_insert_skips_conflicting_rows_when_asked_and_fails_otherwise(isolated):
    model = _model()
    _create_table(model)
    _write_names(model, ["a"])
    insert_rows(model, ["name", "amount"], [("a", Decimal("1.00")), ("b", Decimal("2.00"))], ignore_conflicts=True)
    assert dict(model.objects.values_list("name", "amount")) == {"a": Decimal("0.00"), "b": Decimal("2.00")}
    with pytest.raises(ValueError):
        insert_rows(model, ["name"], [("c",)], ignore_conflicts=True, returning=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(model, ["name"], [("a",)])


def test_many_rows_go_in_below_sqlites_variable_limit_with_their_ids_in_order(isolated):
    model = _model(**_every_type())
    _create_table(model)
    # 4,000 rows of 9 named + 2 defaulted columns: 44,000 values, above SQLite's 32,766 bound variables.
    written = [_values(i) for i in range(4000)]
    ids = insert_rows(model, FIELDS, written, returning=True)
    assert len(set(ids)) == 4000
    assert _exact(_read(model, ids[::397])) == _exact(written[::397])
    moved = [(Decimal(i), row_id) for i, row_id in enumerate(ids)]
    assert update_rows(model, ["amount"], moved) == 4000
    assert dict(model.objects.values_list("id", "amount")) == {row_id: Decimal(i) for i, row_id in enumerate(ids)}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not enforce a column's length")
def test_a_too_long_text_fails_instead_of_being_cut(isolated):
    """The casts drop the length (varchar(40) -> varchar): the column itself refuses, as an INSERT would."""
    model = _model()
    _create_table(model)
    with pytest.raises(DataError), transaction.atomic():
        insert_rows(model, ["name"], [("x" * 41,)])
    ids = _write_names(model, ["a"])
    with pytest.raises(DataError), transaction.atomic():
        update_rows(model, ["name"], [("y" * 41, ids[0])])
