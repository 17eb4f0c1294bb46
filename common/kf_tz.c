/*  kf_tz — a small reader of TZif files (RFC 8536), version 2+ data block. */
#include "kf_tz.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct _kf_tz_t {
    char name[64];    //  as given to kf_tz_new
    int count;        //  number of transitions
    int64_t *times;   //  transition instants, seconds since epoch, ascending
    int32_t *offsets; //  offset in force from times[i] on, seconds east of UTC
    int32_t initial;  //  offset before the first transition
};

static int64_t
s_be (const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    if (n == 4)
        return (int32_t) (uint32_t) v;
    return (int64_t) v;
}

static bool
s_fixed_offset (const char *name, int32_t *offset)
{
    if (strcmp (name, "UTC") == 0 || strcmp (name, "Z") == 0 || strcmp (name, "Etc/UTC") == 0) {
        *offset = 0;
        return true;
    }
    //  Exactly +HH, +HH:MM or +HHMM (or '-'): anything else is not an offset.
    size_t len = strlen (name);
    const char *d = name + 1;
    if ((name[0] != '+' && name[0] != '-') || !(len == 3 || len == 5 || len == 6))
        return false;
    if (len == 6 && d[2] != ':')
        return false;
    const char *mm = len == 6 ? d + 3 : d + 2;
    for (const char *c = d; *c; c++)
        if (c != d + 2 || len != 6)
            if (*c < '0' || *c > '9')
                return false;
    int h = (d[0] - '0') * 10 + (d[1] - '0');
    int m = len == 3 ? 0 : (mm[0] - '0') * 10 + (mm[1] - '0');
    if (h > 14 || m > 59)
        return false;
    *offset = (h * 3600 + m * 60) * (name[0] == '-' ? -1 : 1);
    return true;
}

static int
s_load_file (kf_tz_t *self, const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return -1;
    fseek (f, 0, SEEK_END);
    long size = ftell (f);
    fseek (f, 0, SEEK_SET);
    if (size < 44 || size > 1 << 20) {
        fclose (f);
        return -1;
    }
    unsigned char *buf = malloc ((size_t) size);
    size_t got = fread (buf, 1, (size_t) size, f);
    fclose (f);
    int rc = -1;
    if (got != (size_t) size || memcmp (buf, "TZif", 4) != 0 || buf[4] < '2')
        goto done;
    //  Skip the version-1 block (32-bit times) to reach the version-2 header.
    const unsigned char *h = buf;
    int64_t isut = s_be (h + 20, 4), isstd = s_be (h + 24, 4), leap = s_be (h + 28, 4);
    int64_t timecnt = s_be (h + 32, 4), typecnt = s_be (h + 36, 4), charcnt = s_be (h + 40, 4);
    size_t v1 = 44 + (size_t) (timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut);
    if (v1 + 44 > (size_t) size)
        goto done;
    h = buf + v1;
    if (memcmp (h, "TZif", 4) != 0)
        goto done;
    isut = s_be (h + 20, 4), isstd = s_be (h + 24, 4), leap = s_be (h + 28, 4);
    timecnt = s_be (h + 32, 4), typecnt = s_be (h + 36, 4), charcnt = s_be (h + 40, 4);
    if (timecnt < 0 || typecnt <= 0 || timecnt > 10000 || typecnt > 256)
        goto done;
    const unsigned char *p = h + 44;
    size_t need = (size_t) (timecnt * 9 + typecnt * 6);
    if ((size_t) (p - buf) + need > (size_t) size)
        goto done;
    const unsigned char *times = p;
    const unsigned char *idx = p + timecnt * 8;
    const unsigned char *types = idx + timecnt;
    self->count = (int) timecnt;
    self->times = calloc ((size_t) timecnt + 1, sizeof (int64_t));
    self->offsets = calloc ((size_t) timecnt + 1, sizeof (int32_t));
    for (int i = 0; i < timecnt; i++) {
        int t = idx[i];
        if (t >= typecnt)
            goto done;
        self->times[i] = s_be (times + i * 8, 8);
        self->offsets[i] = (int32_t) s_be (types + t * 6, 4);
    }
    //  RFC 8536: local time before the first transition uses type 0.
    self->initial = (int32_t) s_be (types, 4);
    rc = 0;
done:
    free (buf);
    return rc;
}

kf_tz_t *
kf_tz_new (const char *name)
{
    if (!name || !*name || strlen (name) >= 64 || strstr (name, ".."))
        return NULL;
    kf_tz_t *self = calloc (1, sizeof *self);
    snprintf (self->name, sizeof self->name, "%s", name);
    if (s_fixed_offset (name, &self->initial))
        return self;
    const char *dir = getenv ("TZDIR");
    char path[512];
    snprintf (path, sizeof path, "%s/%s", dir && *dir ? dir : "/usr/share/zoneinfo", name);
    if (name[0] == '/' || s_load_file (self, path)) {
        kf_tz_destroy (&self);
        return NULL;
    }
    return self;
}

void
kf_tz_destroy (kf_tz_t **self_p)
{
    if (self_p && *self_p) {
        free ((*self_p)->times);
        free ((*self_p)->offsets);
        free (*self_p);
        *self_p = NULL;
    }
}

const char *
kf_tz_name (const kf_tz_t *self)
{
    return self->name;
}

int
kf_tz_offset_s (const kf_tz_t *self, int64_t utc_ms)
{
    int64_t t = utc_ms >= 0 ? utc_ms / 1000 : (utc_ms - 999) / 1000;
    if (self->count == 0 || t < self->times[0])
        return self->initial;
    //  Binary search for the last transition <= t.
    int lo = 0, hi = self->count - 1;
    while (lo < hi) {
        int mid = (lo + hi + 1) / 2;
        if (self->times[mid] <= t)
            lo = mid;
        else
            hi = mid - 1;
    }
    return self->offsets[lo];
}

void
kf_tz_local (const kf_tz_t *self, int64_t utc_ms, struct tm *out)
{
    int64_t local = utc_ms + (int64_t) kf_tz_offset_s (self, utc_ms) * 1000;
    time_t t = (time_t) (local >= 0 ? local / 1000 : (local - 999) / 1000);
    gmtime_r (&t, out);
}

int64_t
kf_tz_ms_of_day (const kf_tz_t *self, int64_t utc_ms)
{
    int64_t local = utc_ms + (int64_t) kf_tz_offset_s (self, utc_ms) * 1000;
    int64_t r = local % 86400000;
    return r < 0 ? r + 86400000 : r;
}

int64_t
kf_tz_local_day (const kf_tz_t *self, int64_t utc_ms)
{
    int64_t local = utc_ms + (int64_t) kf_tz_offset_s (self, utc_ms) * 1000;
    return local >= 0 ? local / 86400000 : (local - 86400000 + 1) / 86400000;
}

int64_t
kf_tz_week_of_day (int64_t day)
{
    //  1970-01-01 was a Thursday: day 4 is the first Monday.
    int64_t d = day + 3;
    return d >= 0 ? d / 7 : (d - 6) / 7;
}

int64_t
kf_tz_to_utc (const kf_tz_t *self, int year, int month, int day, int minute_of_day)
{
    struct tm tm = {0};
    tm.tm_year = year - 1900;
    tm.tm_mon = month - 1;
    tm.tm_mday = day;
    int64_t local_ms = (int64_t) timegm (&tm) * 1000 + (int64_t) minute_of_day * 60000;
    int before = kf_tz_offset_s (self, local_ms - 86400000);
    int after = kf_tz_offset_s (self, local_ms + 86400000);
    int64_t a = local_ms - (int64_t) before * 1000, b = local_ms - (int64_t) after * 1000;
    bool a_ok = kf_tz_offset_s (self, a) == before, b_ok = kf_tz_offset_s (self, b) == after;
    if (a_ok && b_ok)
        return a < b ? a : b;
    if (b_ok)
        return b;
    return a;
}
