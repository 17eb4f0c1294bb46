/*  kf_clock — real or driven time. */
#include "kf_clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct _kf_clock_t {
    bool manual;            //  driven by kf_clock_advance / kf_clock_set
    _Atomic int64_t now_ms; //  driven clock's current time
};

kf_clock_t *
kf_clock_new_real (void)
{
    kf_clock_t *self = calloc (1, sizeof *self);
    return self;
}

kf_clock_t *
kf_clock_new_manual (int64_t start_ms)
{
    kf_clock_t *self = calloc (1, sizeof *self);
    if (self) {
        self->manual = true;
        atomic_store (&self->now_ms, start_ms);
    }
    return self;
}

kf_clock_t *
kf_clock_new_from_spec (const char *spec)
{
    if (!spec || !*spec || strcmp (spec, "real") == 0)
        return kf_clock_new_real ();
    if (strcmp (spec, "manual") == 0)
        return kf_clock_new_manual (kf_clock_parse_utc ("2026-01-05T00:00:00Z"));
    if (strncmp (spec, "manual:", 7) == 0) {
        const char *arg = spec + 7;
        char *end;
        long long ms = strtoll (arg, &end, 10);
        if (end != arg && *end == '\0' && ms >= 0)
            return kf_clock_new_manual (ms);
        int64_t parsed = kf_clock_parse_utc (arg);
        if (parsed >= 0)
            return kf_clock_new_manual (parsed);
    }
    return NULL;
}

void
kf_clock_destroy (kf_clock_t **self_p)
{
    if (self_p && *self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

int64_t
kf_clock_now_ms (const kf_clock_t *self)
{
    if (self && self->manual)
        return atomic_load (&((kf_clock_t *) self)->now_ms);
    struct timespec ts;
    clock_gettime (CLOCK_REALTIME, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
kf_clock_is_manual (const kf_clock_t *self)
{
    return self && self->manual;
}

int
kf_clock_advance (kf_clock_t *self, int64_t by_ms)
{
    if (!self || !self->manual || by_ms < 0)
        return -1;
    //  Compare-and-swap so that a move that would overflow is refused
    //  atomically, even with another thread moving the clock too.
    int64_t now = atomic_load (&self->now_ms);
    do {
        if (by_ms > INT64_MAX - now)
            return -1;
    } while (!atomic_compare_exchange_weak (&self->now_ms, &now, now + by_ms));
    return 0;
}

int
kf_clock_set (kf_clock_t *self, int64_t now_ms)
{
    if (!self || !self->manual || now_ms < atomic_load (&self->now_ms))
        return -1;
    atomic_store (&self->now_ms, now_ms);
    return 0;
}

int64_t
kf_clock_mono_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
kf_clock_parse_utc (const char *text)
{
    int y, mo, d, h = 0, mi = 0, s = 0, ms = 0;
    char sep;
    int n = sscanf (text, "%4d-%2d-%2d%c%2d:%2d:%2d", &y, &mo, &d, &sep, &h, &mi, &s);
    if (n != 3 && n != 7)
        return -1;
    if (n == 7 && sep != 'T' && sep != ' ')
        return -1;
    const char *dot = strchr (text, '.');
    if (dot) {
        int scale = 100;
        for (const char *c = dot + 1; *c >= '0' && *c <= '9'; c++, scale /= 10)
            ms += (*c - '0') * scale;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || ms > 999)
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    time_t t = timegm (&tm);
    if (t == (time_t) -1 || tm.tm_mday != d || tm.tm_mon != mo - 1)
        return -1;
    return (int64_t) t * 1000 + ms;
}

const char *
kf_clock_format_utc (int64_t ms, char *buf, int size)
{
    time_t t = (time_t) (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    struct tm tm;
    gmtime_r (&t, &tm);
    int n = (int) strftime (buf, (size_t) size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf (buf + n, (size_t) (size - n), ".%03dZ", (int) (ms - (int64_t) t * 1000));
    return buf;
}
