/*  bench_floor — source -> durable commit -> PUB -> SUB -> durable commit ->
    DEALER -> ROUTER, with nothing decided in between. */
#include "bench_floor.h"

#include "bench_pg.h"
#include "bench_stats.h"
#include "kf_batch.h"
#include "kf_store.h"
#include "kf_wire.h"

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DRAIN_MAX   10000            //  frames taken per wake-up, as routing's subscriber
#define S_SLOW_US     2000             //  a commit slower than this counts as slow
#define S_DEADLINE_US (30 * 1000000LL) //  after the last item is due
#define S_PING        (-1)             //  the item the source sends until the path works

static const kf_stmt_t s_statements[] = {{"bench_floor_insert",
                                          "INSERT INTO bench_floor (side, id, at) "
                                          "SELECT $1::int2, unnest ($2::int8[]), $3::int8"},
                                         {NULL, NULL}};

typedef struct {
    const char *url;
    const bench_floor_opts_t *opts;
    int64_t total;           //  items to send
    int64_t measured_from;   //  first measured item (after the warm-up)
    char events[64];         //  the source's PUB endpoint
    char commands[64];       //  the collector's ROUTER endpoint
    zsock_t *router;         //  bound by the main thread, used by the collector
    atomic_bool path_ready;  //  a ping went all the way through
    atomic_bool stop;        //  the collector is done (or gave up)
    atomic_bool failed;      //  a thread could not do its part
    atomic_llong slow;       //  commits over S_SLOW_US holding measured items
    int64_t commits;         //  relay: measured commits
    bench_lat_t *commit_lat; //  relay: their latency
    bench_lat_t *lat;        //  collector: publication -> arrival
    int64_t received;        //  collector: items received (measured or not)
    int64_t deadline_us;     //  collector: give up after this
} s_floor_t;

typedef struct {
    int64_t id;
    int64_t published_us;
} s_item_t;

//  One durable commit of one row per id on `side`; its latency in us, or -1.
static int64_t
s_insert (kf_store_t *store, kf_batch_t *ids, int side)
{
    kf_params_t params;
    kf_params_init (&params);
    kf_params_int (&params, side);
    kf_batch_params (ids, &params);
    kf_params_int (&params, bench_now_us ());
    kf_error_t err;
    kf_error_clear (&err);
    int64_t started = bench_now_us ();
    if (kf_store_exec (store, "bench_floor_insert", &params, NULL, NULL, &err)) {
        fprintf (stderr, "bench_floor: insert: %s\n", err.reason);
        return -1;
    }
    return bench_now_us () - started;
}

static int
s_send_item (zsock_t *sock, int64_t id, int64_t published_us)
{
    s_item_t item = {id, published_us};
    return zmq_send (zsock_resolve (sock), &item, sizeof item, ZMQ_DONTWAIT) == sizeof item ? 0
                                                                                            : -1;
}

//  Intake's part: store what is due, commit, publish; at most every batch_ms.
static void *
s_source (void *arg)
{
    s_floor_t *self = arg;
    bench_thread_name ("bench-floor-src");
    kf_store_t *store = bench_pg_connect (self->url, "bench-floor-source", s_statements);
    zsock_t *pub = kf_wire_socket (KF_SOCK_PUB, 0);
    kf_batch_t *ids = kf_batch_new (1, (kf_col_type_t[]){KF_COL_INT8});
    if (!store || zsock_bind (pub, "tcp://127.0.0.1:*") == -1) {
        atomic_store (&self->failed, true);
        goto done;
    }
    snprintf (self->events, sizeof self->events, "%s", zsock_endpoint (pub));
    //  Until a ping has gone all the way (subscription and connections up).
    while (!atomic_load (&self->path_ready) && !atomic_load (&self->stop)) {
        s_send_item (pub, S_PING, bench_now_us ());
        zclock_sleep (5);
    }
    int64_t interval_us = (int64_t) (1e6 / self->opts->rate);
    int64_t batch_us = (int64_t) (self->opts->batch_ms * 1000);
    int64_t start_us = bench_now_us ();
    int64_t next = 0;
    int64_t last_commit = 0;
    while (next < self->total && !atomic_load (&self->stop)) {
        if (last_commit)
            bench_sleep_until_us (last_commit + batch_us);
        int64_t now = bench_now_us ();
        if (start_us + next * interval_us > now) {
            bench_sleep_until_us (start_us + next * interval_us);
            now = bench_now_us ();
        }
        last_commit = now;
        kf_batch_reset (ids);
        int64_t first = next;
        while (next < self->total && start_us + next * interval_us <= now)
            kf_batch_int (ids, 0, next++);
        int64_t took = s_insert (store, ids, 0);
        if (took < 0) {
            atomic_store (&self->failed, true);
            break;
        }
        if (took > S_SLOW_US && next > self->measured_from)
            atomic_fetch_add (&self->slow, 1);
        int64_t published = bench_now_us ();
        for (int64_t id = first; id < next; id++)
            s_send_item (pub, id, published);
    }
done:
    kf_batch_destroy (&ids);
    //  Linger so the last publications leave before the socket goes.
    while (!atomic_load (&self->stop))
        zclock_sleep (5);
    zsock_destroy (&pub);
    kf_store_destroy (&store);
    return NULL;
}

//  Routing's part with nothing decided: drain, one commit, one frame each.
static void *
s_relay (void *arg)
{
    s_floor_t *self = arg;
    bench_thread_name ("bench-floor-relay");
    kf_store_t *store = bench_pg_connect (self->url, "bench-floor-relay", s_statements);
    zsock_t *sub = kf_wire_socket (KF_SOCK_SUB, 0);
    zsock_t *dealer = kf_wire_socket (KF_SOCK_DEALER_CLIENT, 0);
    kf_batch_t *ids = kf_batch_new (1, (kf_col_type_t[]){KF_COL_INT8});
    s_item_t *items = calloc (S_DRAIN_MAX, sizeof *items);
    while (!self->events[0] && !atomic_load (&self->failed))
        zclock_sleep (1);
    if (!store || atomic_load (&self->failed) || zsock_connect (sub, "%s", self->events) == -1 ||
        zsock_connect (dealer, "%s", self->commands) == -1) {
        atomic_store (&self->failed, true);
        goto done;
    }
    zsock_set_subscribe (sub, "");
    void *raw = zsock_resolve (sub);
    while (!atomic_load (&self->stop)) {
        zmq_pollitem_t poll = {raw, 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&poll, 1, 20) <= 0)
            continue;
        int count = 0;
        bool measured = false;
        kf_batch_reset (ids);
        while (count < S_DRAIN_MAX) {
            s_item_t item;
            if (zmq_recv (raw, &item, sizeof item, ZMQ_DONTWAIT) != sizeof item)
                break;
            if (item.id == S_PING) {
                s_send_item (dealer, S_PING, item.published_us);
                continue;
            }
            items[count++] = item;
            kf_batch_int (ids, 0, item.id);
            measured = measured || item.id >= self->measured_from;
        }
        if (count == 0)
            continue;
        int64_t took = s_insert (store, ids, 1);
        if (took < 0) {
            atomic_store (&self->failed, true);
            break;
        }
        if (measured) {
            self->commits++;
            bench_lat_add (self->commit_lat, took);
            if (took > S_SLOW_US)
                atomic_fetch_add (&self->slow, 1);
        }
        for (int i = 0; i < count; i++)
            s_send_item (dealer, items[i].id, items[i].published_us);
    }
done:
    free (items);
    kf_batch_destroy (&ids);
    zsock_destroy (&dealer);
    zsock_destroy (&sub);
    kf_store_destroy (&store);
    return NULL;
}

//  The command endpoint: publication -> arrival of every item.
static void
s_collect (s_floor_t *self)
{
    void *raw = zsock_resolve (self->router);
    while (self->received < self->total && !atomic_load (&self->failed) &&
           bench_now_us () < self->deadline_us) {
        zmq_pollitem_t poll = {raw, 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&poll, 1, 20) <= 0)
            continue;
        for (int n = 0; n < S_DRAIN_MAX; n++) {
            zmsg_t *msg = kf_wire_recv_nowait (self->router);
            if (!msg)
                break;
            int64_t now = bench_now_us ();
            zframe_t *body = zmsg_last (msg);
            s_item_t item;
            if (zmsg_size (msg) == 2 && zframe_size (body) == sizeof item) {
                memcpy (&item, zframe_data (body), sizeof item);
                if (item.id == S_PING)
                    atomic_store (&self->path_ready, true);
                else {
                    self->received++;
                    if (item.id >= self->measured_from)
                        bench_lat_add (self->lat, now - item.published_us);
                }
            }
            zmsg_destroy (&msg);
        }
    }
}

int
bench_floor_run (const char *url, const bench_floor_opts_t *opts, bench_floor_result_t *out)
{
    memset (out, 0, sizeof *out);
    //  The table must exist before the threads' stores prepare their insert.
    if (bench_pg_exec (url, "DROP TABLE IF EXISTS bench_floor; "
                            "CREATE TABLE bench_floor (side int2 NOT NULL, id int8 NOT NULL, "
                            "at int8 NOT NULL, PRIMARY KEY (side, id))"))
        return -1;
    s_floor_t self = {.url = url, .opts = opts};
    self.total = (int64_t) ((opts->warmup + opts->seconds) * opts->rate);
    self.measured_from = (int64_t) (opts->warmup * opts->rate);
    self.lat = bench_lat_new ((size_t) (self.total - self.measured_from));
    self.commit_lat = bench_lat_new (100000);
    self.router = kf_wire_socket (KF_SOCK_ROUTER_SERVER, 0);
    int rc = -1;
    if (zsock_bind (self.router, "tcp://127.0.0.1:*") == -1) {
        fprintf (stderr, "bench_floor: cannot bind the collector\n");
        goto done;
    }
    snprintf (self.commands, sizeof self.commands, "%s", zsock_endpoint (self.router));
    self.deadline_us =
        bench_now_us () + (int64_t) ((opts->warmup + opts->seconds) * 1e6) + S_DEADLINE_US;
    pthread_t source, relay;
    pthread_create (&source, NULL, s_source, &self);
    pthread_create (&relay, NULL, s_relay, &self);
    s_collect (&self);
    atomic_store (&self.stop, true);
    pthread_join (source, NULL);
    pthread_join (relay, NULL);
    if (atomic_load (&self.failed) || self.received < self.total)
        fprintf (stderr, "bench_floor: %lld of %lld items came through\n",
                 (long long) self.received, (long long) self.total);
    else {
        out->items = (int64_t) bench_lat_count (self.lat);
        out->p50_ms = bench_lat_pct_ms (self.lat, 50);
        out->p99_ms = bench_lat_pct_ms (self.lat, 99);
        out->p999_ms = bench_lat_pct_ms (self.lat, 99.9);
        out->max_ms = bench_lat_max_ms (self.lat);
        out->commits = self.commits;
        out->commit_p50_ms = bench_lat_pct_ms (self.commit_lat, 50);
        out->commit_p99_ms = bench_lat_pct_ms (self.commit_lat, 99);
        out->commit_max_ms = bench_lat_max_ms (self.commit_lat);
        out->slow_commits = atomic_load (&self.slow);
        rc = 0;
    }
done:
    zsock_destroy (&self.router);
    bench_lat_destroy (&self.lat);
    bench_lat_destroy (&self.commit_lat);
    if (bench_pg_exec (url, "DROP TABLE IF EXISTS bench_floor"))
        rc = -1;
    return rc;
}
