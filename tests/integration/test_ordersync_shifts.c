/*  test_ordersync_shifts — a COD confirmation goes to the agent who served
    the buyer while routing has that agent on shift.

    Intake, routing and kefu-ordersync run in-process on one driven clock
    (Monday 2026-11-23, Asia/Shanghai). xiaomei works the day shift
    (08:30-17:30). Order-sync hears who is on shift only from routing's
    events (agent.shift on stream "routing"), never from routing's tables:
    a COD order at 10:00 is xiaomei's task, one at 18:00 the pre-sales
    group's; a restart of order-sync remembers it. */
#include "kefu/v1/gateway.pb-c.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_ordersync.h"
#include "kt_routing.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP   "demo-shop"
#define HOUR   (3600 * 1000LL)
#define MINUTE (60 * 1000LL)
//  2026-11-23 08:00 Shanghai; AT (hh, mm) local time that day.
#define DAY0       1795392000000LL
#define AT(hh, mm) (DAY0 + ((hh) -8) * HOUR + (mm) *MINUTE)

typedef struct {
    char *db;
    kf_clock_t *clock;
    kt_intake_t *intake;
    kt_routing_t routing;
    kt_ordersync_t ordersync;
    zsock_t *gw;
} fixture_t;

static void
s_start_ordersync (fixture_t *f)
{
    kt_ordersync_init (&f->ordersync, f->db, f->intake->events_endpoint,
                       f->intake->command_endpoint, f->clock);
    char endpoint[64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d",
              kt_routing_port (&f->routing, "events"));
    free (f->ordersync.config.routing_events);
    f->ordersync.config.routing_events = strdup (endpoint);
    kt_ordersync_run (&f->ordersync);
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("ordersync_shifts");
    kt_shop_add (f->db, SHOP);
    kt_routing_setup (f->db, SHOP, "presales=售前", "day=510-1050",
                      (kt_agent_t[]){{"xiaomei", "小美", 5, "presales", "day"}, {0}}, NULL);
    f->clock = kf_clock_new_manual (AT (8, 0));
    f->intake = kt_intake_new (f->db, f->clock);
    kt_intake_start (f->intake);
    kt_routing_start (&f->routing, f->db, f->intake->events_endpoint, f->intake->command_endpoint,
                      f->clock);
    s_start_ordersync (f);
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
    kt_ordersync_stop (&f->ordersync);
    kt_routing_stop (&f->routing);
    kt_intake_destroy (&f->intake);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

//  Move the clock; routing acts on it (shift boundaries), then order-sync.
static void
s_at (fixture_t *f, int64_t at)
{
    assert_int_equal (kf_clock_set (f->clock, at), 0);
    kt_routing_settle (&f->routing, f->db);
    kt_ordersync_settle (&f->ordersync, f->db);
}

static void
s_item (fixture_t *f, Kefu__V1__InboundItem *item, const char *id)
{
    kefu__v1__inbound_item__init (item);
    item->shop_id = kt_text (SHOP);
    item->gateway_msg_id = kt_text (id);
    item->sent_at_ms = kf_clock_now_ms (f->clock);
    item->channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
}

//  tb_anna asks, xiaomei answers.
static void
s_chat (fixture_t *f)
{
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, "m-1", "tb_anna", "货到付款可以吗？",
                   kf_clock_now_ms (f->clock));
    kt_gw_push (f->gw, &item);
    Kefu__V1__AgentReply reply = KEFU__V1__AGENT_REPLY__INIT;
    s_item (f, &item, "m-2");
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
    item.agent_reply = &reply;
    reply.customer_id = kt_text ("tb_anna");
    reply.agent_id = kt_text ("xiaomei");
    reply.body = kt_text ("可以的亲");
    kt_gw_push (f->gw, &item);
}

//  tb_anna's cash-on-delivery order, created now.
static void
s_cod_order (fixture_t *f, const char *order)
{
    Kefu__V1__InboundItem item;
    Kefu__V1__OrderUpdate u = KEFU__V1__ORDER_UPDATE__INIT;
    s_item (f, &item, order);
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE;
    item.order_update = &u;
    u.order_id = kt_text (order);
    u.customer_id = kt_text ("tb_anna");
    u.state = KEFU__V1__ORDER_STATE__ORDER_CREATED;
    u.payment = KEFU__V1__PAYMENT_METHOD__PAYMENT_CASH_ON_DELIVERY;
    u.amount_cents = 12900;
    u.currency = kt_text ("CNY");
    u.created_at_ms = kf_clock_now_ms (f->clock);
    u.modified_at_ms = u.created_at_ms;
    kt_gw_push (f->gw, &item);
}

static void
s_owner_is (fixture_t *f, const char *order, const char *want)
{
    const char *values[] = {order};
    char *owner =
        kt_db_query1p (f->db, "SELECT task_owner FROM orders WHERE order_id = $1", 1, values);
    assert_string_equal (owner, want);
    free (owner);
}

static void
test_a_cod_order_is_the_task_of_the_agent_routing_has_on_shift (void **state)
{
    fixture_t *f = *state;
    s_at (f, AT (9, 0));
    s_chat (f);
    s_at (f, AT (10, 0));
    s_cod_order (f, "COD-1");
    s_at (f, AT (10, 0));
    s_owner_is (f, "COD-1", "xiaomei");
    //  Routing told it: agent.shift on its stream, kept in order-sync's table.
    assert_true (kt_db_count (f->db, "SELECT count(*) FROM events WHERE stream = 'routing' AND "
                                     "kind = 'agent.shift'") >= 1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM ordersync_agents WHERE agent_id "
                                          "= 'xiaomei' AND on_shift"),
                      1);

    //  17:30 her shift ends: the buyer's next COD order goes to the group,
    //  also after order-sync restarts.
    s_at (f, AT (18, 0));
    kt_ordersync_stop (&f->ordersync);
    s_start_ordersync (f);
    s_cod_order (f, "COD-2");
    s_at (f, AT (18, 1));
    s_owner_is (f, "COD-2", "presales");
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM ordersync_agents WHERE agent_id "
                                          "= 'xiaomei' AND NOT on_shift"),
                      1);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_a_cod_order_is_the_task_of_the_agent_routing_has_on_shift, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
