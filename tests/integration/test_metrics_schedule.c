/*  test_metrics_schedule — service hours keep their history.

    接线率 counts the conversations opened during service hours; routing
    decides "after hours" (no shift on) when it queues a conversation and
    says so on conversation.queued, and metrics counts that flag. A month
    runs through real intake, routing and metrics (in-process, one driven
    clock); the shop then changes its shift times with kefuctl. Last
    month's numbers must not move, a rebuild from the event log must give
    the same, and the record must say which shift times were in force then
    (shift_history): recomputed from the shifts as they are now, the
    after-hours conversation would no longer be one. */
#include "kefu/v1/gateway.pb-c.h"
#include "kf_clock.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_metrics.h"
#include "kt_routing.h"

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
    char *db;             //  conninfo
    kf_clock_t *clock;    //  shared driven clock
    kt_intake_t *intake;  //  intake (in-process)
    kt_routing_t routing; //  routing (in-process)
    kt_metrics_t metrics; //  metrics (in-process)
    zsock_t *gw;          //  the gateway (raw)
    int seq;              //  item ids
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("metrics_schedule");
    kt_shop_add (f->db, SHOP);
    //  Set up on 2026-11-01: the day shift 09:00-18:00 (Shanghai).
    kt_routing_setup (f->db, SHOP, "presales=售前", "day=540-1080",
                      (kt_agent_t[]){{"xiaomei", "小美", 3, "presales", "day"}, {0}},
                      "2026-11-01T00:00:00Z");
    //  Tuesday 2026-11-10, 08:00 in Shanghai.
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-10T00:00:00Z"));
    f->intake = kt_intake_new (f->db, f->clock);
    kt_intake_start (f->intake);
    kt_routing_start (&f->routing, f->db, f->intake->events_endpoint, f->intake->command_endpoint,
                      f->clock);
    char routing_events[64];
    snprintf (routing_events, sizeof routing_events, "tcp://127.0.0.1:%d",
              kt_routing_port (&f->routing, "events"));
    kt_metrics_init (&f->metrics, f->db, f->intake->events_endpoint, routing_events);
    kt_metrics_start (&f->metrics, f->clock);
    bool welcomed = false;
    f->gw = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    zsock_destroy (&f->gw);
    kt_metrics_stop (&f->metrics);
    kt_metrics_free (&f->metrics);
    kt_routing_stop (&f->routing);
    kt_intake_destroy (&f->intake);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

//  At UTC time `at`: a customer message (agent NULL) or an agent's reply,
//  the agent coming online (customer NULL), or only time passing (both
//  NULL); then routing decides (and keeps its shifts on the clock).
static void
s_item (fixture_t *f, const char *at, const char *customer, const char *agent, const char *text)
{
    int64_t when = kf_clock_parse_utc (at);
    assert_int_equal (kf_clock_set (f->clock, when), 0);
    if (!customer && !agent) {
        kt_routing_settle (&f->routing, f->db);
        return;
    }
    char id[32];
    snprintf (id, sizeof id, "it-%d", ++f->seq);
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    Kefu__V1__AgentReply reply = KEFU__V1__AGENT_REPLY__INIT;
    Kefu__V1__AgentPresence presence = KEFU__V1__AGENT_PRESENCE__INIT;
    if (!customer) {
        presence.agent_id = kt_text (agent);
        presence.status = KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE;
        presence.handover_note = kt_text ("");
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
        item.agent_presence = &presence;
    } else if (!agent) {
        msg.customer_id = kt_text (customer);
        msg.body = kt_text (text);
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
        item.customer_message = &msg;
    } else {
        reply.customer_id = kt_text (customer);
        reply.agent_id = kt_text (agent);
        reply.body = kt_text (text);
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
        item.agent_reply = &reply;
    }
    item.shop_id = kt_text (SHOP);
    item.gateway_msg_id = kt_text (id);
    item.sent_at_ms = when;
    item.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    kt_gw_push (f->gw, &item);
    kt_routing_settle (&f->routing, f->db);
}

//  November's 接线率 as metrics answers it: customer-opened, after hours,
//  answered.
static void
s_expect_november (fixture_t *f)
{
    json_t *a = kt_metrics_json (f->metrics.query, "kpi.summary", SHOP, 0, 0, NULL,
                                 "{\"from\": \"2026-11-01\", \"to\": \"2026-11-30\"}");
    assert_int_equal (kt_json_num (a, "total.conversations.customer_opened"), 2);
    assert_int_equal (kt_json_num (a, "total.conversations.after_hours"), 1);
    assert_int_equal (kt_json_num (a, "total.conversations.answered"), 1);
    assert_true (fabs (kt_json_num (a, "total.conversations.answer_rate") - 1.0) < 1e-9);
    json_decref (a);
}

//  Customer-opened conversations whose first message came while no shift
//  was on, by the shift times in force then (history) or now (shifts).
#define S_AFTER_HOURS(shifts_in_force)                                                             \
    "SELECT count (*) FROM (SELECT DISTINCT ON (conversation_id) received_at AS t "                \
    "  FROM messages WHERE shop_id = 'demo-shop' AND kind = 1 "                                    \
    "  ORDER BY conversation_id, sent_at, message_id) c WHERE NOT EXISTS (SELECT 1 "               \
    "FROM " shifts_in_force " AND extract (hour FROM c.t AT TIME ZONE 'Asia/Shanghai') * 60 + "    \
    "  extract (minute FROM c.t AT TIME ZONE 'Asia/Shanghai') BETWEEN s.start_minute AND "         \
    "  s.end_minute - 1)"
#define S_THEN                                                                                     \
    "shift_history s WHERE s.shop_id = 'demo-shop' AND s.effective_from <= c.t AND "               \
    "(s.effective_to IS NULL OR c.t < s.effective_to)"
#define S_NOW "shifts s WHERE s.shop_id = 'demo-shop'"

static void
test_a_shift_change_today_does_not_rewrite_last_months_answer_rate (void **state)
{
    fixture_t *f = *state;
    //  10:00 a customer in hours, answered; 20:00 one after hours, queued
    //  (routing's after-hours reply), never answered.
    s_item (f, "2026-11-10T01:00:00Z", NULL, "xiaomei", NULL);
    s_item (f, "2026-11-10T02:00:00Z", "tb_day", NULL, "有现货吗");
    s_item (f, "2026-11-10T02:00:30Z", "tb_day", "xiaomei", "有的亲");
    s_item (f, "2026-11-10T10:00:00Z", NULL, NULL, NULL); //  18:00: the shift ends
    s_item (f, "2026-11-10T12:00:00Z", "tb_night", NULL, "在吗");
    kt_metrics_settle (&f->metrics, f->db);
    s_expect_november (f);

    //  Monday 2026-12-07 10:00: the day shift becomes 08:00-22:00.
    assert_int_equal (kf_clock_set (f->clock, kf_clock_parse_utc ("2026-12-07T02:00:00Z")), 0);
    KT_EXPECT (f->db, 0, "KEFU_CLOCK=manual:2026-12-07T02:00:00Z", "shift", "set", SHOP, "day",
               "--start", "08:00", "--end", "22:00");
    kt_routing_settle (&f->routing, f->db);
    kt_metrics_settle (&f->metrics, f->db);
    s_expect_november (f);
    //  A rebuild from the event log: the same numbers.
    char *reply = kt_metrics_command (&f->metrics, "REBUILD");
    assert_string_equal (reply, "OK");
    free (reply);
    kt_metrics_settle (&f->metrics, f->db);
    s_expect_november (f);

    //  The record says which shift times were in force on 2026-11-10 ...
    assert_int_equal (kt_db_count (f->db, "SELECT count (*) FROM shift_history WHERE "
                                          "shop_id = 'demo-shop' AND shift_name = 'day'"),
                      2);
    assert_int_equal (kt_db_count (f->db, "SELECT start_minute FROM shift_history WHERE "
                                          "effective_to = '2026-12-07T02:00:00Z'"),
                      540);
    assert_int_equal (kt_db_count (f->db, "SELECT end_minute FROM shift_history WHERE "
                                          "effective_from = '2026-12-07T02:00:00Z' AND "
                                          "effective_to IS NULL"),
                      1320);
    //  ... so last month's after-hours conversation is recomputed as one
    //  from them; by today's shift times it would not be.
    assert_int_equal (kt_db_count (f->db, S_AFTER_HOURS (S_THEN)), 1);
    assert_int_equal (kt_db_count (f->db, S_AFTER_HOURS (S_NOW)), 0);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_a_shift_change_today_does_not_rewrite_last_months_answer_rate, s_setup,
            s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
