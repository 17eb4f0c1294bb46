/*  bench_stats — clock, latency percentiles and CPU accounting. */
#include "bench_stats.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int64_t
bench_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
bench_sleep_until_us (int64_t until_us)
{
    struct timespec ts = {(time_t) (until_us / 1000000), (long) (until_us % 1000000) * 1000};
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

//  ---------------------------------------------------------------------
//  Latency samples

struct _bench_lat_t {
    int64_t *us;  //  samples, microseconds
    size_t count; //  samples held
    size_t cap;   //  allocated
    bool sorted;  //  us is sorted (percentiles sort lazily)
};

bench_lat_t *
bench_lat_new (size_t hint)
{
    bench_lat_t *self = calloc (1, sizeof *self);
    assert (self);
    self->cap = hint ? hint : 1024;
    self->us = malloc (self->cap * sizeof (int64_t));
    assert (self->us);
    self->sorted = true;
    return self;
}

void
bench_lat_destroy (bench_lat_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->us);
        free (*self_p);
        *self_p = NULL;
    }
}

void
bench_lat_add (bench_lat_t *self, int64_t us)
{
    if (self->count == self->cap) {
        self->cap *= 2;
        self->us = realloc (self->us, self->cap * sizeof (int64_t));
        assert (self->us);
    }
    self->us[self->count++] = us;
    self->sorted = false;
}

void
bench_lat_merge (bench_lat_t *self, const bench_lat_t *src)
{
    for (size_t i = 0; i < src->count; i++)
        bench_lat_add (self, src->us[i]);
}

size_t
bench_lat_count (const bench_lat_t *self)
{
    return self->count;
}

static int
s_cmp (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x < y ? -1 : x > y;
}

static void
s_sort (bench_lat_t *self)
{
    if (!self->sorted) {
        qsort (self->us, self->count, sizeof (int64_t), s_cmp);
        self->sorted = true;
    }
}

double
bench_lat_pct_ms (bench_lat_t *self, double p)
{
    if (self->count == 0)
        return 0;
    s_sort (self);
    //  Nearest rank: the smallest sample with at least p % at or below it.
    double rank = ceil (p / 100.0 * (double) self->count);
    size_t index = rank < 1 ? 0 : (size_t) rank - 1;
    if (index >= self->count)
        index = self->count - 1;
    return (double) self->us[index] / 1000.0;
}

double
bench_lat_max_ms (bench_lat_t *self)
{
    if (self->count == 0)
        return 0;
    s_sort (self);
    return (double) self->us[self->count - 1] / 1000.0;
}

double
bench_lat_mean_ms (const bench_lat_t *self)
{
    if (self->count == 0)
        return 0;
    double sum = 0;
    for (size_t i = 0; i < self->count; i++)
        sum += (double) self->us[i];
    return sum / (double) self->count / 1000.0;
}

//  ---------------------------------------------------------------------
//  CPU accounting

//  Parse /proc/.../stat: comm, ppid, utime + stime in ticks, and in
//  *reaped (may be NULL) cutime + cstime: the CPU of children it has waited
//  for (the postmaster's exited backends). 0 or -1.
static int
s_read_stat_full (const char *path, char *comm, size_t comm_size, int *ppid, long long *ticks,
                  long long *reaped)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    char line[1024];
    bool ok = fgets (line, sizeof line, file) != NULL;
    fclose (file);
    if (!ok)
        return -1;
    //  comm may hold spaces and parentheses: it ends at the last ')'.
    char *open = strchr (line, '(');
    char *close = strrchr (line, ')');
    if (!open || !close || close < open)
        return -1;
    size_t len = (size_t) (close - open - 1);
    if (len >= comm_size)
        len = comm_size - 1;
    memcpy (comm, open + 1, len);
    comm[len] = '\0';
    //  After ") ": field 3 (state) is index 0; ppid is 1, utime 11, stime 12.
    char *save = NULL;
    char *field = strtok_r (close + 2, " ", &save);
    long long utime = 0, stime = 0, cutime = 0, cstime = 0;
    for (int i = 0; field && i <= 14; i++, field = strtok_r (NULL, " ", &save)) {
        if (i == 1)
            *ppid = atoi (field);
        else if (i == 11)
            utime = atoll (field);
        else if (i == 12)
            stime = atoll (field);
        else if (i == 13)
            cutime = atoll (field);
        else if (i == 14)
            cstime = atoll (field);
    }
    *ticks = utime + stime;
    if (reaped)
        *reaped = cutime + cstime;
    return 0;
}

static int
s_read_stat (const char *path, char *comm, size_t comm_size, int *ppid, long long *ticks)
{
    return s_read_stat_full (path, comm, comm_size, ppid, ticks, NULL);
}

static double
s_machine_busy (double hz)
{
    FILE *file = fopen ("/proc/stat", "r");
    if (!file)
        return 0;
    unsigned long long v[8] = {0};
    int n = fscanf (file, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                    &v[4], &v[5], &v[6], &v[7]);
    fclose (file);
    if (n < 8)
        return 0;
    //  user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
    return (double) (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / hz;
}

//  CPU seconds of every thread of process pid.
static double
s_process_cpu (int pid, double hz)
{
    char path[300];
    snprintf (path, sizeof path, "/proc/%d/stat", pid);
    char comm[64];
    int ppid = 0;
    long long ticks = 0;
    return s_read_stat (path, comm, sizeof comm, &ppid, &ticks) == 0 ? (double) ticks / hz : 0;
}

double
bench_pid_cpu (int pid)
{
    return pid > 0 ? s_process_cpu (pid, (double) sysconf (_SC_CLK_TCK)) : 0;
}

void
bench_cpu_sample (bench_cpu_t *out, int postmaster_pid, int intake_pid)
{
    bench_cpu_sample_pids (out, postmaster_pid, intake_pid, 0);
}

void
bench_cpu_sample_pids (bench_cpu_t *out, int postmaster_pid, int intake_pid, int routing_pid)
{
    memset (out, 0, sizeof *out);
    double hz = (double) sysconf (_SC_CLK_TCK);
    out->wall = (double) bench_now_us () / 1e6;
    struct rusage ru;
    if (getrusage (RUSAGE_SELF, &ru) == 0)
        out->process = (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
                       (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
    DIR *dir = opendir ("/proc/self/task");
    if (dir) {
        struct dirent *entry;
        while ((entry = readdir (dir))) {
            if (entry->d_name[0] == '.')
                continue;
            char path[300], comm[64];
            int ppid = 0;
            long long ticks = 0;
            snprintf (path, sizeof path, "/proc/self/task/%s/stat", entry->d_name);
            if (s_read_stat (path, comm, sizeof comm, &ppid, &ticks))
                continue;
            if (strncmp (comm, "bench-gw", 8) == 0 || strncmp (comm, "bench-cli", 9) == 0)
                out->gateways += (double) ticks / hz;
            else if (strncmp (comm, "ZMQbg", 5) == 0)
                out->zmq_io += (double) ticks / hz;
            else if (strncmp (comm, "bench-intake", 12) == 0)
                out->intake += (double) ticks / hz;
            else if (strncmp (comm, "bench-routing", 13) == 0)
                out->routing += (double) ticks / hz;
        }
        closedir (dir);
    }
    out->rest = out->process - out->gateways - out->zmq_io - out->intake - out->routing;
    if (intake_pid > 0)
        out->intake = s_process_cpu (intake_pid, hz);
    if (routing_pid > 0)
        out->routing = s_process_cpu (routing_pid, hz);
    if (postmaster_pid > 0 && (dir = opendir ("/proc"))) {
        struct dirent *entry;
        while ((entry = readdir (dir))) {
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9')
                continue;
            char path[300], comm[64];
            int ppid = 0;
            long long ticks = 0, reaped = 0;
            snprintf (path, sizeof path, "/proc/%s/stat", entry->d_name);
            if (s_read_stat_full (path, comm, sizeof comm, &ppid, &ticks, &reaped))
                continue;
            //  Backends that exited count through the postmaster's reaped time.
            if (atoi (entry->d_name) == postmaster_pid)
                out->postgres += (double) (ticks + reaped) / hz;
            else if (ppid == postmaster_pid)
                out->postgres += (double) ticks / hz;
        }
        closedir (dir);
    }
    out->machine = s_machine_busy (hz);
}

bench_cpu_t
bench_cpu_diff (const bench_cpu_t *after, const bench_cpu_t *before)
{
    bench_cpu_t d;
    d.wall = after->wall - before->wall;
    d.gateways = after->gateways - before->gateways;
    d.zmq_io = after->zmq_io - before->zmq_io;
    d.intake = after->intake - before->intake;
    d.routing = after->routing - before->routing;
    d.rest = after->rest - before->rest;
    d.process = after->process - before->process;
    d.postgres = after->postgres - before->postgres;
    d.machine = after->machine - before->machine;
    return d;
}

double
bench_wait_quiet (const char *who, int seconds)
{
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    int64_t deadline = bench_now_us () + (int64_t) seconds * 1000000;
    double busy = 1;
    do {
        bench_cpu_t before, after;
        bench_cpu_sample (&before, 0, 0);
        struct timespec two = {2, 0};
        while (nanosleep (&two, &two) == -1 && errno == EINTR)
            ;
        bench_cpu_sample (&after, 0, 0);
        bench_cpu_t d = bench_cpu_diff (&after, &before);
        busy = d.wall > 0 ? d.machine / (d.wall * (double) cores) : 1;
        if (busy < 0.10)
            break;
        fprintf (stderr, "%s: machine %.0f%% busy (other processes), waiting ...\n", who,
                 100 * busy);
    } while (bench_now_us () < deadline);
    return busy;
}

//  The first line of a /proc file that starts with prefix, into line;
//  false if there is none (or no such file).
static bool
s_proc_line (const char *path, const char *prefix, char *line, size_t size)
{
    FILE *f = fopen (path, "r");
    bool found = false;
    while (f && !found && fgets (line, (int) size, f))
        found = strncmp (line, prefix, strlen (prefix)) == 0;
    if (f)
        fclose (f);
    return found;
}

double
bench_psi_some_us (const char *resource)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/pressure/%s", resource);
    const char *t = s_proc_line (path, "some ", line, sizeof line) ? strstr (line, "total=") : NULL;
    return t ? strtod (t + 6, NULL) : -1;
}

double
bench_cpu_speed_check_ms (void)
{
    //  Best of three, so that one preemption does not count.
    double best = 0;
    for (int round = 0; round < 3; round++) {
        int64_t start = bench_now_us ();
        uint64_t x = 88172645463325252ull, sum = 0;
        for (int i = 0; i < 10 * 1000 * 1000; i++) {
            x ^= x << 13; //  xorshift64: nothing the compiler can fold away
            x ^= x >> 7;
            x ^= x << 17;
            sum += x * 2654435761u;
        }
        volatile uint64_t sink = sum;
        (void) sink;
        double ms = (double) (bench_now_us () - start) / 1000.0;
        if (round == 0 || ms < best)
            best = ms;
    }
    return best;
}

void
bench_thread_name (const char *name)
{
    char short_name[16];
    snprintf (short_name, sizeof short_name, "%s", name);
    pthread_setname_np (pthread_self (), short_name);
}

int
bench_thread_rename_others (const char *from, const char *to)
{
    int renamed = 0;
    pid_t self = (pid_t) syscall (SYS_gettid);
    DIR *dir = opendir ("/proc/self/task");
    if (!dir)
        return 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (entry->d_name[0] == '.' || atoi (entry->d_name) == self)
            continue;
        char path[300], comm[64];
        int ppid = 0;
        long long ticks = 0;
        snprintf (path, sizeof path, "/proc/self/task/%s/stat", entry->d_name);
        if (s_read_stat (path, comm, sizeof comm, &ppid, &ticks) || strcmp (comm, from) != 0)
            continue;
        snprintf (path, sizeof path, "/proc/self/task/%s/comm", entry->d_name);
        FILE *file = fopen (path, "w");
        if (file) {
            fprintf (file, "%.15s", to);
            if (fclose (file) == 0)
                renamed++;
        }
    }
    closedir (dir);
    return renamed;
}

int64_t
bench_pid_rss_kb (int pid)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", pid);
    return s_proc_line (path, "VmRSS:", line, sizeof line) ? strtoll (line + 6, NULL, 10) : -1;
}

int
bench_pid_fds (int pid)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/fd", pid);
    DIR *dir = opendir (path);
    if (!dir)
        return -1;
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)))
        if (entry->d_name[0] != '.')
            n++;
    closedir (dir);
    return n;
}

void
bench_json_num (char *buf, size_t size, double v, bool have)
{
    if (have)
        snprintf (buf, size, "%.3f", v);
    else
        snprintf (buf, size, "null");
}

const char *
bench_met (bool met)
{
    return met ? "MET" : "MISSED";
}
