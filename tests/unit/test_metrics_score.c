/*  test_metrics_score — the scorecard's rules: what an order or a
    complaint adds to an agent's month, and the card itself. */
#include "kefu/v1/complaints.pb-c.h"
#include "kefu/v1/orders.pb-c.h"
#include "metrics_score.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#define H 3600000LL

static void
test_an_order_counts_for_its_last_credited_agent_once_paid (void **state)
{
    (void) state;
    metrics_order_t o = {"O1", "", 0, 0, false};
    metrics_score_part_t part;
    metrics_order_apply (&o, "order.created", KEFU__V1__ORDER_STATE__ORDER_CREATED, "", 10000,
                         1 * H);
    metrics_order_apply (&o, "order.credited", KEFU__V1__ORDER_STATE__ORDER_CREATED, "xiaomei", 0,
                         1 * H);
    metrics_order_part (&o, &part);
    assert_string_equal (part.agent_id, ""); //  not paid: adds nothing
    metrics_order_apply (&o, "order.paid", KEFU__V1__ORDER_STATE__ORDER_PAID, "", 0, 2 * H + 5);
    metrics_order_part (&o, &part);
    assert_string_equal (part.agent_id, "xiaomei");
    assert_int_equal (part.hour_ms, 2 * H);
    assert_int_equal (part.values[METRICS_SCORE_SALES], 10000);
    assert_int_equal (part.values[METRICS_SCORE_ORDERS], 1);
    //  Credited to someone else later: the same hour, the other agent.
    metrics_order_apply (&o, "order.credited", KEFU__V1__ORDER_STATE__ORDER_PAID, "dawei", 0,
                         5 * H);
    metrics_order_apply (&o, "order.paid", KEFU__V1__ORDER_STATE__ORDER_PAID, "", 0, 6 * H);
    metrics_order_part (&o, &part);
    assert_string_equal (part.agent_id, "dawei");
    assert_int_equal (part.hour_ms, 2 * H);
    //  Refunded: nothing.
    metrics_order_apply (&o, "order.refund", KEFU__V1__ORDER_STATE__ORDER_REFUNDED, "", 0, 7 * H);
    metrics_order_part (&o, &part);
    assert_string_equal (part.agent_id, "");
}

static void
test_a_complaint_finding_can_be_judged_again (void **state)
{
    (void) state;
    metrics_complaint_t c = {7, "", 0, 0};
    metrics_score_part_t part;
    metrics_complaint_apply (&c, KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_UNSPECIFIED, "ajie", H);
    metrics_complaint_part (&c, &part);
    assert_string_equal (part.agent_id, "");
    metrics_complaint_apply (&c, KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_WRONG_EXPLANATION,
                             "ajie", 3 * H);
    metrics_complaint_part (&c, &part);
    assert_string_equal (part.agent_id, "ajie");
    assert_int_equal (part.values[METRICS_SCORE_COMPLAINTS_WRONG], 1);
    metrics_complaint_apply (&c, KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_NONE, "", 4 * H);
    metrics_complaint_part (&c, &part);
    assert_string_equal (part.agent_id, "");
}

static void
test_the_card_says_null_where_kefu_has_no_data (void **state)
{
    (void) state;
    metrics_scheme_t scheme;
    metrics_scheme_default (&scheme);
    assert_true (scheme.weight[METRICS_ITEM_SALES] == 45 && scheme.deduct[0] == 10);
    metrics_score_agent_t agents[2];
    memset (agents, 0, sizeof agents);
    strcpy (agents[0].agent_id, "ajie");
    agents[0].values[METRICS_SCORE_SALES] = 30000;
    agents[0].values[METRICS_SCORE_COMPLAINTS_VALID] = 1;
    agents[0].has_service_check = true;
    agents[0].service_check = 50;
    strcpy (agents[1].agent_id, "xiaomei");
    agents[1].values[METRICS_SCORE_SALES] = 10000;
    metrics_score_sources_t sources = {true, true};
    json_t *root = json_object ();
    metrics_score_card (root, &scheme, &sources, agents, 2, NULL);
    json_t *a = json_array_get (json_object_get (root, "agents"), 0);
    json_t *items = json_object_get (a, "items");
    //  30000 / 20000 x 45 = 67.5; 15 x 50 % = 7.5; 5 - 10 = -5.
    assert_true (
        fabs (json_real_value (json_object_get (json_object_get (items, "sales"), "score")) -
              67.5) < 1e-9);
    assert_true (fabs (json_number_value (json_object_get (a, "total")) - 70.0) < 1e-9);
    assert_true (
        json_is_null (json_object_get (json_object_get (items, "customer_records"), "score")));
    assert_true (
        json_is_null (json_object_get (json_object_get (items, "key_promotion"), "score")));
    json_decref (root);
    //  One agent's card: the team's average is still everyone's.
    root = json_object ();
    metrics_score_card (root, &scheme, &sources, agents, 2, "xiaomei");
    assert_int_equal (json_array_size (json_object_get (root, "agents")), 1);
    a = json_array_get (json_object_get (root, "agents"), 0);
    //  10000 / 20000 x 45 = 22.5.
    assert_true (fabs (json_real_value (json_object_get (
                           json_object_get (json_object_get (a, "items"), "sales"), "score")) -
                       22.5) < 1e-9);
    json_decref (root);
    //  Without order-sync's events: sales is null, not 0.
    sources.orders = false;
    root = json_object ();
    metrics_score_card (root, &scheme, &sources, agents, 2, NULL);
    a = json_array_get (json_object_get (root, "agents"), 1);
    assert_true (json_is_null (
        json_object_get (json_object_get (json_object_get (a, "items"), "sales"), "score")));
    assert_true (json_is_null (json_object_get (json_object_get (root, "team"), "sales_cents")));
    json_decref (root);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_an_order_counts_for_its_last_credited_agent_once_paid),
        cmocka_unit_test (test_a_complaint_finding_can_be_judged_again),
        cmocka_unit_test (test_the_card_says_null_where_kefu_has_no_data),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
