from django.db import migrations, models

from core.db import AddConstraintNotValid, RunSQLOnPostgres

# Approver and preparer of an approved batch are finance users, the approver of the batch's
# region: a plain trigger, so that no session setting (pgtrigger.ignore) skips it.
TWO_FINANCE_SIGNATURES = """
CREATE OR REPLACE FUNCTION doudi_batch_two_finance_signatures() RETURNS trigger AS $$
DECLARE
    batch_code text;
BEGIN
    IF NEW.approved_by_id IS NULL THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.approved_by_id IS NOT DISTINCT FROM NEW.approved_by_id
            AND OLD.prepared_by_id IS NOT DISTINCT FROM NEW.prepared_by_id THEN
        RETURN NEW;
    END IF;
    SELECT code INTO batch_code FROM beneficiaries_region WHERE id = NEW.region_id;
    IF NOT EXISTS (
        SELECT 1 FROM beneficiaries_user u JOIN beneficiaries_region r ON r.id = u.region_id
        WHERE u.id = NEW.approved_by_id AND u.role = 'finance'
          AND batch_code LIKE left(r.code, CASE r.level
              WHEN 'province' THEN 2 WHEN 'city' THEN 4 WHEN 'county' THEN 6
              WHEN 'township' THEN 9 ELSE 12 END) || '%'
    ) OR NOT EXISTS (
        SELECT 1 FROM beneficiaries_user u WHERE u.id = NEW.prepared_by_id AND u.role = 'finance'
    ) THEN
        RAISE EXCEPTION 'batch %: approved only by a finance user of its region who did not prepare it', NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER doudi_batch_two_finance_signatures
BEFORE INSERT OR UPDATE ON payments_paymentbatch
FOR EACH ROW EXECUTE FUNCTION doudi_batch_two_finance_signatures();
"""

DROP_TWO_FINANCE_SIGNATURES = """
DROP TRIGGER IF EXISTS doudi_batch_two_finance_signatures ON payments_paymentbatch;
DROP FUNCTION IF EXISTS doudi_batch_two_finance_signatures();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0011_input_bounds_failed_batches_withheld_transfers"),
        ("beneficiaries", "0003_input_bounds"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="paymentbatch",
            name="batch_approver_is_not_preparer",
        ),
        # Batches approved before (a system-drafted batch approved alone) are left as they were.
        AddConstraintNotValid(
            model_name="paymentbatch",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("approved_by__isnull", True),
                    models.Q(
                        ("prepared_by__isnull", False),
                        models.Q(("approved_by", models.F("prepared_by")), _negated=True),
                    ),
                    _connector="OR",
                ),
                name="batch_approved_by_a_second_person",
            ),
        ),
        RunSQLOnPostgres(TWO_FINANCE_SIGNATURES, DROP_TWO_FINANCE_SIGNATURES),
    ]
