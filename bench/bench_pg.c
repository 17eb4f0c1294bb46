/*  bench_pg — the benchmarks' SQL, and raw batched inserts of message rows. */
#include "bench_pg.h"

#include "bench_corpus.h"
#include "bench_stats.h"
#include "kf_batch.h"
#include "kf_shop.h"
#include "kf_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  The statement intake stores message rows with (intake_store.c,
//  "intake_insert_messages"), on the scratch table instead of messages.
#define S_COLUMNS                                                                                  \
    "shop_id, gateway_id, gateway_msg_id, kind, channel, conversation_id, customer_id, agent_id, " \
    "body, sent_at, received_at, intent, priority, qa_flags, score, agent_status, auto_reply"
static const kf_stmt_t s_raw_statements[] = {
    {"bench_insert_batch",
     "INSERT INTO bench_scratch (" S_COLUMNS ") "
     "SELECT shop_id, gateway_id, gateway_msg_id, kind, channel, nullif (conversation_id, 0), "
     "  nullif (customer_id, 0), nullif (agent_id, ''), body, "
     "  to_timestamp (sent_ms / 1000.0::float8), to_timestamp (received_ms / 1000.0::float8), "
     "  nullif (intent, 0), nullif (priority, 0), "
     "  string_to_array (nullif (qa, ''), ','), nullif (score, 0), nullif (agent_status, 0), "
     "  auto_reply "
     "FROM (SELECT unnest ($1::text[]) AS shop_id, unnest ($2::text[]) AS gateway_id, "
     "unnest ($3::text[]) AS gateway_msg_id, unnest ($4::int2[]) AS kind, "
     "unnest ($5::int2[]) AS channel, unnest ($6::int8[]) AS conversation_id, "
     "unnest ($7::int8[]) AS customer_id, unnest ($8::text[]) AS agent_id, "
     "unnest ($9::text[]) AS body, unnest ($10::int8[]) AS sent_ms, "
     "unnest ($11::int8[]) AS received_ms, unnest ($12::int2[]) AS intent, "
     "unnest ($13::int2[]) AS priority, unnest ($14::text[]) AS qa, "
     "unnest ($15::int2[]) AS score, unnest ($16::int2[]) AS agent_status, "
     "unnest ($17::bool[]) AS auto_reply) AS t "
     "ON CONFLICT (shop_id, gateway_id, gateway_msg_id) DO NOTHING "
     "RETURNING shop_id, gateway_id, gateway_msg_id, message_id"},
    //  One row, committed on its own: the cheapest durable ack possible.
    {"bench_insert_one",
     "INSERT INTO bench_scratch (" S_COLUMNS ") "
     "VALUES ($1, $2, $3, $4::int2, $5::int2, $6::int8, $7::int8, NULL, $8, "
     "  to_timestamp ($9::int8 / 1000.0::float8), to_timestamp ($10::int8 / 1000.0::float8), "
     "  $11::int2, $12::int2, NULL, NULL, NULL, false) "
     "ON CONFLICT (shop_id, gateway_id, gateway_msg_id) DO NOTHING RETURNING message_id"},
    {NULL, NULL}};

static const kf_col_type_t s_types[17] = {
    KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT2, KF_COL_INT2, KF_COL_INT8,
    KF_COL_INT8, KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT8, KF_COL_INT8, KF_COL_INT2,
    KF_COL_INT2, KF_COL_TEXT, KF_COL_INT2, KF_COL_INT2, KF_COL_BOOL};

static int64_t
s_wall_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

kf_store_t *
bench_pg_connect (const char *url, const char *app_name, const kf_stmt_t *statements)
{
    kf_store_t *store = kf_store_new (url, app_name);
    if (statements)
        kf_store_add_statements (store, statements);
    if (kf_store_connect (store)) {
        fprintf (stderr, "bench_pg: cannot connect to %s\n", url);
        kf_store_destroy (&store);
    }
    return store;
}

static kf_store_t *
s_connect (const char *url, const kf_stmt_t *statements)
{
    return bench_pg_connect (url, "kefu-bench", statements);
}

//  ---------------------------------------------------------------------
//  Small queries

static int
s_on_text (const PGresult *res, void *arg)
{
    char *out = arg; //  at least 512 bytes
    if (PQntuples (res) < 1)
        return -1;
    snprintf (out, 512, "%s", kf_store_text (res, 0, 0));
    return 0;
}

static int
s_show (kf_store_t *store, const char *sql, char *out, size_t size)
{
    char value[512] = "";
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_exec_sql (store, sql, NULL, s_on_text, value, &err)) {
        fprintf (stderr, "bench_pg: %s: %s\n", sql, err.reason);
        return -1;
    }
    snprintf (out, size, "%s", value);
    return 0;
}

int
bench_pg_info (const char *url, bench_pg_info_t *out)
{
    memset (out, 0, sizeof *out);
    kf_store_t *store = s_connect (url, NULL);
    if (!store)
        return -1;
    int rc =
        s_show (store, "SHOW server_version", out->server_version, sizeof out->server_version) ||
        s_show (store, "SHOW fsync", out->fsync, sizeof out->fsync) ||
        s_show (store, "SHOW synchronous_commit", out->synchronous_commit,
                sizeof out->synchronous_commit) ||
        s_show (store, "SHOW full_page_writes", out->full_page_writes,
                sizeof out->full_page_writes) ||
        s_show (store, "SHOW wal_sync_method", out->wal_sync_method, sizeof out->wal_sync_method) ||
        s_show (store, "SHOW data_directory", out->data_directory, sizeof out->data_directory);
    kf_store_destroy (&store);
    if (rc)
        return -1;
    //  The first line of postmaster.pid is the postmaster's pid (readable
    //  when we run as root or as the server's user; else no PG CPU figures).
    char path[600];
    snprintf (path, sizeof path, "%s/postmaster.pid", out->data_directory);
    FILE *file = fopen (path, "r");
    if (file) {
        if (fscanf (file, "%d", &out->postmaster_pid) != 1)
            out->postmaster_pid = 0;
        fclose (file);
    }
    return 0;
}

int
bench_pg_exec (const char *url, const char *sql)
{
    kf_store_t *store = s_connect (url, NULL);
    if (!store)
        return -1;
    kf_error_t err;
    kf_error_clear (&err);
    int rc = kf_store_exec_script (store, sql, &err);
    if (rc)
        fprintf (stderr, "bench_pg: %s: %s\n", sql, err.reason);
    kf_store_destroy (&store);
    return rc;
}

int
bench_pg_add_shop (const char *url, const char *shop_id, const char *name)
{
    kf_store_t *store = s_connect (url, NULL);
    if (!store)
        return -1;
    kf_error_t err;
    kf_error_clear (&err);
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop_id);
    kf_params_str (&params, name);
    kf_params_int (&params, kf_shop_partition (shop_id, strlen (shop_id)));
    int rc = kf_store_exec_sql (store,
                                "INSERT INTO shops (shop_id, name, timezone, partition) "
                                "VALUES ($1::text, $2::text, 'UTC', $3::int2)",
                                &params, NULL, NULL, &err);
    if (rc)
        fprintf (stderr, "bench_pg: shop %s: %s\n", shop_id, err.reason);
    kf_store_destroy (&store);
    return rc;
}

int
bench_pg_checkpoint (const char *url)
{
    return bench_pg_exec (url, "CHECKPOINT");
}

int
bench_pg_analyze (const char *url)
{
    return bench_pg_exec (url, "ANALYZE");
}

static int
s_on_int (const PGresult *res, void *arg)
{
    if (PQntuples (res) < 1)
        return -1;
    *(int64_t *) arg = kf_store_int (res, 0, 0);
    return 0;
}

static int64_t
s_store_count (kf_store_t *store, const char *sql, const char *param)
{
    int64_t value = -1;
    kf_error_t err;
    kf_error_clear (&err);
    kf_params_t params;
    kf_params_init (&params);
    if (param)
        kf_params_str (&params, param);
    if (kf_store_exec_sql (store, sql, param ? &params : NULL, s_on_int, &value, &err)) {
        fprintf (stderr, "bench_pg: %s: %s\n", sql, err.reason);
        value = -1;
    }
    return value;
}

int64_t
bench_pg_count (const char *url, const char *sql)
{
    return bench_pg_count1 (url, sql, NULL);
}

int64_t
bench_pg_count1 (const char *url, const char *sql, const char *param)
{
    kf_store_t *store = s_connect (url, NULL);
    if (!store)
        return -1;
    int64_t value = s_store_count (store, sql, param);
    kf_store_destroy (&store);
    return value;
}

int64_t
bench_pg_store_count (kf_store_t *store, const char *sql)
{
    return s_store_count (store, sql, NULL);
}

//  ---------------------------------------------------------------------
//  Raw inserts

static int
s_on_returned (const PGresult *res, void *arg)
{
    *(int64_t *) arg += PQntuples (res);
    return 0;
}

//  One message row into the batch, as intake would store item `it`.
static void
s_add_row (kf_batch_t *batch, const bench_item_t *it, const char *gateway_id, int64_t now_ms)
{
    kf_batch_str (batch, 0, it->shop_id);
    kf_batch_str (batch, 1, gateway_id);
    kf_batch_str (batch, 2, it->msg_id);
    kf_batch_int (batch, 3, 1); //  kind: customer message
    kf_batch_int (batch, 4, it->item.channel);
    kf_batch_int (batch, 5, 1 + it->customer_index); //  conversation id
    kf_batch_int (batch, 6, 1 + it->customer_index); //  customer id
    kf_batch_str (batch, 7, "");                     //  agent id: none
    kf_batch_text (batch, 8, it->body, strlen (it->body));
    kf_batch_int (batch, 9, it->item.sent_at_ms);
    kf_batch_int (batch, 10, now_ms);
    kf_batch_int (batch, 11, 2);      //  intent: pre-sales
    kf_batch_int (batch, 12, 2);      //  priority: normal
    kf_batch_str (batch, 13, "");     //  qa flags: none
    kf_batch_int (batch, 14, 0);      //  score: none
    kf_batch_int (batch, 15, 0);      //  agent status: none
    kf_batch_bool (batch, 16, false); //  not the platform's auto-responder
}

static int
s_batches (kf_store_t *store, const bench_pg_raw_opts_t *opts, bench_pg_raw_result_t *out)
{
    int gateways = opts->gateways > 0 ? opts->gateways : 1;
    kf_batch_t *batch = kf_batch_new (17, s_types);
    bench_lat_t *lat = bench_lat_new ((size_t) (opts->rows / opts->batch + 1));
    uint64_t rng = 0x2545f4914f6cdd1dULL;
    int64_t *seq = calloc ((size_t) gateways, sizeof (int64_t));
    int rc = 0;
    bench_cpu_t cpu_before, cpu_after;
    bench_cpu_sample (&cpu_before, opts->postmaster_pid, 0);
    int64_t start = bench_now_us ();
    for (int64_t done = 0; done < opts->rows && rc == 0;) {
        //  Rows are made inside the timed loop, as intake makes them from
        //  the items it reads: building arrays is part of the cost.
        int64_t t0 = bench_now_us ();
        int64_t now_ms = s_wall_ms ();
        kf_batch_reset (batch);
        int n = 0;
        for (; n < opts->batch && done + n < opts->rows; n++) {
            int g = (int) ((done + n) % gateways);
            char prefix[16], gateway_id[16];
            snprintf (prefix, sizeof prefix, "r%d", g);
            snprintf (gateway_id, sizeof gateway_id, "gw%02d", g);
            bench_item_t it;
            bench_item_make (&it, opts->shop_id, prefix, g, gateways, seq[g]++, opts->customers,
                             &rng);
            s_add_row (batch, &it, gateway_id, now_ms);
        }
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (batch, &params);
        kf_error_t err;
        kf_error_clear (&err);
        int64_t returned = 0;
        if (kf_store_begin (store, &err) ||
            kf_store_exec (store, "bench_insert_batch", &params, s_on_returned, &returned, &err) ||
            kf_store_commit (store, &err)) {
            fprintf (stderr, "bench_pg: batch insert failed: %s\n", err.reason);
            kf_store_rollback (store);
            rc = -1;
            break;
        }
        if (returned != n) {
            fprintf (stderr, "bench_pg: %d rows sent, %" PRId64 " inserted\n", n, returned);
            rc = -1;
        }
        bench_lat_add (lat, bench_now_us () - t0);
        done += n;
        out->rows = done;
    }
    out->seconds = (double) (bench_now_us () - start) / 1e6;
    bench_cpu_sample (&cpu_after, opts->postmaster_pid, 0);
    out->pg_cpu_s = cpu_after.postgres - cpu_before.postgres;
    out->cpu_s = cpu_after.process - cpu_before.process;
    out->rows_per_s = out->seconds > 0 ? (double) out->rows / out->seconds : 0;
    out->txn_p50_ms = bench_lat_pct_ms (lat, 50);
    out->txn_p99_ms = bench_lat_pct_ms (lat, 99);
    bench_lat_destroy (&lat);
    kf_batch_destroy (&batch);
    free (seq);
    return rc;
}

static int
s_singles (kf_store_t *store, const bench_pg_raw_opts_t *opts, bench_pg_raw_result_t *out)
{
    bench_lat_t *lat = bench_lat_new ((size_t) opts->single_commits + 1);
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    int rc = 0;
    for (int i = 0; i < opts->single_commits; i++) {
        bench_item_t it;
        bench_item_make (&it, opts->shop_id, "one", 0, 1, i, opts->customers, &rng);
        kf_params_t params;
        kf_params_init (&params);
        kf_params_str (&params, it.shop_id);
        kf_params_str (&params, "gw00");
        kf_params_str (&params, it.msg_id);
        kf_params_int (&params, 1);
        kf_params_int (&params, it.item.channel);
        kf_params_int (&params, 1 + it.customer_index);
        kf_params_int (&params, 1 + it.customer_index);
        kf_params_str (&params, it.body);
        kf_params_int (&params, it.item.sent_at_ms);
        kf_params_int (&params, s_wall_ms ());
        kf_params_int (&params, 2);
        kf_params_int (&params, 2);
        kf_error_t err;
        kf_error_clear (&err);
        int64_t returned = 0;
        int64_t t0 = bench_now_us ();
        if (kf_store_exec (store, "bench_insert_one", &params, s_on_returned, &returned, &err)) {
            fprintf (stderr, "bench_pg: single insert failed: %s\n", err.reason);
            rc = -1;
            break;
        }
        bench_lat_add (lat, bench_now_us () - t0);
        out->commits++;
    }
    out->commit_p50_ms = bench_lat_pct_ms (lat, 50);
    out->commit_p99_ms = bench_lat_pct_ms (lat, 99);
    bench_lat_destroy (&lat);
    return rc;
}

int
bench_pg_raw (const char *url, const bench_pg_raw_opts_t *opts, bench_pg_raw_result_t *out)
{
    memset (out, 0, sizeof *out);
    //  The table must exist before a store prepares statements on it.
    if (bench_pg_exec (url, "DROP TABLE IF EXISTS bench_scratch; "
                            "CREATE TABLE bench_scratch (LIKE messages INCLUDING ALL)"))
        return -1;
    kf_store_t *store = s_connect (url, s_raw_statements);
    if (!store)
        return -1;
    int rc = s_batches (store, opts, out);
    if (rc == 0 && opts->single_commits > 0)
        rc = s_singles (store, opts, out);
    kf_store_destroy (&store);
    if (bench_pg_exec (url, "DROP TABLE IF EXISTS bench_scratch"))
        rc = -1;
    return rc;
}

//  ---------------------------------------------------------------------
//  Backends

typedef struct {
    int *pids; //  out
    int max;   //  room
    int count; //  rows
} s_pids_t;

static int
s_on_pids (const PGresult *res, void *arg)
{
    s_pids_t *p = arg;
    p->count = PQntuples (res);
    for (int i = 0; i < p->count && i < p->max; i++)
        p->pids[i] = (int) kf_store_int (res, i, 0);
    return 0;
}

int
bench_pg_backend_pids (const char *url, const char *app_name, int *pids, int max)
{
    kf_store_t *store = s_connect (url, NULL);
    if (!store)
        return -1;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, app_name);
    s_pids_t p = {pids, max, 0};
    kf_error_t err;
    kf_error_clear (&err);
    int rc = kf_store_exec_sql (store,
                                "SELECT pid FROM pg_stat_activity WHERE application_name = $1 "
                                "AND datname = current_database () ORDER BY pid",
                                &params, s_on_pids, &p, &err);
    if (rc)
        fprintf (stderr, "bench_pg: pg_stat_activity: %s\n", err.reason);
    kf_store_destroy (&store);
    return rc ? -1 : p.count;
}

//  ---------------------------------------------------------------------
//  Routing set-up

//  Each statement unnests the columns of one batch; $1 is always shop_id.
static const char *const s_setup_sql[] = {
    "INSERT INTO shops (shop_id, name, timezone, partition) "
    "SELECT unnest ($1::text[]), unnest ($2::text[]), unnest ($3::text[]), unnest ($4::int2[])",
    "INSERT INTO routing_groups (shop_id, group_name, display_name, overflow_to, "
    "  overflow_after_ms) "
    "SELECT s, g.name, g.display, g.overflow_to, 120000 FROM unnest ($1::text[]) AS s "
    "CROSS JOIN (VALUES ('presales', '售前', 'aftersales'), ('aftersales', '售后', 'presales')) "
    "  AS g (name, display, overflow_to)",
    "INSERT INTO shifts (shop_id, shift_name, start_minute, end_minute) "
    "SELECT s, 'allday', 0, 1440 FROM unnest ($1::text[]) AS s",
    "INSERT INTO routing_settings (shop_id) SELECT unnest ($1::text[])",
    "INSERT INTO agents (shop_id, agent_id, name, capacity, weight, vip_capable) "
    "SELECT s, a, n, c, 1, v FROM (SELECT unnest ($1::text[]) AS s, unnest ($2::text[]) AS a, "
    "  unnest ($3::text[]) AS n, unnest ($4::int4[]) AS c, unnest ($5::bool[]) AS v) AS t",
    "INSERT INTO agent_groups (shop_id, agent_id, group_name) "
    "SELECT unnest ($1::text[]), unnest ($2::text[]), unnest ($3::text[])",
    "INSERT INTO agent_schedule (shop_id, agent_id, shift_name, days) "
    "SELECT unnest ($1::text[]), unnest ($2::text[]), 'allday', 127",
};

static int
s_exec_batch (kf_store_t *store, const char *sql, kf_batch_t *batch, kf_error_t *err)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (batch, &params);
    int rc = kf_store_exec_sql (store, sql, &params, NULL, NULL, err);
    if (rc)
        fprintf (stderr, "bench_pg: routing set-up: %s\n", err->reason);
    return rc;
}

static int
s_setup (kf_store_t *store, const bench_pg_routing_t *setup, kf_error_t *err)
{
    static const kf_col_type_t shop_types[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT2};
    static const kf_col_type_t agent_types[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT4,
                                                KF_COL_BOOL};
    static const kf_col_type_t member_types[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT};
    kf_batch_t *shops = kf_batch_new (4, shop_types);
    kf_batch_t *ids = kf_batch_new (1, shop_types);
    kf_batch_t *agents = kf_batch_new (5, agent_types);
    kf_batch_t *members = kf_batch_new (3, member_types);
    kf_batch_t *schedule = kf_batch_new (2, member_types);
    for (int s = 0; s < setup->shops; s++) {
        const char *shop = setup->shop_ids[s];
        kf_batch_str (shops, 0, shop);
        kf_batch_str (shops, 1, setup->names[s]);
        kf_batch_str (shops, 2, setup->timezones[s]);
        kf_batch_int (shops, 3, kf_shop_partition (shop, strlen (shop)));
        kf_batch_str (ids, 0, shop);
        for (int a = 0; a < setup->agents; a++) {
            char agent[16], name[32];
            snprintf (agent, sizeof agent, BENCH_PG_AGENT_FMT, a);
            snprintf (name, sizeof name, "客服%02d", a);
            bool presales = a < setup->presales;
            kf_batch_str (agents, 0, shop);
            kf_batch_str (agents, 1, agent);
            kf_batch_str (agents, 2, name);
            kf_batch_int (agents, 3, setup->capacity);
            kf_batch_bool (agents, 4, a == 0 || a == setup->presales);
            kf_batch_str (members, 0, shop);
            kf_batch_str (members, 1, agent);
            kf_batch_str (members, 2, presales ? "presales" : "aftersales");
            kf_batch_str (schedule, 0, shop);
            kf_batch_str (schedule, 1, agent);
        }
    }
    kf_batch_t *per_statement[] = {shops, ids, ids, ids, agents, members, schedule};
    int rc = 0;
    for (size_t i = 0; i < sizeof s_setup_sql / sizeof s_setup_sql[0] && rc == 0; i++)
        rc = s_exec_batch (store, s_setup_sql[i], per_statement[i], err);
    kf_batch_destroy (&shops);
    kf_batch_destroy (&ids);
    kf_batch_destroy (&agents);
    kf_batch_destroy (&members);
    kf_batch_destroy (&schedule);
    return rc;
}

int
bench_pg_routing_setup (const char *url, const bench_pg_routing_t *setup)
{
    kf_store_t *store = s_connect (url, NULL);
    if (!store)
        return -1;
    kf_error_t err;
    kf_error_clear (&err);
    int rc = -1;
    if (kf_store_begin (store, &err) == 0) {
        rc = s_setup (store, setup, &err);
        if (rc == 0 && kf_store_commit (store, &err)) {
            fprintf (stderr, "bench_pg: routing set-up: %s\n", err.reason);
            rc = -1;
        }
        if (rc)
            kf_store_rollback (store);
    } else
        fprintf (stderr, "bench_pg: routing set-up: %s\n", err.reason);
    kf_store_destroy (&store);
    return rc;
}

//  ---------------------------------------------------------------------
//  The stack benchmark: a log with a history

//  Yesterday's and today's partitions (UTC, by PostgreSQL's clock): names
//  and bounds.
typedef struct {
    char name[2][48]; //  events_YYYYMMDD of yesterday, today
    char from[3][32]; //  yesterday, today, tomorrow at 00:00 UTC
} s_days_t;

static int
s_on_days (const PGresult *res, void *arg)
{
    s_days_t *d = arg;
    if (PQntuples (res) < 1)
        return -1;
    for (int i = 0; i < 2; i++)
        snprintf (d->name[i], sizeof d->name[i], "%s", kf_store_text (res, 0, i));
    for (int i = 0; i < 3; i++)
        snprintf (d->from[i], sizeof d->from[i], "%s", kf_store_text (res, 0, 2 + i));
    return 0;
}

//  One day's partition made and attached as kefu_events_ensure_partitions
//  makes them (migration 0019).
static int
s_day_partition (kf_store_t *store, const char *name, const char *from, const char *to,
                 kf_error_t *err)
{
    char sql[1024];
    snprintf (sql, sizeof sql,
              "CREATE TABLE %s (LIKE events INCLUDING DEFAULTS); "
              "SELECT kefu_events_partition_statistics ('%s'); "
              "ALTER TABLE events ATTACH PARTITION %s FOR VALUES FROM ('%s') TO ('%s'); "
              "INSERT INTO event_partitions (name, from_ts, to_ts) VALUES ('%s', '%s', '%s')",
              name, name, name, from, to, name, from, to);
    return kf_store_exec_script (store, sql, err);
}

//  The day's events, in the order they were written (time, then partition),
//  each with a payload the size of a packed message.accepted event.
#define S_HISTORY_SQL                                                                              \
    "INSERT INTO events (stream, partition, seq, shop_id, kind, occurred_at, payload, stored_at) " \
    "SELECT $1::text, p, s, 'history-' || p, 'message.accepted', t, "                              \
    "  decode (repeat ('0a', 180), 'hex'), t "                                                     \
    "FROM generate_series (1, $2::int8) AS s CROSS JOIN generate_series (0, 15) AS p "             \
    "CROSS JOIN LATERAL (SELECT $3::timestamptz + (s - 1) * (interval '1 day' / $2::int8) "        \
    "  + p * interval '1 ms' AS t) AS x"
#define S_HISTORY_SEQ_SQL                                                                          \
    "INSERT INTO event_sequences (stream, partition, last_seq) "                                   \
    "SELECT $1::text, p, $2::int8 FROM generate_series (0, 15) AS p "                              \
    "ON CONFLICT (stream, partition) DO UPDATE SET last_seq = EXCLUDED.last_seq"
#define S_HISTORY_OFFSET_SQL                                                                       \
    "INSERT INTO consumer_offsets (consumer, stream, partition, last_seq) "                        \
    "SELECT $3::text, $1::text, p, $2::int8 FROM generate_series (0, 15) AS p "                    \
    "ON CONFLICT (consumer, stream, partition) DO UPDATE SET last_seq = EXCLUDED.last_seq"

static int
s_history (kf_store_t *store, const bench_pg_history_t *h, s_days_t *days, kf_error_t *err)
{
    if (kf_store_exec_sql (store,
                           "SELECT 'events_' || to_char (d - 1, 'YYYYMMDD'), "
                           "  'events_' || to_char (d, 'YYYYMMDD'), "
                           "  (d - 1)::text || ' 00:00+00', d::text || ' 00:00+00', "
                           "  (d + 1)::text || ' 00:00+00' "
                           "FROM (SELECT (now () AT TIME ZONE 'UTC')::date AS d) AS t",
                           NULL, s_on_days, days, err))
        return -1;
    const char *yesterday = days->name[0], *today = days->name[1];
    //  events_legacy (the rows before migration 0019, up to the end of the
    //  day it ran) gives way to days.
    if (kf_store_exec_script (
            store,
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM events_legacy) THEN "
            "RAISE 'events_legacy is not empty: not a freshly migrated database'; END IF; END $$; "
            "ALTER TABLE events DETACH PARTITION events_legacy; DROP TABLE events_legacy; "
            "DELETE FROM event_partitions WHERE name = 'events_legacy'",
            err) ||
        s_day_partition (store, yesterday, days->from[0], days->from[1], err) ||
        s_day_partition (store, today, days->from[1], days->from[2], err))
        return -1;
    int64_t per = (h->events + 15) / 16;
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, h->stream);
    kf_params_int (&params, per);
    kf_params_str (&params, days->from[0]);
    if (kf_store_exec_sql (store, S_HISTORY_SQL, &params, NULL, NULL, err))
        return -1;
    kf_params_init (&params);
    kf_params_str (&params, h->stream);
    kf_params_int (&params, per);
    if (kf_store_exec_sql (store, S_HISTORY_SEQ_SQL, &params, NULL, NULL, err))
        return -1;
    for (int i = 0; h->consumers && h->consumers[i]; i++) {
        kf_params_init (&params);
        kf_params_str (&params, h->stream);
        kf_params_int (&params, per);
        kf_params_str (&params, h->consumers[i]);
        if (kf_store_exec_sql (store, S_HISTORY_OFFSET_SQL, &params, NULL, NULL, err))
            return -1;
    }
    char sql[128];
    snprintf (sql, sizeof sql, "VACUUM (FREEZE, ANALYZE) %s", yesterday);
    if (kf_store_exec_script (store, sql, err) || kf_store_exec_script (store, "CHECKPOINT", err))
        return -1;
    return 0;
}

int
bench_pg_event_history (const char *url, const bench_pg_history_t *history, char *partition,
                        size_t size)
{
    kf_store_t *store = s_connect (url, NULL);
    if (!store)
        return -1;
    s_days_t days;
    memset (&days, 0, sizeof days);
    kf_error_t err;
    kf_error_clear (&err);
    int rc = s_history (store, history, &days, &err);
    if (rc)
        fprintf (stderr, "bench_pg: event history: %s\n", err.reason);
    else
        snprintf (partition, size, "%s", days.name[0]);
    kf_store_destroy (&store);
    return rc;
}

//  ---------------------------------------------------------------------
//  The stack benchmark: table sizes

typedef struct {
    bench_pg_size_t *out; //  rows
    int max;              //  room
    int count;            //  rows read
} s_sizes_t;

static int
s_on_sizes (const PGresult *res, void *arg)
{
    s_sizes_t *s = arg;
    for (int i = 0; i < PQntuples (res) && s->count < s->max; i++, s->count++) {
        snprintf (s->out[s->count].name, sizeof s->out[s->count].name, "%s",
                  kf_store_text (res, i, 0));
        s->out[s->count].bytes = kf_store_int (res, i, 1);
    }
    return 0;
}

int
bench_pg_sizes (kf_store_t *store, const char *except, bench_pg_size_t *out, int max)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, except ? except : "");
    s_sizes_t s = {out, max, 0};
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_exec_sql (
            store,
            "SELECT coalesce (pg_partition_root (c.oid), c.oid)::regclass::text, "
            "  sum (pg_total_relation_size (c.oid))::int8 "
            "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> $1::text "
            "GROUP BY 1 ORDER BY 2 DESC, 1",
            &params, s_on_sizes, &s, &err)) {
        fprintf (stderr, "bench_pg: table sizes: %s\n", err.reason);
        return -1;
    }
    return s.count;
}

//  ---------------------------------------------------------------------
//  The stack benchmark: stored exactly once

#define S_CHECK_BATCH 10000

struct _bench_pg_check_t {
    kf_store_t *store; //  its session holds the temporary table
    kf_batch_t *batch; //  items not yet inserted
    int64_t sent;      //  items added
    int64_t acked;     //  of which with a stored id
    bool failed;       //  an insert failed (reported)
};

static const kf_col_type_t s_check_types[] = {KF_COL_TEXT, KF_COL_TEXT, KF_COL_TEXT, KF_COL_INT8};

bench_pg_check_t *
bench_pg_check_new (const char *url)
{
    bench_pg_check_t *self = calloc (1, sizeof *self);
    if (!self)
        return NULL;
    self->store = s_connect (url, NULL);
    kf_error_t err;
    kf_error_clear (&err);
    if (!self->store ||
        kf_store_exec_script (self->store,
                              "CREATE TEMPORARY TABLE bench_sent (shop_id text, gateway_id text, "
                              "gateway_msg_id text, stored_id int8)",
                              &err)) {
        if (self->store)
            fprintf (stderr, "bench_pg: check: %s\n", err.reason);
        kf_store_destroy (&self->store);
        free (self);
        return NULL;
    }
    self->batch = kf_batch_new (4, s_check_types);
    return self;
}

static int
s_check_flush (bench_pg_check_t *self)
{
    if (kf_batch_rows (self->batch) == 0 || self->failed)
        return self->failed ? -1 : 0;
    kf_params_t params;
    kf_params_init (&params);
    kf_batch_params (self->batch, &params);
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_exec_sql (self->store,
                           "INSERT INTO bench_sent SELECT unnest ($1::text[]), "
                           "unnest ($2::text[]), unnest ($3::text[]), unnest ($4::int8[])",
                           &params, NULL, NULL, &err)) {
        fprintf (stderr, "bench_pg: check: %s\n", err.reason);
        self->failed = true;
    }
    kf_batch_reset (self->batch);
    return self->failed ? -1 : 0;
}

int
bench_pg_check_add (bench_pg_check_t *self, const char *shop_id, const char *gateway_id,
                    const char *msg_id, int64_t stored_id)
{
    kf_batch_str (self->batch, 0, shop_id);
    kf_batch_str (self->batch, 1, gateway_id);
    kf_batch_str (self->batch, 2, msg_id);
    kf_batch_int (self->batch, 3, stored_id);
    self->sent++;
    if (stored_id > 0)
        self->acked++;
    return kf_batch_rows (self->batch) >= S_CHECK_BATCH ? s_check_flush (self) : 0;
}

static int
s_on_check (const PGresult *res, void *arg)
{
    bench_pg_check_result_t *r = arg;
    if (PQntuples (res) < 1)
        return -1;
    r->missing = kf_store_int (res, 0, 0);
    r->other_id = kf_store_int (res, 0, 1);
    r->repeated = kf_store_int (res, 0, 2);
    r->unsent = kf_store_int (res, 0, 3);
    r->stored_unacked = kf_store_int (res, 0, 4);
    return 0;
}

#define S_CHECK_SQL                                                                                \
    "SELECT (SELECT count(*) FROM bench_sent s WHERE s.stored_id > 0 AND NOT EXISTS "              \
    "         (SELECT 1 FROM messages m WHERE (m.shop_id, m.gateway_id, m.gateway_msg_id) = "      \
    "          (s.shop_id, s.gateway_id, s.gateway_msg_id))), "                                    \
    "  (SELECT count(*) FROM bench_sent s JOIN messages m USING (shop_id, gateway_id, "            \
    "          gateway_msg_id) WHERE s.stored_id > 0 AND m.message_id <> s.stored_id), "           \
    "  (SELECT count(*) - count(DISTINCT (shop_id, gateway_id, gateway_msg_id)) FROM messages "    \
    "   WHERE gateway_id = ANY ($1::text[])), "                                                    \
    "  (SELECT count(*) FROM messages m WHERE m.gateway_id = ANY ($1::text[]) AND NOT EXISTS "     \
    "         (SELECT 1 FROM bench_sent s WHERE (m.shop_id, m.gateway_id, m.gateway_msg_id) = "    \
    "          (s.shop_id, s.gateway_id, s.gateway_msg_id))), "                                    \
    "  (SELECT count(*) FROM bench_sent s WHERE s.stored_id = 0 AND EXISTS "                       \
    "         (SELECT 1 FROM messages m WHERE (m.shop_id, m.gateway_id, m.gateway_msg_id) = "      \
    "          (s.shop_id, s.gateway_id, s.gateway_msg_id)))"

int
bench_pg_check_finish (bench_pg_check_t **self_p, const char *gateways,
                       bench_pg_check_result_t *out)
{
    memset (out, 0, sizeof *out);
    bench_pg_check_t *self = *self_p;
    *self_p = NULL;
    int rc = s_check_flush (self);
    out->sent = self->sent;
    out->acked = self->acked;
    kf_error_t err;
    kf_error_clear (&err);
    if (rc == 0 &&
        kf_store_exec_script (self->store,
                              "CREATE INDEX ON bench_sent (shop_id, gateway_id, gateway_msg_id); "
                              "ANALYZE bench_sent",
                              &err) == 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_params_str (&params, gateways);
        if (kf_store_exec_sql (self->store, S_CHECK_SQL, &params, s_on_check, out, &err))
            rc = -1;
    } else
        rc = -1;
    if (rc && err.reason[0])
        fprintf (stderr, "bench_pg: check: %s\n", err.reason);
    kf_batch_destroy (&self->batch);
    kf_store_destroy (&self->store);
    free (self);
    return rc;
}
