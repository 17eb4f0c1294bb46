/*  test_ordersync_demo — the demo day's orders, as scripts/run --demo plays them.

    The sample shop day (deploy/samples/shop-day.jsonl) goes through the real
    kefu-push the way scripts/run --demo sends it: --rebase-day (today's date,
    each item at its own time of day) and --clock (kefu-ordersync's driven
    clock moves along the replay), paced fast. Intake runs on the real clock;
    kefu-ordersync on a driven one that starts at today's 00:00 in Shanghai,
    as in the demo. Then what README's demo text promises about the order
    desk: tb_xiaoyu's unpaid order reminded once at 16:00 with the blue flag,
    tb_laowang's COD order confirmed, tb_lily88's red flag "发邮政快递 _
    xiaomei", tb_bigbear's order late at the end of the day, lily's and
    bigbear's orders credited to xiaomei and lingling, the others to nobody. */
#include "kt_db.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_ordersync.h"

#include <jansson.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define SHOP   "demo-shop"
#define HOUR   (3600 * 1000LL)
#define DAY    (24 * HOUR)
#define SHIFT  (8 * HOUR) //  Asia/Shanghai: UTC+8 all year
#define UNPAID "3745623894561300305"
#define COD    "3745623894561300102"
#define LILY   "3745623894561299001"
#define BEAR   "3745623894561300201"
#define YEXIU  "3745623894561300418"

typedef struct {
    char *db;
    kf_clock_t *clock; //  order-sync's demo clock
    kt_intake_t *intake;
    kt_ordersync_t ordersync;
    char control[64]; //  order-sync's control endpoint
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("ordersync_demo");
    kt_shop_add (f->db, SHOP);
    //  Today's 00:00 in the shop's time zone, as scripts/run --demo starts it.
    kf_clock_t *real = kf_clock_new_real ();
    int64_t now = kf_clock_now_ms (real);
    kf_clock_destroy (&real);
    f->clock = kf_clock_new_manual ((now + SHIFT) / DAY * DAY - SHIFT);
    f->intake = kt_intake_new (f->db, NULL);
    //  The day's last item is 00:20 tomorrow: more than 24 h ahead when the
    //  test runs in the first minutes after midnight in Shanghai.
    f->intake->config.max_future = 2 * DAY;
    kt_intake_start (f->intake);
    kt_ordersync_start (&f->ordersync, f->db, f->intake->events_endpoint,
                        f->intake->command_endpoint, f->clock);
    zstr_sendx (f->ordersync.actor, "PORT", "control", NULL);
    char *port = zstr_recv (f->ordersync.actor);
    assert_non_null (port);
    snprintf (f->control, sizeof f->control, "tcp://127.0.0.1:%s", port);
    free (port);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    kt_ordersync_stop (&f->ordersync);
    kt_intake_destroy (&f->intake);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

//  Replay the sample day with kefu-push `flags`; its exit status.
static int
s_replay (fixture_t *f, const char *flags)
{
    const char *bin = getenv ("KEFU_TEST_BIN_DIR");
    const char *source = getenv ("KEFU_SOURCE_DIR");
    if (!bin || !source)
        fail_msg ("KEFU_TEST_BIN_DIR / KEFU_SOURCE_DIR are not set: run this test through ctest");
    char *cmd = zsys_sprintf ("KEFU_PUSH_ENDPOINT=%s KEFU_PUSH_GATEWAY_ID=demo-gateway "
                              "KEFU_PUSH_TIMEOUT=30s '%s/clients/push/kefu-push' %s "
                              "< '%s/deploy/samples/shop-day.jsonl' > /dev/null",
                              f->intake->gateway_endpoint, bin, flags, source);
    int status = system (cmd);
    zstr_free (&cmd);
    assert_true (WIFEXITED (status));
    return WEXITSTATUS (status);
}

static long long
s_count (fixture_t *f, const char *sql)
{
    return kt_db_count (f->db, sql);
}

//  One row of `kefuctl orders list SHOP --json` (borrowed from rows).
static json_t *
s_row (json_t *rows, const char *order_id)
{
    for (size_t i = 0; i < json_array_size (rows); i++) {
        json_t *row = json_array_get (rows, i);
        const char *id = json_string_value (json_object_get (row, "order_id"));
        if (id && strcmp (id, order_id) == 0)
            return row;
    }
    fail_msg ("kefuctl orders list has no order %s:\n%s", order_id, kt_kefuctl_last.out);
    return NULL;
}

static void
test_the_demo_day_reminds_confirms_flags_and_credits_its_orders (void **state)
{
    fixture_t *f = *state;
    char *flags = zsys_sprintf ("--rebase-day --speed 3000 --clock %s", f->control);
    assert_int_equal (s_replay (f, flags), 0);
    zstr_free (&flags);
    kt_ordersync_settle (&f->ordersync, f->db);
    //  The replay moved order-sync's clock to the last item: 00:20 tomorrow.
    assert_true (kf_clock_now_ms (f->clock) % DAY == (20 * 60 * 1000LL + 16 * HOUR) % DAY);

    //  Five orders; one reminder, for the order still unpaid at 16:00.
    assert_int_equal (s_count (f, "SELECT count(*) FROM orders"), 5);
    assert_int_equal (s_count (f, "SELECT count(*) FROM outbound_commands WHERE origin = "
                                  "'ordersync' AND kind = 'reminder'"),
                      1);
    assert_int_equal (s_count (f, "SELECT count(*) FROM outbound_commands WHERE origin = "
                                  "'ordersync' AND request_id = 'remind:" UNPAID "'"),
                      1);
    assert_int_equal (s_count (f, "SELECT count(*) FROM orders WHERE reminded_at IS NOT NULL AND "
                                  "order_id = '" UNPAID "' AND (reminded_at AT TIME ZONE "
                                  "'Asia/Shanghai')::time BETWEEN '16:00' AND '16:05'"),
                      1);
    assert_int_equal (s_count (f, "SELECT count(*) FROM orders WHERE reminded_at IS NOT NULL"), 1);

    //  What the order desk shows (kefuctl orders list): the flags and credits.
    KT_EXPECT (f->db, 0, "orders", "list", SHOP, "--json");
    json_t *rows = kt_kefuctl_json ();
    assert_int_equal (json_array_size (rows), 5);
    json_t *row = s_row (rows, UNPAID); //  tb_xiaoyu: never paid, reminded once
    assert_string_equal (kt_json_member (row, "state"), "created");
    assert_string_equal (kt_json_member (row, "flags"), "blue ");
    assert_string_equal (kt_json_member (row, "credited_agent"), "");
    row = s_row (rows, COD); //  tb_laowang: cash on delivery, no reminder
    assert_string_equal (kt_json_member (row, "payment"), "cod");
    assert_string_equal (kt_json_member (row, "flags"), "");
    row = s_row (rows, LILY); //  address confirmed, shipped the same day
    assert_string_equal (kt_json_member (row, "state"), "shipped");
    assert_string_equal (kt_json_member (row, "flags"), "red ");
    assert_string_equal (kt_json_member (row, "credited_agent"), "xiaomei");
    row = s_row (rows, BEAR); //  paid at 12:08, not shipped by the end of the day
    assert_string_equal (kt_json_member (row, "state"), "paid");
    assert_string_equal (kt_json_member (row, "flags"), "late ");
    assert_string_equal (kt_json_member (row, "credited_agent"), "lingling");
    row = s_row (rows, YEXIU); //  paid after midnight: late only tomorrow night
    assert_string_equal (kt_json_member (row, "flags"), "");
    assert_string_equal (kt_json_member (row, "credited_agent"), "");
    json_decref (rows);

    //  The COD confirmation done by lingling before anyone was told; lily's
    //  red flag as "content _ agent".
    KT_EXPECT (f->db, 0, "orders", "tasks", SHOP, "--json");
    json_t *tasks = kt_kefuctl_json ();
    int cod = 0, address = 0;
    for (size_t i = 0; i < json_array_size (tasks); i++) {
        json_t *t = json_array_get (tasks, i);
        const char *order = kt_json_member (t, "order_id");
        if (strcmp (order, COD) == 0 && strcmp (kt_json_member (t, "task"), "cod_confirm") == 0) {
            cod++;
            assert_string_not_equal (kt_json_member (t, "done"), "");
            assert_string_equal (kt_json_member (t, "note"), "");
        }
        if (strcmp (order, LILY) == 0 &&
            strcmp (kt_json_member (t, "task"), "address_confirm") == 0) {
            address++;
            assert_string_equal (kt_json_member (t, "note"), "发邮政快递 _ xiaomei");
        }
    }
    assert_int_equal (cod, 1);
    assert_int_equal (address, 1);
    json_decref (tasks);

    //  Why xiaomei is credited: her 08:45 reply, the order made at 08:46.
    KT_EXPECT (f->db, 0, "orders", "show", SHOP, LILY, "--json");
    json_t *lily = kt_kefuctl_json ();
    json_t *credit = json_object_get (lily, "credit");
    assert_string_equal (kt_json_member (credit, "agent"), "xiaomei");
    assert_non_null (strstr (kt_json_member (credit, "reply_at"), " 08:45"));
    assert_non_null (strstr (kt_json_member (lily, "created"), " 08:46"));
    json_decref (lily);

    //  The late order told to the supervisors, once.
    assert_int_equal (s_count (f, "SELECT count(*) FROM outbound_commands WHERE origin = "
                                  "'ordersync' AND request_id LIKE 'late:%'"),
                      1);
    assert_int_equal (s_count (f, "SELECT count(*) FROM outbound_commands WHERE origin = "
                                  "'ordersync' AND request_id = 'late:" BEAR "'"),
                      1);
}

//  A --clock whose service does not run on a driven clock stops the
//  replay (exit 2) once the replay needs that clock to move.
static void
test_a_clock_that_is_not_driven_stops_the_replay (void **state)
{
    fixture_t *f = *state;
    char *flags = zsys_sprintf ("--rebase-day --clock %s", f->intake->control_endpoint);
    assert_int_equal (s_replay (f, flags), 2);
    zstr_free (&flags);
    //  It stopped at the first item past intake's (real) clock: the day's
    //  last order, at 00:20 tomorrow, never went in.
    kt_ordersync_settle (&f->ordersync, f->db);
    assert_int_equal (s_count (f, "SELECT count(*) FROM orders WHERE order_id = '" YEXIU "'"), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_the_demo_day_reminds_confirms_flags_and_credits_its_orders, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_clock_that_is_not_driven_stops_the_replay, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
