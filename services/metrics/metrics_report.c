/*  metrics_report — KPI objects, shop-local buckets and names. */
#include "metrics_report.h"

#include "kefu/v1/common.pb-c.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

void
metrics_sums_add (metrics_sums_t *self, const int64_t *counters)
{
    for (int c = 0; c < METRICS_COUNTERS; c++)
        if (c == METRICS_WAIT_MAX) {
            if (counters[METRICS_WAITS] > 0 && counters[c] > self->counters[c])
                self->counters[c] = counters[c];
        } else
            self->counters[c] += counters[c];
}

void
metrics_sums_add_hist (metrics_sums_t *self, int hist, int bucket, int64_t n)
{
    if (hist >= 0 && hist < METRICS_HISTS && bucket >= 0 && bucket < METRICS_BUCKETS)
        self->hists[hist][bucket] += n;
}

void
metrics_sums_merge (metrics_sums_t *self, const metrics_sums_t *other)
{
    metrics_sums_add (self, other->counters);
    for (int h = 0; h < METRICS_HISTS; h++)
        for (int b = 0; b < METRICS_BUCKETS; b++)
            self->hists[h][b] += other->hists[h][b];
}

bool
metrics_sums_empty (const metrics_sums_t *self)
{
    for (int c = 0; c < METRICS_COUNTERS; c++)
        if (self->counters[c] && c != METRICS_WAIT_MAX)
            return false;
    for (int h = 0; h < METRICS_HISTS; h++)
        for (int b = 0; b < METRICS_BUCKETS; b++)
            if (self->hists[h][b])
                return false;
    return true;
}

int64_t
metrics_percentile (const int64_t *hist, int per_mille)
{
    int64_t n = 0;
    for (int b = 0; b < METRICS_BUCKETS; b++)
        n += hist[b];
    if (n <= 0)
        return -1;
    //  Nearest rank: the smallest value with at least ceil (p * n) values
    //  at or below it (PostgreSQL's percentile_disc).
    int64_t rank = (n * per_mille + 999) / 1000;
    if (rank < 1)
        rank = 1;
    int64_t seen = 0;
    for (int b = 0; b < METRICS_BUCKETS; b++) {
        seen += hist[b];
        if (seen >= rank)
            return b == METRICS_BUCKETS - 1 ? -1 : metrics_bucket_upper (b);
    }
    return -1;
}

int64_t
metrics_within (const int64_t *hist, int64_t threshold_ms)
{
    int64_t n = 0;
    for (int b = 0; b < METRICS_BUCKETS - 1 && metrics_bucket_upper (b) <= threshold_ms; b++)
        n += hist[b];
    return n;
}

//  ---------------------------------------------------------------------
//  KPI objects

//  Seconds to the millisecond, or null.
static json_t *
s_seconds (double ms)
{
    return json_real (round (ms) / 1000.0);
}

static json_t *
s_mean (int64_t sum_ms, int64_t count)
{
    return count > 0 ? s_seconds ((double) sum_ms / (double) count) : json_null ();
}

static json_t *
s_rate (int64_t num, int64_t den)
{
    return den > 0 ? json_real ((double) num / (double) den) : json_null ();
}

static json_t *
s_quantile (const int64_t *hist, int per_mille)
{
    int64_t ms = metrics_percentile (hist, per_mille);
    return ms >= 0 ? s_seconds ((double) ms) : json_null ();
}

json_t *
metrics_report_kpis (const metrics_sums_t *sums, int64_t threshold_ms, bool agent_row)
{
    const int64_t *c = sums->counters;
    const int64_t *frt = sums->hists[METRICS_HIST_FRT];
    const int64_t *round_h = sums->hists[METRICS_HIST_ROUND];
    int64_t in_hours = c[METRICS_CONV_CUSTOMER] - c[METRICS_CONV_AFTER_HOURS];
    int64_t answered_in_hours = c[METRICS_CONV_ANSWERED] - c[METRICS_CONV_ANSWERED_AH];
    int64_t within_frt = metrics_within (frt, threshold_ms);
    int64_t within_round = metrics_within (round_h, threshold_ms);
    int64_t ratings = 0, good = 0, score_sum = 0;
    json_t *distribution = json_object ();
    for (int s = 1; s <= 5; s++) {
        int64_t n = c[METRICS_RATING_1 + s - 1];
        char key[2] = {(char) ('0' + s), 0};
        json_object_set_new (distribution, key, json_integer (n));
        ratings += n;
        score_sum += n * s;
        if (s >= 4)
            good += n;
    }
    int64_t asked = agent_row ? c[METRICS_ROUND_MSGS] : c[METRICS_CUSTOMER_MSGS];
    json_t *o = json_object ();
    json_object_set_new (
        o, "conversations",
        json_pack ("{s:I, s:I, s:I, s:I, s:I, s:o, s:o}", "customer_opened",
                   (json_int_t) c[METRICS_CONV_CUSTOMER], "shop_opened",
                   (json_int_t) c[METRICS_CONV_SHOP], "after_hours",
                   (json_int_t) c[METRICS_CONV_AFTER_HOURS], "answered",
                   (json_int_t) c[METRICS_CONV_ANSWERED], "answered_after_hours",
                   (json_int_t) c[METRICS_CONV_ANSWERED_AH], "answer_rate",
                   agent_row ? json_null () : s_rate (answered_in_hours, in_hours),
                   "after_hours_answer_rate",
                   agent_row ? json_null ()
                             : s_rate (c[METRICS_CONV_ANSWERED_AH], c[METRICS_CONV_AFTER_HOURS])));
    json_object_set_new (o, "first_response",
                         json_pack ("{s:I, s:o, s:o, s:o, s:I, s:o, s:{s:I, s:o}}", "count",
                                    (json_int_t) answered_in_hours, "mean_s",
                                    s_mean (c[METRICS_FRT_SUM], answered_in_hours), "median_s",
                                    s_quantile (frt, 500), "p90_s", s_quantile (frt, 900),
                                    "within_threshold", (json_int_t) within_frt,
                                    "within_threshold_rate", s_rate (within_frt, answered_in_hours),
                                    "after_hours", "count",
                                    (json_int_t) c[METRICS_CONV_ANSWERED_AH], "mean_s",
                                    s_mean (c[METRICS_FRT_AH_SUM], c[METRICS_CONV_ANSWERED_AH])));
    json_object_set_new (
        o, "response",
        json_pack ("{s:I, s:o, s:o, s:o, s:I, s:o, s:I}", "rounds", (json_int_t) c[METRICS_ROUNDS],
                   "mean_s", s_mean (c[METRICS_ROUND_SUM], c[METRICS_ROUNDS]), "median_s",
                   s_quantile (round_h, 500), "p90_s", s_quantile (round_h, 900),
                   "within_threshold", (json_int_t) within_round, "within_threshold_rate",
                   s_rate (within_round, c[METRICS_ROUNDS]), "unanswered",
                   (json_int_t) c[METRICS_ROUNDS_UNANSWERED]));
    json_object_set_new (
        o, "queue",
        json_pack ("{s:I, s:I, s:o, s:o, s:o, s:I}", "queued", (json_int_t) c[METRICS_CONV_QUEUED],
                   "waits", (json_int_t) c[METRICS_WAITS], "mean_wait_s",
                   s_mean (c[METRICS_WAIT_SUM], c[METRICS_WAITS]), "median_wait_s",
                   s_quantile (sums->hists[METRICS_HIST_WAIT], 500), "longest_wait_s",
                   c[METRICS_WAITS] > 0 ? s_seconds ((double) c[METRICS_WAIT_MAX]) : json_null (),
                   "abandoned", (json_int_t) c[METRICS_CONV_ABANDONED]));
    json_object_set_new (
        o, "satisfaction",
        json_pack ("{s:I, s:I, s:o, s:o, s:o}", "ratings", (json_int_t) ratings, "good",
                   (json_int_t) good, "csat", s_rate (good, ratings), "mean_score",
                   ratings > 0 ? json_real ((double) score_sum / (double) ratings) : json_null (),
                   "distribution", distribution));
    json_object_set_new (
        o, "resolution",
        json_pack ("{s:I, s:o, s:o, s:o}", "closed", (json_int_t) c[METRICS_CONV_CLOSED],
                   "mean_close_s", s_mean (c[METRICS_CLOSE_SUM], c[METRICS_CONV_CLOSED]),
                   "median_close_s", s_quantile (sums->hists[METRICS_HIST_CLOSE], 500),
                   "p90_close_s", s_quantile (sums->hists[METRICS_HIST_CLOSE], 900)));
    json_object_set_new (o, "messages",
                         json_pack ("{s:I, s:I, s:I, s:o}", "customer",
                                    (json_int_t) c[METRICS_CUSTOMER_MSGS], "replies",
                                    (json_int_t) c[METRICS_REPLIES], "auto_replies",
                                    (json_int_t) c[METRICS_AUTO_REPLIES], "reply_ratio",
                                    s_rate (c[METRICS_REPLIES], asked)));
    json_object_set_new (
        o, "qa",
        json_pack ("{s:I, s:I, s:o}", "flagged_replies", (json_int_t) c[METRICS_QA_FLAGGED],
                   "flags", (json_int_t) c[METRICS_QA_FLAGS], "flags_per_100_replies",
                   c[METRICS_REPLIES] > 0 ? json_real (100.0 * (double) c[METRICS_QA_FLAGS] /
                                                       (double) c[METRICS_REPLIES])
                                          : json_null ()));
    return o;
}

//  ---------------------------------------------------------------------
//  Grouping

static const char *const s_by_names[] = {"",     "agent", "group", "channel",
                                         "hour", "day",   "week",  "month"};

int
metrics_by_parse (const char *text)
{
    for (int i = 0; i < (int) (sizeof s_by_names / sizeof s_by_names[0]); i++)
        if (strcmp (text, s_by_names[i]) == 0)
            return i;
    return -1;
}

const char *
metrics_by_name (int by)
{
    return by >= 0 && by < (int) (sizeof s_by_names / sizeof s_by_names[0]) ? s_by_names[by] : "";
}

bool
metrics_by_time (int by)
{
    return by >= METRICS_BY_HOUR && by <= METRICS_BY_MONTH;
}

//  Days since 1970-01-01 of a civil date, and back (proleptic Gregorian).
static int64_t
s_days_from_civil (int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
s_civil_from_days (int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int) (doy - (153 * mp + 2) / 5 + 1);
    *m = (int) (mp < 10 ? mp + 3 : mp - 9);
    *y = (int) (yoe + era * 400 + (*m <= 2));
}

const char *
metrics_bucket_label (const kf_tz_t *tz, int by, int64_t hour_ms, char *label, size_t size)
{
    struct tm tm;
    kf_tz_local (tz, hour_ms, &tm);
    switch (by) {
    case METRICS_BY_HOUR: {
        //  With the offset: the hour a clock goes back repeats its local time.
        char when[24];
        strftime (when, sizeof when, "%Y-%m-%dT%H:%M", &tm);
        int offset = kf_tz_offset_s (tz, hour_ms), a = offset < 0 ? -offset : offset;
        //  Offsets are within ±18 h: two digits each (also for the compiler).
        snprintf (label, size, "%s%c%02d:%02d", when, offset < 0 ? '-' : '+', a / 3600 % 100,
                  a / 60 % 60);
        break;
    }
    case METRICS_BY_WEEK: {
        int64_t day = s_days_from_civil (tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        int y, m, d;
        s_civil_from_days (day - (tm.tm_wday + 6) % 7, &y, &m, &d);
        snprintf (label, size, "%04d-%02d-%02d", y, m, d);
        break;
    }
    case METRICS_BY_MONTH:
        strftime (label, size, "%Y-%m", &tm);
        break;
    default:
        strftime (label, size, "%Y-%m-%d", &tm);
        break;
    }
    return label;
}

int64_t
metrics_first_hour (int64_t from_ms)
{
    int64_t h = from_ms / METRICS_HOUR_MS * METRICS_HOUR_MS;
    return h < from_ms ? h + METRICS_HOUR_MS : h;
}

int64_t
metrics_bucket_count (const kf_tz_t *tz, int by, int64_t from_ms, int64_t to_ms)
{
    int64_t count = 0;
    char last[32] = "", label[32];
    for (int64_t h = metrics_first_hour (from_ms); h < to_ms; h += METRICS_HOUR_MS) {
        metrics_bucket_label (tz, by, h, label, sizeof label);
        if (strcmp (label, last) != 0) {
            count++;
            memcpy (last, label, sizeof last);
        }
    }
    return count;
}

const char *
metrics_local_time (const kf_tz_t *tz, int64_t ms, char *buf, size_t size)
{
    struct tm tm;
    kf_tz_local (tz, ms, &tm);
    int offset = kf_tz_offset_s (tz, ms);
    char when[32];
    strftime (when, sizeof when, "%Y-%m-%dT%H:%M:%S", &tm);
    int a = offset < 0 ? -offset : offset;
    snprintf (buf, size, "%s%c%02d:%02d", when, offset < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    return buf;
}

int64_t
metrics_local_date (const kf_tz_t *tz, const char *text, int days_after)
{
    if (strlen (text) != 10 || text[4] != '-' || text[7] != '-')
        return -1;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit ((unsigned char) text[i]))
            return -1;
    int y = atoi (text), m = atoi (text + 5), d = atoi (text + 8);
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    //  The day must exist (no 2026-02-30).
    int cy, cm, cd;
    s_civil_from_days (s_days_from_civil (y, m, d), &cy, &cm, &cd);
    if (cy != y || cm != m || cd != d)
        return -1;
    s_civil_from_days (s_days_from_civil (y, m, d) + days_after, &cy, &cm, &cd);
    return kf_tz_to_utc (tz, cy, cm, cd, 0);
}

void
metrics_civil_date (int64_t day, int *year, int *month, int *mday)
{
    s_civil_from_days (day, year, month, mday);
}

//  ---------------------------------------------------------------------
//  Names

static const char *const s_channels[] = {"",         "platform_chat", "wechat",
                                         "web_chat", "email",         "phone"};

const char *
metrics_channel_name (int channel)
{
    return channel >= 1 && channel <= 5 ? s_channels[channel] : "unknown";
}

int
metrics_channel_parse (const char *name)
{
    for (int i = 1; i <= 5; i++)
        if (strcmp (name, s_channels[i]) == 0)
            return i;
    return 0;
}

const char *
metrics_status_name (int status)
{
    switch (status) {
    case KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE:
        return "online";
    case KEFU__V1__AGENT_STATUS__AGENT_STATUS_BUSY:
        return "busy";
    case KEFU__V1__AGENT_STATUS__AGENT_STATUS_AWAY:
        return "away";
    case KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE:
        return "offline";
    default:
        return "unknown";
    }
}
