/*  kt_eventlog — an event log with a history, for tests of pruning. */
#include "kt_eventlog.h"

#include "kt_db.h"
#include "kt_kefuctl.h"

#include <stdio.h>

void
kt_eventlog_days (const char *url, int days)
{
    char sql[1536];
    snprintf (sql, sizeof sql,
              "DO $$ DECLARE d date; part text; BEGIN "
              "IF EXISTS (SELECT 1 FROM events_legacy) THEN RAISE 'events_legacy is not empty'; "
              "END IF; "
              "ALTER TABLE events DETACH PARTITION events_legacy; DROP TABLE events_legacy; "
              "DELETE FROM event_partitions WHERE name = 'events_legacy'; "
              "FOR i IN 0..%d LOOP "
              "  d := (now () AT TIME ZONE 'UTC')::date - i; "
              "  part := 'events_' || to_char (d, 'YYYYMMDD'); "
              "  EXECUTE format ('CREATE TABLE %%I (LIKE events INCLUDING DEFAULTS)', part); "
              "  EXECUTE format ('ALTER TABLE events ATTACH PARTITION %%I FOR VALUES FROM (%%L) "
              "TO (%%L)', part, d::timestamp AT TIME ZONE 'UTC', (d + 1)::timestamp AT TIME ZONE "
              "'UTC'); "
              "  INSERT INTO event_partitions VALUES (part, d::timestamp AT TIME ZONE 'UTC', "
              "(d + 1)::timestamp AT TIME ZONE 'UTC'); "
              "END LOOP; END $$",
              days);
    kt_sql (url, sql);
}

void
kt_eventlog_events (const char *url, const char *stream, int partition, int from, int to,
                    int days_ago)
{
    char sql[1024];
    snprintf (sql, sizeof sql,
              "INSERT INTO events (stream, partition, seq, shop_id, kind, occurred_at, payload, "
              "stored_at) SELECT '%s', %d, g, 'shop-x', 'marker', now (), '\\x00', "
              "((now () AT TIME ZONE 'UTC')::date - %d)::timestamp AT TIME ZONE 'UTC' "
              "+ interval '12 hours' FROM generate_series (%d, %d) g; "
              "INSERT INTO event_sequences (stream, partition, last_seq) VALUES ('%s', %d, %d) "
              "ON CONFLICT (stream, partition) DO UPDATE SET last_seq = "
              "greatest (event_sequences.last_seq, EXCLUDED.last_seq)",
              stream, partition, days_ago, from, to, stream, partition, to);
    kt_sql (url, sql);
}

void
kt_eventlog_offset (const char *url, const char *consumer, const char *stream, int partition,
                    int seq)
{
    char sql[512];
    snprintf (sql, sizeof sql,
              "INSERT INTO consumer_offsets (consumer, stream, partition, last_seq) "
              "VALUES ('%s', '%s', %d, %d) ON CONFLICT (consumer, stream, partition) "
              "DO UPDATE SET last_seq = EXCLUDED.last_seq",
              consumer, stream, partition, seq);
    kt_sql (url, sql);
}

long long
kt_eventlog_kept (const char *url, const char *stream, int partition)
{
    char sql[256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM events WHERE stream = '%s' AND partition = %d",
              stream, partition);
    return kt_db_count (url, sql);
}

long long
kt_eventlog_partitions (const char *url)
{
    return kt_db_count (url,
                        "SELECT count(*) FROM pg_inherits WHERE inhparent = 'events'::regclass");
}
