/*  test_metrics_attendance_day — an attendance day (漏班) from the record.

    Real intake, routing and metrics (in-process, one driven clock, a
    fresh PostgreSQL) and the real kefuctl binary. Four agents work the day
    shift 09:00-18:00 (Shanghai) on Tuesday 2026-11-10: anna signs in on
    time, bo twenty minutes late, chen never, dan leaves at 16:00; a
    customer who writes at 17:50 gets no reply. Metrics learns the schedule
    from routing's schedule.changed, presence and replies from intake's
    events; kefuctl attendance shows the day as a table, JSON and CSV, the
    same after a rebuild from the event log, and with the shop's grace
    minutes. */
#include "kefu/v1/gateway.pb-c.h"
#include "kf_clock.h"
#include "kt_db.h"
#include "kt_desk.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_metrics.h"
#include "kt_routing.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP "demo-shop"

typedef kt_desk_t fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    char *db = kt_db_fresh ("metrics_attendance");
    kt_shop_add (db, SHOP);
    kt_sql (db, "INSERT INTO routing_groups (shop_id, group_name, display_name) VALUES "
                "('demo-shop', 'presales', '售前');"
                "INSERT INTO shifts VALUES ('demo-shop', 'day', 540, 1080);"
                "INSERT INTO agents (shop_id, agent_id, name, capacity) "
                "SELECT 'demo-shop', a, a, 3 FROM unnest ('{anna,bo,chen,dan}'::text[]) a;"
                "INSERT INTO agent_groups SELECT 'demo-shop', a, 'presales' "
                "FROM unnest ('{anna,bo,chen,dan}'::text[]) a;"
                "INSERT INTO agent_schedule (shop_id, agent_id, shift_name) "
                "SELECT 'demo-shop', a, 'day' FROM unnest ('{anna,bo,chen,dan}'::text[]) a;"
                "INSERT INTO routing_settings (shop_id) VALUES ('demo-shop')");
    //  Tuesday 2026-11-10, 08:00 in Shanghai.
    kt_desk_start (f, db, SHOP, "2026-11-10T00:00:00Z");
    *state = f;
    return 0;
}

#define ONLINE  KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE
#define OFFLINE KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE

//  The day as the shop lived it; then the evening, when it has ended.
static void
s_day (fixture_t *f)
{
    kt_desk_presence (f, "2026-11-10T00:55:00Z", "anna", ONLINE); //  08:55
    kt_desk_presence (f, "2026-11-10T01:00:00Z", "dan", ONLINE);  //  09:00
    kt_desk_presence (f, "2026-11-10T01:20:00Z", "bo", ONLINE);   //  09:20: 20 minutes late
    kt_desk_line (f, "2026-11-10T02:00:00Z", "tb_1", NULL, "在吗");
    kt_desk_line (f, "2026-11-10T02:01:00Z", "tb_1", "anna", "亲 您好");
    kt_desk_presence (f, "2026-11-10T08:00:00Z", "dan", OFFLINE);     //  16:00: two hours early
    kt_desk_line (f, "2026-11-10T09:50:00Z", "tb_2", NULL, "有货吗"); //  17:50, never answered
    kt_desk_presence (f, "2026-11-10T10:05:00Z", "bo", OFFLINE);
    kt_desk_presence (f, "2026-11-10T10:10:00Z", "anna", OFFLINE);
    assert_int_equal (kf_clock_set (f->clock, kf_clock_parse_utc ("2026-11-10T11:00:00Z")), 0);
    kt_routing_settle (&f->routing, f->db);
    kt_metrics_settle (&f->metrics, f->db);
}

//  The answer's row of an agent.
static json_t *
s_row (json_t *answer, const char *agent)
{
    size_t i;
    json_t *row;
    json_array_foreach (json_object_get (answer, "rows"), i, row)
    {
        if (strcmp (json_string_value (json_object_get (row, "agent_id")), agent) == 0)
            return row;
    }
    fail_msg ("no row for %s", agent);
    return NULL;
}

static const char *
s_status (json_t *answer, const char *agent)
{
    return json_string_value (json_object_get (s_row (answer, agent), "status"));
}

static void
s_expect_day (json_t *a)
{
    assert_int_equal (json_array_size (json_object_get (a, "rows")), 4);
    assert_string_equal (s_status (a, "anna"), "present");
    assert_string_equal (s_status (a, "bo"), "late");
    assert_string_equal (s_status (a, "chen"), "absent");
    assert_string_equal (s_status (a, "dan"), "early_leave");
    assert_int_equal (kt_json_num (s_row (a, "bo"), "late_minutes"), 20);
    assert_int_equal (kt_json_num (s_row (a, "dan"), "early_minutes"), 120);
    assert_string_equal (json_string_value (json_object_get (s_row (a, "anna"), "present_from")),
                         "2026-11-10T08:55:00+08:00");
    assert_string_equal (json_string_value (json_object_get (s_row (a, "anna"), "present_to")),
                         "2026-11-10T18:10:00+08:00");
    //  The 17:50 customer counts against everyone on the shift.
    assert_int_equal (kt_json_num (s_row (a, "chen"), "unanswered"), 1);
    assert_int_equal (kt_json_num (s_row (a, "anna"), "unanswered"), 1);
    assert_int_equal (kt_json_num (a, "totals.late"), 1);
    assert_int_equal (kt_json_num (a, "totals.absent"), 1);
    assert_int_equal (kt_json_num (a, "totals.early_leave"), 1);
}

static void
test_an_attendance_day_shows_present_late_absent_and_early_leave (void **state)
{
    fixture_t *f = *state;
    kt_run_t *r = &kt_kefuctl_last;
    s_day (f);

    KT_EXPECT (f->db, 0, f->endpoint, "attendance", SHOP, "--date", "2026-11-10", "--json");
    json_t *a = json_loads (r->out, 0, NULL);
    assert_non_null (a);
    s_expect_day (a);
    json_decref (a);

    KT_EXPECT (f->db, 0, f->endpoint, "attendance", SHOP, "--date", "2026-11-10");
    assert_non_null (strstr (r->out, "grace: late 5 min, early leave 5 min"));
    assert_non_null (strstr (r->out, "shifts 4, late 1, early leave 1, absent 1"));
    assert_non_null (strstr (r->out, "20 min"));
    assert_non_null (strstr (r->out, "120 min"));

    KT_EXPECT (f->db, 0, f->endpoint, "attendance", SHOP, "--date", "2026-11-10", "--csv");
    assert_true (strncmp (r->out, "date,agent,shift,start,end,status,", 34) == 0);
    assert_non_null (strstr (r->out, "\n2026-11-10,chen,day,2026-11-10T09:00:00+08:00,"
                                     "2026-11-10T18:00:00+08:00,absent,,,0,0,0,true,1\n"));
    assert_non_null (strstr (r->out, "\n2026-11-10,bo,day,2026-11-10T09:00:00+08:00,"
                                     "2026-11-10T18:00:00+08:00,late,2026-11-10T09:20:00+08:00,"
                                     "2026-11-10T18:05:00+08:00,520,20,0,false,1\n"));

    //  The month holds the day (the other days of November: nobody came).
    KT_EXPECT (f->db, 0, f->endpoint, "attendance", SHOP, "--month", "2026-11", "--agent", "bo",
               "--json");
    a = json_loads (r->out, 0, NULL);
    assert_non_null (a);
    assert_int_equal (json_array_size (json_object_get (a, "rows")), 30);
    assert_string_equal (json_string_value (json_object_get (
                             json_array_get (json_object_get (a, "rows"), 9), "status")),
                         "late");
    json_decref (a);

    //  The month's scorecard carries each agent's attendance, equal to the
    //  month of agent.attendance added up (informational: no points).
    a = kt_metrics_json (f->metrics.query, "agent.attendance", SHOP, 0, 0, NULL,
                         "{\"month\": \"2026-11\"}");
    json_t *card = kt_metrics_json (f->metrics.query, "agent.scorecard", SHOP, 0, 0, NULL,
                                    "{\"month\": \"2026-11\"}");
    json_t *att = json_object_get (card, "attendance");
    assert_int_equal (json_object_size (att), 4);
    size_t i;
    json_t *row;
    json_t *sums = json_object ();
    json_array_foreach (json_object_get (a, "rows"), i, row)
    {
        const char *agent = json_string_value (json_object_get (row, "agent_id"));
        json_t *t = json_object_get (sums, agent);
        if (!t) {
            t = json_pack ("{s:i, s:i, s:i, s:i, s:i}", "shifts", 0, "late", 0, "early_leave", 0,
                           "absent", 0, "unanswered", 0);
            json_object_set_new (sums, agent, t);
        }
        const char *keys[] = {"late", "early_leave", "absent"};
        json_object_set_new (t, "shifts",
                             json_integer (json_integer_value (json_object_get (t, "shifts")) + 1));
        for (int k = 0; k < 3; k++)
            json_object_set_new (t, keys[k],
                                 json_integer (json_integer_value (json_object_get (t, keys[k])) +
                                               json_is_true (json_object_get (row, keys[k]))));
        json_object_set_new (
            t, "unanswered",
            json_integer (json_integer_value (json_object_get (t, "unanswered")) +
                          json_integer_value (json_object_get (row, "unanswered"))));
    }
    const char *agent;
    json_t *want;
    json_object_foreach (sums, agent, want)
    {
        json_t *got = json_object_get (att, agent);
        assert_non_null (got);
        const char *keys[] = {"shifts", "late", "early_leave", "absent", "unanswered"};
        for (int k = 0; k < 5; k++)
            assert_int_equal (kt_json_num (got, keys[k]), kt_json_num (want, keys[k]));
    }
    json_decref (sums);
    assert_int_equal (kt_json_num (att, "bo.late"), 1);
    assert_int_equal (kt_json_num (att, "dan.early_leave"), 1);
    assert_int_equal (kt_json_num (att, "chen.present"), 0);
    assert_int_equal (kt_json_num (att, "anna.present"), 1);
    assert_int_equal (kt_json_num (att, "anna.shifts"), 30);
    //  On anna's card (she replied), beside her items; no points from it.
    json_array_foreach (json_object_get (card, "agents"), i, row)
    {
        if (strcmp (json_string_value (json_object_get (row, "agent_id")), "anna") == 0)
            assert_int_equal (kt_json_num (row, "attendance.unanswered"),
                              kt_json_num (att, "anna.unanswered"));
    }
    json_decref (card);
    json_decref (a);
    KT_EXPECT (f->db, 0, f->endpoint, "scorecard", SHOP, "--month", "2026-11");
    assert_non_null (strstr (r->out, "attendance (informational, no points)"));
    KT_EXPECT (f->db, 0, f->endpoint, "scorecard", SHOP, "--month", "2026-11", "--csv");
    assert_non_null (strstr (r->out, ",shifts,present,late,early_leave,absent,unanswered\n"));

    //  A minute after the shift ended metrics published it: one
    //  agent.attendance per agent on its own stream (in the event log).
    assert_int_equal (kt_db_count (f->db, "SELECT count (*) FROM events WHERE stream = "
                                          "'metrics' AND kind = 'agent.attendance'"),
                      4);
    //  Rebuilt from the event log: the same day.
    char *reply = kt_metrics_command (&f->metrics, "REBUILD");
    assert_string_equal (reply, "OK");
    free (reply);
    kt_metrics_settle (&f->metrics, f->db);
    a = kt_metrics_json (f->metrics.query, "agent.attendance", SHOP, 0, 0, NULL,
                         "{\"date\": \"2026-11-10\"}");
    s_expect_day (a);
    json_decref (a);

    //  ... and nothing published twice.
    free (kt_metrics_command (&f->metrics, "SYNC"));
    assert_int_equal (kt_db_count (f->db, "SELECT count (*) FROM events WHERE stream = "
                                          "'metrics' AND kind = 'agent.attendance'"),
                      4);
    //  The shop's tolerance: 25 minutes late is still on time there.
    KT_EXPECT (f->db, 0, "metrics", "settings", SHOP, "--late-grace", "25");
    assert_non_null (strstr (r->out, "late_grace_min             25"));
    KT_EXPECT (f->db, 2, "metrics", "settings", SHOP, "--early-grace", "2.5");
    KT_EXPECT (f->db, 2, "metrics", "settings", SHOP, "--early-grace", "241");
    a = kt_metrics_json (f->metrics.query, "agent.attendance", SHOP, 0, 0, NULL,
                         "{\"date\": \"2026-11-10\"}");
    assert_string_equal (s_status (a, "bo"), "present");
    assert_int_equal (kt_json_num (a, "settings.late_grace_min"), 25);
    json_decref (a);

    //  Bad questions are refused with a code.
    KT_EXPECT (f->db, 2, f->endpoint, "attendance", SHOP, "--date", "2026-11-31");
    assert_non_null (strstr (r->err, "invalid_value"));
    KT_EXPECT (f->db, 2, f->endpoint, "attendance", SHOP, "--date", "2026-11-10", "--month",
               "2026-11");
    assert_non_null (strstr (r->err, "invalid_value"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_an_attendance_day_shows_present_late_absent_and_early_leave, s_setup,
            kt_desk_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
