/*  test_routing_recovery — kill -9 of kefu-routing while customers keep
    arriving and leaving: after each restart it rebuilds from its tables plus
    the intake events it missed. At the end no conversation is lost, none
    was assigned twice, no agent is over capacity, the queue holds exactly
    the rest, and every assignment reached intake as exactly one command. */
#include "kefu/v1/gateway.pb-c.h"
#include "kf_log.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"

#include <arpa/inet.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define SHOP      "shop-r"
#define START_UTC "2026-11-23T01:00:00Z" //  Monday 09:00 in Shanghai

static int
s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    bind (fd, (struct sockaddr *) &addr, sizeof addr);
    socklen_t len = sizeof addr;
    getsockname (fd, (struct sockaddr *) &addr, &len);
    close (fd);
    return ntohs (addr.sin_port);
}

static pid_t
s_spawn_routing (const char *db, kt_intake_t *intake, int events_port, int control_port)
{
    const char *bin_dir = getenv ("KEFU_TEST_BIN_DIR");
    assert_non_null (bin_dir);
    char path[1024];
    snprintf (path, sizeof path, "%s/services/routing/kefu-routing", bin_dir);
    assert_int_equal (access (path, X_OK), 0);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL); //  never outlive the test
        char url[1024], ev_in[128], cmd[128], ev_out[128], ctl[128], clock[64];
        snprintf (url, sizeof url, "KEFU_DATABASE_URL=%s", db);
        snprintf (ev_in, sizeof ev_in, "KEFU_ROUTING_INTAKE_EVENTS=%s", intake->events_endpoint);
        snprintf (cmd, sizeof cmd, "KEFU_ROUTING_INTAKE_COMMANDS=%s", intake->command_endpoint);
        snprintf (ev_out, sizeof ev_out, "KEFU_ROUTING_EVENTS_ENDPOINT=tcp://127.0.0.1:%d",
                  events_port);
        snprintf (ctl, sizeof ctl, "KEFU_ROUTING_CONTROL_ENDPOINT=tcp://127.0.0.1:%d",
                  control_port);
        snprintf (clock, sizeof clock, "KEFU_CLOCK=manual:%s", START_UTC);
        execl (path, "kefu-routing", url, ev_in, cmd, ev_out, ctl, clock, "KEFU_LOG_LEVEL=error",
               "KEFU_ROUTING_POLL_INTERVAL=50ms", "KEFU_INSECURE=1", (char *) NULL);
        _exit (127);
    }
    return pid;
}

typedef struct {
    zsock_t *gw;    //  the gateway
    int seq;        //  item ids
    int assigns;    //  assign commands received (distinct command ids)
    zhashx_t *seen; //  command ids seen
} s_gateway_t;

static void
s_pump (s_gateway_t *g, int quiet_ms)
{
    while (!kt_gw_silent (g->gw, quiet_ms)) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (g->gw);
        if (in->body_case == KEFU__V1__INTAKE_FRAME__BODY_COMMAND) {
            char key[32];
            snprintf (key, sizeof key, "%lld", (long long) in->command->command_id);
            if (!zhashx_lookup (g->seen, key)) {
                zhashx_insert (g->seen, key, (void *) 1);
                if (in->command->kind_case == KEFU__V1__COMMAND__KIND_ASSIGN)
                    g->assigns++;
            }
            Kefu__V1__CommandAck ack = KEFU__V1__COMMAND_ACK__INIT;
            ack.command_id = in->command->command_id;
            ack.status = KEFU__V1__COMMAND_ACK_STATUS__COMMAND_DELIVERED;
            Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
            frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_COMMAND_ACK;
            frame.command_ack = &ack;
            kt_gw_send (g->gw, &frame);
        } else
            assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
}

static void
s_send (s_gateway_t *g, kf_clock_t *clock, Kefu__V1__InboundItem *item)
{
    char id[32];
    snprintf (id, sizeof id, "r-%d", ++g->seq);
    item->shop_id = kt_text (SHOP);
    item->gateway_msg_id = kt_text (id);
    item->sent_at_ms = kf_clock_now_ms (clock);
    item->channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    kt_gw_send_item (g->gw, item);
}

static void
s_customer (s_gateway_t *g, kf_clock_t *clock, int n)
{
    char customer[32];
    snprintf (customer, sizeof customer, "tb_%d", n);
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__CustomerMessage msg = KEFU__V1__CUSTOMER_MESSAGE__INIT;
    msg.customer_id = kt_text (customer);
    msg.body = kt_text (n % 3 == 0 ? "快递到哪了" : "这件有货吗");
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CUSTOMER_MESSAGE;
    item.customer_message = &msg;
    s_send (g, clock, &item);
}

static void
s_close (s_gateway_t *g, kf_clock_t *clock, int n)
{
    char customer[32];
    snprintf (customer, sizeof customer, "tb_%d", n);
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__ConversationClose c = KEFU__V1__CONVERSATION_CLOSE__INIT;
    c.customer_id = kt_text (customer);
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_CONVERSATION_CLOSE;
    item.conversation_close = &c;
    s_send (g, clock, &item);
}

static void
s_presence (s_gateway_t *g, kf_clock_t *clock, const char *agent)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__AgentPresence p = KEFU__V1__AGENT_PRESENCE__INIT;
    p.agent_id = kt_text (agent);
    p.status = KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE;
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
    item.agent_presence = &p;
    s_send (g, clock, &item);
}

static void
s_sql (const char *db, const char *sql)
{
    PGconn *conn = PQconnectdb (db);
    PGresult *res = PQexec (conn, sql);
    if (PQresultStatus (res) != PGRES_COMMAND_OK)
        fail_msg ("%s: %s", sql, PQresultErrorMessage (res));
    PQclear (res);
    PQfinish (conn);
}

typedef enum { S_KILL, S_CUT } s_fault_t;

//  Cut routing's database connection (its transaction under way fails, and
//  the batch it has applied in memory meanwhile is dropped with it).
//  Returns the connections cut.
static int
s_cut_routing (const char *db)
{
    return (int) kt_db_count (db, "SELECT count(*) FROM (SELECT pg_terminate_backend (pid) "
                                  "FROM pg_stat_activity WHERE application_name = "
                                  "'kefu-routing') t");
}

static void
s_run_with_faults (s_fault_t fault)
{
    char *db = kt_db_fresh (fault == S_KILL ? "routing_recovery" : "routing_cut");
    kt_shop_add (db, SHOP);
    s_sql (db, "INSERT INTO routing_groups (shop_id, group_name, display_name) VALUES "
               "('shop-r', 'presales', '售前'), ('shop-r', 'aftersales', '售后');"
               "INSERT INTO shifts VALUES ('shop-r', 'day', 510, 1050);"
               "INSERT INTO agents (shop_id, agent_id, name, capacity) VALUES "
               "('shop-r', 'a1', 'A1', 4), ('shop-r', 'a2', 'A2', 4), ('shop-r', 'a3', 'A3', 4);"
               "INSERT INTO agent_groups VALUES ('shop-r', 'a1', 'presales'), "
               "('shop-r', 'a2', 'presales'), ('shop-r', 'a3', 'aftersales'), "
               "('shop-r', 'a2', 'aftersales');"
               "INSERT INTO agent_schedule (shop_id, agent_id, shift_name) VALUES "
               "('shop-r', 'a1', 'day'), ('shop-r', 'a2', 'day'), ('shop-r', 'a3', 'day')");
    kf_clock_t *clock = kf_clock_new_manual (kf_clock_parse_utc (START_UTC));
    kt_intake_t *intake = kt_intake_new (db, clock);
    kt_intake_start (intake);
    int events_port = s_free_port (), control_port = s_free_port ();
    pid_t routing = s_spawn_routing (db, intake, events_port, control_port);
    bool welcomed = false;
    s_gateway_t g = {kt_gw_connect (intake->gateway_endpoint, "qianniu-r", SHOP, &welcomed), 0, 0,
                     zhashx_new ()};
    assert_true (welcomed);
    s_presence (&g, clock, "a1");
    s_presence (&g, clock, "a2");
    s_presence (&g, clock, "a3");
    int kills = 0;
    const int customers = 80;
    for (int n = 1; n <= customers; n++) {
        s_customer (&g, clock, n);
        if (n % 4 == 0)
            s_close (&g, clock, n - 2); //  a conversation ends now and then
        s_pump (&g, 5);
        if (fault == S_KILL && n % 15 == 0) {
            kill (routing, SIGKILL);
            assert_int_equal (waitpid (routing, NULL, 0), routing);
            kills++;
            if (n % 30 == 0)
                s_pump (&g, 200); //  traffic while routing is down
            routing = s_spawn_routing (db, intake, events_port, control_port);
        }
        if (fault == S_CUT && n % 8 == 0)
            kills += s_cut_routing (db);
    }
    //  Let the last routing catch up and every command be acknowledged.
    int64_t deadline = zclock_mono () + 60000;
    while (zclock_mono () < deadline) {
        s_pump (&g, 50);
        long long written = kt_db_count (db, "SELECT coalesce (sum (last_seq), 0) FROM "
                                             "event_sequences WHERE stream = 'intake'");
        long long applied = kt_db_count (db, "SELECT coalesce (sum (last_seq), 0) FROM "
                                             "consumer_offsets WHERE consumer = 'routing' AND "
                                             "stream = 'intake'");
        //  Assign commands are handed in again after each restart (they have
        //  no row of their own): wait until intake has one per assignment.
        long long pending = kt_db_count (db, "SELECT (SELECT count(*) FROM routing_outbox) + "
                                             "(SELECT count(*) FROM assignments) - (SELECT "
                                             "count(*) FROM outbound_commands WHERE kind = "
                                             "'assign')");
        long long unsettled = kt_db_count (db, "SELECT count(*) FROM outbound_commands WHERE "
                                               "settled_at IS NULL");
        if (applied >= written && pending == 0 && unsettled == 0)
            break;
    }
    s_pump (&g, 300);
    fprintf (stderr, "routing %s: %d\n", fault == S_KILL ? "kill -9" : "connections cut", kills);
    assert_true (kills >= 4);

    //  0 lost: routing decided on every conversation intake opened (intake
    //  holds its assign command or, queued, its auto-reply: request ids
    //  "assign:<conversation>:<n>", "reply:<conversation>:<kind>"), and its
    //  record holds exactly the open ones (a closed conversation's row goes).
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM conversations"), customers);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM conversations c WHERE NOT EXISTS "
                                       "(SELECT 1 FROM outbound_commands o WHERE o.shop_id = "
                                       "c.shop_id AND o.kind IN ('assign', 'auto_reply') AND "
                                       "split_part (o.request_id, ':', 2) = "
                                       "c.conversation_id::text)"),
                      0);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM conversations c LEFT JOIN "
                                       "routing_conversations r USING (shop_id, conversation_id) "
                                       "WHERE (c.closed_at IS NULL) <> (r.conversation_id IS NOT "
                                       "NULL)"),
                      0);
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM routing_conversations r WHERE NOT "
                                       "EXISTS (SELECT 1 FROM conversations c WHERE c.shop_id = "
                                       "r.shop_id AND c.conversation_id = r.conversation_id)"),
                      0);
    //  0 double assignments: at most one first assignment per conversation,
    //  and (no one went offline) no reassignment at all.
    assert_int_equal (kt_db_count (db,
                                   "SELECT count(*) FROM (SELECT conversation_id FROM "
                                   "assignments GROUP BY conversation_id HAVING count(*) > 1) t"),
                      0);
    //  Capacity respected; the queue holds the rest, none of which any
    //  eligible agent could take.
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM (SELECT agent_id FROM "
                                       "routing_conversations WHERE state = 2 GROUP BY agent_id "
                                       "HAVING count(*) > 4) t"),
                      0);
    long long queued =
        kt_db_count (db, "SELECT count(*) FROM routing_conversations WHERE state = 1");
    long long assigned = kt_db_count (db, "SELECT count(*) FROM routing_conversations WHERE "
                                          "state = 2");
    if (queued > 0)
        assert_int_equal (assigned, 12); //  everyone full
    //  Every assignment reached intake as one command, delivered once to the gateway.
    long long assignments = kt_db_count (db, "SELECT count(*) FROM assignments");
    assert_int_equal (kt_db_count (db, "SELECT count(*) FROM outbound_commands WHERE kind = "
                                       "'assign'"),
                      assignments);
    assert_int_equal (g.assigns, assignments);

    kill (routing, SIGTERM);
    int status = 0;
    waitpid (routing, &status, 0);
    assert_true (WIFEXITED (status) && WEXITSTATUS (status) == 0);
    zhashx_destroy (&g.seen);
    zsock_destroy (&g.gw);
    kt_intake_destroy (&intake);
    kf_clock_destroy (&clock);
    free (db);
}

static void
test_kill_routing_repeatedly (void **state)
{
    (void) state;
    s_run_with_faults (S_KILL);
}

//  Routing's database connection cut again and again while it works (a
//  PostgreSQL restart or a network cut looks the same to it): every
//  transaction under way fails and the batch applied behind it is dropped
//  too; routing reconnects, rebuilds and catches up — the same end state.
static void
test_cut_routing_connection_repeatedly (void **state)
{
    (void) state;
    s_run_with_faults (S_CUT);
}

int
main (void)
{
    kf_log_init ("test-routing-recovery");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_kill_routing_repeatedly),
        cmocka_unit_test (test_cut_routing_connection_repeatedly),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
