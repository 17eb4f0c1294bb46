/*  test_intake_writers — the writers and the keeper around the loop.

    A customer belongs to one writer at a time, also while writers are put
    to work and rested under traffic: bursts of new and returning
    customers, the writer count going up and down between them (customers'
    buckets move), and no transaction fails on a unique key (PostgreSQL
    logs no ERROR, intake's conflict counter stays 0). A conflict that does
    happen is counted in the status.

    The loop that reads gateways never waits on PostgreSQL: the
    quiet-period sweep runs on the keeper. With the conversations table
    locked by the test, a sweep of thousands of conversations cannot
    finish, and meanwhile a new gateway's Hello is welcomed and an item
    sent again is answered DUPLICATE; when the lock goes, the sweep closes
    every one of them. Ordering, not time: the answers come while the
    sweep is seen waiting on the lock.

    A sweep reads a shop's mark once, however many conversations are open,
    also in a generic plan made on statistics of nearly empty tables. */
#include "kefu/v1/gateway.pb-c.h"
#include "kf_clock.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "intake_store.h"
#include "kf_store.h"

#include <libpq-fe.h>

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP      "tmall-writers"
#define ROUNDS    6
#define PER_ROUND 400  //  items per burst
#define RETURNING 150  //  of them from customers seen in earlier rounds
#define QUIET     3000 //  conversations the sweep has to close

typedef struct {
    char *db;            //  conninfo
    kf_clock_t *clock;   //  driven clock
    kt_intake_t *intake; //  the service
    zsock_t *gw;         //  a raw gateway, welcomed
} s_fixture_t;

//  A fresh database `name` with SHOP, intake with `writers` writers on a
//  driven clock, and a gateway that said Hello.
static void
s_open (s_fixture_t *f, const char *name, int writers)
{
    f->db = kt_db_fresh (name);
    kt_shop_add (f->db, SHOP);
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T01:00:00Z"));
    f->intake = kt_intake_new (f->db, f->clock);
    if (writers)
        f->intake->config.writers = writers;
    kt_intake_start (f->intake);
    bool welcomed = false;
    f->gw = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);
}

static void
s_close (s_fixture_t *f)
{
    zsock_destroy (&f->gw);
    kt_intake_destroy (&f->intake);
    kf_clock_destroy (&f->clock);
    free (f->db);
}

//  Send items[0..n) at once, then take every ack: all must be ACCEPTED.
static void
s_burst (zsock_t *gw, kf_clock_t *clock, int round)
{
    for (int i = 0; i < PER_ROUND; i++) {
        char id[64], customer[64];
        snprintf (id, sizeof id, "r%d-m%d", round, i);
        if (i < RETURNING)
            snprintf (customer, sizeof customer, "back-%d", i);
        else
            snprintf (customer, sizeof customer, "new-%d-%d", round, i);
        Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
        Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
        kt_gw_message (&item, &msg, SHOP, id, customer, "还在吗", kf_clock_now_ms (clock));
        kt_gw_send_item (gw, &item);
    }
    for (int i = 0; i < PER_ROUND; i++) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (gw);
        assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
        if (in->ack->status != KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
            fail_msg ("round %d: status %d (%s)", round, in->ack->status, in->ack->reason);
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
}

//  Move the clock a second on at a time until the writers rest down to
//  one (the tick rests one writer per quiet second).
static void
s_rest (kt_intake_t *intake, kf_clock_t *clock)
{
    for (int i = 0; i < 500 && kt_intake_counter (intake, "writers.active", NULL) > 1; i++) {
        kf_clock_advance (clock, 1100);
        zclock_sleep (10); //  polling a condition (the next tick), not letting time pass
    }
    assert_int_equal (kt_intake_counter (intake, "writers.active", NULL), 1);
}

static void
test_writers_coming_and_going_never_collide_on_a_customer (void **state)
{
    (void) state;
    s_fixture_t f;
    s_open (&f, "intake_writers", 4);
    char *db = f.db;
    kf_clock_t *clock = f.clock;
    kt_intake_t *intake = f.intake;
    long mark = kt_db_log_mark ();

    int64_t grown = 0;
    for (int round = 0; round < ROUNDS; round++) {
        s_burst (f.gw, clock, round);
        //  After each burst the writers rest to one; the next burst puts
        //  them to work again, and the buckets of returning customers go
        //  to whichever writer their place among the active ones says.
        s_rest (intake, clock);
    }
    grown = kt_intake_counter (intake, "writers.grown", NULL);
    assert_true (grown > 0);

    int customers = RETURNING + ROUNDS * (PER_ROUND - RETURNING);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM messages"), ROUNDS * PER_ROUND);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM customer_channels"), customers);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM customers"), customers);
    assert_int_equal (kt_intake_counter (intake, "batches.unique_conflicts", NULL), 0);
    assert_int_equal (kt_intake_counter (intake, "batches.presumed_wrong", NULL), 0);
    char first[512] = "";
    if (kt_db_log_errors ("intake_writers", mark, first, sizeof first) != 0)
        fail_msg ("PostgreSQL logged an error: %s", first);
    s_close (&f);
}

//  A customer stored by someone else (another intake, a restore) is not in
//  the writer's memory: presumed new, the insert fails on its key. That
//  failed transaction is counted and the item stored all the same.
static void
test_a_conflict_on_a_unique_key_is_counted (void **state)
{
    (void) state;
    s_fixture_t f;
    s_open (&f, "intake_writers_conflict", 0);
    free (kt_db_query1 (f.db, "WITH c AS (INSERT INTO customers (shop_id, first_seen_at) VALUES "
                              "('" SHOP "', now ()) RETURNING customer_id) "
                              "INSERT INTO customer_channels (shop_id, channel, "
                              "channel_customer_id, customer_id, first_seen_at) "
                              "SELECT '" SHOP "', 1, 'elsewhere', customer_id, now () FROM c "
                              "RETURNING customer_id"));

    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    kt_gw_message (&item, &msg, SHOP, "m-1", "elsewhere", "你好", kf_clock_now_ms (f.clock));
    kt_gw_push (f.gw, &item); //  ACCEPTED
    assert_int_equal (kt_intake_counter (f.intake, "batches.unique_conflicts", NULL), 1);
    assert_int_equal (kt_db_count (f.db, "SELECT count(*) FROM customer_channels"), 1);
    s_close (&f);
}

static void
s_exec (PGconn *conn, const char *sql)
{
    PGresult *res = PQexec (conn, sql);
    if (PQresultStatus (res) != PGRES_COMMAND_OK)
        fail_msg ("%s: %s", sql, PQerrorMessage (conn));
    PQclear (res);
}

static void
test_a_sweep_held_by_a_lock_does_not_hold_back_gateways (void **state)
{
    (void) state;
    s_fixture_t f;
    s_open (&f, "intake_keeper", 0);
    char *db = f.db;
    kf_clock_t *clock = f.clock;
    kt_intake_t *intake = f.intake;
    zsock_t *gw = f.gw;

    //  One item through intake (acked), and thousands of open conversations
    //  whose last message was a minute ago.
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    kt_gw_message (&item, &msg, SHOP, "m-1", "tb_buyer", "在吗", kf_clock_now_ms (clock));
    kt_gw_push (gw, &item);
    char sql[1024];
    snprintf (sql, sizeof sql,
              "INSERT INTO conversations (shop_id, customer_id, channel, channel_customer_id, "
              "opened_at, last_message_at, message_count) SELECT '%s', 1000000 + g, 1, "
              "'quiet-' || g, '2026-11-23T00:50:00Z', '2026-11-23T00:59:00Z', 1 "
              "FROM generate_series (1, %d) g RETURNING 1",
              SHOP, QUIET);
    free (kt_db_query1 (db, sql));
    const char *open_sql = "SELECT count(*) FROM conversations WHERE closed_at IS NULL";
    assert_int_equal (kt_db_count (db, open_sql), QUIET + 1);

    //  Hold the table: the sweep's UPDATE waits (reads and locks of single
    //  rows, which a batch takes, still go).
    char *url = kt_db_url ("intake_keeper");
    PGconn *holder = PQconnectdb (url);
    assert_int_equal (PQstatus (holder), CONNECTION_OK);
    s_exec (holder, "BEGIN");
    s_exec (holder, "LOCK TABLE conversations IN SHARE MODE");

    //  Past the quiet period, the abandon limit (tb_buyer waits for a
    //  reply), the catch-up time and the sweep interval: the next tick
    //  sweeps.
    kf_clock_advance (clock, 26 * 3600000LL);
    assert_true (kt_db_wait_lock_waiter (db, "kefu-intake"));

    //  Meanwhile the gateways are answered.
    bool second = false;
    zsock_t *gw2 = kt_gw_connect (intake->gateway_endpoint, "qianniu-2", SHOP, &second);
    assert_true (second);
    kt_gw_send_item (gw, &item);
    Kefu__V1__IntakeFrame *in = kt_gw_recv (gw);
    assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_DUPLICATE);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    //  ... while the sweep has closed nothing yet.
    assert_int_equal (kt_intake_counter (intake, "conversations.closed", NULL), 0);
    assert_true (kt_db_wait_lock_waiter (db, "kefu-intake"));

    //  The lock goes: the sweep closes them all, in bounded transactions.
    s_exec (holder, "COMMIT");
    assert_true (kt_control_wait (intake->control_endpoint, "conversations.closed", QUIET + 1) >=
                 QUIET + 1);
    assert_int_equal (kt_db_count (db, open_sql), 0);
    assert_int_equal (kt_intake_counter (intake, "sweeps.failed", NULL), 0);

    PQfinish (holder);
    free (url);
    zsock_destroy (&gw2);
    s_close (&f);
}

//  The most times one node of a plan read the messages table.
static int
s_on_plan (const PGresult *res, void *arg)
{
    int *most = arg;
    for (int r = 0; r < PQntuples (res); r++) {
        const char *line = kf_store_text (res, r, 0);
        const char *loops = strstr (line, "loops=");
        if (strstr (line, " on messages ") && loops && atoi (loops + 6) > *most)
            *most = atoi (loops + 6);
    }
    return 0;
}

//  A sweep reads a shop's mark (its latest messages) once, however many
//  conversations are open. The keeper's plans are generic; one made while
//  the tables were nearly empty (a fresh start, statistics not gathered
//  since) read the mark again for every open conversation, each time all
//  the shop's messages in the plan kefu-intake made in test_intake_faults:
//  a sweep over 2,000 waiting conversations ran for minutes, and intake,
//  told to stop meanwhile, waited for it past its drain time. Counted on
//  the keeper's kind of plan (EXPLAIN ANALYZE of the statement, nothing
//  due); then the sweep leaves the waiting conversations open and intake
//  drains.
static void
test_a_sweep_reads_a_shops_mark_once (void **state)
{
    (void) state;
    s_fixture_t f;
    s_open (&f, "intake_sweep_mark", 0);
    PGconn *conn = PQconnectdb (f.db);
    assert_int_equal (PQstatus (conn), CONNECTION_OK);
    s_exec (conn, "ALTER TABLE messages SET (autovacuum_enabled = false)");
    s_exec (conn, "ALTER TABLE conversations SET (autovacuum_enabled = false)");

    //  One customer waits; the statistics are gathered then.
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    kt_gw_message (&item, &msg, SHOP, "m-1", "tb_buyer", "在吗", kf_clock_now_ms (f.clock));
    kt_gw_push (f.gw, &item);
    s_exec (conn, "ANALYZE messages");
    s_exec (conn, "ANALYZE conversations");

    //  Then 1,000 more waiting customers with 20 messages each, sent now.
    s_exec (conn, "INSERT INTO conversations (shop_id, customer_id, channel, "
                  "channel_customer_id, opened_at, last_message_at, message_count) "
                  "SELECT '" SHOP "', 2000000 + g, 1, 'waiting-' || g, "
                  "'2026-11-23T00:50:00Z', '2026-11-23T01:00:00Z', 20 "
                  "FROM generate_series (1, 1000) g");
    s_exec (conn, "INSERT INTO messages (shop_id, message_id, gateway_id, gateway_msg_id, "
                  "kind, channel, conversation_id, customer_id, sent_at, received_at) "
                  "SELECT c.shop_id, nextval ('messages_message_id_seq'::regclass), 'bulk', "
                  "c.channel_customer_id || '-' || i, 1, 1, c.conversation_id, c.customer_id, "
                  "c.opened_at + i * interval '30 s', c.opened_at + i * interval '30 s' "
                  "FROM conversations c, generate_series (1, 20) i "
                  "WHERE c.channel_customer_id LIKE 'waiting-%'");
    PQfinish (conn);

    //  The statement as the keeper plans it.
    kf_store_t *store = kf_store_new (f.db, "test-sweep-plan");
    kf_store_set_batch_plans (store, true);
    intake_store_register (store);
    assert_int_equal (kf_store_connect (store), 0);
    char sql[256];
    snprintf (sql, sizeof sql,
              "EXPLAIN (ANALYZE, COSTS OFF) EXECUTE intake_close_quiet ('{" SHOP "}', "
              "%" PRId64 ", 500, %" PRId64 ", %" PRId64 ")",
              f.intake->config.quiet_period, f.intake->config.abandon_after,
              kf_clock_now_ms (f.clock) - f.intake->config.catch_up);
    kf_params_t none;
    kf_params_init (&none);
    kf_error_t err;
    int most = 0;
    assert_int_equal (kf_store_begin (store, &err), 0);
    assert_int_equal (kf_store_exec_sql (store, sql, &none, s_on_plan, &most, &err), 0);
    kf_store_rollback (store);
    kf_store_destroy (&store);
    assert_int_equal (most, 1);

    kt_intake_advance (f.intake, f.intake->config.sweep_interval);
    assert_int_equal (kt_db_count (f.db, "SELECT count(*) FROM conversations "
                                         "WHERE closed_at IS NULL"),
                      1001);
    assert_int_equal (kt_intake_counter (f.intake, "sweeps.failed", NULL), 0);
    s_close (&f);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_writers_coming_and_going_never_collide_on_a_customer),
        cmocka_unit_test (test_a_conflict_on_a_unique_key_is_counted),
        cmocka_unit_test (test_a_sweep_held_by_a_lock_does_not_hold_back_gateways),
        cmocka_unit_test (test_a_sweep_reads_a_shops_mark_once),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
