"""Approved batches and their lines hold against any session, the app's own included.

Plain SQL triggers (no pgtrigger.ignore check: ``SET pgtrigger.ignore`` cannot skip them), owned
by the owner role like the tables, which the app role does not own and so cannot disable:

- an approved (or later) batch never goes back (only approved → exported → reconciled →
  closed), is never deleted, and keeps its region, month, preparer, approver, approval time,
  line count and total;
- the lines of an approved (or later) batch are never inserted, deleted or moved, and only
  their status and failure reason change (reconciliation). The lines' checks are per statement,
  over the statement's transition tables, so COPY into a computing batch costs one join.
"""

from django.db import migrations

from core.db import RunSQLOnPostgres

FROZEN = "ARRAY['approved', 'exported', 'reconciled', 'closed']"

FORWARDS = f"""
CREATE OR REPLACE FUNCTION doudi_frozen_batch() RETURNS trigger AS $$
BEGIN
    IF NOT (OLD.status = ANY ({FROZEN})) THEN
        RETURN COALESCE(NEW, OLD);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'batch %: an approved batch is never deleted', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NOT (NEW.status = OLD.status
            OR (OLD.status, NEW.status) IN (('approved', 'exported'), ('exported', 'reconciled'),
                                            ('reconciled', 'closed')))
       OR NEW.region_id <> OLD.region_id OR NEW.month <> OLD.month
       OR NEW.prepared_by_id IS DISTINCT FROM OLD.prepared_by_id
       OR NEW.approved_by_id IS DISTINCT FROM OLD.approved_by_id
       OR NEW.approved_at IS DISTINCT FROM OLD.approved_at
       OR NEW.line_count <> OLD.line_count OR NEW.total_amount <> OLD.total_amount THEN
        RAISE EXCEPTION 'batch %: an approved batch only moves on (approved, exported, reconciled, closed)', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER doudi_frozen_batch
BEFORE UPDATE OR DELETE ON payments_paymentbatch
FOR EACH ROW EXECUTE FUNCTION doudi_frozen_batch();

CREATE OR REPLACE FUNCTION doudi_frozen_lines_insert() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM (SELECT DISTINCT batch_id FROM new_lines) n
        JOIN payments_paymentbatch b ON b.id = n.batch_id
        WHERE b.status = ANY ({FROZEN})
    ) THEN
        RAISE EXCEPTION 'no line is added to an approved batch'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION doudi_frozen_lines_delete() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM (SELECT DISTINCT batch_id FROM old_lines) o
        JOIN payments_paymentbatch b ON b.id = o.batch_id
        WHERE b.status = ANY ({FROZEN})
    ) THEN
        RAISE EXCEPTION 'no line of an approved batch is deleted'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION doudi_frozen_lines_update() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM old_lines o
        JOIN new_lines n ON n.id = o.id
        JOIN payments_paymentbatch b ON b.id IN (o.batch_id, n.batch_id)
        WHERE b.status = ANY ({FROZEN})
          AND (to_jsonb(n) - 'status' - 'failure_reason')
              IS DISTINCT FROM (to_jsonb(o) - 'status' - 'failure_reason')
    ) THEN
        RAISE EXCEPTION 'a line of an approved batch only changes its status'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER doudi_frozen_lines_insert
AFTER INSERT ON payments_paymentline REFERENCING NEW TABLE AS new_lines
FOR EACH STATEMENT EXECUTE FUNCTION doudi_frozen_lines_insert();

CREATE TRIGGER doudi_frozen_lines_delete
AFTER DELETE ON payments_paymentline REFERENCING OLD TABLE AS old_lines
FOR EACH STATEMENT EXECUTE FUNCTION doudi_frozen_lines_delete();

CREATE TRIGGER doudi_frozen_lines_update
AFTER UPDATE ON payments_paymentline REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
FOR EACH STATEMENT EXECUTE FUNCTION doudi_frozen_lines_update();
"""

BACKWARDS = """
DROP TRIGGER IF EXISTS doudi_frozen_lines_update ON payments_paymentline;
DROP TRIGGER IF EXISTS doudi_frozen_lines_delete ON payments_paymentline;
DROP TRIGGER IF EXISTS doudi_frozen_lines_insert ON payments_paymentline;
DROP FUNCTION IF EXISTS doudi_frozen_lines_update();
DROP FUNCTION IF EXISTS doudi_frozen_lines_delete();
DROP FUNCTION IF EXISTS doudi_frozen_lines_insert();
DROP TRIGGER IF EXISTS doudi_frozen_batch ON payments_paymentbatch;
DROP FUNCTION IF EXISTS doudi_frozen_batch();
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0012_two_finance_signatures_on_every_batch")]

    operations = [RunSQLOnPostgres(FORWARDS, BACKWARDS)]
