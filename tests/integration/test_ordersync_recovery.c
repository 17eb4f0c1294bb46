/*  test_ordersync_recovery — kill -9 of kefu-ordersync in the middle of 16:00.

    10,000 unpaid orders and 500 paid ones reach order-sync (the real
    binary, on a driven clock) through intake. Its clock reaches 16:00 and
    order-sync is killed with SIGKILL at random moments: right after the
    clock moved (deciding), then each time intake has stored a random
    further share of the reminders (handing them in), and started again at
    16:00:00.5 each time; or it is killed while intake is down (its
    decisions committed, none handed in). Every unpaid order ends reminded
    exactly once (one command stored by intake per order), no paid one is,
    and nothing is left to send. The seed of the random moments is printed
    (KEFU_TEST_SEED=N repeats a run). */
#include "kefu/v1/control.pb-c.h"
#include "kefu_gateway.h"
#include "kf_control.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_process.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define SHOP   "shop-k"
#define UNPAID 10000
#define PAID   500
#define KILLS  4 //  kill -9 while handing in, after the one right after 16:00
//  2026-11-23 15:00 Shanghai; order-sync starts one second before 16:00.
#define INTAKE_START "2026-11-23T07:00:00Z"
#define BEFORE_16    "1795420799000" //  15:59:59, in ms
#define AFTER_16     "1795420800500" //  16:00:00.5

static pid_t
s_spawn (const char *db, kt_intake_t *intake, int control_port, int routing_port,
         const char *clock_at)
{
    char path[1024];
    kt_process_bin (path, sizeof path, "services/ordersync/kefu-ordersync");
    assert_int_equal (access (path, X_OK), 0);
    char url[1024], ev_in[128], cmd[128], ctl[128], routing[128], clock[64];
    snprintf (url, sizeof url, "KEFU_DATABASE_URL=%s", db);
    snprintf (ev_in, sizeof ev_in, "KEFU_ORDERSYNC_INTAKE_EVENTS=%s", intake->events_endpoint);
    snprintf (cmd, sizeof cmd, "KEFU_ORDERSYNC_INTAKE_COMMANDS=%s", intake->command_endpoint);
    snprintf (ctl, sizeof ctl, "KEFU_ORDERSYNC_CONTROL_ENDPOINT=tcp://127.0.0.1:%d", control_port);
    //  No routing here: a port nothing listens on, never another run's.
    snprintf (routing, sizeof routing, "KEFU_ORDERSYNC_ROUTING_EVENTS=tcp://127.0.0.1:%d",
              routing_port);
    snprintf (clock, sizeof clock, "KEFU_CLOCK=manual:%s", clock_at);
    const char *argv[] = {path,
                          url,
                          ev_in,
                          cmd,
                          ctl,
                          routing,
                          clock,
                          "KEFU_LOG_LEVEL=error",
                          "KEFU_ORDERSYNC_EVENTS_ENDPOINT=tcp://127.0.0.1:*",
                          "KEFU_ORDERSYNC_POLL_INTERVAL=50ms",
                          "KEFU_ORDERSYNC_COMMAND_TIMEOUT=500ms",
                          "KEFU_INSECURE=1",
                          NULL};
    pid_t pid = kt_process_spawn (argv, NULL, -1, -1, SIGKILL);
    assert_true (pid > 0);
    return pid;
}

//  Wait (up to timeout_ms) until the query's count reaches n; returns it.
static long long
s_wait_count (const char *db, const char *sql, long long n, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    long long got = kt_db_count (db, sql);
    while (got < n && zclock_mono () < deadline) {
        zclock_sleep (10);
        got = kt_db_count (db, sql);
    }
    return got;
}

static void
s_push_orders (kt_intake_t *intake, kf_clock_t *clock)
{
    kefu_gateway_options_t opt = kefu_gateway_options_default ();
    opt.endpoint = intake->gateway_endpoint;
    opt.gateway_id = "feed-k";
    kefu_gateway_t *gw = kefu_gateway_new (&opt);
    assert_non_null (gw);
    int64_t now = kf_clock_now_ms (clock);
    for (int n = 0; n < UNPAID + PAID; n++) {
        char id[32], order[32], buyer[32];
        snprintf (id, sizeof id, "o-%d", n);
        snprintf (order, sizeof order, "K%05d", n);
        snprintf (buyer, sizeof buyer, "buyer-%d", n % 500);
        Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
        Kefu__V1__OrderUpdate u = KEFU__V1__ORDER_UPDATE__INIT;
        item.shop_id = kt_text (SHOP);
        item.gateway_msg_id = kt_text (id);
        item.sent_at_ms = now;
        item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE;
        item.order_update = &u;
        u.order_id = kt_text (order);
        u.customer_id = kt_text (buyer);
        u.payment = KEFU__V1__PAYMENT_METHOD__PAYMENT_ONLINE;
        u.amount_cents = 9900;
        u.created_at_ms = now - 3600000 + n; //  between 14:00 and 15:00
        u.modified_at_ms = u.created_at_ms;
        u.state = KEFU__V1__ORDER_STATE__ORDER_CREATED;
        if (n >= UNPAID) {
            u.state = KEFU__V1__ORDER_STATE__ORDER_PAID;
            u.paid_at_ms = u.modified_at_ms = u.created_at_ms + 60000;
        }
        while (kefu_gateway_send (gw, &item) != 0)
            kefu_gateway_poll (gw, 50);
    }
    assert_int_equal (kefu_gateway_flush (gw, 60000), 0);
    kefu_gateway_destroy (&gw);
}

#define REMINDERS                                                                                  \
    "SELECT count(*) FROM outbound_commands WHERE origin = 'ordersync' AND kind = 'reminder'"
#define APPLIED                                                                                    \
    "SELECT coalesce (sum (last_seq), 0) FROM consumer_offsets WHERE consumer = 'ordersync' "      \
    "AND stream = 'intake'"

//  The seed of the random kill moments: KEFU_TEST_SEED, else the time.
static unsigned
s_seed (void)
{
    const char *env = getenv ("KEFU_TEST_SEED");
    unsigned seed = env && *env ? (unsigned) strtoul (env, NULL, 10) : (unsigned) time (NULL);
    fprintf (stderr, "test_ordersync_recovery: KEFU_TEST_SEED=%u\n", seed);
    return seed;
}

//  kills: how many times order-sync is killed while handing reminders in
//  (0: intake is down from before 16:00 until order-sync is started again).
static void
s_run (const char *name, int kills)
{
    char *db = kt_db_fresh (name);
    kt_shop_add (db, SHOP);
    kf_clock_t *clock = kf_clock_new_manual (kf_clock_parse_utc (INTAKE_START));
    kt_intake_t *intake = kt_intake_new (db, clock);
    kt_intake_start (intake);
    int control_port = kt_free_port (), routing_port = kt_free_port ();
    char control[64];
    snprintf (control, sizeof control, "tcp://127.0.0.1:%d", control_port);
    pid_t pid = s_spawn (db, intake, control_port, routing_port, BEFORE_16);
    s_push_orders (intake, clock);
    long long written = kt_db_count (db, "SELECT coalesce (sum (last_seq), 0) FROM "
                                         "event_sequences WHERE stream = 'intake'");
    assert_int_equal (s_wait_count (db, APPLIED, written, 120000), written);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM orders"), UNPAID + PAID);
    assert_int_equal (kt_db_count (db, REMINDERS), 0);

    if (!kills)
        kt_intake_destroy (&intake);
    //  16:00 on order-sync's clock.
    Kefu__V1__ControlRequest req = KEFU__V1__CONTROL_REQUEST__INIT;
    Kefu__V1__ClockAdvance adv = KEFU__V1__CLOCK_ADVANCE__INIT;
    req.body_case = KEFU__V1__CONTROL_REQUEST__BODY_CLOCK_ADVANCE;
    req.clock_advance = &adv;
    adv.by_ms = 1000;
    Kefu__V1__ControlReply *reply = kf_control_call (control, &req, 10000);
    assert_non_null (reply);
    kefu__v1__control_reply__free_unpacked (reply, NULL);
    //  The first kill: at once, while it decides the reminders.
    assert_int_equal (kt_process_stop (pid, SIGKILL, 0, NULL), 128 + SIGKILL);
    if (kills) {
        //  Then each time intake has stored a random further share.
        unsigned seed = s_seed ();
        for (int k = 0; k < kills; k++) {
            long long now = kt_db_count (db, REMINDERS);
            if (now >= UNPAID)
                break;
            long long at = now + 1 + (long long) (rand_r (&seed) % (UNPAID / (kills + 1)));
            pid = s_spawn (db, intake, control_port, routing_port, AFTER_16);
            s_wait_count (db, REMINDERS, at, 60000);
            assert_int_equal (kt_process_stop (pid, SIGKILL, 0, NULL), 128 + SIGKILL);
        }
    } else {
        //  Decided (the record says so, or the next start decides) but
        //  handed to nobody.
        assert_int_equal (kt_db_count (db, REMINDERS), 0);
        intake = kt_intake_new (db, clock);
        kt_intake_start (intake);
    }

    //  Started again half a second past 16:00: the rest, and nothing twice.
    pid = s_spawn (db, intake, control_port, routing_port, AFTER_16);
    assert_int_equal (s_wait_count (db, REMINDERS, UNPAID, 120000), UNPAID);
    assert_int_equal (s_wait_count (db,
                                    "SELECT CASE WHEN count(*) = 0 THEN 1 ELSE 0 END FROM "
                                    "ordersync_outbox",
                                    1, 60000),
                      1);
    assert_int_equal (kt_db_count (db, REMINDERS), UNPAID);
    assert_int_equal (kt_db_count (db, "SELECT count (DISTINCT request_id) FROM outbound_commands "
                                       "WHERE origin = 'ordersync' AND kind = 'reminder'"),
                      UNPAID);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM orders WHERE reminded_at IS NOT NULL"),
                      UNPAID);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM orders WHERE reminded_at IS NOT NULL "
                                       "AND state <> 1"),
                      0);
    assert_int_equal (kt_process_stop (pid, SIGTERM, 30000, NULL), 0);
    kt_intake_destroy (&intake);
    kf_clock_destroy (&clock);
    free (db);
}

static void
test_killed_while_handing_reminders_in_each_order_is_reminded_once (void **state)
{
    (void) state;
    s_run ("ordersync_kill_mid", KILLS);
}

static void
test_killed_while_intake_is_down_each_order_is_reminded_once (void **state)
{
    (void) state;
    s_run ("ordersync_kill_intake_down", 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_killed_while_handing_reminders_in_each_order_is_reminded_once),
        cmocka_unit_test (test_killed_while_intake_is_down_each_order_is_reminded_once),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
