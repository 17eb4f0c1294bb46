/*  test_metrics_recovery — kill -9 of kefu-metrics (the binary) again and
    again while customers and agents keep talking through real intake and
    routing, and supervisors keep asking: every answer that comes is a
    correct one (never another shop's, never a torn number), and at the end
    every number counts each line and conversation exactly once. */
#include "kefu/v1/gateway.pb-c.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_process.h"
#include "kt_kefuctl.h"
#include "kt_metrics.h"
#include "kt_routing.h"
#include "metrics_query.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define SHOP          "shop-m"
#define CONVERSATIONS 150

typedef struct {
    const char *db;   //  conninfo
    char intake[64];  //  intake's events
    char routing[64]; //  routing's events
    char query[64];   //  metrics' query endpoint
    char control[64]; //  metrics' control endpoint
    int query_port;   //  ... their ports
    int control_port; //
    int64_t since;    //  the period asked about: since the test began
} s_target_t;

static pid_t
s_spawn (const s_target_t *t)
{
    char path[1024], url[1024], in[128], rt[128], q[128], c[128];
    assert_int_equal (
        access (kt_process_bin (path, sizeof path, "services/metrics/kefu-metrics"), X_OK), 0);
    snprintf (url, sizeof url, "KEFU_DATABASE_URL=%s", t->db);
    snprintf (in, sizeof in, "KEFU_METRICS_INTAKE_EVENTS=%s", t->intake);
    snprintf (rt, sizeof rt, "KEFU_METRICS_ROUTING_EVENTS=%s", t->routing);
    snprintf (q, sizeof q, "KEFU_METRICS_QUERY_ENDPOINT=tcp://127.0.0.1:%d", t->query_port);
    snprintf (c, sizeof c, "KEFU_METRICS_CONTROL_ENDPOINT=tcp://127.0.0.1:%d", t->control_port);
    const char *argv[] = {path,
                          url,
                          in,
                          rt,
                          q,
                          c,
                          "KEFU_INSECURE=1",
                          "KEFU_METRICS_POLL_INTERVAL=50ms",
                          "KEFU_METRICS_HTTP_ENDPOINT=", //  no dashboard: 8480 may be taken
                          "KEFU_LOG_LEVEL=error",
                          NULL};
    pid_t pid = kt_process_spawn (argv, NULL, -1, -1, SIGKILL); //  never outlive the test
    assert_true (pid > 0);
    return pid;
}

//  Ask while metrics may be dead: an answer, if one comes, must be right
//  about the shop and hold numbers that never exceed the record's.
static int
s_probe (const s_target_t *t)
{
    Kefu__V1__Query q = KEFU__V1__QUERY__INIT;
    q.kind = kt_text ("kpi.summary");
    q.shop_id = kt_text (SHOP);
    q.from_ms = t->since;
    Kefu__V1__Answer *a = metrics_query_call (t->query, NULL, NULL, &q, 300);
    if (!a)
        return 0;
    int answered = 0;
    if (a->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED) {
        json_t *root = json_loadb ((const char *) a->json.data, a->json.len, 0, NULL);
        assert_non_null (root);
        assert_string_equal (json_string_value (json_object_get (root, "shop_id")), SHOP);
        long long lines = kt_db_count (t->db, "SELECT count (*) FROM messages WHERE kind = 1");
        assert_true (kt_json_num (root, "total.messages.customer") <= lines);
        json_decref (root);
        answered = 1;
    } else
        assert_int_equal (a->status, KEFU__V1__ACK_STATUS__ACK_RETRY_LATER);
    kefu__v1__answer__free_unpacked (a, NULL);
    return answered;
}

static void
s_item (zsock_t *gw, Kefu__V1__InboundItem *item, int *seq)
{
    char id[32];
    snprintf (id, sizeof id, "m-%d", ++*seq);
    item->shop_id = kt_text (SHOP);
    item->gateway_msg_id = kt_text (id);
    item->sent_at_ms = zclock_time ();
    item->channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    kt_gw_push (gw, item);
}

static void
test_kill_metrics_repeatedly (void **state)
{
    (void) state;
    char *db = kt_db_fresh ("metrics_recovery");
    kt_shop_add (db, SHOP);
    //  Two agents on a shift that never ends: nothing is after hours.
    kt_sql (db, "INSERT INTO routing_groups (shop_id, group_name, display_name) VALUES "
                "('shop-m', 'presales', '售前');"
                "INSERT INTO shifts VALUES ('shop-m', 'allday', 0, 1440);"
                "INSERT INTO agents (shop_id, agent_id, name, capacity) VALUES "
                "('shop-m', 'xiaomei', '小美', 100), ('shop-m', 'ajie', '阿杰', 100);"
                "INSERT INTO agent_groups VALUES ('shop-m', 'xiaomei', 'presales'), "
                "('shop-m', 'ajie', 'presales');"
                "INSERT INTO agent_schedule (shop_id, agent_id, shift_name) VALUES "
                "('shop-m', 'xiaomei', 'allday'), ('shop-m', 'ajie', 'allday');"
                "INSERT INTO routing_settings (shop_id) VALUES ('shop-m')");
    kt_intake_t *intake = kt_intake_new (db, NULL);
    kt_intake_start (intake);
    kt_routing_t routing;
    kt_routing_start (&routing, db, intake->events_endpoint, intake->command_endpoint, NULL);
    s_target_t t = {.db = db};
    t.since = zclock_time () - 3600000;
    snprintf (t.intake, sizeof t.intake, "%s", intake->events_endpoint);
    snprintf (t.routing, sizeof t.routing, "tcp://127.0.0.1:%d",
              kt_routing_port (&routing, "events"));
    t.query_port = kt_free_port ();
    t.control_port = kt_free_port ();
    snprintf (t.query, sizeof t.query, "tcp://127.0.0.1:%d", t.query_port);
    snprintf (t.control, sizeof t.control, "tcp://127.0.0.1:%d", t.control_port);
    pid_t metrics = s_spawn (&t);
    bool welcomed = false;
    zsock_t *gw = kt_gw_connect (intake->gateway_endpoint, "gw-m", SHOP, &welcomed);
    assert_true (welcomed);

    int seq = 0, kills = 0, answered = 0;
    const char *names[] = {"xiaomei", "ajie"};
    for (int i = 0; i < 2; i++) {
        Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
        Kefu__V1__AgentPresence presence = KEFU__V1__AGENT_PRESENCE__INIT;
        presence.agent_id = kt_text (names[i]);
        presence.status = KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE;
        item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
        item.agent_presence = &presence;
        s_item (gw, &item, &seq);
    }
    //  Each customer asks twice and is answered twice, then leaves.
    for (int c = 0; c < CONVERSATIONS; c++) {
        char customer[32];
        snprintf (customer, sizeof customer, "tb_%d", c);
        for (int round = 0; round < 2; round++) {
            Kefu__V1__InboundItem item;
            Kefu__V1__CustomerMessage msg;
            kt_gw_message (&item, &msg, SHOP, "", customer, "有现货吗", 0);
            s_item (gw, &item, &seq);
            Kefu__V1__InboundItem reply_item = KEFU__V1__INBOUND_ITEM__INIT;
            Kefu__V1__AgentReply reply = KEFU__V1__AGENT_REPLY__INIT;
            reply.customer_id = kt_text (customer);
            reply.agent_id = kt_text (c % 2 ? "xiaomei" : "ajie");
            reply.body = kt_text ("有的");
            reply_item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_REPLY;
            reply_item.agent_reply = &reply;
            s_item (gw, &reply_item, &seq);
        }
        Kefu__V1__InboundItem close_item = KEFU__V1__INBOUND_ITEM__INIT;
        Kefu__V1__ConversationClose close = KEFU__V1__CONVERSATION_CLOSE__INIT;
        close.customer_id = kt_text (customer);
        close_item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CONVERSATION_CLOSE;
        close_item.conversation_close = &close;
        s_item (gw, &close_item, &seq);
        answered += s_probe (&t);
        if (c % 20 == 19) {
            assert_int_equal (kt_process_stop (metrics, SIGKILL, 0, NULL), 128 + SIGKILL);
            kills++;
            metrics = s_spawn (&t);
        }
    }
    //  Caught up: every event of both streams applied.
    int64_t deadline = zclock_mono () + 60000;
    while (zclock_mono () < deadline) {
        zstr_send (routing.actor, "SYNC");
        free (zstr_recv (routing.actor));
        long long written =
            kt_db_count (db, "SELECT coalesce (sum (last_seq), 0) FROM "
                             "event_sequences WHERE stream IN ('intake', 'routing')");
        long long applied = kt_db_count (db, "SELECT coalesce (sum (last_seq), 0) FROM "
                                             "consumer_offsets WHERE consumer = 'metrics' "
                                             "AND stream IN ('intake', 'routing')");
        if (applied >= written && written > 0)
            break;
        zclock_sleep (50);
    }
    json_t *a = kt_metrics_json (t.query, "kpi.summary", SHOP, t.since, 0, NULL, NULL);
    fprintf (stderr, "metrics kill -9: %d, answers while killing: %d\n", kills, answered);
    assert_true (kills >= 5);
    assert_true (answered > 0);
    assert_int_equal (kt_json_num (a, "total.conversations.customer_opened"), CONVERSATIONS);
    assert_int_equal (kt_json_num (a, "total.conversations.answered"), CONVERSATIONS);
    assert_int_equal (kt_json_num (a, "total.messages.customer"), 2 * CONVERSATIONS);
    assert_int_equal (kt_json_num (a, "total.messages.replies"), 2 * CONVERSATIONS);
    assert_int_equal (kt_json_num (a, "total.response.rounds"), 2 * CONVERSATIONS);
    assert_int_equal (kt_json_num (a, "total.resolution.closed"), CONVERSATIONS);
    assert_int_equal (kt_json_num (a, "total.response.unanswered"), 0);
    json_decref (a);
    json_t *agents = kt_metrics_json (t.query, "kpi.summary", SHOP, t.since, 0, "agent", NULL);
    assert_int_equal (kt_json_num (agents, "rows.@xiaomei.messages.replies"), CONVERSATIONS);
    assert_int_equal (kt_json_num (agents, "rows.@ajie.response.rounds"), CONVERSATIONS);
    json_decref (agents);
    assert_int_equal (kt_control_counter (t.control, "transactions.failed", NULL), 0);

    assert_int_equal (kt_process_stop (metrics, SIGTERM, 30000, NULL), 0);
    zsock_destroy (&gw);
    kt_routing_stop (&routing);
    kt_intake_destroy (&intake);
    free (db);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_kill_metrics_repeatedly),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
