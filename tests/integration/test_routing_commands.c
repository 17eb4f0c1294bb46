/*  test_routing_commands — the commands routing hands to intake survive a
    restart, although assign commands and auto-replies have no row of their
    own. The test plays intake: it writes and publishes intake's events
    (kf_outbox, stream "intake") and binds intake's command endpoint, which
    acknowledges only when the test says so. Routing is an in-process actor
    on a driven clock, restarted in the middle.

    - A conversation that closes while its assign command is still
      unacknowledged keeps that command in routing_outbox (the record no
      longer has it open, so nothing else could rebuild it).
    - After the restart routing hands in again: that stored command, the
      assign command of every open conversation's owner (rebuilt from its
      row and latest assignment), and nothing for decisions no longer in
      force (a busy reply of a conversation assigned since).
    - Acknowledged stored commands are forgotten. */
#include "kefu/v1/events.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_log.h"
#include "kf_outbox.h"
#include "kf_store.h"
#include "kt_db.h"
#include "kt_intake.h"
#include "kt_routing.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define SHOP "shop-cmd"

typedef struct {
    char *db;                   //  conninfo
    kf_clock_t *clock;          //  driven clock
    kf_store_t *store;          //  the intake stand-in's connection
    kf_outbox_t *outbox;        //  intake's events
    zsock_t *commands;          //  intake's command endpoint (ROUTER)
    char events_endpoint[64];   //  where the outbox publishes
    char commands_endpoint[64]; //  where the ROUTER listens
    kt_routing_t routing;       //  routing (in-process)
} fixture_t;

//  Commit the events added since the last commit and publish them.
static void
s_commit (fixture_t *f)
{
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_begin (f->store, &err) || kf_outbox_flush (f->outbox, &err) ||
        kf_store_commit (f->store, &err))
        fail_msg ("intake stand-in: %s", err.reason);
    kf_outbox_publish (f->outbox);
}

static void
s_add (fixture_t *f, const char *kind, Kefu__V1__Event *ev)
{
    ev->shop_id = SHOP;
    ev->kind = (char *) kind;
    ev->occurred_at_ms = kf_clock_now_ms (f->clock);
    assert_int_equal (kf_outbox_add (f->outbox, ev), 0);
}

static void
s_online (fixture_t *f, const char *agent)
{
    Kefu__V1__AgentPresenceChanged p = KEFU__V1__AGENT_PRESENCE_CHANGED__INIT;
    p.agent_id = (char *) agent;
    p.status = KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE;
    p.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    p.at_ms = kf_clock_now_ms (f->clock);
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_AGENT_PRESENCE;
    ev.agent_presence = &p;
    s_add (f, "agent.presence", &ev);
}

//  conversation.opened and the customer's first line, as intake writes them.
static void
s_open (fixture_t *f, int64_t conversation, int64_t customer)
{
    char ccid[32];
    snprintf (ccid, sizeof ccid, "buyer-%lld", (long long) customer);
    int64_t now = kf_clock_now_ms (f->clock);
    Kefu__V1__ConversationOpened o = KEFU__V1__CONVERSATION_OPENED__INIT;
    o.conversation_id = conversation;
    o.customer_id = customer;
    o.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    o.channel_customer_id = ccid;
    o.intent = KEFU__V1__INTENT__INTENT_PRESALES;
    o.priority = KEFU__V1__PRIORITY__PRIORITY_NORMAL;
    o.opened_at_ms = now;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_OPENED;
    ev.conversation_opened = &o;
    s_add (f, "conversation.opened", &ev);
    Kefu__V1__MessageAccepted m = KEFU__V1__MESSAGE_ACCEPTED__INIT;
    m.message_id = conversation * 10;
    m.conversation_id = conversation;
    m.customer_id = customer;
    m.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    m.channel_customer_id = ccid;
    m.sender = KEFU__V1__SENDER_ROLE__SENDER_ROLE_CUSTOMER;
    m.body = "这件有M码吗？";
    m.intent = KEFU__V1__INTENT__INTENT_PRESALES;
    m.priority = KEFU__V1__PRIORITY__PRIORITY_NORMAL;
    m.received_at_ms = now;
    m.sent_at_ms = now;
    Kefu__V1__Event ev2 = KEFU__V1__EVENT__INIT;
    ev2.payload_case = KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED;
    ev2.message_accepted = &m;
    s_add (f, "message.accepted", &ev2);
}

static void
s_close (fixture_t *f, int64_t conversation, int64_t customer)
{
    Kefu__V1__ConversationClosed c = KEFU__V1__CONVERSATION_CLOSED__INIT;
    c.conversation_id = conversation;
    c.customer_id = customer;
    c.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    c.reason = KEFU__V1__CLOSE_REASON__CLOSE_REASON_RESOLVED;
    c.closed_at_ms = kf_clock_now_ms (f->clock);
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_CLOSED;
    ev.conversation_closed = &c;
    s_add (f, "conversation.closed", &ev);
}

//  The request ids that reach the command endpoint until it has been quiet
//  for quiet_ms, each once, sorted and joined with spaces; acknowledged
//  (ACCEPTED) when ack is true.
static void
s_commands (fixture_t *f, bool ack, int quiet_ms, char *out, size_t size)
{
    zlistx_t *ids = zlistx_new ();
    zlistx_set_destructor (ids, (czmq_destructor *) zstr_free);
    zlistx_set_duplicator (ids, (czmq_duplicator *) strdup);
    zlistx_set_comparator (ids, (czmq_comparator *) strcmp);
    zpoller_t *poller = zpoller_new (f->commands, NULL);
    while (zpoller_wait (poller, quiet_ms)) {
        zmsg_t *msg = zmsg_recv (f->commands);
        assert_non_null (msg);
        zframe_t *identity = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        Kefu__V1__CommandSubmit *submit =
            kefu__v1__command_submit__unpack (NULL, zframe_size (body), zframe_data (body));
        assert_non_null (submit);
        char id[160];
        snprintf (id, sizeof id, "%.*s", (int) submit->request_id.len,
                  (const char *) submit->request_id.data);
        if (!zlistx_find (ids, id))
            zlistx_add_end (ids, id);
        if (ack) {
            Kefu__V1__CommandSubmitAck a = KEFU__V1__COMMAND_SUBMIT_ACK__INIT;
            a.request_id = submit->request_id;
            a.status = KEFU__V1__ACK_STATUS__ACK_ACCEPTED;
            zframe_t *reply = zframe_new (NULL, kefu__v1__command_submit_ack__get_packed_size (&a));
            kefu__v1__command_submit_ack__pack (&a, zframe_data (reply));
            zmsg_t *out_msg = zmsg_new ();
            zmsg_append (out_msg, &identity);
            zmsg_append (out_msg, &reply);
            assert_int_equal (zmsg_send (&out_msg, f->commands), 0);
        }
        kefu__v1__command_submit__free_unpacked (submit, NULL);
        zframe_destroy (&identity);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    zlistx_sort (ids);
    out[0] = '\0';
    size_t used = 0;
    for (char *id = zlistx_first (ids); id; id = zlistx_next (ids))
        used += (size_t) snprintf (out + used, size - used, "%s%s", used ? " " : "", id);
    zlistx_destroy (&ids);
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("routing_commands");
    kt_shop_add (f->db, SHOP);
    //  One pre-sales agent with room for two, on an all-day shift.
    kt_routing_setup (f->db, SHOP, "presales=售前", "allday=0-1440",
                      (kt_agent_t[]){{"a1", "A1", 2, "presales", "allday"}, {0}}, NULL);
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T01:00:00Z"));
    f->store = kf_store_new (f->db, "test-intake-stand-in");
    assert_int_equal (kf_store_connect (f->store), 0);
    f->outbox = kf_outbox_new ("intake", f->store);
    int port = kf_outbox_bind (f->outbox, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    snprintf (f->events_endpoint, sizeof f->events_endpoint, "tcp://127.0.0.1:%d", port);
    f->commands = zsock_new (ZMQ_ROUTER);
    port = zsock_bind (f->commands, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    snprintf (f->commands_endpoint, sizeof f->commands_endpoint, "tcp://127.0.0.1:%d", port);
    kt_routing_start (&f->routing, f->db, f->events_endpoint, f->commands_endpoint, f->clock);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    if (f->routing.actor)
        kt_routing_stop (&f->routing);
    zsock_destroy (&f->commands);
    kf_outbox_destroy (&f->outbox);
    kf_store_destroy (&f->store);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

static void
test_commands_survive_a_restart (void **state)
{
    fixture_t *f = *state;
    char got[1024];
    //  Two customers get a1, the third waits and gets the busy reply.
    s_online (f, "a1");
    s_open (f, 101, 1);
    s_open (f, 102, 2);
    s_open (f, 103, 3);
    s_commit (f);
    kt_routing_settle (&f->routing, f->db);
    s_commands (f, false, 300, got, sizeof got);
    assert_string_equal (got, "assign:101:1 assign:102:1 reply:103:1");
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM routing_outbox"), 0);

    //  101 closes before intake acknowledged anything: its assign command
    //  gets a row; 103 takes the freed seat.
    s_close (f, 101, 1);
    s_commit (f);
    kt_routing_settle (&f->routing, f->db);
    s_commands (f, false, 300, got, sizeof got);
    assert_non_null (strstr (got, "assign:103:1"));
    char *stored = kt_db_query1 (f->db, "SELECT string_agg (request_id, ' ' ORDER BY "
                                        "request_id) FROM routing_outbox");
    assert_string_equal (stored, "assign:101:1");
    free (stored);

    //  Restart: the stored command, and the owners of the open
    //  conversations rebuilt from the record; 103's busy reply is no longer
    //  in force (it is assigned).
    kt_routing_stop (&f->routing);
    s_commands (f, false, 300, got, sizeof got); //  what the drain handed in
    kt_routing_start (&f->routing, f->db, f->events_endpoint, f->commands_endpoint, f->clock);
    kt_routing_settle (&f->routing, f->db);
    s_commands (f, true, 500, got, sizeof got);
    assert_string_equal (got, "assign:101:1 assign:102:1 assign:103:1");

    //  Acknowledged: the stored command is forgotten, nothing is sent again.
    int64_t deadline = zclock_mono () + 10000;
    while (kt_db_count (f->db, "SELECT count(*) FROM routing_outbox") > 0 &&
           zclock_mono () < deadline)
        zclock_sleep (20);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM routing_outbox"), 0);
    s_commands (f, true, 2500, got, sizeof got);
    assert_string_equal (got, "");
}

int
main (void)
{
    kf_log_init ("test-routing-commands");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_commands_survive_a_restart, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
