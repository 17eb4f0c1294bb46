/*  bench_burst — the burst phase of bench_intake: one greedy gateway hands
    intake thousands of large items at once while other gateways go on at a
    fixed rate. Measures what the burst costs the others (their ack latency
    while it lasts) and intake's memory (resident set before, at the peak,
    and some seconds after).

        bench_burst_opts_t o = {endpoint, "bench-shop", intake_pid, 7, 2000, 5000, 7168, 1,
                                10.0, 3.0, 20000, "6a3f1c"};
        bench_burst_result_t r;
        bench_burst_run (&o, &r);

    Intake must be a process of its own (intake_pid) for its memory to be
    told apart from the gateways'. */
#ifndef BENCH_BURST_H
#define BENCH_BURST_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    const char *endpoint; //  intake's gateway endpoint
    const char *shop;     //  registered shop
    int intake_pid;       //  the kefu-intake process (its VmRSS is sampled)
    int others;           //  gateways at a fixed rate
    int rate;             //  their items/s in total
    int64_t items;        //  items of each burst
    int body_bytes;       //  body of each burst item (UTF-8)
    int bursts;           //  bursts, one after the other's settle time
    double settle_s;      //  seconds after the last burst to the after-burst RSS
    double lead_s;        //  seconds of fixed load before the first burst (baseline)
    int customers;        //  distinct buyers
    const char *run_tag;  //  makes message ids unique per run
} bench_burst_opts_t;

typedef struct {
    bool ran;               //  the phase was run
    bool valid;             //  every item acked once, none rejected
    int64_t others_acked;   //  final acks of the fixed-rate gateways
    int64_t others_during;  //  ... of items sent while a burst lasted
    double others_p50_ms;   //  their latency during the bursts
    double others_p99_ms;   //  ...
    double others_max_ms;   //  ...
    double before_p99_ms;   //  their p99 before the first burst
    int64_t greedy_acked;   //  final acks of the burst items
    int64_t greedy_retries; //  RETRY_LATER answers the greedy gateway got
    double burst_s;         //  first burst: first send to last final ack
    double baseline_rss_mb; //  intake's RSS just before the first burst
    double peak_rss_mb;     //  highest RSS sampled from the first burst on
    double after_rss_mb;    //  RSS settle_s after the last burst ended
    int64_t accepted;       //  ACCEPTED acks, every gateway (for the row check)
    char problem[160];      //  why the run is not valid
} bench_burst_result_t;

//  Run the phase against a running intake. 0, or -1 (see result->problem).
int bench_burst_run (const bench_burst_opts_t *opts, bench_burst_result_t *result);

#endif
