/*  bench_escalation — kefu-escalation's clock and its intake of complaints,
    next to the raw batched-insert rate of the same run.

    1. The raw limit: batched inserts of message rows (bench_pg_raw).
    2. Deadlines: --open-cases open complaints in the store, --rate of
       their judging deadlines due per second for --fire-seconds. The
       driven clock (shared by intake and escalation) is moved forward
       with real time, in 100 ms steps; a deadline's firing lag is the
       real time from the step that made it due until the transaction
       that fired it had committed its events (deadlines fire in due
       order; the events are counted every 5 ms).
    3. Restart: escalation stopped (DRAIN), --restart-gap seconds of the
       clock pass while it is down, started again: the time until it
       answers START (ready), and until every deadline that fell due while
       it was down has fired (SYNC answered). Then the duplicates: every
       deadline_passed event against the levels the cases reached.
    4. Auto-registration: a gateway (libkefu-gateway) sends messages that
       intake classifies complaint (each from a new buyer and order) at
       --msg-rate for --msg-seconds; a message's lag is the real time from
       its scheduled send until escalation had committed its case (counted
       every 10 ms). The p99 of the first and of the last third shows
       growth.

    Intake and escalation run in-process (bench_service_actor). The table,
    then one JSON line (the last line printed). */
#include "bench_intake_actor.h"
#include "bench_pg.h"
#include "bench_service.h"
#include "bench_stats.h"

#include "escalation_config.h"
#include "escalation_server.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kefu_gateway.h"
#include "kf_config.h"
#include "kf_daemon.h"
#include "kf_shop.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_SHOP "bench-shop"
//  2026-11-23 02:00 UTC: the cases are registered then, due a day later.
#define S_T0  INT64_C (1795399200000)
#define S_DAY INT64_C (86400000)

typedef struct {
    const char *db;       //  database URL
    int64_t open_cases;   //  open complaints in the store
    int64_t rate;         //  deadlines due per second
    int64_t fire_seconds; //  seconds of the clock moved forward with real time
    int64_t restart_gap;  //  clock seconds that pass while escalation is down
    int64_t msg_rate;     //  complaint messages per second
    int64_t msg_seconds;  //  ... for this long
    int64_t raw_rows;     //  rows of the raw insert phase
} s_opts_t;

static void
s_usage (void)
{
    printf ("Usage: bench_escalation --db URL [--open-cases N] [--rate N] [--fire-seconds N]\n"
            "                        [--restart-gap N] [--msg-rate N] [--msg-seconds N]\n"
            "                        [--raw-rows N]\n\n"
            "kefu-escalation: --open-cases open complaints, --rate deadlines due per second for\n"
            "--fire-seconds on a driven clock moved with real time (firing lag, duplicates);\n"
            "a restart with --restart-gap seconds of deadlines passed while it was down\n"
            "(restart-to-ready); complaint messages through intake at --msg-rate for\n"
            "--msg-seconds (auto-registration lag, first and last third). Defaults: 100000\n"
            "cases, 1000/s for 30 s, gap 5 s, 2000 messages/s for 30 s, 200000 raw rows.\n");
}

static void
s_set (char **slot, const char *value)
{
    free (*slot);
    *slot = strdup (value);
}

//  ---------------------------------------------------------------------
//  2. Deadlines

//  Deadline k (0-based) is due at S_T0 + S_DAY + k * 1000 / rate.
static int64_t
s_due (const s_opts_t *o, int64_t k)
{
    return S_T0 + S_DAY + k * 1000 / o->rate;
}

//  The open cases: the first rate * (fire_seconds + restart_gap) due one
//  after the other from S_T0 + 1 day, the rest a week later.
static int
s_seed (const s_opts_t *o)
{
    char sql[1024];
    int64_t due = o->rate * (o->fire_seconds + o->restart_gap);
    snprintf (sql, sizeof sql,
              "INSERT INTO escalation_cases (shop_id, kind, channel, channel_customer_id, "
              "order_id, stage, stage_at_ms, deadline_ms, registered_at_ms, registered_by, "
              "due_ms) SELECT '%s', 1, 1, 'buyer-' || i, 'TB' || i, 1, %" PRId64 ", d, %" PRId64
              ", 'bench', d FROM (SELECT i, CASE WHEN i < %" PRId64 " THEN %" PRId64
              " + i * 1000 / %" PRId64 " ELSE %" PRId64 " + i END AS d FROM generate_series (0, "
              "%" PRId64 ") i) x",
              S_SHOP, S_T0, S_T0, due, S_T0 + S_DAY, o->rate, S_T0 + 8 * S_DAY, o->open_cases - 1);
    if (bench_pg_exec (o->db, sql))
        return -1;
    return bench_pg_analyze (o->db);
}

//  Escalation's events so far: what the phases count by (a deadline fired
//  writes two, complaint.deadline_passed and complaint.escalated; a case
//  registered one), committed, read on a connection of the benchmark's.
//  Transactions committed in the database so far (PostgreSQL's statistics,
//  flushed within a second of each commit).
#define S_COMMITS "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database ()"

//  Commands escalation has not had acknowledged by intake yet.
#define S_UNACKED "SELECT count (*) FROM escalation_commands"

#define S_EVENTS                                                                                   \
    "SELECT coalesce (sum (last_seq), 0) FROM event_sequences WHERE stream = 'escalation'"

//  Move the clock with real time, in 100 ms steps, for fire_seconds; lat
//  gets each deadline's firing lag. Returns the deadlines fired, or -1.
static int64_t
s_fire (const s_opts_t *o, kf_clock_t *clock, kf_store_t *probe, bench_lat_t *lat)
{
    int64_t n = o->rate * o->fire_seconds, fired = 0;
    int64_t base = bench_pg_store_count (probe, S_EVENTS);
    //  Real time at which the clock first reached each 100 ms step.
    int64_t steps = o->fire_seconds * 10 + 1;
    int64_t *step_us = calloc ((size_t) steps, sizeof *step_us);
    int64_t r0 = bench_now_us (), last_step = -1;
    int64_t end_us = r0 + o->fire_seconds * 1000000 + 60000000;
    while (base >= 0 && fired < n && bench_now_us () < end_us) {
        int64_t now = bench_now_us ();
        int64_t step = (now - r0) / 100000;
        if (step >= steps)
            step = steps - 1;
        if (step > last_step) {
            if (kf_clock_set (clock, S_T0 + S_DAY + step * 100))
                break;
            for (int64_t s = last_step + 1; s <= step; s++)
                step_us[s] = now;
            last_step = step;
        }
        int64_t got = bench_pg_store_count (probe, S_EVENTS);
        if (got < 0)
            break;
        got = (got - base) / 2;
        now = bench_now_us ();
        for (; fired < got && fired < n; fired++) {
            int64_t due_step = (s_due (o, fired) - S_T0 - S_DAY + 99) / 100;
            if (due_step <= last_step)
                bench_lat_add (lat, now - step_us[due_step]);
        }
        bench_sleep_until_us (now + 5000);
    }
    free (step_us);
    return base < 0 ? -1 : fired;
}

//  ---------------------------------------------------------------------
//  4. Auto-registration

static void
s_text (ProtobufCBinaryData *b, const char *s)
{
    b->data = (uint8_t *) s;
    b->len = strlen (s);
}

//  Send msg_rate * msg_seconds complaint messages, paced; first/last get
//  the lags of the first and last thirds, all of them. Returns how many
//  were registered, or -1.
static int64_t
s_autoregister (const s_opts_t *o, const char *endpoint, kf_store_t *probe, bench_lat_t *all,
                bench_lat_t *first, bench_lat_t *last)
{
    kefu_gateway_options_t options = kefu_gateway_options_default ();
    options.endpoint = endpoint;
    options.gateway_id = "bench-chat";
    kefu_gateway_t *gw = kefu_gateway_new (&options);
    if (!gw)
        return -1;
    int64_t n = o->msg_rate * o->msg_seconds, sent = 0, seen = 0;
    int64_t base = bench_pg_store_count (probe, S_EVENTS);
    int64_t r0 = bench_now_us () + 10000, end_us = r0 + o->msg_seconds * 1000000 + 120000000;
    int64_t next_sample = r0;
    while (seen < n && bench_now_us () < end_us) {
        int64_t now = bench_now_us ();
        //  Everything scheduled by now goes out (a full window waits).
        while (sent < n && r0 + sent * 1000000 / o->msg_rate <= now) {
            char id[32], buyer[32], order[32];
            snprintf (id, sizeof id, "c-%" PRId64, sent);
            snprintf (buyer, sizeof buyer, "tb_c%" PRId64, sent);
            snprintf (order, sizeof order, "C%09" PRId64, sent);
            Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
            Kefu__V1__CustomerMessage m = KEFU__V1__CUSTOMER_MESSAGE__INIT;
            s_text (&item.shop_id, S_SHOP);
            s_text (&item.gateway_msg_id, id);
            item.sent_at_ms = S_T0 + 2 * S_DAY;
            item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
            item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
            item.customer_message = &m;
            s_text (&m.customer_id, buyer);
            s_text (&m.order_id, order);
            s_text (&m.body, "我要投诉，收到的杯子是碎的，客服也不理人");
            if (kefu_gateway_send (gw, &item) == 0)
                sent++;
            else if (errno == EAGAIN)
                break;
            else
                goto failed;
        }
        kefu_gateway_poll (gw, 0);
        now = bench_now_us ();
        if (now >= next_sample) {
            int64_t got = bench_pg_store_count (probe, S_EVENTS);
            if (got < 0 || base < 0)
                goto failed;
            now = bench_now_us ();
            for (; seen < got - base && seen < n; seen++) {
                int64_t us = now - (r0 + seen * 1000000 / o->msg_rate);
                bench_lat_add (all, us);
                if (seen < n / 3)
                    bench_lat_add (first, us);
                else if (seen >= n - n / 3)
                    bench_lat_add (last, us);
            }
            next_sample = now + 10000;
        }
        bench_sleep_until_us (now + 500);
    }
    kefu_gateway_flush (gw, 10000);
    kefu_gateway_destroy (&gw);
    return seen;
failed:
    kefu_gateway_destroy (&gw);
    return -1;
}

//  ---------------------------------------------------------------------

//  Start escalation (config in ec/common); NULL on failure.
static bench_service_t *
s_escalation (kf_service_args_t *args)
{
    return bench_service_actor ("escalation", escalation_server, args);
}

int
main (int argc, char **argv)
{
    s_opts_t o = {getenv ("KEFU_DATABASE_URL"), 100000, 1000, 30, 5, 2000, 30, 200000};
    static const struct option longs[] = {
        {"db", 1, NULL, 'd'},          {"open-cases", 1, NULL, 'c'},
        {"rate", 1, NULL, 'r'},        {"fire-seconds", 1, NULL, 'f'},
        {"restart-gap", 1, NULL, 'g'}, {"msg-rate", 1, NULL, 'm'},
        {"msg-seconds", 1, NULL, 's'}, {"raw-rows", 1, NULL, 'w'},
        {"help", 0, NULL, 'h'},        {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long (argc, argv, "h", longs, NULL)) != -1) {
        int64_t v = optarg ? atoll (optarg) : 0;
        switch (ch) {
        case 'd':
            o.db = optarg;
            break;
        case 'c':
            o.open_cases = v;
            break;
        case 'r':
            o.rate = v;
            break;
        case 'f':
            o.fire_seconds = v;
            break;
        case 'g':
            o.restart_gap = v;
            break;
        case 'm':
            o.msg_rate = v;
            break;
        case 's':
            o.msg_seconds = v;
            break;
        case 'w':
            o.raw_rows = v;
            break;
        case 'h':
            s_usage ();
            return 0;
        default:
            s_usage ();
            return 2;
        }
    }
    if (!o.db || o.rate < 1 || o.rate > 100000 || o.fire_seconds < 1 || o.restart_gap < 0 ||
        o.open_cases < o.rate * (o.fire_seconds + o.restart_gap) || o.msg_rate < 1 ||
        o.msg_seconds < 1 || o.raw_rows < 1000) {
        s_usage ();
        return 2;
    }
    //  A line per deadline fired (info) would cost more than the firing.
    if (!getenv ("KEFU_LOG_LEVEL"))
        setenv ("KEFU_LOG_LEVEL", "warn", 1);
    zsys_init ();
    zsys_set_logstream (stderr);
    bench_pg_info_t pg;
    if (bench_pg_info (o.db, &pg))
        return 1;
    bench_cpu_t cpu0, cpu1;
    bench_cpu_sample (&cpu0, pg.postmaster_pid, 0);

    //  1. The raw limit.
    bench_pg_raw_opts_t ro = {"bench-raw", 4, 10000, o.raw_rows, 1000, 200, pg.postmaster_pid};
    bench_pg_raw_result_t raw;
    if (bench_pg_raw (o.db, &ro, &raw))
        return 1;
    fprintf (stderr, "raw batched inserts: %.0f rows/s\n", raw.rows_per_s);

    if (bench_pg_add_shop (o.db, S_SHOP, "Bench") || s_seed (&o))
        return 1;
    fprintf (stderr, "seeded %" PRId64 " open cases\n", o.open_cases);

    //  Intake and escalation on one driven clock, a day before the first
    //  deadline.
    kf_clock_t *clock = kf_clock_new_manual (S_T0);
    bench_intake_actor_t intake;
    if (bench_intake_actor_start (&intake, o.db, clock))
        return 1;
    escalation_config_t ec;
    kf_common_config_t ecommon;
    memset (&ec, 0, sizeof ec);
    memset (&ecommon, 0, sizeof ecommon);
    if (escalation_config_defaults (&ec, &ecommon))
        return 1;
    s_set (&ecommon.database_url, o.db);
    s_set (&ec.intake_events, intake.events);
    s_set (&ec.intake_commands, intake.commands);
    s_set (&ec.events_endpoint, "tcp://127.0.0.1:*");
    s_set (&ec.control_endpoint, "tcp://127.0.0.1:*");
    ec.insecure = true;
    kf_service_args_t eargs = {&escalation_config_spec, &ec, &ecommon, clock};
    bench_service_t *esc = s_escalation (&eargs);
    kf_store_t *probe = bench_pg_connect (o.db, "kefu-bench-probe", NULL);
    if (!esc || !probe)
        return 1;

    //  2. Deadlines.
    bench_lat_t *fire_lat = bench_lat_new ((size_t) (o.rate * o.fire_seconds));
    int64_t commits0 = bench_pg_store_count (probe, S_COMMITS);
    int64_t fired = s_fire (&o, clock, probe, fire_lat);
    if (fired < 0)
        return 1;
    zclock_sleep (1500); //  the statistics of the last commits
    double fire_commits =
        fired > 0 ? (double) (bench_pg_store_count (probe, S_COMMITS) - commits0) / fired : 0;
    fprintf (stderr, "deadlines: %" PRId64 " fired\n", fired);

    //  3. Restart, from a quiet service: every notice the firing sent
    //  acknowledged by intake first (stopping with thousands of them
    //  unacknowledged tripped libzmq's assertion _input_stopped in
    //  stream_engine_base.cpp; see bench/README.md).
    int64_t wait_us = bench_now_us () + 120000000;
    while (bench_pg_store_count (probe, S_UNACKED) > 0 && bench_now_us () < wait_us)
        zclock_sleep (50);
    bench_service_stop (&esc, 10, NULL);
    //  Due while down: every deadline before the end of the gap.
    if (kf_clock_set (clock, S_T0 + S_DAY + (o.fire_seconds + o.restart_gap) * 1000 - 1))
        return 1;
    int64_t before = bench_pg_store_count (probe, S_EVENTS);
    int64_t t0 = bench_now_us ();
    esc = s_escalation (&eargs);
    if (!esc)
        return 1;
    double ready_ms = (double) (bench_now_us () - t0) / 1000;
    zstr_send (bench_service_pipe (esc), "SYNC");
    free (zstr_recv (bench_service_pipe (esc)));
    double caught_up_ms = (double) (bench_now_us () - t0) / 1000;
    int64_t late_fired = (bench_pg_store_count (probe, S_EVENTS) - before) / 2;
    int64_t events = bench_pg_count (o.db, "SELECT count (*) FROM events WHERE stream = "
                                           "'escalation' AND kind = 'complaint.deadline_passed'");
    int64_t levels =
        bench_pg_count (o.db, "SELECT coalesce (sum (level), 0) FROM escalation_cases");
    int64_t open = bench_pg_count (o.db, "SELECT count (*) FROM escalation_cases WHERE stage <> 8");
    fprintf (stderr, "restart: ready in %.0f ms, %" PRId64 " late deadlines fired in %.0f ms\n",
             ready_ms, late_fired, caught_up_ms);

    //  4. Auto-registration.
    int64_t n = o.msg_rate * o.msg_seconds;
    bench_lat_t *ar = bench_lat_new ((size_t) n), *ar_first = bench_lat_new ((size_t) n / 3),
                *ar_last = bench_lat_new ((size_t) n / 3);
    int64_t commits1 = bench_pg_store_count (probe, S_COMMITS);
    int64_t registered = s_autoregister (&o, intake.gateway, probe, ar, ar_first, ar_last);
    zclock_sleep (1500);
    double ar_commits =
        registered > 0 ? (double) (bench_pg_store_count (probe, S_COMMITS) - commits1) / registered
                       : 0;
    fprintf (stderr, "auto-registration: %" PRId64 " of %" PRId64 " registered\n", registered, n);
    bench_cpu_sample (&cpu1, pg.postmaster_pid, 0);
    bench_cpu_t used = bench_cpu_diff (&cpu1, &cpu0);

    double fire_p99 = bench_lat_pct_ms (fire_lat, 99), ar_p99 = bench_lat_pct_ms (ar, 99);
    int64_t due = o.rate * (o.fire_seconds + o.restart_gap);
    printf ("kefu-escalation (bench/README.md)\n");
    printf ("  PostgreSQL %s, fsync=%s, synchronous_commit=%s (%ld CPUs, machine %.0f %% busy)\n",
            pg.server_version, pg.fsync, pg.synchronous_commit, sysconf (_SC_NPROCESSORS_ONLN),
            used.wall > 0 ? 100 * used.machine / used.wall / sysconf (_SC_NPROCESSORS_ONLN) : 0);
    printf ("  raw inserts   %.0f rows/s (batches of 1000, committed)\n", raw.rows_per_s);
    printf ("  deadlines     %" PRId64 " open cases, %" PRId64 "/s due for %" PRId64
            " s (driven clock moved with real time): %" PRId64 " fired, lag p50 %.1f ms, p99 "
            "%.1f ms, max %.1f ms, %.1f commits per deadline (target p99 100 ms: %s)\n",
            o.open_cases, o.rate, o.fire_seconds, fired, bench_lat_pct_ms (fire_lat, 50), fire_p99,
            bench_lat_max_ms (fire_lat), fire_commits,
            bench_met (fired == o.rate * o.fire_seconds && fire_p99 <= 100));
    printf ("  restart       ready in %.0f ms; the %" PRId64 " deadlines passed while down fired "
            "%.0f ms after the start\n",
            ready_ms, late_fired, caught_up_ms);
    printf ("  duplicates    %" PRId64 " deadline_passed events for %" PRId64
            " levels reached (%" PRId64 " due): %" PRId64 " duplicated (target 0: %s)\n",
            events, levels, due, events - levels, bench_met (events == levels && levels == due));
    printf ("  auto-register %" PRId64 " of %" PRId64 " complaint messages at %" PRId64
            "/s: lag p50 %.1f ms, p99 %.1f ms; first third p99 %.1f ms, last third p99 %.1f ms; "
            "%.1f commits per message\n",
            registered, n, o.msg_rate, bench_lat_pct_ms (ar, 50), ar_p99,
            bench_lat_pct_ms (ar_first, 99), bench_lat_pct_ms (ar_last, 99), ar_commits);
    //  Valid: everything due fired once, every message registered a case.
    bool valid =
        fired == o.rate * o.fire_seconds && events == levels && levels == due && registered == n;
    printf ("{\"bench\": \"escalation\", \"valid\": %s, \"open_cases\": %" PRId64
            ", \"deadlines_per_s\": %" PRId64
            ", \"clock\": \"driven\", \"deadlines_fired\": %" PRId64
            ", \"fire_lag_p50_ms\": %.1f, \"fire_lag_p99_ms\": %.1f, \"fires_duplicated\": %" PRId64
            ", \"restart_ready_ms\": %.0f, \"restart_caught_up_ms\": %.0f, \"late_fired\": %" PRId64
            ", \"autoregister_per_s\": %" PRId64 ", \"autoregistered\": %" PRId64
            ", \"autoregister_lag_p99_ms\": %.1f, \"autoregister_lag_first_p99_ms\": %.1f"
            ", \"autoregister_lag_last_p99_ms\": %.1f, \"commits_per_deadline\": %.1f"
            ", \"commits_per_message\": %.1f, \"raw_pg_rows_per_s\": %.0f}\n",
            valid ? "true" : "false", open, o.rate, fired, bench_lat_pct_ms (fire_lat, 50),
            fire_p99, events - levels, ready_ms, caught_up_ms, late_fired, o.msg_rate, registered,
            ar_p99, bench_lat_pct_ms (ar_first, 99), bench_lat_pct_ms (ar_last, 99), fire_commits,
            ar_commits, raw.rows_per_s);
    bench_lat_destroy (&fire_lat);
    bench_lat_destroy (&ar);
    bench_lat_destroy (&ar_first);
    bench_lat_destroy (&ar_last);
    kf_store_destroy (&probe);
    bench_service_stop (&esc, 10, NULL);
    bench_intake_actor_stop (&intake);
    kf_config_free (escalation_config_spec.entries, &ec);
    kf_config_free (kf_common_config_entries, &ecommon);
    kf_clock_destroy (&clock);
    return valid ? 0 : 1;
}
