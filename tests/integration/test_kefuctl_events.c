/*  test_kefuctl_events — `kefuctl events list|prune|forget-consumer` against
    a fresh database: pruning removes exactly the events every consumer of
    their stream has applied and that are older than --keep; a consumer
    without an offset for a partition holds that partition back; a stream
    nobody consumes is kept whole; --dry-run deletes nothing; a retired
    consumer can be forgotten; bad usage exits 2. */
#include "kt_db.h"
#include "kt_kefuctl.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

//  Events of (stream, partition) seq 1..n, the first `old` of them 10 days old.
static void
s_events (const char *url, const char *stream, int partition, int n, int old)
{
    char sql[1024];
    snprintf (sql, sizeof sql,
              "INSERT INTO events (stream, partition, seq, shop_id, kind, occurred_at, payload) "
              "SELECT '%s', %d, g, 'shop-x', 'marker', "
              "  CASE WHEN g <= %d THEN now () - interval '10 days' ELSE now () END, '\\x00' "
              "FROM generate_series (1, %d) g; "
              "INSERT INTO event_sequences (stream, partition, last_seq) VALUES ('%s', %d, %d)",
              stream, partition, old, n, stream, partition, n);
    kt_sql (url, sql);
}

static void
s_offset (const char *url, const char *consumer, const char *stream, int partition, int seq)
{
    char sql[512];
    snprintf (sql, sizeof sql,
              "INSERT INTO consumer_offsets (consumer, stream, partition, last_seq) "
              "VALUES ('%s', '%s', %d, %d)",
              consumer, stream, partition, seq);
    kt_sql (url, sql);
}

static long long
s_kept (const char *url, const char *stream, int partition)
{
    char sql[256];
    snprintf (sql, sizeof sql, "SELECT count(*) FROM events WHERE stream = '%s' AND partition = %d",
              stream, partition);
    return kt_db_count (url, sql);
}

static long long
s_oldest (const char *url, const char *stream, int partition)
{
    char sql[256];
    snprintf (sql, sizeof sql,
              "SELECT coalesce (min (seq), 0) FROM events WHERE stream = '%s' AND partition = %d",
              stream, partition);
    return kt_db_count (url, sql);
}

static void
test_prune_what_every_consumer_applied (void **state)
{
    (void) state;
    char *url = kt_db_fresh ("kefuctl_events");
    //  intake/3: seq 1..10, 1..8 old; routing applied 6, metrics 8.
    s_events (url, "intake", 3, 10, 8);
    s_offset (url, "routing", "intake", 3, 6);
    s_offset (url, "metrics", "intake", 3, 8);
    //  intake/5: all 4 old; routing applied all, metrics has no offset here.
    s_events (url, "intake", 5, 4, 4);
    s_offset (url, "routing", "intake", 5, 4);
    //  admin/0: 5 old events, nobody follows the admin stream.
    s_events (url, "admin", 0, 5, 5);

    KT_EXPECT (url, 0, "events", "prune", "--dry-run");
    assert_non_null (strstr (kt_kefuctl_last.out, "would prune 6 events in all"));
    assert_int_equal (s_kept (url, "intake", 3), 10);

    KT_EXPECT (url, 0, "events", "prune", "--keep", "7d");
    assert_non_null (strstr (kt_kefuctl_last.out, "intake/03: pruned 6 events"));
    assert_non_null (strstr (kt_kefuctl_last.out, "admin: no consumer follows this stream"));
    assert_non_null (strstr (kt_kefuctl_last.out, "pruned 6 events in all"));
    assert_int_equal (s_kept (url, "intake", 3), 4);
    assert_int_equal (s_oldest (url, "intake", 3), 7); //  up to the slowest consumer
    assert_int_equal (s_kept (url, "intake", 5), 4);   //  metrics has not applied it
    assert_int_equal (s_kept (url, "admin", 0), 5);    //  no consumer: kept whole

    //  A second run finds nothing more; a longer retention keeps everything.
    KT_EXPECT (url, 0, "events", "prune");
    assert_non_null (strstr (kt_kefuctl_last.out, "pruned 0 events in all"));

    //  The list shows newest, oldest kept, consumers and the slowest lag.
    KT_EXPECT (url, 0, "events", "list", "--json");
    json_error_t jerr;
    json_t *list = json_loads (kt_kefuctl_last.out, 0, &jerr);
    assert_non_null (list);
    assert_int_equal (json_array_size (list), 3);
    int seen = 0;
    for (size_t i = 0; i < json_array_size (list); i++) {
        json_t *row = json_array_get (list, i);
        const char *stream = json_string_value (json_object_get (row, "stream"));
        json_int_t partition = json_integer_value (json_object_get (row, "partition"));
        json_int_t newest = json_integer_value (json_object_get (row, "newest"));
        json_int_t oldest = json_integer_value (json_object_get (row, "oldest_kept"));
        json_int_t consumers = json_integer_value (json_object_get (row, "consumers"));
        json_int_t lag = json_integer_value (json_object_get (row, "slowest_lag"));
        if (strcmp (stream, "intake") == 0 && partition == 3) {
            assert_int_equal (newest, 10);
            assert_int_equal (oldest, 7);
            assert_int_equal (consumers, 2);
            assert_int_equal (lag, 4);
            seen++;
        } else if (strcmp (stream, "intake") == 0 && partition == 5) {
            assert_int_equal (lag, 4); //  metrics is at 0 there
            seen++;
        } else if (strcmp (stream, "admin") == 0) {
            assert_int_equal (consumers, 0);
            seen++;
        }
    }
    assert_int_equal (seen, 3);
    json_decref (list);
    KT_EXPECT (url, 0, "events", "list");
    assert_non_null (strstr (kt_kefuctl_last.out, "SLOWEST LAG"));

    //  Retire metrics: intake/5 (routing is done with it) can go, and
    //  intake/3 now goes up to routing's 6 (already pruned).
    KT_EXPECT (url, 0, "events", "forget-consumer", "metrics");
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM consumer_offsets "
                                        "WHERE consumer = 'metrics'"),
                      0);
    KT_EXPECT (url, 0, "events", "prune", "--keep", "240h");
    assert_non_null (strstr (kt_kefuctl_last.out, "intake/05: pruned 4 events"));
    assert_int_equal (s_kept (url, "intake", 5), 0);
    assert_int_equal (s_kept (url, "intake", 3), 4);

    //  Recent events stay whatever the offsets say.
    s_offset (url, "metrics", "intake", 3, 10);
    kt_sql (url, "UPDATE consumer_offsets SET last_seq = 10 WHERE stream = 'intake'");
    KT_EXPECT (url, 0, "events", "prune", "--keep", "1d");
    assert_int_equal (s_kept (url, "intake", 3), 2); //  9 and 10 are new
    free (url);
}

static void
test_bad_usage (void **state)
{
    (void) state;
    char *url = kt_db_fresh ("kefuctl_events_usage");
    KT_EXPECT (url, 2, "events");
    KT_EXPECT (url, 0, "events", "--help");
    assert_non_null (strstr (kt_kefuctl_last.out, "forget-consumer"));
    KT_EXPECT (url, 2, "events", "vacuum");
    KT_EXPECT (url, 2, "events", "prune", "--keep", "5x");
    KT_EXPECT (url, 2, "events", "prune", "--keep");
    KT_EXPECT (url, 2, "events", "prune", "--force");
    KT_EXPECT (url, 2, "events", "forget-consumer");
    KT_EXPECT (url, 4, "events", "forget-consumer", "nobody'; DROP TABLE events; --");
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM events"), 0);
    KT_EXPECT ("dbname=kefu_no_such_database", 1, "events", "list");
    free (url);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_prune_what_every_consumer_applied),
        cmocka_unit_test (test_bad_usage),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
