/*  test_intake_outbound — commands for gateways: stored, delivered,
    redelivered, settled once.

    A service hands intake an assignment for a shop whose gateway is not
    connected. Nothing is lost: the command waits in PostgreSQL, is sent as
    soon as a gateway serving that shop says Hello, is sent again after the
    ack timeout while unacknowledged, and is settled by the first ack. With
    libkefu-gateway as the client the application sees it exactly once. */
#include "kefu/v1/gateway.pb-c.h"
#include "kefu_gateway.h"
#include "kf_log.h"
#include "kf_wire.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#define SHOP "shop-o"

typedef struct {
    char *db;            //  conninfo
    kt_intake_t *intake; //  the service
    zsock_t *service;    //  plays routing: DEALER on the command endpoint
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("intake_outbound");
    kt_shop_add (f->db, SHOP);
    //  Through the environment, so that RELOAD (which re-reads it) keeps it.
    setenv ("KEFU_INTAKE_COMMAND_ACK_TIMEOUT", "300ms", 1);
    f->intake = kt_intake_new (f->db, NULL);
    assert_int_equal (f->intake->config.command_ack_timeout, 300);
    kt_intake_start (f->intake);
    f->service = zsock_new_dealer (f->intake->command_endpoint);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    zsock_destroy (&f->service);
    kt_intake_destroy (&f->intake);
    free (f->db);
    free (f);
    return 0;
}

//  Hand in a command (its kind set by the caller) for shop, without
//  waiting for its answer.
static void
s_command_send (fixture_t *f, const char *request_id, const char *shop, Kefu__V1__Command *cmd)
{
    cmd->shop_id = kt_text (shop);
    cmd->channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    cmd->customer_id = kt_text ("tb_lily88");
    cmd->origin = "routing";
    Kefu__V1__CommandSubmit submit = KEFU__V1__COMMAND_SUBMIT__INIT;
    submit.request_id = kt_text (request_id);
    submit.command = cmd;
    zframe_t *frame = kf_wire_pack (&submit.base);
    assert_int_equal (zframe_send (&frame, f->service, 0), 0);
}

//  The answer to a submission (caller frees).
static Kefu__V1__CommandSubmitAck *
s_submit_answer (fixture_t *f)
{
    assert_false (kt_gw_silent (f->service, 10000));
    zframe_t *in = zframe_recv (f->service);
    Kefu__V1__CommandSubmitAck *ack =
        kefu__v1__command_submit_ack__unpack (NULL, zframe_size (in), zframe_data (in));
    zframe_destroy (&in);
    assert_non_null (ack);
    return ack;
}

//  Hand in a command; return the submit ack (caller frees).
static Kefu__V1__CommandSubmitAck *
s_submit_command (fixture_t *f, const char *request_id, const char *shop, Kefu__V1__Command *cmd)
{
    s_command_send (f, request_id, shop, cmd);
    return s_submit_answer (f);
}

//  Hand in an assignment without waiting for its answer.
static void
s_submit_send (fixture_t *f, const char *request_id, const char *shop, const char *agent)
{
    Kefu__V1__AssignCommand assign = KEFU__V1__ASSIGN_COMMAND__INIT;
    assign.conversation_id = 42;
    assign.agent_id = kt_text (agent);
    assign.reason = KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_NEW;
    Kefu__V1__Command cmd = KEFU__V1__COMMAND__INIT;
    cmd.kind_case = KEFU__V1__COMMAND__KIND_ASSIGN;
    cmd.assign = &assign;
    s_command_send (f, request_id, shop, &cmd);
}

//  Hand in an assignment; return the submit ack (caller frees).
static Kefu__V1__CommandSubmitAck *
s_submit (fixture_t *f, const char *request_id, const char *shop, const char *agent)
{
    s_submit_send (f, request_id, shop, agent);
    return s_submit_answer (f);
}

//  A suggest command with n suggestions of this text: its ack's status and
//  code.
static void
s_suggest (fixture_t *f, const char *request_id, size_t n, const char *text, int *status, int *code)
{
    Kefu__V1__Suggestion one = KEFU__V1__SUGGESTION__INIT;
    one.phrase_id = 7;
    one.intent = KEFU__V1__INTENT__INTENT_URGE_SHIPPING;
    one.text = kt_text (text);
    Kefu__V1__Suggestion *list[16];
    for (size_t i = 0; i < n; i++)
        list[i] = &one;
    Kefu__V1__SuggestCommand suggest = KEFU__V1__SUGGEST_COMMAND__INIT;
    suggest.conversation_id = 42;
    suggest.agent_id = kt_text ("xiaomei");
    suggest.intent = KEFU__V1__INTENT__INTENT_URGE_SHIPPING;
    suggest.n_suggestions = n;
    suggest.suggestions = list;
    Kefu__V1__Command cmd = KEFU__V1__COMMAND__INIT;
    cmd.kind_case = KEFU__V1__COMMAND__KIND_SUGGEST;
    cmd.suggest = &suggest;
    Kefu__V1__CommandSubmitAck *ack = s_submit_command (f, request_id, SHOP, &cmd);
    *status = ack->status;
    *code = ack->code;
    kefu__v1__command_submit_ack__free_unpacked (ack, NULL);
}

//  Wait for a Command on a raw gateway; returns its id.
static int64_t
s_expect_command (zsock_t *gw)
{
    Kefu__V1__IntakeFrame *in = kt_gw_recv (gw);
    assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_COMMAND);
    assert_int_equal (in->command->kind_case, KEFU__V1__COMMAND__KIND_ASSIGN);
    assert_string_equal (in->command->origin, "routing");
    int64_t id = in->command->command_id;
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    return id;
}

static void
s_ack_command (zsock_t *gw, int64_t id)
{
    Kefu__V1__CommandAck ack = KEFU__V1__COMMAND_ACK__INIT;
    ack.command_id = id;
    ack.status = KEFU__V1__COMMAND_ACK_STATUS__COMMAND_DELIVERED;
    Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
    frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_COMMAND_ACK;
    frame.command_ack = &ack;
    kt_gw_send (gw, &frame);
}

static void
s_wait_settled (fixture_t *f, long long expected)
{
    int64_t deadline = zclock_mono () + 10000;
    while (kt_db_count (f->db, "SELECT count(*) FROM outbound_commands WHERE settled_at IS NOT "
                               "NULL") < expected &&
           zclock_mono () < deadline)
        zclock_sleep (20);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM outbound_commands WHERE "
                                          "settled_at IS NOT NULL AND delivered"),
                      expected);
}

static void
test_submit_is_idempotent_and_validated (void **state)
{
    fixture_t *f = *state;
    Kefu__V1__CommandSubmitAck *a = s_submit (f, "routing:assign:42:1", SHOP, "xiaomei");
    assert_int_equal (a->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    assert_true (a->command_id > 0);
    Kefu__V1__CommandSubmitAck *b = s_submit (f, "routing:assign:42:1", SHOP, "xiaomei");
    assert_int_equal (b->status, KEFU__V1__ACK_STATUS__ACK_DUPLICATE);
    assert_int_equal (b->command_id, a->command_id);
    Kefu__V1__CommandSubmitAck *c = s_submit (f, "routing:assign:42:2", "no-such-shop", "xiaomei");
    assert_int_equal (c->status, KEFU__V1__ACK_STATUS__ACK_REJECTED);
    assert_int_equal (c->code, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP);
    Kefu__V1__CommandSubmitAck *d = s_submit (f, "routing:assign:42:3", SHOP, "bad\x01agent");
    assert_int_equal (d->status, KEFU__V1__ACK_STATUS__ACK_REJECTED);
    assert_int_equal (d->code, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE);
    //  An assignment to nobody must name who no longer owns the conversation.
    Kefu__V1__CommandSubmitAck *e = s_submit (f, "routing:assign:42:4", SHOP, "");
    assert_int_equal (e->status, KEFU__V1__ACK_STATUS__ACK_REJECTED);
    assert_int_equal (e->code, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD);
    kefu__v1__command_submit_ack__free_unpacked (e, NULL);
    kefu__v1__command_submit_ack__free_unpacked (a, NULL);
    kefu__v1__command_submit_ack__free_unpacked (b, NULL);
    kefu__v1__command_submit_ack__free_unpacked (c, NULL);
    kefu__v1__command_submit_ack__free_unpacked (d, NULL);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM outbound_commands"), 1);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM events WHERE kind = "
                                          "'command.issued'"),
                      1);
}

//  Storing a command waits on PostgreSQL off the loop that reads the
//  gateways: with the commands' table locked, a submission waits for its
//  answer while a gateway's item is still stored and acknowledged; once
//  the lock goes, the command is stored and answered.
static void
test_a_slow_command_store_does_not_hold_the_gateways (void **state)
{
    fixture_t *f = *state;
    bool welcomed = false;
    zsock_t *gw = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);
    //  Unsettled commands are reloaded at start; wait for that read first,
    //  and for a writer to be at work (connected).
    kefu__v1__command_submit_ack__free_unpacked (
        s_submit (f, "routing:assign:7:0", SHOP, "xiaomei"), NULL);
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, "before-lock-1", "tb_lily88", "在吗", zclock_time ());
    kt_gw_push (gw, &item);
    //  (Should the test fail holding the lock, PostgreSQL ends it in 20 s.)
    PGconn *lock = PQconnectdb (f->db);
    PGresult *res = PQexec (lock, "SET idle_in_transaction_session_timeout = '20s'; BEGIN; "
                                  "LOCK TABLE outbound_commands IN EXCLUSIVE MODE");
    assert_int_equal (PQresultStatus (res), PGRES_COMMAND_OK);
    PQclear (res);
    s_submit_send (f, "routing:assign:7:1", SHOP, "xiaomei");
    kt_gw_message (&item, &msg, SHOP, "while-locked-1", "tb_lily88", "在吗", zclock_time ());
    kt_gw_send_item (gw, &item);
    bool acked = false;
    for (int i = 0; i < 10 && !acked && !kt_gw_silent (gw, 5000); i++) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (gw);
        if (in->body_case == KEFU__V1__INTAKE_FRAME__BODY_ACK) {
            assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
            acked = true;
        }
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    assert_true (acked);
    assert_true (kt_gw_silent (f->service, 0)); //  the command waits
    res = PQexec (lock, "ROLLBACK");
    PQclear (res);
    PQfinish (lock);
    Kefu__V1__CommandSubmitAck *a = s_submit_answer (f);
    assert_int_equal (a->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    kefu__v1__command_submit_ack__free_unpacked (a, NULL);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM outbound_commands"), 2);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages"), 2);
    zsock_destroy (&gw);
}

//  A suggest command (quick replies) is stored like the others; more than
//  8 suggestions or a text that is not UTF-8 is refused for good.
static void
test_suggestions_are_stored_and_validated (void **state)
{
    fixture_t *f = *state;
    int status, code;
    s_suggest (f, "routing:suggest:42:1", 2, "亲 实在不好意思 我们尽量当天发货", &status, &code);
    assert_int_equal (status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM outbound_commands "
                                          "WHERE kind = 'suggest'"),
                      1);
    s_suggest (f, "routing:suggest:42:2", 9, "亲", &status, &code);
    assert_int_equal (status, KEFU__V1__ACK_STATUS__ACK_REJECTED);
    assert_int_equal (code, KEFU__V1__ERROR_CODE__ERROR_TOO_LONG);
    s_suggest (f, "routing:suggest:42:3", 1, "亲\xff", &status, &code);
    assert_int_equal (status, KEFU__V1__ACK_STATUS__ACK_REJECTED);
    assert_int_equal (code, KEFU__V1__ERROR_CODE__ERROR_INVALID_UTF8);
    s_suggest (f, "routing:suggest:42:4", 1, "", &status, &code);
    assert_int_equal (status, KEFU__V1__ACK_STATUS__ACK_REJECTED);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM outbound_commands"), 1);
}

static void
test_waits_for_the_gateway_and_is_resent_until_acked (void **state)
{
    fixture_t *f = *state;
    Kefu__V1__CommandSubmitAck *a = s_submit (f, "req-1", SHOP, "ajie");
    int64_t id = a->command_id;
    kefu__v1__command_submit_ack__free_unpacked (a, NULL);
    //  No gateway yet: the command waits, unsettled.
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM outbound_commands WHERE "
                                          "settled_at IS NULL"),
                      1);
    //  A gateway serving another shop gets nothing.
    bool welcomed = false;
    kt_shop_add (f->db, "shop-other");
    kt_intake_reload (f->intake);
    zsock_t *other = kt_gw_connect (f->intake->gateway_endpoint, "other", "shop-other", &welcomed);
    assert_true (welcomed);
    assert_true (kt_gw_silent (other, 700));
    zsock_destroy (&other);
    //  The right gateway connects: the command arrives at once.
    zsock_t *gw = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);
    assert_int_equal (s_expect_command (gw), id);
    //  Not acked: sent again after the ack timeout (300 ms here).
    assert_int_equal (s_expect_command (gw), id);
    //  The gateway goes away without acking; a new connection gets it.
    zsock_destroy (&gw);
    gw = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);
    assert_int_equal (s_expect_command (gw), id);
    s_ack_command (gw, id);
    s_wait_settled (f, 1);
    //  Settled: never sent again, and one command.settled event.
    assert_true (kt_gw_silent (gw, 800));
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM events WHERE kind = "
                                          "'command.settled'"),
                      1);
    assert_true (kt_db_count (f->db, "SELECT attempts FROM outbound_commands") >= 3);
    zsock_destroy (&gw);
}

//  The gateway reconnects before its old connection is seen to close: the
//  new connection's session replaces the old one at once (one session; the
//  commands go to the new connection only), the old connection's items are
//  still the gateway's, and should the new connection go first, the old one
//  is the gateway's session again.
static void
test_a_reconnect_takes_over_the_session_of_its_gateway (void **state)
{
    fixture_t *f = *state;
    bool welcomed = false;
    zsock_t *old = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);
    zsock_t *fresh = kt_gw_connect (f->intake->gateway_endpoint, "qianniu-1", SHOP, &welcomed);
    assert_true (welcomed);
    assert_int_equal (kt_intake_counter (f->intake, "sessions.open", NULL), 1);
    assert_int_equal (kt_intake_counter (f->intake, "sessions.connections", NULL), 2);
    assert_int_equal (kt_intake_counter (f->intake, "sessions.replaced", NULL), 1);
    Kefu__V1__CommandSubmitAck *a = s_submit (f, "req-r1", SHOP, "ajie");
    int64_t id = a->command_id;
    kefu__v1__command_submit_ack__free_unpacked (a, NULL);
    //  Sent, and sent again after the ack timeout: both times to the new one.
    assert_int_equal (s_expect_command (fresh), id);
    assert_int_equal (s_expect_command (fresh), id);
    s_ack_command (fresh, id);
    s_wait_settled (f, 1);
    assert_true (kt_gw_silent (old, 100));

    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, "old-1", "tb_lily88", "还在吗", zclock_time ());
    kt_gw_send_item (old, &item);
    Kefu__V1__IntakeFrame *in = kt_gw_recv (old);
    assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    kefu__v1__intake_frame__free_unpacked (in, NULL);

    zsock_destroy (&fresh);
    int64_t deadline = zclock_mono () + 10000;
    while (kt_intake_counter (f->intake, "sessions.connections", NULL) != 1 &&
           zclock_mono () < deadline)
        zclock_sleep (20);
    assert_int_equal (kt_intake_counter (f->intake, "sessions.connections", NULL), 1);
    assert_int_equal (kt_intake_counter (f->intake, "sessions.open", NULL), 1);
    a = s_submit (f, "req-r2", SHOP, "ajie");
    id = a->command_id;
    kefu__v1__command_submit_ack__free_unpacked (a, NULL);
    assert_int_equal (s_expect_command (old), id);
    s_ack_command (old, id);
    s_wait_settled (f, 2);
    zsock_destroy (&old);
}

typedef struct {
    int seen;        //  commands delivered to the application
    int64_t last_id; //  the last one
    bool ack_now;    //  acknowledge in the callback
} s_app_t;

static void
s_on_command (kefu_gateway_t *gw, const Kefu__V1__Command *command, void *arg)
{
    s_app_t *app = arg;
    app->seen++;
    app->last_id = command->command_id;
    if (app->ack_now)
        kefu_gateway_ack_command (gw, command->command_id, true, NULL);
}

static kefu_gateway_t *
s_library_gateway (fixture_t *f, const kefu_gateway_shop_channel_t *serves, s_app_t *app)
{
    kefu_gateway_options_t opts = kefu_gateway_options_default ();
    opts.endpoint = f->intake->gateway_endpoint;
    opts.gateway_id = "qianniu-lib";
    opts.serves = serves;
    opts.serves_count = 1;
    kefu_gateway_t *gw = kefu_gateway_new (&opts);
    assert_non_null (gw);
    kefu_gateway_on_command (gw, s_on_command, app);
    return gw;
}

//  With libkefu-gateway: a command issued while the gateway is away reaches
//  the application once after it reconnects, even though intake sends it
//  again while it is not acknowledged.
static void
test_library_sees_each_command_once (void **state)
{
    fixture_t *f = *state;
    kefu_gateway_shop_channel_t serves[] = {{SHOP, KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT}};
    s_app_t app = {0, 0, false};
    kefu_gateway_t *gw = s_library_gateway (f, serves, &app);
    for (int i = 0; i < 50 && !kefu_gateway_welcomed (gw); i++)
        kefu_gateway_poll (gw, 100);
    assert_true (kefu_gateway_welcomed (gw));
    kefu_gateway_destroy (&gw); //  the gateway goes away

    Kefu__V1__CommandSubmitAck *a = s_submit (f, "req-lib", SHOP, "lingling");
    int64_t id = a->command_id;
    kefu__v1__command_submit_ack__free_unpacked (a, NULL);

    gw = s_library_gateway (f, serves, &app);
    //  Let intake send it several times (ack timeout 300 ms) before acking.
    int64_t until = zclock_mono () + 1500;
    while (zclock_mono () < until)
        kefu_gateway_poll (gw, 50);
    assert_int_equal (app.seen, 1);
    assert_int_equal (app.last_id, id);
    kefu_gateway_ack_command (gw, id, true, NULL);
    until = zclock_mono () + 1000;
    while (zclock_mono () < until)
        kefu_gateway_poll (gw, 50);
    s_wait_settled (f, 1);
    assert_int_equal (app.seen, 1);
    kefu_gateway_stats_t stats;
    kefu_gateway_stats (gw, &stats);
    assert_true (stats.command_repeats >= 1); //  intake did resend; the library absorbed it
    kefu_gateway_destroy (&gw);
}

int
main (void)
{
    kf_log_init ("test-intake-outbound");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_submit_is_idempotent_and_validated, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_suggestions_are_stored_and_validated, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_waits_for_the_gateway_and_is_resent_until_acked,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_library_sees_each_command_once, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_slow_command_store_does_not_hold_the_gateways,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_reconnect_takes_over_the_session_of_its_gateway,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
