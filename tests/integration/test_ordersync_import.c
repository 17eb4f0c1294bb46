/*  test_ordersync_import — `kefuctl orders import` of the Taobao export.

    The sample day (deploy/samples, GBK and its UTF-8 twin) goes through
    intake like any gateway's items into order-sync's record: 28 orders,
    the broken last row named by line and column, the exit code saying a
    row did not go in. The UTF-8 twin then changes nothing (every item a
    duplicate), and a file without a required column is refused whole.
    PostgreSQL restarted in the middle of an import of 6,000 rows: the
    import resends and finishes with the same orders as without it. */
#include "kt_db.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_ordersync.h"
#include "kt_process.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define SHOP "tmall-hzfs"
//  2026-11-23 22:00 Shanghai: the evening of the sample's day.
#define EVENING 1795442400000LL

typedef struct {
    char *db;
    kf_clock_t *clock;
    kt_intake_t *intake;
    kt_ordersync_t ordersync;
    char endpoint[96]; //  KEFU_GATEWAY_ENDPOINT=...
    char gbk[512];     //  the samples
    char utf8[512];
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("ordersync_import");
    kt_shop_add (f->db, SHOP);
    f->clock = kf_clock_new_manual (EVENING);
    f->intake = kt_intake_new (f->db, f->clock);
    kt_intake_start (f->intake);
    kt_ordersync_start (&f->ordersync, f->db, f->intake->events_endpoint,
                        f->intake->command_endpoint, f->clock);
    snprintf (f->endpoint, sizeof f->endpoint, "KEFU_GATEWAY_ENDPOINT=%s",
              f->intake->gateway_endpoint);
    const char *src = getenv ("KEFU_SOURCE_DIR");
    assert_non_null (src);
    snprintf (f->gbk, sizeof f->gbk, "%s/deploy/samples/taobao-orders-gbk.csv", src);
    snprintf (f->utf8, sizeof f->utf8, "%s/deploy/samples/taobao-orders-utf8.csv", src);
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

static void
test_the_sample_export_goes_in_and_again_changes_nothing (void **state)
{
    fixture_t *f = *state;
    KT_EXPECT (f->db, 1, f->endpoint, "KEFU_CLOCK=manual:2026-11-23T14:00:00Z", "orders", "import",
               SHOP, f->gbk);
    const char *out = kt_kefuctl_last.out;
    assert_non_null (strstr (out, "read 29 rows, accepted 31, duplicate 0, rejected 0, broken 1"));
    //  The broken row: named by its line, then the column that is wrong.
    assert_non_null (strstr (out, "line 30: 5 columns, the header has 41"));
    kt_ordersync_settle (&f->ordersync, f->db);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM orders"), 28);
    assert_int_equal (kt_db_count (f->db, "SELECT amount_cents FROM orders WHERE order_id = "
                                          "'1930679858319785'"),
                      129900);
    //  Three COD orders; the two not yet shipped await their confirmation.
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM orders WHERE payment = 2"), 3);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM orders WHERE cod_opened_at IS "
                                          "NOT NULL"),
                      2);
    //  The notes "发邮政快递 _ 慧兰" became red flags: those addresses are confirmed.
    assert_int_equal (kt_db_count (f->db,
                                   "SELECT count(*) FROM orders WHERE address_note = "
                                   "'发邮政快递 _ 慧兰' AND address_confirmed_at IS NOT NULL"),
                      3);
    char *buyer = kt_db_query1 (f->db, "SELECT channel_customer_id FROM orders WHERE order_id = "
                                       "'1930679858733125'");
    assert_string_equal (buyer, "幸福的小猫咪"); //  GBK read as GBK
    free (buyer);
    //  The desk: the orders for people, the shop's settings.
    KT_EXPECT (f->db, 0, "orders", "list", SHOP, "--unpaid", "--json");
    assert_non_null (strstr (kt_kefuctl_last.out, "\"order_id\":\"1930679858319785\""));
    KT_EXPECT (f->db, 0, "orders", "tasks", SHOP, "--open", "--json");
    assert_non_null (strstr (kt_kefuctl_last.out, "\"task\":\"cod_confirm\""));
    KT_EXPECT (f->db, 0, "orders", "settings", SHOP, "--remind-at", "15:30", "--json");
    assert_non_null (strstr (kt_kefuctl_last.out, "\"remind_at\":\"15:30\""));
    assert_int_equal (kt_db_count (f->db, "SELECT remind_minute FROM ordersync_settings"), 930);
    long long rows = kt_db_count (f->db, "SELECT count(*) FROM messages");
    long long states = kt_db_count (f->db, "SELECT count(*) FROM order_states");

    //  The UTF-8 twin is the same content: every item a duplicate.
    KT_EXPECT (f->db, 1, f->endpoint, "KEFU_CLOCK=manual:2026-11-23T14:00:00Z", "orders", "import",
               SHOP, f->utf8);
    assert_non_null (strstr (kt_kefuctl_last.out, "accepted 0, duplicate"));
    kt_ordersync_settle (&f->ordersync, f->db);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages"), rows);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM order_states"), states);
}

static void
test_a_missing_column_or_a_wrong_encoding_is_named (void **state)
{
    fixture_t *f = *state;
    KT_EXPECT (f->db, 1, f->endpoint, "orders", "import", SHOP, f->gbk, "--map", "amount=应付总额");
    assert_non_null (strstr (kt_kefuctl_last.err, "no column 应付总额 (amount)"));
    //  GBK read as UTF-8: the header says so.
    KT_EXPECT (f->db, 1, f->endpoint, "orders", "import", SHOP, f->gbk, "--encoding", "utf-8");
    assert_non_null (strstr (kt_kefuctl_last.err, "line 1, column 1"));
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages"), 0);
    KT_EXPECT (f->db, 2, f->endpoint, "orders", "import", SHOP, f->gbk, "--map", "colour=x");
}

//  Broken values are named by line and column; the good rows still go in.
static void
test_a_broken_value_is_named_by_line_and_column (void **state)
{
    fixture_t *f = *state;
    char path[] = "/tmp/kefu-orders-XXXXXX";
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    FILE *csv = fdopen (fd, "w");
    fputs ("订单编号,买家会员名,总金额,订单状态,订单创建时间\r\n"
           "T1,tb_a,12.50,等待买家付款,2026-11-23 10:00:00\r\n"
           "T2,tb_b,abc,等待买家付款,2026-11-23 10:01:00\r\n"
           "T3,tb_c,9.90,等待发货吧,2026-11-23 10:02:00\r\n"
           "T4,tb_d,9.90,交易成功,23/11/2026\r\n"
           "T5,tb_e,\"1,000.00\",交易关闭,2026-11-23 10:04:00\r\n",
           csv);
    fclose (csv);
    KT_EXPECT (f->db, 1, f->endpoint, "KEFU_CLOCK=manual:2026-11-23T14:00:00Z", "orders", "import",
               SHOP, path);
    const char *out = kt_kefuctl_last.out;
    assert_non_null (strstr (out, "line 3, column 总金额: \"abc\" is not an amount"));
    assert_non_null (
        strstr (out, "line 4, column 订单状态: \"等待发货吧\" is not a known order state"));
    assert_non_null (strstr (out, "line 5, column 订单创建时间: \"23/11/2026\" is not a time"));
    assert_non_null (strstr (out, "line 6, column 总金额"));
    assert_non_null (strstr (out, "read 5 rows, accepted 1, duplicate 0, rejected 0, broken 4"));
    unlink (path);
    kt_ordersync_settle (&f->ordersync, f->db);
    assert_int_equal (kt_db_count (f->db, "SELECT amount_cents FROM orders WHERE order_id = 'T1'"),
                      1250);
}

//  A file of rows orders in the export's columns: every other one paid.
static void
s_write_orders (char *path, int rows)
{
    int fd = mkstemp (path);
    assert_true (fd >= 0);
    FILE *csv = fdopen (fd, "w");
    fputs ("订单编号,买家会员名,总金额,订单状态,订单创建时间,订单付款时间\r\n", csv);
    for (int i = 0; i < rows; i++) {
        int minute = (i / 60) % 60, second = i % 60;
        if (i % 2)
            fprintf (csv,
                     "R%05d,tb_%d,%d.%02d,买家已付款，等待卖家发货,2026-11-23 10:%02d:%02d,"
                     "2026-11-23 11:%02d:%02d\r\n",
                     i, i % 700, 10 + i % 90, i % 100, minute, second, minute, second);
        else
            fprintf (csv, "R%05d,tb_%d,%d.%02d,等待买家付款,2026-11-23 10:%02d:%02d,\r\n", i,
                     i % 700, 10 + i % 90, i % 100, minute, second);
    }
    fclose (csv);
}

#define ROWS    6000
#define MS(col) "coalesce ((extract (epoch FROM " col ") * 1000)::int8, 0)"
#define DIGEST                                                                                     \
    "SELECT md5 (string_agg (order_id || ':' || state || ':' || amount_cents || ':' || "           \
    "channel_customer_id || ':' || payment || ':' || " MS ("created_at") " || ':' || " MS (        \
        "paid_at") ", ',' ORDER BY order_id)) FROM orders"

//  Import path into f's shop with kefuctl as a process; restart PostgreSQL
//  once a third of the rows are stored when restart is set. Returns the
//  orders' digest once order-sync has them all.
static char *
s_import_digest (fixture_t *f, const char *path, bool restart)
{
    char bin[1024], url[1024], out_path[] = "/tmp/kefu-import-out-XXXXXX";
    kt_process_bin (bin, sizeof bin, "services/kefuctl/kefuctl");
    snprintf (url, sizeof url, "KEFU_DATABASE_URL=%s", f->db);
    int out = mkstemp (out_path);
    assert_true (out >= 0);
    const char *argv[] = {bin,      url,      f->endpoint, "KEFU_CLOCK=manual:2026-11-23T14:00:00Z",
                          "orders", "import", SHOP,        path,
                          NULL};
    pid_t pid = kt_process_spawn (argv, NULL, out, -1, SIGKILL);
    assert_true (pid > 0);
    if (restart) {
        int64_t deadline = zclock_mono () + 120000;
        long long stored = 0;
        while ((stored = kt_db_count (f->db, "SELECT count(*) FROM messages")) < ROWS / 3 &&
               zclock_mono () < deadline)
            zclock_sleep (5);
        assert_true (stored >= ROWS / 3);
        assert_true (stored < ROWS); //  in the middle of the import
        assert_int_equal (kt_db_pg ("restart"), 0);
    }
    //  It finishes by itself: every row answered, none rejected.
    bool killed = false;
    assert_int_equal (kt_process_stop (pid, 0, 180000, &killed), 0);
    assert_false (killed);
    char summary[4096] = "";
    ssize_t n = pread (out, summary, sizeof summary - 1, 0);
    summary[n > 0 ? n : 0] = '\0';
    close (out);
    unlink (out_path);
    char want[64];
    snprintf (want, sizeof want, "read %d rows, accepted ", ROWS);
    if (!strstr (summary, want) || !strstr (summary, "rejected 0, broken 0"))
        fail_msg ("summary: %s", summary);
    kt_ordersync_settle (&f->ordersync, f->db);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM orders"), ROWS);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages"), ROWS);
    //  Every buyer linked to a customer record (whose numbers differ
    //  between two records: not in the digest).
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM orders WHERE customer_id IS NULL"),
                      0);
    return kt_db_query1 (f->db, DIGEST);
}

static void
test_a_postgres_restart_during_an_import_changes_nothing_in_the_end (void **state)
{
    fixture_t *f = *state;
    char path[] = "/tmp/kefu-orders-XXXXXX";
    s_write_orders (path, ROWS);
    char *restarted = s_import_digest (f, path, true);
    //  The same file into a fresh record, without a restart.
    s_teardown (state);
    s_setup (state);
    f = *state;
    char *calm = s_import_digest (f, path, false);
    assert_string_equal (restarted, calm);
    free (restarted);
    free (calm);
    unlink (path);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_the_sample_export_goes_in_and_again_changes_nothing,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_missing_column_or_a_wrong_encoding_is_named,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_broken_value_is_named_by_line_and_column, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_postgres_restart_during_an_import_changes_nothing_in_the_end, s_setup,
            s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
