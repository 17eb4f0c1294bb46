/*  bench_intake — how fast intake stores and acknowledges items, next to the
    raw limits of the same machine measured in the same run.

    1. raw ZeroMQ: DEALER -> ROUTER acked round trips over tcp loopback with
       intake's frame sizes and the gateway library's window (bench_zmq);
    2. raw PostgreSQL: the same message rows, 1,000 per committed
       transaction, into a table LIKE messages (bench_pg);
    3. intake itself: N gateways (libkefu-gateway, one thread each) push
       realistic customer messages into the real intake service on the same
       database, (a) at a fixed offered load, (b) as fast as their windows
       allow (saturation). Latency is from kefu_gateway_send to the final
       ack callback;
    4. a burst (bench_burst): a kefu-intake process of its own, gateways at
       a fixed rate and one greedy gateway handing it thousands of large
       items at once: the others' latency while it lasts, and intake's
       memory before, at the peak and after.

    Prints a table, then one JSON line (the last line). Run it through
    bench/run, which builds, starts a private PostgreSQL and migrates. */
#include "bench_burst.h"
#include "bench_corpus.h"
#include "bench_pg.h"
#include "bench_service.h"
#include "bench_stats.h"
#include "bench_zmq.h"

#include "intake_config.h"
#include "intake_server.h"
#include "kefu_gateway.h"
#include "kf_clock.h"
#include "kf_daemon.h"
#include "kf_log.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

//  ---------------------------------------------------------------------
//  Options

typedef struct {
    const char *db;          //  libpq URL of a migrated database
    const char *shop;        //  registered shop the items belong to
    int gateways;            //  concurrent gateways
    int window;              //  libkefu-gateway window per gateway
    int rate;                //  fixed offered load, items/s in total
    double duration;         //  seconds of fixed load
    int64_t sat_items;       //  items of the saturation phase
    int customers;           //  distinct buyers
    int frame_bytes;         //  raw ZeroMQ frame size (0: intake's mean frame)
    int64_t zmq_round_trips; //  raw ZeroMQ round trips (windowed)
    int zmq_rtt;             //  raw ZeroMQ single round trips (window 1)
    int64_t pg_rows;         //  raw PostgreSQL rows (0: as many as saturation items)
    int pg_batch;            //  raw PostgreSQL rows per transaction
    int pg_singles;          //  raw PostgreSQL single-row commits
    int warmup;              //  unmeasured items per gateway before the intake phases
    const char *latency_log; //  file for every item's send time and latency (or NULL)
    int wait_quiet;          //  seconds to wait for other processes to go quiet first
    bool analyze;            //  ANALYZE after the warm-up (as autovacuum would have by then)
    bool process;            //  run the kefu-intake binary instead of the in-process actor
    const char *intake_bin;  //  path of kefu-intake (process mode)
    int burst_others;        //  burst phase: gateways at a fixed rate
    int burst_rate;          //  ... their items/s in total
    int64_t burst_items;     //  ... items of the greedy gateway's burst
    int burst_body;          //  ... bytes of each burst item's body
    int bursts;              //  ... bursts
    double burst_settle;     //  ... seconds after the last burst to the after-burst RSS
    bool run_zmq, run_pg, run_fixed, run_sat, run_burst; //  phases
} s_opts_t;

static void
s_usage (FILE *out)
{
    fprintf (
        out,
        "Usage: bench_intake --db URL [options]\n"
        "\n"
        "Measures intake (libkefu-gateway -> kefu-intake -> PostgreSQL) next to the raw\n"
        "ZeroMQ and PostgreSQL limits of this machine, in one run. The database must be\n"
        "migrated and the shop registered (bench/run does both). The last line printed\n"
        "is one JSON object.\n"
        "\n"
        "  --db URL               database (default: $KEFU_DATABASE_URL)\n"
        "  --shop ID              registered shop (default bench-shop)\n"
        "  --gateways N           concurrent gateways, one thread each (default 8)\n"
        "  --window N             libkefu-gateway window per gateway (default 1000)\n"
        "  --rate R               fixed offered load, items/s in total (default 2000)\n"
        "  --duration S           seconds of fixed load (default 10)\n"
        "  --saturation-items N   items pushed as fast as the windows allow (default 100000)\n"
        "  --customers N          distinct buyers (default 20000)\n"
        "  --frame-bytes N        raw ZeroMQ frame size (default: intake's mean item frame)\n"
        "  --zmq-round-trips N    raw ZeroMQ windowed round trips (default 200000)\n"
        "  --zmq-rtt N            raw ZeroMQ single round trips, window 1 (default 5000)\n"
        "  --pg-rows N            raw PostgreSQL rows (default: = saturation items)\n"
        "  --pg-batch N           raw PostgreSQL rows per transaction (default 1000)\n"
        "  --pg-singles N         raw PostgreSQL single-row commits (default 1000)\n"
        "  --warmup N             unmeasured items per gateway first (default 1000)\n"
        "  --no-analyze           do not ANALYZE after the warm-up (statistics are then\n"
        "                         whatever autovacuum made of the young tables)\n"
        "  --intake inproc|process  intake as an in-process actor (default) or the\n"
        "                         kefu-intake binary as a child process\n"
        "  --intake-bin PATH      kefu-intake (default: ../services/intake/kefu-intake\n"
        "                         next to this program)\n"
        "  --phases LIST          comma list of zmq,pg,fixed,sat,burst (default all)\n"
        "  --burst-others N       burst phase: gateways at a fixed rate (default 7)\n"
        "  --burst-rate R         ... their items/s in total (default 2000)\n"
        "  --burst-items N        ... items the greedy gateway sends at once (default 5000)\n"
        "  --burst-body BYTES     ... body of each of them (default 7168)\n"
        "  --bursts N             ... bursts, 2 s apart (default 1)\n"
        "  --burst-settle S       ... seconds after the last burst until the after-burst\n"
        "                         RSS is taken (default 10)\n"
        "  --latency-log FILE     write every measured item: phase, gateway, send time\n"
        "                         (ms since the phase start), latency (ms)\n"
        "  --wait-quiet S         before each phase wait up to S seconds until the machine\n"
        "                         is idle (< 10%% busy over 2 s): other processes skew results\n"
        "  --help\n"
        "\n"
        "Intake's own settings come from the environment as usual (KEFU_INTAKE_BATCH_MAX,\n"
        "KEFU_LOG_LEVEL=debug shows intake.batch_committed per batch; default warn).\n");
}

static int
s_parse (s_opts_t *o, int argc, char **argv)
{
    *o = (s_opts_t){.db = getenv ("KEFU_DATABASE_URL"),
                    .shop = "bench-shop",
                    .gateways = 8,
                    .window = 1000,
                    .rate = 2000,
                    .duration = 10,
                    .sat_items = 100000,
                    .customers = 20000,
                    .zmq_round_trips = 200000,
                    .zmq_rtt = 5000,
                    .pg_batch = 1000,
                    .pg_singles = 1000,
                    .warmup = 1000,
                    .analyze = true,
                    .run_zmq = true,
                    .run_pg = true,
                    .run_fixed = true,
                    .run_sat = true,
                    .burst_others = 7,
                    .burst_rate = 2000,
                    .burst_items = 5000,
                    .burst_body = 7168,
                    .bursts = 1,
                    .burst_settle = 10,
                    .run_burst = true};
    static const struct option longs[] = {{"db", 1, NULL, 'd'},
                                          {"shop", 1, NULL, 's'},
                                          {"gateways", 1, NULL, 'g'},
                                          {"window", 1, NULL, 'w'},
                                          {"rate", 1, NULL, 'r'},
                                          {"duration", 1, NULL, 'D'},
                                          {"saturation-items", 1, NULL, 'S'},
                                          {"customers", 1, NULL, 'c'},
                                          {"frame-bytes", 1, NULL, 'f'},
                                          {"zmq-round-trips", 1, NULL, 'z'},
                                          {"zmq-rtt", 1, NULL, 'Z'},
                                          {"pg-rows", 1, NULL, 'p'},
                                          {"pg-batch", 1, NULL, 'b'},
                                          {"pg-singles", 1, NULL, 'P'},
                                          {"warmup", 1, NULL, 'W'},
                                          {"intake", 1, NULL, 'i'},
                                          {"intake-bin", 1, NULL, 'I'},
                                          {"phases", 1, NULL, 'x'},
                                          {"latency-log", 1, NULL, 'L'},
                                          {"wait-quiet", 1, NULL, 'q'},
                                          {"no-analyze", 0, NULL, 'A'},
                                          {"burst-others", 1, NULL, 'o'},
                                          {"burst-rate", 1, NULL, 'R'},
                                          {"burst-items", 1, NULL, 'B'},
                                          {"burst-body", 1, NULL, 'y'},
                                          {"bursts", 1, NULL, 'n'},
                                          {"burst-settle", 1, NULL, 't'},
                                          {"help", 0, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long (argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->db = optarg;
            break;
        case 's':
            o->shop = optarg;
            break;
        case 'g':
            o->gateways = atoi (optarg);
            break;
        case 'w':
            o->window = atoi (optarg);
            break;
        case 'r':
            o->rate = atoi (optarg);
            break;
        case 'D':
            o->duration = atof (optarg);
            break;
        case 'S':
            o->sat_items = atoll (optarg);
            break;
        case 'c':
            o->customers = atoi (optarg);
            break;
        case 'f':
            o->frame_bytes = atoi (optarg);
            break;
        case 'z':
            o->zmq_round_trips = atoll (optarg);
            break;
        case 'Z':
            o->zmq_rtt = atoi (optarg);
            break;
        case 'p':
            o->pg_rows = atoll (optarg);
            break;
        case 'b':
            o->pg_batch = atoi (optarg);
            break;
        case 'P':
            o->pg_singles = atoi (optarg);
            break;
        case 'W':
            o->warmup = atoi (optarg);
            break;
        case 'i':
            if (strcmp (optarg, "inproc") && strcmp (optarg, "process")) {
                fprintf (stderr, "bench_intake: --intake takes inproc or process\n");
                return 2;
            }
            o->process = strcmp (optarg, "process") == 0;
            break;
        case 'I':
            o->intake_bin = optarg;
            break;
        case 'L':
            o->latency_log = optarg;
            break;
        case 'q':
            o->wait_quiet = atoi (optarg);
            break;
        case 'A':
            o->analyze = false;
            break;
        case 'o':
            o->burst_others = atoi (optarg);
            break;
        case 'R':
            o->burst_rate = atoi (optarg);
            break;
        case 'B':
            o->burst_items = atoll (optarg);
            break;
        case 'y':
            o->burst_body = atoi (optarg);
            break;
        case 'n':
            o->bursts = atoi (optarg);
            break;
        case 't':
            o->burst_settle = atof (optarg);
            break;
        case 'x':
            o->run_zmq = strstr (optarg, "zmq") != NULL;
            o->run_pg = strstr (optarg, "pg") != NULL;
            o->run_fixed = strstr (optarg, "fixed") != NULL;
            o->run_sat = strstr (optarg, "sat") != NULL;
            o->run_burst = strstr (optarg, "burst") != NULL;
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
        fprintf (stderr, "bench_intake: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    if (!o->db || !*o->db) {
        fprintf (stderr, "bench_intake: --db URL (or KEFU_DATABASE_URL) is required\n");
        return 2;
    }
    if (o->gateways < 1 || o->gateways > 256 || o->window < 1 || o->rate < 1 || o->duration <= 0 ||
        o->sat_items < o->gateways || o->customers < o->gateways || o->pg_batch < 1 ||
        o->zmq_round_trips < o->gateways || o->zmq_rtt < 1 || o->warmup < 0 || o->frame_bytes < 0 ||
        o->burst_others < 1 || o->burst_rate < 1 || o->burst_items < 1 || o->burst_body < 1 ||
        o->bursts < 1 || o->bursts > 16 || o->burst_settle < 0) {
        fprintf (stderr, "bench_intake: an option is out of range (see --help)\n");
        return 2;
    }
    if (o->pg_rows <= 0)
        o->pg_rows = o->sat_items;
    return 0;
}

//  ---------------------------------------------------------------------
//  Intake: in-process actor or child process

typedef struct {
    bench_service_t *service;  //  the running intake
    intake_config_t config;    //  actor: its settings
    kf_common_config_t common; //  actor: database URL, logging
    kf_service_args_t args;    //  actor: what it got
    kf_clock_t *clock;         //  actor: real time
    pid_t pid;                 //  process: its pid (0 for the actor)
    char gateway_endpoint[64]; //  where gateways connect
} s_intake_t;

static void
s_set (char **slot, const char *value)
{
    free (*slot);
    *slot = strdup (value);
}

//  Start intake; 0, or -1 (reason on stderr).
static int
s_intake_start (s_intake_t *self, const s_opts_t *opts)
{
    memset (self, 0, sizeof *self);
    if (!opts->process) {
        if (intake_config_defaults (&self->config, &self->common)) {
            fprintf (stderr, "bench_intake: intake's configuration does not load\n");
            return -1;
        }
        s_set (&self->common.database_url, opts->db);
        s_set (&self->config.gateway_endpoint, "tcp://127.0.0.1:*");
        s_set (&self->config.command_endpoint, "tcp://127.0.0.1:*");
        s_set (&self->config.events_endpoint, "tcp://127.0.0.1:*");
        s_set (&self->config.control_endpoint, "tcp://127.0.0.1:*");
        self->config.insecure = true;
        kf_config_apply_logging (&self->common);
        self->clock = kf_clock_new_real ();
        self->args =
            (kf_service_args_t){&intake_config_spec, &self->config, &self->common, self->clock};
        self->service = bench_service_actor ("intake", intake_server, &self->args);
        if (!self->service)
            return -1;
        snprintf (self->gateway_endpoint, sizeof self->gateway_endpoint, "tcp://127.0.0.1:%d",
                  bench_service_port (self->service, "gateway"));
        return 0;
    }
    char bin[1024];
    if (opts->intake_bin)
        snprintf (bin, sizeof bin, "%s", opts->intake_bin);
    else
        bench_service_bin (bin, sizeof bin, "intake/kefu-intake");
    char env[6][1200];
    snprintf (self->gateway_endpoint, sizeof self->gateway_endpoint, "tcp://127.0.0.1:%d",
              bench_free_port ());
    char control[64];
    snprintf (control, sizeof control, "tcp://127.0.0.1:%d", bench_free_port ());
    snprintf (env[0], sizeof env[0], "KEFU_DATABASE_URL=%s", opts->db);
    snprintf (env[1], sizeof env[1], "KEFU_INTAKE_GATEWAY_ENDPOINT=%s", self->gateway_endpoint);
    snprintf (env[2], sizeof env[2], "KEFU_INTAKE_COMMAND_ENDPOINT=tcp://127.0.0.1:%d",
              bench_free_port ());
    snprintf (env[3], sizeof env[3], "KEFU_INTAKE_EVENTS_ENDPOINT=tcp://127.0.0.1:%d",
              bench_free_port ());
    snprintf (env[4], sizeof env[4], "KEFU_INTAKE_CONTROL_ENDPOINT=%s", control);
    snprintf (env[5], sizeof env[5], "KEFU_INSECURE=1");
    const char *envp[] = {env[0], env[1], env[2], env[3], env[4], env[5], NULL};
    self->service = bench_service_spawn ("intake", bin, envp, control, NULL);
    if (!self->service)
        return -1;
    self->pid = bench_service_pid (self->service);
    return 0;
}

static void
s_intake_stop (s_intake_t *self)
{
    bench_service_stop (&self->service, 10, NULL);
    if (self->clock) { //  the actor's
        kf_config_free (intake_config_spec.entries, &self->config);
        kf_config_free (kf_common_config_entries, &self->common);
        kf_clock_destroy (&self->clock);
    }
    self->pid = 0;
}

//  ---------------------------------------------------------------------
//  Gateways: one thread each, driving one libkefu-gateway client

typedef enum { S_WARMUP = 0, S_FIXED = 1, S_SAT = 2, S_KINDS = 3 } s_kind_t;
static const char s_letters[S_KINDS] = {'w', 'f', 's'};

//  One gateway's view of one phase.
typedef struct {
    int64_t planned;         //  items to send
    int64_t sent;            //  items handed to kefu_gateway_send
    int64_t acked;           //  final acks
    int64_t accepted;        //  ACCEPTED
    int64_t duplicate;       //  DUPLICATE
    int64_t rejected;        //  REJECTED
    int64_t stray;           //  acks for ids not of this phase
    int64_t *sent_us;        //  send time of each item (by seq)
    int32_t *lat_us;         //  latency of each item (by seq), for --latency-log
    bench_lat_t *lat;        //  send -> final ack
    int64_t last_send_us;    //  time of the last send
    int64_t last_ack_us;     //  time of the last final ack
    int64_t max_late_us;     //  fixed load: worst lateness of a send against its schedule
    int64_t late_sends;      //  fixed load: sends more than 2 ms behind schedule
    bool timed_out;          //  not every ack came in time
    char reject_reason[160]; //  first REJECTED reason
} s_phase_t;

typedef struct s_run_t s_run_t;

typedef struct {
    int index;                //  gateway number
    char name[16];            //  gateway id "gwNN"
    char prefix[S_KINDS][24]; //  message id prefix per phase and run ("6a3f1cf3")
    s_run_t *run;             //  shared state
    kefu_gateway_t *gw;       //  the client (owned by this thread)
    s_phase_t phases[S_KINDS];
    s_phase_t *phase;           //  the phase acks count towards
    uint64_t rng;               //  body and customer choice
    bool failed;                //  no Welcome
    kefu_gateway_stats_t stats; //  at the end
} s_gateway_t;

struct s_run_t {
    const s_opts_t *opts;
    const char *endpoint;    //  intake's gateway endpoint
    pthread_barrier_t ready; //  every gateway is between phases
    pthread_barrier_t go;    //  start_us is set
    pthread_barrier_t done;  //  every gateway has every ack of the phase
    int64_t start_us;        //  common start of the current phase
    int nphases;             //  measured phases to run
    s_kind_t phases[2];      //  which
};

static void
s_on_ack (const Kefu__V1__Ack *ack, void *arg)
{
    s_gateway_t *self = arg;
    s_phase_t *ph = self->phase;
    int64_t now = bench_now_us ();
    int64_t seq = bench_item_seq (ack->gateway_msg_id.data, ack->gateway_msg_id.len);
    if (!ph || seq < 0 || seq >= ph->sent) {
        if (ph)
            ph->stray++;
        return;
    }
    ph->acked++;
    ph->last_ack_us = now;
    bench_lat_add (ph->lat, now - ph->sent_us[seq]);
    ph->lat_us[seq] = (int32_t) (now - ph->sent_us[seq]);
    if (ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
        ph->accepted++;
    else if (ack->status == KEFU__V1__ACK_STATUS__ACK_DUPLICATE)
        ph->duplicate++;
    else {
        ph->rejected++;
        if (!ph->reject_reason[0])
            snprintf (ph->reject_reason, sizeof ph->reject_reason, "%s",
                      ack->reason ? ack->reason : "");
    }
}

//  Hand the next item of the phase to the library. 0, or -1 (window full).
static int
s_send_next (s_gateway_t *self, s_phase_t *ph, s_kind_t kind)
{
    bench_item_t it;
    bench_item_make (&it, self->run->opts->shop, self->prefix[kind], self->index,
                     self->run->opts->gateways, ph->sent, self->run->opts->customers, &self->rng);
    int64_t now = bench_now_us ();
    ph->sent_us[ph->sent] = now;
    if (kefu_gateway_send (self->gw, &it.item) == -1)
        return -1;
    ph->sent++;
    ph->last_send_us = now;
    return 0;
}

//  Poll until every item of the phase has its final ack, or deadline.
static void
s_wait_acks (s_gateway_t *self, s_phase_t *ph, int64_t deadline)
{
    while (ph->acked < ph->planned && bench_now_us () < deadline)
        kefu_gateway_poll (self->gw, 100);
    ph->timed_out = ph->acked < ph->planned;
}

//  As fast as the window allows.
static void
s_run_saturation (s_gateway_t *self, s_phase_t *ph, s_kind_t kind)
{
    int64_t deadline = bench_now_us () + 600 * 1000000LL;
    while (ph->acked < ph->planned && bench_now_us () < deadline) {
        while (ph->sent < ph->planned && s_send_next (self, ph, kind) == 0)
            ;
        kefu_gateway_poll (self->gw, 50);
    }
    ph->timed_out = ph->acked < ph->planned;
}

//  Paced: item k of gateway g is due at start + (g / N + k) * interval,
//  interval = N / rate, so the gateways together offer `rate` items/s,
//  evenly interleaved. Items due within the next millisecond go now (poll
//  timeouts have millisecond resolution); latency is measured from the
//  actual send, and sends later than 2 ms are counted.
static void
s_run_fixed (s_gateway_t *self, s_phase_t *ph, int64_t start_us)
{
    const s_opts_t *opts = self->run->opts;
    double interval = 1e6 * opts->gateways / opts->rate;
    int64_t first = start_us + (int64_t) (interval * self->index / opts->gateways);
    bench_sleep_until_us (first);
    while (ph->sent < ph->planned) {
        int64_t now = bench_now_us ();
        bool full = false;
        while (ph->sent < ph->planned) {
            int64_t due = first + (int64_t) (interval * (double) ph->sent);
            if (due > now + 1000)
                break;
            if (s_send_next (self, ph, S_FIXED)) {
                full = true;
                break;
            }
            int64_t late = now - due;
            if (late > ph->max_late_us)
                ph->max_late_us = late;
            if (late > 2000)
                ph->late_sends++;
        }
        if (ph->sent >= ph->planned)
            break;
        int64_t due = first + (int64_t) (interval * (double) ph->sent);
        int64_t wait_ms = (due - bench_now_us ()) / 1000;
        kefu_gateway_poll (self->gw, full ? 10 : wait_ms > 0 ? (int) wait_ms : 0);
    }
    s_wait_acks (self, ph, bench_now_us () + 120 * 1000000LL);
}

static void *
s_gateway_main (void *arg)
{
    s_gateway_t *self = arg;
    s_run_t *run = self->run;
    char thread_name[16];
    snprintf (thread_name, sizeof thread_name, "bench-gw%d", self->index);
    bench_thread_name (thread_name);
    kefu_gateway_options_t options = kefu_gateway_options_default ();
    options.endpoint = run->endpoint;
    options.gateway_id = self->name;
    options.window = run->opts->window;
    self->gw = kefu_gateway_new (&options);
    if (self->gw) {
        kefu_gateway_on_ack (self->gw, s_on_ack, self);
        int64_t deadline = bench_now_us () + 10000000;
        while (!kefu_gateway_welcomed (self->gw) && bench_now_us () < deadline)
            kefu_gateway_poll (self->gw, 50);
    }
    self->failed = !self->gw || !kefu_gateway_welcomed (self->gw);
    if (!self->failed) {
        //  Warm-up: connections, prepared statements, caches; not measured.
        s_phase_t *ph = &self->phases[S_WARMUP];
        self->phase = ph;
        while (ph->sent < ph->planned) {
            if (s_send_next (self, ph, S_WARMUP))
                kefu_gateway_poll (self->gw, 10);
        }
        s_wait_acks (self, ph, bench_now_us () + 60 * 1000000LL);
    }
    for (int p = 0; p < run->nphases; p++) {
        s_kind_t kind = run->phases[p];
        s_phase_t *ph = &self->phases[kind];
        pthread_barrier_wait (&run->ready);
        pthread_barrier_wait (&run->go);
        self->phase = ph;
        if (!self->failed) {
            if (kind == S_FIXED)
                s_run_fixed (self, ph, run->start_us);
            else
                s_run_saturation (self, ph, kind);
        }
        pthread_barrier_wait (&run->done);
    }
    //  Stay alive until the main thread has sampled our CPU time.
    pthread_barrier_wait (&run->ready);
    self->phase = NULL;
    if (self->gw)
        kefu_gateway_stats (self->gw, &self->stats);
    kefu_gateway_destroy (&self->gw);
    return NULL;
}

//  ---------------------------------------------------------------------
//  Results

typedef struct {
    bool ran; //  this phase was measured
    int64_t planned, sent, acked, accepted, duplicate, rejected, stray;
    bool timed_out;                   //  some acks never came
    double seconds;                   //  common start -> last final ack
    double acked_per_s;               //  acked / seconds
    double offered_per_s;             //  sent / (common start -> last send)
    double p50, p99, p999, max, mean; //  ms, send -> final ack
    double max_late_ms;               //  fixed load: worst send lateness
    int64_t late_sends;               //  fixed load: sends > 2 ms late
    int64_t batches;                  //  intake transactions committed in the phase
    int64_t retry_later;              //  RETRY_LATER acks intake sent in the phase
    bench_cpu_t cpu;                  //  CPU seconds used during the phase
    char reject_reason[160];          //  first REJECTED reason
} s_result_t;

static void
s_collect (s_gateway_t *gws, int n, s_kind_t kind, int64_t start_us, s_result_t *r)
{
    bench_lat_t *lat = bench_lat_new (1024);
    int64_t last_ack = start_us, last_send = start_us;
    for (int i = 0; i < n; i++) {
        s_phase_t *ph = &gws[i].phases[kind];
        r->planned += ph->planned;
        r->sent += ph->sent;
        r->acked += ph->acked;
        r->accepted += ph->accepted;
        r->duplicate += ph->duplicate;
        r->rejected += ph->rejected;
        r->stray += ph->stray;
        r->timed_out = r->timed_out || ph->timed_out || gws[i].failed;
        r->late_sends += ph->late_sends;
        if ((double) ph->max_late_us / 1000.0 > r->max_late_ms)
            r->max_late_ms = (double) ph->max_late_us / 1000.0;
        if (ph->last_ack_us > last_ack)
            last_ack = ph->last_ack_us;
        if (ph->last_send_us > last_send)
            last_send = ph->last_send_us;
        if (!r->reject_reason[0] && ph->reject_reason[0])
            snprintf (r->reject_reason, sizeof r->reject_reason, "%s", ph->reject_reason);
        bench_lat_merge (lat, ph->lat);
    }
    r->ran = true;
    r->seconds = (double) (last_ack - start_us) / 1e6;
    r->acked_per_s = r->seconds > 0 ? (double) r->acked / r->seconds : 0;
    double send_s = (double) (last_send - start_us) / 1e6;
    r->offered_per_s = send_s > 0 ? (double) r->sent / send_s : 0;
    r->p50 = bench_lat_pct_ms (lat, 50);
    r->p99 = bench_lat_pct_ms (lat, 99);
    r->p999 = bench_lat_pct_ms (lat, 99.9);
    r->max = bench_lat_max_ms (lat);
    r->mean = bench_lat_mean_ms (lat);
    bench_lat_destroy (&lat);
}

static double s_wait_quiet (int seconds, long cores);

//  Append every item of a finished phase to --latency-log.
static void
s_log_latencies (const s_opts_t *opts, s_gateway_t *gws, int n, s_kind_t kind, int64_t start_us)
{
    if (!opts->latency_log)
        return;
    FILE *file = fopen (opts->latency_log, "a");
    if (!file) {
        fprintf (stderr, "bench_intake: cannot write %s\n", opts->latency_log);
        return;
    }
    for (int i = 0; i < n; i++) {
        s_phase_t *ph = &gws[i].phases[kind];
        for (int64_t k = 0; k < ph->sent; k++)
            fprintf (file, "%c %d %.3f %.3f\n", s_letters[kind], i,
                     (double) (ph->sent_us[k] - start_us) / 1000.0, ph->lat_us[k] / 1000.0);
    }
    fclose (file);
}

//  Run the intake phases against a started intake.
static int
s_run_intake (const s_opts_t *opts, const s_intake_t *intake, int pg_pid, s_result_t *fixed,
              s_result_t *sat, int64_t *warmup_accepted)
{
    s_run_t run;
    memset (&run, 0, sizeof run);
    run.opts = opts;
    run.endpoint = intake->gateway_endpoint;
    if (opts->run_fixed)
        run.phases[run.nphases++] = S_FIXED;
    if (opts->run_sat)
        run.phases[run.nphases++] = S_SAT;
    int n = opts->gateways;
    pthread_barrier_init (&run.ready, NULL, (unsigned) n + 1);
    pthread_barrier_init (&run.go, NULL, (unsigned) n + 1);
    pthread_barrier_init (&run.done, NULL, (unsigned) n + 1);
    s_gateway_t *gws = calloc ((size_t) n, sizeof (s_gateway_t));
    pthread_t *threads = calloc ((size_t) n, sizeof (pthread_t));
    int64_t fixed_per_gw = (int64_t) (opts->duration * opts->rate / n);
    //  Ids unique per run, so that a second run on the same database
    //  measures new items, not a storm of duplicates.
    char run_tag[12];
    snprintf (run_tag, sizeof run_tag, "%lx", (unsigned long) (time (NULL) & 0xffffff));
    for (int i = 0; i < n; i++) {
        s_gateway_t *g = &gws[i];
        g->index = i;
        g->run = &run;
        snprintf (g->name, sizeof g->name, "gw%02d", i);
        g->rng = 0x9e3779b97f4a7c15ULL ^ ((uint64_t) (i + 1) * 0x100000001b3ULL);
        int64_t planned[S_KINDS] = {opts->warmup, fixed_per_gw,
                                    opts->sat_items / n + (i < opts->sat_items % n ? 1 : 0)};
        for (int k = 0; k < S_KINDS; k++) {
            snprintf (g->prefix[k], sizeof g->prefix[k], "%s%c%d", run_tag, s_letters[k], i);
            g->phases[k].planned = planned[k];
            g->phases[k].sent_us = calloc ((size_t) planned[k] + 1, sizeof (int64_t));
            g->phases[k].lat_us = calloc ((size_t) planned[k] + 1, sizeof (int32_t));
            g->phases[k].lat = bench_lat_new ((size_t) planned[k] + 1);
        }
        pthread_create (&threads[i], NULL, s_gateway_main, g);
    }
    for (int p = 0; p < run.nphases; p++) {
        s_kind_t kind = run.phases[p];
        s_result_t *r = kind == S_FIXED ? fixed : sat;
        pthread_barrier_wait (&run.ready);
        if (p > 0)
            s_log_latencies (opts, gws, n, run.phases[p - 1], run.start_us);
        if (p == 0 && opts->analyze)
            bench_pg_analyze (opts->db);
        if (opts->wait_quiet > 0)
            s_wait_quiet (opts->wait_quiet, sysconf (_SC_NPROCESSORS_ONLN));
        //  Every phase starts from a fresh checkpoint, like the raw one.
        bench_pg_checkpoint (opts->db);
        int64_t batches = bench_service_counter (intake->service, "batches.committed");
        int64_t retries = bench_service_counter (intake->service, "items.retry_later");
        bench_cpu_t before, after;
        run.start_us = bench_now_us () + 20000;
        fprintf (stderr, "bench_intake: intake %s ...\n",
                 kind == S_FIXED ? "fixed offered load" : "saturation");
        bench_cpu_sample (&before, pg_pid, intake->pid);
        pthread_barrier_wait (&run.go);
        pthread_barrier_wait (&run.done);
        bench_cpu_sample (&after, pg_pid, intake->pid);
        s_collect (gws, n, kind, run.start_us, r);
        r->cpu = bench_cpu_diff (&after, &before);
        r->batches = bench_service_counter (intake->service, "batches.committed") - batches;
        r->retry_later = bench_service_counter (intake->service, "items.retry_later") - retries;
    }
    pthread_barrier_wait (&run.ready);
    if (run.nphases > 0)
        s_log_latencies (opts, gws, n, run.phases[run.nphases - 1], run.start_us);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        pthread_join (threads[i], NULL);
        if (gws[i].failed)
            failed++;
        *warmup_accepted += gws[i].phases[S_WARMUP].accepted;
        if (gws[i].stats.resent || gws[i].stats.retry_later)
            fprintf (stderr,
                     "bench_intake: %s resent %" PRIu64 " items, %" PRIu64 " RETRY_LATER acks\n",
                     gws[i].name, gws[i].stats.resent, gws[i].stats.retry_later);
        for (int k = 0; k < S_KINDS; k++) {
            free (gws[i].phases[k].sent_us);
            free (gws[i].phases[k].lat_us);
            bench_lat_destroy (&gws[i].phases[k].lat);
        }
    }
    if (failed)
        fprintf (stderr, "bench_intake: %d gateways were never welcomed by intake\n", failed);
    pthread_barrier_destroy (&run.ready);
    pthread_barrier_destroy (&run.go);
    pthread_barrier_destroy (&run.done);
    free (gws);
    free (threads);
    return failed ? -1 : 0;
}

//  ---------------------------------------------------------------------
//  Report

//  Sequential scans of the tables intake probes by key on every batch:
//  each one reads a whole table (statistics are flushed when intake's
//  connection closes, so read this after it stopped).
#define S_SEQ_SCANS                                                                                \
    "SELECT coalesce (sum (seq_scan), 0)::int8 FROM pg_stat_user_tables WHERE relname IN "         \
    "('messages', 'customers', 'customer_channels', 'conversations')"

//  Cores' worth of CPU that processes other than ours used during c.
static double
s_other_cores (const bench_cpu_t *c, bool process)
{
    double ours = c->process + (process ? c->intake : 0) + c->postgres;
    double other = c->machine - ours;
    return c->wall > 0 && other > 0 ? other / c->wall : 0;
}

//  Wait up to `seconds` for a 2-second window in which the machine is less
//  than 10 % busy. Returns the busy fraction of the last window.
static double
s_wait_quiet (int seconds, long cores)
{
    int64_t deadline = bench_now_us () + (int64_t) seconds * 1000000;
    double busy = 1;
    do {
        bench_cpu_t before, after;
        bench_cpu_sample (&before, 0, 0);
        zclock_sleep (2000);
        bench_cpu_sample (&after, 0, 0);
        bench_cpu_t d = bench_cpu_diff (&after, &before);
        busy = d.wall > 0 ? d.machine / (d.wall * (double) cores) : 1;
        if (busy < 0.10)
            break;
        fprintf (stderr, "bench_intake: machine %.0f%% busy (other processes), waiting ...\n",
                 100 * busy);
    } while (bench_now_us () < deadline);
    return busy;
}

static void
s_print_cpu (const char *label, const bench_cpu_t *c, bool process, long cores)
{
    double ours = c->process + (process ? c->intake : 0) + c->postgres;
    double other = c->machine - ours;
    printf ("  %-11s %6.1f s wall: gateways %.1f, zmq I/O %.1f, intake %.1f, postgres %.1f, "
            "rest %.1f, other processes %.1f CPU-s (machine %.0f%% busy)\n",
            label, c->wall, c->gateways, c->zmq_io, c->intake, c->postgres, c->rest,
            other < 0 ? 0 : other,
            c->wall > 0 ? 100.0 * c->machine / ((double) cores * c->wall) : 0);
}

static void
s_print_phase (const char *label, const s_result_t *r)
{
    printf ("  %-22s %8" PRId64 " %9.0f %9.0f %7.2f %7.2f %8.2f %8.2f %7" PRId64 " %7.0f\n", label,
            r->acked, r->offered_per_s, r->acked_per_s, r->p50, r->p99, r->p999, r->max, r->batches,
            r->batches > 0 ? (double) r->accepted / (double) r->batches : 0);
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
    kf_log_init ("intake");
    if (!getenv ("KEFU_LOG_LEVEL"))
        setenv ("KEFU_LOG_LEVEL", "warn", 1);
    if (kf_log_set_level_name (getenv ("KEFU_LOG_LEVEL")))
        kf_log_set_level (KF_LOG_WARN);

    bench_pg_info_t pg;
    if (bench_pg_info (opts.db, &pg))
        return 1;
    if (strcmp (pg.fsync, "on") || strcmp (pg.synchronous_commit, "on")) {
        fprintf (stderr, "bench_intake: fsync=%s synchronous_commit=%s: both must be on\n",
                 pg.fsync, pg.synchronous_commit);
        return 1;
    }
    bench_corpus_sizes_t sizes;
    bench_corpus_sizes (opts.shop, opts.gateways, opts.customers, &sizes);
    size_t frame_bytes =
        opts.frame_bytes ? (size_t) opts.frame_bytes : (size_t) (sizes.frame_bytes + 0.5);
    size_t ack_bytes = (size_t) (sizes.ack_bytes + 0.5);
    double load[3] = {0, 0, 0};
    if (getloadavg (load, 3) < 0)
        load[0] = -1;
    time_t now = time (NULL);
    char date[64];
    strftime (date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime (&now));
    struct utsname uts;
    uname (&uts);
    long cores = sysconf (_SC_NPROCESSORS_ONLN);

    double idle_busy = -1;
    if (opts.wait_quiet > 0)
        idle_busy = s_wait_quiet (opts.wait_quiet, cores);

    //  1. raw ZeroMQ
    bench_zmq_result_t zmq_win = {0}, zmq_one = {0};
    bench_cpu_t zmq_cpu = {0};
    bool have_zmq = false;
    if (opts.run_zmq) {
        fprintf (stderr, "bench_intake: raw ZeroMQ round trips ...\n");
        bench_zmq_opts_t zo = {opts.gateways, opts.window, opts.zmq_round_trips, frame_bytes,
                               ack_bytes};
        bench_zmq_opts_t z1 = {1, 1, opts.zmq_rtt, frame_bytes, ack_bytes};
        bench_cpu_t before, after;
        bench_cpu_sample (&before, 0, 0);
        have_zmq = bench_zmq_run (&zo, &zmq_win) == 0;
        bench_cpu_sample (&after, 0, 0);
        zmq_cpu = bench_cpu_diff (&after, &before);
        have_zmq = have_zmq && bench_zmq_run (&z1, &zmq_one) == 0;
        if (!have_zmq)
            return 1;
    }

    //  2. raw PostgreSQL
    bench_pg_raw_result_t raw = {0};
    bench_cpu_t raw_cpu = {0};
    bool have_pg = false;
    if (opts.run_pg) {
        if (opts.wait_quiet > 0)
            s_wait_quiet (opts.wait_quiet, cores);
        fprintf (stderr, "bench_intake: raw PostgreSQL inserts ...\n");
        bench_pg_raw_opts_t po = {opts.shop,     opts.gateways,   opts.customers,   opts.pg_rows,
                                  opts.pg_batch, opts.pg_singles, pg.postmaster_pid};
        bench_pg_checkpoint (opts.db);
        bench_cpu_t before, after;
        bench_cpu_sample (&before, pg.postmaster_pid, 0);
        have_pg = bench_pg_raw (opts.db, &po, &raw) == 0;
        bench_cpu_sample (&after, pg.postmaster_pid, 0);
        raw_cpu = bench_cpu_diff (&after, &before);
        if (!have_pg)
            return 1;
    }

    //  3. intake
    s_result_t fixed = {0}, sat = {0};
    bool valid = true;
    int64_t rows = 0, customers = 0, conversations = 0, events = 0, seq_before = 0, seq_scans = 0;
    int64_t warmup_accepted = 0;
    if (opts.run_fixed || opts.run_sat) {
        int64_t rows_before = bench_pg_count (opts.db, "SELECT count(*) FROM messages");
        seq_before = bench_pg_count (opts.db, S_SEQ_SCANS);
        s_intake_t intake;
        fprintf (stderr, "bench_intake: starting intake (%s) ...\n",
                 opts.process ? "process" : "in-process actor");
        if (s_intake_start (&intake, &opts)) {
            s_intake_stop (&intake);
            return 1;
        }
        if (s_run_intake (&opts, &intake, pg.postmaster_pid, &fixed, &sat, &warmup_accepted))
            valid = false;
        s_intake_stop (&intake);
        //  Every ACCEPTED ack names a stored row: the table grew by exactly
        //  the warm-up, fixed and saturation items.
        rows = bench_pg_count (opts.db, "SELECT count(*) FROM messages") - rows_before;
        seq_scans = bench_pg_count (opts.db, S_SEQ_SCANS) - seq_before;
        customers = bench_pg_count (opts.db, "SELECT count(*) FROM customers");
        conversations = bench_pg_count (opts.db, "SELECT count(*) FROM conversations");
        events = bench_pg_count (opts.db, "SELECT count(*) FROM events");
        int64_t expected = warmup_accepted + fixed.accepted + sat.accepted;
        if (rows != expected || fixed.rejected || sat.rejected || fixed.duplicate ||
            sat.duplicate || fixed.timed_out || sat.timed_out || fixed.stray || sat.stray ||
            fixed.acked != fixed.planned || sat.acked != sat.planned) {
            valid = false;
            fprintf (stderr,
                     "bench_intake: INVALID RUN: %" PRId64 " new rows, %" PRId64
                     " expected; rejected %" PRId64 "/%" PRId64 " (%s%s); duplicates %" PRId64
                     "/%" PRId64 "; timed out %d/%d\n",
                     rows, expected, fixed.rejected, sat.rejected, fixed.reject_reason,
                     sat.reject_reason, fixed.duplicate, sat.duplicate, fixed.timed_out,
                     sat.timed_out);
        }
    }

    //  4. a burst against a kefu-intake process of its own
    bench_burst_result_t burst = {0};
    bench_cpu_t burst_cpu = {0};
    if (opts.run_burst) {
        if (opts.wait_quiet > 0)
            s_wait_quiet (opts.wait_quiet, cores);
        fprintf (stderr, "bench_intake: burst (kefu-intake process) ...\n");
        s_opts_t popts = opts;
        popts.process = true;
        s_intake_t intake;
        int64_t rows_before = bench_pg_count (opts.db, "SELECT count(*) FROM messages");
        if (s_intake_start (&intake, &popts)) {
            s_intake_stop (&intake);
            return 1;
        }
        char run_tag[12];
        snprintf (run_tag, sizeof run_tag, "%lx", (unsigned long) (time (NULL) & 0xffffff));
        bench_burst_opts_t bo = {intake.gateway_endpoint,
                                 opts.shop,
                                 intake.pid,
                                 opts.burst_others,
                                 opts.burst_rate,
                                 opts.burst_items,
                                 opts.burst_body,
                                 opts.bursts,
                                 opts.burst_settle,
                                 3.0,
                                 opts.customers,
                                 run_tag};
        bench_cpu_t before, after;
        bench_cpu_sample (&before, pg.postmaster_pid, intake.pid);
        bench_burst_run (&bo, &burst);
        bench_cpu_sample (&after, pg.postmaster_pid, intake.pid);
        burst_cpu = bench_cpu_diff (&after, &before);
        s_intake_stop (&intake);
        int64_t burst_rows =
            bench_pg_count (opts.db, "SELECT count(*) FROM messages") - rows_before;
        if (burst.valid && burst_rows != burst.accepted) {
            burst.valid = false;
            snprintf (burst.problem, sizeof burst.problem,
                      "%" PRId64 " new rows for %" PRId64 " ACCEPTED acks", burst_rows,
                      burst.accepted);
        }
        if (!burst.valid) {
            valid = false;
            fprintf (stderr, "bench_intake: INVALID BURST PHASE: %s\n", burst.problem);
        }
    }

    //  Report
    printf ("\n");
    printf ("kefu bench intake  %s  %s %s, %ld cores, load average %.2f at start\n", date,
            uts.nodename, uts.machine, cores, load[0]);
    if (idle_busy >= 0)
        printf ("machine %.0f%% busy just before the run (--wait-quiet)\n", 100 * idle_busy);
    printf ("PostgreSQL %s: fsync=%s synchronous_commit=%s full_page_writes=%s "
            "wal_sync_method=%s\n",
            pg.server_version, pg.fsync, pg.synchronous_commit, pg.full_page_writes,
            pg.wal_sync_method);
    printf ("traffic: %d gateways x window %d, %d buyers, bodies %d-%d B (mean %.0f), "
            "item frame %zu B, ack frame %zu B, intake %s\n",
            opts.gateways, opts.window, opts.customers, sizes.body_min, sizes.body_max,
            sizes.body_bytes, frame_bytes, ack_bytes, opts.process ? "process" : "in-process");
    printf ("\nraw limits (same run)\n");
    if (have_zmq) {
        printf ("  ZeroMQ DEALER->ROUTER, %d clients x window %d:  %10.0f round trips/s   "
                "(p50 %.2f ms, p99 %.2f ms under that load)\n",
                opts.gateways, opts.window, zmq_win.per_s, zmq_win.p50_ms, zmq_win.p99_ms);
        printf ("  ZeroMQ single round trip (window 1):          p50 %.3f ms, p99 %.3f ms "
                "(%.0f/s)\n",
                zmq_one.p50_ms, zmq_one.p99_ms, zmq_one.per_s);
    }
    if (have_pg) {
        printf ("  PostgreSQL %d rows/txn into LIKE messages:   %10.0f rows/s         "
                "(txn p50 %.1f ms, p99 %.1f ms; %" PRId64 " rows)\n",
                opts.pg_batch, raw.rows_per_s, raw.txn_p50_ms, raw.txn_p99_ms, raw.rows);
        printf ("  PostgreSQL single-row commit:                 p50 %.3f ms, p99 %.3f ms "
                "(%d commits)\n",
                raw.commit_p50_ms, raw.commit_p99_ms, raw.commits);
    }
    if (fixed.ran || sat.ran) {
        printf ("\nintake: libkefu-gateway -> kefu-intake -> PostgreSQL, latency = send to "
                "final ack\n");
        printf ("  %-22s %8s %9s %9s %7s %7s %8s %8s %7s %7s\n", "phase", "items", "offered/s",
                "acked/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "batches", "items/b");
        char label[64];
        if (fixed.ran) {
            snprintf (label, sizeof label, "fixed %d/s x %.0f s", opts.rate, opts.duration);
            s_print_phase (label, &fixed);
        }
        if (sat.ran)
            s_print_phase ("saturation", &sat);
        printf ("  stored: %" PRId64 " new message rows (every ACCEPTED ack), %" PRId64
                " customers, %" PRId64 " conversations, %" PRId64 " events in the database\n",
                rows, customers, conversations, events);
        printf ("  sequential scans of messages/customers/customer_channels/conversations during "
                "the phases: %" PRId64 " (%s)\n",
                seq_scans, opts.analyze ? "statistics analyzed after the warm-up" : "no ANALYZE");
        if (fixed.ran)
            printf ("  fixed load pacing: %" PRId64 " sends more than 2 ms late, worst %.1f ms\n",
                    fixed.late_sends, fixed.max_late_ms);
        printf ("\nCPU seconds used per phase (%ld cores = %ld CPU-s per wall second)\n", cores,
                cores);
        if (have_zmq)
            s_print_cpu ("raw zmq", &zmq_cpu, false, cores);
        if (have_pg)
            s_print_cpu ("raw pg", &raw_cpu, false, cores);
        if (fixed.ran)
            s_print_cpu ("fixed", &fixed.cpu, opts.process, cores);
        if (sat.ran)
            s_print_cpu ("saturation", &sat.cpu, opts.process, cores);
    }
    if (burst.ran) {
        printf ("\nburst: %d gateways at %d items/s in total; one more sends %" PRId64
                " items of a %d-byte body at once (%d time%s), kefu-intake as a process\n",
                opts.burst_others, opts.burst_rate, opts.burst_items, opts.burst_body, opts.bursts,
                opts.bursts == 1 ? "" : "s");
        printf ("  the others' acks while a burst lasts (%.2f s): %" PRId64
                " items, p50 %.2f ms, p99 %.2f ms, max %.2f ms (p99 before: %.2f ms)\n",
                burst.burst_s, burst.others_during, burst.others_p50_ms, burst.others_p99_ms,
                burst.others_max_ms, burst.before_p99_ms);
        printf ("  the burst's items: %" PRId64 " acked, %" PRId64
                " RETRY_LATER answers on the way\n",
                burst.greedy_acked, burst.greedy_retries);
        printf ("  intake's RSS: %.1f MB before, %.1f MB at the peak, %.1f MB %.0f s after the "
                "last burst\n",
                burst.baseline_rss_mb, burst.peak_rss_mb, burst.after_rss_mb, opts.burst_settle);
        s_print_cpu ("burst", &burst_cpu, true, cores);
    }
    //  CPU per item does not depend much on what else runs on the machine:
    //  it shows how much more work intake makes PostgreSQL do per message.
    double raw_pg_us = have_pg && raw.rows > 0 ? 1e6 * raw.pg_cpu_s / (double) raw.rows : 0;
    double sat_pg_us = sat.ran && sat.acked > 0 ? 1e6 * sat.cpu.postgres / (double) sat.acked : 0;
    if (have_pg || sat.ran || fixed.ran) {
        printf ("\nCPU per item (microseconds; less sensitive to other load than rates)\n");
        if (have_pg)
            printf ("  raw insert:  postgres %6.1f us/row, bench %5.1f us/row\n", raw_pg_us,
                    1e6 * raw.cpu_s / (double) (raw.rows ? raw.rows : 1));
        const s_result_t *rs[2] = {&fixed, &sat};
        const char *names[2] = {"fixed", "saturation"};
        for (int i = 0; i < 2; i++) {
            if (!rs[i]->ran || rs[i]->acked == 0)
                continue;
            double per = 1e6 / (double) rs[i]->acked;
            printf ("  %-11s  postgres %6.1f us/item, intake %5.1f, gateways %5.1f, zmq I/O %5.1f"
                    "  (%.1f items/batch)\n",
                    names[i], per * rs[i]->cpu.postgres, per * rs[i]->cpu.intake,
                    per * rs[i]->cpu.gateways, per * rs[i]->cpu.zmq_io,
                    rs[i]->batches ? (double) rs[i]->accepted / (double) rs[i]->batches : 0);
        }
        if (raw_pg_us > 0 && sat_pg_us > 0)
            printf ("  at saturation intake makes PostgreSQL do %.1fx the work of the raw insert "
                    "per message\n",
                    sat_pg_us / raw_pg_us);
    }
    double other = 0;
    if (have_zmq && s_other_cores (&zmq_cpu, false) > other)
        other = s_other_cores (&zmq_cpu, false);
    if (have_pg && s_other_cores (&raw_cpu, false) > other)
        other = s_other_cores (&raw_cpu, false);
    if (fixed.ran && s_other_cores (&fixed.cpu, opts.process) > other)
        other = s_other_cores (&fixed.cpu, opts.process);
    if (sat.ran && s_other_cores (&sat.cpu, opts.process) > other)
        other = s_other_cores (&sat.cpu, opts.process);
    if (burst.ran && s_other_cores (&burst_cpu, true) > other)
        other = s_other_cores (&burst_cpu, true);
    if (other > 0.1)
        printf ("\nWARNING: other processes used up to %.2f of the %ld cores during a phase: "
                "the figures understate this machine (run again when it is idle)\n",
                other, cores);
    bool have_ratio = sat.ran && have_pg && raw.rows_per_s > 0;
    double ratio = have_ratio ? sat.acked_per_s / raw.rows_per_s : 0;
    printf ("\ntargets\n");
    if (have_ratio)
        printf ("  sustained >= 50%% of raw batched inserts:  %.0f / %.0f = %.1f%%   %s\n",
                sat.acked_per_s, raw.rows_per_s, 100 * ratio, bench_met (ratio >= 0.5));
    if (fixed.ran)
        printf ("  ack p99 <= 5 ms at %d items/s offered:    p99 %.2f ms (p50 %.2f, p99.9 "
                "%.2f)   %s\n",
                opts.rate, fixed.p99, fixed.p50, fixed.p999, bench_met (fixed.p99 <= 5.0));
    if (burst.ran) {
        printf ("  the others' ack p99 <= 10 ms during a burst:  p99 %.2f ms   %s\n",
                burst.others_p99_ms, bench_met (burst.others_p99_ms <= 10.0));
        printf ("  RSS %.0f s after the burst <= baseline + 20 MB:  %.1f <= %.1f + 20   %s\n",
                opts.burst_settle, burst.after_rss_mb, burst.baseline_rss_mb,
                bench_met (burst.after_rss_mb <= burst.baseline_rss_mb + 20));
    }
    if (!valid)
        printf ("  RUN INVALID: see the messages above\n");

    char items[32], p50[32], p99[32], p999[32], rawpg[32], rawzmq[32], r[32], sp50[32], sp99[32],
        rtt[32], commit[32], achieved[32], rawcpu[32], satcpu[32], bp99[32], bpeak[32], bafter[32],
        bbase[32];
    bench_json_num (items, sizeof items, sat.acked_per_s, sat.ran);
    bench_json_num (p50, sizeof p50, fixed.p50, fixed.ran);
    bench_json_num (p99, sizeof p99, fixed.p99, fixed.ran);
    bench_json_num (p999, sizeof p999, fixed.p999, fixed.ran);
    bench_json_num (rawpg, sizeof rawpg, raw.rows_per_s, have_pg);
    bench_json_num (rawzmq, sizeof rawzmq, zmq_win.per_s, have_zmq);
    bench_json_num (r, sizeof r, ratio, have_ratio);
    bench_json_num (sp50, sizeof sp50, sat.p50, sat.ran);
    bench_json_num (sp99, sizeof sp99, sat.p99, sat.ran);
    bench_json_num (rtt, sizeof rtt, zmq_one.p50_ms, have_zmq);
    bench_json_num (commit, sizeof commit, raw.commit_p50_ms, have_pg);
    bench_json_num (achieved, sizeof achieved, fixed.acked_per_s, fixed.ran);
    bench_json_num (rawcpu, sizeof rawcpu, raw_pg_us, have_pg);
    bench_json_num (satcpu, sizeof satcpu, sat_pg_us, sat.ran);
    bench_json_num (bp99, sizeof bp99, burst.others_p99_ms, burst.ran);
    bench_json_num (bpeak, sizeof bpeak, burst.peak_rss_mb, burst.ran);
    bench_json_num (bafter, sizeof bafter, burst.after_rss_mb, burst.ran);
    bench_json_num (bbase, sizeof bbase, burst.baseline_rss_mb, burst.ran);
    printf ("{\"bench\":\"intake\",\"items_per_s\":%s,\"ack_p50_ms\":%s,\"ack_p99_ms\":%s,"
            "\"raw_pg_rows_per_s\":%s,\"raw_zmq_per_s\":%s,\"ack_p999_ms\":%s,"
            "\"ratio_vs_raw_pg\":%s,\"sat_p50_ms\":%s,\"sat_p99_ms\":%s,"
            "\"fixed_acked_per_s\":%s,\"raw_zmq_rtt_p50_ms\":%s,\"raw_pg_commit_p50_ms\":%s,"
            "\"raw_pg_cpu_us_per_row\":%s,\"pg_cpu_us_per_item\":%s,"
            "\"burst_others_p99_ms\":%s,\"burst_peak_rss_mb\":%s,\"after_burst_rss_mb\":%s,"
            "\"baseline_rss_mb\":%s,\"seq_scans\":%" PRId64
            ",\"other_load_cores\":%.2f,\"gateways\":%d,\"rate\":%d,\"intake\":\"%s\","
            "\"valid\":%s}\n",
            items, p50, p99, rawpg, rawzmq, p999, r, sp50, sp99, achieved, rtt, commit, rawcpu,
            satcpu, bp99, bpeak, bafter, bbase, seq_scans, other, opts.gateways, opts.rate,
            opts.process ? "process" : "inproc", valid ? "true" : "false");
    fflush (stdout);
    return valid ? 0 : 1;
}
