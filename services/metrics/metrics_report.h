/*  metrics_report — from rollup sums to the numbers supervisors read.

    Pure arithmetic and formatting, shared by the query answers: the KPI
    object of a group of rollup rows (rates, means, nearest-rank
    percentiles from the histograms, as README "What each number means"
    defines them), the shop-local buckets hours are folded into (hour,
    day, week, month in the shop's time zone), and the names of channels
    and presence states in answers. */
#ifndef METRICS_REPORT_H
#define METRICS_REPORT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "kf_tz.h"
#include "metrics_model.h"

//  The rollup rows of one group, added up.
typedef struct {
    int64_t counters[METRICS_COUNTERS];            //  sums (WAIT_MAX: maximum)
    int64_t hists[METRICS_HISTS][METRICS_BUCKETS]; //  histogram counts
} metrics_sums_t;

void metrics_sums_add (metrics_sums_t *self, const int64_t *counters);
void metrics_sums_add_hist (metrics_sums_t *self, int hist, int bucket, int64_t n);
void metrics_sums_merge (metrics_sums_t *self, const metrics_sums_t *other);
//  True when every counter and bucket is zero (a row whose facts all
//  moved elsewhere, e.g. to the group routing named later).
bool metrics_sums_empty (const metrics_sums_t *self);

//  The nearest-rank quantile (per_mille/1000, 1..1000) of a histogram as its bucket's
//  upper bound in ms; -1 when it is empty or the value is in the overflow
//  bucket.
int64_t metrics_percentile (const int64_t *hist, int per_mille);
//  Values <= threshold_ms (a bucket bound).
int64_t metrics_within (const int64_t *hist, int64_t threshold_ms);

//  The KPI object of a group (README's schema). agent_row: the group is
//  one agent (or no agent), whose reply ratio is over the customer messages
//  of the rounds they answered and who has no answer rate (conversations
//  are opened for the shop, answered by an agent). Caller owns return value.
json_t *metrics_report_kpis (const metrics_sums_t *sums, int64_t threshold_ms, bool agent_row);

//  How a report is grouped.
typedef enum {
    METRICS_BY_NONE = 0,
    METRICS_BY_AGENT,
    METRICS_BY_GROUP,
    METRICS_BY_CHANNEL,
    METRICS_BY_HOUR,
    METRICS_BY_DAY,
    METRICS_BY_WEEK,
    METRICS_BY_MONTH,
} metrics_by_t;
//  "" / "agent" / ... / "month" -> metrics_by_t, -1 if unknown.
int metrics_by_parse (const char *text);
const char *metrics_by_name (int by);
//  True for hour, day, week and month.
bool metrics_by_time (int by);

//  The local bucket (METRICS_BY_HOUR .. _MONTH) of the UTC hour starting at
//  hour_ms: its label ("2026-11-23T09:00+08:00", "2026-11-23", the week's
//  Monday "2026-11-23", "2026-11") into label (>= 32 bytes). Hours of one
//  bucket have the same label.
const char *metrics_bucket_label (const kf_tz_t *tz, int by, int64_t hour_ms, char *label,
                                  size_t size);
//  The UTC hours whose start is in [from_ms, to_ms): the first one's start.
int64_t metrics_first_hour (int64_t from_ms);
//  How many buckets of `by` the hours of [from_ms, to_ms) make.
int64_t metrics_bucket_count (const kf_tz_t *tz, int by, int64_t from_ms, int64_t to_ms);

//  An instant as local ISO-8601 with its offset ("2026-11-23T09:00:00+08:00")
//  into buf (>= 40 bytes).
const char *metrics_local_time (const kf_tz_t *tz, int64_t ms, char *buf, size_t size);
//  The UTC instant of local midnight of "YYYY-MM-DD" (+ days_after days),
//  or -1 if text is not such a date.
int64_t metrics_local_date (const kf_tz_t *tz, const char *text, int days_after);

//  The civil date (year, month 1-12, day) of a day counted since 1970-01-01.
void metrics_civil_date (int64_t day, int *year, int *month, int *mday);

//  Channel <-> "platform_chat", "wechat", "web_chat", "email", "phone".
const char *metrics_channel_name (int channel);
int metrics_channel_parse (const char *name); //  0 if unknown
//  AgentStatus -> "online", "busy", "away", "offline" ("unknown" for 0).
const char *metrics_status_name (int status);

#endif
