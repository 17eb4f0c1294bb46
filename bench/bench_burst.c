/*  bench_burst — one greedy gateway against others at a fixed rate. */
#include "bench_burst.h"

#include "bench_corpus.h"
#include "bench_stats.h"
#include "kefu_gateway.h"

#include <czmq.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_BURSTS  16
#define S_SAMPLE_MS   10        //  RSS sampling interval
#define S_BURST_GAP_S 2.0       //  between two bursts
#define S_ACK_WAIT_US 120000000 //  for the last acks after the load stops

typedef struct {
    const bench_burst_opts_t *opts;
    atomic_int welcomed;               //  gateways welcomed (or failed)
    atomic_int failed;                 //  gateways never welcomed
    atomic_llong start_us;             //  fixed load starts (0: not yet)
    atomic_bool stop;                  //  fixed load ends
    atomic_llong go_us[S_MAX_BURSTS];  //  burst b starts (0: not yet)
    atomic_llong end_us[S_MAX_BURSTS]; //  burst b has every final ack (0: not yet)
} s_shared_t;

//  One gateway thread: a fixed-rate one, or the greedy one.
typedef struct {
    int index;           //  0 .. others-1; others = the greedy gateway
    char name[16];       //  gateway id
    char prefix[32];     //  message id prefix
    s_shared_t *sh;      //  shared state
    kefu_gateway_t *gw;  //  the client
    uint64_t rng;        //  customers and bodies
    int64_t cap;         //  slots in sent_us / lat_us
    int64_t sent;        //  items handed to the library
    int64_t acked;       //  final acks
    int64_t accepted;    //  ACCEPTED
    int64_t rejected;    //  REJECTED or DUPLICATE (neither expected)
    int64_t *sent_us;    //  send time by seq
    int32_t *lat_us;     //  latency by seq (-1: no ack)
    int64_t last_ack_us; //  time of the last final ack
    uint64_t retries;    //  RETRY_LATER answers (library statistics)
    bool timed_out;      //  some acks never came
} s_gw_t;

static void
s_on_ack (const Kefu__V1__Ack *ack, void *arg)
{
    s_gw_t *self = arg;
    int64_t seq = bench_item_seq (ack->gateway_msg_id.data, ack->gateway_msg_id.len);
    if (seq < 0 || seq >= self->sent)
        return;
    int64_t now = bench_now_us ();
    self->acked++;
    self->last_ack_us = now;
    self->lat_us[seq] = (int32_t) (now - self->sent_us[seq]);
    if (ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
        self->accepted++;
    else
        self->rejected++;
}

static void
s_grow (s_gw_t *self)
{
    if (self->sent < self->cap)
        return;
    int64_t cap = self->cap ? self->cap * 2 : 4096;
    self->sent_us = realloc (self->sent_us, (size_t) cap * sizeof (int64_t));
    self->lat_us = realloc (self->lat_us, (size_t) cap * sizeof (int32_t));
    for (int64_t i = self->cap; i < cap; i++)
        self->lat_us[i] = -1;
    self->cap = cap;
}

//  A body of `bytes` bytes of CJK characters (3 bytes each, random, so
//  that PostgreSQL cannot compress it away), padded with ASCII.
static void
s_big_body (char *out, int bytes, uint64_t *rng)
{
    int n = 0;
    while (n + 3 <= bytes) {
        unsigned cp = 0x4E00 + (unsigned) (bench_rand (rng) % 0x51A5);
        out[n++] = (char) (0xE0 | (cp >> 12));
        out[n++] = (char) (0x80 | ((cp >> 6) & 0x3F));
        out[n++] = (char) (0x80 | (cp & 0x3F));
    }
    while (n < bytes)
        out[n++] = '.';
    out[n] = '\0';
}

//  Hand item `sent` to the library (its body replaced by big when not
//  NULL). 0, or -1 when the window is full.
static int
s_send (s_gw_t *self, const char *big)
{
    const bench_burst_opts_t *o = self->sh->opts;
    s_grow (self);
    bench_item_t it;
    bench_item_make (&it, o->shop, self->prefix, self->index, o->others + 1, self->sent,
                     o->customers, &self->rng);
    if (big)
        it.msg.body = kefu_gateway_text (big);
    self->sent_us[self->sent] = bench_now_us ();
    if (kefu_gateway_send (self->gw, &it.item) == -1)
        return -1;
    self->sent++;
    return 0;
}

static void
s_wait_acks (s_gw_t *self)
{
    int64_t deadline = bench_now_us () + S_ACK_WAIT_US;
    while (self->acked < self->sent && bench_now_us () < deadline)
        kefu_gateway_poll (self->gw, 100);
    self->timed_out = self->acked < self->sent;
}

//  Paced like bench_intake's fixed load: item k of gateway g is due at
//  start + (g / N + k) * N / rate.
static void
s_run_fixed (s_gw_t *self)
{
    const bench_burst_opts_t *o = self->sh->opts;
    int64_t start = atomic_load (&self->sh->start_us);
    double interval = 1e6 * o->others / o->rate;
    int64_t first = start + (int64_t) (interval * self->index / o->others);
    while (!atomic_load (&self->sh->stop)) {
        int64_t due = first + (int64_t) (interval * (double) self->sent);
        int64_t now = bench_now_us ();
        if (due <= now + 1000) {
            if (s_send (self, NULL) == 0)
                continue;
            kefu_gateway_poll (self->gw, 1); //  window full
            continue;
        }
        int64_t wait_ms = (due - now) / 1000;
        kefu_gateway_poll (self->gw, wait_ms > 10 ? 10 : (int) wait_ms);
    }
    s_wait_acks (self);
}

//  Each burst: every item at once, then every final ack.
static void
s_run_greedy (s_gw_t *self)
{
    const bench_burst_opts_t *o = self->sh->opts;
    char *big = malloc ((size_t) o->body_bytes + 1);
    for (int b = 0; b < o->bursts; b++) {
        while (atomic_load (&self->sh->go_us[b]) == 0 && !atomic_load (&self->sh->stop))
            kefu_gateway_poll (self->gw, 5);
        int64_t target = self->sent + o->items;
        while (self->sent < target) {
            s_big_body (big, o->body_bytes, &self->rng);
            while (s_send (self, big) == -1)
                kefu_gateway_poll (self->gw, 1);
        }
        s_wait_acks (self);
        atomic_store (&self->sh->end_us[b],
                      self->last_ack_us ? self->last_ack_us : bench_now_us ());
        if (self->timed_out)
            break;
    }
    free (big);
}

static void *
s_gateway_main (void *arg)
{
    s_gw_t *self = arg;
    const bench_burst_opts_t *o = self->sh->opts;
    bool greedy = self->index == o->others;
    char thread_name[16];
    snprintf (thread_name, sizeof thread_name, greedy ? "bench-gw-greedy" : "bench-gw%d",
              self->index);
    bench_thread_name (thread_name);
    kefu_gateway_options_t options = kefu_gateway_options_default ();
    options.endpoint = o->endpoint;
    options.gateway_id = self->name;
    if (greedy)
        options.window = (int) o->items;
    self->gw = kefu_gateway_new (&options);
    bool welcomed = false;
    if (self->gw) {
        kefu_gateway_on_ack (self->gw, s_on_ack, self);
        int64_t deadline = bench_now_us () + 10000000;
        while (!kefu_gateway_welcomed (self->gw) && bench_now_us () < deadline)
            kefu_gateway_poll (self->gw, 50);
        welcomed = kefu_gateway_welcomed (self->gw);
    }
    if (!welcomed)
        atomic_fetch_add (&self->sh->failed, 1);
    atomic_fetch_add (&self->sh->welcomed, 1);
    while (atomic_load (&self->sh->start_us) == 0 && !atomic_load (&self->sh->stop))
        zclock_sleep (1);
    if (welcomed) {
        if (greedy)
            s_run_greedy (self);
        else
            s_run_fixed (self);
        kefu_gateway_stats_t stats;
        kefu_gateway_stats (self->gw, &stats);
        self->retries = stats.retry_later;
    }
    kefu_gateway_destroy (&self->gw);
    return NULL;
}

static double
s_rss_mb (int pid)
{
    int64_t kb = bench_pid_rss_kb (pid);
    return kb < 0 ? -1 : (double) kb / 1024.0;
}

//  Sample intake's RSS every S_SAMPLE_MS until `until` returns true or
//  `deadline_us`; the highest sample goes into *peak. Returns the last.
static double
s_sample_until (const bench_burst_opts_t *o, atomic_llong *until, int64_t deadline_us, double *peak)
{
    double rss = s_rss_mb (o->intake_pid);
    while ((!until || atomic_load (until) == 0) && bench_now_us () < deadline_us) {
        zclock_sleep (S_SAMPLE_MS);
        rss = s_rss_mb (o->intake_pid);
        if (peak && rss > *peak)
            *peak = rss;
    }
    return rss;
}

int
bench_burst_run (const bench_burst_opts_t *o, bench_burst_result_t *r)
{
    memset (r, 0, sizeof *r);
    r->ran = true;
    if (o->others < 1 || o->rate < 1 || o->items < 1 || o->bursts < 1 || o->bursts > S_MAX_BURSTS ||
        o->body_bytes < 1) {
        snprintf (r->problem, sizeof r->problem, "burst options out of range");
        return -1;
    }
    s_shared_t sh;
    memset (&sh, 0, sizeof sh);
    sh.opts = o;
    int n = o->others + 1;
    s_gw_t *gws = calloc ((size_t) n, sizeof (s_gw_t));
    pthread_t *threads = calloc ((size_t) n, sizeof (pthread_t));
    for (int i = 0; i < n; i++) {
        s_gw_t *g = &gws[i];
        g->index = i;
        g->sh = &sh;
        snprintf (g->name, sizeof g->name, i == o->others ? "greedy" : "paced%02d", i);
        snprintf (g->prefix, sizeof g->prefix, "%sb%d", o->run_tag, i);
        g->rng = 0x2545f4914f6cdd1dULL ^ ((uint64_t) (i + 1) * 0x9e3779b97f4a7c15ULL);
        pthread_create (&threads[i], NULL, s_gateway_main, g);
    }
    while (atomic_load (&sh.welcomed) < n)
        zclock_sleep (5);
    bool ok = atomic_load (&sh.failed) == 0;
    if (ok) {
        //  Fixed load for lead_s: the last second's mean is the baseline.
        int64_t start = bench_now_us () + 20000;
        atomic_store (&sh.start_us, start);
        int64_t lead_end = start + (int64_t) (o->lead_s * 1e6);
        s_sample_until (o, NULL, lead_end - 1000000, NULL);
        double sum = 0;
        int samples = 0;
        while (bench_now_us () < lead_end) {
            sum += s_rss_mb (o->intake_pid);
            samples++;
            zclock_sleep (S_SAMPLE_MS);
        }
        r->baseline_rss_mb = samples ? sum / samples : s_rss_mb (o->intake_pid);
        r->peak_rss_mb = r->baseline_rss_mb;
        for (int b = 0; b < o->bursts; b++) {
            atomic_store (&sh.go_us[b], bench_now_us ());
            s_sample_until (o, &sh.end_us[b], INT64_MAX, &r->peak_rss_mb);
            if (b + 1 < o->bursts)
                s_sample_until (o, NULL, bench_now_us () + (int64_t) (S_BURST_GAP_S * 1e6),
                                &r->peak_rss_mb);
        }
        int64_t last_end = atomic_load (&sh.end_us[o->bursts - 1]);
        r->after_rss_mb =
            s_sample_until (o, NULL, last_end + (int64_t) (o->settle_s * 1e6), &r->peak_rss_mb);
    }
    atomic_store (&sh.stop, true);
    for (int i = 0; i < n; i++)
        pthread_join (threads[i], NULL);

    //  The others' items sent while a burst lasted (first send of the burst
    //  to its last final ack), and those sent in the second before the
    //  first burst (the baseline: the seconds before it are the warm-up).
    bench_lat_t *during = bench_lat_new (100000);
    bench_lat_t *before = bench_lat_new (100000);
    bool valid = ok;
    for (int i = 0; i < n; i++) {
        s_gw_t *g = &gws[i];
        r->accepted += g->accepted;
        if (valid && (g->timed_out || g->rejected || g->acked != g->sent)) {
            valid = false;
            snprintf (r->problem, sizeof r->problem,
                      "gateway %s: %" PRId64 " sent, %" PRId64 " acked, %" PRId64 " not ACCEPTED%s",
                      g->name, g->sent, g->acked, g->rejected,
                      g->timed_out ? ", acks missing after 120 s" : "");
        }
        if (i == o->others) {
            r->greedy_acked = g->acked;
            r->greedy_retries = (int64_t) g->retries;
            continue;
        }
        r->others_acked += g->acked;
        for (int64_t k = 0; k < g->sent; k++) {
            if (g->lat_us[k] < 0)
                continue;
            int64_t t = g->sent_us[k];
            if (t < atomic_load (&sh.go_us[0]) && t >= atomic_load (&sh.go_us[0]) - 1000000)
                bench_lat_add (before, g->lat_us[k]);
            for (int b = 0; b < o->bursts; b++)
                if (t >= atomic_load (&sh.go_us[b]) && t <= atomic_load (&sh.end_us[b])) {
                    bench_lat_add (during, g->lat_us[k]);
                    r->others_during++;
                    break;
                }
        }
        free (g->sent_us);
        free (g->lat_us);
    }
    free (gws[o->others].sent_us);
    free (gws[o->others].lat_us);
    r->others_p50_ms = bench_lat_pct_ms (during, 50);
    r->others_p99_ms = bench_lat_pct_ms (during, 99);
    r->others_max_ms = bench_lat_max_ms (during);
    r->before_p99_ms = bench_lat_pct_ms (before, 99);
    r->burst_s = (double) (atomic_load (&sh.end_us[0]) - atomic_load (&sh.go_us[0])) / 1e6;
    bench_lat_destroy (&during);
    bench_lat_destroy (&before);
    free (gws);
    free (threads);
    if (!ok)
        snprintf (r->problem, sizeof r->problem, "%d gateways were never welcomed",
                  atomic_load (&sh.failed));
    r->valid = valid;
    return valid ? 0 : -1;
}
