/*  test_kefuctl_events — `kefuctl events list|partitions|prune|forget-consumer`
    against a fresh database whose log has a history of daily partitions:
    pruning drops, oldest first, the days that ended more than --keep ago
    and that every consumer of every stream in them has applied; a consumer
    without an offset for a partition holds its days back; a stream nobody
    consumes holds nothing back; --dry-run drops nothing and counts exactly;
    a retired consumer can be forgotten; bad usage exits 2. */
#include "kt_db.h"
#include "kt_eventlog.h"
#include "kt_kefuctl.h"

#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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
test_prune_drops_the_days_every_consumer_applied (void **state)
{
    (void) state;
    char *url = kt_db_fresh ("kefuctl_events");
    kt_eventlog_days (url, 12); //  a partition per day, 12 days back to today
    //  intake/3: 1..4 ten days ago, 5..8 nine days ago, 9..10 today;
    //  routing applied 6, metrics 8.
    kt_eventlog_events (url, "intake", 3, 1, 4, 10);
    kt_eventlog_events (url, "intake", 3, 5, 8, 9);
    kt_eventlog_events (url, "intake", 3, 9, 10, 0);
    kt_eventlog_offset (url, "routing", "intake", 3, 6);
    kt_eventlog_offset (url, "metrics", "intake", 3, 8);
    //  intake/5: 1..4 nine days ago; routing applied them, metrics has no offset there.
    kt_eventlog_events (url, "intake", 5, 1, 4, 9);
    kt_eventlog_offset (url, "routing", "intake", 5, 4);
    //  admin/0: 5 events eleven days ago; nobody follows the admin stream.
    kt_eventlog_events (url, "admin", 0, 1, 5, 11);
    long long partitions = kt_eventlog_partitions (url);

    //  Days -12 (empty), -11 (admin) and -10 (intake/3 up to 4 <= 6) may go;
    //  day -9 holds intake/3's 8 (routing is at 6): it and the rest stay.
    KT_EXPECT (url, 0, "events", "prune", "--dry-run");
    assert_non_null (strstr (kt_kefuctl_last.out, "would drop 3 partitions, 9 events in all"));
    assert_int_equal (kt_eventlog_partitions (url), partitions);
    assert_int_equal (kt_eventlog_kept (url, "intake", 3), 10);

    KT_EXPECT (url, 0, "events", "prune", "--keep", "7d");
    assert_non_null (strstr (kt_kefuctl_last.out, "dropped 3 partitions"));
    assert_int_equal (kt_eventlog_partitions (url), partitions - 3);
    assert_int_equal (kt_eventlog_kept (url, "intake", 3), 6);
    assert_int_equal (s_oldest (url, "intake", 3), 5);
    assert_int_equal (kt_eventlog_kept (url, "intake", 5), 4);
    assert_int_equal (kt_eventlog_kept (url, "admin", 0), 0);
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM pg_class WHERE relname IN "
                                        "(SELECT 'events_' || to_char (now () AT TIME ZONE 'UTC' "
                                        "- interval '10 days', 'YYYYMMDD'))"),
                      0); //  the table is gone, not only detached

    //  A second run finds nothing more.
    KT_EXPECT (url, 0, "events", "prune");
    assert_non_null (strstr (kt_kefuctl_last.out, "dropped 0 partitions"));

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
            assert_int_equal (oldest, 5);
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
    KT_EXPECT (url, 0, "events", "partitions");
    assert_non_null (strstr (kt_kefuctl_last.out, "ROWS (EST.)"));
    KT_EXPECT (url, 0, "events", "partitions", "--json");
    list = json_loads (kt_kefuctl_last.out, 0, &jerr);
    assert_non_null (list);
    assert_int_equal ((long long) json_array_size (list), partitions - 3);
    json_decref (list);

    //  Retire metrics: day -9 is still held by routing's 6 on intake/3 ...
    KT_EXPECT (url, 0, "events", "forget-consumer", "metrics");
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM consumer_offsets "
                                        "WHERE consumer = 'metrics'"),
                      0);
    KT_EXPECT (url, 0, "events", "prune", "--keep", "7d");
    assert_non_null (strstr (kt_kefuctl_last.out, "dropped 0 partitions"));
    //  ... until routing has applied it: days -9 and -8 (ended 7 days ago) go.
    kt_eventlog_offset (url, "routing", "intake", 3, 10);
    KT_EXPECT (url, 0, "events", "prune", "--keep", "7d");
    assert_non_null (strstr (kt_kefuctl_last.out, "dropped 2 partitions"));
    assert_int_equal (kt_eventlog_kept (url, "intake", 5), 0);
    assert_int_equal (kt_eventlog_kept (url, "intake", 3), 2);

    //  Recent events stay whatever the offsets say: with --keep 1d the days
    //  up to the day before yesterday go, yesterday and today stay.
    KT_EXPECT (url, 0, "events", "prune", "--keep", "1d");
    assert_non_null (strstr (kt_kefuctl_last.out, "dropped 6 partitions"));
    assert_int_equal (kt_eventlog_kept (url, "intake", 3), 2);
    //  Yesterday, today and the days ahead.
    assert_int_equal (kt_eventlog_partitions (url), 2 + 3);
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
    KT_EXPECT (url, 2, "events", "partitions", "--all");
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM events"), 0);
    KT_EXPECT ("dbname=kefu_no_such_database", 1, "events", "list");
    free (url);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_prune_drops_the_days_every_consumer_applied),
        cmocka_unit_test (test_bad_usage),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
