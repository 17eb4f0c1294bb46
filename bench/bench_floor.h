/*  bench_floor — the floor under routing's decision latency on this machine:
    the same traffic through the same parts with nothing decided.

    A source thread plays intake: every batch_ms at most it stores the items
    that became due (one row each, one durable commit) and then publishes
    each on a PUB socket. A relay thread plays routing with no logic: it
    drains what its SUB socket has, stores one row per item (one durable
    commit), and sends one frame per item on a DEALER. A collector thread
    (the command endpoint, a ROUTER) notes publication -> arrival for each.
    Two durable commits in series and two ZeroMQ hops, as a decision has,
    so the tail it shows (a slow fsync holds the source and the relay alike,
    then a burst follows) is the machine's, not routing's.

        bench_floor_opts_t opts = {5000, 1.0, 5.0, 1.5};
        bench_floor_result_t result;
        if (bench_floor_run (url, &opts, &result) == 0)
            printf ("p99 %.2f ms\n", result.p99_ms); */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

#include <stdint.h>

typedef struct {
    int rate;        //  items per second
    double warmup;   //  seconds run before measuring
    double seconds;  //  seconds measured
    double batch_ms; //  the source commits at most this often
} bench_floor_opts_t;

typedef struct {
    int64_t items;        //  items measured (published after the warm-up)
    double p50_ms;        //  publication -> arrival at the collector
    double p99_ms;        //
    double p999_ms;       //
    double max_ms;        //
    int64_t commits;      //  the relay's commits while measuring
    double commit_p50_ms; //  the relay's commit (INSERT, autocommit)
    double commit_p99_ms; //
    double commit_max_ms; //
    int64_t slow_commits; //  commits of either thread over 2 ms while measuring
} bench_floor_result_t;

//  Create a scratch table in url's database, run, drop it. 0, or -1
//  (reason on stderr) if it could not be set up or items went missing.
int bench_floor_run (const char *url, const bench_floor_opts_t *opts, bench_floor_result_t *out);

#endif
