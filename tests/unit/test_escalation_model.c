/*  test_escalation_model — the complaint workflow and the 中差评 ladder on a
    driven clock (Monday 2026-11-23, Asia/Shanghai). */
#include "escalation_model.h"
#include "kf_clock.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define HOUR (3600 * 1000LL)
enum {
    REGISTERED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_REGISTERED,
    JUDGED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_JUDGED,
    INVESTIGATED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_INVESTIGATED,
    PROPOSED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_REMEDY_PROPOSED,
    APPROVED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_APPROVED,
    CARRIED_OUT = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_CARRIED_OUT,
    REVISITED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_REVISITED,
    CLOSED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_CLOSED,
    QUALITY = KEFU__V1__COMPLAINT_CATEGORY__COMPLAINT_QUALITY,
    WAREHOUSE = KEFU__V1__RESPONSIBLE_PARTY__RESPONSIBLE_WAREHOUSE,
    SERVICE = KEFU__V1__RESPONSIBLE_PARTY__RESPONSIBLE_SERVICE,
    CASH = KEFU__V1__REMEDY__REMEDY_CASH,
    APOLOGY = KEFU__V1__REMEDY__REMEDY_APOLOGY
};

static int64_t
s_t (const char *utc)
{
    return kf_clock_parse_utc (utc);
}

//  A complete move of each kind: what each step needs.
static esc_move_t
s_move (esc_action_t action, bool supervisor)
{
    esc_move_t m = {
        action,     true, "photos show a crack", QUALITY, WAREHOUSE, "", CASH, 8000, "boss",
        supervisor, 0};
    return m;
}

//  A complaint brought to `stage` through the allowed moves (cash 80.00:
//  above the default limit, so it waits in PROPOSED for approval).
static void
s_at_stage (esc_complaint_t *c, int stage, const esc_settings_t *s, int64_t now)
{
    esc_complaint_register (c, 0, s, now);
    esc_action_t path[] = {ESC_JUDGE, ESC_INVESTIGATE, ESC_PROPOSE, ESC_APPROVE,
                           ESC_DONE,  ESC_REVISIT,     ESC_CLOSE};
    for (int i = 0; c->stage < stage; i++) {
        esc_move_t m = s_move (path[i], true);
        assert_int_equal (esc_complaint_move (c, &m, s, now, NULL), 0);
    }
    assert_int_equal (c->stage, stage);
}

static void
test_every_move_from_every_stage_is_allowed_or_refused_by_the_workflow (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    int64_t now = s_t ("2026-11-23T02:00:00Z");
    //  allowed[stage][action]: the one way forward from each stage (and
    //  investigating again while no remedy is proposed).
    int stages[] = {REGISTERED, JUDGED,      INVESTIGATED, PROPOSED,
                    APPROVED,   CARRIED_OUT, REVISITED,    CLOSED};
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
        for (int a = ESC_JUDGE; a <= ESC_CLOSE; a++) {
            int st = stages[i];
            bool allowed =
                (st == REGISTERED && a == ESC_JUDGE) || (st == JUDGED && a == ESC_INVESTIGATE) ||
                (st == INVESTIGATED && (a == ESC_INVESTIGATE || a == ESC_PROPOSE)) ||
                (st == PROPOSED && a == ESC_APPROVE) || (st == APPROVED && a == ESC_DONE) ||
                (st == CARRIED_OUT && a == ESC_REVISIT) || (st == REVISITED && a == ESC_CLOSE);
            esc_complaint_t c, before;
            s_at_stage (&c, st, &s, now);
            before = c;
            esc_move_t m = s_move ((esc_action_t) a, true);
            kf_error_t err;
            kf_error_clear (&err);
            int rc = esc_complaint_move (&c, &m, &s, now + HOUR, &err);
            if (allowed != (rc == 0))
                fail_msg ("stage %s action %s: expected %s, got rc %d (%s)", esc_stage_name (st),
                          esc_action_name ((esc_action_t) a), allowed ? "allowed" : "refused", rc,
                          err.reason);
            if (!allowed) {
                assert_memory_equal (&c, &before, sizeof c); //  nothing changes
                char prefix[64];
                snprintf (prefix, sizeof prefix, "stage %s: %s refused: ", esc_stage_name (st),
                          esc_action_name ((esc_action_t) a));
                assert_non_null (strstr (err.reason, prefix));
            }
        }
    }
}

static void
test_a_complaint_judged_not_valid_closes_with_its_reason (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    esc_complaint_t c;
    esc_complaint_register (&c, QUALITY, &s, 0);
    esc_move_t m = s_move (ESC_JUDGE, false);
    m.valid = false;
    m.reason = "";
    kf_error_t err;
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD);
    assert_non_null (strstr (err.reason, "stage registered: judge refused: "));
    assert_non_null (strstr (err.reason, "reason"));
    m.reason = "the buyer used it for a month";
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, &err), 0);
    assert_int_equal (c.stage, CLOSED);
    assert_int_equal (c.deadline_ms, 0);
}

static void
test_approve_before_propose_names_the_stage_and_what_is_missing (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    esc_complaint_t c;
    s_at_stage (&c, INVESTIGATED, &s, 0);
    esc_move_t m = s_move (ESC_APPROVE, true);
    kf_error_t err;
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, &err), -1);
    assert_string_equal (err.reason,
                         "stage investigated: approve refused: no remedy has been proposed "
                         "(propose first)");
}

static void
test_a_remedy_without_a_responsible_party_is_refused (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    esc_complaint_t c;
    s_at_stage (&c, JUDGED, &s, 0);
    esc_move_t m = s_move (ESC_PROPOSE, true);
    kf_error_t err;
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD);
    assert_non_null (strstr (err.reason, "stage judged: propose refused: a remedy needs the "
                                         "responsible party"));
    m = s_move (ESC_INVESTIGATE, true);
    m.responsible = 0;
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, &err), -1);
    assert_non_null (strstr (err.reason, "responsible party is missing"));
}

static void
test_a_service_complaint_names_the_agent (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    esc_complaint_t c;
    s_at_stage (&c, JUDGED, &s, 0);
    esc_move_t m = s_move (ESC_INVESTIGATE, true);
    m.responsible = SERVICE;
    kf_error_t err;
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, &err), -1);
    assert_non_null (strstr (err.reason, "--agent"));
    m.agent_id = "xiaomei";
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, &err), 0);
    assert_string_equal (c.agent_id, "xiaomei");
}

static void
test_a_service_complaint_is_a_finding_against_its_agent (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    esc_complaint_t c;
    s_at_stage (&c, JUDGED, &s, 0);
    esc_move_t m = s_move (ESC_INVESTIGATE, true);
    m.responsible = SERVICE;
    m.agent_id = "xiaomei";
    kf_error_t err;
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, &err), 0);
    assert_int_equal (esc_complaint_finding (&c, &m),
                      KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_VALID);
    m.finding = KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_WRONG_EXPLANATION;
    assert_int_equal (esc_complaint_finding (&c, &m), m.finding);
    //  Investigated again: the warehouse after all clears the finding.
    m.responsible = WAREHOUSE;
    m.agent_id = "";
    assert_int_equal (esc_complaint_move (&c, &m, &s, 2, &err), 0);
    assert_int_equal (esc_complaint_finding (&c, &m),
                      KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_NONE);
    //  Moves that find nothing say nothing.
    esc_move_t p = s_move (ESC_PROPOSE, true);
    assert_int_equal (esc_complaint_finding (&c, &p),
                      KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_UNSPECIFIED);
    esc_move_t j = s_move (ESC_JUDGE, true);
    j.valid = false;
    assert_int_equal (esc_complaint_finding (&c, &j),
                      KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_NONE);
}

static void
test_an_approval_by_a_non_supervisor_is_refused (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    esc_complaint_t c;
    s_at_stage (&c, PROPOSED, &s, 0);
    esc_move_t m = s_move (ESC_APPROVE, false);
    m.by = "xiaomei";
    kf_error_t err;
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, &err), -1);
    assert_int_equal (err.code, KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN);
    assert_non_null (strstr (err.reason, "xiaomei is not a supervisor"));
    m = s_move (ESC_APPROVE, true);
    assert_int_equal (esc_complaint_move (&c, &m, &s, 7, &err), 0);
    assert_string_equal (c.approved_by, "boss");
    assert_int_equal (c.approved_at_ms, 7);
}

static void
test_a_remedy_within_the_limit_needs_no_approval (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    esc_complaint_t c;
    s_at_stage (&c, INVESTIGATED, &s, 0);
    esc_move_t m = s_move (ESC_PROPOSE, false);
    m.amount_cents = s.approval_limit_cents;
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, NULL), 0);
    assert_int_equal (c.stage, APPROVED);
    assert_string_equal (c.approved_by, "limit");
}

static void
test_close_before_revisit_is_refused (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    esc_complaint_t c;
    s_at_stage (&c, CARRIED_OUT, &s, 0);
    esc_move_t m = s_move (ESC_CLOSE, true);
    kf_error_t err;
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, &err), -1);
    assert_string_equal (err.reason,
                         "stage carried_out: close refused: the revisit (回访) is missing");
}

static void
test_only_carrying_out_a_remedy_with_money_is_a_ledger_entry (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    esc_complaint_t c;
    s_at_stage (&c, APPROVED, &s, 0);
    esc_move_t done = s_move (ESC_DONE, true);
    assert_true (esc_complaint_moves_money (&c, &done));
    esc_move_t revisit = s_move (ESC_REVISIT, true);
    assert_false (esc_complaint_moves_money (&c, &revisit));
    s_at_stage (&c, INVESTIGATED, &s, 0);
    esc_move_t m = s_move (ESC_PROPOSE, true);
    m.remedy = APOLOGY;
    m.amount_cents = 0;
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, NULL), 0);
    assert_false (esc_complaint_moves_money (&c, &done));
    m.amount_cents = 100;
    s_at_stage (&c, INVESTIGATED, &s, 0);
    assert_int_equal (esc_complaint_move (&c, &m, &s, 1, NULL), -1); //  an apology costs nothing
}

static void
test_the_revisit_is_due_within_three_days_of_carrying_out (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    esc_complaint_t c;
    s_at_stage (&c, APPROVED, &s, 0);
    esc_move_t m = s_move (ESC_DONE, true);
    int64_t now = s_t ("2026-11-23T02:00:00Z");
    assert_int_equal (esc_complaint_move (&c, &m, &s, now, NULL), 0);
    assert_int_equal (c.deadline_ms, now + 72 * HOUR);
}

static void
test_a_passed_deadline_raises_one_level_once_per_level (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    esc_complaint_t c;
    int64_t t0 = s_t ("2026-11-23T02:00:00Z");
    esc_complaint_register (&c, QUALITY, &s, t0);
    assert_int_equal (c.deadline_ms, t0 + 24 * HOUR);
    assert_int_equal (esc_complaint_deadline (&c, &s, t0 + 24 * HOUR - 1), -1);
    //  Seen 5 minutes late: fires, says how late, and once.
    assert_int_equal (esc_complaint_deadline (&c, &s, t0 + 24 * HOUR + 300000), 300000);
    assert_int_equal (c.level, 1);
    assert_int_equal (esc_complaint_deadline (&c, &s, t0 + 24 * HOUR + 300000), -1);
    assert_int_equal (c.deadline_ms, t0 + 48 * HOUR);
    assert_int_equal (esc_complaint_deadline (&c, &s, t0 + 48 * HOUR), 0);
    assert_int_equal (esc_complaint_deadline (&c, &s, t0 + 72 * HOUR), 0);
    assert_int_equal (c.level, 3);
    assert_int_equal (c.deadline_ms, 0); //  max level: no more notices
    assert_int_equal (esc_complaint_deadline (&c, &s, t0 + 500 * HOUR), -1);
    //  The next stage starts from level 0 again.
    esc_move_t m = s_move (ESC_JUDGE, true);
    assert_int_equal (esc_complaint_move (&c, &m, &s, t0 + 100 * HOUR, NULL), 0);
    assert_int_equal (c.level, 0);
    assert_int_equal (c.deadline_ms, t0 + 124 * HOUR);
}

//  ---------------------------------------------------------------------
//  The ladder (Asia/Shanghai is UTC+8: 09:30 local is 01:30Z)

static void
test_the_ladder_is_chat_then_sms_then_phone_in_a_calling_window (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    kf_tz_t *tz = kf_tz_new ("Asia/Shanghai");
    esc_review_t r;
    int64_t t0 = s_t ("2026-11-23T06:00:00Z"); //  14:00 local
    esc_review_open (&r, t0);
    assert_int_equal (esc_review_step (&r, &s, tz, t0 - 1), ESC_STEP_NONE);
    assert_int_equal (esc_review_step (&r, &s, tz, t0), ESC_STEP_CHAT);
    assert_int_equal (r.next_ms, t0 + 2 * HOUR);
    assert_int_equal (esc_review_step (&r, &s, tz, t0 + HOUR), ESC_STEP_NONE);
    assert_int_equal (esc_review_step (&r, &s, tz, t0 + 2 * HOUR), ESC_STEP_SMS);
    //  48 h after 14:00 is Wednesday 14:00: the call waits for 16:00.
    assert_int_equal (r.next_ms, s_t ("2026-11-25T08:00:00Z"));
    assert_int_equal (esc_review_step (&r, &s, tz, r.next_ms), ESC_STEP_PHONE);
    assert_int_equal (r.next_ms, 0);
    kf_tz_destroy (&tz);
}

static void
test_a_phone_call_due_at_23_00_waits_for_09_30 (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    kf_tz_t *tz = kf_tz_new ("Asia/Shanghai");
    int64_t t0 = s_t ("2026-11-23T15:00:00Z"); //  23:00 local
    assert_int_equal (esc_calling_window (&s, tz, t0), s_t ("2026-11-24T01:30:00Z"));
    assert_int_equal (esc_calling_window (&s, tz, s_t ("2026-11-24T03:29:00Z")),
                      s_t ("2026-11-24T03:29:00Z")); //  11:29: inside
    assert_int_equal (esc_calling_window (&s, tz, s_t ("2026-11-24T03:30:00Z")),
                      s_t ("2026-11-24T08:00:00Z")); //  11:30: wait for 16:00
    esc_review_t r;
    esc_review_open (&r, t0);
    assert_int_equal (esc_review_step (&r, &s, tz, t0), ESC_STEP_CHAT);
    assert_int_equal (esc_review_step (&r, &s, tz, t0 + 2 * HOUR), ESC_STEP_SMS);
    assert_int_equal (r.next_ms, s_t ("2026-11-26T01:30:00Z"));
    kf_tz_destroy (&tz);
}

static void
test_an_sms_delay_of_zero_sends_it_with_the_chat_message (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    s.sms_delay_ms = 0;
    kf_tz_t *tz = kf_tz_new ("Asia/Shanghai");
    esc_review_t r;
    esc_review_open (&r, 1000);
    assert_int_equal (esc_review_step (&r, &s, tz, 1000), ESC_STEP_CHAT);
    assert_int_equal (esc_review_step (&r, &s, tz, 1000), ESC_STEP_SMS);
    kf_tz_destroy (&tz);
}

static void
test_a_message_from_the_buyer_stops_the_ladder (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    kf_tz_t *tz = kf_tz_new ("Asia/Shanghai");
    esc_review_t r;
    esc_review_open (&r, 1000);
    assert_int_equal (esc_review_step (&r, &s, tz, 1000), ESC_STEP_CHAT);
    assert_true (esc_review_contacted (&r));
    assert_false (esc_review_contacted (&r));
    assert_int_equal (esc_review_step (&r, &s, tz, 100 * HOUR), ESC_STEP_NONE);
    kf_tz_destroy (&tz);
}

static void
test_calling_windows_parse_and_refuse_nonsense (void **state)
{
    (void) state;
    esc_settings_t s;
    esc_settings_default (&s);
    char buf[64];
    assert_string_equal (esc_settings_format_windows (&s, buf, sizeof buf),
                         "09:30-11:30,16:00-18:00");
    assert_int_equal (esc_settings_windows (&s, "10:00-09:00"), -1);
    assert_int_equal (esc_settings_windows (&s, "25:00-26:00"), -1);
    assert_int_equal (esc_settings_windows (&s, ""), -1);
    assert_int_equal (esc_settings_windows (&s, "10:00-11:00;x"), -1);
    assert_int_equal (s.windows, 2);
    assert_int_equal (esc_settings_windows (&s, "10:00-12:00"), 0);
    assert_int_equal (s.windows, 1);
}

static void
test_names_parse_back (void **state)
{
    (void) state;
    for (int i = 1; i <= 6; i++) {
        assert_int_equal (esc_category_parse (esc_category_name (i)), i);
        assert_int_equal (esc_remedy_parse (esc_remedy_name (i)), i);
        assert_true (*esc_category_first_step (i));
    }
    for (int i = 1; i <= 5; i++)
        assert_int_equal (esc_party_parse (esc_party_name (i)), i);
    assert_int_equal (esc_category_parse ("nonsense"), 0);
    assert_int_equal (esc_action_parse ("approve"), ESC_APPROVE);
    //  A stage's deadline is named by what ends it (kefuctl's --judge-within
    //  ... --close-within); stages without one have no name.
    assert_string_equal (esc_deadline_name (ESC_DEADLINE_FIRST), "judge");
    assert_string_equal (esc_deadline_name (KEFU__V1__COMPLAINT_STAGE__COMPLAINT_APPROVED),
                         "carry_out");
    assert_string_equal (esc_deadline_name (ESC_DEADLINE_LAST), "close");
    assert_string_equal (esc_deadline_name (KEFU__V1__COMPLAINT_STAGE__COMPLAINT_CLOSED), "");
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_every_move_from_every_stage_is_allowed_or_refused_by_the_workflow),
        cmocka_unit_test (test_a_complaint_judged_not_valid_closes_with_its_reason),
        cmocka_unit_test (test_approve_before_propose_names_the_stage_and_what_is_missing),
        cmocka_unit_test (test_a_remedy_without_a_responsible_party_is_refused),
        cmocka_unit_test (test_a_service_complaint_names_the_agent),
        cmocka_unit_test (test_a_service_complaint_is_a_finding_against_its_agent),
        cmocka_unit_test (test_an_approval_by_a_non_supervisor_is_refused),
        cmocka_unit_test (test_a_remedy_within_the_limit_needs_no_approval),
        cmocka_unit_test (test_close_before_revisit_is_refused),
        cmocka_unit_test (test_only_carrying_out_a_remedy_with_money_is_a_ledger_entry),
        cmocka_unit_test (test_the_revisit_is_due_within_three_days_of_carrying_out),
        cmocka_unit_test (test_a_passed_deadline_raises_one_level_once_per_level),
        cmocka_unit_test (test_the_ladder_is_chat_then_sms_then_phone_in_a_calling_window),
        cmocka_unit_test (test_a_phone_call_due_at_23_00_waits_for_09_30),
        cmocka_unit_test (test_an_sms_delay_of_zero_sends_it_with_the_chat_message),
        cmocka_unit_test (test_a_message_from_the_buyer_stops_the_ladder),
        cmocka_unit_test (test_calling_windows_parse_and_refuse_nonsense),
        cmocka_unit_test (test_names_parse_back),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
