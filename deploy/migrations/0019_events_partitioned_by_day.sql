-- 0019 the event log partitioned by the day it was stored.
--
-- Pruning deleted old events row by row: millions of dead tuples for
-- autovacuum, a table that never shrank, and writers slowed while it ran.
-- Now `events` is partitioned by range of stored_at (when the row was
-- written, by PostgreSQL's clock — not occurred_at, which is the
-- platform's time and may lie days back), one partition per UTC day named
-- events_YYYYMMDD, listed with its bounds in event_partitions. Pruning
-- (common/kf_eventlog.c) detaches and drops whole partitions that every
-- consumer of every stream in them has passed: no DELETE, no dead tuple.
--
-- Partitions are created ahead (kefu_events_ensure_partitions) by this
-- migration, by every service that writes a stream (at start and hourly)
-- and by kefuctl before it writes. The rows stored before this migration
-- stay, in one partition events_legacy that reaches to the end of the day
-- the migration ran; it is pruned like any other.

ALTER TABLE events RENAME TO events_legacy;
ALTER TABLE events_legacy RENAME CONSTRAINT events_pkey TO events_legacy_pkey;
-- A non-volatile default: no rewrite, existing rows read the migration's time.
ALTER TABLE events_legacy ADD COLUMN stored_at timestamptz NOT NULL DEFAULT now ();
ALTER TABLE events_legacy DROP CONSTRAINT events_legacy_pkey;
ALTER TABLE events_legacy ADD CONSTRAINT events_legacy_pkey
    PRIMARY KEY (stream, partition, seq, stored_at);

-- The same columns in the same order as before, stored_at last; sequences
-- stay unique per (stream, partition) through event_sequences (0002), the
-- key carries stored_at because a partitioned table's keys must.
CREATE TABLE events (
    stream       text NOT NULL,
    partition    smallint NOT NULL,
    seq          bigint NOT NULL,
    shop_id      text NOT NULL,
    kind         text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    payload      bytea NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now (),
    PRIMARY KEY (stream, partition, seq, stored_at)
) PARTITION BY RANGE (stored_at);

CREATE TABLE event_partitions (
    name     text PRIMARY KEY CHECK (name ~ '^events_[a-z0-9_]{1,40}$'),
    from_ts  timestamptz NOT NULL,
    to_ts    timestamptz NOT NULL,
    CHECK (from_ts < to_ts)
);

-- The statistics targets of 0013, per partition (a partition's own
-- statistics are what autovacuum gathers).
CREATE FUNCTION kefu_events_partition_statistics (part text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format ('ALTER TABLE %I '
        'ALTER COLUMN stream SET STATISTICS 10, ALTER COLUMN partition SET STATISTICS 10, '
        'ALTER COLUMN seq SET STATISTICS 10, ALTER COLUMN occurred_at SET STATISTICS 10, '
        'ALTER COLUMN shop_id SET STATISTICS 0, ALTER COLUMN kind SET STATISTICS 0, '
        'ALTER COLUMN payload SET STATISTICS 0, ALTER COLUMN stored_at SET STATISTICS 10', part);
END
$$;

-- Create the daily partitions from the end of the newest one (or today)
-- up to days_ahead days after today (UTC); returns how many were created.
-- A partition is made as a table of its own and attached, which takes only
-- a SHARE UPDATE EXCLUSIVE lock on events: writers are not blocked. Two
-- callers at once are serialised by an advisory lock.
CREATE FUNCTION kefu_events_ensure_partitions (days_ahead int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    today date := (now () AT TIME ZONE 'UTC')::date;
    d date;
    part text;
    made int := 0;
BEGIN
    PERFORM pg_advisory_xact_lock (hashtext ('kefu.events.partitions'));
    SELECT greatest (today, coalesce (max ((to_ts AT TIME ZONE 'UTC')::date), today))
        INTO d FROM event_partitions;
    WHILE d <= today + days_ahead LOOP
        part := 'events_' || to_char (d, 'YYYYMMDD');
        EXECUTE format ('CREATE TABLE %I (LIKE events INCLUDING DEFAULTS)', part);
        PERFORM kefu_events_partition_statistics (part);
        EXECUTE format ('ALTER TABLE events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
            part, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
        INSERT INTO event_partitions (name, from_ts, to_ts)
            VALUES (part, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE 'UTC');
        made := made + 1;
        d := d + 1;
    END LOOP;
    RETURN made;
END
$$;

-- The partitions that may go, oldest first: ended more than `keep` ago,
-- and for every (stream, partition) with rows in it, its newest seq there
-- applied by every consumer of that stream (a consumer without an offset
-- for the partition counts as 0). A stream nobody consumes holds nothing
-- back. Stops at the first partition that must stay, so the log is always
-- a suffix of what was written.
CREATE FUNCTION kefu_events_droppable (keep interval)
RETURNS TABLE (name text, to_ts timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    p record;
    s record;
    top int8;
    upto int8;
    held boolean;
BEGIN
    FOR p IN SELECT ep.name, ep.to_ts FROM event_partitions ep
             WHERE ep.to_ts <= now () - keep ORDER BY ep.to_ts LOOP
        held := false;
        FOR s IN SELECT es.stream, es.partition FROM event_sequences es LOOP
            EXECUTE format ('SELECT max (seq) FROM %I WHERE stream = $1 AND partition = $2', p.name)
                INTO top USING s.stream, s.partition;
            CONTINUE WHEN top IS NULL;
            SELECT min (coalesce (o.last_seq, 0)) INTO upto
                FROM (SELECT DISTINCT c.consumer FROM consumer_offsets c WHERE c.stream = s.stream) AS c
                LEFT JOIN consumer_offsets o ON o.consumer = c.consumer AND o.stream = s.stream
                    AND o.partition = s.partition;
            IF upto IS NOT NULL AND top > upto THEN
                held := true;
                EXIT;
            END IF;
        END LOOP;
        EXIT WHEN held;
        name := p.name;
        to_ts := p.to_ts;
        RETURN NEXT;
    END LOOP;
END
$$;

-- The rows of one partition (kefuctl events prune --dry-run).
CREATE FUNCTION kefu_events_count (part text) RETURNS int8
LANGUAGE plpgsql STABLE AS $$
DECLARE
    n int8;
BEGIN
    EXECUTE format ('SELECT count (*) FROM %I', part) INTO n;
    RETURN n;
END
$$;

-- The rows kept so far: one partition up to the end of today.
DO $$
DECLARE
    upto timestamptz := ((now () AT TIME ZONE 'UTC')::date + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    PERFORM kefu_events_partition_statistics ('events_legacy');
    EXECUTE format ('ALTER TABLE events ATTACH PARTITION events_legacy FOR VALUES FROM (MINVALUE) TO (%L)', upto);
    INSERT INTO event_partitions (name, from_ts, to_ts) VALUES ('events_legacy', '-infinity', upto);
END
$$;

SELECT kefu_events_ensure_partitions (3);
