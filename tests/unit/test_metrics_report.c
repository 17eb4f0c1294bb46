/*  test_metrics_report — from rollup sums to what supervisors read:
    nearest-rank percentiles from the histograms, the X-second rates, the
    rates and means of the KPI object, and the shop-local days, weeks and
    months UTC hours are folded into — in a whole-hour zone, a zone with
    daylight saving time and zones 30 and 45 minutes off the hour. */
#include "kf_clock.h"
#include "kf_tz.h"
#include "metrics_report.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define HOUR 3600000LL

static void
test_percentiles_are_nearest_rank_bucket_bounds (void **state)
{
    (void) state;
    int64_t h[METRICS_BUCKETS] = {0};
    assert_int_equal (metrics_percentile (h, 500), -1);
    //  Values 3.2 s, 12.4 s, 12.9 s, 40 s: the median is the 2nd (12.4 s),
    //  reported as its bucket's upper bound, 13 s; p90 is the 4th.
    h[metrics_bucket (3200)]++;
    h[metrics_bucket (12400)]++;
    h[metrics_bucket (12900)]++;
    h[metrics_bucket (40000)]++;
    assert_int_equal (metrics_percentile (h, 500), 13000);
    assert_int_equal (metrics_percentile (h, 900), 40000);
    assert_int_equal (metrics_percentile (h, 250), 4000);
    assert_int_equal (metrics_within (h, 20000), 3);
    assert_int_equal (metrics_within (h, 13000), 3);
    assert_int_equal (metrics_within (h, 12000), 1);
    //  4 min 2 s reads 4 min 5 s; beyond 24 h there is no bound.
    int64_t g[METRICS_BUCKETS] = {0};
    g[metrics_bucket (242000)]++;
    assert_int_equal (metrics_percentile (g, 500), 245000);
    g[metrics_bucket (90000000)] += 3;
    assert_int_equal (metrics_percentile (g, 500), -1);
}

static void
test_the_kpi_object_divides_only_what_it_may (void **state)
{
    (void) state;
    metrics_sums_t *s = calloc (1, sizeof *s);
    json_t *empty = metrics_report_kpis (s, 20000, false);
    assert_true (
        json_is_null (json_object_get (json_object_get (empty, "conversations"), "answer_rate")));
    assert_true (
        json_is_null (json_object_get (json_object_get (empty, "first_response"), "mean_s")));
    json_decref (empty);
    int64_t c[METRICS_COUNTERS] = {0};
    c[METRICS_CONV_CUSTOMER] = 10;
    c[METRICS_CONV_AFTER_HOURS] = 2;
    c[METRICS_CONV_ANSWERED] = 7;
    c[METRICS_CONV_ANSWERED_AH] = 1;
    c[METRICS_FRT_SUM] = 60001;
    c[METRICS_WAITS] = 2;
    c[METRICS_WAIT_MAX] = 90000;
    c[METRICS_RATING_5] = 3;
    c[METRICS_RATING_1] = 1;
    metrics_sums_add (s, c);
    //  A row whose waits moved elsewhere keeps a stale maximum: ignored.
    int64_t stale[METRICS_COUNTERS] = {0};
    stale[METRICS_WAIT_MAX] = 500000;
    metrics_sums_add (s, stale);
    json_t *k = metrics_report_kpis (s, 20000, false);
    json_t *conv = json_object_get (k, "conversations");
    //  接线率 without the after-hours ones: 6 of 8.
    assert_true (json_real_value (json_object_get (conv, "answer_rate")) == 0.75);
    assert_true (json_real_value (json_object_get (conv, "after_hours_answer_rate")) == 0.5);
    //  Means to the millisecond: 60,001 ms over 6 first responses.
    assert_true (json_real_value (
                     json_object_get (json_object_get (k, "first_response"), "mean_s")) == 10.0);
    assert_true (
        json_real_value (json_object_get (json_object_get (k, "queue"), "longest_wait_s")) == 90.0);
    json_t *sat = json_object_get (k, "satisfaction");
    assert_true (json_real_value (json_object_get (sat, "csat")) == 0.75);
    assert_int_equal (json_integer_value (json_object_get (sat, "ratings")), 4);
    json_decref (k);
    //  An agent's row has no answer rate.
    k = metrics_report_kpis (s, 20000, true);
    assert_true (
        json_is_null (json_object_get (json_object_get (k, "conversations"), "answer_rate")));
    json_decref (k);
    free (s);
}

static int64_t
s_utc (const char *text)
{
    return kf_clock_parse_utc (text);
}

static const char *
s_label (kf_tz_t *tz, int by, const char *utc)
{
    static char label[32];
    return metrics_bucket_label (tz, by, s_utc (utc), label, sizeof label);
}

static void
test_hours_fold_into_the_shops_days_weeks_and_months (void **state)
{
    (void) state;
    kf_tz_t *tz = kf_tz_new ("Asia/Shanghai");
    //  16:00 UTC is midnight in Shanghai: the next local day.
    assert_string_equal (s_label (tz, METRICS_BY_DAY, "2026-11-22T15:00:00Z"), "2026-11-22");
    assert_string_equal (s_label (tz, METRICS_BY_DAY, "2026-11-22T16:00:00Z"), "2026-11-23");
    assert_string_equal (s_label (tz, METRICS_BY_HOUR, "2026-11-23T01:00:00Z"), "2026-11-23T09:00+08:00");
    //  Weeks are Monday to Sunday, labelled by their Monday.
    assert_string_equal (s_label (tz, METRICS_BY_WEEK, "2026-11-29T15:00:00Z"), "2026-11-23");
    assert_string_equal (s_label (tz, METRICS_BY_WEEK, "2026-11-29T16:00:00Z"), "2026-11-30");
    assert_string_equal (s_label (tz, METRICS_BY_MONTH, "2026-11-30T16:00:00Z"), "2026-12");
    //  A local day is 24 hours here; a date's midnight, and the end of it.
    assert_int_equal (metrics_local_date (tz, "2026-11-23", 0), s_utc ("2026-11-22T16:00:00Z"));
    assert_int_equal (metrics_local_date (tz, "2026-11-23", 1), s_utc ("2026-11-23T16:00:00Z"));
    assert_int_equal (metrics_local_date (tz, "2026-02-30", 0), -1);
    assert_int_equal (metrics_local_date (tz, "2026-1-3", 0), -1);
    int64_t from = metrics_local_date (tz, "2026-11-01", 0),
            to = metrics_local_date (tz, "2026-11-30", 1);
    assert_int_equal (metrics_bucket_count (tz, METRICS_BY_DAY, from, to), 30);
    assert_int_equal (metrics_bucket_count (tz, METRICS_BY_HOUR, from, to), 720);
    assert_int_equal (metrics_bucket_count (tz, METRICS_BY_MONTH, from, to), 1);
    char buf[48];
    assert_string_equal (metrics_local_time (tz, s_utc ("2026-11-23T01:30:00Z"), buf, sizeof buf),
                         "2026-11-23T09:30:00+08:00");
    kf_tz_destroy (&tz);
}

static void
test_a_zone_off_the_whole_hour_starts_its_days_at_the_first_hour_after_midnight (void **state)
{
    (void) state;
    //  India, +05:30: UTC hours begin at :30 local. The local day
    //  2026-11-23 begins at 18:30 UTC the day before, so its first UTC
    //  hour is 19:00 UTC (00:30 local) and its last 18:00 UTC (23:30).
    kf_tz_t *tz = kf_tz_new ("Asia/Kolkata");
    assert_string_equal (s_label (tz, METRICS_BY_DAY, "2026-11-22T18:00:00Z"), "2026-11-22");
    assert_string_equal (s_label (tz, METRICS_BY_DAY, "2026-11-22T19:00:00Z"), "2026-11-23");
    assert_string_equal (s_label (tz, METRICS_BY_HOUR, "2026-11-22T19:00:00Z"), "2026-11-23T00:30+05:30");
    assert_string_equal (s_label (tz, METRICS_BY_DAY, "2026-11-23T18:00:00Z"), "2026-11-23");
    int64_t from = metrics_local_date (tz, "2026-11-23", 0),
            to = metrics_local_date (tz, "2026-11-23", 1);
    assert_int_equal (from, s_utc ("2026-11-22T18:30:00Z"));
    assert_int_equal (metrics_first_hour (from), s_utc ("2026-11-22T19:00:00Z"));
    assert_int_equal (metrics_bucket_count (tz, METRICS_BY_HOUR, from, to), 24);
    char buf[48];
    assert_string_equal (metrics_local_time (tz, s_utc ("2026-11-22T19:00:00Z"), buf, sizeof buf),
                         "2026-11-23T00:30:00+05:30");
    kf_tz_destroy (&tz);
    //  Nepal, +05:45: its hours begin at :45.
    tz = kf_tz_new ("Asia/Kathmandu");
    assert_string_equal (s_label (tz, METRICS_BY_HOUR, "2026-11-22T19:00:00Z"), "2026-11-23T00:45+05:45");
    kf_tz_destroy (&tz);
    //  Daylight saving (Berlin, last Sunday of October): a 25-hour day.
    tz = kf_tz_new ("Europe/Berlin");
    from = metrics_local_date (tz, "2026-10-25", 0);
    to = metrics_local_date (tz, "2026-10-25", 1);
    assert_int_equal (metrics_bucket_count (tz, METRICS_BY_HOUR, from, to), 25);
    kf_tz_destroy (&tz);
}

static void
test_names_read_both_ways (void **state)
{
    (void) state;
    assert_int_equal (metrics_by_parse (""), METRICS_BY_NONE);
    assert_int_equal (metrics_by_parse ("week"), METRICS_BY_WEEK);
    assert_int_equal (metrics_by_parse ("customer"), -1);
    assert_true (metrics_by_time (METRICS_BY_HOUR));
    assert_false (metrics_by_time (METRICS_BY_AGENT));
    assert_string_equal (metrics_channel_name (metrics_channel_parse ("wechat")), "wechat");
    assert_int_equal (metrics_channel_parse ("fax"), 0);
    assert_string_equal (metrics_status_name (0), "unknown");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_percentiles_are_nearest_rank_bucket_bounds),
        cmocka_unit_test (test_the_kpi_object_divides_only_what_it_may),
        cmocka_unit_test (test_hours_fold_into_the_shops_days_weeks_and_months),
        cmocka_unit_test (
            test_a_zone_off_the_whole_hour_starts_its_days_at_the_first_hour_after_midnight),
        cmocka_unit_test (test_names_read_both_ways),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
