/*  test_ordersync_day — a shop day with orders, through the real services.

    Intake and kefu-ordersync run in-process on one driven clock (Monday
    2026-11-23, Asia/Shanghai); a gateway pushes chats, order snapshots and
    an agent's flag through intake like any platform connector. The story:
    two buyers talk to two agents, then order; a third orders without
    talking to anyone; a COD order; a paid order nobody ships; a snapshot
    that arrives late. At 16:00 the unpaid orders are reminded (commands
    intake stored), once: not again after a restart of order-sync, nor
    when the feed repeats the order; the paid order not shipped by the
    end of the day is late; the orders are credited to the right agents
    and the one without a conversation to nobody. */
#include "kefu/v1/gateway.pb-c.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_ordersync.h"

#include <jansson.h>

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
//  2026-11-23 08:00 Shanghai; AT (d, hh, mm) local time on day d.
#define DAY0          1795392000000LL
#define AT(d, hh, mm) (DAY0 + (d) *24 * HOUR + ((hh) -8) * HOUR + (mm) *MINUTE)

typedef struct {
    char *db;
    kf_clock_t *clock;
    kt_intake_t *intake;
    kt_ordersync_t ordersync;
    zsock_t *gw;
    int seq; //  gateway message ids
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("ordersync_day");
    kt_shop_add (f->db, SHOP);
    f->clock = kf_clock_new_manual (AT (0, 8, 0));
    f->intake = kt_intake_new (f->db, f->clock);
    kt_intake_start (f->intake);
    kt_ordersync_start (&f->ordersync, f->db, f->intake->events_endpoint,
                        f->intake->command_endpoint, f->clock);
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
    kt_intake_destroy (&f->intake);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

static void
s_at (fixture_t *f, int64_t at)
{
    assert_int_equal (kf_clock_set (f->clock, at), 0);
    kt_ordersync_settle (&f->ordersync, f->db);
}

static void
s_chat (fixture_t *f, const char *customer, const char *agent)
{
    char id[32];
    snprintf (id, sizeof id, "m-%d", ++f->seq);
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, id, customer, "这件有货吗？", kf_clock_now_ms (f->clock));
    kt_gw_push (f->gw, &item);
    snprintf (id, sizeof id, "m-%d", ++f->seq);
    Kefu__V1__AgentReply reply = KEFU__V1__AGENT_REPLY__INIT;
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
    item.agent_reply = &reply;
    item.gateway_msg_id = kt_text (id);
    reply.customer_id = kt_text (customer);
    reply.agent_id = kt_text (agent);
    reply.body = kt_text ("亲，有货的，今天下单今天发");
    kt_gw_push (f->gw, &item);
}

//  An item of the shop's platform chat with the gateway's id, sent now.
static void
s_item (fixture_t *f, Kefu__V1__InboundItem *item, const char *id)
{
    kefu__v1__inbound_item__init (item);
    item->shop_id = kt_text (SHOP);
    item->gateway_msg_id = kt_text (id);
    item->sent_at_ms = kf_clock_now_ms (f->clock);
    item->channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
}

//  Push an order snapshot (the item id is the order and its modification time).
static void
s_order (fixture_t *f, const char *order, const char *customer, int state, int payment,
         int64_t created, int64_t modified)
{
    char id[64];
    snprintf (id, sizeof id, "o-%s-%lld", order, (long long) modified);
    Kefu__V1__InboundItem item;
    Kefu__V1__OrderUpdate u = KEFU__V1__ORDER_UPDATE__INIT;
    s_item (f, &item, id);
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_ORDER_UPDATE;
    item.order_update = &u;
    u.order_id = kt_text (order);
    u.customer_id = kt_text (customer);
    u.state = state;
    u.payment = payment;
    u.amount_cents = 25900;
    u.currency = kt_text ("CNY");
    u.created_at_ms = created;
    u.modified_at_ms = modified;
    if (state >= KEFU__V1__ORDER_STATE__ORDER_PAID &&
        payment == KEFU__V1__PAYMENT_METHOD__PAYMENT_ONLINE)
        u.paid_at_ms = modified;
    u.receiver_address = kt_text ("浙江省杭州市西湖区文三路 100 号");
    u.receiver_phone = kt_text ("13800138000");
    kt_gw_send_item (f->gw, &item);
    Kefu__V1__IntakeFrame *in = kt_gw_recv (f->gw);
    while (in->body_case == KEFU__V1__INTAKE_FRAME__BODY_COMMAND) { //  a notice for us
        kefu__v1__intake_frame__free_unpacked (in, NULL);
        in = kt_gw_recv (f->gw);
    }
    assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
    assert_true (in->ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED ||
                 in->ack->status == KEFU__V1__ACK_STATUS__ACK_DUPLICATE);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
}

static long long
s_count (fixture_t *f, const char *sql)
{
    return kt_db_count (f->db, sql);
}

static char *
s_text (fixture_t *f, const char *sql)
{
    return kt_db_query1 (f->db, sql);
}

enum {
    CREATED = KEFU__V1__ORDER_STATE__ORDER_CREATED,
    PAID = KEFU__V1__ORDER_STATE__ORDER_PAID,
    SHIPPED = KEFU__V1__ORDER_STATE__ORDER_SHIPPED,
    ONLINE = KEFU__V1__PAYMENT_METHOD__PAYMENT_ONLINE,
    COD = KEFU__V1__PAYMENT_METHOD__PAYMENT_CASH_ON_DELIVERY
};

#define REMINDERS                                                                                  \
    "SELECT count(*) FROM outbound_commands WHERE origin = 'ordersync' AND kind = 'reminder'"

//  The red flag an agent sets when the address is confirmed.
static void
s_red_flag (fixture_t *f, const char *id, const char *order, const char *note, const char *agent)
{
    Kefu__V1__InboundItem item;
    Kefu__V1__OrderFlag flag = KEFU__V1__ORDER_FLAG__INIT;
    s_item (f, &item, id);
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_ORDER_FLAG;
    item.order_flag = &flag;
    flag.order_id = kt_text (order);
    flag.colour = KEFU__V1__ORDER_FLAG_COLOUR__ORDER_FLAG_RED;
    flag.meaning = KEFU__V1__ORDER_FLAG_MEANING__ORDER_FLAG_ADDRESS_CONFIRMED;
    flag.note = kt_text (note);
    flag.agent_id = kt_text (agent);
    kt_gw_push (f->gw, &item);
}

static void
test_a_shop_day_with_orders (void **state)
{
    fixture_t *f = *state;
    //  Morning: two buyers talk to two agents.
    s_at (f, AT (0, 9, 0));
    s_chat (f, "tb_anna", "xiaomei");
    s_at (f, AT (0, 9, 30));
    s_chat (f, "tb_bella", "lingling");
    //  They order; a third buyer orders without a word.
    s_at (f, AT (0, 10, 0));
    s_order (f, "TB-A", "tb_anna", CREATED, ONLINE, AT (0, 10, 0), AT (0, 10, 0));
    s_at (f, AT (0, 11, 5));
    s_order (f, "TB-B", "tb_bella", PAID, ONLINE, AT (0, 11, 0), AT (0, 11, 5));
    //  The creation snapshot of TB-B arrives after its payment: refused.
    s_order (f, "TB-B", "tb_bella", CREATED, ONLINE, AT (0, 11, 0), AT (0, 11, 0));
    s_at (f, AT (0, 12, 0));
    s_order (f, "TB-C", "tb_cora", CREATED, ONLINE, AT (0, 12, 0), AT (0, 12, 0));
    s_at (f, AT (0, 13, 0));
    s_order (f, "TB-D", "tb_anna", CREATED, COD, AT (0, 13, 0), AT (0, 13, 0));
    s_at (f, AT (0, 14, 0));
    s_order (f, "TB-E", "tb_cora", PAID, ONLINE, AT (0, 13, 50), AT (0, 14, 0));
    //  An agent confirms TB-B's address on the platform: the red flag.
    s_red_flag (f, "flag-1", "TB-B", "发邮政快递", "慧兰");
    s_at (f, AT (0, 14, 1));

    //  The record: five orders, the buyer linked to the customer record.
    assert_int_equal (s_count (f, "SELECT count(*) FROM orders"), 5);
    assert_int_equal (s_count (f, "SELECT count(*) FROM orders o JOIN customer_channels c ON "
                                  "c.shop_id = o.shop_id AND c.customer_id = o.customer_id "
                                  "WHERE c.channel_customer_id = o.channel_customer_id"),
                      5);
    assert_int_equal (s_count (f, "SELECT state FROM orders WHERE order_id = 'TB-B'"), PAID);
    assert_int_equal (s_count (f, "SELECT count(*) FROM order_refused WHERE order_id = 'TB-B' "
                                  "AND reason = 'stale'"),
                      1);
    //  Attribution: the agent who last replied, nobody without a conversation.
    char *a = s_text (f, "SELECT credited_agent FROM orders WHERE order_id = 'TB-A'");
    char *b = s_text (f, "SELECT credited_agent FROM orders WHERE order_id = 'TB-B'");
    char *c = s_text (f, "SELECT coalesce (credited_agent, 'nobody') FROM orders "
                         "WHERE order_id = 'TB-C'");
    assert_string_equal (a, "xiaomei");
    assert_string_equal (b, "lingling");
    assert_string_equal (c, "nobody");
    free (a), free (b), free (c);
    assert_int_equal (s_count (f, "SELECT count(*) FROM orders WHERE order_id = 'TB-A' AND "
                                  "credit_rule = 'last_reply_within_window' AND "
                                  "credit_window_s = 86400 AND credited_conversation > 0"),
                      1);
    //  The address confirmation with its note; the COD order the task of its agent.
    char *note = s_text (f, "SELECT address_note FROM orders WHERE order_id = 'TB-B'");
    assert_string_equal (note, "发邮政快递 _ 慧兰");
    free (note);
    //  No routing runs in this story, so nobody is on shift: the COD group
    //  (test_ordersync_shifts has the agent on shift).
    char *owner = s_text (f, "SELECT task_owner FROM orders WHERE order_id = 'TB-D'");
    assert_string_equal (owner, "presales");
    free (owner);
    assert_int_equal (s_count (f, "SELECT count(*) FROM outbound_commands WHERE origin = "
                                  "'ordersync' AND kind = 'notice'"),
                      1);
    assert_int_equal (s_count (f, REMINDERS), 0);

    //  The warehouse ships TB-B.
    s_at (f, AT (0, 15, 0));
    s_order (f, "TB-B", "tb_bella", SHIPPED, ONLINE, AT (0, 11, 0), AT (0, 15, 0));

    //  16:00: TB-A and TB-C (unpaid, online) are reminded; not TB-D (COD).
    s_at (f, AT (0, 15, 59));
    assert_int_equal (s_count (f, REMINDERS), 0);
    s_at (f, AT (0, 16, 0));
    assert_int_equal (s_count (f, REMINDERS), 2);
    assert_int_equal (s_count (f, "SELECT count(*) FROM orders WHERE reminded_at IS NOT NULL"), 2);
    assert_int_equal (s_count (f, "SELECT count(*) FROM order_flags WHERE flag = 'blue'"), 2);
    //  The feed repeats TB-A, order-sync restarts: no second reminder.
    s_order (f, "TB-A", "tb_anna", CREATED, ONLINE, AT (0, 10, 0), AT (0, 16, 10));
    kt_ordersync_stop (&f->ordersync);
    kt_ordersync_start (&f->ordersync, f->db, f->intake->events_endpoint,
                        f->intake->command_endpoint, f->clock);
    s_at (f, AT (0, 16, 30));
    assert_int_equal (s_count (f, REMINDERS), 2);
    assert_int_equal (s_count (f, "SELECT count(*) FROM ordersync_outbox"), 0);

    //  Midnight: TB-E, paid before the cutoff and not shipped, is late.
    s_at (f, AT (1, 0, 0));
    assert_int_equal (s_count (f, "SELECT count(*) FROM orders WHERE late_at IS NOT NULL"), 1);
    assert_int_equal (s_count (f, "SELECT count(*) FROM orders WHERE order_id = 'TB-E' AND "
                                  "late_at IS NOT NULL"),
                      1);
    //  Events for metrics on stream "ordersync".
    assert_int_equal (s_count (f, "SELECT count(*) FROM events WHERE stream = 'ordersync' AND "
                                  "kind = 'order.credited'"),
                      3); //  TB-A, TB-B and TB-D (tb_anna's COD order, xiaomei's too)
    assert_int_equal (s_count (f, "SELECT count(*) FROM events WHERE stream = 'ordersync' AND "
                                  "kind = 'order.flagged' AND position ('late' IN "
                                  "encode (payload, 'escape')) > 0"),
                      1);
}

static json_t *
s_kefuctl_json (void)
{
    json_error_t jerr;
    json_t *j = json_loads (kt_kefuctl_last.out, 0, &jerr);
    if (!j)
        fail_msg ("not JSON (%s): %s", jerr.text, kt_kefuctl_last.out);
    return j;
}

static const char *
s_member (json_t *o, const char *key)
{
    const char *v = json_string_value (json_object_get (o, key));
    return v ? v : "(missing)";
}

static void
test_orders_show_tells_history_tasks_and_credit (void **state)
{
    fixture_t *f = *state;
    s_at (f, AT (0, 9, 30));
    s_chat (f, "tb_bella", "lingling");
    s_at (f, AT (0, 11, 5));
    s_order (f, "TB-B", "tb_bella", PAID, ONLINE, AT (0, 11, 0), AT (0, 11, 5));
    s_order (f, "TB-B", "tb_bella", CREATED, ONLINE, AT (0, 11, 0), AT (0, 11, 0)); //  stale
    s_at (f, AT (0, 14, 0));
    s_red_flag (f, "flag-1", "TB-B", "发邮政快递", "慧兰");
    s_at (f, AT (0, 14, 0)); //  order-sync applies it before the clock moves
    s_at (f, AT (0, 15, 0));
    s_order (f, "TB-B", "tb_bella", SHIPPED, ONLINE, AT (0, 11, 0), AT (0, 15, 0));
    s_at (f, AT (0, 15, 1));

    KT_EXPECT (f->db, 0, "orders", "show", SHOP, "TB-B", "--json");
    json_t *j = s_kefuctl_json ();
    assert_string_equal (s_member (j, "state"), "shipped");
    assert_string_equal (s_member (j, "created"), "2026-11-23 11:00");
    //  Credited, and why: the reply, its conversation, the rule and window.
    json_t *credit = json_object_get (j, "credit");
    assert_string_equal (s_member (credit, "agent"), "lingling");
    assert_string_equal (s_member (credit, "rule"), "last_reply_within_window");
    assert_string_equal (s_member (credit, "reply_at"), "2026-11-23 09:30");
    assert_true (json_integer_value (json_object_get (credit, "conversation")) > 0);
    //  The address task, done, with its note "content _ agent".
    json_t *tasks = json_object_get (j, "tasks");
    assert_int_equal (json_array_size (tasks), 1);
    json_t *task = json_array_get (tasks, 0);
    assert_string_equal (s_member (task, "task"), "address_confirm");
    assert_string_equal (s_member (task, "done"), "2026-11-23 14:00");
    assert_string_equal (s_member (task, "note"), "发邮政快递 _ 慧兰");
    //  The history in time order: the stale snapshot refused, paid, the
    //  task opened, the red flag, shipped.
    json_t *h = json_object_get (j, "history");
    const char *want[][3] = {{"refused", "created", "stale"},
                             {"state", "paid", ""},
                             {"flag", "", "open"},
                             {"flag", "", "发邮政快递 _ 慧兰"},
                             {"state", "shipped", ""}};
    assert_int_equal (json_array_size (h), 5);
    for (size_t i = 0; i < 5; i++) {
        json_t *line = json_array_get (h, i);
        assert_string_equal (s_member (line, "what"), want[i][0]);
        assert_string_equal (s_member (line, "state"), want[i][1]);
        assert_string_equal (s_member (line, "note"), want[i][2]);
    }
    assert_string_equal (s_member (json_array_get (h, 3), "flag"), "red");
    assert_string_equal (s_member (json_array_get (h, 4), "previous"), "paid");
    json_decref (j);

    //  For people: the same, and the credit in one line.
    KT_EXPECT (f->db, 0, "orders", "show", SHOP, "TB-B");
    assert_non_null (strstr (kt_kefuctl_last.out, "credited   lingling (conversation "));
    assert_non_null (strstr (kt_kefuctl_last.out, "rule last_reply_within_window"));
    assert_non_null (strstr (kt_kefuctl_last.out, "发邮政快递 _ 慧兰"));
    //  An order the shop does not have; a bad id.
    KT_EXPECT (f->db, 4, "orders", "show", SHOP, "TB-NONE");
    assert_non_null (strstr (kt_kefuctl_last.err, "no order TB-NONE"));
    KT_EXPECT (f->db, 2, "orders", "show", SHOP, "TB\x01");
}

static void
test_orders_list_filters_by_state_unpaid_late_and_customer (void **state)
{
    fixture_t *f = *state;
    s_at (f, AT (0, 10, 0));
    s_order (f, "L-1", "tb_anna", CREATED, ONLINE, AT (0, 10, 0), AT (0, 10, 0));
    s_order (f, "L-2", "tb_anna", CREATED, COD, AT (0, 10, 0), AT (0, 10, 0));
    s_order (f, "L-3", "tb_cora", PAID, ONLINE, AT (0, 9, 0), AT (0, 10, 0));
    s_order (f, "L-4", "tb_cora", PAID, ONLINE, AT (0, 9, 30), AT (0, 10, 0));
    s_at (f, AT (0, 12, 0));
    s_order (f, "L-4", "tb_cora", SHIPPED, ONLINE, AT (0, 9, 30), AT (0, 12, 0));
    s_at (f, AT (0, 12, 0)); //  applied before the clock moves on
    s_at (f, AT (1, 0, 0));  //  L-3 is late
    struct {
        const char *opt, *value, *want;
    } cases[] = {{"--unpaid", NULL, "L-1"},             //  online and unpaid: not the COD one
                 {"--late", NULL, "L-3"},               //  paid, not shipped by midnight
                 {"--state", "paid", "L-3"},            //
                 {"--state", "shipped", "L-4"},         //
                 {"--customer", "tb_anna", "L-1 L-2"}}; //  newest first, then by id
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].value)
            KT_EXPECT (f->db, 0, "orders", "list", SHOP, cases[i].opt, cases[i].value, "--json");
        else
            KT_EXPECT (f->db, 0, "orders", "list", SHOP, cases[i].opt, "--json");
        json_t *rows = s_kefuctl_json ();
        char got[64] = "";
        size_t k;
        json_t *row;
        json_array_foreach (rows, k, row)
        {
            snprintf (got + strlen (got), sizeof got - strlen (got), "%s%s", k ? " " : "",
                      s_member (row, "order_id"));
        }
        json_decref (rows);
        if (strcmp (got, cases[i].want) != 0)
            fail_msg ("%s %s: got \"%s\", want \"%s\"", cases[i].opt,
                      cases[i].value ? cases[i].value : "", got, cases[i].want);
    }
    KT_EXPECT (f->db, 2, "orders", "list", SHOP, "--state", "lost");
}

static void
test_a_settled_order_is_read_back_from_the_record_for_a_late_snapshot (void **state)
{
    fixture_t *f = *state;
    s_at (f, AT (0, 10, 0));
    s_order (f, "TB-Z", "tb_zoe", PAID, ONLINE, AT (0, 9, 0), AT (0, 10, 0));
    s_at (f, AT (0, 12, 0));
    s_order (f, "TB-Z", "tb_zoe", KEFU__V1__ORDER_STATE__ORDER_DELIVERED, ONLINE, AT (0, 9, 0),
             AT (0, 12, 0));
    s_at (f, AT (0, 12, 0)); //  delivered: order-sync keeps it in the record only
    //  The paid snapshot again, late: compared with the row, refused.
    s_order (f, "TB-Z", "tb_zoe", SHIPPED, ONLINE, AT (0, 9, 0), AT (0, 11, 0));
    s_at (f, AT (0, 12, 1));
    assert_int_equal (s_count (f, "SELECT state FROM orders WHERE order_id = 'TB-Z'"),
                      KEFU__V1__ORDER_STATE__ORDER_DELIVERED);
    assert_int_equal (s_count (f, "SELECT count(*) FROM order_refused WHERE order_id = 'TB-Z' "
                                  "AND reason = 'stale'"),
                      1);
    assert_int_equal (s_count (f, "SELECT count(*) FROM events WHERE stream = 'ordersync' AND "
                                  "kind = 'order.created'"),
                      1);
}

//  Several orders memory let go of, named in one batch of events (two late
//  snapshots and a flag): each is read back and judged against its row.
static void
test_a_batch_naming_settled_orders_reads_each_back (void **state)
{
    fixture_t *f = *state;
    s_at (f, AT (0, 10, 0));
    s_order (f, "TB-X", "tb_xia", PAID, ONLINE, AT (0, 9, 0), AT (0, 10, 0));
    s_order (f, "TB-Y", "tb_yan", PAID, ONLINE, AT (0, 9, 0), AT (0, 10, 0));
    s_at (f, AT (0, 12, 0));
    s_order (f, "TB-X", "tb_xia", KEFU__V1__ORDER_STATE__ORDER_DELIVERED, ONLINE, AT (0, 9, 0),
             AT (0, 12, 0));
    s_order (f, "TB-Y", "tb_yan", KEFU__V1__ORDER_STATE__ORDER_DELIVERED, ONLINE, AT (0, 9, 0),
             AT (0, 12, 0));
    s_at (f, AT (0, 12, 0)); //  both delivered: in the record only
    s_order (f, "TB-X", "tb_xia", SHIPPED, ONLINE, AT (0, 9, 0), AT (0, 11, 0));
    s_order (f, "TB-Y", "tb_yan", SHIPPED, ONLINE, AT (0, 9, 0), AT (0, 11, 0));
    s_red_flag (f, "f-x", "TB-X", "顺丰", "xiaomei");
    s_at (f, AT (0, 12, 1));
    assert_int_equal (s_count (f, "SELECT count(*) FROM orders WHERE order_id IN ('TB-X', 'TB-Y') "
                                  "AND state = 4"),
                      2);
    assert_int_equal (s_count (f, "SELECT count(*) FROM order_refused WHERE reason = 'stale' "
                                  "AND order_id IN ('TB-X', 'TB-Y')"),
                      2);
    char *note = s_text (f, "SELECT address_note FROM orders WHERE order_id = 'TB-X'");
    assert_string_equal (note, "顺丰 _ xiaomei");
    free (note);
    assert_int_equal (s_count (f, "SELECT count(*) FROM events WHERE stream = 'ordersync' AND "
                                  "kind = 'order.created'"),
                      2);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_a_shop_day_with_orders, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_orders_show_tells_history_tasks_and_credit, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_orders_list_filters_by_state_unpaid_late_and_customer,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_batch_naming_settled_orders_reads_each_back,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_settled_order_is_read_back_from_the_record_for_a_late_snapshot, s_setup,
            s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
