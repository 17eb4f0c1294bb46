/*  test_metrics_desk — the rules that turn order-sync's and
    complaint-escalation's events into the desk's rows (metrics_desk.h),
    one test per rule. */
#include "kefu/v1/complaints.pb-c.h"
#include "kefu/v1/orders.pb-c.h"
#include "metrics_desk.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#define AT 1796054400000LL

static Kefu__V1__OrderEvent
s_order (int state, const char *agent, const char *flag, const char *task)
{
    Kefu__V1__OrderEvent o = KEFU__V1__ORDER_EVENT__INIT;
    o.order_id = "D1";
    o.state = state;
    o.agent_id = (char *) agent;
    o.flag = (char *) flag;
    o.task = (char *) task;
    o.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    o.channel_customer_id = "tb_buyer";
    o.at_ms = AT;
    return o;
}

static void
test_only_order_credited_names_the_credited_agent (void **state)
{
    (void) state;
    char customer[64];
    metrics_desk_order_t c;
    Kefu__V1__OrderEvent o = s_order (KEFU__V1__ORDER_STATE__ORDER_CREATED, "xiaomei", "", "");
    assert_true (metrics_desk_order_change ("order.created", &o, 0, customer, sizeof customer, &c));
    assert_null (c.agent_id);
    assert_int_equal (c.created_ms, AT);
    assert_string_equal (c.customer, "1:tb_buyer");
    assert_true (
        metrics_desk_order_change ("order.credited", &o, 0, customer, sizeof customer, &c));
    assert_string_equal (c.agent_id, "xiaomei");
    assert_int_equal (c.created_ms, 0);
}

static void
test_a_shipped_state_pays_and_ships_a_closed_one_cancels (void **state)
{
    (void) state;
    char customer[64];
    metrics_desk_order_t c;
    Kefu__V1__OrderEvent o = s_order (KEFU__V1__ORDER_STATE__ORDER_DELIVERED, "", "", "");
    metrics_desk_order_change ("order.delivered", &o, 0, customer, sizeof customer, &c);
    assert_int_equal (c.paid_ms, AT);
    assert_int_equal (c.shipped_ms, AT);
    assert_false (c.cancelled);
    o.state = KEFU__V1__ORDER_STATE__ORDER_CLOSED;
    metrics_desk_order_change ("order.closed", &o, 0, customer, sizeof customer, &c);
    assert_true (c.cancelled);
    assert_int_equal (c.paid_ms, 0);
}

static void
test_late_and_reminder_flags_are_told_apart_from_other_flags (void **state)
{
    (void) state;
    char customer[64];
    metrics_desk_order_t c;
    Kefu__V1__OrderEvent o =
        s_order (KEFU__V1__ORDER_STATE__ORDER_PAID, "", "late", "shipping_delay");
    metrics_desk_order_change ("order.flagged", &o, 0, customer, sizeof customer, &c);
    assert_int_equal (c.late_ms, AT);
    o = s_order (KEFU__V1__ORDER_STATE__ORDER_SHIPPED, "", "stalled", "shipping_delay");
    metrics_desk_order_change ("order.flagged", &o, 0, customer, sizeof customer, &c);
    assert_int_equal (c.late_ms, 0); //  stalled is not late
    o = s_order (KEFU__V1__ORDER_STATE__ORDER_CREATED, "", "blue", "unpaid_reminder");
    metrics_desk_order_change ("order.flagged", &o, 0, customer, sizeof customer, &c);
    assert_int_equal (c.reminded_ms, AT);
    assert_false (c.reminded_by_hand);
    o = s_order (KEFU__V1__ORDER_STATE__ORDER_CREATED, "ajie", "blue", "unpaid_reminder");
    metrics_desk_order_change ("order.flagged", &o, 0, customer, sizeof customer, &c);
    assert_true (c.reminded_by_hand);
    o.order_id = "";
    assert_false (
        metrics_desk_order_change ("order.flagged", &o, 0, customer, sizeof customer, &c));
}

static Kefu__V1__ComplaintEvent
s_case (int stage, int remedy, int64_t cents, bool review, int step)
{
    Kefu__V1__ComplaintEvent c = KEFU__V1__COMPLAINT_EVENT__INIT;
    c.complaint_id = 7;
    c.stage = stage;
    c.remedy = remedy;
    c.amount_cents = cents;
    c.negative_review = review;
    c.contact_step = step;
    c.at_ms = AT;
    return c;
}

static void
test_a_remedy_carried_out_counts_the_money_it_moves (void **state)
{
    (void) state;
    metrics_desk_case_t out;
    Kefu__V1__ComplaintEvent c = s_case (KEFU__V1__COMPLAINT_STAGE__COMPLAINT_CARRIED_OUT,
                                         KEFU__V1__REMEDY__REMEDY_CASH, 5000, false, 0);
    assert_true (metrics_desk_case_change ("complaint.stage", &c, 0, &out));
    assert_int_equal (out.carried_ms, AT);
    assert_int_equal (out.compensation_cents, 5000);
    c.remedy = KEFU__V1__REMEDY__REMEDY_APOLOGY;
    metrics_desk_case_change ("complaint.stage", &c, 0, &out);
    assert_int_equal (out.compensation_cents, 0);
    //  A deadline event in that stage is no second carrying out.
    metrics_desk_case_change ("complaint.deadline_passed", &c, 0, &out);
    assert_int_equal (out.carried_ms, 0);
    assert_int_equal (out.overdue_ms, AT);
}

static void
test_a_review_is_overdue_at_the_phone_and_closed_when_resolved (void **state)
{
    (void) state;
    metrics_desk_case_t out;
    Kefu__V1__ComplaintEvent c = s_case (0, 0, 0, true, 2);
    metrics_desk_case_change ("review.registered", &c, 0, &out);
    assert_true (out.review);
    assert_int_equal (out.opened_ms, AT);
    metrics_desk_case_change ("review.contact_due", &c, 0, &out);
    assert_int_equal (out.overdue_ms, 0); //  SMS: not yet
    c.contact_step = 3;
    metrics_desk_case_change ("review.contact_due", &c, 0, &out);
    assert_int_equal (out.overdue_ms, AT);
    metrics_desk_case_change ("review.outcome", &c, 0, &out);
    assert_int_equal (out.closed_ms, 0);
    metrics_desk_case_change ("review.resolved", &c, 0, &out);
    assert_int_equal (out.closed_ms, AT);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_only_order_credited_names_the_credited_agent),
        cmocka_unit_test (test_a_shipped_state_pays_and_ships_a_closed_one_cancels),
        cmocka_unit_test (test_late_and_reminder_flags_are_told_apart_from_other_flags),
        cmocka_unit_test (test_a_remedy_carried_out_counts_the_money_it_moves),
        cmocka_unit_test (test_a_review_is_overdue_at_the_phone_and_closed_when_resolved),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
