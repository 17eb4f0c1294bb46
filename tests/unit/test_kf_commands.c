/*  test_kf_commands — commands decided in a transaction, handed to intake
    after the commit, matched to intake's acks, resent, restored.

    A ROUTER plays intake's command endpoint (inproc); the store and ack
    callbacks record what the service would write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kefu/v1/gateway.pb-c.h"
#include "kf_clock.h"
#include "kf_commands.h"
#include "kf_control.h"

typedef struct {
    kf_clock_t *clock;
    kf_control_t *control;
    zsock_t *intake; //  ROUTER (intake)
    zsock_t *dealer; //  the service's DEALER
    kf_commands_t *cmds;
    int stored;      //  store callback calls
    int store_fails; //  store callback fails while > 0
    int acked;       //  ack callback calls
    int refused;     //  ... with refused
    int keep;        //  ack callback answers -1 while > 0
    char last_acked[256];
    zframe_t *peer; //  the dealer's routing id at the ROUTER
} s_env_t;

static int
s_store (void *arg, const kf_command_t *c, kf_error_t *err)
{
    s_env_t *env = arg;
    (void) c;
    if (env->store_fails > 0) {
        env->store_fails--;
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE, "store down");
        return -1;
    }
    env->stored++;
    return 0;
}

static int
s_acked (void *arg, const kf_command_t *c, bool refused)
{
    s_env_t *env = arg;
    env->acked++;
    env->refused += refused;
    snprintf (env->last_acked, sizeof env->last_acked, "%s %s", c->shop_id, c->request_id);
    if (env->keep > 0) {
        env->keep--;
        return -1;
    }
    return 0;
}

static int
s_setup (void **state)
{
    static int n;
    s_env_t *env = calloc (1, sizeof *env);
    env->clock = kf_clock_new_manual (1000);
    env->control = kf_control_new ("test", env->clock);
    char ep[64];
    snprintf (ep, sizeof ep, "inproc://kf-commands-%d", n++);
    env->intake = zsock_new_router (ep);
    env->dealer = zsock_new_dealer (ep);
    assert_non_null (env->intake);
    assert_non_null (env->dealer);
    env->cmds = kf_commands_new ("test", env->dealer, env->control, s_store, s_acked, env);
    *state = env;
    return 0;
}

static int
s_teardown (void **state)
{
    s_env_t *env = *state;
    kf_commands_destroy (&env->cmds);
    zframe_destroy (&env->peer);
    zsock_destroy (&env->dealer);
    zsock_destroy (&env->intake);
    kf_control_destroy (&env->control);
    kf_clock_destroy (&env->clock);
    free (env);
    return 0;
}

//  A CommandSubmit frame for request id (the module does not look inside).
static void
s_decide (s_env_t *env, const char *shop, const char *request, bool store, int expect)
{
    kf_error_t err;
    kf_error_clear (&err);
    assert_int_equal (
        kf_commands_decide (env->cmds, shop, request, request, strlen (request), store, 7, &err),
        expect);
}

//  The next command intake receives (its payload) within timeout ms: true,
//  or false (buf "").
static bool
s_recv_within (s_env_t *env, char *buf, size_t size, int timeout)
{
    *buf = 0;
    zpoller_t *poller = zpoller_new (env->intake, NULL);
    bool got = zpoller_wait (poller, timeout) != NULL;
    if (got) {
        zmsg_t *msg = zmsg_recv (env->intake);
        zframe_destroy (&env->peer);
        env->peer = zmsg_pop (msg);
        zframe_t *body = zmsg_first (msg);
        snprintf (buf, size, "%.*s", (int) zframe_size (body), (const char *) zframe_data (body));
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    return got;
}

//  The next command intake receives, or "" after 1 s.
static void
s_recv (s_env_t *env, char *buf, size_t size)
{
    s_recv_within (env, buf, size, 1000);
}

//  Nothing more reaches intake within 50 ms.
static void
s_assert_quiet (s_env_t *env)
{
    zpoller_t *poller = zpoller_new (env->intake, NULL);
    assert_null (zpoller_wait (poller, 50));
    zpoller_destroy (&poller);
}

//  Intake answers request with status; the service reads it.
static void
s_ack (s_env_t *env, const char *request, int status)
{
    Kefu__V1__CommandSubmitAck ack = KEFU__V1__COMMAND_SUBMIT_ACK__INIT;
    ack.request_id.data = (uint8_t *) request;
    ack.request_id.len = strlen (request);
    ack.status = status;
    ack.reason = "";
    size_t size = kefu__v1__command_submit_ack__get_packed_size (&ack);
    zframe_t *body = zframe_new (NULL, size);
    kefu__v1__command_submit_ack__pack (&ack, zframe_data (body));
    zframe_t *peer = zframe_dup (env->peer);
    zframe_send (&peer, env->intake, ZFRAME_MORE);
    zframe_send (&body, env->intake, 0);
    zpoller_t *poller = zpoller_new (env->dealer, NULL);
    assert_non_null (zpoller_wait (poller, 1000));
    zpoller_destroy (&poller);
    kf_commands_handle_acks (env->cmds);
}

static void
test_rollback_sends_nothing (void **state)
{
    s_env_t *env = *state;
    s_decide (env, "shop-a", "r1", true, 0);
    assert_int_equal (env->stored, 1);
    kf_commands_rollback (env->cmds);
    kf_commands_commit (env->cmds);
    assert_int_equal (kf_commands_unacked (env->cmds), 0);
    assert_int_equal (*kf_control_counter (env->control, "commands.issued"), 0);
    //  A store that fails keeps nothing either.
    env->store_fails = 1;
    s_decide (env, "shop-a", "r2", true, -1);
    kf_commands_commit (env->cmds);
    assert_int_equal (kf_commands_unacked (env->cmds), 0);
    s_assert_quiet (env);
}

static void
test_commit_sends_in_order_and_acks_forget (void **state)
{
    s_env_t *env = *state;
    s_decide (env, "shop-a", "r1", false, 0);
    s_decide (env, "shop-a", "r2", true, 0);
    assert_int_equal (env->stored, 1);
    kf_commands_commit (env->cmds);
    assert_int_equal (*kf_control_counter (env->control, "commands.issued"), 2);
    assert_int_equal (kf_commands_unacked (env->cmds), 2);
    char buf[64];
    s_recv (env, buf, sizeof buf);
    assert_string_equal (buf, "r1");
    s_recv (env, buf, sizeof buf);
    assert_string_equal (buf, "r2");
    kf_command_t *c = kf_commands_lookup (env->cmds, "shop-a", "r2");
    assert_non_null (c);
    assert_true (c->stored);
    assert_int_equal (c->tag, 7);
    //  RETRY_LATER is no answer; ACCEPTED and REJECTED are.
    s_ack (env, "r1", KEFU__V1__ACK_STATUS__ACK_RETRY_LATER);
    assert_int_equal (env->acked, 0);
    s_ack (env, "r1", KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    assert_int_equal (env->acked, 1);
    assert_string_equal (env->last_acked, "shop-a r1");
    s_ack (env, "r2", KEFU__V1__ACK_STATUS__ACK_REJECTED);
    assert_int_equal (env->refused, 1);
    assert_int_equal (kf_commands_unacked (env->cmds), 0);
    assert_int_equal (*kf_control_counter (env->control, "commands.acked"), 1);
    assert_int_equal (*kf_control_counter (env->control, "commands.refused"), 1);
    //  An ack of nothing pending is ignored.
    s_ack (env, "r9", KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    assert_int_equal (env->acked, 2);
}

static void
test_ack_kept_when_forget_fails_and_resent (void **state)
{
    s_env_t *env = *state;
    s_decide (env, "shop-a", "r1", true, 0);
    kf_commands_commit (env->cmds);
    char buf[64];
    s_recv (env, buf, sizeof buf);
    env->keep = 1;
    s_ack (env, "r1", KEFU__V1__ACK_STATUS__ACK_DUPLICATE);
    assert_int_equal (kf_commands_unacked (env->cmds), 1);
    //  Not due yet: nothing; all (timeout 0): sent again.
    kf_commands_resend (env->cmds, 3600 * 1000);
    s_assert_quiet (env);
    kf_commands_resend (env->cmds, 0);
    s_recv (env, buf, sizeof buf);
    assert_string_equal (buf, "r1");
    assert_int_equal (*kf_control_counter (env->control, "commands.resent"), 1);
    s_ack (env, "r1", KEFU__V1__ACK_STATUS__ACK_DUPLICATE);
    assert_int_equal (kf_commands_unacked (env->cmds), 0);
}

static void
test_shops_sharing_a_request_id (void **state)
{
    s_env_t *env = *state;
    s_decide (env, "shop-a", "same", false, 0);
    s_decide (env, "shop-b", "same", false, 0);
    kf_commands_commit (env->cmds);
    assert_int_equal (kf_commands_unacked (env->cmds), 2);
    assert_string_equal (kf_commands_lookup (env->cmds, "shop-b", "same")->shop_id, "shop-b");
    char buf[64];
    s_recv (env, buf, sizeof buf);
    s_ack (env, "same", KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    assert_int_equal (kf_commands_unacked (env->cmds), 1);
    s_ack (env, "same", KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    assert_int_equal (kf_commands_unacked (env->cmds), 0);
    assert_null (kf_commands_lookup (env->cmds, NULL, "same"));
    //  Cancelled: gone whether decided or pending.
    s_decide (env, "shop-a", "c1", false, 0);
    kf_commands_commit (env->cmds);
    s_decide (env, "shop-a", "c2", false, 0);
    kf_commands_cancel (env->cmds, "shop-a", "c1");
    kf_commands_cancel (env->cmds, "shop-a", "c2");
    kf_commands_commit (env->cmds);
    assert_int_equal (kf_commands_unacked (env->cmds), 0);
}

static void
test_restore_and_sealed (void **state)
{
    s_env_t *env = *state;
    kf_commands_restore (env->cmds, "shop-a", "r1", "r1", 2, true, 0);
    kf_commands_restore (env->cmds, "shop-a", "r1", "XX", 2, true, 0);
    assert_int_equal (kf_commands_unacked (env->cmds), 1);
    kf_commands_resend (env->cmds, 3600 * 1000); //  never sent: goes now
    char buf[64];
    s_recv (env, buf, sizeof buf);
    assert_string_equal (buf, "r1");
    //  Sealed into the transaction under way; the next one's wait.
    s_decide (env, "shop-a", "t1", false, 0);
    kf_commands_seal (env->cmds);
    s_decide (env, "shop-a", "t2", false, 0);
    kf_commands_commit_sealed (env->cmds);
    assert_int_equal (kf_commands_unacked (env->cmds), 2);
    assert_non_null (kf_commands_lookup (env->cmds, "shop-a", "t1"));
    assert_null (kf_commands_lookup (env->cmds, "shop-a", "t2"));
    kf_commands_seal (env->cmds);
    kf_commands_rollback (env->cmds);
    kf_commands_commit_sealed (env->cmds);
    assert_null (kf_commands_lookup (env->cmds, "shop-a", "t2"));
}

//  Commands intake receives until it has been quiet for 50 ms; the last
//  one's payload in last.
static int
s_drain (s_env_t *env, char *last, size_t size)
{
    int n = 0;
    char buf[64];
    while (s_recv_within (env, buf, sizeof buf, 50)) {
        snprintf (last, size, "%s", buf);
        n++;
    }
    return n;
}

//  A burst bigger than the window: the window goes out, the rest as acks
//  come back, and the resend timer sends again only what is in flight.
static void
test_a_burst_goes_out_a_window_at_a_time (void **state)
{
    s_env_t *env = *state;
    char request[32], last[64];
    for (int i = 0; i < 1500; i++) {
        snprintf (request, sizeof request, "r%d", i);
        s_decide (env, "shop-a", request, false, 0);
    }
    kf_commands_commit (env->cmds);
    assert_int_equal (kf_commands_unacked (env->cmds), 1500);
    assert_int_equal (s_drain (env, last, sizeof last), 1000); //  the default window
    assert_string_equal (last, "r999");
    assert_int_equal (kf_commands_in_flight (env->cmds), 1000);
    //  Nothing due: the timer sends nothing, whatever waits.
    kf_commands_resend (env->cmds, 3600 * 1000);
    s_assert_quiet (env);
    //  One ack, one more out: the oldest waiting decision.
    s_ack (env, "r0", KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    assert_int_equal (s_drain (env, last, sizeof last), 1);
    assert_string_equal (last, "r1000");
    //  A smaller window: all due again (timeout 0) is the in-flight ones only.
    kf_commands_set_window (env->cmds, 2);
    kf_commands_resend (env->cmds, 0);
    assert_int_equal (s_drain (env, last, sizeof last), 1000);
    assert_int_equal (*kf_control_counter (env->control, "commands.resent"), 1000);
    assert_int_equal (kf_commands_in_flight (env->cmds), 1000);
    assert_int_equal (kf_commands_unacked (env->cmds), 1499);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_rollback_sends_nothing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_commit_sends_in_order_and_acks_forget, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_ack_kept_when_forget_fails_and_resent, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_shops_sharing_a_request_id, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_restore_and_sealed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_burst_goes_out_a_window_at_a_time, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
