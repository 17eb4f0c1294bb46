/*  test_escalation_events_auth — escalation with keys: a CURVE client of
    intake, a CURVE server of its own events for service keys only.

    The test plays intake with CURVE endpoints of intake's kind (an events
    PUB for service keys, a command ROUTER for every principal); in one
    process they are judged by escalation's ZAP handler, from the same
    principals table. Escalation, with its own service key, gets intake's
    complaint-classified messages by publication, opens cases and hands its
    supervisor notices in. On escalation's events PUB a service key reads
    complaint.registered; a plaintext peer and a gateway's key read nothing
    and are counted; a disabled service key is refused after SIGHUP. */
#include "kefu/v1/events.pb-c.h"
#include "kf_log.h"
#include "kf_outbox.h"
#include "kf_store.h"
#include "kf_zap.h"
#include "kt_db.h"
#include "kt_escalation.h"
#include "kt_gw.h"
#include "kt_intake.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define SHOP "shop-esc"
#define DAY  (24 * 3600 * 1000LL)

typedef struct {
    char *db;             //  conninfo
    char dir[256];        //  temp dir: key files
    kf_clock_t *clock;    //  driven clock
    zcert_t *intake_cert; //  the intake stand-in's key pair
    zcert_t *watcher;     //  service principal "watcher"
    zcert_t *gw;          //  gateway principal "gw-a"
    kf_store_t *store;    //  the stand-in's connection
    kf_outbox_t *outbox;  //  intake's events (CURVE PUB)
    zsock_t *commands;    //  intake's command endpoint (CURVE ROUTER)
    kt_escalation_t esc;  //  escalation (in-process, secure)
    char events[64];      //  escalation's events endpoint
    char control[64];     //  escalation's control endpoint
    int64_t customers;    //  complaining customers so far
} fixture_t;

//  The stand-in writes and publishes a complaint-classified customer
//  message (a new customer each time: a new case), as intake does.
static void
s_complaint (fixture_t *f)
{
    int64_t id = ++f->customers;
    char ccid[32], order[32];
    snprintf (ccid, sizeof ccid, "buyer-%lld", (long long) id);
    snprintf (order, sizeof order, "order-%lld", (long long) id);
    Kefu__V1__MessageAccepted m = KEFU__V1__MESSAGE_ACCEPTED__INIT;
    m.message_id = id;
    m.conversation_id = id;
    m.customer_id = id;
    m.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    m.channel_customer_id = ccid;
    m.sender = KEFU__V1__SENDER_ROLE__SENDER_ROLE_CUSTOMER;
    m.body = "东西坏了，我要投诉";
    m.intent = KEFU__V1__INTENT__INTENT_COMPLAINT;
    m.order_id = order;
    m.received_at_ms = m.sent_at_ms = kf_clock_now_ms (f->clock);
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED;
    ev.message_accepted = &m;
    ev.shop_id = SHOP;
    ev.kind = "message.accepted";
    ev.occurred_at_ms = m.received_at_ms;
    assert_int_equal (kf_outbox_add (f->outbox, &ev), 0);
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_begin (f->store, &err) || kf_outbox_flush (f->outbox, &err) ||
        kf_store_commit (f->store, &err))
        fail_msg ("intake stand-in: %s", err.reason);
    kf_outbox_publish (f->outbox);
}

//  A SUB on escalation's events: plaintext when cert is NULL, else a CURVE
//  client with cert trusting escalation's key.
static zsock_t *
s_sub (fixture_t *f, zcert_t *cert)
{
    zcert_t *esc = zcert_load (f->esc.config.secret_key_file);
    zsock_t *sub = kt_events_sub (f->events, cert, zcert_public_txt (esc));
    zcert_destroy (&esc);
    return sub;
}

static bool
s_received (zsock_t *sub, int ms)
{
    return kt_events_received (sub, "escalation/", ms);
}

//  Complaints until sub receives one of escalation's events about them (a
//  SUB that has just connected misses what came before).
static void
s_complain_until_received (fixture_t *f, zsock_t *sub)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        s_complaint (f);
        if (s_received (sub, 300)) {
            while (s_received (sub, 50))
                ;
            return;
        }
    }
    fail_msg ("no escalation event reached the subscriber");
}

static int64_t
s_counter (fixture_t *f, const char *name)
{
    bool insecure = true;
    int64_t value = kt_control_counter (f->control, name, &insecure);
    assert_false (insecure);
    return value;
}

static void
s_wait_failures (fixture_t *f, int64_t n)
{
    assert_true (kt_control_wait (f->control, "auth.handshake_failures", n) >= n);
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("escalation_events_auth");
    kt_shop_add (f->db, SHOP);
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T01:00:00Z"));
    snprintf (f->dir, sizeof f->dir, "/tmp/kefu-test-escalation-auth-%d", getpid ());
    zsys_dir_create ("%s", f->dir);
    char intake_key[512], esc_key[512];
    f->intake_cert = zcert_new ();
    snprintf (intake_key, sizeof intake_key, "%s/intake.key", f->dir);
    assert_int_equal (zcert_save_public (f->intake_cert, intake_key), 0);
    zcert_t *esc = zcert_new ();
    snprintf (esc_key, sizeof esc_key, "%s/escalation.key", f->dir);
    assert_int_equal (zcert_save (esc, esc_key), 0);
    kt_principal_add (f->db, "escalation", "service", esc, true);
    zcert_destroy (&esc);
    f->watcher = zcert_new ();
    f->gw = zcert_new ();
    kt_principal_add (f->db, "watcher", "service", f->watcher, true);
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
    //  Escalation with its service key, trusting intake's public key file.
    kt_escalation_init (&f->esc, f->db, events, commands, f->clock);
    f->esc.config.insecure = false;
    free (f->esc.config.secret_key_file);
    strcat (esc_key, "_secret");
    f->esc.config.secret_key_file = strdup (esc_key);
    free (f->esc.config.server_key_file);
    f->esc.config.server_key_file = strdup (intake_key);
    kt_escalation_run (&f->esc);
    snprintf (f->events, sizeof f->events, "tcp://127.0.0.1:%d",
              kt_escalation_port (&f->esc, "events"));
    snprintf (f->control, sizeof f->control, "tcp://127.0.0.1:%d",
              kt_escalation_port (&f->esc, "control"));
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    kt_escalation_stop (&f->esc);
    zsock_destroy (&f->commands);
    kf_outbox_destroy (&f->outbox);
    kf_store_destroy (&f->store);
    kf_clock_destroy (&f->clock);
    zcert_destroy (&f->intake_cert);
    zcert_destroy (&f->watcher);
    zcert_destroy (&f->gw);
    char cmd[512];
    snprintf (cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal (system (cmd), 0);
    free (f->db);
    free (f);
    return 0;
}

static void
test_escalation_with_keys_reads_intake_and_serves_service_keys_only (void **state)
{
    fixture_t *f = *state;
    zsock_t *plain = s_sub (f, NULL);
    zsock_t *gateway = s_sub (f, f->gw);
    s_wait_failures (f, 2);
    zsock_t *watcher = s_sub (f, f->watcher);
    //  Escalation got intake's events by publication (with its key),
    //  opened cases and published complaint.registered to the service key.
    s_complain_until_received (f, watcher);
    int64_t deadline = zclock_mono () + 10000;
    while (s_counter (f, "events.from_pub") == 0 && zclock_mono () < deadline)
        s_complain_until_received (f, watcher);
    assert_true (s_counter (f, "events.from_pub") > 0);
    assert_true (s_counter (f, "complaints.registered") > 0);
    //  A day later the judge deadline has passed: the supervisors' notice
    //  reaches intake's CURVE command endpoint.
    assert_int_equal (kf_clock_advance (f->clock, DAY + 1), 0);
    zstr_send (f->esc.actor, "SYNC");
    free (zstr_recv (f->esc.actor));
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
test_a_disabled_service_key_is_refused_after_sighup (void **state)
{
    fixture_t *f = *state;
    zsock_t *watcher = s_sub (f, f->watcher);
    s_complain_until_received (f, watcher);
    free (kt_db_query1 (f->db, "UPDATE principals SET disabled_at = now () "
                               "WHERE principal_id = 'watcher'; SELECT 1"));
    int64_t failures = s_counter (f, "auth.handshake_failures");
    //  SIGHUP's RELOAD re-reads the keys at once (otherwise within
    //  KEFU_ESCALATION_AUTH_REFRESH); SYNC answers after it.
    zstr_send (f->esc.actor, "RELOAD");
    zstr_send (f->esc.actor, "SYNC");
    free (zstr_recv (f->esc.actor));
    //  Cut once escalation publishes again; refused when it tries again.
    s_complaint (f);
    s_wait_failures (f, failures + 1);
    while (s_received (watcher, 0)) //  what came before the cut
        ;
    s_complaint (f);
    assert_false (s_received (watcher, 500));
    zsock_destroy (&watcher);
}

int
main (void)
{
    kf_log_init ("test-escalation-events-auth");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_escalation_with_keys_reads_intake_and_serves_service_keys_only, s_setup,
            s_teardown),
        cmocka_unit_test_setup_teardown (test_a_disabled_service_key_is_refused_after_sighup,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
