/*  test_routing_events_auth — routing with keys: a CURVE client of intake,
    a CURVE server of its own events for service keys only.

    The test plays intake with CURVE endpoints of intake's kind (an events
    PUB for service keys, a command ROUTER for every principal); in one
    process they are judged by routing's ZAP handler, from the same
    principals table. Routing, with its own service key, gets intake's
    events by publication and hands its commands in. On routing's events
    PUB a service key reads the events; a plaintext peer and a gateway's
    key read nothing and are counted; a disabled service key is cut off and
    refused, while another service goes on. */
#include "kefu/v1/events.pb-c.h"
#include "kf_log.h"
#include "kf_outbox.h"
#include "kf_store.h"
#include "kf_zap.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_routing.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define SHOP "shop-ev"

typedef struct {
    char *db;                 //  conninfo
    char dir[256];            //  temp dir: key files
    kf_clock_t *clock;        //  driven clock
    zcert_t *intake_cert;     //  the intake stand-in's key pair
    zcert_t *watcher;         //  service principal "watcher"
    zcert_t *other;           //  service principal "other"
    zcert_t *gw;              //  gateway principal "gw-a"
    kf_store_t *store;        //  the stand-in's connection
    kf_outbox_t *outbox;      //  intake's events (CURVE PUB)
    zsock_t *commands;        //  intake's command endpoint (CURVE ROUTER)
    kt_routing_t routing;     //  routing (in-process, secure)
    char routing_events[64];  //  routing's events endpoint
    char routing_control[64]; //  routing's control endpoint
    int64_t conversations;    //  conversations opened so far
} fixture_t;

//  The stand-in writes and publishes conversation.opened, as intake does.
static void
s_open_conversation (fixture_t *f)
{
    int64_t id = ++f->conversations;
    char ccid[32];
    snprintf (ccid, sizeof ccid, "buyer-%lld", (long long) id);
    Kefu__V1__ConversationOpened o = KEFU__V1__CONVERSATION_OPENED__INIT;
    o.conversation_id = id;
    o.customer_id = id;
    o.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    o.channel_customer_id = ccid;
    o.intent = KEFU__V1__INTENT__INTENT_PRESALES;
    o.priority = KEFU__V1__PRIORITY__PRIORITY_NORMAL;
    o.opened_at_ms = kf_clock_now_ms (f->clock);
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_OPENED;
    ev.conversation_opened = &o;
    ev.shop_id = SHOP;
    ev.kind = "conversation.opened";
    assert_int_equal (kf_outbox_add (f->outbox, &ev), 0);
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_begin (f->store, &err) || kf_outbox_flush (f->outbox, &err) ||
        kf_store_commit (f->store, &err))
        fail_msg ("intake stand-in: %s", err.reason);
    kf_outbox_publish (f->outbox);
}

//  A SUB on routing's events: plaintext when cert is NULL, else a CURVE
//  client with cert trusting routing's key.
static zsock_t *
s_sub (fixture_t *f, zcert_t *cert)
{
    zcert_t *routing = zcert_load (f->routing.config.secret_key_file);
    zsock_t *sub = kt_events_sub (f->routing_events, cert, zcert_public_txt (routing));
    zcert_destroy (&routing);
    return sub;
}

static bool
s_received (zsock_t *sub, int ms)
{
    return kt_events_received (sub, "routing/", ms);
}

//  Open conversations until sub receives one of routing's events about
//  them (a SUB that has just connected misses what came before).
static void
s_open_until_received (fixture_t *f, zsock_t *sub)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        s_open_conversation (f);
        if (s_received (sub, 300)) {
            while (s_received (sub, 50))
                ;
            return;
        }
    }
    fail_msg ("no routing event reached the subscriber");
}

static int64_t
s_counter (fixture_t *f, const char *name)
{
    bool insecure = true;
    int64_t value = kt_control_counter (f->routing_control, name, &insecure);
    assert_false (insecure);
    return value;
}

static void
s_wait_failures (fixture_t *f, int64_t n)
{
    assert_true (kt_control_wait (f->routing_control, "auth.handshake_failures", n) >= n);
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("routing_events_auth");
    kt_shop_add (f->db, SHOP);
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T01:00:00Z"));
    snprintf (f->dir, sizeof f->dir, "/tmp/kefu-test-routing-auth-%d", getpid ());
    zsys_dir_create ("%s", f->dir);
    char intake_key[512], routing_key[512];
    f->intake_cert = zcert_new ();
    snprintf (intake_key, sizeof intake_key, "%s/intake.key", f->dir);
    assert_int_equal (zcert_save_public (f->intake_cert, intake_key), 0);
    zcert_t *routing = zcert_new ();
    snprintf (routing_key, sizeof routing_key, "%s/routing.key", f->dir);
    assert_int_equal (zcert_save (routing, routing_key), 0);
    kt_principal_add (f->db, "routing", "service", routing, true);
    zcert_destroy (&routing);
    f->watcher = zcert_new ();
    f->other = zcert_new ();
    f->gw = zcert_new ();
    kt_principal_add (f->db, "watcher", "service", f->watcher, true);
    kt_principal_add (f->db, "other", "service", f->other, true);
    kt_principal_add (f->db, "gw-a", "gateway", f->gw, false);
    //  The intake stand-in: CURVE endpoints with intake's key pair.
    f->store = kf_store_new (f->db, "test-intake-stand-in");
    assert_int_equal (kf_store_connect (f->store), 0);
    f->outbox = kf_outbox_new ("intake", f->store);
    kf_outbox_secure (f->outbox, f->intake_cert);
    int events_port = kf_outbox_bind (f->outbox, "tcp://127.0.0.1:*");
    assert_true (events_port > 0);
    f->commands = zsock_new (ZMQ_ROUTER);
    kf_zap_curve_server (f->commands, f->intake_cert, KF_ZAP_CLIENTS);
    int commands_port = zsock_bind (f->commands, "tcp://127.0.0.1:*");
    assert_true (commands_port > 0);
    char events[64], commands[64];
    snprintf (events, sizeof events, "tcp://127.0.0.1:%d", events_port);
    snprintf (commands, sizeof commands, "tcp://127.0.0.1:%d", commands_port);
    //  Routing with its service key, trusting intake's public key file.
    kt_routing_init (&f->routing, f->db, events, commands, f->clock);
    f->routing.config.insecure = false;
    free (f->routing.config.secret_key_file);
    strcat (routing_key, "_secret");
    f->routing.config.secret_key_file = strdup (routing_key);
    free (f->routing.config.server_key_file);
    f->routing.config.server_key_file = strdup (intake_key);
    kt_routing_run (&f->routing);
    snprintf (f->routing_events, sizeof f->routing_events, "tcp://127.0.0.1:%d",
              kt_routing_port (&f->routing, "events"));
    snprintf (f->routing_control, sizeof f->routing_control, "tcp://127.0.0.1:%d",
              kt_routing_port (&f->routing, "control"));
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    kt_routing_stop (&f->routing);
    zsock_destroy (&f->commands);
    kf_outbox_destroy (&f->outbox);
    kf_store_destroy (&f->store);
    kf_clock_destroy (&f->clock);
    zcert_destroy (&f->intake_cert);
    zcert_destroy (&f->watcher);
    zcert_destroy (&f->other);
    zcert_destroy (&f->gw);
    char cmd[512];
    snprintf (cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal (system (cmd), 0);
    free (f->db);
    free (f);
    return 0;
}

static void
test_routing_with_keys_reads_intake_and_serves_service_keys_only (void **state)
{
    fixture_t *f = *state;
    zsock_t *plain = s_sub (f, NULL);
    zsock_t *gateway = s_sub (f, f->gw);
    s_wait_failures (f, 2);
    zsock_t *watcher = s_sub (f, f->watcher);
    //  Routing got intake's events by publication (with its key), decided,
    //  and published its own to the service key. (Its first handshakes
    //  were refused: in this one process routing's ZAP handler judges the
    //  stand-in's sockets too, and it knew no key yet; routing connects
    //  again after a back-off.)
    s_open_until_received (f, watcher);
    int64_t deadline = zclock_mono () + 10000;
    while (s_counter (f, "events.from_pub") == 0 && zclock_mono () < deadline)
        s_open_until_received (f, watcher);
    assert_true (s_counter (f, "events.from_pub") > 0);
    //  Its commands reach intake's CURVE command endpoint.
    assert_false (kt_gw_silent (f->commands, 10000));
    zmsg_t *submit = zmsg_recv (f->commands);
    assert_int_equal (zmsg_size (submit), 2);
    zmsg_destroy (&submit);
    assert_false (s_received (plain, 300));
    assert_false (s_received (gateway, 0));
    zsock_destroy (&watcher);
    zsock_destroy (&gateway);
    zsock_destroy (&plain);
}

static void
test_a_disabled_service_key_is_cut_off_and_refused (void **state)
{
    fixture_t *f = *state;
    zsock_t *watcher = s_sub (f, f->watcher);
    zsock_t *other = s_sub (f, f->other);
    s_open_until_received (f, watcher);
    s_open_until_received (f, other);
    free (kt_db_query1 (f->db, "UPDATE principals SET disabled_at = now () "
                               "WHERE principal_id = 'watcher'; SELECT 1"));
    int64_t failures = s_counter (f, "auth.handshake_failures");
    //  SIGHUP's RELOAD re-reads the keys at once (otherwise within
    //  KEFU_ROUTING_AUTH_REFRESH); SYNC answers after it.
    zstr_send (f->routing.actor, "RELOAD");
    zstr_send (f->routing.actor, "SYNC");
    free (zstr_recv (f->routing.actor));
    //  Cut once routing publishes again; refused when it tries again.
    s_open_until_received (f, other);
    s_wait_failures (f, failures + 1);
    while (s_received (watcher, 0)) //  what came before the cut
        ;
    s_open_until_received (f, other);
    assert_false (s_received (watcher, 300));
    failures = s_counter (f, "auth.handshake_failures");
    zsock_t *again = s_sub (f, f->watcher);
    s_wait_failures (f, failures + 1);
    s_open_conversation (f);
    assert_true (s_received (other, 5000));
    assert_false (s_received (again, 300));
    assert_false (s_received (watcher, 0));
    zsock_destroy (&again);
    zsock_destroy (&other);
    zsock_destroy (&watcher);
}

int
main (void)
{
    kf_log_init ("test-routing-events-auth");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_routing_with_keys_reads_intake_and_serves_service_keys_only, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_disabled_service_key_is_cut_off_and_refused,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
