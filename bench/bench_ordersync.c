/*  bench_ordersync — kefu-ordersync end to end, next to the raw batched-insert
    rate of the same run.

    1. The raw limit: batched inserts of message rows (bench_pg_raw).
    2. Updates: a platform connector (libkefu-gateway) pushes --orders order
       snapshots (--unpaid of them created and unpaid, the others paid) as
       fast as intake acknowledges them; order updates per second from the
       first item sent until kefu-ordersync has committed the last one
       (feed -> intake -> order-sync), and its ratio to the raw rate.
    3. 16:00: the shop's clock (driven, shared by intake and order-sync)
       moves from 15:59:59 to 16:00:00; the time until intake has stored a
       reminder for every unpaid order (the last one handed in), and the
       duplicates among them.
    4. Import: kefuctl orders import of a --import-rows row CSV in the
       Taobao export's columns: rows per second, and kefuctl's peak
       resident memory (it must not grow with the file).

    Intake and order-sync run in-process (bench_service_actor) on the
    driven clock. The table, then one JSON line (the last line printed). */
#include "bench_intake_actor.h"
#include "bench_pg.h"
#include "bench_service.h"
#include "bench_stats.h"

#include "kefu/v1/gateway.pb-c.h"
#include "kefu_gateway.h"
#include "kf_config.h"
#include "kf_daemon.h"
#include "kf_shop.h"
#include "ordersync_config.h"
#include "ordersync_server.h"

#include <dirent.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_SHOP "bench-shop"
//  2026-11-23 15:59:59 UTC (the shop's zone is UTC here), and 16:00.
#define S_BEFORE_16 1795449599000LL
#define S_AT_16     1795449600000LL
#define S_HOUR      3600000LL

typedef struct {
    const char *db;      //  database URL
    int64_t orders;      //  order snapshots pushed
    int64_t unpaid;      //  of which created and unpaid (reminded at 16:00)
    int64_t import_rows; //  rows of the CSV imported
    int64_t raw_rows;    //  rows of the raw insert phase
} s_opts_t;

static void
s_usage (void)
{
    printf ("Usage: bench_ordersync --db URL [--orders N] [--unpaid N] [--import-rows N]\n"
            "                       [--raw-rows N]\n\n"
            "kefu-ordersync end to end: order updates applied per second (feed -> intake ->\n"
            "order-sync commit) next to the raw batched-insert rate; 16:00 with --unpaid\n"
            "orders due (time to the last reminder handed to intake, duplicates); kefuctl\n"
            "orders import of an --import-rows CSV (rows/s, peak RSS). Defaults: 1000000\n"
            "orders, 100000 unpaid, 200000 import rows, 200000 raw rows.\n");
}

static void
s_set (char **slot, const char *value)
{
    free (*slot);
    *slot = strdup (value);
}

static int64_t
s_wait_count (const char *db, const char *sql, int64_t want, int timeout_s)
{
    int64_t deadline = bench_now_us () + (int64_t) timeout_s * 1000000;
    int64_t got = bench_pg_count (db, sql);
    while (got >= 0 && got < want && bench_now_us () < deadline) {
        zclock_sleep (20);
        got = bench_pg_count (db, sql);
    }
    return got;
}

#define S_APPLIED                                                                                  \
    "SELECT coalesce (sum (last_seq), 0) FROM consumer_offsets WHERE consumer = 'ordersync' "      \
    "AND stream = 'intake'"
#define S_WRITTEN "SELECT coalesce (sum (last_seq), 0) FROM event_sequences WHERE stream = 'intake'"
#define S_REMINDERS                                                                                \
    "SELECT count(*) FROM outbound_commands WHERE origin = 'ordersync' AND kind = 'reminder'"
#define S_DISTINCT                                                                                 \
    "SELECT count (DISTINCT request_id) FROM outbound_commands WHERE origin = 'ordersync' "        \
    "AND kind = 'reminder'"

//  CPU seconds the threads of this process named `name` have used
//  (bench_service_actor names a service's threads "bench-<service>").
static double
s_threads_cpu (const char *name)
{
    double total = 0;
    DIR *dir = opendir ("/proc/self/task");
    struct dirent *d;
    while (dir && (d = readdir (dir))) {
        char path[300], comm[64] = "";
        snprintf (path, sizeof path, "/proc/self/task/%s/comm", d->d_name);
        FILE *f = fopen (path, "r");
        if (!f)
            continue;
        bool match = fgets (comm, sizeof comm, f) && strncmp (comm, name, strlen (name)) == 0;
        fclose (f);
        if (match)
            total += bench_pid_cpu (atoi (d->d_name));
    }
    if (dir)
        closedir (dir);
    return total;
}

//  CPU microseconds per item of a phase: order-sync's threads, intake's,
//  PostgreSQL's (all its processes).
typedef struct {
    double ordersync, intake, postgres;
} s_cpu_per_t;

static void
s_cpu_mark (bench_cpu_t *cpu, double *ordersync, int postmaster_pid)
{
    bench_cpu_sample (cpu, postmaster_pid, 0);
    *ordersync = s_threads_cpu ("bench-ordersync");
}

static s_cpu_per_t
s_cpu_per (const bench_cpu_t *before, double ordersync_before, int postmaster_pid, int64_t items)
{
    bench_cpu_t after;
    double ordersync;
    s_cpu_mark (&after, &ordersync, postmaster_pid);
    bench_cpu_t d = bench_cpu_diff (&after, before);
    double n = items > 0 ? (double) items : 1;
    return (s_cpu_per_t){(ordersync - ordersync_before) * 1e6 / n, d.intake * 1e6 / n,
                         d.postgres * 1e6 / n};
}

//  ---------------------------------------------------------------------
//  2. Updates

static void
s_text (ProtobufCBinaryData *b, const char *s)
{
    b->data = (uint8_t *) s;
    b->len = strlen (s);
}

//  Push every order, as fast as intake acknowledges. Returns the seconds
//  from the first send until order-sync committed the last one, or -1.
static double
s_updates (const s_opts_t *o, const char *endpoint)
{
    kefu_gateway_options_t options = kefu_gateway_options_default ();
    options.endpoint = endpoint;
    options.gateway_id = "bench-feed";
    kefu_gateway_t *gw = kefu_gateway_new (&options);
    if (!gw)
        return -1;
    int64_t t0 = bench_now_us ();
    for (int64_t n = 0; n < o->orders; n++) {
        char id[32], order[32], buyer[32];
        snprintf (id, sizeof id, "u-%" PRId64, n);
        snprintf (order, sizeof order, "B%08" PRId64, n);
        snprintf (buyer, sizeof buyer, "buyer-%" PRId64, n % 50000);
        Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
        Kefu__V1__OrderUpdate u = KEFU__V1__ORDER_UPDATE__INIT;
        s_text (&item.shop_id, S_SHOP);
        s_text (&item.gateway_msg_id, id);
        item.sent_at_ms = S_BEFORE_16;
        item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE;
        item.order_update = &u;
        s_text (&u.order_id, order);
        s_text (&u.customer_id, buyer);
        s_text (&u.currency, "CNY");
        s_text (&u.items, "高腰显瘦牛仔裤女直筒");
        u.payment = KEFU__V1__PAYMENT_METHOD__PAYMENT_ONLINE;
        u.amount_cents = 1000 + n % 90000;
        //  Created in the 23 hours before 15:00: all due at 16:00 if unpaid.
        u.created_at_ms = S_BEFORE_16 - S_HOUR - (n * 7919) % (23 * S_HOUR);
        u.modified_at_ms = u.created_at_ms;
        u.state = KEFU__V1__ORDER_STATE__ORDER_CREATED;
        if (n >= o->unpaid) {
            u.state = KEFU__V1__ORDER_STATE__ORDER_PAID;
            u.paid_at_ms = u.modified_at_ms = u.created_at_ms + 60000;
        }
        while (kefu_gateway_send (gw, &item) != 0)
            kefu_gateway_poll (gw, 5);
    }
    size_t left = kefu_gateway_flush (gw, 600000);
    kefu_gateway_destroy (&gw);
    if (left) {
        fprintf (stderr, "bench_ordersync: %zu updates not acknowledged\n", left);
        return -1;
    }
    int64_t written = bench_pg_count (o->db, S_WRITTEN);
    if (s_wait_count (o->db, S_APPLIED, written, 1800) < written) {
        fprintf (stderr, "bench_ordersync: order-sync did not apply every update\n");
        return -1;
    }
    return (double) (bench_now_us () - t0) / 1e6;
}

//  ---------------------------------------------------------------------
//  4. Import

//  A CSV of rows orders in the Taobao export's columns (half paid).
static int
s_write_csv (const char *path, int64_t rows)
{
    FILE *csv = fopen (path, "w");
    if (!csv)
        return -1;
    fputs ("订单编号,买家会员名,总金额,订单状态,订单创建时间,订单付款时间,宝贝标题,收货地址,"
           "联系手机\r\n",
           csv);
    for (int64_t i = 0; i < rows; i++) {
        int minute = (int) (i / 60 % 60), second = (int) (i % 60);
        bool paid = i % 2;
        fprintf (csv,
                 "\"=\"\"I%09" PRId64 "\"\"\",tb_%" PRId64 ",%" PRId64
                 ".%02d,%s,2026-11-23 10:%02d:%02d,%s%s,"
                 "2026冬季新款加厚羽绒服女中长款,浙江省 杭州市 西湖区 文三路 100号,'138%08" PRId64
                 "\r\n",
                 i, i % 50000, 10 + i % 900, (int) (i % 100),
                 paid ? "买家已付款，等待卖家发货" : "等待买家付款", minute, second,
                 paid ? "2026-11-23 11:00:00" : "", "", i % 100000000);
    }
    return fclose (csv);
}

//  ---------------------------------------------------------------------

int
main (int argc, char **argv)
{
    bench_thread_name ("bench-main"); //  the services' threads become bench-<service>
    s_opts_t o = {getenv ("KEFU_DATABASE_URL"), 1000000, 100000, 200000, 200000};
    static const struct option longs[] = {{"db", 1, NULL, 'd'},       {"orders", 1, NULL, 'o'},
                                          {"unpaid", 1, NULL, 'u'},   {"import-rows", 1, NULL, 'i'},
                                          {"raw-rows", 1, NULL, 'r'}, {"help", 0, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long (argc, argv, "h", longs, NULL)) != -1) {
        switch (ch) {
        case 'd':
            o.db = optarg;
            break;
        case 'o':
            o.orders = atoll (optarg);
            break;
        case 'u':
            o.unpaid = atoll (optarg);
            break;
        case 'i':
            o.import_rows = atoll (optarg);
            break;
        case 'r':
            o.raw_rows = atoll (optarg);
            break;
        case 'h':
            s_usage ();
            return 0;
        default:
            s_usage ();
            return 2;
        }
    }
    if (!o.db || o.orders < 1 || o.unpaid < 1 || o.unpaid > o.orders || o.import_rows < 1 ||
        o.raw_rows < 1000) {
        s_usage ();
        return 2;
    }
    zsys_init ();
    zsys_set_logstream (stderr);
    bench_pg_info_t pg;
    if (bench_pg_info (o.db, &pg))
        return 1;

    //  1. The raw limit.
    bench_pg_raw_opts_t ro = {"bench-raw", 4, 10000, o.raw_rows, 1000, 200, pg.postmaster_pid};
    bench_pg_raw_result_t raw;
    if (bench_pg_raw (o.db, &ro, &raw))
        return 1;
    fprintf (stderr, "raw batched inserts: %.0f rows/s\n", raw.rows_per_s);

    if (bench_pg_add_shop (o.db, S_SHOP, "Bench"))
        return 1;

    //  Intake and order-sync on one driven clock, 15:59:59.
    kf_clock_t *clock = kf_clock_new_manual (S_BEFORE_16);
    bench_intake_actor_t intake;
    if (bench_intake_actor_start (&intake, o.db, clock))
        return 1;
    ordersync_config_t oc;
    kf_common_config_t ocommon;
    memset (&oc, 0, sizeof oc);
    memset (&ocommon, 0, sizeof ocommon);
    if (ordersync_config_defaults (&oc, &ocommon))
        return 1;
    s_set (&ocommon.database_url, o.db);
    s_set (&oc.intake_events, intake.events);
    s_set (&oc.intake_commands, intake.commands);
    s_set (&oc.routing_events, "inproc://bench-no-routing");
    s_set (&oc.events_endpoint, "tcp://127.0.0.1:*");
    s_set (&oc.control_endpoint, "tcp://127.0.0.1:*");
    oc.insecure = true;
    kf_service_args_t oargs = {&ordersync_config_spec, &oc, &ocommon, clock};
    bench_service_t *ordersync = bench_service_actor ("ordersync", ordersync_server, &oargs);
    if (!ordersync)
        return 1;

    //  2. Updates.
    bench_cpu_t cpu0;
    double os0;
    s_cpu_mark (&cpu0, &os0, pg.postmaster_pid);
    double updates_s = s_updates (&o, intake.gateway);
    if (updates_s < 0)
        return 1;
    s_cpu_per_t update_cpu = s_cpu_per (&cpu0, os0, pg.postmaster_pid, o.orders);
    double updates_per_s = (double) o.orders / updates_s;
    fprintf (stderr, "updates: %" PRId64 " in %.1f s\n", o.orders, updates_s);

    //  3. 16:00.
    s_cpu_mark (&cpu0, &os0, pg.postmaster_pid);
    int64_t t0 = bench_now_us ();
    if (kf_clock_set (clock, S_AT_16))
        return 1;
    int64_t reminded = s_wait_count (o.db, S_REMINDERS, o.unpaid, 600);
    double reminders_ms = (double) (bench_now_us () - t0) / 1000;
    s_cpu_per_t remind_cpu = s_cpu_per (&cpu0, os0, pg.postmaster_pid, o.unpaid);
    int64_t distinct = bench_pg_count (o.db, S_DISTINCT);
    fprintf (stderr, "16:00: %" PRId64 " reminders in %.0f ms\n", reminded, reminders_ms);

    //  4. Import.
    char csv[] = "/tmp/bench-orders-XXXXXX";
    int fd = mkstemp (csv);
    if (fd < 0 || close (fd) || s_write_csv (csv, o.import_rows))
        return 1;
    char kefuctl[1024], url[1024], gw_env[96];
    bench_service_bin (kefuctl, sizeof kefuctl, "kefuctl/kefuctl");
    snprintf (url, sizeof url, "KEFU_DATABASE_URL=%s", o.db);
    snprintf (gw_env, sizeof gw_env, "KEFU_GATEWAY_ENDPOINT=%s", intake.gateway);
    const char *env[] = {url, gw_env, "KEFU_CLOCK=manual:2026-11-23T16:00:00Z", NULL};
    //  Its peak RSS as GNU time reports it: not RUSAGE_CHILDREN, which
    //  counts the benchmark's own memory (intake's and order-sync's, in
    //  this process) at the fork before kefuctl's exec.
    char rss_file[] = "/tmp/bench-orders-rss-XXXXXX";
    fd = mkstemp (rss_file);
    if (fd < 0 || close (fd))
        return 1;
    const char *targv[] = {"/usr/bin/time", "-f",     "%M",   "-o", rss_file, kefuctl,
                           "orders",        "import", S_SHOP, csv,  NULL};
    char out[4096];
    double import_s = 0;
    int import_rc = bench_tool_run (targv, env, out, sizeof out, &import_s);
    unlink (csv);
    double import_rss_mb = -1;
    FILE *rss = fopen (rss_file, "r");
    long rss_kb;
    if (rss && fscanf (rss, "%ld", &rss_kb) == 1)
        import_rss_mb = (double) rss_kb / 1024.0;
    if (rss)
        fclose (rss);
    unlink (rss_file);
    double import_rows_per_s = (double) o.import_rows / import_s;
    const char *summary = strstr (out, "read ");
    fprintf (stderr, "import: exit %d, %s", import_rc, summary ? summary : "no summary\n");

    printf ("kefu-ordersync end to end (bench/README.md)\n");
    printf ("  PostgreSQL %s, fsync=%s, synchronous_commit=%s (%ld CPUs)\n", pg.server_version,
            pg.fsync, pg.synchronous_commit, sysconf (_SC_NPROCESSORS_ONLN));
    printf ("  raw inserts   %.0f rows/s (batches of 1000, committed)\n", raw.rows_per_s);
    printf ("  updates       %" PRId64 " orders (%" PRId64 " unpaid) in %.1f s: %.0f/s, %.2f x "
            "the raw insert rate (target 0.40: %s)\n",
            o.orders, o.unpaid, updates_s, updates_per_s, updates_per_s / raw.rows_per_s,
            bench_met (updates_per_s >= 0.4 * raw.rows_per_s));
    printf (
        "                CPU per update: order-sync %.0f us, intake %.0f us, PostgreSQL %.0f us\n",
        update_cpu.ordersync, update_cpu.intake, update_cpu.postgres);
    printf ("  16:00         %" PRId64 " of %" PRId64
            " reminders handed to intake in %.0f ms, %" PRId64 " duplicates (target 10 s, 0: %s)\n",
            reminded, o.unpaid, reminders_ms, reminded - distinct,
            bench_met (reminded == o.unpaid && reminders_ms <= 10000 && reminded == distinct));
    printf ("                CPU per reminder: order-sync %.0f us, intake %.0f us, PostgreSQL %.0f "
            "us\n",
            remind_cpu.ordersync, remind_cpu.intake, remind_cpu.postgres);
    printf ("  import        %" PRId64 " rows in %.1f s: %.0f rows/s, kefuctl peak RSS %.1f MB "
            "(exit %d)\n",
            o.import_rows, import_s, import_rows_per_s, import_rss_mb, import_rc);
    printf ("{\"bench\": \"ordersync\", \"orders\": %" PRId64 ", \"updates_per_s\": %.0f"
            ", \"raw_pg_rows_per_s\": %.0f, \"updates_to_raw\": %.3f, \"reminders_due\": %" PRId64
            ", \"reminders_handed\": %" PRId64 ", \"reminders_last_ms\": %.0f"
            ", \"reminders_duplicates\": %" PRId64 ", \"import_rows\": %" PRId64
            ", \"import_rows_per_s\": %.0f, \"import_peak_rss_mb\": %.1f, \"import_exit\": %d"
            ", \"cpu_us_per_update\": {\"ordersync\": %.0f, \"intake\": %.0f, \"postgres\": %.0f}"
            ", \"cpu_us_per_reminder\": {\"ordersync\": %.0f, \"intake\": %.0f, \"postgres\": "
            "%.0f}}\n",
            o.orders, updates_per_s, raw.rows_per_s, updates_per_s / raw.rows_per_s, o.unpaid,
            reminded, reminders_ms, reminded - distinct, o.import_rows, import_rows_per_s,
            import_rss_mb, import_rc, update_cpu.ordersync, update_cpu.intake, update_cpu.postgres,
            remind_cpu.ordersync, remind_cpu.intake, remind_cpu.postgres);
    bench_service_stop (&ordersync, 10, NULL);
    bench_intake_actor_stop (&intake);
    kf_config_free (ordersync_config_spec.entries, &oc);
    kf_config_free (kf_common_config_entries, &ocommon);
    kf_clock_destroy (&clock);
    return 0;
}
