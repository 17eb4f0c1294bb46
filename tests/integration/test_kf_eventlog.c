/*  test_kf_eventlog — the event log's partitions against a real database:
    days ahead are made once; a prune interrupted between detaching and
    dropping a day is finished by the next one; the keeper makes days ahead
    and prunes at start and on ROUND; rows written through kf_outbox land in
    today's partition and are read back in order across days. */
#include "kf_eventlog.h"
#include "kf_outbox.h"
#include "kf_store.h"
#include "kt_db.h"
#include "kt_eventlog.h"
#include "kt_kefuctl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static kf_store_t *
s_store (const char *url)
{
    kf_store_t *store = kf_store_new (url, "test_kf_eventlog");
    assert_non_null (store);
    assert_int_equal (kf_store_connect (store), 0);
    return store;
}

static void
test_days_ahead_are_made_once (void **state)
{
    (void) state;
    char *url = kt_db_fresh ("eventlog_ahead");
    kf_store_t *store = s_store (url);
    long long before = kt_eventlog_partitions (url);
    kf_error_t err;
    kf_error_clear (&err);
    //  The migration made 3 days ahead; 5 means two more, then none.
    assert_int_equal (kf_eventlog_ensure (store, 5, &err), 2);
    assert_int_equal (kf_eventlog_ensure (store, 5, &err), 0);
    assert_int_equal (kt_eventlog_partitions (url), before + 2);
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM event_partitions WHERE to_ts = "
                                        "((now () AT TIME ZONE 'UTC')::date + 6)::timestamp "
                                        "AT TIME ZONE 'UTC'"),
                      1);
    kf_store_destroy (&store);
    free (url);
}

static void
s_count_dropped (const char *partition, int64_t ends_ms, int64_t rows, void *arg)
{
    (void) partition;
    (void) rows;
    assert_true (ends_ms > 0);
    (*(int *) arg)++;
}

static void
test_an_interrupted_prune_is_finished (void **state)
{
    (void) state;
    char *url = kt_db_fresh ("eventlog_interrupted");
    kt_eventlog_days (url, 4);
    kt_eventlog_events (url, "intake", 1, 1, 3, 4);
    kt_eventlog_offset (url, "routing", "intake", 1, 3);
    //  A prune that stopped after detaching day -4: the table is still
    //  there and still listed.
    char sql[256];
    char *day = kt_db_query1 (url, "SELECT to_char (now () AT TIME ZONE 'UTC' - interval "
                                   "'4 days', 'YYYYMMDD')");
    snprintf (sql, sizeof sql, "ALTER TABLE events DETACH PARTITION events_%s", day);
    free (day);
    kt_sql (url, sql);
    kf_store_t *store = s_store (url);
    kf_error_t err;
    kf_error_clear (&err);
    int seen = 0;
    //  Days -4, -3 and -2 ended more than a day ago.
    assert_int_equal (
        kf_eventlog_prune (store, 24 * 3600 * 1000LL, false, s_count_dropped, &seen, &err), 3);
    assert_int_equal (seen, 3);
    assert_int_equal (kt_db_count (url,
                                   "SELECT count(*) FROM pg_class WHERE relname = 'events_' "
                                   "|| to_char (now () AT TIME ZONE 'UTC' - interval '4 days', "
                                   "'YYYYMMDD')"),
                      0);
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM event_partitions WHERE to_ts < "
                                        "now () - interval '1 day'"),
                      0);
    kf_store_destroy (&store);
    free (url);
}

static void
test_the_keeper_makes_days_ahead_and_prunes (void **state)
{
    (void) state;
    char *url = kt_db_fresh ("eventlog_keeper");
    kt_eventlog_days (url, 10);
    kt_eventlog_events (url, "intake", 2, 1, 100, 9);
    kt_eventlog_events (url, "intake", 2, 101, 150, 1);
    kt_eventlog_offset (url, "routing", "intake", 2, 150);
    //  Ahead partitions gone (as if the days had passed with nobody running).
    kt_sql (url, "DO $$ DECLARE p text; BEGIN FOR p IN SELECT name FROM event_partitions "
                 "WHERE from_ts > now () LOOP EXECUTE format ('DROP TABLE %I', p); "
                 "DELETE FROM event_partitions WHERE name = p; END LOOP; END $$");
    zactor_t *keeper = kf_eventlog_keeper_new (url, "test-keeper", 7LL * 24 * 3600 * 1000, 3600000);
    assert_non_null (keeper);
    //  The round at start is done before the pipe is read: ROUND finds
    //  nothing left to do.
    zstr_send (keeper, "ROUND");
    char *reply = zstr_recv (keeper);
    assert_string_equal (reply, "OK 0 0");
    free (reply);
    //  Days -10 .. -8 ended more than 7 days ago: gone; -9's 100 events with them.
    assert_int_equal (kt_eventlog_kept (url, "intake", 2), 50);
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM event_partitions WHERE to_ts <= "
                                        "now () - interval '7 days'"),
                      0);
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM event_partitions WHERE from_ts > "
                                        "now ()"),
                      KF_EVENTLOG_DAYS_AHEAD);
    zactor_destroy (&keeper);
    free (url);
}

static void
test_outbox_rows_land_today_and_read_in_order_across_days (void **state)
{
    (void) state;
    char *url = kt_db_fresh ("eventlog_outbox");
    kt_eventlog_days (url, 2);
    kt_eventlog_events (url, "intake", 0, 1, 5, 1); //  yesterday
    kf_store_t *store = s_store (url);
    kf_outbox_t *outbox = kf_outbox_new ("intake", store);
    assert_non_null (outbox);
    kf_error_t err;
    kf_error_clear (&err);
    assert_int_equal (kf_store_begin (store, &err), 0);
    Kefu__V1__Event event = KEFU__V1__EVENT__INIT;
    event.shop_id = "shop-a";
    event.kind = "marker";
    event.occurred_at_ms = 1000; //  the record's time, long ago: not where it is stored
    for (int i = 0; i < 3; i++)
        assert_int_equal (kf_outbox_add (outbox, &event), 0);
    assert_int_equal (kf_outbox_flush (outbox, &err), 0);
    assert_int_equal (kf_store_commit (store, &err), 0);
    assert_int_equal (kt_db_count (url, "SELECT count(*) FROM events WHERE shop_id = 'shop-a' "
                                        "AND stored_at >= date_trunc ('day', now () AT TIME ZONE "
                                        "'UTC') AT TIME ZONE 'UTC'"),
                      3);
    kf_outbox_destroy (&outbox);
    kf_store_destroy (&store);
    //  Partition 0's yesterday and today read as one ordered log.
    kt_sql (url, "INSERT INTO events (stream, partition, seq, shop_id, kind, occurred_at, payload) "
                 "SELECT 'intake', 0, g, 'shop-x', 'marker', now (), '\\x00' "
                 "FROM generate_series (6, 8) g");
    char *seqs = kt_db_query1 (url, "SELECT string_agg (seq::text, ',' ORDER BY seq) "
                                    "FROM (SELECT seq FROM events WHERE stream = 'intake' "
                                    "AND partition = 0 AND seq > 3 ORDER BY seq LIMIT 4) s");
    assert_string_equal (seqs, "4,5,6,7");
    free (seqs);
    free (url);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_days_ahead_are_made_once),
        cmocka_unit_test (test_an_interrupted_prune_is_finished),
        cmocka_unit_test (test_the_keeper_makes_days_ahead_and_prunes),
        cmocka_unit_test (test_outbox_rows_land_today_and_read_in_order_across_days),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
