/*  bench_zmq — raw DEALER -> ROUTER acked round trips over tcp loopback. */
#include "bench_zmq.h"

#include "bench_stats.h"
#include "kf_wire.h"

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEADLINE_US (60 * 1000000LL) //  a run that takes longer has failed
#define S_DRAIN_MAX   10000            //  frames handled per wake-up, as the gateway library

typedef struct {
    zsock_t *router;  //  owned by the server thread once it runs
    size_t ack_bytes; //  answer size
    atomic_bool stop; //  set by the main thread at the end
} s_server_t;

typedef struct {
    int index; //  client number
    const bench_zmq_opts_t *opts;
    char endpoint[64];        //  the ROUTER's endpoint
    int64_t quota;            //  round trips to do
    pthread_barrier_t *ready; //  all connected: the clock starts
    int64_t done;             //  round trips completed
    int64_t last_ack_us;      //  monotonic time of the last ack
    bench_lat_t *lat;         //  round-trip latencies
    bool failed;              //  could not connect, or ran out of time
} s_client_t;

//  The ROUTER: answer every frame with an ack carrying the first 8 bytes of
//  the request (the client's send timestamp), nothing more.
static void *
s_server (void *arg)
{
    s_server_t *self = arg;
    bench_thread_name ("bench-zmqsrv");
    void *router = zsock_resolve (self->router);
    while (!atomic_load (&self->stop)) {
        zmq_pollitem_t item = {router, 0, ZMQ_POLLIN, 0};
        if (zmq_poll (&item, 1, 20) <= 0)
            continue;
        for (int n = 0; n < S_DRAIN_MAX; n++) {
            zmq_msg_t id, body, ack;
            zmq_msg_init (&id);
            if (zmq_msg_recv (&id, router, ZMQ_DONTWAIT) == -1) {
                zmq_msg_close (&id);
                break;
            }
            zmq_msg_init (&body);
            if (zmq_msg_recv (&body, router, 0) == -1 || zmq_msg_size (&body) < 8) {
                zmq_msg_close (&id);
                zmq_msg_close (&body);
                continue;
            }
            zmq_msg_init_size (&ack, self->ack_bytes);
            memset (zmq_msg_data (&ack), 0x2a, self->ack_bytes);
            memcpy (zmq_msg_data (&ack), zmq_msg_data (&body), 8);
            zmq_msg_close (&body);
            if (zmq_msg_send (&id, router, ZMQ_SNDMORE) == -1)
                zmq_msg_close (&id);
            else if (zmq_msg_send (&ack, router, 0) == -1)
                zmq_msg_close (&ack);
        }
    }
    return NULL;
}

//  Tuned as libkefu-gateway tunes its DEALER (no heartbeats: no idle time).
static zsock_t *
s_dealer (int window)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock)
        return NULL;
    zsock_set_immediate (sock, 1);
    int sndhwm = window * 2;
    zsock_set_sndhwm (sock, sndhwm < 1000 ? 1000 : sndhwm);
    zsock_set_rcvhwm (sock, 10000);
    zsock_set_linger (sock, 0);
    return sock;
}

static void *
s_client (void *arg)
{
    s_client_t *self = arg;
    char name[16];
    snprintf (name, sizeof name, "bench-cli%d", self->index);
    bench_thread_name (name);
    const bench_zmq_opts_t *opts = self->opts;
    size_t frame_bytes = opts->frame_bytes < 8 ? 8 : opts->frame_bytes;
    uint8_t *frame = malloc (frame_bytes);
    uint8_t answer[4096];
    memset (frame, 0x5a, frame_bytes);
    zsock_t *sock = s_dealer (opts->window);
    bool connected = sock && zsock_connect (sock, "%s", self->endpoint) == 0;
    void *dealer = sock ? zsock_resolve (sock) : NULL;
    //  Warm up: one round trip, so the clock starts on a live connection.
    int64_t deadline = bench_now_us () + 5000000;
    while (connected && zmq_send (dealer, frame, frame_bytes, ZMQ_DONTWAIT) == -1) {
        if (bench_now_us () > deadline) {
            connected = false;
            break;
        }
        zclock_sleep (1);
    }
    if (connected) {
        zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
        connected =
            zmq_poll (&item, 1, 5000) == 1 && zmq_recv (dealer, answer, sizeof answer, 0) >= 0;
    }
    self->failed = !connected;
    pthread_barrier_wait (self->ready);
    int64_t sent = 0, inflight = 0;
    deadline = bench_now_us () + S_DEADLINE_US;
    while (connected && self->done < self->quota) {
        while (inflight < opts->window && sent < self->quota) {
            int64_t now = bench_now_us ();
            memcpy (frame, &now, 8);
            if (zmq_send (dealer, frame, frame_bytes, ZMQ_DONTWAIT) == -1)
                break;
            sent++;
            inflight++;
        }
        zmq_pollitem_t item = {dealer, 0, ZMQ_POLLIN, 0};
        zmq_poll (&item, 1, 100);
        for (int n = 0; n < S_DRAIN_MAX; n++) {
            if (zmq_recv (dealer, answer, sizeof answer, ZMQ_DONTWAIT) < 8)
                break;
            int64_t now = bench_now_us ();
            int64_t stamp;
            memcpy (&stamp, answer, 8);
            bench_lat_add (self->lat, now - stamp);
            self->done++;
            inflight--;
            self->last_ack_us = now;
        }
        if (bench_now_us () > deadline) {
            self->failed = true;
            break;
        }
    }
    zsock_destroy (&sock);
    free (frame);
    return NULL;
}

int
bench_zmq_run (const bench_zmq_opts_t *opts, bench_zmq_result_t *out)
{
    memset (out, 0, sizeof *out);
    s_server_t server = {NULL, opts->ack_bytes < 8 ? 8 : opts->ack_bytes, false};
    //  The same ROUTER options intake's gateway endpoint gets.
    server.router = kf_wire_socket (KF_SOCK_ROUTER_SERVER, 1 << 20);
    int port = server.router ? zsock_bind (server.router, "tcp://127.0.0.1:*") : -1;
    if (port <= 0) {
        fprintf (stderr, "bench_zmq: cannot bind a ROUTER on 127.0.0.1\n");
        zsock_destroy (&server.router);
        return -1;
    }
    pthread_t server_thread;
    pthread_create (&server_thread, NULL, s_server, &server);

    int n = opts->clients > 0 ? opts->clients : 1;
    s_client_t *clients = calloc ((size_t) n, sizeof (s_client_t));
    pthread_t *threads = calloc ((size_t) n, sizeof (pthread_t));
    pthread_barrier_t ready;
    pthread_barrier_init (&ready, NULL, (unsigned) n + 1);
    for (int i = 0; i < n; i++) {
        s_client_t *c = &clients[i];
        c->index = i;
        c->opts = opts;
        snprintf (c->endpoint, sizeof c->endpoint, "tcp://127.0.0.1:%d", port);
        c->quota = opts->round_trips / n + (i < opts->round_trips % n ? 1 : 0);
        c->ready = &ready;
        c->lat = bench_lat_new ((size_t) c->quota + 1);
        pthread_create (&threads[i], NULL, s_client, c);
    }
    pthread_barrier_wait (&ready);
    int64_t start = bench_now_us ();
    int64_t end = start;
    bench_lat_t *lat = bench_lat_new ((size_t) opts->round_trips + 1);
    bool failed = false;
    for (int i = 0; i < n; i++) {
        pthread_join (threads[i], NULL);
        s_client_t *c = &clients[i];
        failed = failed || c->failed;
        out->done += c->done;
        if (c->last_ack_us > end)
            end = c->last_ack_us;
        bench_lat_merge (lat, c->lat);
        bench_lat_destroy (&c->lat);
    }
    atomic_store (&server.stop, true);
    pthread_join (server_thread, NULL);
    zsock_destroy (&server.router);
    pthread_barrier_destroy (&ready);
    out->seconds = (double) (end - start) / 1e6;
    out->per_s = out->seconds > 0 ? (double) out->done / out->seconds : 0;
    out->p50_ms = bench_lat_pct_ms (lat, 50);
    out->p99_ms = bench_lat_pct_ms (lat, 99);
    out->p999_ms = bench_lat_pct_ms (lat, 99.9);
    bench_lat_destroy (&lat);
    free (clients);
    free (threads);
    if (failed)
        fprintf (stderr, "bench_zmq: a client could not connect or did not finish in time\n");
    return failed ? -1 : 0;
}
