"""Time the bulk import on a generated file, then roll everything back.

    python manage.py bench_import --households 10000 [--members 3] [--format csv]

Prints the file size and the seconds spent validating and writing. Nothing stays in the
database: regions, user and imported rows are created inside a transaction that is rolled back.
"""

import csv
import datetime
import io
import time

from django.core.management.base import BaseCommand
from django.db import transaction

from beneficiaries.imports import COLUMNS, import_households
from beneficiaries.models import Region, User
from core.idnumbers import make_resident_id


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Benchmark the household import (all work is rolled back)."

    def add_arguments(self, parser):
        parser.add_argument("--households", type=int, default=10_000)
        parser.add_argument("--members", type=int, default=3)

    def handle(self, *args, households: int, members: int, **options):
        content = self.make_file(households, members)
        self.stdout.write(f"file: {households * members} rows, {len(content) / 1e6:.1f} MB CSV")
        try:
            with transaction.atomic():
                user = self.make_region_and_user()
                started = time.perf_counter()
                result = import_households(content=content, filename="bench.csv", by=user)
                elapsed = time.perf_counter() - started
                raise Rollback
        except Rollback:
            pass
        if result.errors:
            self.stderr.write(f"unexpected errors, first: {result.errors[0]}")
        self.stdout.write(
            f"imported {result.households} households, {result.members} members, "
            f"{result.incomes} incomes in {elapsed:.2f} s "
            f"({result.members / elapsed:,.0f} rows/s); rolled back"
        )

    def make_region_and_user(self) -> User:
        province = Region.objects.create(code="990000000000", name="基准省", level="province")
        city = Region.objects.create(code="999900000000", name="基准市", level="city",
                                     parent=province)  # fmt: skip
        county = Region.objects.create(code="999901000000", name="基准县", level="county",
                                       parent=city)  # fmt: skip
        town = Region.objects.create(code="999901001000", name="基准镇", level="township",
                                     parent=county)  # fmt: skip
        Region.objects.create(code="999901001001", name="基准村", level="village", parent=town)
        return User.objects.create(username="bench-import", role="caseworker", region=town)

    def make_file(self, households: int, members: int) -> bytes:
        keys = [column.key for column in COLUMNS]
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(column.label for column in COLUMNS)
        birth = datetime.date(1970, 1, 1)
        sequence = 0
        for number in range(households):
            for position in range(members):
                sequence += 1
                day = birth + datetime.timedelta(days=sequence // 400)
                values = {
                    "household_key": f"H{number}",
                    "name": f"成员{sequence}",
                    "id_number": make_resident_id("321102", day, sequence % 400, "M"),
                    "relation": "户主" if position == 0 else "子女",
                    "income_type": "工资性收入",
                    "monthly_amount": "1200",
                    "income_valid_from": "2024-01-01",
                }
                if position == 0:
                    values.update(village_code="999901001001", address=f"基准路{number}号",
                                  hukou_type="农村")  # fmt: skip
                writer.writerow(values.get(key, "") for key in keys)
        return buffer.getvalue().encode("utf-8")
