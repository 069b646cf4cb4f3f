"""Payment lines partitioned by month (PostgreSQL; the embedded SQLite mode keeps one table).

A month's COPY wrote into indexes spread over every earlier month, so a month cost more the more
months came before it. Now ``payments_paymentline`` is partitioned BY RANGE (month): each month
has its own partition and its own small indexes (see docs/payroll.md).

The table as it was becomes the partition ``payments_paymentline_history`` for every month up to
the cut-over (the first month after the latest month in it), attached after a validated CHECK so
the attach does not scan it again; ``payments_paymentline_default`` catches a line of a month with
no partition yet (payments.partitions makes the monthly ones, moving such lines into them). The
indexes, the amount check and the triggers are taken from the table as it was and made on the
parent (the row trigger is cloned to each partition). The primary key in the database becomes
(id, month): a unique key must hold the partition key; Django keeps ``id`` as the key, unique by
its identity sequence, which goes on above the highest id.

A failed transfer is re-issued once whatever month it is re-issued in: a unique index on
source_ref alone cannot hold across partitions, so the re-issue lines' source_refs are kept in
``payments_reissued_transfer`` (primary key ``one_reissue_per_failed_transfer``), written by
statement triggers on the lines in the re-issue's own statement. The model keeps the line
constraint of that name, which the SQLite table still has.

Backwards copies the lines into one plain table again (fine for small data).
"""

from django.db import migrations

from core.db import RunSQLOnPostgres

PARTITIONS = r"""
CREATE FUNCTION payments_line_partitions()
RETURNS TABLE (partition regclass, from_month date, to_month date)
LANGUAGE sql STABLE AS $$
    SELECT c.oid::regclass,
           CASE WHEN b[1] = 'MINVALUE' THEN '-infinity'::date ELSE trim(b[1], '''')::date END,
           CASE WHEN b[2] = 'MAXVALUE' THEN 'infinity'::date ELSE trim(b[2], '''')::date END
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    CROSS JOIN LATERAL regexp_match(pg_get_expr(c.relpartbound, c.oid),
                                    'FROM \((.+)\) TO \((.+)\)') b
    WHERE i.inhparent = 'payments_paymentline'::regclass AND b IS NOT NULL
$$;

-- Owned by the owner role and run with its rights (the app role owns no table): one month's
-- partition, made as an empty table, filled with that month's lines from the DEFAULT partition
-- if any are there, then attached (a SHARE UPDATE EXCLUSIVE lock on the parent, which writers
-- and readers do not wait for). NULL when a partition already holds the month.
CREATE FUNCTION payments_line_month_partition(line_month date) RETURNS text
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
    EXECUTE format('ALTER TABLE payments_paymentline ATTACH PARTITION %I '
                   'FOR VALUES FROM (%L) TO (%L)', name, month_from, month_to);
    EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', name, name || '_month');
    RETURN name;
END $$;
"""

REISSUES = """
CREATE TABLE payments_reissued_transfer (
    source_ref varchar(60) PRIMARY KEY,
    line_id bigint NOT NULL,
    month date NOT NULL
);

CREATE FUNCTION payments_reissued_once() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        DELETE FROM payments_reissued_transfer;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM payments_reissued_transfer r USING old_lines o
        WHERE o.kind = 'reissue' AND r.source_ref = o.source_ref AND r.line_id = o.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO payments_reissued_transfer (source_ref, line_id, month)
        SELECT source_ref, id, month FROM new_lines WHERE kind = 'reissue';
    END IF;
    RETURN NULL;
END $$;
"""

REISSUE_TRIGGERS = """
CREATE TRIGGER payments_reissued_once_insert
    AFTER INSERT ON payments_paymentline REFERENCING NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payments_reissued_once();
CREATE TRIGGER payments_reissued_once_update
    AFTER UPDATE ON payments_paymentline REFERENCING OLD TABLE AS old_lines NEW TABLE AS new_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payments_reissued_once();
CREATE TRIGGER payments_reissued_once_delete
    AFTER DELETE ON payments_paymentline REFERENCING OLD TABLE AS old_lines
    FOR EACH STATEMENT EXECUTE FUNCTION payments_reissued_once();
CREATE TRIGGER payments_reissued_once_truncate
    AFTER TRUNCATE ON payments_paymentline
    FOR EACH STATEMENT EXECUTE FUNCTION payments_reissued_once();
"""

# The table's own triggers, indexes (but the primary key and the re-issue index) and CHECK
# constraints, as SQL to make them again on whatever table is then named payments_paymentline
# (a partitioned table's index definitions say ON ONLY, which a plain table does not take).
CAPTURE = """
    CREATE TEMP TABLE line_ddl (step int, sql text) ON COMMIT DROP;
    INSERT INTO line_ddl
    SELECT 1, replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ')
    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = 'payments_paymentline'::regclass AND NOT i.indisprimary
      AND c.relname <> 'one_reissue_per_failed_transfer';
    INSERT INTO line_ddl
    SELECT 2, format('ALTER TABLE payments_paymentline ADD CONSTRAINT %I %s',
                     conname, pg_get_constraintdef(oid))
    FROM pg_constraint WHERE conrelid = 'payments_paymentline'::regclass AND contype = 'c';
    INSERT INTO line_ddl
    SELECT 3, pg_get_triggerdef(oid) FROM pg_trigger
    WHERE tgrelid = 'payments_paymentline'::regclass AND NOT tgisinternal AND tgparentid = 0
      AND tgname NOT LIKE 'payments_reissued_once_%';
    INSERT INTO line_ddl
    SELECT 4, format('COMMENT ON TRIGGER %I ON payments_paymentline IS %L',
                     tgname, obj_description(oid, 'pg_trigger'))
    FROM pg_trigger
    WHERE tgrelid = 'payments_paymentline'::regclass AND NOT tgisinternal AND tgparentid = 0
      AND obj_description(oid, 'pg_trigger') IS NOT NULL;
    FOR r IN SELECT tgname FROM pg_trigger
             WHERE tgrelid = 'payments_paymentline'::regclass AND NOT tgisinternal
               AND tgparentid = 0 LOOP
        EXECUTE format('DROP TRIGGER %I ON payments_paymentline', r.tgname);
    END LOOP;
"""

FORWARD = (
    PARTITIONS
    + REISSUES
    + f"""
DO $$
DECLARE
    cutover date;
    last_id bigint;
    r record;
BEGIN
{CAPTURE}
    INSERT INTO payments_reissued_transfer (source_ref, line_id, month)
    SELECT source_ref, id, month FROM payments_paymentline WHERE kind = 'reissue';
    DROP INDEX one_reissue_per_failed_transfer;

    SELECT max(id), (date_trunc('month', max(month)) + interval '1 month')::date
    INTO last_id, cutover FROM payments_paymentline;
    last_id := greatest(last_id, pg_sequence_last_value(
        pg_get_serial_sequence('payments_paymentline', 'id')::regclass));

    ALTER TABLE payments_paymentline RENAME TO payments_paymentline_history;
    ALTER TABLE payments_paymentline_history ALTER COLUMN id DROP IDENTITY;
    ALTER TABLE payments_paymentline_history DROP CONSTRAINT payments_paymentline_pkey;
    FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = 'payments_paymentline_history'::regclass LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname, 'history_' || r.relname);
    END LOOP;

    CREATE TABLE payments_paymentline (LIKE payments_paymentline_history INCLUDING DEFAULTS
        INCLUDING STORAGE INCLUDING COMPRESSION) PARTITION BY RANGE (month);
    ALTER TABLE payments_paymentline ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
    ALTER TABLE payments_paymentline ADD CONSTRAINT payments_paymentline_pkey
        PRIMARY KEY (id, month);
    FOR r IN SELECT sql FROM line_ddl WHERE step IN (1, 2) ORDER BY step LOOP
        EXECUTE r.sql;
    END LOOP;

    IF cutover IS NULL THEN
        DROP TABLE payments_paymentline_history;
    ELSE
        ALTER TABLE payments_paymentline_history ADD CONSTRAINT history_pkey
            PRIMARY KEY (id, month);
        EXECUTE format('ALTER TABLE payments_paymentline_history '
                       'ADD CONSTRAINT history_months CHECK (month < %L)', cutover);
        EXECUTE format('ALTER TABLE payments_paymentline ATTACH PARTITION '
                       'payments_paymentline_history FOR VALUES FROM (MINVALUE) TO (%L)', cutover);
        ALTER TABLE payments_paymentline_history DROP CONSTRAINT history_months;
    END IF;
    IF last_id IS NOT NULL THEN
        PERFORM setval(pg_get_serial_sequence('payments_paymentline', 'id'), last_id);
    END IF;
    CREATE TABLE payments_paymentline_default PARTITION OF payments_paymentline DEFAULT;

    FOR r IN SELECT sql FROM line_ddl WHERE step IN (3, 4) ORDER BY step LOOP
        EXECUTE r.sql;
    END LOOP;
    DROP TABLE line_ddl;
END $$;
"""
    + REISSUE_TRIGGERS
    + "ALTER TABLE payments_reissued_transfer RENAME CONSTRAINT payments_reissued_transfer_pkey "
    "TO one_reissue_per_failed_transfer;\n"
    + "ANALYZE payments_paymentline;\n"
)

BACKWARD = f"""
DO $$
DECLARE
    last_id bigint;
    r record;
BEGIN
{CAPTURE}
    CREATE TABLE payments_paymentline_plain (LIKE payments_paymentline INCLUDING DEFAULTS
        INCLUDING STORAGE INCLUDING COMPRESSION);
    INSERT INTO payments_paymentline_plain SELECT * FROM payments_paymentline ORDER BY id;
    last_id := pg_sequence_last_value(
        pg_get_serial_sequence('payments_paymentline', 'id')::regclass);
    DROP TABLE payments_paymentline;
    ALTER TABLE payments_paymentline_plain RENAME TO payments_paymentline;
    ALTER TABLE payments_paymentline ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY;
    ALTER TABLE payments_paymentline ADD CONSTRAINT payments_paymentline_pkey PRIMARY KEY (id);
    IF last_id IS NOT NULL THEN
        PERFORM setval(pg_get_serial_sequence('payments_paymentline', 'id'), last_id);
    END IF;
    FOR r IN SELECT sql FROM line_ddl ORDER BY step LOOP
        EXECUTE r.sql;
    END LOOP;
    DROP TABLE line_ddl;
END $$;
DROP TABLE payments_reissued_transfer;
CREATE UNIQUE INDEX one_reissue_per_failed_transfer ON payments_paymentline (source_ref)
    WHERE kind = 'reissue';
ALTER TABLE payments_paymentline SET (autovacuum_analyze_scale_factor = 0.01,
    autovacuum_analyze_threshold = 1000);
DROP FUNCTION payments_reissued_once();
DROP FUNCTION payments_line_month_partition(date);
DROP FUNCTION payments_line_partitions();
"""


class Migration(migrations.Migration):
    dependencies = [("payments", "0017_failed_lines_after_review_counts")]

    operations = [RunSQLOnPostgres(FORWARD, BACKWARD)]
