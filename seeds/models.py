"""What the bulk generator has written, so it can append, refuse a second run, or reset a city."""

from django.db import models


class GeneratedCaseload(models.Model):
    """One run of `generate_caseload`: its parameters, the household ids it wrote, its ID slots.

    ``id_slots`` and ``serial_end`` are cumulative over every run so far (any city): the next run
    starts from the largest, which keeps resident IDs and bank accounts unique across runs.
    """

    city_code = models.CharField(max_length=4, db_index=True)
    seed = models.BigIntegerField()
    as_of = models.DateField()
    households = models.PositiveIntegerField()
    members = models.PositiveIntegerField()
    incomes = models.PositiveIntegerField()
    enrolments = models.PositiveIntegerField()
    # [[first_id, last_id], ...]: the ids this run was given by the household id sequence.
    household_id_ranges = models.JSONField(default=list)
    id_slots = models.JSONField(default=dict)
    serial_end = models.PositiveBigIntegerField(default=0)
    seconds = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.city_code}: {self.households} households (seed {self.seed})"
