/*  bench_stack — the whole stack under a shop's steady day.

    Every kefu service runs as its Release binary (kefu-intake,
    kefu-routing, kefu-ordersync, kefu-escalation, kefu-metrics: the rows
    of s_services),
    configured as an operator configures it (one set of KEFU_* variables,
    KEFU_INSECURE=1), on the benchmark's private PostgreSQL. The set-up goes
    through kefuctl: shops, groups and shifts (shift defaults, one all-day
    shift), agents. The event log is given a history first: yesterday's
    partition holds --prune-events events that every consumer has applied.

    N gateways (libkefu-gateway, one thread each, one channel each: Qianniu
    platform chat, WeChat, web chat, e-mail, phone) push a steady --rate
    items/s between them for a warm-up and then --minutes measured minutes:
    customers (~50,000, rotating) open conversations, routing assigns them
    (the gateways learn the owner from the assign commands they receive and
    acknowledge), the owner replies, the customer asks again, the owner
    replies, some rate the service, most conversations are closed on the
    platform and the rest are left for intake's sweep; some visits end in
    an order (order_update, paid: order-sync credits it), some orders get a
    bad review (review: escalation opens a case and contacts the buyer); every --offline-every
    seconds an agent goes offline (with a handover note, routing hands their
    conversations over) and comes back --offline-for seconds later. In the
    middle, `kefuctl events prune` drops yesterday's events.

    Measured: every item's ack latency (kefu_gateway_send to its final ack),
    per 1-minute window; seconds with an ack over 50 ms; the prune's
    duration and the acks meanwhile; each service's RSS and open file
    descriptors every few seconds; every table's size every minute;
    PostgreSQL's ERROR lines during the run; and, after everything is
    quiet, whether every acknowledged item is stored exactly once. Beside
    them the machine's raw limits, measured in the same run before the
    services start: a ZeroMQ round trip, a durable commit, and the floor
    (bench_floor) at the same rate.

    Prints a report, then one JSON line (the last line). Run it through
    bench/run stack, which builds, starts a private PostgreSQL and migrates. */
#include "bench_corpus.h"
#include "bench_floor.h"
#include "bench_pg.h"
#include "bench_service.h"
#include "bench_stats.h"
#include "bench_zmq.h"

#include "kefu_gateway.h"
#include "kf_log.h"

#include <czmq.h>
#include <assert.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define S_GATEWAYS_MAX 5     //  one per channel
#define S_SERVICES_MAX 8     //  rows of s_services
#define S_TABLES_MAX   64    //  tables followed by size
#define S_SLOW_US      50000 //  an ack slower than this makes a slow second
#define S_WINDOW_S     60    //  the report's windows
#define S_QUIET_MAX_S  120   //  after the load, longest wait for the stack to settle

//  ---------------------------------------------------------------------
//  Options

typedef struct {
    const char *db;           //  libpq URL of a freshly migrated database
    double minutes;           //  measured minutes
    int rate;                 //  items/s in total
    double warmup;            //  seconds of load before the measured minutes
    int gateways;             //  gateways, one channel each
    int window;               //  libkefu-gateway window per gateway
    int shops;                //  shops
    int agents;               //  agents per shop
    int capacity;             //  each agent's capacity
    int customers;            //  distinct buyers, rotating
    double reply_after;       //  seconds from a customer's line to the owner's reply
    double close_share;       //  conversations closed on the platform (the rest: the sweep)
    double rating_share;      //  conversations rated by the customer
    double order_share;       //  visits that end in an order (order-sync)
    double review_share;      //  orders the buyer reviews badly (escalation)
    const char *quiet_period; //  intake's KEFU_INTAKE_QUIET_PERIOD
    double offline_every;     //  seconds between agents going offline
    double offline_for;       //  seconds an agent stays offline
    int64_t prune_events;     //  yesterday's events, pruned during the run
    double prune_at;          //  when, as a share of the measured minutes
    double sample_every;      //  seconds between RSS/fd/CPU samples
    const char *pg_log;       //  the cluster's log file (for its ERROR lines)
    const char *log_dir;      //  services' logs go here (NULL: our stderr)
    const char *latency_log;  //  every item: gateway, kind, send time, latency (or NULL)
    bool run_raw;             //  measure the raw limits first
    int wait_quiet;           //  seconds to wait for an idle machine first
} s_opts_t;

static void
s_usage (FILE *out)
{
    fprintf (out,
             "Usage: bench_stack --db URL [options]\n"
             "\n"
             "The whole kefu stack as daemons (kefu-intake, kefu-routing, kefu-ordersync,\n"
             "kefu-escalation, kefu-metrics) under a shop's steady\n"
             "day, pushed by libkefu-gateway clients, with one event prune in the middle. The\n"
             "database must be freshly migrated (bench/run stack makes one). The last line\n"
             "printed is one JSON object.\n"
             "\n"
             "  --db URL               database (default: $KEFU_DATABASE_URL)\n"
             "  --minutes M            measured minutes (default 10)\n"
             "  --rate R               items/s over all gateways (default 1000)\n"
             "  --warmup S             seconds of the same load before the measured minutes\n"
             "                         (default 30; ANALYZE half-way, as autovacuum would)\n"
             "  --gateways N           gateways, one per channel, 1-5 (default 4)\n"
             "  --window N             libkefu-gateway window per gateway (default 1000)\n"
             "  --shops N              shops (default 8)\n"
             "  --agents N             agents per shop, 60%% pre-sales (default 20)\n"
             "  --capacity N           each agent's capacity, 1-100 (default 30)\n"
             "  --customers N          distinct buyers, rotating (default 50000)\n"
             "  --reply-after S        seconds from a customer's line to the reply (default 2)\n"
             "  --close-share F        conversations closed on the platform; the others are left\n"
             "                         to intake's sweep (default 0.9)\n"
             "  --rating-share F       conversations the customer rates (default 0.3)\n"
             "  --order-share F        visits that end in an order (order_update, paid), for\n"
             "                         kefu-ordersync (default 0.2)\n"
             "  --review-share F       orders the buyer then reviews badly (review, 1-2 stars),\n"
             "                         for kefu-escalation (default 0.05)\n"
             "  --quiet-period D       intake's KEFU_INTAKE_QUIET_PERIOD (default 1m: the day is\n"
             "                         compressed, so the sweep closes conversations in the run)\n"
             "  --offline-every S      an agent goes offline every S seconds (default 90)\n"
             "  --offline-for S        ... and comes back S seconds later (default 60)\n"
             "  --prune-events N       events stored yesterday, pruned during the run (default\n"
             "                         2000000; 0: no prune)\n"
             "  --prune-at F           the prune starts at this share of the measured minutes\n"
             "                         (default 0.5)\n"
             "  --sample-every S       seconds between RSS/fd/CPU samples (default 5)\n"
             "  --pg-log FILE          the cluster's log file (bench/run passes it): its ERROR\n"
             "                         lines during the run are counted and shown\n"
             "  --log-dir DIR          the services' logs go to DIR/stack-<time>-<service>.log\n"
             "                         (default: this program's stderr)\n"
             "  --latency-log FILE     every measured item: gateway, kind, send time (ms since\n"
             "                         the measured start), latency (ms)\n"
             "  --no-raw               skip the raw limits (ZeroMQ round trip, durable commit,\n"
             "                         the floor at --rate)\n"
             "  --wait-quiet S         first wait up to S seconds until the machine is idle\n"
             "                         (< 10%% busy over 2 s)\n"
             "  --help\n"
             "\n"
             "The services' own settings come from the environment as an operator sets them\n"
             "(KEFU_INTAKE_WRITERS=4, KEFU_LOG_LEVEL; default info, into their logs).\n");
}

static int
s_parse (s_opts_t *o, int argc, char **argv)
{
    *o = (s_opts_t){.db = getenv ("KEFU_DATABASE_URL"),
                    .minutes = 10,
                    .rate = 1000,
                    .warmup = 30,
                    .gateways = 4,
                    .window = 1000,
                    .shops = 8,
                    .agents = 20,
                    .capacity = 30,
                    .customers = 50000,
                    .reply_after = 2,
                    .close_share = 0.9,
                    .rating_share = 0.3,
                    .order_share = 0.2,
                    .review_share = 0.05,
                    .quiet_period = "1m",
                    .offline_every = 90,
                    .offline_for = 60,
                    .prune_events = 2000000,
                    .prune_at = 0.5,
                    .sample_every = 5,
                    .run_raw = true};
    static const struct option longs[] = {{"db", 1, NULL, 'd'},
                                          {"minutes", 1, NULL, 'm'},
                                          {"rate", 1, NULL, 'r'},
                                          {"warmup", 1, NULL, 'W'},
                                          {"gateways", 1, NULL, 'g'},
                                          {"window", 1, NULL, 'w'},
                                          {"shops", 1, NULL, 's'},
                                          {"agents", 1, NULL, 'a'},
                                          {"capacity", 1, NULL, 'c'},
                                          {"customers", 1, NULL, 'C'},
                                          {"reply-after", 1, NULL, 'R'},
                                          {"close-share", 1, NULL, 'x'},
                                          {"rating-share", 1, NULL, 'y'},
                                          {"order-share", 1, NULL, 'B'},
                                          {"review-share", 1, NULL, 'V'},
                                          {"quiet-period", 1, NULL, 'Q'},
                                          {"offline-every", 1, NULL, 'o'},
                                          {"offline-for", 1, NULL, 'O'},
                                          {"prune-events", 1, NULL, 'p'},
                                          {"prune-at", 1, NULL, 'P'},
                                          {"sample-every", 1, NULL, 'S'},
                                          {"pg-log", 1, NULL, 'l'},
                                          {"log-dir", 1, NULL, 'D'},
                                          {"latency-log", 1, NULL, 'L'},
                                          {"no-raw", 0, NULL, 'n'},
                                          {"wait-quiet", 1, NULL, 'q'},
                                          {"help", 0, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->db = optarg;
            break;
        case 'm':
            o->minutes = atof (optarg);
            break;
        case 'r':
            o->rate = atoi (optarg);
            break;
        case 'W':
            o->warmup = atof (optarg);
            break;
        case 'g':
            o->gateways = atoi (optarg);
            break;
        case 'w':
            o->window = atoi (optarg);
            break;
        case 's':
            o->shops = atoi (optarg);
            break;
        case 'a':
            o->agents = atoi (optarg);
            break;
        case 'c':
            o->capacity = atoi (optarg);
            break;
        case 'C':
            o->customers = atoi (optarg);
            break;
        case 'R':
            o->reply_after = atof (optarg);
            break;
        case 'x':
            o->close_share = atof (optarg);
            break;
        case 'y':
            o->rating_share = atof (optarg);
            break;
        case 'B':
            o->order_share = atof (optarg);
            break;
        case 'V':
            o->review_share = atof (optarg);
            break;
        case 'Q':
            o->quiet_period = optarg;
            break;
        case 'o':
            o->offline_every = atof (optarg);
            break;
        case 'O':
            o->offline_for = atof (optarg);
            break;
        case 'p':
            o->prune_events = atoll (optarg);
            break;
        case 'P':
            o->prune_at = atof (optarg);
            break;
        case 'S':
            o->sample_every = atof (optarg);
            break;
        case 'l':
            o->pg_log = optarg;
            break;
        case 'D':
            o->log_dir = optarg;
            break;
        case 'L':
            o->latency_log = optarg;
            break;
        case 'n':
            o->run_raw = false;
            break;
        case 'q':
            o->wait_quiet = atoi (optarg);
            break;
        case 'h':
            s_usage (stdout);
            return 1;
        default:
            s_usage (stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "bench_stack: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (!o->db || !*o->db) {
        fprintf (stderr, "bench_stack: --db URL (or KEFU_DATABASE_URL) is required\n");
        return 2;
    }
    if (o->minutes <= 0 || o->minutes > 24 * 60 || o->rate < 1 || o->warmup < 0 ||
        o->gateways < 1 || o->gateways > S_GATEWAYS_MAX || o->window < 1 || o->shops < 1 ||
        o->shops > 99 || o->agents < 1 || o->agents > 99 || o->capacity < 1 || o->capacity > 100 ||
        o->customers < o->gateways * o->shops || o->customers / o->gateways > 999999 ||
        o->reply_after <= 0 || o->close_share < 0 || o->close_share > 1 || o->rating_share < 0 ||
        o->rating_share > 1 || o->order_share < 0 || o->order_share > 1 || o->review_share < 0 ||
        o->review_share > 1 || o->offline_every <= 0 || o->offline_for < 0 || o->prune_events < 0 ||
        o->prune_at < 0 || o->prune_at > 1 || o->sample_every < 0.5 || o->wait_quiet < 0) {
        fprintf (stderr, "bench_stack: an option is out of range (see --help)\n");
        return 2;
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  The stack

//  Every kefu service, in start order. A service that lands is one more row
//  (and its KEFU_* wiring in s_environment): the binary under the build's
//  services/, the variable naming its control endpoint, and the consumer
//  name it applies events under (its offsets are set past the history, as
//  a service that has been running has them).
typedef struct {
    const char *name;        //  in reports and JSON
    const char *bin;         //  under build-bench/services/
    const char *control_var; //  its control endpoint's variable
    const char *consumer;    //  its consumer name (NULL: it follows no stream)
} s_service_def_t;

static const s_service_def_t s_services[] = {
    {"intake", "intake/kefu-intake", "KEFU_INTAKE_CONTROL_ENDPOINT", NULL},
    {"routing", "routing/kefu-routing", "KEFU_ROUTING_CONTROL_ENDPOINT", "routing"},
    {"ordersync", "ordersync/kefu-ordersync", "KEFU_ORDERSYNC_CONTROL_ENDPOINT", "ordersync"},
    {"escalation", "escalation/kefu-escalation", "KEFU_ESCALATION_CONTROL_ENDPOINT", "escalation"},
    {"metrics", "metrics/kefu-metrics", "KEFU_METRICS_CONTROL_ENDPOINT", "metrics"},
};
#define S_SERVICES ((int) (sizeof s_services / sizeof s_services[0]))

#define S_ENV_MAX 40
#define S_ENV_LEN 1200

//  The stack's configuration, written once as an operator writes a
//  compose file's environment: each service reads the variables it knows.
typedef struct {
    char vars[S_ENV_MAX][S_ENV_LEN]; //  NAME=VALUE
    const char *list[S_ENV_MAX + 1]; //  NULL-terminated, pointing into vars
    int count;                       //  entries
    char gateway_endpoint[64];       //  where gateways connect
} s_env_t;

static void
s_env_add (s_env_t *env, const char *name, const char *value)
{
    if (env->count >= S_ENV_MAX)
        return;
    snprintf (env->vars[env->count], S_ENV_LEN, "%s=%s", name, value);
    env->list[env->count] = env->vars[env->count];
    env->list[++env->count] = NULL;
}

//  A fresh loopback endpoint for `name`; also written into out (may be NULL).
static void
s_env_endpoint (s_env_t *env, const char *name, char *out, size_t size)
{
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", bench_free_port ());
    s_env_add (env, name, endpoint);
    if (out)
        snprintf (out, size, "%s", endpoint);
}

static const char *
s_env_get (const s_env_t *env, const char *name)
{
    size_t len = strlen (name);
    for (int i = 0; i < env->count; i++)
        if (strncmp (env->vars[i], name, len) == 0 && env->vars[i][len] == '=')
            return env->vars[i] + len + 1;
    return NULL;
}

static void
s_environment (s_env_t *env, const s_opts_t *o)
{
    memset (env, 0, sizeof *env);
    char intake_events[64], intake_commands[64], routing_events[64], http[64];
    s_env_add (env, "KEFU_DATABASE_URL", o->db);
    //  What an operator runs with unless they chose otherwise.
    s_env_add (env, "KEFU_LOG_LEVEL",
               getenv ("KEFU_LOG_LEVEL") ? getenv ("KEFU_LOG_LEVEL") : "info");
    s_env_add (env, "KEFU_INSECURE", "1");
    s_env_endpoint (env, "KEFU_INTAKE_GATEWAY_ENDPOINT", env->gateway_endpoint,
                    sizeof env->gateway_endpoint);
    s_env_endpoint (env, "KEFU_INTAKE_COMMAND_ENDPOINT", intake_commands, sizeof intake_commands);
    s_env_endpoint (env, "KEFU_INTAKE_EVENTS_ENDPOINT", intake_events, sizeof intake_events);
    s_env_endpoint (env, "KEFU_INTAKE_CONTROL_ENDPOINT", NULL, 0);
    s_env_add (env, "KEFU_INTAKE_QUIET_PERIOD", o->quiet_period);
    s_env_add (env, "KEFU_ROUTING_INTAKE_EVENTS", intake_events);
    s_env_add (env, "KEFU_ROUTING_INTAKE_COMMANDS", intake_commands);
    s_env_endpoint (env, "KEFU_ROUTING_EVENTS_ENDPOINT", routing_events, sizeof routing_events);
    s_env_endpoint (env, "KEFU_ROUTING_CONTROL_ENDPOINT", NULL, 0);
    s_env_add (env, "KEFU_ORDERSYNC_INTAKE_EVENTS", intake_events);
    s_env_add (env, "KEFU_ORDERSYNC_INTAKE_COMMANDS", intake_commands);
    s_env_add (env, "KEFU_ORDERSYNC_ROUTING_EVENTS", routing_events);
    s_env_endpoint (env, "KEFU_ORDERSYNC_EVENTS_ENDPOINT", NULL, 0);
    s_env_endpoint (env, "KEFU_ORDERSYNC_CONTROL_ENDPOINT", NULL, 0);
    s_env_add (env, "KEFU_ESCALATION_INTAKE_EVENTS", intake_events);
    s_env_add (env, "KEFU_ESCALATION_INTAKE_COMMANDS", intake_commands);
    s_env_endpoint (env, "KEFU_ESCALATION_EVENTS_ENDPOINT", NULL, 0);
    s_env_endpoint (env, "KEFU_ESCALATION_CONTROL_ENDPOINT", NULL, 0);
    s_env_add (env, "KEFU_METRICS_INTAKE_EVENTS", intake_events);
    s_env_add (env, "KEFU_METRICS_ROUTING_EVENTS", routing_events);
    s_env_endpoint (env, "KEFU_METRICS_QUERY_ENDPOINT", NULL, 0);
    s_env_endpoint (env, "KEFU_METRICS_CONTROL_ENDPOINT", NULL, 0);
    snprintf (http, sizeof http, "127.0.0.1:%d", bench_free_port ());
    s_env_add (env, "KEFU_METRICS_HTTP_ENDPOINT", http);
}

//  Shops and agents, by index.
static void
s_shop_id (char *buf, size_t size, int shop)
{
    snprintf (buf, size, "bench-s%02d", shop);
}

static void
s_agent_id (char *buf, size_t size, int agent)
{
    snprintf (buf, size, BENCH_PG_AGENT_FMT, agent);
}

static int
s_presales (const s_opts_t *o)
{
    int n = (o->agents * 6 + 5) / 10;
    return n < 1 ? 1 : n;
}

//  Run kefuctl with argv (kefuctl's own arguments, NULL-terminated); its
//  output into out. Exit code, -1 if it could not run.
static int
s_kefuctl (const s_opts_t *o, const char *const *args, char *out, size_t out_size, double *took_s)
{
    char bin[1024], url[S_ENV_LEN];
    bench_service_bin (bin, sizeof bin, "kefuctl/kefuctl");
    snprintf (url, sizeof url, "KEFU_DATABASE_URL=%s", o->db);
    const char *argv[16] = {bin};
    int n = 1;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    const char *env[] = {url, "KEFU_LOG_LEVEL=warn", NULL};
    return bench_tool_run (argv, env, out, out_size, took_s);
}

//  One shop, its groups, shifts and agents, registered with kefuctl as an
//  operator does. 0, or -1 (the failing command on stderr).
static int
s_setup_shop (const s_opts_t *o, int s)
{
    char out[4096], shop[32], name[64], capacity[16];
    s_shop_id (shop, sizeof shop, s);
    snprintf (name, sizeof name, "基准测试%02d号店", s);
    snprintf (capacity, sizeof capacity, "%d", o->capacity);
    const char *add[] = {"shop", "add", shop, "--name", name, NULL};
    const char *defaults[] = {"shift", "defaults", shop, "--by", "bench", NULL};
    //  One shift round the clock: the run means the same at any hour.
    const char *allday[] = {"shift", "add",   shop,   "allday", "--start", "00:00",
                            "--end", "24:00", "--by", "bench",  NULL};
    const char *const *steps[] = {add, defaults, allday};
    for (int i = 0; i < 3; i++)
        if (s_kefuctl (o, steps[i], out, sizeof out, NULL) != 0) {
            fprintf (stderr, "bench_stack: kefuctl %s %s %s failed:\n%s\n", steps[i][0],
                     steps[i][1], shop, out);
            return -1;
        }
    for (int a = 0; a < o->agents; a++) {
        char agent[16], agent_name[32];
        s_agent_id (agent, sizeof agent, a);
        snprintf (agent_name, sizeof agent_name, "客服%02d", a);
        bool presales = a < s_presales (o);
        const char *args[] = {"agent",
                              "add",
                              shop,
                              agent,
                              "--name",
                              agent_name,
                              "--groups",
                              presales ? "presales" : "aftersales",
                              "--capacity",
                              capacity,
                              "--shift",
                              "allday",
                              "--by",
                              "bench",
                              (a == 0 || a == s_presales (o)) ? "--vip" : NULL,
                              NULL};
        if (s_kefuctl (o, args, out, sizeof out, NULL) != 0) {
            fprintf (stderr, "bench_stack: kefuctl agent add %s %s failed:\n%s\n", shop, agent,
                     out);
            return -1;
        }
    }
    return 0;
}

typedef struct {
    const s_opts_t *opts; //  options
    atomic_int next;      //  the next shop to set up
    atomic_int failed;    //  shops that failed
} s_setup_t;

static void *
s_setup_main (void *arg)
{
    s_setup_t *setup = arg;
    int s;
    while ((s = atomic_fetch_add (&setup->next, 1)) < setup->opts->shops)
        if (s_setup_shop (setup->opts, s))
            atomic_fetch_add (&setup->failed, 1);
    return NULL;
}

//  Every shop, a few at a time (an operator's script would be sequential;
//  the set-up is not measured, only waited for). 0, or -1.
static int
s_setup (const s_opts_t *o)
{
    s_setup_t setup = {o, 0, 0};
    pthread_t threads[4];
    int n = o->shops < 4 ? o->shops : 4;
    for (int i = 0; i < n; i++)
        pthread_create (&threads[i], NULL, s_setup_main, &setup);
    for (int i = 0; i < n; i++)
        pthread_join (threads[i], NULL);
    return atomic_load (&setup.failed) ? -1 : 0;
}

//  ---------------------------------------------------------------------
//  Gateways: one thread each, one channel each, driving a libkefu-gateway

typedef enum {
    S_K_CUSTOMER = 1, //  a customer's line
    S_K_REPLY,        //  an agent's reply
    S_K_RATING,       //  the customer's rating
    S_K_CLOSE,        //  the conversation closed on the platform
    S_K_PRESENCE,     //  an agent online / offline
    S_K_ORDER,        //  the buyer's order (a platform connector's snapshot)
    S_K_REVIEW,       //  the buyer's review of it
    S_KINDS
} s_kind_t;
static const char *const s_kind_names[S_KINDS] = {
    "", "customer lines", "agent replies", "ratings", "closes", "presence", "orders", "reviews"};

//  The steps of a customer's visit after the first line, each a fixed delay
//  after the one before (so each queue of waiting visits stays in due order).
typedef enum {
    S_STEP_REPLY,  //  the owner answers the first line
    S_STEP_ASK,    //  the customer asks again
    S_STEP_REPLY2, //  the owner answers
    S_STEP_RATE,   //  the customer rates (some visits)
    S_STEP_CLOSE,  //  closed on the platform (most visits; the others go quiet)
    S_STEP_ORDER,  //  the buyer orders (some visits; beside the steps above)
    S_STEP_REVIEW, //  ... and reviews the order badly (some orders)
    S_STEPS
} s_step_kind_t;

#define S_ASK_AFTER_S    3.0 //  answer -> the customer's next line
#define S_RATE_AFTER_S   2.0 //  last answer -> rating
#define S_CLOSE_AFTER_S  1.0 //  rating (or the last answer, without one) -> close
#define S_ORDER_AFTER_S  1.5 //  last answer -> the order
#define S_REVIEW_AFTER_S 5.0 //  order -> the review
#define S_REPLY_WAITS    15  //  replies put off for want of an owner before the customer gives up
#define S_IDLE           255 //  customer stage: no visit

static const Kefu__V1__Channel s_channels[S_GATEWAYS_MAX] = {
    KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT, KEFU__V1__CHANNEL__CHANNEL_WECHAT,
    KEFU__V1__CHANNEL__CHANNEL_WEB_CHAT, KEFU__V1__CHANNEL__CHANNEL_EMAIL,
    KEFU__V1__CHANNEL__CHANNEL_PHONE};
static const char *const s_gateway_ids[S_GATEWAYS_MAX] = {"qianniu-1", "wechat-1", "webchat-1",
                                                          "email-1", "phone-1"};

//  One item sent, by its sequence number.
typedef struct {
    int64_t sent_us;   //  when kefu_gateway_send took it
    int64_t stored_id; //  what its ACCEPTED / DUPLICATE ack named
    int32_t lat_us;    //  send -> final ack (-1: none yet)
    uint8_t status;    //  final ack status (0: none yet)
    uint8_t kind;      //  s_kind_t
    uint16_t shop;     //  shop index
} s_item_t;

//  One buyer of a gateway.
typedef struct {
    int16_t owner; //  agent of the shop who owns their conversation (assign command), -1 none
    uint8_t stage; //  S_IDLE, or in a visit
    uint8_t waits; //  replies put off for want of an owner
    bool closes;   //  this visit ends with a close on the platform
    bool rates;    //  ... after a rating
    bool orders;   //  this visit ends in an order
    bool reviews;  //  ... which the buyer reviews badly
    int64_t order; //  the sequence number of the buyer's latest order item
} s_customer_t;

typedef struct {
    int64_t due_us; //  when
    int32_t who;    //  buyer (steps) or agent number (presence)
} s_due_t;

//  A queue of due times in due order.
typedef struct {
    s_due_t *ring; //  entries
    int head;      //  first entry
    int count;     //  entries held
    int cap;       //  room
} s_fifo_t;

static void
s_fifo_push (s_fifo_t *f, int64_t due_us, int32_t who)
{
    if (f->count == f->cap) {
        int cap = f->cap ? 2 * f->cap : 1024;
        s_due_t *ring = malloc ((size_t) cap * sizeof *ring);
        assert (ring);
        for (int i = 0; i < f->count; i++)
            ring[i] = f->ring[(f->head + i) % f->cap];
        free (f->ring);
        f->ring = ring;
        f->head = 0;
        f->cap = cap;
    }
    f->ring[(f->head + f->count++) % f->cap] = (s_due_t){due_us, who};
}

static const s_due_t *
s_fifo_head (const s_fifo_t *f)
{
    return f->count ? &f->ring[f->head] : NULL;
}

static s_due_t
s_fifo_pop (s_fifo_t *f)
{
    s_due_t d = f->ring[f->head];
    f->head = (f->head + 1) % f->cap;
    f->count--;
    return d;
}

typedef struct s_run_t s_run_t;

typedef struct {
    int index;                 //  0 .. gateways-1
    const char *id;            //  gateway id (part of the de-dup key)
    Kefu__V1__Channel channel; //  the channel it speaks for
    char prefix[24];           //  gateway_msg_id prefix: run tag and gateway
    s_run_t *run;              //  shared
    kefu_gateway_t *gw;        //  the client (owned by this thread)
    s_item_t *items;           //  by sequence number
    int64_t cap;               //  room in items
    int64_t sent;              //  items sent (the next sequence number)
    s_customer_t *customers;   //  this gateway's buyers
    int per_gateway;           //  how many
    int next_customer;         //  rotation
    s_fifo_t steps[S_STEPS];   //  visits waiting for their next step
    s_fifo_t presence;         //  gateway 0: agents coming back online
    int64_t next_offline_us;   //  gateway 0: the next agent going offline
    int offline_next;          //  gateway 0: which (rotating over shops, then agents)
    uint64_t rng;              //  choices
    //  Counts (this thread's).
    int64_t visits, gave_up, put_off, window_full, late_sends, max_late_us;
    int64_t kinds[S_KINDS]; //  items sent by kind
    int64_t acked, accepted, duplicate, rejected, stray;
    int64_t assigns[10]; //  assign commands by reason
    int64_t busy_replies, after_hours, other_commands, foreign_commands;
    char reject_reason[160];    //  first REJECTED reason
    bool failed;                //  never welcomed
    kefu_gateway_stats_t stats; //  the library's, at the end
} s_gateway_t;

struct s_run_t {
    const s_opts_t *opts;
    const char *endpoint;    //  intake's gateway endpoint
    atomic_uchar *online;    //  agent (shop * agents + agent) online
    int64_t start_us;        //  the load's common start
    int64_t slots;           //  items per gateway during the load
    pthread_barrier_t ready; //  every gateway welcomed, agents online
    pthread_barrier_t go;    //  start_us is set
    atomic_int done;         //  gateways whose every item is acked
    atomic_bool stop;        //  leave
    s_gateway_t gws[S_GATEWAYS_MAX];
};

static double
s_uniform (uint64_t *rng)
{
    return (double) (bench_rand (rng) >> 11) / 9007199254740992.0;
}

static bool
s_online (const s_run_t *run, int shop, int agent)
{
    return atomic_load (&run->online[shop * run->opts->agents + agent]) != 0;
}

static void
s_on_ack (const Kefu__V1__Ack *ack, void *arg)
{
    s_gateway_t *self = arg;
    int64_t now = bench_now_us ();
    int64_t seq = bench_item_seq (ack->gateway_msg_id.data, ack->gateway_msg_id.len);
    if (seq < 0 || seq >= self->sent || self->items[seq].status) {
        self->stray++;
        return;
    }
    s_item_t *it = &self->items[seq];
    it->lat_us = (int32_t) (now - it->sent_us);
    it->status = (uint8_t) ack->status;
    self->acked++;
    if (ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED ||
        ack->status == KEFU__V1__ACK_STATUS__ACK_DUPLICATE) {
        it->stored_id = ack->stored_id;
        if (ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
            self->accepted++;
        else
            self->duplicate++;
    } else {
        self->rejected++;
        if (!self->reject_reason[0])
            snprintf (self->reject_reason, sizeof self->reject_reason, "%s",
                      ack->reason ? ack->reason : "");
    }
}

//  Routing's decisions come back as commands: an assign tells the gateway
//  who owns the buyer's conversation now (new, sticky, from the queue,
//  handover ...). Every command is acknowledged as carried out.
static void
s_on_command (kefu_gateway_t *gw, const Kefu__V1__Command *cmd, void *arg)
{
    s_gateway_t *self = arg;
    int gateway = -1;
    int k = bench_customer_parse (cmd->customer_id.data, cmd->customer_id.len, &gateway);
    bool ours = k >= 0 && k < self->per_gateway && gateway == self->index;
    if (cmd->kind_case == KEFU__V1__COMMAND__KIND_ASSIGN && cmd->assign) {
        int reason = (int) cmd->assign->reason;
        self->assigns[reason >= 0 && reason < 10 ? reason : 0]++;
        int agent = -1;
        const ProtobufCBinaryData *id = &cmd->assign->agent_id;
        if (id->len == 4 && id->data[0] == 'k' && id->data[1] == 'f')
            agent = (id->data[2] - '0') * 10 + (id->data[3] - '0');
        if (ours && agent >= 0 && agent < self->run->opts->agents)
            self->customers[k].owner = (int16_t) agent;
    } else if (cmd->kind_case == KEFU__V1__COMMAND__KIND_AUTO_REPLY && cmd->auto_reply) {
        if (cmd->auto_reply->kind == KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_BUSY)
            self->busy_replies++;
        else if (cmd->auto_reply->kind == KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_AFTER_HOURS)
            self->after_hours++;
        else
            self->other_commands++;
    } else
        self->other_commands++;
    if (!ours)
        self->foreign_commands++;
    //  If it cannot go now (no connection), the library repeats the answer
    //  when intake sends the command again.
    kefu_gateway_ack_command (gw, cmd->command_id, true, NULL);
}

//  The owner of buyer k's conversation, if they are online; else -1.
static int
s_owner (s_gateway_t *self, int k, int shop)
{
    int owner = self->customers[k].owner;
    return owner >= 0 && s_online (self->run, shop, owner) ? owner : -1;
}

static int
s_shop_of (const s_gateway_t *self, int k)
{
    return k % self->run->opts->shops;
}

//  Fill `it` with the next item of this gateway (sequence self->sent).
static void
s_next_item (s_gateway_t *self, bench_item_t *it, int64_t now, s_kind_t *kind, int *shop_out)
{
    const s_opts_t *o = self->run->opts;
    char shop[32], agent[16];
    //  Gateway 0 (the platform where agents log in) carries presence.
    if (self->index == 0) {
        const s_due_t *back = s_fifo_head (&self->presence);
        bool online = back && back->due_us <= now;
        if (online || now >= self->next_offline_us) {
            int who;
            if (online)
                who = s_fifo_pop (&self->presence).who;
            else {
                who = self->offline_next++ % (o->shops * o->agents);
                self->next_offline_us += (int64_t) (o->offline_every * 1e6);
                s_fifo_push (&self->presence, now + (int64_t) (o->offline_for * 1e6), who);
            }
            int s = who % o->shops, a = who / o->shops;
            s_shop_id (shop, sizeof shop, s);
            s_agent_id (agent, sizeof agent, a);
            bench_item_presence (it, shop, self->prefix, agent,
                                 online ? KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE
                                        : KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE,
                                 self->sent);
            atomic_store (&self->run->online[s * o->agents + a], online ? 1 : 0);
            *kind = S_K_PRESENCE;
            *shop_out = s;
            return;
        }
    }
    for (;;) {
        //  The visit whose next step is due first.
        int best = -1;
        for (int i = 0; i < S_STEPS; i++) {
            const s_due_t *h = s_fifo_head (&self->steps[i]);
            if (h && h->due_us <= now &&
                (best < 0 || h->due_us < s_fifo_head (&self->steps[best])->due_us))
                best = i;
        }
        if (best < 0)
            break;
        int k = s_fifo_pop (&self->steps[best]).who;
        s_customer_t *c = &self->customers[k];
        int s = s_shop_of (self, k);
        s_shop_id (shop, sizeof shop, s);
        *shop_out = s;
        int owner = s_owner (self, k, s);
        switch ((s_step_kind_t) best) {
        case S_STEP_REPLY:
        case S_STEP_REPLY2:
            if (owner < 0 && c->waits++ < S_REPLY_WAITS) {
                //  Queued, or the owner went offline: wait for an assign.
                self->put_off++;
                s_fifo_push (&self->steps[best], now + (int64_t) (o->reply_after * 1e6), k);
                continue;
            }
            if (owner < 0) {
                //  Nobody came: the customer gives up (intake's sweep
                //  closes the conversation). Nobody else picks them up,
                //  which would take that agent beyond their capacity.
                self->gave_up++;
                c->stage = S_IDLE;
                continue;
            }
            c->waits = 0;
            s_agent_id (agent, sizeof agent, owner);
            bench_item_reply (it, shop, self->prefix, self->index, k, agent, self->sent,
                              &self->rng);
            if (best == S_STEP_REPLY2 && c->orders)
                s_fifo_push (&self->steps[S_STEP_ORDER], now + (int64_t) (S_ORDER_AFTER_S * 1e6),
                             k);
            if (best == S_STEP_REPLY)
                s_fifo_push (&self->steps[S_STEP_ASK], now + (int64_t) (S_ASK_AFTER_S * 1e6), k);
            else if (c->rates)
                s_fifo_push (&self->steps[S_STEP_RATE], now + (int64_t) (S_RATE_AFTER_S * 1e6), k);
            else //  the same delay as after a rating: the queue stays in due order
                s_fifo_push (&self->steps[S_STEP_CLOSE], now + (int64_t) (S_CLOSE_AFTER_S * 1e6),
                             k);
            *kind = S_K_REPLY;
            break;
        case S_STEP_ASK:
            bench_item_customer (it, shop, self->prefix, self->index, self->per_gateway, k,
                                 self->sent, &self->rng);
            s_fifo_push (&self->steps[S_STEP_REPLY2], now + (int64_t) (o->reply_after * 1e6), k);
            *kind = S_K_CUSTOMER;
            break;
        case S_STEP_RATE:
            s_agent_id (agent, sizeof agent, owner >= 0 ? owner : 0);
            bench_item_rating (it, shop, self->prefix, self->index, k, owner >= 0 ? agent : "",
                               self->sent, &self->rng);
            s_fifo_push (&self->steps[S_STEP_CLOSE], now + (int64_t) (S_CLOSE_AFTER_S * 1e6), k);
            *kind = S_K_RATING;
            break;
        case S_STEP_ORDER:
            //  ~30-900 yuan; order-sync credits it to the agent who served the inquiry.
            bench_item_order (it, shop, self->prefix, self->index, k, self->sent,
                              3000 + (int64_t) (bench_rand (&self->rng) % 87000));
            c->order = self->sent;
            if (c->reviews)
                s_fifo_push (&self->steps[S_STEP_REVIEW], now + (int64_t) (S_REVIEW_AFTER_S * 1e6),
                             k);
            *kind = S_K_ORDER;
            break;
        case S_STEP_REVIEW: {
            char order[48];
            snprintf (order, sizeof order, "%s-o%" PRId64, self->prefix, c->order);
            bench_item_review (it, shop, self->prefix, self->index, k, self->sent, order,
                               1 + (uint32_t) (bench_rand (&self->rng) % 2));
            *kind = S_K_REVIEW;
            break;
        }
        case S_STEP_CLOSE:
        default:
            c->stage = S_IDLE;
            if (!c->closes)
                continue; //  left quiet: intake's sweep closes it
            //  The agent closes it as resolved, or (one in five) the customer leaves.
            s_agent_id (agent, sizeof agent, owner >= 0 ? owner : 0);
            bench_item_close (it, shop, self->prefix, self->index, k,
                              owner >= 0 && bench_rand (&self->rng) % 5 ? agent : "", self->sent);
            c->owner = -1;
            *kind = S_K_CLOSE;
            break;
        }
        //  Every way out of the switch made an item (the others continue).
        it->item.channel = self->channel;
        return;
    }
    //  Nothing due: the next buyer in the rotation begins a visit.
    int k = self->next_customer;
    for (int tries = 0; tries < self->per_gateway && self->customers[k].stage != S_IDLE; tries++)
        k = (k + 1) % self->per_gateway;
    self->next_customer = (k + 1) % self->per_gateway;
    s_customer_t *c = &self->customers[k];
    c->stage = 0;
    c->waits = 0;
    c->closes = s_uniform (&self->rng) < o->close_share;
    c->rates = s_uniform (&self->rng) < o->rating_share;
    c->orders = s_uniform (&self->rng) < o->order_share;
    c->reviews = c->orders && s_uniform (&self->rng) < o->review_share;
    self->visits++;
    int s = s_shop_of (self, k);
    s_shop_id (shop, sizeof shop, s);
    bench_item_customer (it, shop, self->prefix, self->index, self->per_gateway, k, self->sent,
                         &self->rng);
    it->item.channel = self->channel;
    s_fifo_push (&self->steps[S_STEP_REPLY], now + (int64_t) (o->reply_after * 1e6), k);
    *kind = S_K_CUSTOMER;
    *shop_out = s;
}

//  Hand `it` to the library as item self->sent. 0, or -1 (window full).
static int
s_send (s_gateway_t *self, bench_item_t *it, s_kind_t kind, int shop)
{
    if (self->sent >= self->cap)
        return -1;
    int64_t now = bench_now_us ();
    if (kefu_gateway_send (self->gw, &it->item) == -1)
        return -1;
    self->items[self->sent] = (s_item_t){now, 0, -1, 0, (uint8_t) kind, (uint16_t) shop};
    self->sent++;
    self->kinds[kind]++;
    return 0;
}

//  Every agent comes online (gateway 0), before the load.
static void
s_all_online (s_gateway_t *self)
{
    const s_opts_t *o = self->run->opts;
    for (int s = 0; s < o->shops; s++)
        for (int a = 0; a < o->agents; a++) {
            char shop[32], agent[16];
            s_shop_id (shop, sizeof shop, s);
            s_agent_id (agent, sizeof agent, a);
            bench_item_t it;
            bench_item_presence (&it, shop, self->prefix, agent,
                                 KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE, self->sent);
            while (s_send (self, &it, S_K_PRESENCE, s))
                kefu_gateway_poll (self->gw, 10);
            atomic_store (&self->run->online[s * o->agents + a], 1);
        }
}

//  Poll until every item sent has its final ack, or deadline.
static void
s_wait_acks (s_gateway_t *self, int64_t deadline)
{
    while (self->acked < self->sent && bench_now_us () < deadline)
        kefu_gateway_poll (self->gw, 100);
}

//  The load: slot k of gateway g is due at start + (g / N + k) * N / rate,
//  so the gateways together offer `rate` items/s, evenly interleaved. The
//  item of a slot is whatever step of a visit is due (or an agent's
//  presence), else the next buyer's first line. Latency is measured from
//  the actual send; sends more than 2 ms late are counted.
static void
s_load (s_gateway_t *self)
{
    const s_opts_t *o = self->run->opts;
    double interval = 1e6 * o->gateways / o->rate;
    int64_t first = self->run->start_us + (int64_t) (interval * self->index / o->gateways);
    self->next_offline_us = self->run->start_us + (int64_t) (o->offline_every * 1e6);
    bench_sleep_until_us (first);
    int64_t slot = 0;
    bench_item_t it;
    bool pending = false;
    s_kind_t kind = S_K_CUSTOMER;
    int shop = 0;
    while (slot < self->run->slots && !atomic_load (&self->run->stop)) {
        int64_t now = bench_now_us ();
        int64_t due = first + (int64_t) (interval * (double) slot);
        if (due <= now + 1000) {
            if (!pending)
                s_next_item (self, &it, now, &kind, &shop);
            pending = true;
            if (s_send (self, &it, kind, shop) == 0) {
                pending = false;
                slot++;
                int64_t late = now - due;
                if (late > self->max_late_us)
                    self->max_late_us = late;
                if (late > 2000)
                    self->late_sends++;
                continue;
            }
            self->window_full++;
            kefu_gateway_poll (self->gw, 10);
            continue;
        }
        int64_t wait_ms = (due - now) / 1000;
        kefu_gateway_poll (self->gw, wait_ms > 0 ? (int) wait_ms : 0);
    }
}

static void *
s_gateway_main (void *arg)
{
    s_gateway_t *self = arg;
    s_run_t *run = self->run;
    const s_opts_t *o = run->opts;
    char thread_name[16];
    snprintf (thread_name, sizeof thread_name, "bench-gw%d", self->index);
    bench_thread_name (thread_name);
    kefu_gateway_shop_channel_t serves[100];
    char shops[100][32];
    for (int s = 0; s < o->shops; s++) {
        s_shop_id (shops[s], sizeof shops[s], s);
        serves[s] = (kefu_gateway_shop_channel_t){shops[s], self->channel};
    }
    kefu_gateway_options_t options = kefu_gateway_options_default ();
    options.endpoint = run->endpoint;
    options.gateway_id = self->id;
    options.window = o->window;
    options.serves = serves;
    options.serves_count = (size_t) o->shops;
    options.software = "kefu bench_stack";
    self->gw = kefu_gateway_new (&options);
    if (self->gw) {
        kefu_gateway_on_ack (self->gw, s_on_ack, self);
        kefu_gateway_on_command (self->gw, s_on_command, self);
        int64_t deadline = bench_now_us () + 20000000;
        while (!kefu_gateway_welcomed (self->gw) && bench_now_us () < deadline)
            kefu_gateway_poll (self->gw, 50);
    }
    self->failed = !self->gw || !kefu_gateway_welcomed (self->gw);
    if (!self->failed && self->index == 0) {
        s_all_online (self);
        s_wait_acks (self, bench_now_us () + 30000000);
    }
    pthread_barrier_wait (&run->ready);
    pthread_barrier_wait (&run->go);
    if (!self->failed) {
        s_load (self);
        s_wait_acks (self, bench_now_us () + 120000000);
    }
    atomic_fetch_add (&run->done, 1);
    //  Commands keep coming until the stack is quiet: take and ack them.
    while (!atomic_load (&run->stop)) {
        if (self->gw)
            kefu_gateway_poll (self->gw, 100);
        else
            zclock_sleep (100);
    }
    if (self->gw)
        kefu_gateway_stats (self->gw, &self->stats);
    kefu_gateway_destroy (&self->gw);
    return NULL;
}

//  ---------------------------------------------------------------------
//  While the load runs: samples, table sizes, the prune

typedef struct {
    double t;                       //  seconds since the measured start
    int64_t rss_kb[S_SERVICES_MAX]; //  each service's resident memory (-1: gone)
    int fds[S_SERVICES_MAX];        //  ... open file descriptors
    double cpu_s[S_SERVICES_MAX];   //  ... CPU seconds so far
    bench_cpu_t cpu;                //  this process, PostgreSQL, the machine
    double psi_cpu_us;              //  some task waited for a CPU (counter, /proc/pressure)
    double psi_io_us;               //  ... for I/O
} s_sample_t;

typedef struct {
    double t;                             //  seconds since the measured start
    int count;                            //  tables
    bench_pg_size_t tables[S_TABLES_MAX]; //  their sizes
} s_sizes_t;

typedef struct {
    const s_opts_t *opts;  //  options
    const char *partition; //  yesterday's partition (the history)
    bool ran;              //  kefuctl ran
    int code;              //  its exit code
    int64_t start_us;      //  monotonic, just before kefuctl started
    int64_t end_us;        //  ... after it exited
    char output[2048];     //  what it printed
    char before[2048];     //  kefuctl events partitions before it
    char after[2048];      //  ... and a second after it ended
    double list_s;         //  how long that listing took (a kefuctl run doing little)
    int64_t events_before; //  bytes of the events table, every partition
    int64_t events_after;  //  ... after
    int64_t history_bytes; //  the history partition before
    int64_t history_left;  //  1 if it still exists after
} s_prune_t;

static int64_t
s_table_bytes (const s_sizes_t *sizes, const char *name)
{
    for (int i = 0; i < sizes->count; i++)
        if (strcmp (sizes->tables[i].name, name) == 0)
            return sizes->tables[i].bytes;
    return 0;
}

static int64_t
s_events_bytes (const char *db)
{
    kf_store_t *store = bench_pg_connect (db, "bench-prune", NULL);
    if (!store)
        return -1;
    s_sizes_t sizes;
    sizes.count = bench_pg_sizes (store, NULL, sizes.tables, S_TABLES_MAX);
    kf_store_destroy (&store);
    return sizes.count < 0 ? -1 : s_table_bytes (&sizes, "events");
}

//  The operator's prune: kefuctl events prune --keep 1m, timed from before
//  the process starts to after it exits (its start and connection
//  included), with the events table's size before and after.
static void *
s_prune_main (void *arg)
{
    s_prune_t *p = arg;
    bench_thread_name ("bench-prune");
    char sql[256];
    snprintf (sql, sizeof sql, "SELECT pg_total_relation_size ('%s')", p->partition);
    p->history_bytes = bench_pg_count (p->opts->db, sql);
    p->events_before = s_events_bytes (p->opts->db);
    const char *list[] = {"events", "partitions", NULL};
    s_kefuctl (p->opts, list, p->before, sizeof p->before, &p->list_s);
    const char *args[] = {"events", "prune", "--keep", "1m", NULL};
    p->start_us = bench_now_us ();
    p->code = s_kefuctl (p->opts, args, p->output, sizeof p->output, NULL);
    p->end_us = bench_now_us ();
    p->ran = true;
    //  Out of the window whose acks are reported as "during the prune".
    bench_sleep_until_us (p->end_us + 1000000);
    s_kefuctl (p->opts, list, p->after, sizeof p->after, NULL);
    p->events_after = s_events_bytes (p->opts->db);
    snprintf (sql, sizeof sql, "SELECT count(*) FROM pg_class WHERE relname = '%s'", p->partition);
    p->history_left = bench_pg_count (p->opts->db, sql);
    return NULL;
}

static void
s_sample (s_sample_t *out, double t, bench_service_t **services, int pg_pid)
{
    memset (out, 0, sizeof *out);
    out->t = t;
    for (int i = 0; i < S_SERVICES; i++) {
        int pid = services[i] ? (int) bench_service_pid (services[i]) : 0;
        out->rss_kb[i] = pid > 0 ? bench_pid_rss_kb (pid) : -1;
        out->fds[i] = pid > 0 ? bench_pid_fds (pid) : -1;
        out->cpu_s[i] = pid > 0 ? bench_pid_cpu (pid) : 0;
    }
    bench_cpu_sample (&out->cpu, pg_pid, 0);
    out->psi_cpu_us = bench_psi_some_us ("cpu");
    out->psi_io_us = bench_psi_some_us ("io");
}

//  Consumer `name`'s events not applied yet, over the streams it follows.
static int64_t
s_lag (const char *db, const char *name)
{
    return bench_pg_count1 (
        db,
        "SELECT coalesce (sum (s.last_seq - coalesce (o.last_seq, 0)), 0)::int8 "
        "FROM event_sequences s "
        "JOIN (SELECT DISTINCT stream FROM consumer_offsets WHERE consumer = $1::text) c "
        "  USING (stream) "
        "LEFT JOIN consumer_offsets o ON o.consumer = $1::text AND o.stream = s.stream "
        "  AND o.partition = s.partition",
        name);
}

//  Quiet: every consumer has applied every event, no command waits for an
//  ack (intake's commands.pending, routing's commands.unacked). Returns
//  what is still going on (0: quiet); -1 if a service did not answer.
static int64_t
s_busy (const s_opts_t *o, bench_service_t **services)
{
    int64_t busy = 0;
    for (int i = 0; i < S_SERVICES; i++) {
        int64_t pending = bench_service_counter (services[i], "commands.pending");
        int64_t unacked = bench_service_counter (services[i], "commands.unacked");
        if (pending < 0 || unacked < 0)
            return -1;
        busy += pending + unacked;
        if (s_services[i].consumer) {
            int64_t lag = s_lag (o->db, s_services[i].consumer);
            if (lag < 0)
                return -1;
            busy += lag;
        }
    }
    return busy;
}

//  ---------------------------------------------------------------------
//  PostgreSQL's log and the services' logs

#define S_SHOW_ERRORS 5

typedef struct {
    int64_t errors;                 //  lines with "ERROR:"
    int64_t fatals;                 //  lines with "FATAL:"
    char first[S_SHOW_ERRORS][512]; //  the first few ERROR lines
    int64_t *at_ms;                 //  each ERROR's time (ms since the epoch)
    int64_t at_count;               //  entries in at_ms
} s_pg_errors_t;

static int64_t
s_file_size (const char *path)
{
    struct stat st;
    return path && stat (path, &st) == 0 ? (int64_t) st.st_size : 0;
}

//  "2026-12-07 13:16:35.123 UTC [pid] ..." -> ms since the epoch; -1.
static int64_t
s_log_time_ms (const char *line)
{
    struct tm tm;
    memset (&tm, 0, sizeof tm);
    int ms = 0;
    if (sscanf (line, "%d-%d-%d %d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                &tm.tm_min, &tm.tm_sec, &ms) != 7)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t) timegm (&tm) * 1000 + ms;
}

//  The ERROR and FATAL lines the cluster logged from byte `from` of its log.
static void
s_read_pg_log (const char *path, int64_t from, s_pg_errors_t *out)
{
    memset (out, 0, sizeof *out);
    FILE *f = path ? fopen (path, "r") : NULL;
    if (!f)
        return;
    fseeko (f, (off_t) from, SEEK_SET);
    char line[4096];
    int64_t cap = 0;
    while (fgets (line, sizeof line, f)) {
        if (strstr (line, "FATAL:"))
            out->fatals++;
        if (!strstr (line, "ERROR:"))
            continue;
        if (out->errors < S_SHOW_ERRORS) {
            line[strcspn (line, "\n")] = '\0';
            snprintf (out->first[out->errors], sizeof out->first[0], "%.500s", line);
        }
        out->errors++;
        if (out->at_count == cap) {
            cap = cap ? 2 * cap : 256;
            out->at_ms = realloc (out->at_ms, (size_t) cap * sizeof (int64_t));
            assert (out->at_ms);
        }
        out->at_ms[out->at_count++] = s_log_time_ms (line);
    }
    fclose (f);
}

#define S_LOG_EVENTS 6

typedef struct {
    int64_t lines;                 //  lines in all
    int64_t warn;                  //  at warn
    int64_t error;                 //  at error
    char events[S_LOG_EVENTS][64]; //  the warn/error events seen ("lvl event")
    int64_t counts[S_LOG_EVENTS];  //  how often each
    int nevents;                   //  entries
} s_svc_log_t;

//  Note a warn or error line's event name (text format: "... lvl=L svc=S
//  event key=value ...").
static void
s_note_event (s_svc_log_t *log, const char *line, const char *level)
{
    const char *svc = strstr (line, " svc=");
    const char *event = svc ? strchr (svc + 1, ' ') : NULL;
    char name[64];
    if (event)
        snprintf (name, sizeof name, "%s %.*s", level, (int) strcspn (event + 1, " \n"), event + 1);
    else
        snprintf (name, sizeof name, "%s (other)", level);
    for (int i = 0; i < log->nevents; i++)
        if (strcmp (log->events[i], name) == 0) {
            log->counts[i]++;
            return;
        }
    if (log->nevents < S_LOG_EVENTS) {
        snprintf (log->events[log->nevents], sizeof log->events[0], "%s", name);
        log->counts[log->nevents++] = 1;
    }
}

static void
s_read_svc_log (const char *path, s_svc_log_t *out)
{
    memset (out, 0, sizeof *out);
    FILE *f = path && *path ? fopen (path, "r") : NULL;
    if (!f)
        return;
    char line[4096];
    while (fgets (line, sizeof line, f)) {
        out->lines++;
        if (strstr (line, "lvl=warn") || strstr (line, "\"lvl\":\"warn\"")) {
            out->warn++;
            s_note_event (out, line, "warn");
        } else if (strstr (line, "lvl=error") || strstr (line, "\"lvl\":\"error\"")) {
            out->error++;
            s_note_event (out, line, "error");
        }
    }
    fclose (f);
}

//  ---------------------------------------------------------------------
//  Results

typedef struct {
    int64_t items; //  items sent in it (acked)
    int64_t slow;  //  of them with an ack over S_SLOW_US
    double p50, p99, max;
    double cpu_pressure, io_pressure; //  share of the window some task waited (PSI)
    double other_cores;               //  CPU other processes used, in cores
    double pg_cores;                  //  PostgreSQL's CPU, in cores
    double bench_cores;               //  this benchmark's (gateways, ZeroMQ I/O, sampling)
    double svc_cores[S_SERVICES_MAX]; //  each service's CPU, in cores
} s_window_t;

typedef struct {
    bench_lat_t *lat;     //  send -> final ack
    int64_t items, slow;  //  items, over S_SLOW_US
    double p50, p99, max; //  ms
} s_set_t;

static void
s_set_add (s_set_t *set, int64_t us)
{
    if (!set->lat)
        set->lat = bench_lat_new (1024);
    bench_lat_add (set->lat, us);
    set->items++;
    if (us > S_SLOW_US)
        set->slow++;
}

static void
s_set_close (s_set_t *set)
{
    if (!set->lat)
        return;
    set->p50 = bench_lat_pct_ms (set->lat, 50);
    set->p99 = bench_lat_pct_ms (set->lat, 99);
    set->max = bench_lat_max_ms (set->lat);
    bench_lat_destroy (&set->lat);
}

//  The sample taken last at or before t (samples are in time order).
static const s_sample_t *
s_sample_at (const s_sample_t *samples, int count, double t)
{
    const s_sample_t *best = count ? &samples[0] : NULL;
    for (int i = 0; i < count && samples[i].t <= t + 1e-6; i++)
        best = &samples[i];
    return best;
}

//  Least-squares slope of a service's RSS over the samples from `from`
//  seconds on, in MB per hour; NAN with fewer than 3 samples.
static double
s_rss_slope (const s_sample_t *samples, int count, int service, double from)
{
    double n = 0, st = 0, sr = 0, stt = 0, str = 0;
    for (int i = 0; i < count; i++) {
        if (samples[i].t < from - 1e-6 || samples[i].rss_kb[service] < 0)
            continue;
        double t = samples[i].t, r = (double) samples[i].rss_kb[service] / 1024.0;
        n++;
        st += t;
        sr += r;
        stt += t * t;
        str += t * r;
    }
    double d = n * stt - st * st;
    if (n < 3 || d <= 0)
        return NAN;
    return (n * str - st * sr) / d * 3600.0;
}

static double
s_mb (int64_t bytes)
{
    return (double) bytes / (1024.0 * 1024.0);
}

static void
s_json_obj (char *buf, size_t size, const double *values, bool have)
{
    size_t n = (size_t) snprintf (buf, size, "{");
    for (int i = 0; i < S_SERVICES && n < size; i++) {
        char v[32];
        bench_json_num (v, sizeof v, values[i], have && !isnan (values[i]));
        n += (size_t) snprintf (buf + n, size - n, "%s\"%s\":%s", i ? "," : "", s_services[i].name,
                                v);
    }
    if (n < size)
        snprintf (buf + n, size - n, "}");
}

//  Append every measured item to --latency-log.
static void
s_log_latencies (const s_opts_t *o, const s_run_t *run, int64_t measure_us)
{
    FILE *file = o->latency_log ? fopen (o->latency_log, "w") : NULL;
    if (o->latency_log && !file) {
        fprintf (stderr, "bench_stack: cannot write %s\n", o->latency_log);
        return;
    }
    for (int g = 0; file && g < o->gateways; g++) {
        const s_gateway_t *gw = &run->gws[g];
        for (int64_t k = 0; k < gw->sent; k++) {
            const s_item_t *it = &gw->items[k];
            if (it->sent_us >= measure_us)
                fprintf (file, "%d %d %.3f %.3f\n", g, it->kind,
                         (double) (it->sent_us - measure_us) / 1000.0,
                         it->lat_us >= 0 ? it->lat_us / 1000.0 : -1.0);
        }
    }
    if (file)
        fclose (file);
}

//  Whether every acknowledged item is stored exactly once.
static int
s_check_stored (const s_opts_t *o, const s_run_t *run, bench_pg_check_result_t *out)
{
    bench_pg_check_t *check = bench_pg_check_new (o->db);
    if (!check)
        return -1;
    char gateways[160] = "{";
    for (int g = 0; g < o->gateways; g++) {
        const s_gateway_t *gw = &run->gws[g];
        size_t len = strlen (gateways);
        snprintf (gateways + len, sizeof gateways - len, "%s%s", g ? "," : "", gw->id);
        for (int64_t k = 0; k < gw->sent; k++) {
            char shop[32], msg_id[64];
            s_shop_id (shop, sizeof shop, gw->items[k].shop);
            snprintf (msg_id, sizeof msg_id, "%s-%" PRId64, gw->prefix, k);
            if (bench_pg_check_add (check, shop, gw->id, msg_id, gw->items[k].stored_id)) {
                bench_pg_check_result_t ignored;
                bench_pg_check_finish (&check, gateways, &ignored);
                return -1;
            }
        }
    }
    size_t len = strlen (gateways);
    snprintf (gateways + len, sizeof gateways - len, "}");
    return bench_pg_check_finish (&check, gateways, out);
}

//  Print text line by line, indented.
static void
s_print_lines (char *text)
{
    char *save = NULL;
    for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save))
        printf ("  | %s\n", line);
}

//  ---------------------------------------------------------------------
//  Main

//  What the run measured, for the report.
typedef struct {
    double dur;                //  measured seconds
    int nwin;                  //  1-minute windows
    s_window_t *win;           //  each
    s_set_t all;               //  every measured item
    s_set_t kinds[S_KINDS];    //  ... by kind
    s_set_t during_prune;      //  sent from the prune's start to 1 s after its end
    s_set_t after_prune;       //  the minute after that
    int nsec;                  //  measured seconds
    int32_t *sec_max_us;       //  worst ack of the items sent in each second
    int64_t slow_seconds;      //  seconds with an ack over S_SLOW_US
    int64_t slow_by_phase[10]; //  ... by second mod 10
    int64_t slow_near_error;   //  ... within a second of a PostgreSQL ERROR
    int64_t sent, acked, unacked, rejected, duplicate, stray; //  every item of the run
    double worst_p99;                                         //  the worst window's p99
    int worst_win;                                            //  which
    double cpu_pressure, io_pressure, other_cores;            //  over the measured minutes
} s_results_t;

static void
s_window_machine (s_window_t *w, const s_sample_t *a, const s_sample_t *b)
{
    double wall = b && a ? b->cpu.wall - a->cpu.wall : 0;
    if (wall <= 0)
        return;
    w->cpu_pressure = a->psi_cpu_us >= 0 ? (b->psi_cpu_us - a->psi_cpu_us) / (wall * 1e6) : -1;
    w->io_pressure = a->psi_io_us >= 0 ? (b->psi_io_us - a->psi_io_us) / (wall * 1e6) : -1;
    double ours = (b->cpu.process - a->cpu.process) + (b->cpu.postgres - a->cpu.postgres);
    for (int i = 0; i < S_SERVICES; i++) {
        w->svc_cores[i] = (b->cpu_s[i] - a->cpu_s[i]) / wall;
        ours += b->cpu_s[i] - a->cpu_s[i];
    }
    w->pg_cores = (b->cpu.postgres - a->cpu.postgres) / wall;
    w->bench_cores = (b->cpu.process - a->cpu.process) / wall;
    double other = (b->cpu.machine - a->cpu.machine) - ours;
    w->other_cores = other > 0 ? other / wall : 0;
}

static void
s_analyse (const s_opts_t *o, s_run_t *run, int64_t measure_us, int64_t measure_wall_ms,
           const s_prune_t *prune, const s_sample_t *samples, int nsamples,
           const s_pg_errors_t *errors, s_results_t *r)
{
    memset (r, 0, sizeof *r);
    r->dur = o->minutes * 60;
    r->nwin = (int) ceil (r->dur / S_WINDOW_S - 1e-9);
    r->win = calloc ((size_t) r->nwin, sizeof *r->win);
    r->nsec = (int) ceil (r->dur - 1e-9);
    r->sec_max_us = calloc ((size_t) r->nsec, sizeof (int32_t));
    s_set_t *wins = calloc ((size_t) r->nwin, sizeof (s_set_t));
    int64_t prune_to = prune->ran ? prune->end_us + 1000000 : 0;
    for (int g = 0; g < o->gateways; g++) {
        const s_gateway_t *gw = &run->gws[g];
        r->sent += gw->sent;
        r->acked += gw->acked;
        r->rejected += gw->rejected;
        r->duplicate += gw->duplicate;
        r->stray += gw->stray;
        for (int64_t k = 0; k < gw->sent; k++) {
            const s_item_t *it = &gw->items[k];
            if (it->lat_us < 0) {
                r->unacked++;
                continue;
            }
            if (it->sent_us < measure_us)
                continue;
            double t = (double) (it->sent_us - measure_us) / 1e6;
            int w = (int) (t / S_WINDOW_S), sec = (int) t;
            w = w < r->nwin ? w : r->nwin - 1;
            sec = sec < r->nsec ? sec : r->nsec - 1;
            s_set_add (&wins[w], it->lat_us);
            s_set_add (&r->all, it->lat_us);
            s_set_add (&r->kinds[it->kind], it->lat_us);
            if (it->lat_us > r->sec_max_us[sec])
                r->sec_max_us[sec] = it->lat_us;
            if (prune->ran && it->sent_us >= prune->start_us && it->sent_us <= prune_to)
                s_set_add (&r->during_prune, it->lat_us);
            else if (prune->ran && it->sent_us > prune_to && it->sent_us <= prune_to + 60000000)
                s_set_add (&r->after_prune, it->lat_us);
        }
    }
    r->worst_win = -1;
    for (int w = 0; w < r->nwin; w++) {
        s_window_t *win = &r->win[w];
        win->items = wins[w].items;
        win->slow = wins[w].slow;
        s_set_close (&wins[w]);
        win->p50 = wins[w].p50;
        win->p99 = wins[w].p99;
        win->max = wins[w].max;
        if (r->worst_win < 0 || win->p99 > r->worst_p99) {
            r->worst_p99 = win->p99;
            r->worst_win = w;
        }
        double end = (w + 1) * S_WINDOW_S < r->dur ? (w + 1) * S_WINDOW_S : r->dur;
        s_window_machine (win, s_sample_at (samples, nsamples, w * S_WINDOW_S),
                          s_sample_at (samples, nsamples, end));
    }
    free (wins);
    s_set_close (&r->all);
    for (int k = 0; k < S_KINDS; k++)
        s_set_close (&r->kinds[k]);
    s_set_close (&r->during_prune);
    s_set_close (&r->after_prune);
    //  Slow seconds, their phase in a 10-second cycle (intake's sweep runs
    //  every 10 s), and those next to a PostgreSQL ERROR.
    bool *near = calloc ((size_t) r->nsec, sizeof (bool));
    for (int64_t i = 0; i < errors->at_count; i++) {
        if (errors->at_ms[i] < 0)
            continue;
        int64_t sec = (errors->at_ms[i] - measure_wall_ms) / 1000;
        for (int64_t s = sec - 1; s <= sec + 1; s++)
            if (s >= 0 && s < r->nsec)
                near[s] = true;
    }
    for (int s = 0; s < r->nsec; s++) {
        if (r->sec_max_us[s] <= S_SLOW_US)
            continue;
        r->slow_seconds++;
        r->slow_by_phase[s % 10]++;
        if (near[s])
            r->slow_near_error++;
    }
    free (near);
    s_window_t total;
    memset (&total, 0, sizeof total);
    if (nsamples > 1)
        s_window_machine (&total, &samples[0], &samples[nsamples - 1]);
    r->cpu_pressure = total.cpu_pressure;
    r->io_pressure = total.io_pressure;
    r->other_cores = total.other_cores;
}

int
main (int argc, char **argv)
{
    s_opts_t opts;
    int rc = s_parse (&opts, argc, argv);
    if (rc)
        return rc == 1 ? 0 : 2;
    zsys_handler_set (NULL); //  Ctrl-C ends the benchmark (and, with it, the services)
    bench_thread_name ("bench-main");
    kf_log_init ("bench");
    kf_log_set_level (KF_LOG_WARN);

    bench_pg_info_t pg;
    if (bench_pg_info (opts.db, &pg))
        return 1;
    if (strcmp (pg.fsync, "on") || strcmp (pg.synchronous_commit, "on")) {
        fprintf (stderr, "bench_stack: fsync=%s synchronous_commit=%s: both must be on\n", pg.fsync,
                 pg.synchronous_commit);
        return 1;
    }
    if (bench_pg_count (opts.db, "SELECT (SELECT count(*) FROM shops) + "
                                 "(SELECT count(*) FROM events)") != 0) {
        fprintf (stderr, "bench_stack: the database must be freshly migrated and empty "
                         "(bench/run stack makes one)\n");
        return 1;
    }
    double load[3] = {0, 0, 0};
    if (getloadavg (load, 3) < 0)
        load[0] = -1;
    time_t now = time (NULL);
    char date[64], tag[32];
    strftime (date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime (&now));
    strftime (tag, sizeof tag, "%Y%m%dT%H%M%SZ", gmtime (&now));
    struct utsname uts;
    uname (&uts);
    long cores = sysconf (_SC_NPROCESSORS_ONLN);

    //  1. The event log's history: yesterday's events, every consumer past them.
    char history[64] = "";
    double history_s = 0;
    if (opts.prune_events > 0) {
        const char *consumers[S_SERVICES_MAX + 1];
        int n = 0;
        for (int i = 0; i < S_SERVICES; i++)
            if (s_services[i].consumer)
                consumers[n++] = s_services[i].consumer;
        consumers[n] = NULL;
        bench_pg_history_t h = {opts.prune_events, "intake", consumers};
        fprintf (stderr, "bench_stack: storing %" PRId64 " events of yesterday ...\n",
                 opts.prune_events);
        int64_t t0 = bench_now_us ();
        if (bench_pg_event_history (opts.db, &h, history, sizeof history))
            return 1;
        history_s = (double) (bench_now_us () - t0) / 1e6;
    }

    double idle_busy = -1;
    if (opts.wait_quiet > 0)
        idle_busy = bench_wait_quiet ("bench_stack", opts.wait_quiet);
    double speed_start_ms = bench_cpu_speed_check_ms ();

    //  2. The machine's raw limits, before anything of kefu runs.
    bench_zmq_result_t raw_zmq = {0};
    bench_pg_raw_result_t raw_pg = {0};
    bench_floor_result_t floor_r = {0};
    bool have_raw = false;
    if (opts.run_raw) {
        char shop[32];
        s_shop_id (shop, sizeof shop, 0);
        bench_corpus_sizes_t sizes;
        bench_corpus_sizes (shop, opts.gateways, opts.customers, &sizes);
        fprintf (stderr,
                 "bench_stack: raw limits: ZeroMQ round trips, durable commits, "
                 "the floor at %d items/s ...\n",
                 opts.rate);
        bench_zmq_opts_t zo = {1, 1, 2000, (size_t) (sizes.frame_bytes + 0.5),
                               (size_t) (sizes.ack_bytes + 0.5)};
        bench_pg_raw_opts_t po = {shop, 1, 1000, 0, 1, 1000, 0};
        bench_floor_opts_t fo = {opts.rate, 1.0, 10.0, 1.0};
        have_raw = bench_zmq_run (&zo, &raw_zmq) == 0 &&
                   bench_pg_raw (opts.db, &po, &raw_pg) == 0 &&
                   bench_floor_run (opts.db, &fo, &floor_r) == 0;
        if (!have_raw)
            return 1;
    }

    //  3. Shops, groups, shifts, agents: kefuctl, as an operator.
    fprintf (stderr, "bench_stack: kefuctl: %d shops x %d agents ...\n", opts.shops, opts.agents);
    int64_t t0 = bench_now_us ();
    if (s_setup (&opts))
        return 1;
    double setup_s = (double) (bench_now_us () - t0) / 1e6;

    //  4. The services, as daemons.
    s_env_t env;
    s_environment (&env, &opts);
    int64_t pg_log_from = s_file_size (opts.pg_log);
    bench_service_t *services[S_SERVICES_MAX] = {NULL};
    char logs[S_SERVICES_MAX][1024];
    bool valid = true;
    for (int i = 0; i < S_SERVICES && valid; i++) {
        char bin[1024];
        bench_service_bin (bin, sizeof bin, s_services[i].bin);
        logs[i][0] = '\0';
        if (opts.log_dir)
            snprintf (logs[i], sizeof logs[i], "%s/stack-%s-%s.log", opts.log_dir, tag,
                      s_services[i].name);
        fprintf (stderr, "bench_stack: starting %s ...\n", s_services[i].name);
        services[i] = bench_service_spawn (s_services[i].name, bin, env.list,
                                           s_env_get (&env, s_services[i].control_var),
                                           logs[i][0] ? logs[i] : NULL);
        valid = services[i] != NULL;
    }
    if (!valid) {
        for (int i = S_SERVICES - 1; i >= 0; i--)
            bench_service_stop (&services[i], 10, NULL);
        return 1;
    }

    //  5. The gateways: welcomed, every agent online, then the load.
    s_run_t *run = calloc (1, sizeof *run);
    run->opts = &opts;
    run->endpoint = env.gateway_endpoint;
    run->online = calloc ((size_t) (opts.shops * opts.agents), sizeof (atomic_uchar));
    run->slots = (int64_t) llround ((opts.warmup + opts.minutes * 60) * opts.rate / opts.gateways);
    char run_tag[12];
    snprintf (run_tag, sizeof run_tag, "%lx", (unsigned long) (now & 0xffffff));
    pthread_barrier_init (&run->ready, NULL, (unsigned) opts.gateways + 1);
    pthread_barrier_init (&run->go, NULL, (unsigned) opts.gateways + 1);
    pthread_t threads[S_GATEWAYS_MAX];
    for (int g = 0; g < opts.gateways; g++) {
        s_gateway_t *gw = &run->gws[g];
        gw->index = g;
        gw->id = s_gateway_ids[g];
        gw->channel = s_channels[g];
        gw->run = run;
        snprintf (gw->prefix, sizeof gw->prefix, "%sg%d", run_tag, g);
        gw->per_gateway = opts.customers / opts.gateways;
        gw->customers = calloc ((size_t) gw->per_gateway, sizeof (s_customer_t));
        for (int k = 0; k < gw->per_gateway; k++)
            gw->customers[k] = (s_customer_t){-1, S_IDLE, 0, false, false, false, false, 0};
        gw->cap = run->slots + opts.shops * opts.agents + 16;
        gw->items = calloc ((size_t) gw->cap, sizeof (s_item_t));
        gw->rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t) (g + 1) * 0x100000001b3ULL);
        pthread_create (&threads[g], NULL, s_gateway_main, gw);
    }
    pthread_barrier_wait (&run->ready);
    for (int g = 0; g < opts.gateways; g++)
        if (run->gws[g].failed) {
            fprintf (stderr, "bench_stack: gateway %s was not welcomed by intake\n",
                     run->gws[g].id);
            valid = false;
        }
    //  Routing applies the agents' presence before any customer comes.
    for (int i = 0; i < S_SERVICES && valid; i++) {
        if (!s_services[i].consumer)
            continue;
        int64_t deadline = bench_now_us () + 30000000;
        while (s_lag (opts.db, s_services[i].consumer) != 0 && bench_now_us () < deadline)
            zclock_sleep (100);
        if (s_lag (opts.db, s_services[i].consumer) != 0) {
            fprintf (stderr, "bench_stack: %s did not apply the agents' presence\n",
                     s_services[i].name);
            valid = false;
        }
    }
    if (!valid)
        atomic_store (&run->stop, true);
    int64_t start_us = bench_now_us () + 200000;
    int64_t measure_us = start_us + (int64_t) (opts.warmup * 1e6);
    int64_t end_us = measure_us + (int64_t) (opts.minutes * 60e6);
    run->start_us = start_us;
    fprintf (stderr,
             "bench_stack: %d items/s through %d gateways: %.0f s warm-up, %.1f measured "
             "minutes ...\n",
             opts.rate, opts.gateways, opts.warmup, opts.minutes);
    pthread_barrier_wait (&run->go);

    //  6. While it runs: ANALYZE half-way through the warm-up (what
    //  autovacuum does as young tables grow), then samples, table sizes
    //  every minute, and the prune.
    if (valid && opts.warmup > 0) {
        bench_sleep_until_us (start_us + (int64_t) (opts.warmup * 0.5e6));
        bench_pg_analyze (opts.db);
    }
    int max_samples = (int) (opts.minutes * 60 / opts.sample_every) + 3;
    s_sample_t *samples = calloc ((size_t) max_samples, sizeof *samples);
    int nsamples = 0;
    int max_sizes = (int) ceil (opts.minutes) + 2;
    s_sizes_t *sizes = calloc ((size_t) max_sizes, sizeof *sizes);
    int nsizes = 0;
    kf_store_t *sampler = bench_pg_connect (opts.db, "bench-sampler", NULL);
    if (!sampler)
        valid = false;
    s_prune_t prune;
    memset (&prune, 0, sizeof prune);
    prune.opts = &opts;
    prune.partition = history;
    pthread_t prune_thread;
    bool prune_started = false;
    int64_t prune_us = opts.prune_events > 0
                           ? measure_us + (int64_t) (opts.prune_at * opts.minutes * 60e6)
                           : INT64_MAX;
    int64_t next_sample = measure_us, next_sizes = measure_us;
    int64_t measure_wall_ms = 0;
    while (valid && sampler && (next_sample < INT64_MAX || next_sizes < INT64_MAX)) {
        int64_t next = next_sample < next_sizes ? next_sample : next_sizes;
        if (!prune_started && prune_us < next)
            next = prune_us;
        bench_sleep_until_us (next);
        if (measure_wall_ms == 0) {
            struct timespec ts;
            clock_gettime (CLOCK_REALTIME, &ts);
            measure_wall_ms = (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000 -
                              (bench_now_us () - measure_us) / 1000;
        }
        double t = (double) (bench_now_us () - measure_us) / 1e6;
        if (!prune_started && next >= prune_us) {
            fprintf (stderr, "bench_stack: kefuctl events prune --keep 1m ...\n");
            pthread_create (&prune_thread, NULL, s_prune_main, &prune);
            prune_started = true;
        }
        if (next == next_sample && nsamples < max_samples) {
            s_sample (&samples[nsamples++], t, services, pg.postmaster_pid);
            next_sample = next_sample >= end_us ? INT64_MAX
                          : next_sample + (int64_t) (opts.sample_every * 1e6) > end_us
                              ? end_us
                              : next_sample + (int64_t) (opts.sample_every * 1e6);
        }
        if (next == next_sizes && nsizes < max_sizes) {
            sizes[nsizes].t = t;
            sizes[nsizes].count = bench_pg_sizes (sampler, history[0] ? history : NULL,
                                                  sizes[nsizes].tables, S_TABLES_MAX);
            if (sizes[nsizes].count < 0)
                sizes[nsizes].count = 0;
            nsizes++;
            next_sizes = next_sizes >= end_us             ? INT64_MAX
                         : next_sizes + 60000000 > end_us ? end_us
                                                          : next_sizes + 60000000;
        }
    }
    kf_store_destroy (&sampler);
    if (prune_started)
        pthread_join (prune_thread, NULL);

    //  7. The end: every ack back, then quiet (events applied, commands acked).
    fprintf (stderr, "bench_stack: waiting for the stack to settle ...\n");
    while (atomic_load (&run->done) < opts.gateways && bench_now_us () < end_us + 150000000)
        zclock_sleep (50);
    double quiet_s = -1;
    int calm = 0;
    int64_t quiet_deadline = bench_now_us () + S_QUIET_MAX_S * 1000000LL;
    while (valid && bench_now_us () < quiet_deadline) {
        int64_t busy = s_busy (&opts, services);
        calm = busy == 0 ? calm + 1 : 0;
        if (calm == 2) {
            quiet_s = (double) (bench_now_us () - end_us) / 1e6;
            break;
        }
        zclock_sleep (250);
    }
    Kefu__V1__ControlReply *status[S_SERVICES_MAX] = {NULL};
    for (int i = 0; i < S_SERVICES; i++) {
        status[i] = bench_service_status (services[i], 5000);
        //  A service that died under the load makes the figures meaningless.
        if (services[i] && kill (bench_service_pid (services[i]), 0) != 0) {
            fprintf (stderr, "bench_stack: kefu-%s died during the run (its log: %s)\n",
                     s_services[i].name, logs[i][0] ? logs[i] : "stderr");
            valid = false;
        }
    }
    atomic_store (&run->stop, true);
    for (int g = 0; g < opts.gateways; g++)
        pthread_join (threads[g], NULL);
    int exit_code[S_SERVICES_MAX];
    double stop_s[S_SERVICES_MAX];
    for (int i = S_SERVICES - 1; i >= 0; i--)
        exit_code[i] = bench_service_stop (&services[i], 30, &stop_s[i]);
    double speed_end_ms = bench_cpu_speed_check_ms ();

    //  8. The record: stored exactly once, nobody over capacity, the logs.
    fprintf (stderr, "bench_stack: checking the record ...\n");
    bench_pg_check_result_t stored;
    memset (&stored, 0, sizeof stored);
    bool have_check = valid && s_check_stored (&opts, run, &stored) == 0;
    int64_t over_capacity = bench_pg_count (opts.db, BENCH_PG_OVER_CAPACITY);
    s_pg_errors_t errors;
    s_read_pg_log (opts.pg_log, pg_log_from, &errors);
    s_svc_log_t svc_logs[S_SERVICES_MAX];
    for (int i = 0; i < S_SERVICES; i++)
        s_read_svc_log (logs[i], &svc_logs[i]);
    s_results_t r;
    s_analyse (&opts, run, measure_us, measure_wall_ms, &prune, samples, nsamples, &errors, &r);
    s_log_latencies (&opts, run, measure_us);

    //  Report
    const s_opts_t *o = &opts;
    int64_t kinds[S_KINDS] = {0}, visits = 0, gave_up = 0, put_off = 0, full = 0, late = 0;
    int64_t assigns[10] = {0}, busy_replies = 0, after_hours = 0, other_cmds = 0, foreign = 0,
            resent = 0, retry_later = 0;
    double max_late_ms = 0;
    char reject_reason[160] = "";
    for (int g = 0; g < o->gateways; g++) {
        const s_gateway_t *gw = &run->gws[g];
        for (int k = 0; k < S_KINDS; k++)
            kinds[k] += gw->kinds[k];
        for (int k = 0; k < 10; k++)
            assigns[k] += gw->assigns[k];
        visits += gw->visits;
        gave_up += gw->gave_up;
        put_off += gw->put_off;
        full += gw->window_full;
        late += gw->late_sends;
        busy_replies += gw->busy_replies;
        after_hours += gw->after_hours;
        other_cmds += gw->other_commands;
        foreign += gw->foreign_commands;
        resent += (int64_t) gw->stats.resent;
        retry_later += (int64_t) gw->stats.retry_later;
        if ((double) gw->max_late_us / 1000.0 > max_late_ms)
            max_late_ms = (double) gw->max_late_us / 1000.0;
        if (!reject_reason[0] && gw->reject_reason[0])
            snprintf (reject_reason, sizeof reject_reason, "%s", gw->reject_reason);
    }
    printf ("\nkefu bench stack  %s  %s %s, %ld cores, load average %.2f at start\n", date,
            uts.nodename, uts.machine, cores, load[0]);
    if (idle_busy >= 0)
        printf ("machine %.0f%% busy just before the run (--wait-quiet)\n", 100 * idle_busy);
    printf ("PostgreSQL %s: fsync=%s synchronous_commit=%s full_page_writes=%s "
            "wal_sync_method=%s\n",
            pg.server_version, pg.fsync, pg.synchronous_commit, pg.full_page_writes,
            pg.wal_sync_method);
    printf ("the stack:");
    for (int i = 0; i < S_SERVICES; i++)
        printf (" kefu-%s", s_services[i].name);
    printf (" as daemons (the Release binaries), KEFU_INSECURE=1, KEFU_INTAKE_QUIET_PERIOD=%s, "
            "KEFU_LOG_LEVEL=%s%s%s\n",
            o->quiet_period, s_env_get (&env, "KEFU_LOG_LEVEL"), o->log_dir ? ", logs in " : "",
            o->log_dir ? o->log_dir : "");
    printf ("traffic: %d gateways (", o->gateways);
    for (int g = 0; g < o->gateways; g++)
        printf ("%s%s", g ? ", " : "", s_gateway_ids[g]);
    printf (") x window %d, %d items/s: %.0f s warm-up, then %.1f minutes measured; %d shops x "
            "%d agents (%d pre-sales, capacity %d, one all-day shift); %d buyers rotating; "
            "%.0f%% of conversations closed on the platform, the others by intake's sweep; "
            "%.0f%% rated; %.0f%% of visits end in an order, %.0f%% of orders reviewed badly; an "
            "agent offline every %.0f s for %.0f s\n",
            o->window, o->rate, o->warmup, o->minutes, o->shops, o->agents, s_presales (o),
            o->capacity, o->customers, 100 * o->close_share, 100 * o->rating_share,
            100 * o->order_share, 100 * o->review_share, o->offline_every, o->offline_for);
    printf ("set-up: ");
    if (history[0])
        printf ("%" PRId64 " events of yesterday stored in %s (%.0f s, frozen and analyzed); ",
                (o->prune_events + 15) / 16 * 16, history, history_s);
    printf ("kefuctl set-up %.1f s\n", setup_s);
    printf ("\nitems sent: %" PRId64 " customer lines, %" PRId64 " agent replies, %" PRId64
            " ratings, %" PRId64 " closes, %" PRId64 " presence, %" PRId64 " orders, %" PRId64
            " reviews; %" PRId64 " visits (%" PRId64
            " replies put off for want of an owner online, %" PRId64
            " customers gave up after %.0f s without one)\n",
            kinds[S_K_CUSTOMER], kinds[S_K_REPLY], kinds[S_K_RATING], kinds[S_K_CLOSE],
            kinds[S_K_PRESENCE], kinds[S_K_ORDER], kinds[S_K_REVIEW], visits, put_off, gave_up,
            S_REPLY_WAITS * o->reply_after);
    printf ("commands received and acked: assign new %" PRId64 ", sticky %" PRId64
            ", from the queue %" PRId64 ", overflow %" PRId64 ", response time %" PRId64
            ", handover %" PRId64 ", transfer %" PRId64 ", pickup %" PRId64
            "; busy replies %" PRId64 ", after-hours %" PRId64 ", other %" PRId64 "%s\n",
            assigns[1], assigns[2], assigns[3], assigns[4], assigns[5], assigns[6], assigns[7],
            assigns[8], busy_replies, after_hours, other_cmds,
            foreign ? " (SOME FOR CUSTOMERS OF ANOTHER GATEWAY)" : "");
    printf ("pacing: %" PRId64 " sends more than 2 ms late (worst %.1f ms), window full %" PRId64
            " times; the library resent %" PRId64 " items, got %" PRId64 " RETRY_LATER\n",
            late, max_late_ms, full, resent, retry_later);

    printf ("\nack latency (kefu_gateway_send to the final ack) per 1-minute window, by send "
            "time\n");
    printf ("  %-6s %8s %7s %7s %8s %6s | %6s %6s %6s %6s %6s", "window", "items", "p50 ms",
            "p99 ms", "max ms", ">50ms", "CPU-PSI", "IO-PSI", "other", "bench", "pg");
    for (int i = 0; i < S_SERVICES; i++)
        printf (" %7s", s_services[i].name);
    printf ("\n");
    for (int w = 0; w < r.nwin; w++) {
        const s_window_t *win = &r.win[w];
        char label[16];
        snprintf (label, sizeof label, "%d%s", w + 1, w == r.worst_win ? "*" : "");
        printf ("  %-6s %8" PRId64 " %7.2f %7.2f %8.1f %6" PRId64
                " | %6.2f %6.2f %6.2f %6.2f %6.2f",
                label, win->items, win->p50, win->p99, win->max, win->slow, win->cpu_pressure,
                win->io_pressure, win->other_cores, win->bench_cores, win->pg_cores);
        for (int i = 0; i < S_SERVICES; i++)
            printf (" %7.2f", win->svc_cores[i]);
        printf ("\n");
    }
    printf ("  %-6s %8" PRId64 " %7.2f %7.2f %8.1f %6" PRId64 " | %6.2f %6.2f %6.2f\n", "all",
            r.all.items, r.all.p50, r.all.p99, r.all.max, r.all.slow, r.cpu_pressure, r.io_pressure,
            r.other_cores);
    printf ("  (* the worst p99; CPU-PSI / IO-PSI: share of the window in which some task waited "
            "for a CPU / for I/O, /proc/pressure; other: cores used by processes outside the "
            "benchmark, the stack and PostgreSQL; bench (its gateways), pg and services: cores "
            "used)\n");
    printf ("  by kind:");
    for (int k = 1; k < S_KINDS; k++)
        if (r.kinds[k].items)
            printf ("%s %s p50 %.2f / p99 %.2f / max %.1f ms", k > 1 ? ";" : "", s_kind_names[k],
                    r.kinds[k].p50, r.kinds[k].p99, r.kinds[k].max);
    printf ("\n");
    printf ("  slow seconds (an ack over %d ms among the items sent in it): %" PRId64 " of %d; "
            "by second mod 10:",
            S_SLOW_US / 1000, r.slow_seconds, r.nsec);
    for (int i = 0; i < 10; i++)
        printf (" %" PRId64, r.slow_by_phase[i]);
    printf ("; within a second of a PostgreSQL ERROR: %" PRId64 "\n", r.slow_near_error);

    if (prune.ran) {
        printf ("\nprune at minute %.1f: kefuctl events prune --keep 1m, exit %d, %.3f s (process "
                "start and connection included)\n",
                o->prune_at * o->minutes, prune.code,
                (double) (prune.end_us - prune.start_us) / 1e6);
        printf ("  kefuctl events partitions before it (%.3f s: what a kefuctl run that does "
                "little takes now):\n",
                prune.list_s);
        s_print_lines (prune.before);
        printf ("  kefuctl events prune --keep 1m:\n");
        s_print_lines (prune.output);
        printf ("  kefuctl events partitions a second after it:\n");
        s_print_lines (prune.after);
        printf ("  %s: %.1f MB before; %s after. The events table: %.1f MB -> %.1f MB\n", history,
                s_mb (prune.history_bytes), prune.history_left ? "STILL THERE" : "gone",
                s_mb (prune.events_before), s_mb (prune.events_after));
        printf (
            "  acks of the items sent from its start to 1 s after its end: %" PRId64
            " items, p50 %.2f, p99 %.2f, max %.1f ms; the minute after: p99 %.2f, max %.1f ms\n",
            r.during_prune.items, r.during_prune.p50, r.during_prune.p99, r.during_prune.max,
            r.after_prune.p99, r.after_prune.max);
    }

    double fit_from = r.dur / 2 < 300 ? r.dur / 2 : 300;
    double rss_growth[S_SERVICES_MAX], rss_start[S_SERVICES_MAX], rss_end[S_SERVICES_MAX],
        fds_start[S_SERVICES_MAX], fds_end[S_SERVICES_MAX];
    const s_sample_t *first = nsamples ? &samples[0] : NULL;
    const s_sample_t *last = nsamples ? &samples[nsamples - 1] : NULL;
    printf ("\nservices: resident memory and open file descriptors at the measured start and end "
            "(sampled every %.0f s);\n  growth: least-squares slope of RSS over the samples from "
            "second %.0f on\n",
            o->sample_every, fit_from);
    for (int i = 0; i < S_SERVICES; i++) {
        rss_growth[i] = s_rss_slope (samples, nsamples, i, fit_from);
        rss_start[i] = first ? (double) first->rss_kb[i] / 1024.0 : NAN;
        rss_end[i] = last ? (double) last->rss_kb[i] / 1024.0 : NAN;
        fds_start[i] = first ? first->fds[i] : NAN;
        fds_end[i] = last ? last->fds[i] : NAN;
        double cores_used =
            first && last && last->t > first->t
                ? (last->cpu_s[i] - first->cpu_s[i]) / (last->cpu.wall - first->cpu.wall)
                : 0;
        printf ("  %-8s RSS %6.1f -> %6.1f MB (%+.2f MB/hour), fds %3.0f -> %3.0f, CPU %.2f cores; "
                "SIGTERM: exit %d in %.1f s; log: %" PRId64 " lines, %" PRId64 " warn, %" PRId64
                " error\n",
                s_services[i].name, rss_start[i], rss_end[i], rss_growth[i], fds_start[i],
                fds_end[i], cores_used, exit_code[i], stop_s[i], svc_logs[i].lines,
                svc_logs[i].warn, svc_logs[i].error);
        for (int e = 0; e < svc_logs[i].nevents; e++)
            printf ("%s%s x%" PRId64 "%s", e ? ", " : "           ", svc_logs[i].events[e],
                    svc_logs[i].counts[e], e + 1 == svc_logs[i].nevents ? "\n" : "");
    }

    //  Database growth: every table, minute by minute.
    double db_mb_per_hour = NAN;
    if (nsizes > 1) {
        const s_sizes_t *a = &sizes[0], *b = &sizes[nsizes - 1];
        int64_t total_a = 0, total_b = 0;
        for (int i = 0; i < a->count; i++)
            total_a += a->tables[i].bytes;
        for (int i = 0; i < b->count; i++)
            total_b += b->tables[i].bytes;
        double span = b->t - a->t;
        db_mb_per_hour = span > 0 ? s_mb (total_b - total_a) / span * 3600 : NAN;
        printf ("\ndatabase growth by table (MB; pg_total_relation_size every minute, partitions "
                "counted in their table, yesterday's partition left out)\n");
        printf ("  %-22s %8s %8s %8s |", "table", "start", "end", "MB/hour");
        for (int m = 1; m < nsizes; m++)
            printf (" %5s%d", "m", m);
        printf ("\n");
        for (int i = 0; i < b->count; i++) {
            const char *name = b->tables[i].name;
            int64_t start = s_table_bytes (a, name), end = b->tables[i].bytes;
            if (end == start && end < 1024 * 1024)
                continue;
            printf ("  %-22s %8.1f %8.1f %8.1f |", name, s_mb (start), s_mb (end),
                    span > 0 ? s_mb (end - start) / span * 3600 : 0);
            for (int m = 1; m < nsizes; m++)
                printf (" %6.2f", s_mb (s_table_bytes (&sizes[m], name) -
                                        s_table_bytes (&sizes[m - 1], name)));
            printf ("\n");
        }
        printf ("  %-22s %8.1f %8.1f %8.1f |", "all tables", s_mb (total_a), s_mb (total_b),
                db_mb_per_hour);
        for (int m = 1; m < nsizes; m++) {
            int64_t x = 0, y = 0;
            for (int i = 0; i < sizes[m - 1].count; i++)
                x += sizes[m - 1].tables[i].bytes;
            for (int i = 0; i < sizes[m].count; i++)
                y += sizes[m].tables[i].bytes;
            printf (" %6.2f", s_mb (y - x));
        }
        printf ("\n");
    }

    printf ("\nPostgreSQL log (%s): %" PRId64 " ERROR lines, %" PRId64 " FATAL from the services' "
            "start to their stop\n",
            o->pg_log ? o->pg_log : "not given: --pg-log", errors.errors, errors.fatals);
    for (int i = 0; i < errors.errors && i < S_SHOW_ERRORS; i++)
        printf ("  | %s\n", errors.first[i]);

    printf ("\ncounters at the end (non-zero):\n");
    for (int i = 0; i < S_SERVICES; i++) {
        printf ("  %s:", s_services[i].name);
        int col = 4 + (int) strlen (s_services[i].name);
        if (status[i] && status[i]->status)
            for (size_t c = 0; c < status[i]->status->n_counters; c++) {
                const Kefu__V1__Counter *counter = status[i]->status->counters[c];
                if (!counter->value)
                    continue;
                char item[96];
                int n = snprintf (item, sizeof item, " %s=%" PRId64, counter->name, counter->value);
                if (col + n > 100) {
                    printf ("\n   ");
                    col = 3;
                }
                printf ("%s", item);
                col += n;
            }
        else
            printf (" (did not answer)");
        printf ("\n");
        if (status[i])
            kefu__v1__control_reply__free_unpacked (status[i], NULL);
    }

    int64_t lost = stored.missing + stored.other_id;
    int64_t duplicated = stored.repeated + stored.unsent;
    printf ("\nrecord: %" PRId64 " items sent, %" PRId64 " acked (%" PRId64 " DUPLICATE, %" PRId64
            " REJECTED%s%s), %" PRId64 " never acked, %" PRId64 " stray acks\n",
            r.sent, r.acked, r.duplicate, r.rejected, reject_reason[0] ? ": " : "", reject_reason,
            r.unacked, r.stray);
    if (have_check)
        printf ("  stored exactly once: lost %" PRId64 " (acked, no row: %" PRId64
                "; a row with another id than the ack: %" PRId64 "), duplicated %" PRId64
                " (rows beyond one per item: %" PRId64 "; rows of items never sent: %" PRId64
                "); stored, never acked: %" PRId64 "\n",
                lost, stored.missing, stored.other_id, duplicated, stored.repeated, stored.unsent,
                stored.stored_unacked);
    else
        printf ("  stored exactly once: NOT CHECKED\n");
    char quiet_text[64];
    if (quiet_s >= 0)
        snprintf (quiet_text, sizeof quiet_text, "quiet %.1f s after the load", quiet_s);
    else
        snprintf (quiet_text, sizeof quiet_text, "NOT QUIET %d s after the load", S_QUIET_MAX_S);
    printf ("  agents over capacity: %s (worst %" PRId64 "); %s (every event applied, every "
            "command acked)\n",
            over_capacity > 0 ? "SOME" : "none", over_capacity, quiet_text);

    if (have_raw)
        printf ("\nmachine (same run, before the services started): ZeroMQ round trip p50 %.3f / "
                "p99 %.3f ms; durable single-row commit p50 %.3f / p99 %.3f ms; the floor at "
                "%d items/s for 10 s (commit, publish, commit, send): p50 %.2f / p99 %.2f / max "
                "%.1f ms, %" PRId64 " commits over 2 ms\n",
                raw_zmq.p50_ms, raw_zmq.p99_ms, raw_pg.commit_p50_ms, raw_pg.commit_p99_ms, o->rate,
                floor_r.p50_ms, floor_r.p99_ms, floor_r.max_ms, floor_r.slow_commits);
    printf ("CPU speed check (fixed integer work on one core): %.1f ms before, %.1f ms after; CPU "
            "pressure over the measured minutes %.2f, I/O %.2f, other processes %.2f cores\n",
            speed_start_ms, speed_end_ms, r.cpu_pressure, r.io_pressure, r.other_cores);

    //  Targets (issue 22), each beside the machine's own limit.
    double prune_s = prune.ran ? (double) (prune.end_us - prune.start_us) / 1e6 : NAN;
    bool rss_ok = true;
    for (int i = 0; i < S_SERVICES; i++)
        rss_ok = rss_ok && !isnan (rss_growth[i]) && rss_growth[i] <= 1.0;
    bool met[8] = {r.worst_p99 <= 5.0,
                   r.all.max <= 50.0,
                   r.slow_seconds <= 5,
                   errors.errors == 0 && o->pg_log,
                   prune.ran && prune.code == 0 && !prune.history_left && prune_s <= 1.0,
                   prune.ran && r.during_prune.items > 0 && r.during_prune.p99 <= 5.0,
                   rss_ok,
                   have_check && lost == 0 && duplicated == 0 && r.unacked == 0};
    bool all_met = true;
    for (int i = 0; i < 8; i++)
        all_met = all_met && met[i];
    char fig[8][96], mach[8][128];
    memset (mach, 0, sizeof mach);
    snprintf (fig[0], sizeof fig[0], "%.2f ms (worst: window %d)", r.worst_p99, r.worst_win + 1);
    snprintf (fig[1], sizeof fig[1], "%.1f ms", r.all.max);
    snprintf (fig[2], sizeof fig[2], "%" PRId64 " of %d", r.slow_seconds, r.nsec);
    snprintf (fig[3], sizeof fig[3], "%" PRId64 "%s", errors.errors,
              o->pg_log ? "" : " (no --pg-log: not counted)");
    snprintf (fig[4], sizeof fig[4], "%.3f s%s", prune_s,
              !prune.ran           ? ""
              : prune.code         ? " (kefuctl FAILED)"
              : prune.history_left ? " (NOT DROPPED)"
                                   : "");
    snprintf (fig[5], sizeof fig[5], "%.2f ms (%" PRId64 " items)", r.during_prune.p99,
              r.during_prune.items);
    size_t n = 0;
    for (int i = 0; i < S_SERVICES; i++)
        n += (size_t) snprintf (fig[6] + n, sizeof fig[6] - n, "%s%s %+.2f", i ? ", " : "",
                                s_services[i].name, rss_growth[i]);
    snprintf (fig[7], sizeof fig[7], "%" PRId64 " lost, %" PRId64 " duplicated", lost, duplicated);
    if (have_raw) {
        snprintf (mach[0], sizeof mach[0],
                  "floor p99 %.2f ms; commit p99 %.2f ms; ZeroMQ round trip p99 %.2f ms",
                  floor_r.p99_ms, raw_pg.commit_p99_ms, raw_zmq.p99_ms);
        snprintf (mach[1], sizeof mach[1], "floor max %.1f ms", floor_r.max_ms);
        snprintf (mach[2], sizeof mach[2], "floor: %" PRId64 " commits over 2 ms in 10 s",
                  floor_r.slow_commits);
    }
    if (prune.ran)
        snprintf (mach[4], sizeof mach[4], "a kefuctl run doing little: %.3f s", prune.list_s);
    char prune_label[64];
    snprintf (prune_label, sizeof prune_label, "prune of %" PRId64 " events <= 1 s",
              (o->prune_events + 15) / 16 * 16);
    const char *const targets[8] = {"ack p99 <= 5 ms in every 1-minute window",
                                    "ack max <= 50 ms",
                                    "seconds with an ack over 50 ms <= 5",
                                    "PostgreSQL ERROR lines = 0",
                                    prune_label,
                                    "ack p99 during the prune <= 5 ms",
                                    "RSS growth <= 1 MB/hour after minute 5",
                                    "0 lost, 0 duplicated"};
    printf ("\ntargets (issue 22: 1,000 items/s for 10 minutes, the median of 3 runs)\n");
    printf ("  %-41s %-28s %-6s %s\n", "target", "this run", "", "the machine (same run)");
    for (int i = 0; i < 8; i++)
        printf ("  %-41s %-28s %-6s %s\n", targets[i], fig[i], bench_met (met[i]), mach[i]);
    if (o->minutes < 10 || o->rate != 1000)
        printf ("  (this run: %d items/s for %.1f minutes; the targets are for 1,000 items/s for "
                "10 minutes)\n",
                o->rate, o->minutes);
    if (r.other_cores > 0.1 || r.cpu_pressure > 0.2)
        printf ("\nWARNING: CPU pressure %.2f and %.2f cores used by other processes during the "
                "measured minutes: the figures understate this stack (run again when the "
                "machine is idle)\n",
                r.cpu_pressure, r.other_cores);
    if (!valid)
        printf ("\nRUN INVALID: see the messages above\n");

    char p50[32], p99[32], worst[32], maxv[32], prune_json[32], prune_p99[32], prune_max[32],
        baseline[32], db[32], floor_p99[32], floor_max[32], commit_p99[32], rtt_p99[32], quiet[32],
        growth[256], rss_a[256], rss_b[256], fds_a[256], fds_b[256];
    bench_json_num (p50, sizeof p50, r.all.p50, r.all.items > 0);
    bench_json_num (p99, sizeof p99, r.all.p99, r.all.items > 0);
    bench_json_num (worst, sizeof worst, r.worst_p99, r.worst_win >= 0);
    bench_json_num (maxv, sizeof maxv, r.all.max, r.all.items > 0);
    bench_json_num (prune_json, sizeof prune_json, prune_s, prune.ran);
    bench_json_num (prune_p99, sizeof prune_p99, r.during_prune.p99, r.during_prune.items > 0);
    bench_json_num (prune_max, sizeof prune_max, r.during_prune.max, r.during_prune.items > 0);
    bench_json_num (baseline, sizeof baseline, prune.list_s, prune.ran);
    bench_json_num (db, sizeof db, db_mb_per_hour, !isnan (db_mb_per_hour));
    bench_json_num (floor_p99, sizeof floor_p99, floor_r.p99_ms, have_raw);
    bench_json_num (floor_max, sizeof floor_max, floor_r.max_ms, have_raw);
    bench_json_num (commit_p99, sizeof commit_p99, raw_pg.commit_p99_ms, have_raw);
    bench_json_num (rtt_p99, sizeof rtt_p99, raw_zmq.p99_ms, have_raw);
    bench_json_num (quiet, sizeof quiet, quiet_s, quiet_s >= 0);
    s_json_obj (growth, sizeof growth, rss_growth, true);
    s_json_obj (rss_a, sizeof rss_a, rss_start, nsamples > 0);
    s_json_obj (rss_b, sizeof rss_b, rss_end, nsamples > 0);
    s_json_obj (fds_a, sizeof fds_a, fds_start, nsamples > 0);
    s_json_obj (fds_b, sizeof fds_b, fds_end, nsamples > 0);
    printf ("{\"bench\":\"stack\",\"minutes\":%.2f,\"rate\":%d,\"ack_p50_ms\":%s,\"ack_p99_ms\":%s,"
            "\"ack_p99_ms_worst_window\":%s,\"ack_max_ms\":%s,\"slow_seconds\":%" PRId64
            ",\"pg_errors\":%" PRId64 ",\"prune_s\":%s,\"prune_events\":%" PRId64
            ",\"prune_ack_p99_ms\":%s,\"prune_ack_max_ms\":%s,\"prune_baseline_s\":%s,"
            "\"rss_growth_mb_per_hour\":%s,"
            "\"rss_mb_start\":%s,\"rss_mb_end\":%s,\"fds_start\":%s,\"fds_end\":%s,"
            "\"db_mb_per_hour\":%s,\"lost\":%" PRId64 ",\"duplicated\":%" PRId64
            ",\"acked\":%" PRId64 ",\"unacked\":%" PRId64 ",\"rejected\":%" PRId64
            ",\"quiet_s\":%s,\"over_capacity\":%s,\"floor_p99_ms\":%s,\"floor_max_ms\":%s,"
            "\"raw_pg_commit_p99_ms\":%s,\"raw_zmq_rtt_p99_ms\":%s,\"cpu_pressure\":%.3f,"
            "\"io_pressure\":%.3f,\"other_load_cores\":%.2f,\"targets_met\":%s,\"valid\":%s}\n",
            o->minutes, o->rate, p50, p99, worst, maxv, r.slow_seconds, errors.errors, prune_json,
            prune.ran ? (o->prune_events + 15) / 16 * 16 : 0, prune_p99, prune_max, baseline,
            growth, rss_a, rss_b, fds_a, fds_b, db, lost, duplicated, r.acked, r.unacked,
            r.rejected, quiet, over_capacity > 0 ? "true" : "false", floor_p99, floor_max,
            commit_p99, rtt_p99, r.cpu_pressure, r.io_pressure, r.other_cores,
            all_met ? "true" : "false", valid ? "true" : "false");
    fflush (stdout);

    for (int g = 0; g < o->gateways; g++) {
        free (run->gws[g].items);
        free (run->gws[g].customers);
        for (int s = 0; s < S_STEPS; s++)
            free (run->gws[g].steps[s].ring);
        free (run->gws[g].presence.ring);
    }
    pthread_barrier_destroy (&run->ready);
    pthread_barrier_destroy (&run->go);
    free ((void *) run->online);
    free (run);
    free (samples);
    free (sizes);
    free (r.win);
    free (r.sec_max_us);
    free (errors.at_ms);
    return valid ? 0 : 1;
}
