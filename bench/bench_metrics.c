/*  bench_metrics — kefu-metrics over a generated record, while intake takes
    a steady stream of items.

    1. The raw limit: batched inserts of message rows (bench_pg_raw), in
       the same run.
    2. The record: a shop ("big-shop") with --agents agents and
       --conversations conversations of --messages-per-conversation lines
       (half the customer's, half the agents' replies) spread over the
       last --days days, each opened, assigned by routing and closed, and
       one order in ten credited to its agent and paid: written straight
       into the event log (intake's, routing's and order-sync's streams)
       with COPY, as those services would have written them, and the
       supervisors' entered scores for the month.
    3. The rebuild: kefu-metrics starts on that log with no rollups and
       catches up from the first event (what kefu-metrics --rebuild does
       after dropping its rows); events per second, and their ratio to the
       raw insert rate.
    4. Live: intake (in-process) takes --rate customer messages a second
       from a gateway (libkefu-gateway) for --duration seconds; meanwhile
       kpi.summary over the record's days and agent.scorecard for its
       month are asked one after the other (each a fresh connection, as
       kefuctl asks), and a second gateway sends a probe message to
       "probe-shop" every 250 ms and asks kpi.summary until the message is
       counted: freshness, from the probe's send (an upper bound of "from
       intake's commit") to the answer that counts it.

    The table, then one JSON line (the last line printed). */
#include "bench_pg.h"
#include "bench_service.h"
#include "bench_stats.h"

#include "kefu/v1/events.pb-c.h"
#include "kefu_gateway.h"
#include "bench_corpus.h"
#include "intake_config.h"
#include "intake_server.h"
#include "kf_config.h"
#include "kf_daemon.h"
#include "kf_shop.h"
#include "metrics_config.h"
#include "metrics_query.h"
#include "metrics_server.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_BIG   "big-shop"
#define S_PROBE "probe-shop"
#define S_DAY   86400000LL

typedef struct {
    const char *db;        //  database URL
    int64_t conversations; //  in the record
    int per_conversation;  //  lines per conversation
    int agents;            //  agents of the shop
    int days;              //  days the record covers (ending now)
    int rate;              //  items/s intake takes in the live phase
    int duration;          //  seconds of the live phase
    int64_t raw_rows;      //  rows of the raw insert phase
} s_opts_t;

static void
s_usage (void)
{
    printf ("Usage: bench_metrics --db URL [--conversations N] [--messages-per-conversation N]\n"
            "                     [--agents N] [--days N] [--rate N] [--duration S]\n\n"
            "kefu-metrics over a generated record (written into the event log with COPY,\n"
            "then caught up from the first event: the rebuild) while intake takes --rate\n"
            "items/s: kpi.summary and agent.scorecard p99, freshness p99, rebuild events/s\n"
            "next to the raw batched-insert rate. Defaults: 100000 conversations x 10 lines,\n"
            "50 agents, 30 days, 2000 items/s for 60 s.\n");
}

//  ---------------------------------------------------------------------
//  The record, by COPY

typedef struct {
    PGconn *conn;        //  in COPY
    char *buf;           //  rows not yet sent
    size_t len, cap;     //  used, allocated
    int partition;       //  big-shop's
    int64_t seq[3];      //  intake, routing, ordersync
    int64_t events;      //  rows written
    int64_t messages;    //  of which message.accepted
    uint8_t packed[512]; //  one event
} s_gen_t;

static const char *const s_gen_streams[] = {"intake", "routing", "ordersync"};

static int
s_gen_flush (s_gen_t *g)
{
    if (g->len && PQputCopyData (g->conn, g->buf, (int) g->len) != 1) {
        fprintf (stderr, "bench_metrics: COPY: %s", PQerrorMessage (g->conn));
        return -1;
    }
    g->len = 0;
    return 0;
}

//  One row: stream, partition, seq, shop, kind, occurred_at, payload (hex).
static int
s_gen_event (s_gen_t *g, int stream, Kefu__V1__Event *ev)
{
    ev->stream = (char *) s_gen_streams[stream];
    ev->partition = (uint32_t) g->partition;
    ev->seq = ++g->seq[stream];
    ev->shop_id = S_BIG;
    size_t n = kefu__v1__event__get_packed_size (ev);
    if (n > sizeof g->packed)
        return -1;
    kefu__v1__event__pack (ev, g->packed);
    if (g->cap - g->len < 2 * n + 256) {
        if (s_gen_flush (g))
            return -1;
    }
    time_t secs = (time_t) (ev->occurred_at_ms / 1000);
    struct tm tm;
    gmtime_r (&secs, &tm);
    char when[40];
    strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S", &tm);
    g->len += (size_t) snprintf (g->buf + g->len, g->cap - g->len,
                                 "%s\t%d\t%" PRId64 "\t%s\t%s\t%s.%03d+00\t\\\\x", ev->stream,
                                 g->partition, ev->seq, S_BIG, ev->kind, when,
                                 (int) (ev->occurred_at_ms % 1000));
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        g->buf[g->len++] = hex[g->packed[i] >> 4];
        g->buf[g->len++] = hex[g->packed[i] & 15];
    }
    g->buf[g->len++] = '\n';
    g->events++;
    return 0;
}

static int
s_generate (const s_opts_t *o, int64_t now_ms, s_gen_t *g)
{
    g->conn = PQconnectdb (o->db);
    if (PQstatus (g->conn) != CONNECTION_OK) {
        fprintf (stderr, "bench_metrics: %s", PQerrorMessage (g->conn));
        return -1;
    }
    PGresult *res = PQexec (g->conn, "COPY events (stream, partition, seq, shop_id, kind, "
                                     "occurred_at, payload) FROM STDIN");
    if (PQresultStatus (res) != PGRES_COPY_IN) {
        fprintf (stderr, "bench_metrics: COPY: %s", PQerrorMessage (g->conn));
        PQclear (res);
        return -1;
    }
    PQclear (res);
    g->cap = 1 << 20;
    g->buf = malloc (g->cap);
    g->partition = (int) kf_shop_partition (S_BIG, strlen (S_BIG));
    uint64_t rng = 0x9e3779b97f4a7c15ULL;
    int64_t start = now_ms - (int64_t) o->days * S_DAY, span = (int64_t) o->days * S_DAY - 3600000;
    int64_t message_id = 0;
    int rc = 0;
    for (int64_t c = 0; c < o->conversations && !rc; c++) {
        int64_t t = start + span * c / o->conversations;
        int64_t conv = c + 1;
        char customer[32], agent[16];
        snprintf (customer, sizeof customer, "buyer%06" PRId64, c % 200000);
        snprintf (agent, sizeof agent, BENCH_PG_AGENT_FMT, (int) (c % o->agents));
        Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
        Kefu__V1__ConversationOpened opened = KEFU__V1__CONVERSATION_OPENED__INIT;
        opened.conversation_id = conv;
        opened.customer_id = c % 200000 + 1;
        opened.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
        opened.channel_customer_id = customer;
        opened.intent = KEFU__V1__INTENT__INTENT_PRESALES;
        opened.opened_at_ms = t;
        ev.kind = "conversation.opened";
        ev.occurred_at_ms = t;
        ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_OPENED;
        ev.conversation_opened = &opened;
        rc |= s_gen_event (g, 0, &ev);

        Kefu__V1__ConversationAssigned assigned = KEFU__V1__CONVERSATION_ASSIGNED__INIT;
        assigned.conversation_id = conv;
        assigned.agent_id = agent;
        assigned.group = "presales";
        ev = (Kefu__V1__Event) KEFU__V1__EVENT__INIT;
        ev.kind = "conversation.assigned";
        ev.occurred_at_ms = t + 50;
        ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_ASSIGNED;
        ev.conversation_assigned = &assigned;
        rc |= s_gen_event (g, 1, &ev);

        int64_t at = t;
        for (int m = 0; m < o->per_conversation && !rc; m++) {
            bool from_customer = m % 2 == 0;
            at += from_customer ? (int64_t) (bench_rand (&rng) % 60000)
                                : 2000 + (int64_t) (bench_rand (&rng) % 40000);
            Kefu__V1__MessageAccepted msg = KEFU__V1__MESSAGE_ACCEPTED__INIT;
            msg.message_id = ++message_id;
            msg.conversation_id = conv;
            msg.customer_id = opened.customer_id;
            msg.channel = opened.channel;
            msg.channel_customer_id = customer;
            msg.sender = from_customer ? KEFU__V1__SENDER_ROLE__SENDER_ROLE_CUSTOMER
                                       : KEFU__V1__SENDER_ROLE__SENDER_ROLE_AGENT;
            msg.agent_id = from_customer ? "" : agent;
            msg.body = from_customer ? "这个还有货吗？什么时候发货" : "亲，有货的，今天下单明天发";
            msg.intent = from_customer ? KEFU__V1__INTENT__INTENT_PRESALES : 0;
            msg.received_at_ms = at;
            msg.sent_at_ms = at;
            ev = (Kefu__V1__Event) KEFU__V1__EVENT__INIT;
            ev.kind = "message.accepted";
            ev.occurred_at_ms = at;
            ev.payload_case = KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED;
            ev.message_accepted = &msg;
            rc |= s_gen_event (g, 0, &ev);
            g->messages++;
        }
        Kefu__V1__ConversationClosed closed = KEFU__V1__CONVERSATION_CLOSED__INIT;
        closed.conversation_id = conv;
        closed.customer_id = opened.customer_id;
        closed.channel = opened.channel;
        closed.reason = KEFU__V1__CLOSE_REASON__CLOSE_REASON_QUIET;
        closed.closed_at_ms = at + 1800000;
        closed.message_count = o->per_conversation;
        ev = (Kefu__V1__Event) KEFU__V1__EVENT__INIT;
        ev.kind = "conversation.closed";
        ev.occurred_at_ms = at + 1800000;
        ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_CLOSED;
        ev.conversation_closed = &closed;
        rc |= s_gen_event (g, 0, &ev);

        if (c % 10 == 0) {
            char order_id[32];
            snprintf (order_id, sizeof order_id, "TB%010" PRId64, c);
            const char *kinds[] = {"order.credited", "order.paid"};
            for (int k = 0; k < 2; k++) {
                Kefu__V1__OrderEvent order = KEFU__V1__ORDER_EVENT__INIT;
                order.order_id = order_id;
                order.state =
                    k ? KEFU__V1__ORDER_STATE__ORDER_PAID : KEFU__V1__ORDER_STATE__ORDER_CREATED;
                order.agent_id = k ? "" : agent;
                order.amount_cents = 5000 + (int64_t) (bench_rand (&rng) % 50000);
                order.currency = "CNY";
                order.at_ms = at + 60000 * (k + 1);
                ev = (Kefu__V1__Event) KEFU__V1__EVENT__INIT;
                ev.kind = (char *) kinds[k];
                ev.occurred_at_ms = order.at_ms;
                ev.payload_case = KEFU__V1__EVENT__PAYLOAD_ORDER;
                ev.order = &order;
                rc |= s_gen_event (g, 2, &ev);
            }
        }
    }
    if (!rc)
        rc = s_gen_flush (g);
    if (PQputCopyEnd (g->conn, rc ? "generation failed" : NULL) != 1)
        rc = -1;
    while ((res = PQgetResult (g->conn))) {
        if (PQresultStatus (res) != PGRES_COMMAND_OK) {
            fprintf (stderr, "bench_metrics: COPY: %s", PQresultErrorMessage (res));
            rc = -1;
        }
        PQclear (res);
    }
    free (g->buf);
    PQfinish (g->conn);
    return rc;
}

//  ---------------------------------------------------------------------
//  Asking kefu-metrics

typedef struct {
    char endpoint[64]; //  metrics' query endpoint
    char month[8];     //  the scorecard's month
    int64_t from_ms;   //  the record's days
    int64_t to_ms;     //
} s_ask_t;

//  Ask and return the answer's JSON (NULL if not ACCEPTED); *ms the time it took.
static json_t *
s_ask (const char *endpoint, const char *kind, const char *shop, int64_t from, int64_t to,
       const char *params, double *ms)
{
    Kefu__V1__Query q = KEFU__V1__QUERY__INIT;
    q.request_id = (ProtobufCBinaryData){5, (uint8_t *) "bench"};
    q.kind = (ProtobufCBinaryData){strlen (kind), (uint8_t *) kind};
    q.shop_id = (ProtobufCBinaryData){strlen (shop), (uint8_t *) shop};
    q.from_ms = from;
    q.to_ms = to;
    if (params)
        q.params_json = (ProtobufCBinaryData){strlen (params), (uint8_t *) params};
    int64_t t0 = bench_now_us ();
    Kefu__V1__Answer *a = metrics_query_call (endpoint, "", NULL, &q, 10000);
    *ms = (double) (bench_now_us () - t0) / 1000.0;
    json_t *root = NULL;
    if (a && a->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
        root = json_loadb ((const char *) a->json.data, a->json.len, 0, NULL);
    else
        fprintf (stderr, "bench_metrics: %s: %s\n", kind, a ? a->reason : "no answer");
    if (a)
        kefu__v1__answer__free_unpacked (a, NULL);
    return root;
}

//  ---------------------------------------------------------------------
//  Live: a gateway at a rate, a prober

typedef struct {
    const char *endpoint; //  intake's gateway endpoint
    const s_opts_t *opts; //  rate, duration
    volatile int stop;    //  set by main
    int64_t sent, acked;  //  sender's counts
    double sender_s;      //  seconds the sender sent for
    bench_lat_t *fresh;   //  prober's freshness samples
    int64_t probes_lost;  //  probes never seen within 10 s
    const s_ask_t *ask;   //  where to ask
} s_live_t;

static void
s_on_ack (const Kefu__V1__Ack *ack, void *arg)
{
    s_live_t *live = arg;
    if (ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
        live->acked++;
}

static kefu_gateway_t *
s_gateway (const char *endpoint, const char *id)
{
    kefu_gateway_options_t options = kefu_gateway_options_default ();
    options.endpoint = endpoint;
    options.gateway_id = id;
    kefu_gateway_t *gw = kefu_gateway_new (&options);
    int64_t deadline = bench_now_us () + 10000000;
    while (gw && !kefu_gateway_welcomed (gw) && bench_now_us () < deadline)
        kefu_gateway_poll (gw, 50);
    return gw;
}

static void *
s_sender (void *arg)
{
    s_live_t *live = arg;
    bench_thread_name ("bench-gw");
    kefu_gateway_t *gw = s_gateway (live->endpoint, "bench-gw");
    if (!gw)
        return NULL;
    kefu_gateway_on_ack (gw, s_on_ack, live);
    uint64_t rng = 42;
    int64_t first = bench_now_us ();
    double interval = 1e6 / live->opts->rate;
    bench_item_t item;
    while (!live->stop) {
        int64_t due = first + (int64_t) (interval * (double) live->sent);
        if (bench_now_us () >= due) {
            bench_item_make (&item, S_BIG, "live", 0, 1, live->sent, 20000, &rng);
            if (kefu_gateway_send (gw, &item.item) == 0)
                live->sent++;
            else
                kefu_gateway_poll (gw, 5);
        } else {
            int64_t wait_ms = (due - bench_now_us ()) / 1000;
            kefu_gateway_poll (gw, wait_ms > 0 ? (int) wait_ms : 0);
        }
    }
    live->sender_s = (double) (bench_now_us () - first) / 1e6;
    kefu_gateway_flush (gw, 10000);
    kefu_gateway_destroy (&gw);
    return NULL;
}

//  The probe-shop's customer messages of today, as metrics counts them.
static int64_t
s_probe_count (const s_ask_t *ask)
{
    double ms;
    json_t *root = s_ask (ask->endpoint, "kpi.summary", S_PROBE, 0, 0, NULL, &ms);
    json_t *v =
        json_object_get (json_object_get (json_object_get (root, "total"), "messages"), "customer");
    int64_t n = json_is_integer (v) ? json_integer_value (v) : -1;
    json_decref (root);
    return n;
}

static void *
s_prober (void *arg)
{
    s_live_t *live = arg;
    bench_thread_name ("bench-probe");
    kefu_gateway_t *gw = s_gateway (live->endpoint, "bench-probe");
    if (!gw)
        return NULL;
    uint64_t rng = 7;
    bench_item_t item;
    int64_t base = s_probe_count (live->ask), n = 0;
    while (!live->stop && base >= 0) {
        int64_t t0 = bench_now_us ();
        bench_item_make (&item, S_PROBE, "probe", 0, 1, n, 1000, &rng);
        if (kefu_gateway_send (gw, &item.item)) {
            kefu_gateway_poll (gw, 10);
            continue;
        }
        n++;
        bool seen = false;
        while (!seen && bench_now_us () - t0 < 10000000) {
            kefu_gateway_poll (gw, 0);
            seen = s_probe_count (live->ask) >= base + n;
            if (!seen)
                kefu_gateway_poll (gw, 5);
        }
        if (seen)
            bench_lat_add (live->fresh, bench_now_us () - t0);
        else
            live->probes_lost++;
        bench_sleep_until_us (t0 + 250000);
    }
    kefu_gateway_flush (gw, 5000);
    kefu_gateway_destroy (&gw);
    return NULL;
}

//  ---------------------------------------------------------------------

static void
s_set (char **slot, const char *value)
{
    free (*slot);
    *slot = strdup (value);
}

static double
s_loadavg (void)
{
    double l = -1;
    FILE *f = fopen ("/proc/loadavg", "r");
    if (f) {
        if (fscanf (f, "%lf", &l) != 1)
            l = -1;
        fclose (f);
    }
    return l;
}

int
main (int argc, char **argv)
{
    s_opts_t o = {getenv ("KEFU_DATABASE_URL"), 100000, 10, 50, 30, 2000, 60, 200000};
    static const struct option longs[] = {{"db", 1, NULL, 'd'},
                                          {"conversations", 1, NULL, 'c'},
                                          {"messages-per-conversation", 1, NULL, 'm'},
                                          {"agents", 1, NULL, 'a'},
                                          {"days", 1, NULL, 'D'},
                                          {"rate", 1, NULL, 'r'},
                                          {"duration", 1, NULL, 't'},
                                          {"help", 0, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int ch;
    while ((ch = getopt_long (argc, argv, "h", longs, NULL)) != -1) {
        switch (ch) {
        case 'd':
            o.db = optarg;
            break;
        case 'c':
            o.conversations = atoll (optarg);
            break;
        case 'm':
            o.per_conversation = atoi (optarg);
            break;
        case 'a':
            o.agents = atoi (optarg);
            break;
        case 'D':
            o.days = atoi (optarg);
            break;
        case 'r':
            o.rate = atoi (optarg);
            break;
        case 't':
            o.duration = atoi (optarg);
            break;
        case 'h':
            s_usage ();
            return 0;
        default:
            s_usage ();
            return 2;
        }
    }
    if (!o.db || o.conversations < 1 || o.per_conversation < 2 || o.agents < 1 || o.agents > 100 ||
        o.days < 1 || o.rate < 1 || o.duration < 5) {
        s_usage ();
        return 2;
    }
    zsys_init ();
    zsys_set_logstream (stderr);
    double load_start = s_loadavg ();
    bench_pg_info_t pg;
    if (bench_pg_info (o.db, &pg))
        return 1;

    //  1. The raw limit.
    bench_pg_raw_opts_t ro = {"bench-raw", 4, 10000, o.raw_rows, 1000, 200, pg.postmaster_pid};
    bench_pg_raw_result_t raw;
    if (bench_pg_raw (o.db, &ro, &raw))
        return 1;
    fprintf (stderr, "raw batched inserts: %.0f rows/s\n", raw.rows_per_s);

    //  2. The record.
    int64_t now_ms = (int64_t) time (NULL) * 1000;
    char sql[2048];
    time_t mid = (time_t) ((now_ms - (int64_t) o.days * S_DAY / 2) / 1000);
    struct tm tm;
    s_ask_t ask;
    memset (&ask, 0, sizeof ask);
    //  The shops are UTC here, so the month is the UTC one.
    gmtime_r (&mid, &tm);
    strftime (ask.month, sizeof ask.month, "%Y-%m", &tm);
    snprintf (sql, sizeof sql,
              "INSERT INTO shops (shop_id, name, timezone, partition) VALUES "
              "('%s', 'Big', 'UTC', %u), ('%s', 'Probe', 'UTC', %u);"
              "INSERT INTO metrics_entered_scores (shop_id, month, agent_id, service_check, "
              "  key_promotion, updated_by) "
              "SELECT '%s', '%s-01', 'kf' || lpad (g::text, 2, '0'), 80, 90, 'bench' "
              "FROM generate_series (0, %d) AS g",
              S_BIG, kf_shop_partition (S_BIG, strlen (S_BIG)), S_PROBE,
              kf_shop_partition (S_PROBE, strlen (S_PROBE)), S_BIG, ask.month, o.agents - 1);
    if (bench_pg_exec (o.db, sql))
        return 1;
    s_gen_t gen;
    memset (&gen, 0, sizeof gen);
    int64_t t0 = bench_now_us ();
    if (s_generate (&o, now_ms, &gen))
        return 1;
    snprintf (sql, sizeof sql,
              "INSERT INTO event_sequences (stream, partition, last_seq) VALUES "
              "('intake', %d, %" PRId64 "), ('routing', %d, %" PRId64 "), "
              "('ordersync', %d, %" PRId64 ") ON CONFLICT (stream, partition) DO UPDATE "
              "SET last_seq = EXCLUDED.last_seq; ANALYZE events",
              gen.partition, gen.seq[0], gen.partition, gen.seq[1], gen.partition, gen.seq[2]);
    if (bench_pg_exec (o.db, sql) || bench_pg_checkpoint (o.db))
        return 1;
    double gen_s = (double) (bench_now_us () - t0) / 1e6;
    fprintf (stderr, "record: %" PRId64 " events (%" PRId64 " messages) in %.1f s by COPY\n",
             gen.events, gen.messages, gen_s);

    //  3. Intake, then metrics catching up from the first event.
    intake_config_t ic;
    kf_common_config_t icommon;
    memset (&ic, 0, sizeof ic);
    memset (&icommon, 0, sizeof icommon);
    if (intake_config_defaults (&ic, &icommon))
        return 1;
    s_set (&icommon.database_url, o.db);
    s_set (&ic.gateway_endpoint, "tcp://127.0.0.1:*");
    s_set (&ic.command_endpoint, "tcp://127.0.0.1:*");
    s_set (&ic.events_endpoint, "tcp://127.0.0.1:*");
    s_set (&ic.control_endpoint, "tcp://127.0.0.1:*");
    ic.insecure = true;
    kf_config_apply_logging (&icommon);
    kf_clock_t *clock = kf_clock_new_real ();
    kf_service_args_t iargs = {&intake_config_spec, &ic, &icommon, clock};
    bench_service_t *intake = bench_service_actor ("intake", intake_server, &iargs);
    if (!intake)
        return 1;
    char intake_gw[64], intake_events[64];
    snprintf (intake_gw, sizeof intake_gw, "tcp://127.0.0.1:%d",
              bench_service_port (intake, "gateway"));
    snprintf (intake_events, sizeof intake_events, "tcp://127.0.0.1:%d",
              bench_service_port (intake, "events"));

    metrics_config_t mc;
    kf_common_config_t mcommon;
    memset (&mc, 0, sizeof mc);
    memset (&mcommon, 0, sizeof mcommon);
    if (metrics_config_defaults (&mc, &mcommon))
        return 1;
    s_set (&mcommon.database_url, o.db);
    s_set (&mc.intake_events, intake_events);
    s_set (&mc.routing_events, "");
    s_set (&mc.query_endpoint, "tcp://127.0.0.1:*");
    s_set (&mc.control_endpoint, "tcp://127.0.0.1:*");
    mc.insecure = true;
    kf_service_args_t margs = {&metrics_config_spec, &mc, &mcommon, clock};
    int64_t generated = gen.events;
    snprintf (sql, sizeof sql,
              "SELECT coalesce (sum (last_seq), 0) FROM consumer_offsets "
              "WHERE consumer = 'metrics' AND stream IN ('intake', 'routing', 'ordersync')");
    t0 = bench_now_us ();
    bench_service_t *metrics = bench_service_actor ("metrics", metrics_server, &margs);
    if (!metrics)
        return 1;
    while (bench_pg_count (o.db, sql) < generated)
        zclock_sleep (200);
    double rebuild_s = (double) (bench_now_us () - t0) / 1e6;
    double rebuild_rate = (double) generated / rebuild_s;
    fprintf (stderr, "rebuild: %" PRId64 " events in %.1f s\n", generated, rebuild_s);
    snprintf (ask.endpoint, sizeof ask.endpoint, "tcp://127.0.0.1:%d",
              bench_service_port (metrics, "query"));
    ask.from_ms = now_ms - (int64_t) o.days * S_DAY;
    ask.to_ms = now_ms;

    //  4. Live.
    s_live_t live;
    memset (&live, 0, sizeof live);
    live.endpoint = intake_gw;
    live.opts = &o;
    live.fresh = bench_lat_new (1024);
    live.ask = &ask;
    bench_lat_t *kpi = bench_lat_new (4096), *card = bench_lat_new (4096);
    char params[64];
    snprintf (params, sizeof params, "{\"month\": \"%s\"}", ask.month);
    //  One of each before the clock starts (connections, plans).
    double ms;
    json_decref (s_ask (ask.endpoint, "kpi.summary", S_BIG, ask.from_ms, ask.to_ms, NULL, &ms));
    json_t *sample = s_ask (ask.endpoint, "agent.scorecard", S_BIG, 0, 0, params, &ms);
    int card_agents = (int) json_array_size (json_object_get (sample, "agents"));
    json_decref (sample);
    pthread_t sender, prober;
    pthread_create (&sender, NULL, s_sender, &live);
    pthread_create (&prober, NULL, s_prober, &live);
    int64_t end = bench_now_us () + (int64_t) o.duration * 1000000;
    int64_t answered_kpi = 0, answered_card = 0;
    while (bench_now_us () < end) {
        json_t *a = s_ask (ask.endpoint, "kpi.summary", S_BIG, ask.from_ms, ask.to_ms, NULL, &ms);
        if (a) {
            bench_lat_add (kpi, (int64_t) (ms * 1000));
            answered_kpi++;
        }
        json_decref (a);
        a = s_ask (ask.endpoint, "agent.scorecard", S_BIG, 0, 0, params, &ms);
        if (a) {
            bench_lat_add (card, (int64_t) (ms * 1000));
            answered_card++;
        }
        json_decref (a);
        zclock_sleep (20);
    }
    live.stop = 1;
    pthread_join (sender, NULL);
    pthread_join (prober, NULL);
    double live_rate = live.sender_s > 0 ? (double) live.sent / live.sender_s : 0;
    double load_end = s_loadavg ();
    int64_t messages = gen.messages + live.acked;

    printf ("kefu-metrics over a generated record (bench/README.md)\n");
    printf ("  PostgreSQL %s, fsync=%s, synchronous_commit=%s; load average %.2f at the start, "
            "%.2f at the end (%ld CPUs)\n",
            pg.server_version, pg.fsync, pg.synchronous_commit, load_start, load_end,
            sysconf (_SC_NPROCESSORS_ONLN));
    printf ("  record            %" PRId64 " conversations, %" PRId64 " messages, %d agents, %d "
            "days; %" PRId64 " events written by COPY in %.1f s\n",
            o.conversations, gen.messages, o.agents, o.days, gen.events, gen_s);
    printf ("  raw inserts       %.0f rows/s (batches of 1000, committed)\n", raw.rows_per_s);
    printf ("  rebuild           %.0f events/s (%.1f s), %.2f x the raw insert rate\n",
            rebuild_rate, rebuild_s, rebuild_rate / raw.rows_per_s);
    printf ("  live              %d items/s asked for %.1f s: %" PRId64 " sent (%.0f/s), %" PRId64
            " accepted\n",
            o.rate, live.sender_s, live.sent, live_rate, live.acked);
    printf ("  kpi.summary       %" PRId64 " answers over %d days: p50 %.1f ms, p99 %.1f ms, max "
            "%.1f ms\n",
            answered_kpi, o.days, bench_lat_pct_ms (kpi, 50), bench_lat_pct_ms (kpi, 99),
            bench_lat_max_ms (kpi));
    printf ("  agent.scorecard   %" PRId64 " answers, %d agents, month %s: p50 %.1f ms, p99 %.1f "
            "ms, max %.1f ms\n",
            answered_card, card_agents, ask.month, bench_lat_pct_ms (card, 50),
            bench_lat_pct_ms (card, 99), bench_lat_max_ms (card));
    printf ("  freshness         %zu probes (%" PRId64 " not seen in 10 s): p50 %.0f ms, p99 %.0f "
            "ms, max %.0f ms\n",
            bench_lat_count (live.fresh), live.probes_lost, bench_lat_pct_ms (live.fresh, 50),
            bench_lat_pct_ms (live.fresh, 99), bench_lat_max_ms (live.fresh));
    printf ("{\"bench\": \"metrics\", \"messages\": %" PRId64 ", \"conversations\": %" PRId64
            ", \"agents\": %d, \"days\": %d, \"events\": %" PRId64
            ", \"kpi_summary_p99_ms\": %.1f, \"scorecard_p99_ms\": %.1f, \"scorecard_agents\": %d"
            ", \"freshness_p99_ms\": %.0f, \"probes_lost\": %" PRId64
            ", \"rebuild_events_per_s\": %.0f, \"raw_pg_rows_per_s\": %.0f"
            ", \"rebuild_to_raw\": %.3f, \"live_items_per_s\": %.0f, \"load_start\": %.2f"
            ", \"load_end\": %.2f}\n",
            messages, o.conversations, o.agents, o.days, gen.events, bench_lat_pct_ms (kpi, 99),
            bench_lat_pct_ms (card, 99), card_agents, bench_lat_pct_ms (live.fresh, 99),
            live.probes_lost, rebuild_rate, raw.rows_per_s, rebuild_rate / raw.rows_per_s,
            live_rate, load_start, load_end);
    bench_service_stop (&metrics, 10, NULL);
    bench_service_stop (&intake, 10, NULL);
    bench_lat_destroy (&kpi);
    bench_lat_destroy (&card);
    bench_lat_destroy (&live.fresh);
    kf_config_free (metrics_config_spec.entries, &mc);
    kf_config_free (kf_common_config_entries, &mcommon);
    kf_config_free (intake_config_spec.entries, &ic);
    kf_config_free (kf_common_config_entries, &icommon);
    kf_clock_destroy (&clock);
    return 0;
}
