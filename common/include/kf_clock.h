/*  kf_clock — the time every decision is made by.

    Production uses the real wall clock. Tests use a driven clock that only
    moves when told (kf_clock_advance), so deadlines (quiet periods, SLA
    thresholds, shift changes, reminder times) are tested without sleeping.
    A driven clock may be shared between threads: reads and moves are atomic.
    Times are milliseconds since the Unix epoch, UTC. */
#ifndef KF_CLOCK_H
#define KF_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct _kf_clock_t kf_clock_t;

//  Real time. Caller owns return value and must destroy it.
kf_clock_t *kf_clock_new_real (void);
//  Driven time, starting at start_ms. Caller owns return value.
kf_clock_t *kf_clock_new_manual (int64_t start_ms);
//  From a KEFU_CLOCK setting: "real", or "manual" / "manual:<ms>" /
//  "manual:<ISO-8601 UTC time>" for tests. NULL on a bad spec.
kf_clock_t *kf_clock_new_from_spec (const char *spec);
void kf_clock_destroy (kf_clock_t **self_p);

//  Now, in milliseconds since the epoch.
int64_t kf_clock_now_ms (const kf_clock_t *self);
//  True for a driven clock.
bool kf_clock_is_manual (const kf_clock_t *self);
//  Move a driven clock forward by by_ms (>= 0). Returns -1 for a real clock.
int kf_clock_advance (kf_clock_t *self, int64_t by_ms);
//  Set a driven clock (never backwards). Returns -1 for a real clock or a
//  time in the past of the clock.
int kf_clock_set (kf_clock_t *self, int64_t now_ms);

//  Monotonic milliseconds for measuring durations and backoff (never driven).
int64_t kf_clock_mono_ms (void);

//  Parse "2026-11-23T08:30:00Z" / "2026-11-23 08:30:00" (UTC) into ms. -1 on error.
int64_t kf_clock_parse_utc (const char *text);
//  Format ms as "2026-11-23T08:30:00.000Z" into buf (>= 32 bytes).
const char *kf_clock_format_utc (int64_t ms, char *buf, int size);

#endif
