/*  test_metrics_model — the rules of kefu-metrics, one test per rule, on a
    driven clock (Monday 2026-11-23, UTC) with a sink that adds every delta
    up per rollup row, as the service's tables do.

    Each test drives one small conversation (or two) through intake's and
    routing's events and reads the rollups back: in which hour, for which
    agent and group each number counts, and that every number is the same
    whichever of the two streams comes first. */
#include "kefu/v1/common.pb-c.h"
#include "kf_clock.h"
#include "metrics_model.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP     "demo-shop"
#define CHAT     KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT
#define HOUR     3600000LL
#define MAX_ROWS 1024

//  What the sink has been told, added up per (hour, agent, channel, group,
//  what, bucket) as the rollup tables do; WAIT_MAX keeps the maximum.
typedef struct {
    int64_t hour;
    char agent[129];
    int channel;
    char group[33];
    int what; //  counter, or METRICS_COUNTERS + hist
    int bucket;
    int64_t value;
} s_row_t;

typedef struct {
    s_row_t rows[MAX_ROWS];
    int count;
    int changed;  //  conv_changed calls
    int qa_lines; //  qa_line calls
    char qa_last[256];
    int presence; //  presence calls
} s_sink_t;

static s_sink_t s_sink;

static void
s_add (const metrics_key_t *key, int what, int bucket, int64_t delta)
{
    for (int i = 0; i < s_sink.count; i++) {
        s_row_t *r = &s_sink.rows[i];
        if (r->hour == key->hour_ms && r->channel == key->channel && r->what == what &&
            r->bucket == bucket && strcmp (r->agent, key->agent_id) == 0 &&
            strcmp (r->group, key->group) == 0) {
            if (what == METRICS_WAIT_MAX)
                r->value = delta > r->value ? delta : r->value;
            else
                r->value += delta;
            return;
        }
    }
    assert_true (s_sink.count < MAX_ROWS);
    s_row_t *r = &s_sink.rows[s_sink.count++];
    r->hour = key->hour_ms;
    snprintf (r->agent, sizeof r->agent, "%s", key->agent_id);
    r->channel = key->channel;
    snprintf (r->group, sizeof r->group, "%s", key->group);
    r->what = what;
    r->bucket = bucket;
    r->value = delta;
}

static void
s_on_count (void *arg, const metrics_key_t *key, int counter, int64_t delta)
{
    (void) arg;
    assert_string_equal (key->shop_id, SHOP);
    s_add (key, counter, 0, delta);
}

static void
s_on_hist (void *arg, const metrics_key_t *key, int hist, int bucket, int64_t delta)
{
    (void) arg;
    s_add (key, METRICS_COUNTERS + hist, bucket, delta);
}

static void
s_on_conv (void *arg, const char *shop_id, const metrics_conv_t *conv)
{
    (void) arg;
    (void) shop_id;
    (void) conv;
    s_sink.changed++;
}

static void
s_on_qa (void *arg, const char *shop_id, const metrics_qa_line_t *line)
{
    (void) arg;
    (void) shop_id;
    s_sink.qa_lines++;
    snprintf (s_sink.qa_last, sizeof s_sink.qa_last, "%" PRId64 " %s %s %d", line->message_id,
              line->agent_id, line->flags[0], line->flag_count);
}

static void
s_on_presence (void *arg, const char *shop_id, const char *agent, int status, int64_t since)
{
    (void) arg;
    (void) shop_id;
    (void) agent;
    (void) status;
    (void) since;
    s_sink.presence++;
}

typedef struct {
    kf_clock_t *clock;
    metrics_model_t *model;
    int64_t t0; //  08:00 UTC on the test day
    int64_t message_id;
} fixture_t;

static int
s_setup (void **state)
{
    memset (&s_sink, 0, sizeof s_sink);
    fixture_t *f = calloc (1, sizeof *f);
    f->t0 = kf_clock_parse_utc ("2026-11-23T08:00:00Z");
    f->clock = kf_clock_new_manual (f->t0);
    metrics_sink_t sink = {s_on_count, s_on_hist, s_on_conv, s_on_qa, s_on_presence, NULL};
    f->model = metrics_model_new (f->clock, &sink);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    metrics_model_destroy (&f->model);
    kf_clock_destroy (&f->clock);
    free (f);
    return 0;
}

//  ---------------------------------------------------------------------
//  Driving the model: the clock is the platform's time of each line

static int64_t
s_at (fixture_t *f, int64_t seconds_after_8)
{
    int64_t t = f->t0 + seconds_after_8 * 1000;
    if (t > kf_clock_now_ms (f->clock))
        kf_clock_set (f->clock, t);
    return t;
}

static void
s_open (fixture_t *f, int64_t conv)
{
    metrics_model_on_opened (f->model, SHOP, conv, CHAT, "tb_lily88", 2, false);
}

static void
s_line (fixture_t *f, int64_t conv, int64_t at_s, bool customer, const char *agent, bool auto_reply,
        const char *flag)
{
    const char *flags[] = {flag};
    metrics_line_t line = {conv,  ++f->message_id, CHAT,  customer,     auto_reply,
                           agent, s_at (f, at_s),  flags, flag ? 1 : 0, "这不是我们的问题"};
    metrics_model_on_line (f->model, SHOP, &line);
}

static void
s_customer (fixture_t *f, int64_t conv, int64_t at_s)
{
    s_line (f, conv, at_s, true, "", false, NULL);
}

static void
s_reply (fixture_t *f, int64_t conv, const char *agent, int64_t at_s)
{
    s_line (f, conv, at_s, false, agent, false, NULL);
}

static void
s_auto (fixture_t *f, int64_t conv, int64_t at_s)
{
    s_line (f, conv, at_s, false, "", true, NULL);
}

static void
s_close (fixture_t *f, int64_t conv)
{
    metrics_model_on_closed (f->model, SHOP, conv);
}

static void
s_queued (fixture_t *f, int64_t conv, const char *group, bool after_hours, int64_t at_s)
{
    metrics_model_on_queued (f->model, SHOP, conv, group, after_hours, f->t0 + at_s * 1000);
}

static void
s_assigned (fixture_t *f, int64_t conv, const char *agent, const char *group, int64_t waited_s,
            int64_t at_s)
{
    metrics_model_on_assigned (f->model, SHOP, conv, agent, group, waited_s * 1000,
                               f->t0 + at_s * 1000);
}

static void
s_rating (fixture_t *f, int64_t conv, const char *agent, int score, int64_t at_s)
{
    metrics_rating_t r = {conv, CHAT, agent, score, s_at (f, at_s), f->t0 + at_s * 1000};
    metrics_model_on_rating (f->model, SHOP, &r);
}

//  ---------------------------------------------------------------------
//  Reading the rollups back

#define ANY_HOUR  INT64_MIN
#define ANY_AGENT NULL
#define ANY_GROUP NULL

static int64_t
s_value (int64_t hour, const char *agent, const char *group, int what)
{
    int64_t sum = 0;
    for (int i = 0; i < s_sink.count; i++) {
        const s_row_t *r = &s_sink.rows[i];
        if (r->what == what && (hour == ANY_HOUR || r->hour == hour) &&
            (!agent || strcmp (r->agent, agent) == 0) && (!group || strcmp (r->group, group) == 0))
            sum = what == METRICS_WAIT_MAX ? (r->value > sum ? r->value : sum) : sum + r->value;
    }
    return sum;
}

static int64_t
s_total (int what)
{
    return s_value (ANY_HOUR, ANY_AGENT, ANY_GROUP, what);
}

//  How many values the histogram holds in the bucket of ms (any row).
static int64_t
s_hist (int hist, int64_t ms)
{
    int64_t sum = 0;
    int bucket = metrics_bucket (ms);
    for (int i = 0; i < s_sink.count; i++)
        if (s_sink.rows[i].what == METRICS_COUNTERS + hist && s_sink.rows[i].bucket == bucket)
            sum += s_sink.rows[i].value;
    return sum;
}

static int64_t
s_hour (fixture_t *f, int hours_after_8)
{
    return f->t0 + hours_after_8 * HOUR;
}

//  ---------------------------------------------------------------------
//  Rules

static void
test_buckets_have_the_documented_bounds (void **state)
{
    (void) state;
    assert_int_equal (metrics_bucket (0), 0);
    assert_int_equal (metrics_bucket (-5), 0);
    assert_int_equal (metrics_bucket (1000), 0);
    assert_int_equal (metrics_bucket (1001), 1);
    assert_int_equal (metrics_bucket (20000), 19);
    assert_int_equal (metrics_bucket (20001), 20);
    assert_int_equal (metrics_bucket (60000), 59);
    assert_int_equal (metrics_bucket (60001), 60);
    assert_int_equal (metrics_bucket (300000), 107);
    assert_int_equal (metrics_bucket (1800000), 157);
    assert_int_equal (metrics_bucket (7200000), 175);
    assert_int_equal (metrics_bucket (86400000), 197);
    assert_int_equal (metrics_bucket (86400001), METRICS_BUCKETS - 1);
    assert_int_equal (metrics_bucket_upper (0), 1000);
    assert_int_equal (metrics_bucket_upper (19), 20000);
    assert_int_equal (metrics_bucket_upper (60), 65000);
    assert_int_equal (metrics_bucket_upper (108), 330000);
    assert_int_equal (metrics_bucket_upper (158), 2100000);
    assert_int_equal (metrics_bucket_upper (176), 10800000);
    assert_int_equal (metrics_bucket_upper (197), 86400000);
    assert_true (metrics_bucket_upper (METRICS_BUCKETS - 1) == INT64_MAX);
    //  Every bucket's upper bound falls in it, and the next value in the next.
    for (int b = 0; b < METRICS_BUCKETS - 1; b++) {
        assert_int_equal (metrics_bucket (metrics_bucket_upper (b)), b);
        assert_int_equal (metrics_bucket (metrics_bucket_upper (b) + 1), b + 1);
    }
    assert_true (metrics_bucket_is_bound (20000));
    assert_true (metrics_bucket_is_bound (65000));
    assert_false (metrics_bucket_is_bound (62000));
    assert_false (metrics_bucket_is_bound (0));
}

static void
test_a_customer_opened_conversation_counts_in_the_hour_of_its_first_line (void **state)
{
    fixture_t *f = *state;
    s_open (f, 1);
    s_customer (f, 1, 3590); //  08:59:50
    s_customer (f, 1, 3620); //  09:00:20, same round
    s_reply (f, 1, "xiaomei", 3625);
    assert_int_equal (s_value (s_hour (f, 0), "", ANY_GROUP, METRICS_CONV_CUSTOMER), 1);
    assert_int_equal (s_total (METRICS_CONV_CUSTOMER), 1);
    assert_int_equal (s_total (METRICS_CONV_SHOP), 0);
    //  Customer messages count in their own hours.
    assert_int_equal (s_value (s_hour (f, 0), "", ANY_GROUP, METRICS_CUSTOMER_MSGS), 1);
    assert_int_equal (s_value (s_hour (f, 1), "", ANY_GROUP, METRICS_CUSTOMER_MSGS), 1);
    assert_true (s_sink.changed > 0);
}

static void
test_a_shop_opened_conversation_has_no_first_response (void **state)
{
    fixture_t *f = *state;
    s_open (f, 2);
    s_reply (f, 2, "xiaomei", 100); //  a reminder
    s_customer (f, 2, 160);
    s_reply (f, 2, "xiaomei", 170);
    assert_int_equal (s_total (METRICS_CONV_SHOP), 1);
    assert_int_equal (s_total (METRICS_CONV_CUSTOMER), 0);
    assert_int_equal (s_total (METRICS_CONV_ANSWERED), 0);
    assert_int_equal (s_total (METRICS_FRT_SUM), 0);
    //  ... but the customer's question is a round like any other.
    assert_int_equal (s_value (ANY_HOUR, "xiaomei", ANY_GROUP, METRICS_ROUNDS), 1);
    assert_int_equal (s_total (METRICS_ROUND_SUM), 10000);
}

static void
test_the_first_response_runs_from_the_first_customer_message_to_the_first_human_reply (void **state)
{
    fixture_t *f = *state;
    s_open (f, 3);
    s_customer (f, 3, 10);
    s_customer (f, 3, 14);
    s_reply (f, 3, "xiaomei", 27);
    s_customer (f, 3, 40);
    s_reply (f, 3, "xiaomei", 45);
    assert_int_equal (s_value (s_hour (f, 0), "xiaomei", ANY_GROUP, METRICS_CONV_ANSWERED), 1);
    assert_int_equal (s_value (s_hour (f, 0), "xiaomei", ANY_GROUP, METRICS_FRT_SUM), 17000);
    assert_int_equal (s_hist (METRICS_HIST_FRT, 17000), 1);
    //  The first response is the first round too: two rounds, 17 s and 5 s.
    assert_int_equal (s_total (METRICS_ROUNDS), 2);
    assert_int_equal (s_total (METRICS_ROUND_SUM), 22000);
    assert_int_equal (s_total (METRICS_ROUND_MSGS), 3);
    assert_int_equal (s_hist (METRICS_HIST_ROUND, 17000), 1);
    assert_int_equal (s_hist (METRICS_HIST_ROUND, 5000), 1);
}

//  A reply stamped (sent_at) before the message it answers came in after
//  it: the first response is 0 s, never negative.
static void
test_a_first_response_is_never_negative (void **state)
{
    fixture_t *f = *state;
    s_open (f, 3);
    s_customer (f, 3, 10);
    s_reply (f, 3, "xiaomei", 8);
    assert_int_equal (s_value (s_hour (f, 0), "xiaomei", ANY_GROUP, METRICS_CONV_ANSWERED), 1);
    assert_int_equal (s_value (s_hour (f, 0), "xiaomei", ANY_GROUP, METRICS_FRT_SUM), 0);
    assert_int_equal (s_hist (METRICS_HIST_FRT, 0), 1);
}

static void
test_auto_replies_do_not_answer (void **state)
{
    fixture_t *f = *state;
    s_open (f, 4);
    s_auto (f, 4, 5); //  greeting before the customer's line: does not open it either
    s_customer (f, 4, 10);
    s_auto (f, 4, 11);
    s_reply (f, 4, "ajie", 70);
    assert_int_equal (s_total (METRICS_CONV_CUSTOMER), 1);
    assert_int_equal (s_total (METRICS_AUTO_REPLIES), 2);
    assert_int_equal (s_total (METRICS_REPLIES), 1);
    assert_int_equal (s_value (ANY_HOUR, "ajie", ANY_GROUP, METRICS_FRT_SUM), 60000);
}

static void
test_a_reassigned_conversation_is_credited_to_the_agent_who_replied (void **state)
{
    fixture_t *f = *state;
    s_open (f, 5);
    s_customer (f, 5, 10);
    s_assigned (f, 5, "xiaomei", "presales", 0, 10);
    s_assigned (f, 5, "lingling", "presales", 0, 40); //  response clock: reassigned
    s_reply (f, 5, "lingling", 50);
    assert_int_equal (s_value (ANY_HOUR, "lingling", "presales", METRICS_CONV_ANSWERED), 1);
    assert_int_equal (s_value (ANY_HOUR, "lingling", "presales", METRICS_FRT_SUM), 40000);
    assert_int_equal (s_value (ANY_HOUR, "xiaomei", ANY_GROUP, METRICS_CONV_ANSWERED), 0);
    assert_int_equal (s_total (METRICS_CONV_ANSWERED), 1);
}

static void
test_a_round_runs_from_the_first_unanswered_message_to_the_next_human_reply (void **state)
{
    fixture_t *f = *state;
    s_open (f, 6);
    s_customer (f, 6, 0);
    s_reply (f, 6, "xiaomei", 8);
    s_reply (f, 6, "xiaomei", 9); //  a second reply ends no round
    s_customer (f, 6, 3500);      //  08:58:20
    s_auto (f, 6, 3501);          //  does not end it
    s_customer (f, 6, 3530);      //  inside the round: does not restart it
    s_reply (f, 6, "xiaomei", 3630);
    //  The second round began at 08:58:20 and counts in the 08:00 hour.
    assert_int_equal (s_value (s_hour (f, 0), "xiaomei", ANY_GROUP, METRICS_ROUNDS), 2);
    assert_int_equal (s_total (METRICS_ROUND_SUM), 8000 + 130000);
    assert_int_equal (s_total (METRICS_ROUND_MSGS), 3);
    assert_int_equal (s_value (ANY_HOUR, "xiaomei", ANY_GROUP, METRICS_REPLIES), 3);
    assert_int_equal (s_total (METRICS_CUSTOMER_MSGS), 3);
}

static void
test_a_conversation_over_midnight_counts_in_the_hour_it_began (void **state)
{
    fixture_t *f = *state;
    //  23:50 (UTC) on the 23rd, answered at 08:36 on the 24th.
    s_open (f, 7);
    s_customer (f, 7, 15 * 3600 + 50 * 60);
    s_reply (f, 7, "dawei", 24 * 3600 + 36 * 60);
    int64_t h = s_hour (f, 15);
    assert_int_equal (s_value (h, "", ANY_GROUP, METRICS_CONV_CUSTOMER), 1);
    assert_int_equal (s_value (h, "dawei", ANY_GROUP, METRICS_FRT_SUM),
                      (8 * 3600 + 46 * 60) * 1000LL);
    assert_int_equal (s_hist (METRICS_HIST_FRT, (8 * 3600 + 46 * 60) * 1000LL), 1);
    assert_int_equal (s_value (s_hour (f, 24), ANY_AGENT, ANY_GROUP, METRICS_CONV_CUSTOMER), 0);
    assert_int_equal (s_value (s_hour (f, 24), "dawei", ANY_GROUP, METRICS_REPLIES), 1);
}

static void
test_after_hours_conversations_are_counted_apart (void **state)
{
    fixture_t *f = *state;
    s_open (f, 8);
    s_customer (f, 8, 10);
    s_reply (f, 8, "dawei", 600);
    //  Routing's word comes after the reply was counted: the first
    //  response moves out of the in-hours numbers.
    assert_int_equal (s_total (METRICS_FRT_SUM), 590000);
    s_queued (f, 8, "presales", true, 11);
    assert_int_equal (s_total (METRICS_CONV_CUSTOMER), 1);
    assert_int_equal (s_total (METRICS_CONV_AFTER_HOURS), 1);
    assert_int_equal (s_total (METRICS_CONV_ANSWERED), 1);
    assert_int_equal (s_total (METRICS_CONV_ANSWERED_AH), 1);
    assert_int_equal (s_total (METRICS_FRT_AH_SUM), 590000);
    assert_int_equal (s_total (METRICS_FRT_SUM), 0);
    assert_int_equal (s_hist (METRICS_HIST_FRT, 590000), 0);
    assert_int_equal (s_total (METRICS_ROUNDS), 0);
    assert_int_equal (s_value (ANY_HOUR, ANY_AGENT, "", METRICS_CONV_CUSTOMER), 0);
    assert_int_equal (s_value (ANY_HOUR, ANY_AGENT, "presales", METRICS_CONV_CUSTOMER), 1);
}

static void
test_a_conversation_requeued_after_its_shift_ended_stays_in_service_hours (void **state)
{
    fixture_t *f = *state;
    s_open (f, 10);
    s_customer (f, 10, 10);
    s_assigned (f, 10, "xiaomei", "presales", 0, 11);
    s_reply (f, 10, "xiaomei", 40);
    //  18:00: the shift ends, routing hands the open conversation over and
    //  nobody is on: queued after hours. It was opened in service hours.
    s_queued (f, 10, "presales", true, 3600);
    assert_int_equal (s_total (METRICS_CONV_AFTER_HOURS), 0);
    assert_int_equal (s_total (METRICS_CONV_ANSWERED_AH), 0);
    assert_int_equal (s_total (METRICS_FRT_SUM), 30000);
    //  One queued after hours from the start is after hours, and a later
    //  queueing in hours does not bring it back.
    s_open (f, 11);
    s_customer (f, 11, 100);
    s_queued (f, 11, "presales", true, 100);
    s_queued (f, 11, "presales", false, 200);
    assert_int_equal (s_total (METRICS_CONV_AFTER_HOURS), 1);
}

static void
test_queue_waits_come_from_assignments_out_of_the_queue (void **state)
{
    fixture_t *f = *state;
    s_open (f, 9);
    s_customer (f, 9, 100);
    s_queued (f, 9, "aftersales", false, 100);
    s_assigned (f, 9, "ajie", "aftersales", 75, 175);
    s_open (f, 10);
    s_customer (f, 10, 120);
    s_assigned (f, 10, "ajie", "aftersales", 0, 120); //  straight away: no wait
    s_open (f, 11);
    s_customer (f, 11, 130);
    s_queued (f, 11, "aftersales", false, 130);
    s_assigned (f, 11, "ajie", "aftersales", 200, 330);
    assert_int_equal (s_total (METRICS_CONV_QUEUED), 2);
    assert_int_equal (s_value (s_hour (f, 0), "", "aftersales", METRICS_WAITS), 2);
    assert_int_equal (s_total (METRICS_WAIT_SUM), 275000);
    assert_int_equal (s_total (METRICS_WAIT_MAX), 200000);
    assert_int_equal (s_hist (METRICS_HIST_WAIT, 75000), 1);
    assert_int_equal (s_total (METRICS_CONV_ABANDONED), 0);
}

static void
test_a_conversation_closed_while_queued_is_abandoned (void **state)
{
    fixture_t *f = *state;
    s_open (f, 12);
    s_customer (f, 12, 10);
    s_queued (f, 12, "presales", false, 10);
    s_close (f, 12);
    assert_int_equal (s_total (METRICS_CONV_ABANDONED), 1);
    assert_int_equal (s_total (METRICS_ROUNDS_UNANSWERED), 1);
    //  Routing's assignment made before the close reaches metrics after it:
    //  the conversation was not abandoned after all.
    metrics_model_evict_closed (f->model);
    assert_false (metrics_model_knows (f->model, SHOP, 12));
    s_open (f, 13);
    s_customer (f, 13, 20);
    s_queued (f, 13, "presales", false, 20);
    s_close (f, 13);
    s_assigned (f, 13, "xiaomei", "presales", 30, 50);
    assert_int_equal (s_total (METRICS_CONV_ABANDONED), 1);
    assert_int_equal (s_total (METRICS_CONV_CLOSED), 2);
}

static void
test_time_to_close_runs_from_the_first_to_the_last_line (void **state)
{
    fixture_t *f = *state;
    s_open (f, 14);
    s_customer (f, 14, 10);
    s_reply (f, 14, "xiaomei", 20);
    s_customer (f, 14, 200);
    s_reply (f, 14, "xiaomei", 250);
    //  The close itself (quiet period, or someone pressing close) is later.
    s_at (f, 250 + 1800);
    s_close (f, 14);
    assert_int_equal (s_value (s_hour (f, 0), "", ANY_GROUP, METRICS_CONV_CLOSED), 1);
    assert_int_equal (s_total (METRICS_CLOSE_SUM), 240000);
    assert_int_equal (s_hist (METRICS_HIST_CLOSE, 240000), 1);
    s_close (f, 14); //  a second close counts nothing
    assert_int_equal (s_total (METRICS_CONV_CLOSED), 1);
}

static void
test_unanswered_rounds_count_when_their_conversation_closes (void **state)
{
    fixture_t *f = *state;
    s_open (f, 15);
    s_customer (f, 15, 10);
    s_reply (f, 15, "xiaomei", 15);
    s_customer (f, 15, 7300); //  10:01:40: nobody answers
    assert_int_equal (s_total (METRICS_ROUNDS_UNANSWERED), 0);
    s_close (f, 15);
    assert_int_equal (s_value (s_hour (f, 2), "", ANY_GROUP, METRICS_ROUNDS_UNANSWERED), 1);
    assert_int_equal (s_total (METRICS_ROUNDS), 1);
}

static void
test_a_rating_without_agent_goes_to_the_owner_at_the_time_of_rating (void **state)
{
    fixture_t *f = *state;
    s_open (f, 16);
    s_customer (f, 16, 10);
    s_assigned (f, 16, "xiaomei", "presales", 0, 10);
    s_reply (f, 16, "xiaomei", 20);
    s_rating (f, 16, "", 5, 100);                       //  xiaomei owns it
    s_assigned (f, 16, "lingling", "presales", 0, 200); //  handed over
    s_rating (f, 16, "", 2, 300);                       //  lingling owns it
    s_rating (f, 16, "xiaomei", 4, 400);                //  named: xiaomei
    assert_int_equal (s_value (ANY_HOUR, "xiaomei", ANY_GROUP, METRICS_RATING_5), 1);
    assert_int_equal (s_value (ANY_HOUR, "lingling", ANY_GROUP, METRICS_RATING_2), 1);
    assert_int_equal (s_value (ANY_HOUR, "xiaomei", ANY_GROUP, METRICS_RATING_4), 1);
    //  A rating of no conversation counts for the shop.
    s_rating (f, 0, "", 3, 500);
    assert_int_equal (s_value (ANY_HOUR, "", "", METRICS_RATING_3), 1);
}

static void
test_a_rating_of_a_conversation_nobody_was_assigned_goes_to_its_last_replier (void **state)
{
    fixture_t *f = *state;
    s_open (f, 17);
    s_customer (f, 17, 10);
    s_reply (f, 17, "ajie", 20);
    s_close (f, 17);
    s_rating (f, 17, "", 1, 60);
    assert_int_equal (s_value (ANY_HOUR, "ajie", ANY_GROUP, METRICS_RATING_1), 1);
}

static void
test_forbidden_phrases_are_counted_per_reply_and_listed (void **state)
{
    fixture_t *f = *state;
    s_open (f, 18);
    s_customer (f, 18, 10);
    s_line (f, 18, 20, false, "ajie", false, "这不是我们的问题");
    s_reply (f, 18, "ajie", 30);
    assert_int_equal (s_value (ANY_HOUR, "ajie", ANY_GROUP, METRICS_QA_FLAGGED), 1);
    assert_int_equal (s_value (ANY_HOUR, "ajie", ANY_GROUP, METRICS_QA_FLAGS), 1);
    assert_int_equal (s_value (ANY_HOUR, "ajie", ANY_GROUP, METRICS_REPLIES), 2);
    assert_int_equal (s_sink.qa_lines, 1);
    assert_string_equal (s_sink.qa_last, "2 ajie 这不是我们的问题 1");
}

static void
test_facts_counted_before_routing_names_the_group_move_to_it (void **state)
{
    fixture_t *f = *state;
    s_open (f, 19);
    s_customer (f, 19, 10);
    s_reply (f, 19, "xiaomei", 20);
    s_customer (f, 19, 30);
    s_reply (f, 19, "xiaomei", 35);
    assert_int_equal (s_value (ANY_HOUR, ANY_AGENT, "", METRICS_ROUNDS), 2);
    s_assigned (f, 19, "xiaomei", "presales", 0, 36);
    assert_int_equal (s_value (ANY_HOUR, ANY_AGENT, "", METRICS_ROUNDS), 0);
    assert_int_equal (s_value (ANY_HOUR, ANY_AGENT, "", METRICS_CUSTOMER_MSGS), 0);
    assert_int_equal (s_value (ANY_HOUR, ANY_AGENT, "", METRICS_CONV_CUSTOMER), 0);
    assert_int_equal (s_value (ANY_HOUR, "xiaomei", "presales", METRICS_ROUNDS), 2);
    assert_int_equal (s_value (ANY_HOUR, "xiaomei", "presales", METRICS_REPLIES), 2);
    assert_int_equal (s_value (ANY_HOUR, "", "presales", METRICS_CUSTOMER_MSGS), 2);
    assert_int_equal (s_value (ANY_HOUR, "", "presales", METRICS_CONV_CUSTOMER), 1);
    //  A later group (an overflow) changes nothing: the first one stays.
    s_queued (f, 19, "aftersales", false, 40);
    assert_int_equal (s_value (ANY_HOUR, ANY_AGENT, "aftersales", METRICS_CONV_CUSTOMER), 0);
}

//  One small day of events, as two streams.
static void
s_intake_events (fixture_t *f)
{
    s_open (f, 30);
    s_customer (f, 30, 10);
    s_reply (f, 30, "xiaomei", 25);
    s_customer (f, 30, 100);
    s_reply (f, 30, "lingling", 130);
    s_close (f, 30);
    s_rating (f, 30, "", 5, 140);
    s_open (f, 31);
    s_customer (f, 31, 20);
    s_close (f, 31);
    s_open (f, 32);
    s_customer (f, 32, 40);
    s_reply (f, 32, "ajie", 120);
}

static void
s_routing_events (fixture_t *f)
{
    s_assigned (f, 30, "xiaomei", "presales", 0, 10);
    s_assigned (f, 30, "lingling", "presales", 0, 90);
    s_queued (f, 31, "presales", false, 20);
    s_queued (f, 32, "aftersales", true, 40);
    s_assigned (f, 32, "ajie", "aftersales", 70, 110);
}

static void
s_copy_sorted (s_row_t *out, int *count)
{
    //  Keep rows with a value, in a canonical order, for comparison.
    *count = 0;
    for (int i = 0; i < s_sink.count; i++)
        if (s_sink.rows[i].value != 0)
            out[(*count)++] = s_sink.rows[i];
    for (int i = 0; i < *count; i++)
        for (int j = i + 1; j < *count; j++) {
            char a[400], b[400];
            snprintf (a, sizeof a, "%020" PRId64 "|%s|%s|%d|%04d", out[i].hour, out[i].agent,
                      out[i].group, out[i].what, out[i].bucket);
            snprintf (b, sizeof b, "%020" PRId64 "|%s|%s|%d|%04d", out[j].hour, out[j].agent,
                      out[j].group, out[j].what, out[j].bucket);
            if (strcmp (a, b) > 0) {
                s_row_t t = out[i];
                out[i] = out[j];
                out[j] = t;
            }
        }
}

static void
test_the_numbers_do_not_depend_on_which_stream_comes_first (void **state)
{
    fixture_t *f = *state;
    s_intake_events (f);
    s_routing_events (f);
    static s_row_t intake_first[MAX_ROWS];
    int n1;
    s_copy_sorted (intake_first, &n1);
    assert_int_equal (s_total (METRICS_CONV_ANSWERED_AH), 1);

    metrics_model_reset (f->model);
    memset (&s_sink, 0, sizeof s_sink);
    s_routing_events (f);
    s_intake_events (f);
    static s_row_t routing_first[MAX_ROWS];
    int n2;
    s_copy_sorted (routing_first, &n2);
    assert_int_equal (n1, n2);
    for (int i = 0; i < n1; i++) {
        assert_int_equal (intake_first[i].hour, routing_first[i].hour);
        assert_string_equal (intake_first[i].agent, routing_first[i].agent);
        assert_string_equal (intake_first[i].group, routing_first[i].group);
        assert_int_equal (intake_first[i].what, routing_first[i].what);
        assert_int_equal (intake_first[i].bucket, routing_first[i].bucket);
        assert_int_equal (intake_first[i].value, routing_first[i].value);
    }
    //  And the rating went to the owner when it was given, in both orders.
    assert_int_equal (s_value (ANY_HOUR, "lingling", "presales", METRICS_RATING_5), 1);
    assert_int_equal (s_total (METRICS_CONV_ABANDONED), 1);
    assert_int_equal (s_total (METRICS_WAITS), 1);
}

static void
test_the_reply_ratio_counts_replies_and_customer_messages (void **state)
{
    fixture_t *f = *state;
    s_open (f, 40);
    s_customer (f, 40, 10);
    s_customer (f, 40, 11);
    s_reply (f, 40, "xiaomei", 20);
    s_reply (f, 40, "xiaomei", 21);
    s_reply (f, 40, "xiaomei", 22);
    s_customer (f, 40, 30);
    s_reply (f, 40, "xiaomei", 35);
    //  答问比 4 replies / 3 messages; the agent answered rounds with 3.
    assert_int_equal (s_total (METRICS_REPLIES), 4);
    assert_int_equal (s_total (METRICS_CUSTOMER_MSGS), 3);
    assert_int_equal (s_value (ANY_HOUR, "xiaomei", ANY_GROUP, METRICS_ROUND_MSGS), 3);
}

static void
test_agents_now_shows_presence_load_and_who_waits (void **state)
{
    fixture_t *f = *state;
    metrics_model_on_presence (f->model, SHOP, "xiaomei",
                               KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE, f->t0);
    metrics_model_on_presence (f->model, SHOP, "ajie", KEFU__V1__AGENT_STATUS__AGENT_STATUS_BUSY,
                               f->t0);
    assert_int_equal (s_sink.presence, 2);
    s_open (f, 50);
    s_customer (f, 50, 10);
    s_assigned (f, 50, "xiaomei", "presales", 0, 10);
    s_open (f, 51);
    s_customer (f, 51, 20);
    s_assigned (f, 51, "xiaomei", "presales", 0, 20);
    s_reply (f, 51, "xiaomei", 30);
    s_open (f, 52);
    s_customer (f, 52, 40);
    s_queued (f, 52, "presales", false, 40);
    s_open (f, 53);
    s_customer (f, 53, 50);
    s_assigned (f, 53, "xiaomei", "presales", 0, 50);
    s_close (f, 53);
    metrics_agent_now_t *rows = NULL;
    int n = metrics_model_agents_now (f->model, SHOP, &rows);
    assert_int_equal (n, 2);
    assert_string_equal (rows[0].agent_id, "ajie");
    assert_int_equal (rows[0].load, 0);
    assert_string_equal (rows[1].agent_id, "xiaomei");
    assert_int_equal (rows[1].status, KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE);
    assert_int_equal (rows[1].load, 2);
    assert_int_equal (rows[1].waiting, 1);
    assert_int_equal (rows[1].oldest_wait, f->t0 + 10000);
    free (rows);
    //  Closed conversations leave memory once their rows are committed.
    metrics_stats_t st;
    metrics_model_stats (f->model, &st);
    assert_int_equal (st.conversations, 4);
    assert_int_equal (metrics_model_evict_closed (f->model), 1);
    metrics_model_stats (f->model, &st);
    assert_int_equal (st.conversations, 3);
    assert_int_equal (st.open, 3);
}

static void
test_a_conversation_read_back_from_its_row_goes_on_where_it_was (void **state)
{
    fixture_t *f = *state;
    s_open (f, 60);
    s_customer (f, 60, 10);
    //  The service restarts: the row it kept comes back.
    metrics_conv_t *row = metrics_conv_new (60);
    row->channel = CHAT;
    row->first_at = f->t0 + 10000;
    row->customer_opened = true;
    row->round_at = f->t0 + 10000;
    row->round_msgs = 1;
    row->last_at = f->t0 + 10000;
    metrics_model_reset (f->model);
    metrics_model_adopt (f->model, SHOP, &row);
    assert_null (row);
    assert_true (metrics_model_knows (f->model, SHOP, 60));
    s_reply (f, 60, "xiaomei", 22);
    assert_int_equal (s_total (METRICS_CONV_CUSTOMER), 1);
    assert_int_equal (s_total (METRICS_FRT_SUM), 12000);
    assert_int_equal (s_total (METRICS_CONV_ANSWERED), 1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_buckets_have_the_documented_bounds),
#define T(name) cmocka_unit_test_setup_teardown (name, s_setup, s_teardown)
        T (test_a_customer_opened_conversation_counts_in_the_hour_of_its_first_line),
        T (test_a_shop_opened_conversation_has_no_first_response),
        T (test_the_first_response_runs_from_the_first_customer_message_to_the_first_human_reply),
        T (test_a_first_response_is_never_negative),
        T (test_auto_replies_do_not_answer),
        T (test_a_reassigned_conversation_is_credited_to_the_agent_who_replied),
        T (test_a_round_runs_from_the_first_unanswered_message_to_the_next_human_reply),
        T (test_a_conversation_over_midnight_counts_in_the_hour_it_began),
        T (test_after_hours_conversations_are_counted_apart),
        T (test_a_conversation_requeued_after_its_shift_ended_stays_in_service_hours),
        T (test_queue_waits_come_from_assignments_out_of_the_queue),
        T (test_a_conversation_closed_while_queued_is_abandoned),
        T (test_time_to_close_runs_from_the_first_to_the_last_line),
        T (test_unanswered_rounds_count_when_their_conversation_closes),
        T (test_a_rating_without_agent_goes_to_the_owner_at_the_time_of_rating),
        T (test_a_rating_of_a_conversation_nobody_was_assigned_goes_to_its_last_replier),
        T (test_forbidden_phrases_are_counted_per_reply_and_listed),
        T (test_facts_counted_before_routing_names_the_group_move_to_it),
        T (test_the_numbers_do_not_depend_on_which_stream_comes_first),
        T (test_the_reply_ratio_counts_replies_and_customer_messages),
        T (test_agents_now_shows_presence_load_and_who_waits),
        T (test_a_conversation_read_back_from_its_row_goes_on_where_it_was),
#undef T
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
