/*  test_routing_recovery — kill -9 of kefu-routing while customers keep
    arriving and leaving: after each restart it rebuilds from its tables plus
    the intake events it missed. At the end no conversation is lost, none
    was assigned twice, no agent is over capacity, the queue holds exactly
    the rest, and every assignment reached intake as exactly one command. */
#include "kefu/v1/events.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_log.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_process.h"
#include "kt_routing.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define SHOP      "shop-r"
#define START_UTC "2026-11-23T01:00:00Z" //  Monday 09:00 in Shanghai

static pid_t
s_spawn_routing (const char *db, kt_intake_t *intake, int events_port, int control_port)
{
    char path[1024], url[1024], ev_in[128], cmd[128], ev_out[128], ctl[128], clock[64];
    assert_int_equal (
        access (kt_process_bin (path, sizeof path, "services/routing/kefu-routing"), X_OK), 0);
    snprintf (url, sizeof url, "KEFU_DATABASE_URL=%s", db);
    snprintf (ev_in, sizeof ev_in, "KEFU_ROUTING_INTAKE_EVENTS=%s", intake->events_endpoint);
    snprintf (cmd, sizeof cmd, "KEFU_ROUTING_INTAKE_COMMANDS=%s", intake->command_endpoint);
    snprintf (ev_out, sizeof ev_out, "KEFU_ROUTING_EVENTS_ENDPOINT=tcp://127.0.0.1:%d",
              events_port);
    snprintf (ctl, sizeof ctl, "KEFU_ROUTING_CONTROL_ENDPOINT=tcp://127.0.0.1:%d", control_port);
    snprintf (clock, sizeof clock, "KEFU_CLOCK=manual:%s", START_UTC);
    const char *argv[] = {path,
                          url,
                          ev_in,
                          cmd,
                          ev_out,
                          ctl,
                          clock,
                          "KEFU_LOG_LEVEL=error",
                          "KEFU_ROUTING_POLL_INTERVAL=50ms",
                          "KEFU_INSECURE=1",
                          NULL};
    pid_t pid = kt_process_spawn (argv, NULL, -1, -1, SIGKILL); //  never outlive the test
    assert_true (pid > 0);
    return pid;
}

typedef struct {
    zsock_t *gw;    //  the gateway
    int seq;        //  item ids
    int assigns;    //  assign commands received (distinct command ids)
    zhashx_t *seen; //  command ids seen
    zlistx_t *log;  //  each distinct command, as s_describe writes it
} s_gateway_t;

static s_gateway_t
s_gateway_new (const char *endpoint)
{
    bool welcomed = false;
    s_gateway_t g = {kt_gw_connect (endpoint, "qianniu-r", SHOP, &welcomed), 0, 0, zhashx_new (),
                     zlistx_new ()};
    assert_true (welcomed);
    zlistx_set_destructor (g.log, (czmq_destructor *) zstr_free);
    return g;
}

static void
s_gateway_destroy (s_gateway_t *g)
{
    zhashx_destroy (&g->seen);
    zlistx_destroy (&g->log);
    zsock_destroy (&g->gw);
}

//  A command as the test compares it: "assign <conversation> to=<agent>
//  from=<previous> reason=<n> note=<note>" or "reply <conversation> kind=<n>".
static char *
s_describe (const Kefu__V1__Command *cmd)
{
    if (cmd->kind_case == KEFU__V1__COMMAND__KIND_ASSIGN) {
        const Kefu__V1__AssignCommand *a = cmd->assign;
        return zsys_sprintf ("assign %lld to=%.*s from=%.*s reason=%d note=%.*s",
                             (long long) a->conversation_id, (int) a->agent_id.len,
                             (const char *) a->agent_id.data, (int) a->previous_agent_id.len,
                             (const char *) a->previous_agent_id.data, (int) a->reason,
                             (int) a->note.len, (const char *) a->note.data);
    }
    if (cmd->kind_case == KEFU__V1__COMMAND__KIND_AUTO_REPLY)
        return zsys_sprintf ("reply %lld kind=%d", (long long) cmd->auto_reply->conversation_id,
                             (int) cmd->auto_reply->kind);
    return zsys_sprintf ("other %d", (int) cmd->kind_case);
}

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
                zlistx_add_end (g->log, s_describe (in->command));
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
s_presence (s_gateway_t *g, kf_clock_t *clock, const char *agent, int status, const char *note)
{
    Kefu__V1__InboundItem item = KEFU__V1__INBOUND_ITEM__INIT;
    Kefu__V1__AgentPresence p = KEFU__V1__AGENT_PRESENCE__INIT;
    p.agent_id = kt_text (agent);
    p.status = status;
    p.handover_note = kt_text (note ? note : "");
    item.kind_case = KEFU__V1__INBOUND_ITEM__KIND_AGENT_PRESENCE;
    item.agent_presence = &p;
    s_send (g, clock, &item);
}

#define ONLINE  KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE
#define OFFLINE KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE

typedef enum { S_KILL, S_CUT } s_fault_t;

//  Cut routing's database connection (its transaction under way fails, and
//  the batch it has applied in memory meanwhile is dropped with it).
//  Returns the connections cut.
static int
s_cut_routing (const char *db)
{
    //  This test's database only: other tests run routing at the same time.
    return (int) kt_db_count (db, "SELECT count(*) FROM (SELECT pg_terminate_backend (pid) "
                                  "FROM pg_stat_activity WHERE application_name = "
                                  "'kefu-routing' AND datname = current_database ()) t");
}

//  One run: a shop set up by setup_sql, intake in-process on a driven
//  clock, kefu-routing as a process of its own (so it can be killed), and
//  a gateway.
typedef struct {
    char *db;            //  conninfo
    kf_clock_t *clock;   //  intake's driven clock
    kt_intake_t *intake; //  intake (in-process)
    int events_port;     //  routing's endpoints
    int control_port;    //
    char control[64];    //  ... its control endpoint
    pid_t routing;       //  kefu-routing
    s_gateway_t g;       //  the gateway
} s_world_t;

static void
s_world_start (s_world_t *w, const char *name, const char *groups, const kt_agent_t *agents)
{
    memset (w, 0, sizeof *w);
    w->db = kt_db_fresh (name);
    kt_shop_add (w->db, SHOP);
    kt_routing_setup (w->db, SHOP, groups, "day=510-1050", agents, NULL);
    w->clock = kf_clock_new_manual (kf_clock_parse_utc (START_UTC));
    w->intake = kt_intake_new (w->db, w->clock);
    kt_intake_start (w->intake);
    w->events_port = kt_free_port ();
    w->control_port = kt_free_port ();
    snprintf (w->control, sizeof w->control, "tcp://127.0.0.1:%d", w->control_port);
    w->routing = s_spawn_routing (w->db, w->intake, w->events_port, w->control_port);
    w->g = s_gateway_new (w->intake->gateway_endpoint);
}

//  kill -9 of routing; the gateway is served for down_ms; then routing
//  starts again.
static void
s_world_kill_routing (s_world_t *w, int down_ms)
{
    assert_int_equal (kt_process_stop (w->routing, SIGKILL, 0, NULL), 128 + SIGKILL);
    if (down_ms)
        s_pump (&w->g, down_ms);
    w->routing = s_spawn_routing (w->db, w->intake, w->events_port, w->control_port);
}

//  SIGTERM: routing drains and exits 0; then everything goes.
static void
s_world_stop (s_world_t *w)
{
    assert_int_equal (kt_process_stop (w->routing, SIGTERM, 30000, NULL), 0);
    s_gateway_destroy (&w->g);
    kt_intake_destroy (&w->intake);
    kf_clock_destroy (&w->clock);
    free (w->db);
}

static void
s_run_with_faults (s_fault_t fault)
{
    s_world_t w;
    s_world_start (&w, fault == S_KILL ? "routing_recovery" : "routing_cut",
                   "presales=售前,aftersales=售后",
                   (kt_agent_t[]){{"a1", "A1", 4, "presales", "day"},
                                  {"a2", "A2", 4, "presales,aftersales", "day"},
                                  {"a3", "A3", 4, "aftersales", "day"},
                                  {0}});
    s_presence (&w.g, w.clock, "a1", ONLINE, NULL);
    s_presence (&w.g, w.clock, "a2", ONLINE, NULL);
    s_presence (&w.g, w.clock, "a3", ONLINE, NULL);
    int kills = 0;
    const int customers = 80;
    for (int n = 1; n <= customers; n++) {
        s_customer (&w.g, w.clock, n);
        if (n % 4 == 0)
            s_close (&w.g, w.clock, n - 2); //  a conversation ends now and then
        s_pump (&w.g, 5);
        if (fault == S_KILL && n % 15 == 0) {
            s_world_kill_routing (&w, n % 30 == 0 ? 200 : 0); //  traffic while it is down
            kills++;
        }
        if (fault == S_CUT && n % 8 == 0)
            kills += s_cut_routing (w.db);
    }
    //  Let the last routing catch up and every command be acknowledged.
    int64_t deadline = zclock_mono () + 60000;
    while (zclock_mono () < deadline) {
        s_pump (&w.g, 50);
        long long written = kt_db_count (w.db, "SELECT coalesce (sum (last_seq), 0) FROM "
                                               "event_sequences WHERE stream = 'intake'");
        long long applied = kt_db_count (w.db, "SELECT coalesce (sum (last_seq), 0) FROM "
                                               "consumer_offsets WHERE consumer = 'routing' AND "
                                               "stream = 'intake'");
        //  Assign commands are handed in again after each restart (they have
        //  no row of their own): wait until intake has one per assignment.
        long long pending = kt_db_count (w.db, "SELECT (SELECT count(*) FROM routing_outbox) + "
                                               "(SELECT count(*) FROM assignments) - (SELECT "
                                               "count(*) FROM outbound_commands WHERE kind = "
                                               "'assign')");
        long long unsettled = kt_db_count (w.db, "SELECT count(*) FROM outbound_commands WHERE "
                                                 "settled_at IS NULL");
        if (applied >= written && pending == 0 && unsettled == 0)
            break;
    }
    s_pump (&w.g, 300);
    fprintf (stderr, "routing %s: %d\n", fault == S_KILL ? "kill -9" : "connections cut", kills);
    assert_true (kills >= 4);

    //  0 lost: routing decided on every conversation intake opened (intake
    //  holds its assign command or, queued, its auto-reply: request ids
    //  "assign:<conversation>:<n>", "reply:<conversation>:<kind>"), and its
    //  record holds exactly the open ones (a closed conversation's row goes).
    assert_int_equal (kt_db_count (w.db, "SELECT count(*) FROM conversations"), customers);
    assert_int_equal (kt_db_count (w.db, "SELECT count(*) FROM conversations c WHERE NOT EXISTS "
                                         "(SELECT 1 FROM outbound_commands o WHERE o.shop_id = "
                                         "c.shop_id AND o.kind IN ('assign', 'auto_reply') AND "
                                         "split_part (o.request_id, ':', 2) = "
                                         "c.conversation_id::text)"),
                      0);
    assert_int_equal (kt_db_count (w.db, "SELECT count(*) FROM conversations c LEFT JOIN "
                                         "routing_conversations r USING (shop_id, conversation_id) "
                                         "WHERE (c.closed_at IS NULL) <> (r.conversation_id IS NOT "
                                         "NULL)"),
                      0);
    assert_int_equal (kt_db_count (w.db, "SELECT count(*) FROM routing_conversations r WHERE NOT "
                                         "EXISTS (SELECT 1 FROM conversations c WHERE c.shop_id = "
                                         "r.shop_id AND c.conversation_id = r.conversation_id)"),
                      0);
    //  0 double assignments: at most one first assignment per conversation,
    //  and (no one went offline) no reassignment at all.
    assert_int_equal (kt_db_count (w.db,
                                   "SELECT count(*) FROM (SELECT conversation_id FROM "
                                   "assignments GROUP BY conversation_id HAVING count(*) > 1) t"),
                      0);
    //  Capacity respected; the queue holds the rest, none of which any
    //  eligible agent could take.
    assert_int_equal (kt_db_count (w.db, "SELECT count(*) FROM (SELECT agent_id FROM "
                                         "routing_conversations WHERE state = 2 GROUP BY agent_id "
                                         "HAVING count(*) > 4) t"),
                      0);
    long long queued =
        kt_db_count (w.db, "SELECT count(*) FROM routing_conversations WHERE state = 1");
    long long assigned = kt_db_count (w.db, "SELECT count(*) FROM routing_conversations WHERE "
                                            "state = 2");
    //  60 conversations stay open (every fourth customer closes one) for 3
    //  agents of 4 each, in both groups: everyone is full, the rest waits.
    assert_int_equal (assigned, 12);
    assert_int_equal (queued, kt_db_count (w.db, "SELECT count(*) FROM conversations WHERE "
                                                 "closed_at IS NULL") -
                                  12);
    //  Every assignment reached intake as one command, delivered once to the gateway.
    long long assignments = kt_db_count (w.db, "SELECT count(*) FROM assignments");
    assert_int_equal (kt_db_count (w.db, "SELECT count(*) FROM outbound_commands WHERE kind = "
                                         "'assign'"),
                      assignments);
    assert_int_equal (w.g.assigns, assignments);

    s_world_stop (&w);
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

//  ---------------------------------------------------------------------
//  A handover that finds nobody free, across a kill -9

#define NOTE "tb_1 等退款，已催财务"

//  Pump the gateway until sql counts want (fails the test after 20 s).
static void
s_pump_until (s_gateway_t *g, const char *db, const char *sql, long long want)
{
    int64_t deadline = zclock_mono () + 20000;
    while (kt_db_count (db, sql) != want) {
        if (zclock_mono () > deadline)
            fail_msg ("%s: %lld, expected %lld", sql, kt_db_count (db, sql), want);
        s_pump (g, 20);
    }
}

//  True when the gateway's log has this command (s_describe's words).
static bool
s_got (s_gateway_t *g, const char *command)
{
    for (char *c = zlistx_first (g->log); c; c = zlistx_next (g->log))
        if (streq (c, command))
            return true;
    return false;
}

//  A conversation's trail: "<agent>/<previous>/<reason>/<note>/<by>" per
//  row in order, "-" for nobody / none. Caller frees.
static char *
s_trail (const char *db, long long conversation)
{
    char sql[512];
    snprintf (sql, sizeof sql,
              "SELECT string_agg (coalesce (agent_id, '-') || '/' || coalesce (previous_agent_id, "
              "'-') || '/' || reason || '/' || coalesce (note, '-') || '/' || by_whom, ' ' ORDER "
              "BY assignment_id) FROM assignments WHERE conversation_id = %lld",
              conversation);
    return kt_db_query1 (db, sql);
}

//  Both agents full; a1 goes offline with a note and nobody has room: the
//  conversation goes back to the queue as a recorded change of owner to
//  nobody, and the gateway is told so. Routing is killed (-9) and started
//  again: it knows the conversation waits after a handover with its note,
//  and what it hands to intake again is that assignment to nobody, never
//  one to a1. a1 comes back and takes it from the queue with the note.
static void
test_handover_to_the_queue_across_a_kill (void **state)
{
    (void) state;
    s_world_t w;
    s_world_start (&w, "routing_handover", "presales=售前",
                   (kt_agent_t[]){{"a1", "A1", 1, "presales", "day"},
                                  {"a2", "A2", 1, "presales", "day"},
                                  {0}});

    //  Two customers, one each: everyone is full.
    s_presence (&w.g, w.clock, "a1", ONLINE, NULL);
    s_presence (&w.g, w.clock, "a2", ONLINE, NULL);
    s_customer (&w.g, w.clock, 1);
    s_customer (&w.g, w.clock, 2);
    s_pump_until (&w.g, w.db, "SELECT count(*) FROM outbound_commands WHERE settled_at IS NOT NULL",
                  2);
    long long conv = kt_db_count (w.db, "SELECT conversation_id FROM routing_conversations WHERE "
                                        "agent_id = 'a1'");
    assert_true (conv > 0);
    char want[512];
    snprintf (want, sizeof want, "assign %lld to=a1 from= reason=1 note=", conv);
    assert_true (s_got (&w.g, want));

    //  a1 leaves with a note; a2 has no room: back to the queue.
    s_presence (&w.g, w.clock, "a1", OFFLINE, NOTE);
    s_pump_until (&w.g, w.db, "SELECT count(*) FROM outbound_commands WHERE settled_at IS NOT NULL",
                  4);
    char *trail = s_trail (w.db, conv);
    assert_string_equal (trail, "a1/-/1/-/routing -/a1/6/" NOTE "/routing");
    free (trail);
    assert_int_equal (kt_db_count (w.db,
                                   "SELECT state FROM routing_conversations WHERE agent_id IS "
                                   "NULL"),
                      1);
    //  The gateway is told that a1 no longer owns it, and the customer waits.
    snprintf (want, sizeof want, "assign %lld to= from=a1 reason=6 note=" NOTE, conv);
    assert_true (s_got (&w.g, want));
    snprintf (want, sizeof want, "reply %lld kind=1", conv);
    assert_true (s_got (&w.g, want));
    assert_int_equal (zlistx_size (w.g.log), 4);
    //  So do routing's subscribers.
    Kefu__V1__Event *ev = kt_db_last_event (w.db, "routing", "conversation.queued");
    assert_int_equal (ev->conversation_queued->conversation_id, conv);
    assert_string_equal (ev->conversation_queued->previous_agent_id, "a1");
    assert_string_equal (ev->conversation_queued->handover_note, NOTE);
    kefu__v1__event__free_unpacked (ev, NULL);

    //  kill -9. The restarted routing rebuilds from the record: the
    //  conversation still waits; it hands intake the decisions in force
    //  again — a2's assignment, the assignment to nobody, the busy reply —
    //  which intake already has, so the gateway gets nothing new.
    int64_t dups = kt_intake_counter (w.intake, "commands.duplicate_submits", NULL);
    s_world_kill_routing (&w, 0);
    int64_t deadline = zclock_mono () + 20000;
    while (kt_control_counter (w.control, "commands.acked", NULL) < 3) {
        assert_true (zclock_mono () < deadline);
        s_pump (&w.g, 20);
    }
    s_pump (&w.g, 300);
    assert_int_equal (kt_control_counter (w.control, "commands.acked", NULL), 3);
    assert_true (kt_intake_counter (w.intake, "commands.duplicate_submits", NULL) >= dups + 3);
    assert_int_equal (kt_db_count (w.db, "SELECT count(*) FROM outbound_commands"), 4);
    assert_int_equal (zlistx_size (w.g.log), 4);
    assert_int_equal (kt_control_counter (w.control, "conversations.queued", NULL), 1);

    //  a1 comes back and takes it from the queue, with the note.
    s_presence (&w.g, w.clock, "a1", ONLINE, NULL);
    s_pump_until (&w.g, w.db, "SELECT count(*) FROM outbound_commands WHERE settled_at IS NOT NULL",
                  5);
    trail = s_trail (w.db, conv);
    assert_string_equal (trail,
                         "a1/-/1/-/routing -/a1/6/" NOTE "/routing a1/a1/3/" NOTE "/routing");
    free (trail);
    snprintf (want, sizeof want, "assign %lld to=a1 from=a1 reason=3 note=" NOTE, conv);
    assert_true (s_got (&w.g, want));
    assert_int_equal (zlistx_size (w.g.log), 5);
    assert_int_equal (kt_db_count (w.db, "SELECT count(*) FROM routing_conversations WHERE state = "
                                         "1"),
                      0);

    s_world_stop (&w);
}

int
main (void)
{
    kf_log_init ("test-routing-recovery");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_kill_routing_repeatedly),
        cmocka_unit_test (test_cut_routing_connection_repeatedly),
        cmocka_unit_test (test_handover_to_the_queue_across_a_kill),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
