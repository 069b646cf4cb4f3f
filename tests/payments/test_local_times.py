"""Times users see in payments are Asia/Shanghai, not the database's UTC."""

import datetime

import pytest
from rest_framework.test import APIClient

from core.exceptions import Conflict
from payments.approval import approve_batch
from payments.models import PaymentBatch

# 20:30 UTC on 31 August is 04:30 on 1 September in Shanghai: another day and another month.
LATE_EVENING_UTC = datetime.datetime(2024, 8, 31, 20, 30, tzinfo=datetime.UTC)


def test_already_approved_says_when_in_shanghai_time(
    make_batch, approver, make_user, regions, clock
):
    clock(LATE_EVENING_UTC)
    batch = approve_batch(batch=make_batch(datetime.date(2024, 8, 1)), by=approver)
    second = make_user("finance", regions["zhenjiang"])
    with pytest.raises(Conflict) as refused:
        approve_batch(batch=PaymentBatch.objects.get(pk=batch.pk), by=second)
    assert "该批次已于2024-09-01 04:30:00+08:00由approver审批" in str(refused.value.message)


def test_a_standard_entered_early_on_the_first_in_shanghai_is_retroactive_for_last_month(
    regions, make_user, clock
):
    # Entered at 01:00 on 1 August in Shanghai (still 31 July in UTC), effective from July:
    # July was already due, so back pay is.
    clock(datetime.datetime(2024, 7, 31, 17, 0, tzinfo=datetime.UTC))
    client = APIClient()
    client.force_authenticate(make_user("finance", regions["zhenjiang"]))
    response = client.post(
        "/api/standards/",
        {
            "region": "321100000000",
            "component": "standard",
            "value": "875",
            "effective_from": "2024-07-01",
            "note": "镇江市2024年低保标准",
        },
        format="json",
    )
    assert response.status_code == 201, response.data
    assert response.data["retroactive"] is True
    assert response.data["created_at"].endswith("+08:00")
