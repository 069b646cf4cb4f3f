"""Sums of money that stay exact Decimals on every database.

PostgreSQL sums ``numeric`` exactly. SQLite (the embedded mode) keeps a decimal column as a
floating-point number and sums it in floating point: 0.10 + 0.20 comes back as
0.30000000000000004, and over a few thousand lines the error reaches the cents that Django's
conversion keeps (15 significant digits), so a batch's total could differ from its bank file's.
There each amount is summed as whole fen (an exact integer sum) instead.
"""

from decimal import Decimal

from django.db.models import DecimalField, Sum

from beneficiaries.models import MONEY

MONEY_FIELD = DecimalField(**MONEY)
CENT = Decimal("0.01")


class MoneySum(Sum):
    """``Sum`` of a money expression, exact on SQLite too, as a Decimal with two places.

    On SQLite the fen are summed as integers and divided by 100 once: the float that division
    returns is the nearest to the exact sum, which Django's decimal conversion (15 significant
    digits) turns back into it, so the aggregate also composes inside Coalesce or Subquery.
    """

    output_field = MONEY_FIELD

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler,
            connection,
            template="SUM(CAST(ROUND(%(expressions)s * 100) AS INTEGER)) / 100.0",
            **extra_context,
        )

    def get_db_converters(self, connection):
        return [*super().get_db_converters(connection), _to_cents]


def _to_cents(value, expression, connection):
    return None if value is None else value.quantize(CENT)


def sql_money_sum(column: str, vendor: str) -> str:
    """A raw-SQL term to put inside SUM(...) for a money column: the column itself on
    PostgreSQL, whole fen elsewhere (read the sum back with :func:`fen_sum_as_money`)."""
    return column if vendor == "postgresql" else f"CAST(ROUND({column} * 100) AS INTEGER)"


def fen_sum_as_money(value) -> Decimal:
    """A sum of :func:`sql_money_sum` terms as yuan: a Decimal from PostgreSQL, else whole fen."""
    if isinstance(value, Decimal):
        return value
    return Decimal(int(value)).scaleb(-2)
