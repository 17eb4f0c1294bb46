/*  test_routing_flow — routing end to end: gateway -> intake -> events ->
    routing -> commands -> intake -> gateway, on a driven clock shared by
    both services (in-process actors, real sockets, real PostgreSQL).

    It checks that the decisions reach the record (routing_conversations,
    the assignment audit) and the gateway (assign commands, the busy reply
    once), that freed capacity is used at once, that a transfer asked for
    through the admin stream is carried out and recorded, and that after
    routing is stopped and started again (its memory rebuilt from the
    record) nothing is lost and nothing is assigned twice. */
#include "kefu/v1/events.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_log.h"
#include "kf_outbox.h"
#include "kf_shop.h"
#include "kf_store.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_routing.h"

#include <libpq-fe.h>
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
    zsock_t *gw;          //  the gateway (raw)
    int seq;              //  item ids
    zlist_t *early;       //  commands that arrived while waiting for an ack
} fixture_t;

static void
s_sql (const char *db, const char *sql)
{
    PGconn *conn = PQconnectdb (db);
    PGresult *res = PQexec (conn, sql);
    if (PQresultStatus (res) != PGRES_COMMAND_OK && PQresultStatus (res) != PGRES_TUPLES_OK)
        fail_msg ("%s: %s", sql, PQresultErrorMessage (res));
    PQclear (res);
    PQfinish (conn);
}

static void
s_advance (fixture_t *f, int64_t ms)
{
    assert_int_equal (kf_clock_advance (f->clock, ms), 0);
    kt_routing_settle (&f->routing, f->db);
}

static void
s_item (fixture_t *f, Kefu__V1__InboundItem *item)
{
    char id[32];
    snprintf (id, sizeof id, "it-%d", ++f->seq);
    item->shop_id = kt_text (SHOP);
    item->gateway_msg_id = kt_text (id);
    item->sent_at_ms = kf_clock_now_ms (f->clock);
    item->channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    kt_gw_send_item (f->gw, item);
    //  Find the item's ack; commands that arrive meanwhile are kept for
    //  s_collect (routing may already answer an earlier item).
    while (true) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (f->gw);
        if (in->body_case != KEFU__V1__INTAKE_FRAME__BODY_ACK) {
            zlist_append (f->early, in);
            continue;
        }
        assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
        kefu__v1__intake_frame__free_unpacked (in, NULL);
        return;
    }
}

static void
s_customer (fixture_t *f, const char *customer, const char *body)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    msg.customer_id = kt_text (customer);
    msg.body = kt_text (body);
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
    item.customer_message = &msg;
    s_item (f, &item);
}

static void
s_reply (fixture_t *f, const char *customer, const char *agent, const char *body, bool auto_reply)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__AgentReply r = KEFU__V1__AGENT_REPLY__INIT;
    r.customer_id = kt_text (customer);
    r.agent_id = kt_text (agent);
    r.body = kt_text (body);
    r.auto_reply = auto_reply;
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
    item.agent_reply = &r;
    s_item (f, &item);
}

static void
s_presence (fixture_t *f, const char *agent, int status)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__AgentPresence p = KEFU__V1__AGENT_PRESENCE__INIT;
    p.agent_id = kt_text (agent);
    p.status = status;
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
    item.agent_presence = &p;
    s_item (f, &item);
}

static void
s_close (fixture_t *f, const char *customer)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__ConversationClose c = KEFU__V1__CONVERSATION_CLOSE__INIT;
    c.customer_id = kt_text (customer);
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CONVERSATION_CLOSE;
    item.conversation_close = &c;
    s_item (f, &item);
}

//  Collect commands arriving at the gateway for a while; ack each.
typedef struct {
    int assigns;
    int busy;
    int after_hours;
    int notices;
    char last_agent[64];
    char last_notice[512]; //  "<audience>|<text>"
} s_commands_t;

static void
s_collect (fixture_t *f, s_commands_t *out, int quiet_ms)
{
    while (zlist_size (f->early) > 0 || !kt_gw_silent (f->gw, quiet_ms)) {
        Kefu__V1__IntakeFrame *in =
            zlist_size (f->early) > 0 ? zlist_pop (f->early) : kt_gw_recv (f->gw);
        if (in->body_case == KEFU__V1__INTAKE_FRAME__BODY_COMMAND) {
            Kefu__V1__Command *cmd = in->command;
            if (cmd->kind_case == KEFU__V1__COMMAND__KIND_ASSIGN) {
                out->assigns++;
                snprintf (out->last_agent, sizeof out->last_agent, "%.*s",
                          (int) cmd->assign->agent_id.len,
                          (const char *) cmd->assign->agent_id.data);
            } else if (cmd->kind_case == KEFU__V1__COMMAND__KIND_NOTICE) {
                out->notices++;
                snprintf (out->last_notice, sizeof out->last_notice, "%.*s|%.*s",
                          (int) cmd->notice->audience.len,
                          (const char *) cmd->notice->audience.data, (int) cmd->notice->text.len,
                          (const char *) cmd->notice->text.data);
            } else if (cmd->kind_case == KEFU__V1__COMMAND__KIND_AUTO_REPLY) {
                if (cmd->auto_reply->kind == KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_BUSY)
                    out->busy++;
                else
                    out->after_hours++;
            }
            Kefu__V1__CommandAck ack = KEFU__V1__COMMAND_ACK__INIT;
            ack.command_id = cmd->command_id;
            ack.status = KEFU__V1__COMMAND_ACK_STATUS__COMMAND_DELIVERED;
            Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
            frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_COMMAND_ACK;
            frame.command_ack = &ack;
            kt_gw_send (f->gw, &frame);
        }
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->early = zlist_new ();
    f->db = kt_db_fresh ("routing_flow");
    kt_shop_add (f->db, SHOP);
    kt_routing_setup (f->db, SHOP, "presales=售前,aftersales=售后", "day=510-1050,night=1050-1380",
                      (kt_agent_t[]){{"xiaomei", "小美", 1, "presales", "day"},
                                     {"ajie", "阿杰", 1, "aftersales", "day"},
                                     {"lingling", "玲玲", 1, "presales", "day"},
                                     {0}},
                      NULL);
    //  Monday 2026-11-23 09:00 in Shanghai.
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T01:00:00Z"));
    f->intake = kt_intake_new (f->db, f->clock);
    kt_intake_start (f->intake);
    kt_routing_start (&f->routing, f->db, f->intake->events_endpoint, f->intake->command_endpoint,
                      f->clock);
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
    Kefu__V1__IntakeFrame *early;
    while ((early = zlist_pop (f->early)))
        kefu__v1__intake_frame__free_unpacked (early, NULL);
    zlist_destroy (&f->early);
    zsock_destroy (&f->gw);
    if (f->routing.actor)
        kt_routing_stop (&f->routing);
    kt_intake_destroy (&f->intake);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

#define ONLINE KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE

static void
test_assign_queue_free_transfer_restart (void **state)
{
    fixture_t *f = *state;
    s_presence (f, "xiaomei", ONLINE);
    s_presence (f, "ajie", ONLINE);
    kt_routing_settle (&f->routing, f->db);

    //  A pre-sales customer: assigned to xiaomei, the gateway is told.
    s_customer (f, "tb_a", "这件有M码吗？");
    kt_routing_settle (&f->routing, f->db);
    s_commands_t cmds = {0};
    s_collect (f, &cmds, 300);
    assert_int_equal (cmds.assigns, 1);
    assert_string_equal (cmds.last_agent, "xiaomei");
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM routing_conversations WHERE "
                                          "state = 2 AND agent_id = 'xiaomei'"),
                      1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM assignments WHERE reason = 1"), 1);

    //  A second pre-sales customer: xiaomei is full (capacity 1): queued,
    //  one busy reply, even after more messages.
    s_customer (f, "tb_b", "在吗？能便宜点吗");
    s_customer (f, "tb_b", "在吗？？");
    kt_routing_settle (&f->routing, f->db);
    memset (&cmds, 0, sizeof cmds);
    s_collect (f, &cmds, 300);
    assert_int_equal (cmds.assigns, 0);
    assert_int_equal (cmds.busy, 1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM routing_conversations WHERE "
                                          "state = 1"),
                      1);

    //  The first conversation closes: the waiting one goes to xiaomei at once.
    s_close (f, "tb_a");
    kt_routing_settle (&f->routing, f->db);
    memset (&cmds, 0, sizeof cmds);
    s_collect (f, &cmds, 300);
    assert_int_equal (cmds.assigns, 1);
    assert_string_equal (cmds.last_agent, "xiaomei");
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM assignments WHERE reason = 3"), 1);
    //  Routing's record holds open conversations only: the closed one's row
    //  is gone, the other is xiaomei's now.
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM routing_conversations r JOIN "
                                          "conversations c USING (shop_id, conversation_id) "
                                          "WHERE c.closed_at IS NOT NULL"),
                      0);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM routing_conversations WHERE "
                                          "state = 2 AND agent_id = 'xiaomei'"),
                      1);

    //  lingling comes online; a supervisor transfers tb_b's conversation to
    //  her (the admin stream, as kefuctl transfer writes it).
    s_presence (f, "lingling", ONLINE);
    kt_routing_settle (&f->routing, f->db);
    long long conv = kt_db_count (f->db, "SELECT conversation_id FROM routing_conversations "
                                         "WHERE state = 2 AND agent_id = 'xiaomei'");
    kf_store_t *store = kf_store_new (f->db, "test-admin");
    assert_int_equal (kf_store_connect (store), 0);
    kf_outbox_t *admin = kf_outbox_new ("admin", store);
    kf_error_t err;
    assert_int_equal (kf_store_begin (store, &err), 0);
    Kefu__V1__TransferRequested tr = KEFU__V1__TRANSFER_REQUESTED__INIT;
    tr.conversation_id = conv;
    tr.to_agent_id = "lingling";
    tr.by = "supervisor-li";
    tr.reason = "客户点名要玲玲";
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.shop_id = SHOP;
    ev.kind = "transfer.requested";
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_TRANSFER_REQUESTED;
    ev.transfer_requested = &tr;
    assert_int_equal (kf_outbox_add (admin, &ev), 0);
    assert_int_equal (kf_outbox_flush (admin, &err), 0);
    assert_int_equal (kf_store_commit (store, &err), 0);
    kf_outbox_publish (admin);
    kf_outbox_destroy (&admin);
    kf_store_destroy (&store);
    kt_routing_settle (&f->routing, f->db);
    memset (&cmds, 0, sizeof cmds);
    s_collect (f, &cmds, 300);
    assert_int_equal (cmds.assigns, 1);
    assert_string_equal (cmds.last_agent, "lingling");
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM assignments WHERE reason = 7 AND "
                                          "by_whom = 'supervisor-li' AND note = '客户点名要玲玲' "
                                          "AND previous_agent_id = 'xiaomei'"),
                      1);

    //  Stop routing; meanwhile two customers arrive. Started again, it
    //  rebuilds from the record and the events it missed: both are routed,
    //  nobody twice, capacity respected.
    kt_routing_stop (&f->routing);
    s_customer (f, "tb_c", "有货吗");   //  xiaomei is free again
    s_customer (f, "tb_d", "我要退货"); //  after-sales: ajie
    kt_routing_start (&f->routing, f->db, f->intake->events_endpoint, f->intake->command_endpoint,
                      f->clock);
    kt_routing_settle (&f->routing, f->db);
    memset (&cmds, 0, sizeof cmds);
    s_collect (f, &cmds, 500);
    assert_int_equal (cmds.assigns, 2);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM routing_conversations WHERE "
                                          "state = 2"),
                      3);
    //  No conversation has two first assignments; no agent over capacity.
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM (SELECT conversation_id FROM "
                                          "assignments WHERE reason IN (1, 2, 3, 8) GROUP BY "
                                          "conversation_id HAVING count(*) > 1) t"),
                      0);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM (SELECT agent_id FROM "
                                          "routing_conversations WHERE state = 2 GROUP BY "
                                          "agent_id HAVING count(*) > 1) t"),
                      0);
    //  Every command routing issued was acknowledged by intake.
    s_advance (f, 0);
    int64_t deadline = zclock_mono () + 10000;
    //  routing_outbox keeps only unacknowledged commands.
    while (kt_db_count (f->db, "SELECT count(*) FROM routing_outbox") > 0 &&
           zclock_mono () < deadline)
        zclock_sleep (20);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM routing_outbox"), 0);
    //  Every assignment reached intake as exactly one assign command.
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM assignments"),
                      kt_db_count (f->db, "SELECT count(*) FROM outbound_commands WHERE origin "
                                          "= 'routing' AND kind = 'assign'"));
}

//  The response clock on the shared driven clock: 31 s without an answer
//  is a breach, published as an event.
static void
test_sla_breach_event (void **state)
{
    fixture_t *f = *state;
    s_presence (f, "xiaomei", ONLINE);
    s_customer (f, "tb_sla", "在吗");
    kt_routing_settle (&f->routing, f->db);
    s_customer (f, "tb_sla", "人呢？");
    kt_routing_settle (&f->routing, f->db);
    s_advance (f, 29000);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM events WHERE kind = "
                                          "'conversation.sla_breached'"),
                      0);
    s_advance (f, 2000);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM events WHERE kind = "
                                          "'conversation.sla_breached'"),
                      1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM routing_conversations WHERE "
                                          "sla_breached"),
                      1);
}

//  Routing keeps the response clock in its own rows and rebuilds it from
//  them alone: it restarts and runs while intake's messages are out of its
//  reach.
//  An answered customer stays answered (no false breach), an unanswered
//  one breaches on time even though the platform's auto-responder
//  replied, and the gateway gets no assign command twice (the restart
//  hands the decisions in force to intake again, which knows them).
static void
test_response_clock_after_restart (void **state)
{
    fixture_t *f = *state;
    s_presence (f, "xiaomei", ONLINE);
    s_presence (f, "lingling", ONLINE);
    s_customer (f, "tb_c", "这件有M码吗？");
    s_customer (f, "tb_d", "能便宜点吗");
    kt_routing_settle (&f->routing, f->db);
    s_commands_t cmds = {0};
    s_collect (f, &cmds, 300);
    assert_int_equal (cmds.assigns, 2);
    bool c_to_xiaomei = kt_db_count (f->db, "SELECT count(*) FROM routing_conversations r JOIN "
                                            "customer_channels c USING (shop_id, customer_id) "
                                            "WHERE c.channel_customer_id = 'tb_c' AND "
                                            "r.agent_id = 'xiaomei'") == 1;
    const char *owner_c = c_to_xiaomei ? "xiaomei" : "lingling";
    const char *owner_d = c_to_xiaomei ? "lingling" : "xiaomei";
    s_advance (f, 10000);
    s_reply (f, "tb_c", owner_c, "有的亲", false);
    s_customer (f, "tb_d", "人呢？"); //  still waiting since the first line
    s_reply (f, "tb_d", owner_d, "您好，客服稍后回复", true);
    kt_routing_settle (&f->routing, f->db);

    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages WHERE auto_reply"), 1);

    kt_routing_stop (&f->routing);
    s_sql (f->db, "ALTER TABLE messages RENAME TO messages_out_of_reach");
    kt_routing_start (&f->routing, f->db, f->intake->events_endpoint, f->intake->command_endpoint,
                      f->clock);
    kt_routing_settle (&f->routing, f->db);
    memset (&cmds, 0, sizeof cmds);
    s_collect (f, &cmds, 300);
    assert_int_equal (cmds.assigns, 0); //  intake answered DUPLICATE
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM outbound_commands WHERE kind = "
                                          "'assign'"),
                      2);

    //  tb_d wrote first at 0 s: 30 s is its threshold.
    s_advance (f, 19000);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM events WHERE kind = "
                                          "'conversation.sla_breached'"),
                      0);
    s_advance (f, 2000);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM events WHERE kind = "
                                          "'conversation.sla_breached'"),
                      1);
    s_advance (f, 60000);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM events WHERE kind = "
                                          "'conversation.sla_breached'"),
                      1);
    char sql[256];
    snprintf (sql, sizeof sql,
              "SELECT count(*) FROM routing_conversations WHERE sla_breached AND agent_id = '%s'",
              owner_d);
    assert_int_equal (kt_db_count (f->db, sql), 1);
    s_sql (f->db, "ALTER TABLE messages_out_of_reach RENAME TO messages");
}

//  A transfer asked for by a gateway (an agent hands the customer to a
//  colleague) is an item like any other; routing carries it out and records
//  it, or refuses it when the colleague has no room.
static void
test_gateway_transfer_request (void **state)
{
    fixture_t *f = *state;
    s_presence (f, "xiaomei", ONLINE);
    s_presence (f, "lingling", ONLINE);
    s_customer (f, "tb_t", "这件有L码吗");
    kt_routing_settle (&f->routing, f->db);
    s_commands_t cmds = {0};
    s_collect (f, &cmds, 300);
    assert_int_equal (cmds.assigns, 1);
    char owner[64], other[64];
    snprintf (owner, sizeof owner, "%s", cmds.last_agent);
    snprintf (other, sizeof other, "%s", strcmp (owner, "xiaomei") == 0 ? "lingling" : "xiaomei");

    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__TransferRequest tr = KEFU__V1__TRANSFER_REQUEST__INIT;
    tr.customer_id = kt_text ("tb_t");
    tr.from_agent_id = kt_text (owner);
    tr.to_agent_id = kt_text (other);
    tr.reason = kt_text ("客户要问售后，转给同事");
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_TRANSFER_REQUEST;
    item.transfer_request = &tr;
    s_item (f, &item);
    kt_routing_settle (&f->routing, f->db);
    memset (&cmds, 0, sizeof cmds);
    s_collect (f, &cmds, 300);
    assert_int_equal (cmds.assigns, 1);
    assert_string_equal (cmds.last_agent, other);
    char sql[512];
    snprintf (sql, sizeof sql,
              "SELECT count(*) FROM assignments WHERE reason = 7 AND agent_id = '%s' AND "
              "previous_agent_id = '%s' AND by_whom = '%s' AND note = '客户要问售后，转给同事'",
              other, owner, owner);
    assert_int_equal (kt_db_count (f->db, sql), 1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages WHERE kind = 6"), 1);

    //  The colleague is now full: a transfer back is refused, nothing
    //  changes, and the agent who asked is told why (a notice on the
    //  conversation's channel, a transfer.refused event).
    s_customer (f, "tb_u", "在吗");
    kt_routing_settle (&f->routing, f->db);
    memset (&cmds, 0, sizeof cmds);
    s_collect (f, &cmds, 300); //  tb_u went to the one with room
    tr.from_agent_id = kt_text (other);
    tr.to_agent_id = kt_text (owner);
    tr.reason = kt_text ("");
    s_item (f, &item);
    kt_routing_settle (&f->routing, f->db);
    memset (&cmds, 0, sizeof cmds);
    s_collect (f, &cmds, 300);
    assert_int_equal (cmds.assigns, 0);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM assignments WHERE reason = 7"), 1);
    assert_int_equal (cmds.notices, 1);
    char expected[128];
    snprintf (expected, sizeof expected, "%s|转接未完成", other);
    assert_memory_equal (cmds.last_notice, expected, strlen (expected));
    assert_non_null (strstr (cmds.last_notice, owner));
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM events WHERE stream = 'routing' "
                                          "AND kind = 'transfer.refused'"),
                      1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM outbound_commands WHERE origin = "
                                          "'routing' AND kind = 'notice'"),
                      1);
}

int
main (void)
{
    kf_log_init ("test-routing-flow");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_response_clock_after_restart, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_assign_queue_free_transfer_restart, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_sla_breach_event, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_gateway_transfer_request, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
