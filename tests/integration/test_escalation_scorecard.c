/*  test_escalation_scorecard — a service complaint from chat to the agent's
    scorecard, through every real piece: a gateway pushes the buyer's
    message, intake classifies it complaint, kefu-escalation registers the
    case, a supervisor judges and investigates it with the real kefuctl
    (responsible party: customer service, the agent concerned ajie, finding
    wrong_explanation), kefu-metrics applies escalation's events, and
    kefuctl scorecard shows ajie's complaints item lowered by exactly the
    scheme's 6 points while xiaomei's stays whole. All in-process on one
    driven clock (demo-shop, Asia/Shanghai, November 2026). */
#include "kt_db.h"
#include "kt_escalation.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_metrics.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP "demo-shop"

typedef struct {
    char *db;             //  conninfo of the fresh database
    kf_clock_t *clock;    //  driven clock, shared by the services and kefuctl
    kt_intake_t *intake;  //  intake (in-process)
    kt_escalation_t esc;  //  escalation (in-process)
    kt_metrics_t metrics; //  metrics (in-process)
    char endpoint[96];    //  KEFU_METRICS_ENDPOINT=... for kefuctl scorecard
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("escalation_scorecard");
    kt_shop_add (f->db, SHOP);
    //  Monday 2026-11-23, 10:00 in Shanghai; kefuctl reads the same time.
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T02:00:00Z"));
    setenv ("KEFU_CLOCK", "manual:2026-11-23T02:00:00Z", 1);
    f->intake = kt_intake_new (f->db, f->clock);
    kt_intake_start (f->intake);
    kt_escalation_start (&f->esc, f->db, f->intake->events_endpoint, f->intake->command_endpoint,
                         f->clock);
    kt_metrics_init (&f->metrics, f->db, f->intake->events_endpoint, "tcp://127.0.0.1:9");
    kt_metrics_start (&f->metrics, f->clock);
    snprintf (f->endpoint, sizeof f->endpoint, "KEFU_METRICS_ENDPOINT=%s", f->metrics.query);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    kt_metrics_stop (&f->metrics);
    kt_metrics_free (&f->metrics);
    kt_escalation_stop (&f->esc);
    kt_intake_destroy (&f->intake);
    kf_clock_destroy (&f->clock);
    unsetenv ("KEFU_CLOCK");
    free (f->db);
    free (f);
    return 0;
}

//  kefuctl scorecard --json for November; the agent's complaints item
//  (borrowed from *card, which the caller decrefs).
static json_t *
s_complaints (fixture_t *f, json_t **card, const char *agent)
{
    kt_escalation_settle (&f->esc, f->db);
    kt_metrics_settle (&f->metrics, f->db);
    KT_EXPECT (f->db, 0, f->endpoint, "scorecard", SHOP, "--month", "2026-11", "--json");
    *card = json_loads (kt_kefuctl_last.out, 0, NULL);
    assert_non_null (*card);
    size_t i;
    json_t *a;
    json_array_foreach (
        json_object_get (*card, "agents"), i,
        a) if (strcmp (json_string_value (json_object_get (a, "agent_id")), agent) ==
               0) return json_object_get (json_object_get (a, "items"), "complaints");
    fail_msg ("%s is not on the scorecard:\n%s", agent, kt_kefuctl_last.out);
    return NULL;
}

static double
s_score (json_t *item)
{
    json_t *score = json_object_get (item, "score");
    if (!json_is_number (score))
        fail_msg ("complaints item without a score");
    return json_number_value (score);
}

static void
test_a_wrong_explanation_found_against_an_agent_costs_exactly_its_points (void **state)
{
    fixture_t *f = *state;
    //  Both agents on the card (their service check entered).
    KT_EXPECT (f->db, 0, "score", "set", SHOP, "ajie", "--month", "2026-11", "--service-check",
               "80");
    KT_EXPECT (f->db, 0, "score", "set", SHOP, "xiaomei", "--month", "2026-11", "--service-check",
               "80");
    //  The buyer complains in chat: intake classifies it, escalation
    //  registers the case.
    bool welcomed = false;
    zsock_t *gw = kt_gw_connect (f->intake->gateway_endpoint, "gw-1", SHOP, &welcomed);
    assert_true (welcomed);
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, "m-1", "tb_lily88", "我要投诉，客服说的根本不对",
                   kf_clock_now_ms (f->clock));
    kt_gw_push (gw, &item);
    zsock_destroy (&gw);
    //  Registered: the shop has complaint data, nobody has lost a point
    //  (the complaints item is the scheme's full 5).
    json_t *card;
    double ajie_before = s_score (s_complaints (f, &card, "ajie"));
    json_decref (card);
    double xiaomei_before = s_score (s_complaints (f, &card, "xiaomei"));
    json_decref (card);
    assert_true (fabs (ajie_before - 5) < 0.005);
    assert_true (fabs (xiaomei_before - 5) < 0.005);
    assert_int_equal (kt_db_count (f->db, "SELECT count (*) FROM escalation_cases WHERE "
                                          "channel_customer_id = 'tb_lily88' AND stage = 1"),
                      1);

    //  Judged valid; customer service is responsible, ajie explained wrongly.
    KT_EXPECT (f->db, 0, "complaint", "judge", SHOP, "1", "--valid");
    KT_EXPECT (f->db, 0, "complaint", "investigate", SHOP, "1", "--responsible", "service",
               "--category", "service", "--agent", "ajie", "--finding", "wrong_explanation");
    json_t *after = s_complaints (f, &card, "ajie");
    //  The scheme's deduction for a wrong explanation: 6 points, exactly.
    assert_true (fabs (s_score (after) - (ajie_before - 6)) < 0.005);
    assert_int_equal (json_integer_value (json_object_get (after, "wrong_explanation")), 1);
    assert_int_equal (json_integer_value (json_object_get (after, "valid")), 0);
    json_decref (card);
    //  The other agent untouched.
    after = s_complaints (f, &card, "xiaomei");
    assert_true (fabs (s_score (after) - xiaomei_before) < 0.005);
    assert_int_equal (json_integer_value (json_object_get (after, "wrong_explanation")), 0);
    json_decref (card);
    //  The table says it too.
    KT_EXPECT (f->db, 0, f->endpoint, "scorecard", SHOP, "--month", "2026-11", "--csv");
    assert_non_null (strstr (kt_kefuctl_last.out, "\najie,"));
    assert_non_null (strstr (kt_kefuctl_last.out, ",-1.00,"));
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_a_wrong_explanation_found_against_an_agent_costs_exactly_its_points, s_setup,
            s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
