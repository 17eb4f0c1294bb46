/*  test_metrics_attendance — attendance (漏班) rules: scheduled shifts
    judged from presence spans, reply minutes and customer rounds on a
    driven clock (now is an argument, never the system's time). */
#include "kefu/v1/common.pb-c.h"
#include "kf_clock.h"
#include "kf_tz.h"
#include "metrics_attendance.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#define MIN   60000LL
#define D1207 20794 //  Monday 2026-12-07, days since 1970-01-01

//  UTC ms of a local (+08:00) day and minute.
static int64_t
s_at (int64_t day, int minute)
{
    return (day * 1440 + minute - 480) * MIN;
}

//  A shop with a day shift (08:30-17:30) and a night shift (22:00-06:00).
static metrics_att_schedule_t *
s_schedule (void)
{
    metrics_att_schedule_t *s = metrics_att_schedule_new (0, "+08:00");
    assert_int_equal (metrics_att_schedule_add_shift (s, "day", 8 * 60 + 30, 17 * 60 + 30), 0);
    assert_int_equal (metrics_att_schedule_add_shift (s, "night", 22 * 60, 6 * 60), 1);
    return s;
}

typedef struct {
    metrics_att_span_t spans[32];
    int span_count;
    metrics_att_reply_t replies[32];
    int reply_count;
    metrics_att_round_t rounds[32];
    int round_count;
} s_facts_t;

static void
s_span (s_facts_t *f, const char *agent, int64_t from, int64_t to)
{
    metrics_att_span_t *s = &f->spans[f->span_count++];
    snprintf (s->agent_id, sizeof s->agent_id, "%s", agent);
    s->from_ms = from;
    s->to_ms = to;
}

static void
s_reply (s_facts_t *f, const char *agent, int64_t minute)
{
    metrics_att_reply_t *r = &f->replies[f->reply_count++];
    snprintf (r->agent_id, sizeof r->agent_id, "%s", agent);
    r->minute_ms = minute;
}

static void
s_round (s_facts_t *f, int64_t conversation, int64_t started, int64_t answered)
{
    f->rounds[f->round_count++] = (metrics_att_round_t){conversation, started, answered};
}

static int
s_day (metrics_att_schedule_t *const *versions, int version_count, const s_facts_t *f,
       const metrics_att_settings_t *settings, int64_t day, int64_t now, metrics_att_row_t **rows)
{
    metrics_att_input_t in = {versions,      version_count,  f->spans,
                              f->span_count, f->replies,     f->reply_count,
                              f->rounds,     f->round_count, {0, 0}};
    if (settings)
        in.settings = *settings;
    else
        metrics_att_settings_default (&in.settings);
    return metrics_attendance_day (&in, day, now, rows);
}

static const metrics_att_row_t *
s_row (const metrics_att_row_t *rows, int count, const char *agent)
{
    for (int i = 0; i < count; i++)
        if (strcmp (rows[i].agent_id, agent) == 0)
            return &rows[i];
    return NULL;
}

static void
test_a_day_with_present_late_absent_and_early_leave (void **state)
{
    (void) state;
    metrics_att_schedule_t *s = s_schedule ();
    const char *agents[] = {"anna", "bo", "chen", "dan", "eve"};
    for (int i = 0; i < 5; i++)
        assert_int_equal (metrics_att_schedule_add_rule (s, agents[i], "day", 127, 1, 0), 0);
    s_facts_t f = {0};
    s_span (&f, "anna", s_at (D1207, 8 * 60 + 25), s_at (D1207, 17 * 60 + 40)); //  on time
    s_span (&f, "bo", s_at (D1207, 8 * 60 + 50), s_at (D1207, 17 * 60 + 31));   //  20 min late
    s_span (&f, "dan", s_at (D1207, 8 * 60 + 30), s_at (D1207, 16 * 60));       //  left at 16:00
    s_reply (&f, "eve", s_at (D1207, 9 * 60));                                  //  only replied
    s_reply (&f, "eve", s_at (D1207, 17 * 60 + 29));
    //  chen: nothing at all.
    metrics_att_row_t *rows;
    int n = s_day (&s, 1, &f, NULL, D1207, s_at (D1207, 18 * 60), &rows);
    assert_int_equal (n, 5);

    const metrics_att_row_t *anna = s_row (rows, n, "anna");
    assert_string_equal (metrics_att_status (anna), "present");
    assert_int_equal (anna->present_from, s_at (D1207, 8 * 60 + 25));
    assert_int_equal (anna->present_to, s_at (D1207, 17 * 60 + 40));
    assert_int_equal (anna->present_minutes, 9 * 60);
    assert_int_equal (anna->start_ms, s_at (D1207, 8 * 60 + 30));
    assert_int_equal (anna->end_ms, s_at (D1207, 17 * 60 + 30));

    const metrics_att_row_t *bo = s_row (rows, n, "bo");
    assert_string_equal (metrics_att_status (bo), "late");
    assert_true (bo->late);
    assert_int_equal (bo->late_minutes, 20);
    assert_false (bo->early_leave);

    const metrics_att_row_t *chen = s_row (rows, n, "chen");
    assert_string_equal (metrics_att_status (chen), "absent");
    assert_true (chen->absent);
    assert_int_equal (chen->present_from, 0);

    const metrics_att_row_t *dan = s_row (rows, n, "dan");
    assert_string_equal (metrics_att_status (dan), "early_leave");
    assert_int_equal (dan->early_minutes, 90);
    assert_false (dan->late);

    //  The chat record alone says eve was there: 09:00 is 30 minutes late.
    const metrics_att_row_t *eve = s_row (rows, n, "eve");
    assert_false (eve->absent);
    assert_true (eve->late);
    assert_int_equal (eve->late_minutes, 30);
    assert_false (eve->early_leave);
    assert_int_equal (eve->present_minutes, 0);
    free (rows);
    metrics_att_schedule_destroy (&s);
}

static void
test_a_shift_under_way_judges_no_absence_or_early_leave_yet (void **state)
{
    (void) state;
    metrics_att_schedule_t *s = s_schedule ();
    metrics_att_schedule_add_rule (s, "anna", "day", 127, 1, 0);
    metrics_att_schedule_add_rule (s, "chen", "day", 127, 1, 0);
    s_facts_t f = {0};
    s_span (&f, "anna", s_at (D1207, 8 * 60 + 20), 0); //  still signed in
    metrics_att_row_t *rows;
    int n = s_day (&s, 1, &f, NULL, D1207, s_at (D1207, 8 * 60), &rows);
    assert_int_equal (n, 2);
    assert_string_equal (metrics_att_status (&rows[0]), "upcoming");
    free (rows);
    n = s_day (&s, 1, &f, NULL, D1207, s_at (D1207, 12 * 60), &rows);
    const metrics_att_row_t *anna = s_row (rows, n, "anna"), *chen = s_row (rows, n, "chen");
    assert_int_equal (anna->phase, METRICS_ATT_UNDER_WAY);
    assert_true (anna->still_present);
    assert_int_equal (anna->present_minutes, 3 * 60 + 30);
    assert_string_equal (metrics_att_status (anna), "present");
    assert_false (chen->absent);
    assert_string_equal (metrics_att_status (chen), "not_in");
    free (rows);
    metrics_att_schedule_destroy (&s);
}

static void
test_a_night_shift_belongs_to_the_day_it_starts_and_ends_after_midnight (void **state)
{
    (void) state;
    metrics_att_schedule_t *s = s_schedule ();
    //  Mondays only: the Tuesday morning part is Monday's shift.
    metrics_att_schedule_add_rule (s, "nina", "night", 1 << 0, 1, 0);
    s_facts_t f = {0};
    s_span (&f, "nina", s_at (D1207, 21 * 60 + 55), s_at (D1207 + 1, 5 * 60 + 30));
    metrics_att_row_t *rows;
    //  02:00 Tuesday: under way, present.
    int n = s_day (&s, 1, &f, NULL, D1207, s_at (D1207 + 1, 2 * 60), &rows);
    assert_int_equal (n, 1);
    assert_int_equal (rows[0].phase, METRICS_ATT_UNDER_WAY);
    assert_int_equal (rows[0].start_ms, s_at (D1207, 22 * 60));
    assert_int_equal (rows[0].end_ms, s_at (D1207 + 1, 6 * 60));
    assert_false (rows[0].early_leave);
    free (rows);
    //  After 06:00: left 30 minutes early.
    n = s_day (&s, 1, &f, NULL, D1207, s_at (D1207 + 1, 7 * 60), &rows);
    assert_int_equal (n, 1);
    assert_string_equal (metrics_att_status (&rows[0]), "early_leave");
    assert_int_equal (rows[0].early_minutes, 30);
    assert_int_equal (rows[0].present_minutes, 7 * 60 + 30);
    free (rows);
    //  Tuesday has no shift of hers.
    n = s_day (&s, 1, &f, NULL, D1207 + 1, s_at (D1207 + 2, 7 * 60), &rows);
    assert_int_equal (n, 0);
    free (rows);
    metrics_att_schedule_destroy (&s);
}

static void
test_a_rotation_changes_shift_at_the_week_boundary (void **state)
{
    (void) state;
    metrics_att_schedule_t *s = s_schedule ();
    //  Two-week rotation: day shift in one week, night shift in the other.
    int64_t sunday = D1207 + 6, monday = D1207 + 7;
    int week = (int) (kf_tz_week_of_day (sunday) % 2);
    assert_int_not_equal (week, (int) (kf_tz_week_of_day (monday) % 2));
    metrics_att_schedule_add_rule (s, "rui", "day", 127, 2, week);
    metrics_att_schedule_add_rule (s, "rui", "night", 127, 2, 1 - week);
    s_facts_t f = {0};
    metrics_att_row_t *rows;
    int n = s_day (&s, 1, &f, NULL, sunday, s_at (monday + 2, 0), &rows);
    assert_int_equal (n, 1);
    assert_string_equal (rows[0].shift, "day");
    assert_true (rows[0].absent);
    free (rows);
    n = s_day (&s, 1, &f, NULL, monday, s_at (monday + 2, 0), &rows);
    assert_int_equal (n, 1);
    assert_string_equal (rows[0].shift, "night");
    assert_int_equal (rows[0].start_ms, s_at (monday, 22 * 60));
    free (rows);
    metrics_att_schedule_destroy (&s);
}

static void
test_an_agent_with_no_schedule_has_no_rows (void **state)
{
    (void) state;
    metrics_att_schedule_t *s = s_schedule ();
    metrics_att_schedule_add_rule (s, "anna", "day", 127, 1, 0);
    s_facts_t f = {0};
    s_span (&f, "temp", s_at (D1207, 9 * 60), s_at (D1207, 12 * 60));
    s_reply (&f, "temp", s_at (D1207, 10 * 60));
    s_span (&f, "anna", s_at (D1207, 8 * 60), s_at (D1207, 18 * 60));
    metrics_att_row_t *rows;
    int n = s_day (&s, 1, &f, NULL, D1207, s_at (D1207, 20 * 60), &rows);
    assert_int_equal (n, 1);
    assert_string_equal (rows[0].agent_id, "anna");
    assert_string_equal (metrics_att_status (&rows[0]), "present");
    free (rows);
    metrics_att_schedule_destroy (&s);
}

static void
test_grace_minutes_are_the_shops_setting (void **state)
{
    (void) state;
    metrics_att_schedule_t *s = s_schedule ();
    metrics_att_schedule_add_rule (s, "bo", "day", 127, 1, 0);
    s_facts_t f = {0};
    //  4 minutes late, 4 minutes early.
    s_span (&f, "bo", s_at (D1207, 8 * 60 + 34), s_at (D1207, 17 * 60 + 26));
    metrics_att_row_t *rows;
    metrics_att_settings_t defaults;
    metrics_att_settings_default (&defaults);
    assert_int_equal (defaults.late_grace_min, 5);
    assert_int_equal (defaults.early_grace_min, 5);
    int n = s_day (&s, 1, &f, &defaults, D1207, s_at (D1207, 20 * 60), &rows);
    assert_int_equal (n, 1);
    assert_string_equal (metrics_att_status (&rows[0]), "present");
    free (rows);
    metrics_att_settings_t strict = {3, 3};
    n = s_day (&s, 1, &f, &strict, D1207, s_at (D1207, 20 * 60), &rows);
    assert_string_equal (metrics_att_status (&rows[0]), "late_early_leave");
    assert_int_equal (rows[0].late_minutes, 4);
    assert_int_equal (rows[0].early_minutes, 4);
    free (rows);
    metrics_att_schedule_destroy (&s);
}

static void
test_chats_left_unanswered_in_the_shift_count_for_everyone_on_it (void **state)
{
    (void) state;
    metrics_att_schedule_t *s = s_schedule ();
    metrics_att_schedule_add_rule (s, "anna", "day", 127, 1, 0);
    metrics_att_schedule_add_rule (s, "nina", "night", 127, 1, 0);
    s_facts_t f = {0};
    s_round (&f, 1, s_at (D1207, 9 * 60), s_at (D1207, 9 * 60 + 1));    //  answered
    s_round (&f, 2, s_at (D1207, 10 * 60), 0);                          //  never
    s_round (&f, 2, s_at (D1207, 11 * 60), 0);                          //  same chat
    s_round (&f, 3, s_at (D1207, 17 * 60 + 20), s_at (D1207, 18 * 60)); //  after the end
    s_round (&f, 4, s_at (D1207, 7 * 60), 0);                           //  before the start
    s_round (&f, 5, s_at (D1207, 23 * 60), 0);                          //  night's
    metrics_att_row_t *rows;
    int n = s_day (&s, 1, &f, NULL, D1207, s_at (D1207 + 1, 8 * 60), &rows);
    assert_int_equal (n, 2);
    assert_int_equal (s_row (rows, n, "anna")->unanswered, 2);
    assert_int_equal (s_row (rows, n, "nina")->unanswered, 1);
    free (rows);
    metrics_att_schedule_destroy (&s);
}

static void
test_the_schedule_in_force_at_the_start_of_a_shift_counts (void **state)
{
    (void) state;
    metrics_att_schedule_t *v1 = s_schedule (), *v2 = s_schedule ();
    metrics_att_schedule_add_rule (v1, "anna", "day", 127, 1, 0);
    //  From Monday 12:00 anna works nights and bo days.
    v2->from_ms = s_at (D1207, 12 * 60);
    metrics_att_schedule_add_rule (v2, "anna", "night", 127, 1, 0);
    metrics_att_schedule_add_rule (v2, "bo", "day", 127, 1, 0);
    metrics_att_schedule_t *versions[] = {v1, v2};
    s_facts_t f = {0};
    metrics_att_row_t *rows;
    int n = s_day (versions, 2, &f, NULL, D1207, s_at (D1207 + 2, 0), &rows);
    assert_int_equal (n, 2);
    assert_string_equal (rows[0].agent_id, "anna");
    assert_string_equal (rows[0].shift, "day");
    assert_string_equal (rows[1].agent_id, "anna");
    assert_string_equal (rows[1].shift, "night");
    free (rows);
    n = s_day (versions, 2, &f, NULL, D1207 + 1, s_at (D1207 + 3, 0), &rows);
    assert_int_equal (n, 2);
    assert_string_equal (rows[0].agent_id, "bo");
    assert_string_equal (rows[1].shift, "night");
    free (rows);
    metrics_att_schedule_destroy (&v1);
    metrics_att_schedule_destroy (&v2);
}

static void
test_a_schedule_survives_its_json_row (void **state)
{
    (void) state;
    metrics_att_schedule_t *s = s_schedule ();
    metrics_att_schedule_add_rule (s, "rui", "day", 31, 2, 1);
    assert_int_equal (metrics_att_schedule_add_rule (s, "rui", "lunch", 31, 1, 0), -1);
    char *text = metrics_att_schedule_to_json (s);
    metrics_att_schedule_t *back = metrics_att_schedule_from_json (5, text);
    assert_non_null (back);
    assert_int_equal (back->from_ms, 5);
    assert_true (metrics_att_schedule_equal (s, back));
    assert_null (metrics_att_schedule_from_json (0, "{\"timezone\":1}"));
    assert_null (metrics_att_schedule_from_json (0, "not json"));
    free (text);
    metrics_att_schedule_destroy (&back);
    metrics_att_schedule_destroy (&s);
}

static void
test_shifts_are_published_once_after_they_end (void **state)
{
    (void) state;
    metrics_att_schedule_t *s = s_schedule ();
    metrics_att_schedule_add_rule (s, "anna", "day", 127, 1, 0);
    metrics_att_schedule_add_rule (s, "nina", "night", 127, 1, 0);
    s_facts_t f = {0};
    s_span (&f, "anna", s_at (D1207, 8 * 60 + 40), s_at (D1207, 17 * 60 + 30));
    metrics_att_input_t in = {&s, 1, f.spans, f.span_count, NULL, 0, NULL, 0, {5, 5}};
    metrics_att_row_t *rows;
    int64_t next;
    //  08:00 .. 18:00: the day shift ended (anna late); the next end is the
    //  night shift's, tomorrow 06:00.
    int n =
        metrics_attendance_ended (&in, s_at (D1207, 8 * 60), s_at (D1207, 18 * 60), &rows, &next);
    assert_int_equal (n, 1);
    assert_string_equal (rows[0].agent_id, "anna");
    assert_string_equal (metrics_att_status (&rows[0]), "late");
    assert_int_equal (next, s_at (D1207 + 1, 6 * 60));
    free (rows);
    //  18:00 .. 07:00: only the night shift; nothing twice.
    n = metrics_attendance_ended (&in, s_at (D1207, 18 * 60), s_at (D1207 + 1, 7 * 60), &rows,
                                  &next);
    assert_int_equal (n, 1);
    assert_string_equal (rows[0].agent_id, "nina");
    assert_true (rows[0].absent);
    assert_int_equal (next, s_at (D1207 + 1, 17 * 60 + 30));
    free (rows);
    metrics_att_schedule_destroy (&s);
}

//  The tracker, with a sink that records.
typedef struct {
    s_facts_t f;
} s_rec_t;

static void
s_rec_span (void *arg, const char *shop, const metrics_att_span_t *span)
{
    (void) shop;
    s_rec_t *r = arg;
    r->f.spans[r->f.span_count++] = *span;
}

static void
s_rec_reply (void *arg, const char *shop, const metrics_att_reply_t *reply)
{
    (void) shop;
    s_rec_t *r = arg;
    r->f.replies[r->f.reply_count++] = *reply;
}

static void
s_rec_round (void *arg, const char *shop, const metrics_att_round_t *round)
{
    (void) shop;
    s_rec_t *r = arg;
    r->f.rounds[r->f.round_count++] = *round;
}

static void
test_the_tracker_turns_events_into_spans_rounds_and_reply_minutes (void **state)
{
    (void) state;
    s_rec_t rec = {0};
    metrics_att_sink_t sink = {s_rec_span, s_rec_reply, s_rec_round, &rec};
    metrics_att_tracker_t *t = metrics_att_tracker_new (&sink);
    const int ONLINE = KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE,
              AWAY = KEFU__V1__AGENT_STATUS__AGENT_STATUS_AWAY,
              OFFLINE = KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE;
    metrics_att_on_presence (t, "s1", "anna", ONLINE, 1000 * MIN);
    metrics_att_on_presence (t, "s1", "anna", AWAY, 1010 * MIN); //  still signed in
    metrics_att_on_presence (t, "s1", "anna", OFFLINE, 1020 * MIN);
    metrics_att_on_presence (t, "s1", "anna", OFFLINE, 1030 * MIN); //  nothing new
    assert_int_equal (rec.f.span_count, 2);
    assert_int_equal (rec.f.spans[0].to_ms, 0);
    assert_int_equal (rec.f.spans[1].from_ms, 1000 * MIN);
    assert_int_equal (rec.f.spans[1].to_ms, 1020 * MIN);

    metrics_att_on_line (t, "s1", 7, true, false, "", 1001 * MIN);
    metrics_att_on_line (t, "s1", 7, true, false, "", 1002 * MIN); //  same round
    metrics_att_on_line (t, "s1", 7, false, true, "", 1003 * MIN); //  auto: no answer
    metrics_att_on_line (t, "s1", 7, false, false, "anna", 1004 * MIN + 30000);
    assert_int_equal (rec.f.round_count, 2);
    assert_int_equal (rec.f.rounds[0].answered_ms, 0);
    assert_int_equal (rec.f.rounds[1].started_ms, 1001 * MIN);
    assert_int_equal (rec.f.rounds[1].answered_ms, 1004 * MIN + 30000);
    assert_int_equal (rec.f.reply_count, 1);
    assert_int_equal (rec.f.replies[0].minute_ms, 1004 * MIN);

    //  A round open when its chat closes is never answered.
    metrics_att_on_line (t, "s1", 8, true, false, "", 1005 * MIN);
    metrics_att_on_closed (t, "s1", 8);
    metrics_att_on_line (t, "s1", 8, false, false, "anna", 1006 * MIN);
    assert_int_equal (rec.f.round_count, 3);

    //  Restored after a restart: the open span ends where it should.
    metrics_att_tracker_reset (t);
    metrics_att_tracker_restore_span (t, "s1", "bo", 900 * MIN);
    metrics_att_on_presence (t, "s1", "bo", OFFLINE, 950 * MIN);
    assert_int_equal (rec.f.spans[rec.f.span_count - 1].from_ms, 900 * MIN);
    assert_int_equal (rec.f.spans[rec.f.span_count - 1].to_ms, 950 * MIN);
    metrics_att_tracker_destroy (&t);
}

//  The sample shop day (deploy/samples/shop-day.jsonl) through the
//  tracker: with the day shift 08:30-17:30 for the day agents and the
//  night shift 17:30-23:00 for dawei, exactly one agent is late.
static void
test_the_sample_day_has_one_agent_late (void **state)
{
    (void) state;
    const char *source = getenv ("KEFU_SOURCE_DIR");
    if (!source)
        fail_msg ("KEFU_SOURCE_DIR is not set: run this test through ctest");
    char path[512];
    snprintf (path, sizeof path, "%s/deploy/samples/shop-day.jsonl", source);
    FILE *file = fopen (path, "r");
    assert_non_null (file);
    s_rec_t *rec = calloc (1, sizeof *rec);
    metrics_att_sink_t sink = {s_rec_span, s_rec_reply, s_rec_round, rec};
    metrics_att_tracker_t *t = metrics_att_tracker_new (&sink);
    char line[4096];
    static const char *const statuses[] = {"", "online", "busy", "away", "offline"};
    while (fgets (line, sizeof line, file)) {
        json_t *item = json_loads (line, 0, NULL);
        assert_non_null (item);
        const char *type = json_string_value (json_object_get (item, "type"));
        const char *status = json_string_value (json_object_get (item, "status"));
        char at[40];
        //  "2026-11-23T08:30:00+08:00" -> UTC.
        snprintf (at, sizeof at, "%s", json_string_value (json_object_get (item, "sent_at")));
        int64_t ms = kf_clock_parse_utc ("2026-11-23T00:00:00Z") - 8 * 60 * MIN +
                     (atoi (at + 11) * 60 + atoi (at + 14)) * MIN + atoi (at + 17) * 1000;
        if (strcmp (type, "agent_presence") == 0) {
            int code = 0;
            for (int k = 1; k <= 4; k++)
                if (strcmp (status, statuses[k]) == 0)
                    code = k;
            metrics_att_on_presence (
                t, "demo-shop", json_string_value (json_object_get (item, "agent_id")), code, ms);
        }
        json_decref (item);
    }
    fclose (file);
    metrics_att_tracker_destroy (&t);

    metrics_att_schedule_t *s = metrics_att_schedule_new (0, "+08:00");
    metrics_att_schedule_add_shift (s, "day", 8 * 60 + 30, 17 * 60 + 30);
    metrics_att_schedule_add_shift (s, "night", 17 * 60 + 30, 23 * 60);
    metrics_att_schedule_add_rule (s, "xiaomei", "day", 127, 1, 0);
    metrics_att_schedule_add_rule (s, "ajie", "day", 127, 1, 0);
    metrics_att_schedule_add_rule (s, "lingling", "day", 127, 1, 0);
    metrics_att_schedule_add_rule (s, "dawei", "night", 127, 1, 0);
    int64_t day = 20780; //  2026-11-23
    metrics_att_row_t *rows;
    int n = s_day (&s, 1, &rec->f, NULL, day, s_at (day + 1, 0), &rows);
    assert_int_equal (n, 4);
    int late = 0;
    for (int i = 0; i < n; i++) {
        late += rows[i].late;
        assert_false (rows[i].absent);
        assert_false (rows[i].early_leave);
    }
    assert_int_equal (late, 1);
    const metrics_att_row_t *lingling = s_row (rows, n, "lingling");
    assert_true (lingling->late);
    assert_int_equal (lingling->late_minutes, 28);
    free (rows);
    metrics_att_schedule_destroy (&s);
    free (rec);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_day_with_present_late_absent_and_early_leave),
        cmocka_unit_test (test_a_shift_under_way_judges_no_absence_or_early_leave_yet),
        cmocka_unit_test (test_a_night_shift_belongs_to_the_day_it_starts_and_ends_after_midnight),
        cmocka_unit_test (test_a_rotation_changes_shift_at_the_week_boundary),
        cmocka_unit_test (test_an_agent_with_no_schedule_has_no_rows),
        cmocka_unit_test (test_grace_minutes_are_the_shops_setting),
        cmocka_unit_test (test_chats_left_unanswered_in_the_shift_count_for_everyone_on_it),
        cmocka_unit_test (test_the_schedule_in_force_at_the_start_of_a_shift_counts),
        cmocka_unit_test (test_a_schedule_survives_its_json_row),
        cmocka_unit_test (test_shifts_are_published_once_after_they_end),
        cmocka_unit_test (test_the_tracker_turns_events_into_spans_rounds_and_reply_minutes),
        cmocka_unit_test (test_the_sample_day_has_one_agent_late),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
