/*  kf_tz — shop time zones (a shop in Shanghai opens at 08:30 Shanghai time).

    Reads the system's compiled tz database (TZif files under $TZDIR or
    /usr/share/zoneinfo) so any IANA name works without touching the
    process-wide TZ variable, which is not thread-safe. Fixed offsets such
    as "+08:00" and "UTC" need no file. Beyond the last transition in the
    file (2037 in Debian's "fat" files) the last offset is used. */
#ifndef KF_TZ_H
#define KF_TZ_H

#include <stdint.h>
#include <time.h>

typedef struct _kf_tz_t kf_tz_t;

//  Load a zone by IANA name ("Asia/Shanghai") or fixed offset ("+08:00",
//  "UTC"). NULL if unknown. Caller owns return value and must destroy it.
kf_tz_t *kf_tz_new (const char *name);
void kf_tz_destroy (kf_tz_t **self_p);

//  The zone's name as given. Borrowed.
const char *kf_tz_name (const kf_tz_t *self);
//  Offset from UTC in seconds at the instant utc_ms (east positive).
int kf_tz_offset_s (const kf_tz_t *self, int64_t utc_ms);
//  Local broken-down time at utc_ms (tm_wday 0 = Sunday).
void kf_tz_local (const kf_tz_t *self, int64_t utc_ms, struct tm *out);
//  Milliseconds since local midnight at utc_ms.
int64_t kf_tz_ms_of_day (const kf_tz_t *self, int64_t utc_ms);
//  The local date at utc_ms as days since 1970-01-01 (negative before).
int64_t kf_tz_local_day (const kf_tz_t *self, int64_t utc_ms);
//  The week a day (days since 1970-01-01) falls in. Weeks run Monday to
//  Sunday and are counted from the one holding 1970-01-01 (week 0), so
//  Monday 1970-01-05 begins week 1. A rotation of N weeks is in its week
//  (week mod N) of the cycle (routing's shift rotations, kefuctl).
int64_t kf_tz_week_of_day (int64_t day);
//  The UTC instant of a local wall-clock time (year, month 1-12, day, minutes
//  after midnight). For times skipped or repeated by DST the earlier offset wins.
int64_t kf_tz_to_utc (const kf_tz_t *self, int year, int month, int day, int minute_of_day);

#endif
