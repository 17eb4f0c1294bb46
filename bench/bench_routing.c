/*  bench_routing — how fast routing decides who serves a new conversation.

    50 shops with 10 agents each (presales and aftersales groups, one shift
    covering the whole day, capacities set up so that most conversations can
    be assigned at once) are routed by the real routing service (in-process
    actor, or the kefu-routing binary) on a private PostgreSQL. The
    benchmark plays intake, routing's only source and sink:

    - it writes intake's events exactly as intake does (kf_outbox, stream
      "intake", one transaction per 1-2 ms worth of events, published on a
      PUB socket after the commit): agent presence, then a stream of
      conversation.opened + message.accepted (the customer's first line),
      the agent's reply and conversation.closed for older conversations, so
      the number of open conversations holds steady;
    - it binds intake's command endpoint (a ROUTER) and answers every
      CommandSubmit with an ACCEPTED CommandSubmitAck, noting when the first
      command for each conversation arrived.

    Decision latency is from the publication of conversation.opened (after
    its commit) to the arrival of the conversation's first command at the
    command endpoint: the assign command, or the busy auto-reply when the
    conversation had to queue. That includes routing's own transaction.
    Phases: (raw) a ZeroMQ round trip and a durable single-row commit alone,
    the least any decision costs; (floor) the fixed phase's traffic with
    nothing decided, two durable commits and two ZeroMQ hops per item
    (bench_floor.h): the tail this machine gives such a pipeline, beside
    routing's; (probe) a trickle of 100 conversations/s:
    the latency of an idle routing; (fixed) 5,000 new conversations/s for
    10 s after a warm-up that reaches the steady state; (saturation) new
    conversations as fast as routing decides them, with a bounded number of
    undecided ones in flight. Then the record is checked: one assignment per
    conversation or a place in the queue, no agent over capacity.

    Prints a table, then one JSON line (the last line). Run it through
    bench/run, which builds, starts a private PostgreSQL and migrates. */
#include "bench_floor.h"
#include "bench_pg.h"
#include "bench_service.h"
#include "bench_stats.h"
#include "bench_zmq.h"

#include "kefu/v1/control.pb-c.h"
#include "kefu/v1/events.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_clock.h"
#include "kf_daemon.h"
#include "kf_log.h"
#include "kf_outbox.h"
#include "kf_store.h"
#include "kf_wire.h"
#include "routing_config.h"
#include "routing_server.h"
#include "routing_store.h"

#include <czmq.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define S_SHOPS_MAX   1000
#define S_AGENTS_MAX  100
#define S_BACK_MAX    8192 //  customers per shop who may come back, at most
#define S_FIRST_NONE  (-1) //  first_kind before any command arrived
#define S_SECONDS_MAX 120  //  seconds of a phase shown one by one

//  ---------------------------------------------------------------------
//  Options

typedef struct {
    const char *db;          //  libpq URL of a migrated, empty database
    int shops;               //  shops
    int agents;              //  agents per shop
    int presales;            //  of which in the presales group
    int capacity;            //  every agent's capacity
    int rate;                //  new conversations/s (fixed load)
    double duration;         //  measured seconds of fixed load
    double warmup;           //  seconds of fixed load before measuring (< 0: lifetime + 2)
    double lifetime;         //  seconds from opening to closing (fixed load)
    double reply_after;      //  seconds from opening to the agent's reply
    double returning;        //  share of conversations from customers served before
    double vip;              //  share of VIP customers
    double aftersales;       //  share of after-sales conversations
    int hot_shops;           //  shops with more traffic than the others (the first ones)
    double hot_factor;       //  their traffic relative to another shop's
    double batch_ms;         //  the intake stand-in commits at most once per this
    int64_t sat_convs;       //  conversations of the saturation phase
    int window;              //  saturation: undecided conversations in flight, at most
    int sat_batch;           //  saturation: new conversations per transaction, at most
    double check_every;      //  seconds between capacity checks during phases (0: end only)
    bool analyze;            //  ANALYZE half-way through the warm-up
    bool process;            //  run the kefu-routing binary instead of the actor
    const char *routing_bin; //  path of kefu-routing (process mode)
    int probe_rate;          //  probe: new conversations/s
    double probe_duration;   //  probe: seconds
    bool run_raw, run_floor, run_probe, run_fixed, run_sat; //  phases
    const char *latency_log; //  file for every conversation's decision latency (or NULL)
    int wait_quiet;          //  seconds to wait for other processes to go quiet first
} s_opts_t;

static void
s_usage (FILE *out)
{
    fprintf (
        out,
        "Usage: bench_routing --db URL [options]\n"
        "\n"
        "Measures routing's decision latency and throughput: the benchmark plays intake\n"
        "(writes intake's events through kf_outbox and publishes them; answers routing's\n"
        "CommandSubmits on a fake command endpoint) for N shops with M agents each. The\n"
        "database must be migrated and empty (bench/run makes a fresh one). The last line\n"
        "printed is one JSON object.\n"
        "\n"
        "  --db URL               database (default: $KEFU_DATABASE_URL)\n"
        "  --shops N              shops (default 50)\n"
        "  --agents N             agents per shop (default 10)\n"
        "  --presales N           of which in the presales group (default 60%% of --agents)\n"
        "  --capacity N           each agent's capacity, 1-100 (default 100)\n"
        "  --rate R               new conversations/s over all shops (default 5000)\n"
        "  --duration S           measured seconds of fixed load (default 10)\n"
        "  --warmup S             seconds of the same load before measuring, to reach the\n"
        "                         steady state (default: lifetime + 2)\n"
        "  --lifetime S           a conversation closes S seconds after it opened (default 6)\n"
        "  --reply-after S        its agent replies S seconds after it opened (default 2)\n"
        "  --returning F          share of conversations from customers served before, who\n"
        "                         go back to their agent (首问责任制) (default 0.2)\n"
        "  --vip F                share of VIP customers (default 0.02)\n"
        "  --aftersales F         share of after-sales conversations (default 0.4)\n"
        "  --hot-shops N          the first N shops are popular ... (default 2)\n"
        "  --hot-factor F         ... with F times another shop's traffic (default 2): with\n"
        "                         the same 10 agents they run out of capacity and queue\n"
        "  --batch-ms MS          intake stand-in: one transaction per MS worth of events\n"
        "                         at most (default 1)\n"
        "  --saturation N         conversations of the saturation phase (default 50000)\n"
        "  --window N             saturation: undecided conversations in flight (default 2000)\n"
        "  --sat-batch N          saturation: new conversations per transaction (default 250)\n"
        "  --check-every S        also check the record for agents over capacity every S\n"
        "                         seconds during the phases (default 0: at the end of each\n"
        "                         phase and of the run; each check is a ~40 ms query)\n"
        "  --no-analyze           do not ANALYZE half-way through the warm-up\n"
        "  --routing inproc|process  routing as an in-process actor (default) or the\n"
        "                         kefu-routing binary as a child process\n"
        "  --routing-bin PATH     kefu-routing (default: ../services/routing/kefu-routing\n"
        "                         next to this program)\n"
        "  --probe-rate R         probe phase: new conversations/s, a trickle that shows the\n"
        "                         decision latency of an idle routing (default 100)\n"
        "  --probe-duration S     probe phase: seconds (default 3)\n"
        "  --phases LIST          comma list of raw,floor,probe,fixed,sat (default all): raw\n"
        "                         = a ZeroMQ round trip and a durable PostgreSQL commit\n"
        "                         alone; floor = the fixed load's traffic with nothing\n"
        "                         decided (commit, publish, commit, send: the machine's tail)\n"
        "  --latency-log FILE     write every conversation: phase, shop, publish time (ms\n"
        "                         since the phase start), decision latency (ms), first command\n"
        "  --wait-quiet S         first wait up to S seconds until the machine is idle\n"
        "                         (< 10%% busy over 2 s): other processes skew results\n"
        "  --help\n"
        "\n"
        "Routing's own settings come from the environment as usual (KEFU_ROUTING_POLL_INTERVAL,\n"
        "KEFU_ROUTING_COMMAND_TIMEOUT, KEFU_LOG_LEVEL; default warn).\n");
}

static int
s_parse (s_opts_t *o, int argc, char **argv)
{
    *o = (s_opts_t){.db = getenv ("KEFU_DATABASE_URL"),
                    .shops = 50,
                    .agents = 10,
                    .presales = -1,
                    .capacity = 100,
                    .rate = 5000,
                    .duration = 10,
                    .warmup = -1,
                    .lifetime = 6,
                    .reply_after = 2,
                    .returning = 0.2,
                    .vip = 0.02,
                    .aftersales = 0.4,
                    .hot_shops = 2,
                    .hot_factor = 2,
                    .batch_ms = 1,
                    .sat_convs = 50000,
                    .window = 2000,
                    .sat_batch = 250,
                    .check_every = 0,
                    .analyze = true,
                    .probe_rate = 100,
                    .probe_duration = 3,
                    .run_raw = true,
                    .run_floor = true,
                    .run_probe = true,
                    .run_fixed = true,
                    .run_sat = true};
    static const struct option longs[] = {
        {"db", 1, NULL, 'd'},          {"shops", 1, NULL, 's'},
        {"agents", 1, NULL, 'a'},      {"presales", 1, NULL, 'p'},
        {"capacity", 1, NULL, 'c'},    {"rate", 1, NULL, 'r'},
        {"duration", 1, NULL, 'D'},    {"warmup", 1, NULL, 'W'},
        {"lifetime", 1, NULL, 'l'},    {"reply-after", 1, NULL, 'R'},
        {"returning", 1, NULL, 't'},   {"vip", 1, NULL, 'v'},
        {"aftersales", 1, NULL, 'A'},  {"batch-ms", 1, NULL, 'b'},
        {"saturation", 1, NULL, 'S'},  {"window", 1, NULL, 'w'},
        {"sat-batch", 1, NULL, 'B'},   {"check-every", 1, NULL, 'C'},
        {"no-analyze", 0, NULL, 'N'},  {"routing", 1, NULL, 'i'},
        {"routing-bin", 1, NULL, 'I'}, {"phases", 1, NULL, 'x'},
        {"latency-log", 1, NULL, 'L'}, {"wait-quiet", 1, NULL, 'q'},
        {"probe-rate", 1, NULL, 'P'},  {"probe-duration", 1, NULL, 'T'},
        {"hot-shops", 1, NULL, 'H'},   {"hot-factor", 1, NULL, 'F'},
        {"help", 0, NULL, 'h'},        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->db = optarg;
            break;
        case 's':
            o->shops = atoi (optarg);
            break;
        case 'a':
            o->agents = atoi (optarg);
            break;
        case 'p':
            o->presales = atoi (optarg);
            break;
        case 'c':
            o->capacity = atoi (optarg);
            break;
        case 'r':
            o->rate = atoi (optarg);
            break;
        case 'D':
            o->duration = atof (optarg);
            break;
        case 'W':
            o->warmup = atof (optarg);
            break;
        case 'l':
            o->lifetime = atof (optarg);
            break;
        case 'R':
            o->reply_after = atof (optarg);
            break;
        case 't':
            o->returning = atof (optarg);
            break;
        case 'v':
            o->vip = atof (optarg);
            break;
        case 'A':
            o->aftersales = atof (optarg);
            break;
        case 'b':
            o->batch_ms = atof (optarg);
            break;
        case 'S':
            o->sat_convs = atoll (optarg);
            break;
        case 'w':
            o->window = atoi (optarg);
            break;
        case 'B':
            o->sat_batch = atoi (optarg);
            break;
        case 'C':
            o->check_every = atof (optarg);
            break;
        case 'N':
            o->analyze = false;
            break;
        case 'i':
            if (strcmp (optarg, "inproc") && strcmp (optarg, "process")) {
                fprintf (stderr, "bench_routing: --routing takes inproc or process\n");
                return 2;
            }
            o->process = strcmp (optarg, "process") == 0;
            break;
        case 'I':
            o->routing_bin = optarg;
            break;
        case 'x':
            o->run_raw = strstr (optarg, "raw") != NULL;
            o->run_floor = strstr (optarg, "floor") != NULL;
            o->run_probe = strstr (optarg, "probe") != NULL;
            o->run_fixed = strstr (optarg, "fixed") != NULL;
            o->run_sat = strstr (optarg, "sat") != NULL;
            break;
        case 'H':
            o->hot_shops = atoi (optarg);
            break;
        case 'F':
            o->hot_factor = atof (optarg);
            break;
        case 'P':
            o->probe_rate = atoi (optarg);
            break;
        case 'T':
            o->probe_duration = atof (optarg);
            break;
        case 'L':
            o->latency_log = optarg;
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
        fprintf (stderr, "bench_routing: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (!o->db || !*o->db) {
        fprintf (stderr, "bench_routing: --db URL (or KEFU_DATABASE_URL) is required\n");
        return 2;
    }
    if (o->presales < 0)
        o->presales = (o->agents * 6 + 5) / 10;
    if (o->warmup < 0)
        o->warmup = o->lifetime + 2;
    if (o->shops < 1 || o->shops > S_SHOPS_MAX || o->agents < 2 || o->agents > S_AGENTS_MAX ||
        o->presales < 1 || o->presales >= o->agents || o->capacity < 1 || o->capacity > 100 ||
        o->rate < 1 || o->duration <= 0 || o->lifetime <= 0 || o->reply_after < 0 ||
        o->reply_after >= o->lifetime || o->returning < 0 || o->returning > 1 || o->vip < 0 ||
        o->vip > 1 || o->aftersales < 0 || o->aftersales > 1 || o->batch_ms < 0 ||
        o->sat_convs < 0 || o->window < 1 || o->sat_batch < 1 || o->check_every < 0 ||
        o->probe_rate < 1 || o->probe_duration <= 0 || o->hot_shops < 0 ||
        o->hot_shops > o->shops || o->hot_factor <= 0 ||
        (!o->run_probe && !o->run_fixed && !o->run_sat)) {
        fprintf (stderr, "bench_routing: an option is out of range (see --help)\n");
        return 2;
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  Conversations: what the intake stand-in offered and what came back

typedef enum {
    S_PHASE_WARMUP = 0, //  not measured
    S_PHASE_PROBE = 1,  //  a trickle: the decision latency of an idle routing
    S_PHASE_FIXED = 2,  //  the fixed offered load
    S_PHASE_SAT = 3,    //  saturation
    S_PHASES = 4
} s_phase_kind_t;
static const char s_phase_letters[S_PHASES] = {'w', 'p', 'f', 's'};

//  The first command of a conversation: an AssignReason value, or an
//  auto-reply (S_FIRST_REPLY + AutoReplyKind).
#define S_FIRST_REPLY 100

typedef struct {
    //  Written by the intake stand-in (producer thread).
    int64_t due_us;   //  when it was due to open (fixed load), else when it was made
    int64_t pub_us;   //  when conversation.opened was published (after its commit)
    int64_t customer; //  customer number within the shop
    int shop;         //  shop index
    int intent;       //  Intent of the opening message
    uint8_t phase;    //  s_phase_kind_t
    bool vip;         //  VIP customer
    bool replied;     //  the agent's reply was sent
    bool closed;      //  conversation.closed was sent
    //  Written by the command endpoint thread.
    _Atomic int64_t first_us;  //  first command arrived (0: none yet)
    _Atomic int64_t assign_us; //  first assign command arrived (0: none yet)
    _Atomic int first_kind;    //  see S_FIRST_REPLY; S_FIRST_NONE before any
    _Atomic int agent;         //  agent index of the owner, -1 while none
    _Atomic uint32_t assigns;  //  bit s-1: assign request "assign:<id>:<s>" seen
    _Atomic int resent;        //  commands for it that came a second time
} s_conv_t;

//  Per shop: open conversations oldest first, and customers who can come back.
typedef struct {
    int64_t *open;         //  ring of conversation indexes
    int open_head;         //  oldest
    int open_count;        //  open now
    int open_cap;          //  ring size
    int64_t *back;         //  ring of customer numbers whose last conversation closed
    int back_head;         //  oldest
    int back_count;        //  waiting to come back
    int back_cap;          //  ring size
    int64_t next_customer; //  next new customer number
} s_shop_t;

typedef enum {
    S_MODE_IDLE = 0,  //  nothing to do
    S_MODE_FIXED = 1, //  open at the fixed rate; replies and closes by time
    S_MODE_TAIL = 2,  //  fixed load done: only the replies and closes still due
    S_MODE_SAT = 3,   //  open as fast as the window allows; close the oldest per shop
    S_MODE_STOP = 4,  //  return
} s_mode_t;

typedef struct {
    const s_opts_t *opts;
    char (*shop_ids)[32]; //  shop ids
    s_conv_t *convs;      //  every conversation, id = index + 1
    int64_t conv_cap;     //  allocated
    s_shop_t *shops;      //  per shop
    //  The intake stand-in (producer thread once started).
    kf_store_t *store;         //  its connection ("bench-intake")
    kf_outbox_t *outbox;       //  stream "intake", PUB bound on 127.0.0.1:*
    int64_t opened;            //  conversations opened so far (next index)
    int64_t reply_cursor;      //  fixed load: next conversation whose reply may be due
    int64_t close_cursor;      //  fixed load: next conversation whose close may be due
    int64_t fixed_start_us;    //  due time of the first fixed-load conversation
    int64_t fixed_first;       //  index of the first paced conversation
    int64_t fixed_measured;    //  index of the first measured paced conversation
    int64_t fixed_end;         //  index after the last paced conversation
    int fixed_kind;            //  s_phase_kind_t of the measured paced conversations
    double interval_us;        //  fixed load: between two new conversations
    int open_target;           //  saturation: open conversations per shop to keep
    int64_t sat_end;           //  index after the last saturation conversation
    uint64_t rng;              //  traffic choices
    int64_t message_id;        //  message ids
    _Atomic int64_t txns;      //  transactions committed
    _Atomic int64_t events;    //  events written
    int64_t replies_skipped;   //  the conversation had no agent when its reply was due
    _Atomic int mode;          //  s_mode_t
    _Atomic int64_t published; //  conversations published
    _Atomic bool failed;       //  a transaction failed
    //  The command endpoint (its thread once started).
    zsock_t *router;             //  intake's command endpoint (fake)
    _Atomic bool stop;           //  the thread returns
    _Atomic int64_t decided;     //  conversations with a first command
    _Atomic int64_t last_cmd_us; //  arrival of the last command
    int64_t submits;             //  CommandSubmits answered
    int64_t assign_cmds;         //  of which assign
    int64_t reply_cmds;          //  of which auto-reply
    int64_t other_cmds;          //  of which something else
    int64_t bad_cmds;            //  did not parse or unknown conversation
    int64_t by_reason[8];        //  assign commands by AssignReason
} s_run_t;

//  ---------------------------------------------------------------------
//  Traffic: what customers and agents say

static uint64_t
s_rand (uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

static double
s_uniform (uint64_t *state)
{
    return (double) (s_rand (state) >> 11) / 9007199254740992.0;
}

typedef struct {
    int intent;       //  Intent
    int priority;     //  Priority intake would classify it with
    double weight;    //  share within its group
    const char *body; //  a typical first line
} s_line_t;

static const s_line_t s_presales[] = {
    {KEFU__V1__INTENT__INTENT_PRESALES, KEFU__V1__PRIORITY__PRIORITY_NORMAL, 0.5,
     "亲，这件连衣裙有M码吗？身高165穿哪个码合适"},
    {KEFU__V1__INTENT__INTENT_BARGAINING, KEFU__V1__PRIORITY__PRIORITY_NORMAL, 0.2,
     "买两件能便宜点吗？有没有优惠券"},
    {KEFU__V1__INTENT__INTENT_DELIVERY_TIME, KEFU__V1__PRIORITY__PRIORITY_NORMAL, 0.2,
     "今天下单什么时候能到上海？"},
    {KEFU__V1__INTENT__INTENT_OTHER, KEFU__V1__PRIORITY__PRIORITY_NORMAL, 0.1, "在吗？"},
};
static const s_line_t s_aftersales[] = {
    {KEFU__V1__INTENT__INTENT_URGE_SHIPPING, KEFU__V1__PRIORITY__PRIORITY_HIGH, 0.35,
     "我三天前拍的怎么还没发货？麻烦催一下"},
    {KEFU__V1__INTENT__INTENT_LOGISTICS, KEFU__V1__PRIORITY__PRIORITY_HIGH, 0.30,
     "物流两天没更新了，帮我查一下快递到哪了"},
    {KEFU__V1__INTENT__INTENT_RETURN_REFUND, KEFU__V1__PRIORITY__PRIORITY_HIGH, 0.25,
     "衣服尺码不合适，我想退货，怎么操作"},
    {KEFU__V1__INTENT__INTENT_COMPLAINT, KEFU__V1__PRIORITY__PRIORITY_URGENT, 0.07,
     "收到的商品是坏的，我要投诉！"},
    {KEFU__V1__INTENT__INTENT_NEGATIVE_REVIEW, KEFU__V1__PRIORITY__PRIORITY_URGENT, 0.03,
     "质量太差了，不给处理我就给差评"},
};
static const char *const s_replies[] = {
    "亲，在的，请问有什么可以帮您？",
    "亲，马上帮您查一下，请稍等哦～",
    "亲，已经为您登记了，今天内给您回复～",
};

static const s_line_t *
s_pick_line (uint64_t *rng, bool aftersales)
{
    const s_line_t *lines = aftersales ? s_aftersales : s_presales;
    size_t n = aftersales ? sizeof s_aftersales / sizeof s_aftersales[0]
                          : sizeof s_presales / sizeof s_presales[0];
    double u = s_uniform (rng);
    for (size_t i = 0; i < n; i++) {
        if (u < lines[i].weight)
            return &lines[i];
        u -= lines[i].weight;
    }
    return &lines[n - 1];
}

//  kefu's customer id: unique over shops.
static int64_t
s_customer_ref (int shop, int64_t customer)
{
    return (int64_t) (shop + 1) * 100000000LL + customer;
}

static void
s_customer_ccid (char *buf, size_t size, int shop, int64_t customer)
{
    snprintf (buf, size, "tb%03d_%07" PRId64, shop, customer);
}

static int64_t
s_wall_ms (void)
{
    return kf_clock_now_ms (NULL);
}

//  ---------------------------------------------------------------------
//  The intake stand-in: events written and published as intake does

static int
s_add_event (s_run_t *run, int shop, const char *kind, Kefu__V1__Event *ev)
{
    ev->shop_id = run->shop_ids[shop];
    ev->kind = (char *) kind;
    ev->occurred_at_ms = s_wall_ms ();
    atomic_fetch_add_explicit (&run->events, 1, memory_order_relaxed);
    return kf_outbox_add (run->outbox, ev);
}

//  Commit the events added since the last commit and publish them; the
//  conversations opened in it [first, last) get their publication time.
static int
s_commit (s_run_t *run, int64_t first, int64_t last)
{
    if (kf_outbox_pending (run->outbox) == 0)
        return 0;
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_begin (run->store, &err) || kf_outbox_flush (run->outbox, &err) ||
        kf_store_commit (run->store, &err)) {
        if (kf_store_in_txn (run->store))
            kf_store_rollback (run->store);
        kf_outbox_discard (run->outbox);
        fprintf (stderr, "bench_routing: intake stand-in: transaction failed: %s\n", err.reason);
        return -1;
    }
    int64_t now = bench_now_us ();
    for (int64_t i = first; i < last; i++)
        run->convs[i].pub_us = now;
    kf_outbox_publish (run->outbox);
    atomic_store (&run->published, last);
    atomic_fetch_add_explicit (&run->txns, 1, memory_order_relaxed);
    return 0;
}

static int
s_presence (s_run_t *run, int shop, const char *agent_id)
{
    Kefu__V1__AgentPresenceChanged p = KEFU__V1__AGENT_PRESENCE_CHANGED__INIT;
    p.agent_id = (char *) agent_id;
    p.status = KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE;
    p.handover_note = "";
    p.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    p.at_ms = s_wall_ms ();
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_AGENT_PRESENCE;
    ev.agent_presence = &p;
    return s_add_event (run, shop, "agent.presence", &ev);
}

//  Every agent logs in: one transaction per shop, as a gateway's batch.
static int
s_publish_presence (s_run_t *run)
{
    for (int s = 0; s < run->opts->shops; s++) {
        for (int a = 0; a < run->opts->agents; a++) {
            char agent[16];
            snprintf (agent, sizeof agent, BENCH_PG_AGENT_FMT, a);
            if (s_presence (run, s, agent))
                return -1;
        }
        if (s_commit (run, run->opened, run->opened))
            return -1;
    }
    return 0;
}

//  Append to a ring that grows up to max_cap items (0: no limit), then
//  drops its oldest.
static void
s_ring_push (int64_t **ring, int *head, int *count, int *cap, int64_t value, int max_cap)
{
    if (*count == *cap && max_cap > 0 && *cap >= max_cap) {
        *head = (*head + 1) % *cap;
        (*count)--;
    } else if (*count == *cap) {
        //  Grow, unrolling the ring.
        int grown = *cap ? *cap * 2 : 1024;
        int64_t *items = malloc ((size_t) grown * sizeof *items);
        for (int i = 0; i < *count; i++)
            items[i] = (*ring)[(*head + i) % *cap];
        free (*ring);
        *ring = items;
        *head = 0;
        *cap = grown;
    }
    (*ring)[(*head + *count) % *cap] = value;
    (*count)++;
}

static int64_t
s_ring_pop (int64_t *ring, int *head, int *count, int cap)
{
    int64_t value = ring[*head];
    *head = (*head + 1) % cap;
    (*count)--;
    return value;
}

//  A new conversation: conversation.opened and the customer's first line,
//  in that order (as intake writes them for a message that opens one).
static int
s_open (s_run_t *run, s_phase_kind_t phase, int64_t due_us)
{
    const s_opts_t *o = run->opts;
    int64_t index = run->opened;
    s_conv_t *c = &run->convs[index];
    //  Popular shops get hot_factor times the traffic of the others.
    int cold = o->shops - o->hot_shops;
    double hot_share = o->hot_shops * o->hot_factor / (o->hot_shops * o->hot_factor + cold);
    int shop = s_uniform (&run->rng) < hot_share || cold == 0
                   ? (int) (s_rand (&run->rng) % (uint64_t) (o->hot_shops ? o->hot_shops : 1))
                   : o->hot_shops + (int) (s_rand (&run->rng) % (uint64_t) cold);
    s_shop_t *sh = &run->shops[shop];
    //  A returning customer only once their last conversation is closed.
    if (sh->back_count > 0 && s_uniform (&run->rng) < o->returning)
        c->customer = s_ring_pop (sh->back, &sh->back_head, &sh->back_count, sh->back_cap);
    else
        c->customer = sh->next_customer++;
    uint64_t h = (uint64_t) s_customer_ref (shop, c->customer) * 0x9e3779b97f4a7c15ULL;
    c->vip = (double) (h >> 11) / 9007199254740992.0 < o->vip;
    const s_line_t *line = s_pick_line (&run->rng, s_uniform (&run->rng) < o->aftersales);
    c->shop = shop;
    c->intent = line->intent;
    c->phase = (uint8_t) phase;
    c->due_us = due_us;
    atomic_store (&c->agent, -1);
    atomic_store (&c->first_kind, S_FIRST_NONE);
    s_ring_push (&sh->open, &sh->open_head, &sh->open_count, &sh->open_cap, index, 0);
    run->opened++;

    char ccid[40];
    s_customer_ccid (ccid, sizeof ccid, shop, c->customer);
    int64_t now = s_wall_ms ();
    Kefu__V1__ConversationOpened opened = KEFU__V1__CONVERSATION_OPENED__INIT;
    opened.conversation_id = index + 1;
    opened.customer_id = s_customer_ref (shop, c->customer);
    opened.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    opened.channel_customer_id = ccid;
    opened.intent = line->intent;
    opened.priority = line->priority;
    opened.vip = c->vip;
    opened.opened_at_ms = now;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_OPENED;
    ev.conversation_opened = &opened;
    if (s_add_event (run, shop, "conversation.opened", &ev))
        return -1;
    Kefu__V1__MessageAccepted m = KEFU__V1__MESSAGE_ACCEPTED__INIT;
    m.message_id = ++run->message_id;
    m.conversation_id = index + 1;
    m.customer_id = opened.customer_id;
    m.channel = opened.channel;
    m.channel_customer_id = ccid;
    m.sender = KEFU__V1__SENDER_ROLE__SENDER_ROLE_CUSTOMER;
    m.agent_id = "";
    m.body = (char *) line->body;
    m.intent = line->intent;
    m.priority = line->priority;
    m.received_at_ms = now;
    m.sent_at_ms = now - 40;
    m.vip = c->vip;
    m.order_id = "";
    m.gateway_id = "qianniu-1";
    Kefu__V1__Event ev2 = KEFU__V1__EVENT__INIT;
    ev2.payload_case = KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED;
    ev2.message_accepted = &m;
    return s_add_event (run, shop, "message.accepted", &ev2);
}

//  The owner answers the customer's first line (skipped while the
//  conversation has no owner: the customer is still waiting in a queue).
static int
s_reply (s_run_t *run, int64_t index)
{
    s_conv_t *c = &run->convs[index];
    if (c->closed || c->replied)
        return 0;
    int agent = atomic_load (&c->agent);
    if (agent < 0) {
        run->replies_skipped++;
        return 0;
    }
    c->replied = true;
    char agent_id[16], ccid[40];
    snprintf (agent_id, sizeof agent_id, BENCH_PG_AGENT_FMT, agent);
    s_customer_ccid (ccid, sizeof ccid, c->shop, c->customer);
    int64_t now = s_wall_ms ();
    Kefu__V1__MessageAccepted m = KEFU__V1__MESSAGE_ACCEPTED__INIT;
    m.message_id = ++run->message_id;
    m.conversation_id = index + 1;
    m.customer_id = s_customer_ref (c->shop, c->customer);
    m.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    m.channel_customer_id = ccid;
    m.sender = KEFU__V1__SENDER_ROLE__SENDER_ROLE_AGENT;
    m.agent_id = agent_id;
    m.body = (char *) s_replies[index % (int64_t) (sizeof s_replies / sizeof s_replies[0])];
    m.received_at_ms = now;
    m.sent_at_ms = now - 30;
    m.vip = c->vip;
    m.order_id = "";
    m.gateway_id = "qianniu-1";
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED;
    ev.message_accepted = &m;
    return s_add_event (run, c->shop, "message.accepted", &ev);
}

//  The oldest open conversation of a shop closes; its customer may come back.
static int
s_close_oldest (s_run_t *run, int shop)
{
    s_shop_t *sh = &run->shops[shop];
    int64_t index = s_ring_pop (sh->open, &sh->open_head, &sh->open_count, sh->open_cap);
    s_conv_t *c = &run->convs[index];
    c->closed = true;
    s_ring_push (&sh->back, &sh->back_head, &sh->back_count, &sh->back_cap, c->customer,
                 S_BACK_MAX);
    int agent = atomic_load (&c->agent);
    char agent_id[16] = "";
    if (agent >= 0)
        snprintf (agent_id, sizeof agent_id, BENCH_PG_AGENT_FMT, agent);
    Kefu__V1__ConversationClosed closed = KEFU__V1__CONVERSATION_CLOSED__INIT;
    closed.conversation_id = index + 1;
    closed.customer_id = s_customer_ref (shop, c->customer);
    closed.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    closed.reason = agent >= 0 ? KEFU__V1__CLOSE_REASON__CLOSE_REASON_RESOLVED
                               : KEFU__V1__CLOSE_REASON__CLOSE_REASON_CUSTOMER_LEFT;
    closed.closed_by_agent_id = agent_id;
    closed.closed_at_ms = s_wall_ms ();
    closed.message_count = c->replied ? 2 : 1;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_CLOSED;
    ev.conversation_closed = &closed;
    return s_add_event (run, shop, "conversation.closed", &ev);
}

//  Fixed load: whatever is due by now. Returns -1 on failure.
static int
s_fixed_step (s_run_t *run, int mode, int64_t now)
{
    const s_opts_t *o = run->opts;
    int64_t reply_us = (int64_t) (o->reply_after * 1e6);
    int64_t life_us = (int64_t) (o->lifetime * 1e6);
    int64_t first = run->opened;
    if (mode == S_MODE_FIXED) {
        while (run->opened < run->fixed_end) {
            int64_t due = run->fixed_start_us +
                          (int64_t) (run->interval_us * (double) (run->opened - run->fixed_first));
            if (due > now)
                break;
            int kind = run->opened < run->fixed_measured ? S_PHASE_WARMUP : run->fixed_kind;
            if (s_open (run, (s_phase_kind_t) kind, due))
                return -1;
        }
    }
    for (; run->reply_cursor < run->opened; run->reply_cursor++) {
        if (run->convs[run->reply_cursor].due_us + reply_us > now)
            break;
        if (s_reply (run, run->reply_cursor))
            return -1;
    }
    //  Conversations open and close in the same order, so the one due to
    //  close is always the oldest open one of its shop.
    for (; run->close_cursor < run->opened; run->close_cursor++) {
        s_conv_t *c = &run->convs[run->close_cursor];
        if (c->due_us + life_us > now)
            break;
        if (!c->closed && s_close_oldest (run, c->shop))
            return -1;
    }
    return s_commit (run, first, run->opened);
}

//  Saturation: new conversations while fewer than `window` are undecided;
//  each shop keeps at most open_target open conversations by closing its
//  oldest (after its agent's reply, if it had none yet).
static int
s_sat_step (s_run_t *run, bool *idle)
{
    const s_opts_t *o = run->opts;
    int64_t undecided = run->opened - atomic_load (&run->decided);
    int64_t room = o->window - undecided;
    if (room > o->sat_batch)
        room = o->sat_batch;
    if (room > run->sat_end - run->opened)
        room = run->sat_end - run->opened;
    *idle = room <= 0;
    if (room <= 0)
        return 0;
    int64_t first = run->opened;
    int64_t now = bench_now_us ();
    for (int64_t k = 0; k < room; k++) {
        if (s_open (run, S_PHASE_SAT, now))
            return -1;
        int shop = run->convs[run->opened - 1].shop;
        s_shop_t *sh = &run->shops[shop];
        while (sh->open_count > run->open_target) {
            int64_t oldest = sh->open[sh->open_head];
            if (s_reply (run, oldest) || s_close_oldest (run, shop))
                return -1;
        }
    }
    return s_commit (run, first, run->opened);
}

static void *
s_producer_main (void *arg)
{
    s_run_t *run = arg;
    bench_thread_name ("bench-intake");
    int64_t batch_us = (int64_t) (run->opts->batch_ms * 1000);
    int64_t last_commit = 0;
    while (true) {
        int mode = atomic_load (&run->mode);
        if (mode == S_MODE_STOP)
            break;
        if (mode == S_MODE_IDLE) {
            zclock_sleep (1);
            continue;
        }
        int rc = 0;
        if (mode == S_MODE_SAT) {
            bool idle = false;
            rc = s_sat_step (run, &idle);
            if (idle)
                bench_sleep_until_us (bench_now_us () + 100);
        } else {
            //  One transaction per batch_ms at most: what became due meanwhile.
            if (last_commit && bench_now_us () < last_commit + batch_us)
                bench_sleep_until_us (last_commit + batch_us);
            last_commit = bench_now_us ();
            rc = s_fixed_step (run, mode, last_commit);
            if (mode == S_MODE_FIXED && run->opened == run->fixed_end)
                atomic_compare_exchange_strong (&run->mode, &mode, S_MODE_TAIL);
        }
        if (rc) {
            atomic_store (&run->failed, true);
            break;
        }
    }
    return NULL;
}

//  ---------------------------------------------------------------------
//  Intake's command endpoint (fake): answer every CommandSubmit ACCEPTED

//  "assign:<id>:<seq>" -> seq (0 if not of that form).
static int
s_assign_seq (const ProtobufCBinaryData *request_id)
{
    char text[96];
    snprintf (text, sizeof text, "%.*s", (int) request_id->len, (const char *) request_id->data);
    const char *colon = strrchr (text, ':');
    return strncmp (text, "assign:", 7) == 0 && colon ? atoi (colon + 1) : 0;
}

static void
s_note_command (s_run_t *run, const Kefu__V1__CommandSubmit *submit, int64_t now)
{
    const Kefu__V1__Command *cmd = submit->command;
    int64_t conv = 0;
    int kind = 0;
    int agent = -1;
    if (cmd && cmd->kind_case == KEFU__V1__COMMAND__KIND_ASSIGN) {
        run->assign_cmds++;
        conv = cmd->assign->conversation_id;
        kind = cmd->assign->reason;
        if (kind >= 0 && kind < 8)
            run->by_reason[kind]++;
        //  Agent ids are "kfNN" (BENCH_PG_AGENT_FMT); bytes are not NUL-terminated.
        char agent_id[16];
        snprintf (agent_id, sizeof agent_id, "%.*s", (int) cmd->assign->agent_id.len,
                  (const char *) cmd->assign->agent_id.data);
        if (strlen (agent_id) > 2)
            agent = atoi (agent_id + 2);
    } else if (cmd && cmd->kind_case == KEFU__V1__COMMAND__KIND_AUTO_REPLY) {
        run->reply_cmds++;
        conv = cmd->auto_reply->conversation_id;
        kind = S_FIRST_REPLY + cmd->auto_reply->kind;
    } else {
        run->other_cmds++;
        return;
    }
    //  Ids are index + 1 of conversations this run made (the database was empty).
    if (conv < 1 || conv > run->conv_cap) {
        run->bad_cmds++;
        return;
    }

    s_conv_t *c = &run->convs[conv - 1];
    if (atomic_load (&c->first_us) == 0) {
        atomic_store (&c->first_kind, kind);
        atomic_store (&c->first_us, now);
        atomic_fetch_add (&run->decided, 1);
    }
    if (cmd->kind_case == KEFU__V1__COMMAND__KIND_ASSIGN) {
        int seq = s_assign_seq (&submit->request_id);
        uint32_t bit = seq >= 1 && seq <= 32 ? 1u << (seq - 1) : 0;
        uint32_t seen = atomic_fetch_or (&c->assigns, bit);
        if (bit && (seen & bit))
            atomic_fetch_add (&c->resent, 1); //  the same request again
        else {
            if (atomic_load (&c->assign_us) == 0)
                atomic_store (&c->assign_us, now);
            atomic_store (&c->agent, agent);
        }
    }
}

static void *
s_commands_main (void *arg)
{
    s_run_t *run = arg;
    bench_thread_name ("bench-intake-cmd");
    void *raw = zsock_resolve (run->router);
    int64_t command_id = 0;
    while (!atomic_load (&run->stop)) {
        zmq_pollitem_t item = {raw, 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, 20) <= 0)
            continue;
        zmsg_t *msg;
        while ((msg = kf_wire_recv_nowait (run->router))) {
            int64_t now = bench_now_us ();
            zframe_t *id = zmsg_pop (msg);
            zframe_t *body = zmsg_pop (msg);
            kf_error_t err;
            kf_error_clear (&err);
            Kefu__V1__CommandSubmit *submit =
                id && body ? (Kefu__V1__CommandSubmit *) kf_wire_unpack (
                                 &kefu__v1__command_submit__descriptor, zframe_data (body),
                                 zframe_size (body), 1 << 20, &err)
                           : NULL;
            if (submit) {
                s_note_command (run, submit, now);
                atomic_store (&run->last_cmd_us, now);
                run->submits++;
                Kefu__V1__CommandSubmitAck ack = KEFU__V1__COMMAND_SUBMIT_ACK__INIT;
                ack.request_id = submit->request_id;
                ack.status = KEFU__V1__ACK_STATUS__ACK_ACCEPTED;
                ack.command_id = ++command_id;
                ack.reason = "";
                kf_wire_send (run->router, id, &ack.base);
                kefu__v1__command_submit__free_unpacked (submit, NULL);
            } else
                run->bad_cmds++;
            zframe_destroy (&id);
            zframe_destroy (&body);
            zmsg_destroy (&msg);
        }
    }
    return NULL;
}

//  ---------------------------------------------------------------------
//  Routing: in-process actor or child process

typedef struct {
    bench_service_t *service;  //  the running routing
    routing_config_t config;   //  actor: its settings
    kf_common_config_t common; //  actor: database URL, logging
    kf_service_args_t args;    //  actor: what it got
    kf_clock_t *clock;         //  actor: real time
    pid_t pid;                 //  process: its pid (0 for the actor)
} s_routing_t;

static void
s_set (char **slot, const char *value)
{
    free (*slot);
    *slot = strdup (value);
}

//  Start routing following intake's events at events_port and handing its
//  commands to commands_port; 0, or -1 (reason on stderr).
static int
s_routing_start (s_routing_t *self, const s_opts_t *opts, int events_port, int commands_port)
{
    memset (self, 0, sizeof *self);
    char events[64], commands[64];
    snprintf (events, sizeof events, "tcp://127.0.0.1:%d", events_port);
    snprintf (commands, sizeof commands, "tcp://127.0.0.1:%d", commands_port);
    if (!opts->process) {
        if (routing_config_defaults (&self->config, &self->common)) {
            fprintf (stderr, "bench_routing: routing's configuration does not load\n");
            return -1;
        }
        s_set (&self->common.database_url, opts->db);
        s_set (&self->config.intake_events, events);
        s_set (&self->config.intake_commands, commands);
        s_set (&self->config.events_endpoint, "tcp://127.0.0.1:*");
        s_set (&self->config.control_endpoint, "tcp://127.0.0.1:*");
        self->config.insecure = true;
        kf_config_apply_logging (&self->common);
        self->clock = kf_clock_new_real ();
        self->args =
            (kf_service_args_t){&routing_config_spec, &self->config, &self->common, self->clock};
        self->service = bench_service_actor ("routing", routing_server, &self->args);
        return self->service ? 0 : -1;
    }
    char bin[1024];
    if (opts->routing_bin)
        snprintf (bin, sizeof bin, "%s", opts->routing_bin);
    else
        bench_service_bin (bin, sizeof bin, "routing/kefu-routing");
    char control[64], env[6][1200];
    snprintf (control, sizeof control, "tcp://127.0.0.1:%d", bench_free_port ());
    snprintf (env[0], sizeof env[0], "KEFU_DATABASE_URL=%s", opts->db);
    snprintf (env[1], sizeof env[1], "KEFU_ROUTING_INTAKE_EVENTS=%s", events);
    snprintf (env[2], sizeof env[2], "KEFU_ROUTING_INTAKE_COMMANDS=%s", commands);
    snprintf (env[3], sizeof env[3], "KEFU_ROUTING_EVENTS_ENDPOINT=tcp://127.0.0.1:%d",
              bench_free_port ());
    snprintf (env[4], sizeof env[4], "KEFU_ROUTING_CONTROL_ENDPOINT=%s", control);
    snprintf (env[5], sizeof env[5], "KEFU_INSECURE=1"); //  the benchmark plays intake in plain
    const char *envp[] = {env[0], env[1], env[2], env[3], env[4], env[5], NULL};
    self->service = bench_service_spawn ("routing", bin, envp, control, NULL);
    if (!self->service)
        return -1;
    self->pid = bench_service_pid (self->service);
    return 0;
}

static void
s_routing_stop (s_routing_t *self)
{
    bench_service_stop (&self->service, 10, NULL);
    if (self->clock) { //  the actor's
        kf_config_free (routing_config_spec.entries, &self->config);
        kf_config_free (kf_common_config_entries, &self->common);
        kf_clock_destroy (&self->clock);
    }
    self->pid = 0;
}

//  Routing's counters we report.
typedef struct {
    int64_t decisions, queued, issued, acked, resent, refused, applied, from_table, gaps, reloads,
        txn_failed, open, queued_now, assigned_now, unacked;
    bool ok; //  routing answered
} s_counters_t;

static void
s_routing_counters (const s_routing_t *self, s_counters_t *out)
{
    memset (out, 0, sizeof *out);
    Kefu__V1__ControlReply *reply = bench_service_status (self->service, 5000);
    if (reply && reply->status) {
        out->ok = true;
        static const char *const names[] = {"decisions",
                                            "queued",
                                            "commands.issued",
                                            "commands.acked",
                                            "commands.resent",
                                            "commands.refused",
                                            "events.applied",
                                            "events.from_table",
                                            "events.gaps",
                                            "model.reloads",
                                            "transactions.failed",
                                            "conversations.open",
                                            "conversations.queued",
                                            "conversations.assigned",
                                            "commands.unacked"};
        int64_t *slots[] = {
            &out->decisions,  &out->queued,  &out->issued,     &out->acked,        &out->resent,
            &out->refused,    &out->applied, &out->from_table, &out->gaps,         &out->reloads,
            &out->txn_failed, &out->open,    &out->queued_now, &out->assigned_now, &out->unacked};
        for (size_t i = 0; i < reply->status->n_counters; i++)
            for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
                if (strcmp (reply->status->counters[i]->name, names[k]) == 0)
                    *slots[k] = reply->status->counters[i]->value;
    }
    if (reply)
        kefu__v1__control_reply__free_unpacked (reply, NULL);
}

//  ---------------------------------------------------------------------
//  The record

//  Intake events routing has not applied yet.
#define S_LAG                                                                                      \
    "SELECT (SELECT coalesce (sum (last_seq), 0) FROM event_sequences WHERE stream = 'intake') "   \
    "- (SELECT coalesce (sum (last_seq), 0) FROM consumer_offsets "                                \
    "   WHERE consumer = 'routing' AND stream = 'intake')"
//  routing_conversations holds the open conversations only.
#define S_CONVERSATIONS "SELECT count(*) FROM routing_conversations"
#define S_ASSIGNED_NOW  "SELECT count(*) FROM routing_conversations WHERE state = 2"
#define S_QUEUED_NOW    "SELECT count(*) FROM routing_conversations WHERE state = 1"
#define S_EVER_ASSIGNED                                                                            \
    "SELECT count(*) FROM (SELECT DISTINCT shop_id, conversation_id FROM assignments) t"
//  Conversations with more than one first assignment (new, sticky, queue, pickup).
#define S_TWICE_ASSIGNED                                                                           \
    "SELECT count(*) FROM (SELECT 1 FROM assignments WHERE reason IN (1, 2, 3, 8) "                \
    "GROUP BY shop_id, conversation_id HAVING count(*) > 1) t"
#define S_ASSIGNMENT_ROWS "SELECT count(*) FROM assignments"
#define S_UNSUBMITTED     "SELECT count(*) FROM routing_outbox"
#define S_FRESH                                                                                    \
    "SELECT (SELECT count(*) FROM shops) + (SELECT count(*) FROM routing_conversations) "          \
    "+ (SELECT count(*) FROM events)"
//  Sequential scans of the tables routing writes or probes by key.
#define S_SEQ_SCANS                                                                                \
    "SELECT coalesce (sum (seq_scan), 0)::int8 FROM pg_stat_user_tables WHERE relname IN "         \
    "('routing_conversations', 'routing_outbox', 'assignments', 'customer_agents', "               \
    "'agent_presence', 'events')"

//  Wait until routing has applied every intake event (in-process: SYNC
//  makes it read the events table now). 0, or -1 after timeout_s.
static int
s_settle (const s_routing_t *routing, const char *db, double timeout_s)
{
    int64_t deadline = bench_now_us () + (int64_t) (timeout_s * 1e6);
    while (bench_now_us () < deadline) {
        zactor_t *actor = bench_service_pipe (routing->service);
        if (actor) {
            zstr_send (actor, "SYNC");
            char *reply = zstr_recv (actor);
            free (reply);
        }
        if (bench_pg_count (db, S_LAG) == 0)
            return 0;
        zclock_sleep (20);
    }
    return -1;
}

//  ---------------------------------------------------------------------
//  Phases and results

typedef struct {
    bool ran;                         //  measured
    int64_t convs;                    //  conversations opened in the phase
    int64_t decided;                  //  with a first command
    int64_t assigned_now;             //  first command: assign (new)
    int64_t sticky;                   //  first command: assign (sticky, 首问责任制)
    int64_t queued;                   //  first command: busy reply (had to queue)
    int64_t queued_assigned;          //  of the queued: assigned later
    int64_t early;                    //  decided before the publication (via the events table)
    double seconds;                   //  wall time of the phase
    double offered_per_s;             //  convs / (first to last publication)
    double decided_per_s;             //  decided / (first publication to last decision)
    double p50, p99, p999, max, mean; //  ms, publication -> first command
    double wait_p50, wait_p99;        //  ms, queued conversations: publication -> assign
    double late_p99, late_max;        //  ms, fixed load: due -> publication (intake stand-in)
    int64_t late;                     //  fixed load: published more than 2 ms after due
    int64_t txns, events;             //  intake stand-in transactions and events in the phase
    s_counters_t before;              //  routing's counters at the start
    s_counters_t after;               //  ... at the end
    bench_cpu_t cpu;                  //  CPU seconds during the phase
    double pg_routing_cpu;            //  of postgres: routing's backend
    double pg_intake_cpu;             //  of postgres: the intake stand-in's backend
    double io_stall, cpu_stall;       //  shares of the phase with some task waiting (PSI); < 0: n/a
    int64_t over_capacity; //  worst (load - capacity) seen by the checks during the phase
    int checks;            //  capacity checks during the phase
    //  Second by second (by publication time): the tail of a run is seldom
    //  spread evenly, and this shows where it came from.
    int sec_count;                 //  seconds with publications
    double sec_p50[S_SECONDS_MAX]; //  ms
    double sec_p99[S_SECONDS_MAX]; //  ms
} s_result_t;

//  p50 and p99 of each second of the phase (by publication time).
static void
s_collect_seconds (const s_run_t *run, s_phase_kind_t phase, s_result_t *r)
{
    int64_t first_pub = INT64_MAX;
    for (int64_t i = 0; i < run->opened; i++)
        if (run->convs[i].phase == phase && run->convs[i].pub_us < first_pub)
            first_pub = run->convs[i].pub_us;
    bench_lat_t *secs[S_SECONDS_MAX] = {NULL};
    r->sec_count = 0;
    for (int64_t i = 0; i < run->opened; i++) {
        const s_conv_t *c = &run->convs[i];
        int64_t first = atomic_load (&c->first_us);
        if (c->phase != phase || !first)
            continue;
        int64_t sec = (c->pub_us - first_pub) / 1000000;
        if (sec < 0 || sec >= S_SECONDS_MAX)
            continue;
        if (!secs[sec])
            secs[sec] = bench_lat_new (8192);
        bench_lat_add (secs[sec], first > c->pub_us ? first - c->pub_us : 0);
        if (sec + 1 > r->sec_count)
            r->sec_count = (int) sec + 1;
    }
    //  A last second with a handful of late publications says nothing.
    for (int sec = 0; sec < r->sec_count; sec++) {
        bool enough = secs[sec] && bench_lat_count (secs[sec]) >= 100;
        r->sec_p50[sec] = enough ? bench_lat_pct_ms (secs[sec], 50) : -1;
        r->sec_p99[sec] = enough ? bench_lat_pct_ms (secs[sec], 99) : -1;
        bench_lat_destroy (&secs[sec]);
    }
}

static void
s_collect (const s_run_t *run, s_phase_kind_t phase, s_result_t *r)
{
    bench_lat_t *lat = bench_lat_new (1024), *wait = bench_lat_new (1024),
                *late = bench_lat_new (1024);
    int64_t first_pub = INT64_MAX, last_pub = 0, last_decided = 0;
    for (int64_t i = 0; i < run->opened; i++) {
        const s_conv_t *c = &run->convs[i];
        if (c->phase != phase)
            continue;
        r->convs++;
        if (c->pub_us < first_pub)
            first_pub = c->pub_us;
        if (c->pub_us > last_pub)
            last_pub = c->pub_us;
        if (phase == S_PHASE_FIXED || phase == S_PHASE_PROBE) {
            bench_lat_add (late, c->pub_us - c->due_us);
            if (c->pub_us - c->due_us > 2000)
                r->late++;
        }
        int64_t first = atomic_load (&c->first_us);
        if (!first)
            continue;
        r->decided++;
        if (first > last_decided)
            last_decided = first;
        if (first < c->pub_us)
            r->early++;
        bench_lat_add (lat, first > c->pub_us ? first - c->pub_us : 0);
        int kind = atomic_load (&c->first_kind);
        if (kind == KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_STICKY)
            r->sticky++;
        else if (kind < S_FIRST_REPLY)
            r->assigned_now++;
        else {
            r->queued++;
            int64_t assigned = atomic_load (&c->assign_us);
            if (assigned) {
                r->queued_assigned++;
                bench_lat_add (wait, assigned - c->pub_us);
            }
        }
    }
    r->ran = true;
    if (r->convs > 0) {
        double span = (double) (last_pub - first_pub) / 1e6;
        r->offered_per_s = span > 0 ? (double) (r->convs - 1) / span : 0;
        double decide_span = (double) (last_decided - first_pub) / 1e6;
        r->decided_per_s = decide_span > 0 ? (double) r->decided / decide_span : 0;
    }
    r->p50 = bench_lat_pct_ms (lat, 50);
    r->p99 = bench_lat_pct_ms (lat, 99);
    r->p999 = bench_lat_pct_ms (lat, 99.9);
    r->max = bench_lat_max_ms (lat);
    r->mean = bench_lat_mean_ms (lat);
    r->wait_p50 = bench_lat_pct_ms (wait, 50);
    r->wait_p99 = bench_lat_pct_ms (wait, 99);
    r->late_p99 = bench_lat_pct_ms (late, 99);
    r->late_max = bench_lat_max_ms (late);
    bench_lat_destroy (&lat);
    bench_lat_destroy (&wait);
    bench_lat_destroy (&late);
}

//  Everything main drives.
typedef struct {
    const s_opts_t *opts;  //  options
    s_run_t *run;          //  intake stand-in and command endpoint
    s_routing_t *routing;  //  the service
    int pg_pid;            //  postmaster
    int routing_backend;   //  routing's PostgreSQL backend (0: unknown)
    int intake_backend;    //  the intake stand-in's backend (0: unknown)
    int64_t next_check_us; //  next capacity check
} s_bench_t;

//  Counters and CPU at one instant.
typedef struct {
    bench_cpu_t cpu;        //  by component
    double routing_backend; //  CPU-s of routing's backend
    double intake_backend;  //  CPU-s of the intake stand-in's backend
    double io_psi, cpu_psi; //  bench_psi_some_us ("io" / "cpu")
    s_counters_t counters;  //  routing's
    int64_t txns, events;   //  intake stand-in's
} s_sample_t;

static void
s_sample (const s_bench_t *b, s_sample_t *out)
{
    s_routing_counters (b->routing, &out->counters);
    out->txns = atomic_load (&b->run->txns);
    out->events = atomic_load (&b->run->events);
    out->routing_backend = bench_pid_cpu (b->routing_backend);
    out->intake_backend = bench_pid_cpu (b->intake_backend);
    out->io_psi = bench_psi_some_us ("io");
    out->cpu_psi = bench_psi_some_us ("cpu");
    bench_cpu_sample_pids (&out->cpu, b->pg_pid, 0, b->routing->pid);
}

static void
s_phase_close (s_result_t *r, const s_sample_t *before, const s_sample_t *after)
{
    r->cpu = bench_cpu_diff (&after->cpu, &before->cpu);
    r->seconds = r->cpu.wall;
    r->pg_routing_cpu = after->routing_backend - before->routing_backend;
    r->pg_intake_cpu = after->intake_backend - before->intake_backend;
    bool psi = before->io_psi >= 0 && after->io_psi >= 0 && r->seconds > 0;
    r->io_stall = psi ? (after->io_psi - before->io_psi) / 1e6 / r->seconds : -1;
    r->cpu_stall = psi ? (after->cpu_psi - before->cpu_psi) / 1e6 / r->seconds : -1;
    r->before = before->counters;
    r->after = after->counters;
    r->txns = after->txns - before->txns;
    r->events = after->events - before->events;
}

//  Check the record for agents over capacity; r keeps the worst seen.
static void
s_check_capacity (s_bench_t *b, s_result_t *r)
{
    int64_t over = bench_pg_count (b->opts->db, BENCH_PG_OVER_CAPACITY);
    if (r) {
        if (r->checks == 0 || over > r->over_capacity)
            r->over_capacity = over;
        r->checks++;
    }
    b->next_check_us = bench_now_us () + (int64_t) (b->opts->check_every * 1e6);
}

//  Sleep until `until_us`; with --check-every, check the record for agents
//  over capacity meanwhile (r, may be NULL, keeps the worst seen).
static void
s_wait_checking (s_bench_t *b, int64_t until_us, s_result_t *r)
{
    const s_opts_t *o = b->opts;
    while (true) {
        int64_t now = bench_now_us ();
        if (now >= until_us || atomic_load (&b->run->failed))
            return;
        if (o->check_every > 0 && now >= b->next_check_us) {
            s_check_capacity (b, r);
            continue;
        }
        int64_t wake = until_us;
        if (o->check_every > 0 && b->next_check_us < wake)
            wake = b->next_check_us;
        if (wake > now + 5000)
            wake = now + 5000;
        bench_sleep_until_us (wake);
    }
}

//  Wait until every conversation opened so far has its first command.
static bool
s_wait_decided (s_bench_t *b, int64_t until_index, double timeout_s, s_result_t *r)
{
    int64_t deadline = bench_now_us () + (int64_t) (timeout_s * 1e6);
    while (bench_now_us () < deadline && !atomic_load (&b->run->failed)) {
        if (atomic_load (&b->run->published) >= until_index &&
            atomic_load (&b->run->decided) >= until_index)
            return true;
        s_wait_checking (b, bench_now_us () + 2000, r);
    }
    return false;
}

//  Paced load: `rate` new conversations/s, `warmup` s unmeasured, then
//  `duration` s measured as phase `kind`.
static int
s_run_paced (s_bench_t *b, s_phase_kind_t kind, int rate, double warmup, double duration,
             s_result_t *r)
{
    const s_opts_t *o = b->opts;
    s_run_t *run = b->run;
    int64_t warm = (int64_t) (warmup * rate);
    int64_t measured = (int64_t) (duration * rate);
    run->interval_us = 1e6 / rate;
    //  The reply and close cursors carry on from an earlier paced phase.
    run->fixed_first = run->opened;
    run->fixed_measured = run->opened + warm;
    run->fixed_end = run->opened + warm + measured;
    run->fixed_kind = kind;
    run->fixed_start_us = bench_now_us () + 50000;
    int64_t measure_start = run->fixed_start_us + (int64_t) ((double) warm * run->interval_us);
    int64_t measure_end = measure_start + (int64_t) ((double) measured * run->interval_us);
    fprintf (stderr, "bench_routing: %s: %d/s, %.0f s warm-up, then %.0f s measured ...\n",
             kind == S_PHASE_PROBE ? "probe" : "fixed offered load", rate, warmup, duration);
    atomic_store (&run->mode, S_MODE_FIXED);
    if (warm > 0 && o->analyze) {
        //  As autovacuum would have by then: routing's tables were empty
        //  when its statements were first planned.
        s_wait_checking (b, run->fixed_start_us + (int64_t) (warmup * 5e5), NULL);
        bench_pg_analyze (o->db);
    }
    s_wait_checking (b, measure_start, NULL);
    s_sample_t before, after;
    s_sample (b, &before);
    s_wait_checking (b, measure_end, r);
    s_sample (b, &after);
    s_phase_close (r, &before, &after);
    s_check_capacity (b, r); //  at the steady state's full occupancy
    if (!s_wait_decided (b, run->fixed_end, 30, r))
        fprintf (stderr, "bench_routing: not every paced conversation was decided within 30 s\n");
    return atomic_load (&run->failed) ? -1 : 0;
}

static int
s_run_sat (s_bench_t *b, s_result_t *r)
{
    const s_opts_t *o = b->opts;
    s_run_t *run = b->run;
    run->sat_end = run->opened + o->sat_convs;
    run->open_target = (int) (o->rate * o->lifetime / o->shops);
    if (run->open_target < 1)
        run->open_target = 1;
    fprintf (stderr, "bench_routing: saturation: %" PRId64 " conversations ...\n", o->sat_convs);
    s_sample_t before, after;
    s_sample (b, &before);
    atomic_store (&run->mode, S_MODE_SAT);
    bool done = s_wait_decided (b, run->sat_end, 600, r);
    s_sample (b, &after);
    s_phase_close (r, &before, &after);
    s_check_capacity (b, r);
    atomic_store (&run->mode, S_MODE_IDLE);
    if (!done)
        fprintf (stderr, "bench_routing: saturation did not complete within 600 s\n");
    return atomic_load (&run->failed) ? -1 : 0;
}

//  ---------------------------------------------------------------------
//  Report

//  CPU figures are sums of 10 ms ticks: a difference may come out slightly
//  below zero.
static double
s_nonneg (double v)
{
    return v > 0 ? v : 0;
}

//  Cores' worth of CPU that processes other than ours used during c.
static double
s_other_cores (const bench_cpu_t *c, bool process)
{
    double ours = c->process + (process ? c->routing : 0) + c->postgres;
    double other = c->machine - ours;
    return c->wall > 0 && other > 0 ? other / c->wall : 0;
}

static void
s_print_cpu (const char *label, const s_result_t *r, bool process, long cores)
{
    const bench_cpu_t *c = &r->cpu;
    double ours = c->process + (process ? c->routing : 0) + c->postgres;
    double other = c->machine - ours;
    printf ("  %-11s %5.1f s wall: intake stand-in %.1f, routing %.1f, zmq I/O %.1f, postgres %.1f "
            "(routing's backend %.1f, intake stand-in's %.1f, rest %.1f), bench main %.1f, "
            "other processes %.1f CPU-s (machine %.0f%% busy)\n",
            label, c->wall, c->intake, c->routing, c->zmq_io, c->postgres, r->pg_routing_cpu,
            r->pg_intake_cpu, s_nonneg (c->postgres - r->pg_routing_cpu - r->pg_intake_cpu),
            c->rest, other < 0 ? 0 : other,
            c->wall > 0 ? 100.0 * c->machine / ((double) cores * c->wall) : 0);
}

static void
s_print_phase (const char *label, const s_result_t *r)
{
    printf ("  %-21s %7" PRId64 " %9.0f %9.0f %7.2f %7.2f %8.2f %7.2f %6.1f%% %6.1f%% %6.1f%%\n",
            label, r->convs, r->offered_per_s, r->decided_per_s, r->p50, r->p99, r->p999, r->max,
            r->decided ? 100.0 * (double) r->assigned_now / (double) r->decided : 0,
            r->decided ? 100.0 * (double) r->sticky / (double) r->decided : 0,
            r->decided ? 100.0 * (double) r->queued / (double) r->decided : 0);
}

static void
s_print_routing (const char *label, const s_result_t *r)
{
    int64_t applied = r->after.applied - r->before.applied;
    int64_t decisions = r->after.decisions - r->before.decisions;
    printf ("  %-11s routing applied %" PRId64 " events (%.0f/s, %" PRId64
            " read back from the events table, %" PRId64 " gaps), %" PRId64 " decisions, %" PRId64
            " queued, %" PRId64 " commands (%" PRId64 " resent); intake stand-in: %" PRId64
            " transactions, %.1f events each\n",
            label, applied, r->seconds > 0 ? (double) applied / r->seconds : 0,
            r->after.from_table - r->before.from_table, r->after.gaps - r->before.gaps, decisions,
            r->after.queued - r->before.queued, r->after.issued - r->before.issued,
            r->after.resent - r->before.resent, r->txns,
            r->txns ? (double) r->events / (double) r->txns : 0);
}

static void
s_log_latencies (const s_opts_t *opts, const s_run_t *run)
{
    if (!opts->latency_log)
        return;
    FILE *file = fopen (opts->latency_log, "w");
    if (!file) {
        fprintf (stderr, "bench_routing: cannot write %s\n", opts->latency_log);
        return;
    }
    int64_t start[3] = {0, 0, 0};
    for (int64_t i = 0; i < run->opened; i++) {
        const s_conv_t *c = &run->convs[i];
        if (!start[c->phase])
            start[c->phase] = c->pub_us;
        int64_t first = atomic_load (&c->first_us);
        int kind = atomic_load (&c->first_kind);
        fprintf (file, "%c %d %.3f %.3f %s\n", s_phase_letters[c->phase], c->shop,
                 (double) (c->pub_us - start[c->phase]) / 1000.0,
                 first ? (double) (first - c->pub_us) / 1000.0 : -1.0,
                 !first                                                  ? "none"
                 : kind == KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_STICKY ? "sticky"
                 : kind < S_FIRST_REPLY                                  ? "assign"
                                                                         : "queued");
    }
    fclose (file);
}

//  ---------------------------------------------------------------------
//  Checks of the record at the end

typedef struct {
    //  The record.
    int64_t rows;            //  routing_conversations rows (open conversations)
    int64_t assigned_now;    //  of which assigned
    int64_t queued_now;      //  of which waiting in a queue
    int64_t ever_assigned;   //  conversations with an assignment row
    int64_t twice;           //  conversations with two first assignments
    int64_t assignment_rows; //  assignments audit rows
    int64_t unsubmitted;     //  commands intake never acknowledged
    int64_t over_capacity;   //  worst (load - capacity)
    //  The benchmark's view (what it closed, the commands it received).
    int64_t closed;            //  conversations closed
    int64_t closed_unassigned; //  of which never assigned (closed while queued)
    int64_t open_assigned;     //  open ones with an assign command
    int64_t undecided;         //  no first command
    int64_t bench_assigned;    //  with an assign command
    int64_t reassigned;        //  with more than one distinct assign command
    int64_t resent;            //  commands that came again (same request id)
    bool valid;                //  every check passed
} s_checks_t;

static void
s_check (const s_opts_t *o, const s_run_t *run, const s_counters_t *counters, s_checks_t *k)
{
    memset (k, 0, sizeof *k);
    for (int64_t i = 0; i < run->opened; i++) {
        const s_conv_t *c = &run->convs[i];
        uint32_t assigns = atomic_load (&c->assigns);
        if (!atomic_load (&c->first_us))
            k->undecided++;
        if (assigns)
            k->bench_assigned++;
        if (c->closed) {
            k->closed++;
            k->closed_unassigned += !assigns;
        } else
            k->open_assigned += assigns != 0;
        if (assigns & (assigns - 1))
            k->reassigned++;
        k->resent += atomic_load (&c->resent);
    }
    k->rows = bench_pg_count (o->db, S_CONVERSATIONS);
    k->assigned_now = bench_pg_count (o->db, S_ASSIGNED_NOW);
    k->queued_now = bench_pg_count (o->db, S_QUEUED_NOW);
    k->ever_assigned = bench_pg_count (o->db, S_EVER_ASSIGNED);
    k->twice = bench_pg_count (o->db, S_TWICE_ASSIGNED);
    k->assignment_rows = bench_pg_count (o->db, S_ASSIGNMENT_ROWS);
    k->unsubmitted = bench_pg_count (o->db, S_UNSUBMITTED);
    k->over_capacity = bench_pg_count (o->db, BENCH_PG_OVER_CAPACITY);
    k->valid = k->undecided == 0 && k->reassigned == 0 && k->rows == run->opened - k->closed &&
               k->assigned_now == k->open_assigned && k->ever_assigned == k->bench_assigned &&
               k->queued_now + k->closed_unassigned == run->opened - k->bench_assigned &&
               k->twice == 0 && k->unsubmitted == 0 && k->over_capacity <= 0 &&
               run->bad_cmds == 0 && counters->ok && counters->txn_failed == 0 &&
               counters->refused == 0 && !atomic_load (&run->failed);
}

//  ---------------------------------------------------------------------
//  Main

//  A shop's routing, through routing_store as kefuctl writes it: groups
//  presales (售前) and aftersales (售后) overflowing to each other after 2
//  minutes (kefuctl shift defaults); one shift "allday" 00:00-24:00 worked
//  by every agent every day; the agents (BENCH_PG_AGENT_FMT) with their
//  capacity, weight 1, the first of each group VIP-capable; the settings
//  with their defaults.
static int
s_configure_shop (kf_store_t *store, const char *shop, void *arg, kf_error_t *err)
{
    const s_opts_t *o = arg;
    routing_group_row_t group;
    routing_shift_row_t shift;
    if (routing_store_put_group (store, shop, "presales", true, "售前", true, "aftersales", 120000,
                                 &group, err) != 1 ||
        routing_store_put_group (store, shop, "aftersales", true, "售后", true, "presales", 120000,
                                 &group, err) != 1 ||
        routing_store_put_shift (store, shop, "allday", true, 0, 1440, &shift, err) != 1)
        return -1;
    for (int a = 0; a < o->agents; a++) {
        char agent[16], name[32];
        snprintf (agent, sizeof agent, BENCH_PG_AGENT_FMT, a);
        snprintf (name, sizeof name, "客服%02d", a);
        bool vip = a == 0 || a == o->presales;
        if (routing_store_add_agent (store, shop, agent, name, o->capacity, 1, vip, err) != 1 ||
            routing_store_put_agent_groups (
                store, shop, agent, a < o->presales ? "presales" : "aftersales", false, err) ||
            routing_store_put_agent_schedule (store, shop, agent, false, "allday", 127, 1, 0, err))
            return -1;
    }
    routing_settings_change_t keep = {NULL, NULL, -1, -1, -1, NULL, -1, NULL};
    return routing_store_put_settings (store, shop, &keep, err);
}

static void
s_shop_names (const s_opts_t *o, char (*ids)[32], char (*names)[48], const char **tzs)
{
    //  Most shops in China; every tenth sells abroad from Europe.
    for (int s = 0; s < o->shops; s++) {
        snprintf (ids[s], sizeof ids[s], "bench-s%03d", s);
        snprintf (names[s], sizeof names[s], "基准店铺%03d", s);
        tzs[s] = s % 10 == 9 ? "Europe/Berlin" : "Asia/Shanghai";
    }
}

int
main (int argc, char **argv)
{
    s_opts_t opts;
    int rc = s_parse (&opts, argc, argv);
    if (rc)
        return rc == 1 ? 0 : 2;
    zsys_handler_set (NULL); //  Ctrl-C ends the benchmark
    bench_thread_name ("bench-main");
    kf_log_init ("routing");
    if (!getenv ("KEFU_LOG_LEVEL"))
        setenv ("KEFU_LOG_LEVEL", "warn", 1);
    if (kf_log_set_level_name (getenv ("KEFU_LOG_LEVEL")))
        kf_log_set_level (KF_LOG_WARN);

    bench_pg_info_t pg;
    if (bench_pg_info (opts.db, &pg))
        return 1;
    if (strcmp (pg.fsync, "on") || strcmp (pg.synchronous_commit, "on")) {
        fprintf (stderr, "bench_routing: fsync=%s synchronous_commit=%s: both must be on\n",
                 pg.fsync, pg.synchronous_commit);
        return 1;
    }
    if (bench_pg_count (opts.db, S_FRESH) != 0) {
        fprintf (stderr, "bench_routing: the database must be freshly migrated and empty "
                         "(bench/run routing makes one)\n");
        return 1;
    }
    double load[3] = {0, 0, 0};
    if (getloadavg (load, 3) < 0)
        load[0] = -1;
    time_t now = time (NULL);
    char date[64];
    strftime (date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime (&now));
    struct utsname uts;
    uname (&uts);
    long cores = sysconf (_SC_NPROCESSORS_ONLN);

    //  Set-up: shops, groups, shift, agents (as kefuctl would).
    char (*shop_ids)[32] = calloc ((size_t) opts.shops, sizeof *shop_ids);
    char (*names)[48] = calloc ((size_t) opts.shops, sizeof *names);
    const char **tzs = calloc ((size_t) opts.shops, sizeof *tzs);
    s_shop_names (&opts, shop_ids, names, tzs);
    const char **id_ptrs = calloc ((size_t) opts.shops, sizeof *id_ptrs);
    const char **name_ptrs = calloc ((size_t) opts.shops, sizeof *name_ptrs);
    for (int s = 0; s < opts.shops; s++) {
        id_ptrs[s] = shop_ids[s];
        name_ptrs[s] = names[s];
    }
    bench_pg_shops_t setup = {opts.shops, id_ptrs, name_ptrs, tzs, s_configure_shop, &opts};
    fprintf (stderr, "bench_routing: setting up %d shops x %d agents ...\n", opts.shops,
             opts.agents);
    if (bench_pg_shops_setup (opts.db, &setup))
        return 1;

    //  The intake stand-in and intake's command endpoint.
    s_run_t *run = calloc (1, sizeof *run);
    run->opts = &opts;
    run->shop_ids = shop_ids;
    run->shops = calloc ((size_t) opts.shops, sizeof *run->shops);
    run->conv_cap = (opts.run_probe ? (int64_t) (opts.probe_duration * opts.probe_rate) : 0) +
                    (opts.run_fixed ? (int64_t) ((opts.warmup + opts.duration) * opts.rate) : 0) +
                    (opts.run_sat ? opts.sat_convs : 0) + 1;
    run->convs = calloc ((size_t) run->conv_cap, sizeof *run->convs);
    run->rng = 0x9e3779b97f4a7c15ULL;
    run->store = kf_store_new (opts.db, "bench-intake");
    run->outbox = kf_outbox_new ("intake", run->store);
    int events_port = kf_outbox_bind (run->outbox, "tcp://127.0.0.1:*");
    run->router = kf_wire_socket (KF_SOCK_ROUTER_SERVER, 65536);
    int commands_port = zsock_bind (run->router, "tcp://127.0.0.1:*");
    if (kf_store_connect (run->store) || events_port <= 0 || commands_port <= 0) {
        fprintf (stderr, "bench_routing: cannot connect or bind the intake stand-in\n");
        return 1;
    }

    double idle_busy = -1;
    if (opts.wait_quiet > 0)
        idle_busy = bench_wait_quiet ("bench_routing", opts.wait_quiet);
    double speed_start_ms = bench_cpu_speed_check_ms ();

    //  Raw limits: one ZeroMQ round trip, one durable commit (the least a
    //  decision can cost: the event in, the record, the command out).
    bench_zmq_result_t raw_zmq = {0};
    bench_pg_raw_result_t raw_pg = {0};
    bool have_raw = false;
    if (opts.run_raw) {
        fprintf (stderr, "bench_routing: raw ZeroMQ round trips and PostgreSQL commits ...\n");
        bench_zmq_opts_t zo = {1, 1, 2000, 128, 128};
        bench_pg_raw_opts_t po = {shop_ids[0], 1, 1000, 0, 1, 1000, 0};
        have_raw = bench_zmq_run (&zo, &raw_zmq) == 0 && bench_pg_raw (opts.db, &po, &raw_pg) == 0;
    }
    //  The floor under the fixed phase's tail: its traffic, nothing decided.
    bench_floor_result_t floor_r = {0};
    bool have_floor = false;
    if (opts.run_floor) {
        fprintf (stderr, "bench_routing: the floor: %d items/s for %.0f s, nothing decided ...\n",
                 opts.rate, opts.duration);
        bench_floor_opts_t fo = {opts.rate, 1.0, opts.duration, opts.batch_ms};
        have_floor = bench_floor_run (opts.db, &fo, &floor_r) == 0;
    }

    s_routing_t routing;
    fprintf (stderr, "bench_routing: starting routing (%s) ...\n",
             opts.process ? "process" : "in-process actor");
    if (s_routing_start (&routing, &opts, events_port, commands_port)) {
        s_routing_stop (&routing);
        return 1;
    }
    //  Our threads are named by themselves, after the actor was renamed.
    pthread_t producer, commands;
    pthread_create (&commands, NULL, s_commands_main, run);

    s_bench_t bench = {&opts, run, &routing, pg.postmaster_pid, 0, 0, 0};
    bool valid = true;
    //  Every agent logs in; routing applies it before any customer comes.
    fprintf (stderr, "bench_routing: %d agents online ...\n", opts.shops * opts.agents);
    if (s_publish_presence (run) || s_settle (&routing, opts.db, 30)) {
        fprintf (stderr, "bench_routing: routing did not apply the agents' presence\n");
        valid = false;
    }
    int pids[4];
    if (bench_pg_backend_pids (opts.db, "kefu-routing", pids, 4) == 1)
        bench.routing_backend = pids[0];
    if (bench_pg_backend_pids (opts.db, "bench-intake", pids, 4) == 1)
        bench.intake_backend = pids[0];
    int64_t seq_before = bench_pg_count (opts.db, S_SEQ_SCANS);
    bench_pg_checkpoint (opts.db);
    pthread_create (&producer, NULL, s_producer_main, run);

    s_result_t probe = {0}, fixed = {0}, sat = {0};
    if (valid && opts.run_probe &&
        s_run_paced (&bench, S_PHASE_PROBE, opts.probe_rate, 0, opts.probe_duration, &probe))
        valid = false;
    if (valid && opts.run_fixed &&
        s_run_paced (&bench, S_PHASE_FIXED, opts.rate, opts.warmup, opts.duration, &fixed))
        valid = false;
    if (valid && opts.run_sat && s_run_sat (&bench, &sat))
        valid = false;
    atomic_store (&run->mode, S_MODE_STOP);
    pthread_join (producer, NULL);

    //  Let routing apply everything and hand in its last commands.
    fprintf (stderr, "bench_routing: checking the record ...\n");
    if (s_settle (&routing, opts.db, 60))
        fprintf (stderr, "bench_routing: routing did not catch up within 60 s\n");
    int64_t deadline = bench_now_us () + 10000000;
    s_counters_t counters;
    while (true) {
        s_routing_counters (&routing, &counters);
        bool quiet = bench_now_us () - atomic_load (&run->last_cmd_us) > 300000;
        if ((counters.unacked == 0 && quiet && bench_pg_count (opts.db, S_UNSUBMITTED) == 0) ||
            bench_now_us () > deadline)
            break;
        zclock_sleep (50);
    }
    atomic_store (&run->stop, true);
    pthread_join (commands, NULL);
    s_routing_counters (&routing, &counters);
    s_routing_stop (&routing);
    if (opts.run_probe)
        s_collect (run, S_PHASE_PROBE, &probe);
    if (opts.run_fixed)
        s_collect (run, S_PHASE_FIXED, &fixed);
    s_collect_seconds (run, S_PHASE_FIXED, &fixed);
    if (opts.run_sat)
        s_collect (run, S_PHASE_SAT, &sat);
    s_checks_t checks;
    s_check (&opts, run, &counters, &checks);
    int64_t seq_scans = bench_pg_count (opts.db, S_SEQ_SCANS) - seq_before;
    valid = valid && checks.valid;
    s_log_latencies (&opts, run);
    double speed_end_ms = bench_cpu_speed_check_ms ();

    //  Report
    int total_agents = opts.shops * opts.agents;
    double open_steady = opts.rate * opts.lifetime;
    printf ("\n");
    printf ("kefu bench routing  %s  %s %s, %ld cores, load average %.2f at start\n", date,
            uts.nodename, uts.machine, cores, load[0]);
    if (idle_busy >= 0)
        printf ("machine %.0f%% busy just before the run (--wait-quiet)\n", 100 * idle_busy);
    printf (
        "CPU speed check (the same arithmetic on one core, best of 3): %.1f ms at the start, "
        "%.1f ms at the end; more than usual (~23 ms on the development VM) means a busy host\n",
        speed_start_ms, speed_end_ms);
    printf ("PostgreSQL %s: fsync=%s synchronous_commit=%s full_page_writes=%s "
            "wal_sync_method=%s\n",
            pg.server_version, pg.fsync, pg.synchronous_commit, pg.full_page_writes,
            pg.wal_sync_method);
    printf ("set-up: %d shops x %d agents (%d presales, %d aftersales; the first of each group "
            "VIP-capable), capacity %d each (%d in all), shift 00:00-24:00 every day in the shop's "
            "time zone, routing %s\n",
            opts.shops, opts.agents, opts.presales, opts.agents - opts.presales, opts.capacity,
            total_agents * opts.capacity, opts.process ? "as a process" : "in-process");
    printf ("traffic: conversation.opened + message.accepted (customer) at %d/s over all shops, "
            "agent reply after %.1f s, closed after %.1f s (~%.0f open, %.0f%% of capacity); "
            "%.0f%% returning customers, %.0f%% VIP, %.0f%% after-sales; intake stand-in commits "
            "every %.1f ms at most\n",
            opts.rate, opts.reply_after, opts.lifetime, open_steady,
            100 * open_steady / (double) (total_agents * opts.capacity), 100 * opts.returning,
            100 * opts.vip, 100 * opts.aftersales, opts.batch_ms);
    if (opts.hot_shops > 0 && opts.hot_shops < opts.shops) {
        double hot_rate = opts.rate * opts.hot_factor /
                          (opts.hot_shops * opts.hot_factor + (opts.shops - opts.hot_shops));
        printf ("popular shops: the first %d get %.1fx the traffic of the others (%.0f/s each: "
                "~%.0f conversations open against a capacity of %d, so some queue)\n",
                opts.hot_shops, opts.hot_factor, hot_rate, hot_rate * opts.lifetime,
                opts.agents * opts.capacity);
    }
    if (have_raw) {
        printf ("\nraw limits (same run)\n");
        printf ("  ZeroMQ round trip, 128 B each way (window 1):  p50 %.3f ms, p99 %.3f ms\n",
                raw_zmq.p50_ms, raw_zmq.p99_ms);
        printf ("  PostgreSQL single-row durable commit:          p50 %.3f ms, p99 %.3f ms (%d "
                "commits)\n",
                raw_pg.commit_p50_ms, raw_pg.commit_p99_ms, raw_pg.commits);
    }
    if (have_floor) {
        printf ("\nthe floor (same run): the fixed load's traffic with nothing decided, %d items/s "
                "for %.0f s: commit, publish, SUB, commit, DEALER -> ROUTER\n",
                opts.rate, opts.duration);
        printf ("  publication -> arrival:  p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms "
                "(%" PRId64 " items)\n",
                floor_r.p50_ms, floor_r.p99_ms, floor_r.p999_ms, floor_r.max_ms, floor_r.items);
        printf ("  the relay's commits: p50 %.3f ms, p99 %.3f ms, max %.2f ms (%" PRId64
                "); commits over 2 ms (either side): %" PRId64 "\n",
                floor_r.commit_p50_ms, floor_r.commit_p99_ms, floor_r.commit_max_ms,
                floor_r.commits, floor_r.slow_commits);
    }

    printf ("\nrouting: conversation.opened published (after intake's commit) -> first command "
            "(assign, or busy reply when queued) at intake's command endpoint\n");
    printf ("  %-21s %7s %9s %9s %7s %7s %8s %7s %7s %7s %7s\n", "phase", "convs", "offered/s",
            "decided/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "new", "sticky", "queued");
    const s_result_t *rs[3] = {&probe, &fixed, &sat};
    const char *phase_names[3] = {"probe", "fixed", "saturation"};
    char label[64];
    for (int i = 0; i < 3; i++) {
        if (!rs[i]->ran)
            continue;
        if (i == 0)
            snprintf (label, sizeof label, "probe %d/s x %.0f s", opts.probe_rate,
                      opts.probe_duration);
        else if (i == 1)
            snprintf (label, sizeof label, "fixed %d/s x %.0f s", opts.rate, opts.duration);
        else
            snprintf (label, sizeof label, "saturation (win %d)", opts.window);
        s_print_phase (label, rs[i]);
    }
    for (int i = 0; i < 3; i++)
        if (rs[i]->ran && rs[i]->queued)
            printf ("  %s: %" PRId64 " queued (busy reply first), %" PRId64
                    " of them assigned later (publication -> assign p50 %.0f ms, p99 %.0f ms), "
                    "%" PRId64 " closed by the customer while waiting or still queued\n",
                    phase_names[i], rs[i]->queued, rs[i]->queued_assigned, rs[i]->wait_p50,
                    rs[i]->wait_p99, rs[i]->queued - rs[i]->queued_assigned);
    if (fixed.ran)
        printf ("  fixed load pacing (intake stand-in, due -> published): p99 %.2f ms, max %.2f "
                "ms, %" PRId64 " more than 2 ms late; %" PRId64
                " agent replies skipped in the run (no owner yet)\n",
                fixed.late_p99, fixed.late_max, fixed.late, run->replies_skipped);
    if (fixed.ran && fixed.sec_count > 0) {
        printf ("  fixed, second by second (p50/p99 ms):");
        for (int sec = 0; sec < fixed.sec_count; sec++)
            if (fixed.sec_p50[sec] >= 0)
                printf (" %.1f/%.1f", fixed.sec_p50[sec], fixed.sec_p99[sec]);
        printf ("\n");
    }
    for (int i = 0; i < 3; i++)
        if (rs[i]->ran)
            s_print_routing (phase_names[i], rs[i]);
    printf ("  sequential scans of routing's tables during the run: %" PRId64 " (%s)\n", seq_scans,
            opts.analyze ? "ANALYZE half-way through the warm-up" : "no ANALYZE");

    printf ("\nchecks of the record (routing_conversations, assignments, routing_outbox) and of "
            "the commands received\n");
    printf ("  %" PRId64 " conversations opened, %" PRId64 " closed; %" PRId64
            " in routing_conversations (the open ones: expected %" PRId64 "); %" PRId64
            " without any command\n",
            run->opened, checks.closed, checks.rows, run->opened - checks.closed, checks.undecided);
    printf ("  assigned: %" PRId64 " by assign commands, %" PRId64
            " in the record (assignments); open and assigned: %" PRId64 " by commands, %" PRId64
            " in the record; not assigned: %" PRId64 " queued now + %" PRId64
            " closed while queued (expected %" PRId64 ")\n",
            checks.bench_assigned, checks.ever_assigned, checks.open_assigned, checks.assigned_now,
            checks.queued_now, checks.closed_unassigned, run->opened - checks.bench_assigned);
    printf ("  conversations with two first assignments: %" PRId64 " in the record, %" PRId64
            " by commands; commands received again (same request id): %" PRId64 "\n",
            checks.twice, checks.reassigned, checks.resent);
    printf ("  agents over capacity: worst load - capacity %" PRId64 " at the end",
            checks.over_capacity);
    for (int i = 0; i < 3; i++)
        if (rs[i]->ran && rs[i]->checks)
            printf (", %" PRId64 " in %d check%s during %s", rs[i]->over_capacity, rs[i]->checks,
                    rs[i]->checks == 1 ? "" : "s", phase_names[i]);
    printf (" (<= 0: none over)\n");
    printf ("  commands: %" PRId64 " CommandSubmits answered ACCEPTED (%" PRId64 " assign: %" PRId64
            " new, %" PRId64 " sticky, %" PRId64 " from the queue, %" PRId64 " other; %" PRId64
            " auto-replies), %" PRId64 " unparsable; %" PRId64
            " not acknowledged in routing_outbox; routing: %" PRId64
            " failed transactions, %" PRId64 " refused commands\n",
            run->submits, run->assign_cmds, run->by_reason[1], run->by_reason[2], run->by_reason[3],
            run->assign_cmds - run->by_reason[1] - run->by_reason[2] - run->by_reason[3],
            run->reply_cmds, run->bad_cmds, checks.unsubmitted, counters.txn_failed,
            counters.refused);

    printf ("\nCPU seconds used per phase (%ld cores = %ld CPU-s per wall second)\n", cores, cores);
    for (int i = 0; i < 3; i++)
        if (rs[i]->ran)
            s_print_cpu (phase_names[i], rs[i], opts.process, cores);
    printf ("\nWaiting for the machine (pressure stall information: share of the phase in which "
            "some task waited; I/O includes the commits' own fsyncs)\n");
    for (int i = 0; i < 3; i++)
        if (rs[i]->ran && rs[i]->io_stall >= 0)
            printf ("  %-11s I/O %4.1f %%, CPU %4.1f %%\n", phase_names[i], 100 * rs[i]->io_stall,
                    100 * rs[i]->cpu_stall);
    printf ("\nCPU per decision (microseconds; less sensitive to other load than rates)\n");
    for (int i = 0; i < 3; i++) {
        const s_result_t *r = rs[i];
        int64_t decisions =
            r->after.decisions - r->before.decisions + r->after.queued - r->before.queued;
        if (!r->ran || decisions <= 0)
            continue;
        double per = 1e6 / (double) decisions;
        printf ("  %-11s routing %5.1f, postgres %5.1f (routing's backend %5.1f, intake "
                "stand-in's %5.1f, rest %5.1f), intake stand-in %5.1f, zmq I/O %5.1f  "
                "(%.1f events applied per decision)\n",
                phase_names[i], per * r->cpu.routing, per * r->cpu.postgres,
                per * r->pg_routing_cpu, per * r->pg_intake_cpu,
                per * s_nonneg (r->cpu.postgres - r->pg_routing_cpu - r->pg_intake_cpu),
                per * r->cpu.intake, per * r->cpu.zmq_io,
                (double) (r->after.applied - r->before.applied) / (double) decisions);
    }
    double other = 0;
    for (int i = 0; i < 3; i++)
        if (rs[i]->ran && s_other_cores (&rs[i]->cpu, opts.process) > other)
            other = s_other_cores (&rs[i]->cpu, opts.process);
    if (other > 0.1)
        printf ("\nWARNING: other processes used up to %.2f of the %ld cores during a phase: "
                "the figures understate this machine (run again when it is idle)\n",
                other, cores);

    printf ("\ntargets\n");
    if (fixed.ran) {
        bool paced = fixed.offered_per_s >= 0.98 * opts.rate;
        printf ("  decision p99 <= 5 ms at %d new conversations/s offered:  p99 %.2f ms (p50 %.2f, "
                "p99.9 %.2f; offered %.0f/s)   %s\n",
                opts.rate, fixed.p99, fixed.p50, fixed.p999, fixed.offered_per_s,
                bench_met (fixed.p99 <= 5.0 && paced && opts.rate >= 5000));
        if (have_floor)
            printf ("    the floor at the same rate (nothing decided):  p99 %.2f ms (p50 %.2f, "
                    "p99.9 %.2f)\n",
                    floor_r.p99_ms, floor_r.p50_ms, floor_r.p999_ms);
    }
    if (sat.ran)
        printf ("  sustained decisions/s (saturation, %d undecided in flight at most):  %.0f/s\n",
                opts.window, sat.decided_per_s);
    if (!valid)
        printf ("  RUN INVALID: see the checks and messages above\n");

    char dps[32], p50[32], p99[32], p999[32], pmax[32], fdps[32], sp50[32], sp99[32], pr50[32],
        pr99[32], assigned[32], queued[32], pgcpu[32], rcpu[32], rtt[32], commit[32], fl50[32],
        fl99[32], fl999[32];
    const s_result_t *main_r = fixed.ran ? &fixed : sat.ran ? &sat : &probe;
    int64_t fixed_decisions = fixed.ran ? fixed.after.decisions - fixed.before.decisions +
                                              fixed.after.queued - fixed.before.queued
                                        : 0;
    bench_json_num (dps, sizeof dps, sat.decided_per_s, sat.ran);
    bench_json_num (p50, sizeof p50, fixed.p50, fixed.ran);
    bench_json_num (p99, sizeof p99, fixed.p99, fixed.ran);
    bench_json_num (p999, sizeof p999, fixed.p999, fixed.ran);
    bench_json_num (pmax, sizeof pmax, fixed.max, fixed.ran);
    bench_json_num (fdps, sizeof fdps, fixed.decided_per_s, fixed.ran);
    bench_json_num (sp50, sizeof sp50, sat.p50, sat.ran);
    bench_json_num (sp99, sizeof sp99, sat.p99, sat.ran);
    bench_json_num (pr50, sizeof pr50, probe.p50, probe.ran);
    bench_json_num (pr99, sizeof pr99, probe.p99, probe.ran);
    bench_json_num (assigned, sizeof assigned,
                    main_r->decided ? (double) (main_r->assigned_now + main_r->sticky) /
                                          (double) main_r->decided
                                    : 0,
                    main_r->decided > 0);
    bench_json_num (queued, sizeof queued,
                    main_r->decided ? (double) main_r->queued / (double) main_r->decided : 0,
                    main_r->decided > 0);
    bench_json_num (pgcpu, sizeof pgcpu,
                    fixed_decisions ? 1e6 * fixed.pg_routing_cpu / (double) fixed_decisions : 0,
                    fixed_decisions > 0);
    bench_json_num (rcpu, sizeof rcpu,
                    fixed_decisions ? 1e6 * fixed.cpu.routing / (double) fixed_decisions : 0,
                    fixed_decisions > 0);
    bench_json_num (rtt, sizeof rtt, raw_zmq.p50_ms, have_raw);
    bench_json_num (commit, sizeof commit, raw_pg.commit_p50_ms, have_raw);
    bench_json_num (fl50, sizeof fl50, floor_r.p50_ms, have_floor);
    bench_json_num (fl99, sizeof fl99, floor_r.p99_ms, have_floor);
    bench_json_num (fl999, sizeof fl999, floor_r.p999_ms, have_floor);
    printf ("{\"bench\":\"routing\",\"decisions_per_s\":%s,\"decide_p50_ms\":%s,"
            "\"decide_p99_ms\":%s,\"decide_p999_ms\":%s,\"decide_max_ms\":%s,"
            "\"fixed_decided_per_s\":%s,\"sat_p50_ms\":%s,\"sat_p99_ms\":%s,"
            "\"probe_p50_ms\":%s,\"probe_p99_ms\":%s,"
            "\"assigned_share\":%s,\"queued_share\":%s,\"routing_cpu_us_per_decision\":%s,"
            "\"routing_pg_cpu_us_per_decision\":%s,\"raw_zmq_rtt_p50_ms\":%s,"
            "\"raw_pg_commit_p50_ms\":%s,\"floor_p50_ms\":%s,\"floor_p99_ms\":%s,"
            "\"floor_p999_ms\":%s,\"floor_slow_commits\":%" PRId64 ",\"seq_scans\":%" PRId64
            ",\"other_load_cores\":%.2f,\"cpu_check_start_ms\":%.1f,\"cpu_check_end_ms\":%.1f,"
            "\"fixed_io_pressure\":%.3f,\"fixed_cpu_pressure\":%.3f,"
            "\"shops\":%d,\"agents\":%d,\"rate\":%d,"
            "\"routing\":\"%s\",\"valid\":%s}\n",
            dps, p50, p99, p999, pmax, fdps, sp50, sp99, pr50, pr99, assigned, queued, rcpu, pgcpu,
            rtt, commit, fl50, fl99, fl999, floor_r.slow_commits, seq_scans, other, speed_start_ms,
            speed_end_ms, fixed.io_stall, fixed.cpu_stall, opts.shops, total_agents, opts.rate,
            opts.process ? "process" : "inproc", valid ? "true" : "false");
    fflush (stdout);

    kf_outbox_destroy (&run->outbox);
    kf_store_destroy (&run->store);
    zsock_destroy (&run->router);
    for (int s = 0; s < opts.shops; s++) {
        free (run->shops[s].open);
        free (run->shops[s].back);
    }
    free (run->shops);
    free (run->convs);
    free (run);
    free (shop_ids);
    free (names);
    free (tzs);
    free (id_ptrs);
    free (name_ptrs);
    return valid ? 0 : 1;
}
