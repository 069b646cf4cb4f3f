"""Every partition of the payment lines takes an insert that names it as the parent does.

A batch's chunk COPYs its lines straight into its month's partition (payments.payroll_io): a
COPY into the partitioned parent, whose insert checks read the statement's new rows (transition
tables), inserts row by row — PostgreSQL batches a COPY's rows only when the target is not
partitioned or has no such trigger — and routes every row. For that, each partition gets what an
insert into the parent has:

* the parent's ids: a partition has no identity of its own (PostgreSQL 15), so its ``id``
  defaults to the parent's identity sequence;
* the parent's statement-level insert checks (the references exist, no line enters an approved
  batch, a failed transfer is re-issued once): statement triggers fire only on the table a
  statement names, so without them an insert naming a partition skipped them;
* the parent's SELECT and INSERT grants (the app role's), which a partition made later by
  ``payments_line_month_partition`` did not have.

``payments_line_partition_takes_inserts(partition)`` does the three, reading the parent's
triggers and grants as they are; the month function calls it for each partition it makes, and
this migration for the partitions there are. The app role has no UPDATE, DELETE or TRUNCATE on a
partition: those go through the parent and its guards.
"""

from django.db import migrations

from core.db import RunSQLOnPostgres

TAKES_INSERTS = r"""
CREATE FUNCTION payments_line_partition_takes_inserts(part regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    parent regclass := 'payments_paymentline'::regclass;
    r record;
BEGIN
    IF part::text NOT LIKE 'payments\_paymentline\_%' THEN
        RAISE EXCEPTION '% is not a partition of the payment lines', part;
    END IF;
    EXECUTE format('ALTER TABLE %s ALTER COLUMN id SET DEFAULT nextval(%L)', part,
                   pg_get_serial_sequence('payments_paymentline', 'id'));
    -- Statement-level (tgtype bit 0 clear) insert (bit 2) triggers of the parent's own.
    FOR r IN SELECT pg_get_triggerdef(t.oid) AS def FROM pg_trigger t
             WHERE t.tgrelid = parent AND NOT t.tgisinternal AND t.tgparentid = 0
               AND t.tgtype & 1 = 0 AND t.tgtype & 4 <> 0 LOOP
        -- The definition names the parent (schema-qualified) after its first ' ON '.
        EXECUTE regexp_replace(r.def, ' ON \S+ ', ' ON ' || part::text || ' ');
    END LOOP;
    FOR r IN SELECT a.privilege_type, a.grantee FROM pg_class c
             CROSS JOIN LATERAL aclexplode(c.relacl) a
             WHERE c.oid = parent AND a.grantee <> c.relowner
               AND a.privilege_type IN ('SELECT', 'INSERT') LOOP
        EXECUTE format('GRANT %s ON %s TO %s', r.privilege_type, part,
                       CASE WHEN r.grantee = 0 THEN 'PUBLIC'
                            ELSE quote_ident(r.grantee::regrole::text) END);
    END LOOP;
END $$;
-- Called by the month function, which runs as the owner; nobody else.
REVOKE EXECUTE ON FUNCTION payments_line_partition_takes_inserts(regclass) FROM PUBLIC;
"""

# payments 0018's month function, with the partition made ready for inserts before it is
# attached.
MONTH_PARTITION = r"""
CREATE OR REPLACE FUNCTION payments_line_month_partition(line_month date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    month_from date := date_trunc('month', line_month)::date;
    month_to date := (date_trunc('month', line_month) + interval '1 month')::date;
    name text := 'payments_paymentline_' || to_char(line_month, '"y"YYYY"m"MM');
BEGIN
    LOCK TABLE payments_paymentline IN SHARE UPDATE EXCLUSIVE MODE;
    IF EXISTS (SELECT 1 FROM payments_line_partitions() p
               WHERE p.from_month <= month_from AND month_from < p.to_month) THEN
        RETURN NULL;
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE payments_paymentline INCLUDING DEFAULTS '
                   'INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMPRESSION)', name);
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (month >= %L AND month < %L)',
                   name, name || '_month', month_from, month_to);
    EXECUTE format('WITH moved AS (DELETE FROM payments_paymentline_default '
                   'WHERE month >= %L AND month < %L RETURNING *) '
                   'INSERT INTO %I SELECT * FROM moved', month_from, month_to, name);
    PERFORM payments_line_partition_takes_inserts(name::regclass);
    EXECUTE format('ALTER TABLE payments_paymentline ATTACH PARTITION %I '
                   'FOR VALUES FROM (%L) TO (%L)', name, month_from, month_to);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', name, name || '_month');
    RETURN name;
END $$;
"""

FORWARD = (
    TAKES_INSERTS
    + MONTH_PARTITION
    + """
SELECT payments_line_partition_takes_inserts(i.inhrelid::regclass)
FROM pg_inherits i WHERE i.inhparent = 'payments_paymentline'::regclass;
"""
)

BACKWARD = r"""
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT t.tgname, t.tgrelid::regclass AS part FROM pg_trigger t
             JOIN pg_inherits i ON i.inhrelid = t.tgrelid
             WHERE i.inhparent = 'payments_paymentline'::regclass
               AND NOT t.tgisinternal AND t.tgparentid = 0 LOOP
        EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.part);
    END LOOP;
    FOR r IN SELECT i.inhrelid::regclass AS part FROM pg_inherits i
             WHERE i.inhparent = 'payments_paymentline'::regclass LOOP
        EXECUTE format('ALTER TABLE %s ALTER COLUMN id DROP DEFAULT', r.part);
    END LOOP;
END $$;
""" + MONTH_PARTITION.replace(
    "    PERFORM payments_line_partition_takes_inserts(name::regclass);\n", ""
) + "DROP FUNCTION payments_line_partition_takes_inserts(regclass);\n"


class Migration(migrations.Migration):
    dependencies = [("payments", "0018_lines_partitioned_by_month")]

    operations = [RunSQLOnPostgres(FORWARD, BACKWARD)]
