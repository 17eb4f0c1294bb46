/*  bench_stats — what every kefu benchmark measures with: a monotonic
    microsecond clock, latency sample sets with percentiles, and CPU
    accounting (this process by thread group, our PostgreSQL cluster, and
    the whole machine, so a run can show who used the two cores; single
    processes such as one PostgreSQL backend by pid).

        bench_lat_t *lat = bench_lat_new (100000);
        bench_lat_add (lat, bench_now_us () - sent_us);
        double p99 = bench_lat_pct_ms (lat, 99.0);
        bench_lat_destroy (&lat);

    A sample set is used from one thread; merge per-thread sets afterwards. */
#ifndef BENCH_STATS_H
#define BENCH_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

//  Monotonic time in microseconds.
int64_t bench_now_us (void);
//  Sleep until the monotonic time `until_us`.
void bench_sleep_until_us (int64_t until_us);

typedef struct _bench_lat_t bench_lat_t;

//  A set of latency samples (microseconds); hint is the expected count.
//  Caller owns return value and must destroy it.
bench_lat_t *bench_lat_new (size_t hint);
void bench_lat_destroy (bench_lat_t **self_p);
void bench_lat_add (bench_lat_t *self, int64_t us);
//  Append every sample of src to self (src unchanged).
void bench_lat_merge (bench_lat_t *self, const bench_lat_t *src);
size_t bench_lat_count (const bench_lat_t *self);
//  The p-th percentile (0..100, nearest rank) in milliseconds; 0 if empty.
double bench_lat_pct_ms (bench_lat_t *self, double p);
//  Largest sample in milliseconds; 0 if empty.
double bench_lat_max_ms (bench_lat_t *self);
//  Mean in milliseconds; 0 if empty.
double bench_lat_mean_ms (const bench_lat_t *self);

//  CPU seconds (user + system) used so far, by who used them.
typedef struct {
    double wall;     //  monotonic seconds at the sample
    double gateways; //  threads of this process named "bench-gw*" / "bench-cli*"
    double zmq_io;   //  libzmq's background threads of this process ("ZMQbg/*")
    double intake;   //  threads named "bench-intake*", or the whole intake process
    double routing;  //  threads named "bench-routing*", or the whole routing process
    double rest;     //  every other thread of this process (main, raw servers)
    double process;  //  this process in total
    double postgres; //  the postmaster and all its children (0 when pid unknown)
    double machine;  //  busy CPU seconds of the whole machine (/proc/stat)
} bench_cpu_t;

//  Sample the counters now. postmaster_pid <= 0: postgres stays 0;
//  intake_pid > 0: intake is that process (else our "bench-intake" threads).
void bench_cpu_sample (bench_cpu_t *out, int postmaster_pid, int intake_pid);
//  The same; routing_pid > 0: routing is that process (else our
//  "bench-routing" threads).
void bench_cpu_sample_pids (bench_cpu_t *out, int postmaster_pid, int intake_pid, int routing_pid);
//  CPU seconds (user + system) process pid has used so far; 0 if it is gone.
double bench_pid_cpu (int pid);

//  Rename the other threads of this process still called `from` (threads
//  inherit their creator's name) to `to`. Returns how many were renamed.
int bench_thread_rename_others (const char *from, const char *to);
//  after - before, field by field.
bench_cpu_t bench_cpu_diff (const bench_cpu_t *after, const bench_cpu_t *before);

//  Wait up to `seconds` for a 2-second window in which the whole machine
//  is less than 10 % busy (other processes skew results); progress goes
//  to stderr prefixed with `who`. Returns the busy fraction of the last
//  window.
double bench_wait_quiet (const char *who, int seconds);

//  How long the same fixed piece of integer arithmetic takes on the calling
//  thread, in milliseconds. Run at the start and at the end of a
//  benchmark: a VM whose host is busy shows no steal time but runs
//  everything slower, and this shows it.
double bench_cpu_speed_check_ms (void);

//  Pressure stall information: microseconds in which some task of the
//  machine waited for `resource` ("cpu", "io", "memory"), a counter
//  (/proc/pressure/<resource>, "some ... total="); -1 where unavailable.
//  Includes our own waits (a commit's fsync counts as I/O), so a slow disk
//  shows as a higher share of the phase.
double bench_psi_some_us (const char *resource);

//  Name the calling thread (at most 15 characters are kept).
void bench_thread_name (const char *name);

//  Resident memory of process pid in KiB (VmRSS), and its open file
//  descriptors (entries of /proc/<pid>/fd); -1 if it is gone or unreadable.
int64_t bench_pid_rss_kb (int pid);
int bench_pid_fds (int pid);

//  Reports: a JSON number with 3 decimals, or null when !have; "MET" or
//  "MISSED".
void bench_json_num (char *buf, size_t size, double v, bool have);
const char *bench_met (bool met);

#endif
