/*  test_metrics_events_auth — metrics with keys follows intake's and
    routing's events as a CURVE client.

    The test plays intake and routing with event PUBs of their kind (CURVE
    servers for service keys, their own key pairs); in one process they are
    judged by metrics' ZAP handler, from the same principals table. Metrics,
    with its service key and the writers' public keys, gets their events by
    publication and counts them. With a wrong key for intake it is refused
    there, and still counts every event: what the socket cannot give it,
    it reads from the events table. */
#include "kefu/v1/events.pb-c.h"
#include "kf_outbox.h"
#include "kf_store.h"
#include "kt_db.h"
#include "kt_intake.h"
#include "kt_metrics.h"

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
    char *db;                    //  conninfo
    char dir[256];               //  temp dir: key files
    kf_clock_t *clock;           //  driven clock
    zcert_t *intake;             //  the intake stand-in's key pair
    zcert_t *routing;            //  the routing stand-in's key pair
    kf_store_t *store;           //  the stand-ins' connection
    kf_outbox_t *intake_events;  //  intake's events (CURVE PUB)
    kf_outbox_t *routing_events; //  routing's events (CURVE PUB)
    kt_metrics_t metrics;        //  metrics (in-process, secure)
    int64_t seq;                 //  ids of conversations and messages
} fixture_t;

//  A stand-in writes and publishes one event, as intake and routing do.
static void
s_publish (fixture_t *f, kf_outbox_t *outbox, Kefu__V1__Event *ev)
{
    ev->shop_id = SHOP;
    ev->occurred_at_ms = kf_clock_now_ms (f->clock);
    assert_int_equal (kf_outbox_add (outbox, ev), 0);
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_begin (f->store, &err) || kf_outbox_flush (outbox, &err) ||
        kf_store_commit (f->store, &err))
        fail_msg ("stand-in: %s", err.reason);
    kf_outbox_publish (outbox);
}

//  A customer writes (a new conversation) and routing assigns it.
static void
s_conversation (fixture_t *f)
{
    int64_t id = ++f->seq;
    Kefu__V1__ConversationOpened o = KEFU__V1__CONVERSATION_OPENED__INIT;
    o.conversation_id = id;
    o.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    o.channel_customer_id = "buyer";
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.kind = "conversation.opened";
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_OPENED;
    ev.conversation_opened = &o;
    s_publish (f, f->intake_events, &ev);
    Kefu__V1__MessageAccepted m = KEFU__V1__MESSAGE_ACCEPTED__INIT;
    m.message_id = id;
    m.conversation_id = id;
    m.channel = KEFU__V1__CHANNEL__CHANNEL_PLATFORM_CHAT;
    m.sender = KEFU__V1__SENDER_ROLE__SENDER_ROLE_CUSTOMER;
    m.sent_at_ms = kf_clock_now_ms (f->clock);
    Kefu__V1__Event msg = KEFU__V1__EVENT__INIT;
    msg.kind = "message.accepted";
    msg.payload_case = KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED;
    msg.message_accepted = &m;
    s_publish (f, f->intake_events, &msg);
    Kefu__V1__ConversationAssigned a = KEFU__V1__CONVERSATION_ASSIGNED__INIT;
    a.conversation_id = id;
    a.agent_id = "xiaomei";
    a.group = "presales";
    Kefu__V1__Event as = KEFU__V1__EVENT__INIT;
    as.kind = "conversation.assigned";
    as.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_ASSIGNED;
    as.conversation_assigned = &a;
    s_publish (f, f->routing_events, &as);
}

static char *
s_key_file (fixture_t *f, const char *name, zcert_t *cert)
{
    char path[512];
    snprintf (path, sizeof path, "%s/%s.key", f->dir, name);
    assert_int_equal (zcert_save (cert, path), 0);
    return strdup (path);
}

static void
s_start (fixture_t *f, bool wrong_intake_key)
{
    f->db = kt_db_fresh ("metrics_events_auth");
    kt_shop_add (f->db, SHOP);
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T01:00:00Z"));
    snprintf (f->dir, sizeof f->dir, "/tmp/kefu-test-metrics-auth-%d", getpid ());
    zsys_dir_create ("%s", f->dir);
    f->intake = zcert_new ();
    f->routing = zcert_new ();
    zcert_t *metrics = zcert_new ();
    zcert_t *stranger = zcert_new ();
    kt_principal_add (f->db, "intake", "service", f->intake, true);
    kt_principal_add (f->db, "routing", "service", f->routing, true);
    kt_principal_add (f->db, "metrics", "service", metrics, true);
    char *metrics_file = s_key_file (f, "metrics", metrics);
    char *intake_file = s_key_file (f, "intake", wrong_intake_key ? stranger : f->intake);
    char *routing_file = s_key_file (f, "routing", f->routing);
    zcert_destroy (&metrics);
    zcert_destroy (&stranger);
    //  The stand-ins' PUBs.
    f->store = kf_store_new (f->db, "test-writers-stand-in");
    assert_int_equal (kf_store_connect (f->store), 0);
    f->intake_events = kf_outbox_new ("intake", f->store);
    kf_outbox_secure (f->intake_events, f->intake);
    int intake_port = kf_outbox_bind (f->intake_events, "tcp://127.0.0.1:*");
    f->routing_events = kf_outbox_new ("routing", f->store);
    kf_outbox_secure (f->routing_events, f->routing);
    int routing_port = kf_outbox_bind (f->routing_events, "tcp://127.0.0.1:*");
    assert_true (intake_port > 0 && routing_port > 0);
    char intake[64], routing[64];
    snprintf (intake, sizeof intake, "tcp://127.0.0.1:%d", intake_port);
    snprintf (routing, sizeof routing, "tcp://127.0.0.1:%d", routing_port);
    //  Metrics with its service key, trusting the writers' key files.
    kt_metrics_init (&f->metrics, f->db, intake, routing);
    f->metrics.config.insecure = false;
    char secret[600];
    snprintf (secret, sizeof secret, "%s_secret", metrics_file);
    free (f->metrics.config.secret_key_file);
    f->metrics.config.secret_key_file = strdup (secret);
    free (f->metrics.config.intake_key_file);
    f->metrics.config.intake_key_file = intake_file;
    free (f->metrics.config.routing_key_file);
    f->metrics.config.routing_key_file = routing_file;
    free (metrics_file);
    kt_metrics_start (&f->metrics, f->clock);
}

static int
s_setup (void **state)
{
    *state = calloc (1, sizeof (fixture_t));
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    if (f->metrics.actor)
        kt_metrics_stop (&f->metrics);
    kt_metrics_free (&f->metrics);
    kf_outbox_destroy (&f->intake_events);
    kf_outbox_destroy (&f->routing_events);
    kf_store_destroy (&f->store);
    kf_clock_destroy (&f->clock);
    zcert_destroy (&f->intake);
    zcert_destroy (&f->routing);
    char cmd[512];
    snprintf (cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal (system (cmd), 0);
    free (f->db);
    free (f);
    return 0;
}

//  The customers metrics counted (its rollups).
static long long
s_customers (fixture_t *f)
{
    return kt_db_count (f->db, "SELECT coalesce (sum (conv_customer), 0) FROM metrics_hours "
                               "WHERE shop_id = 'shop-ev'");
}

static void
test_metrics_with_keys_reads_the_writers_events_by_publication (void **state)
{
    fixture_t *f = *state;
    s_start (f, false);
    //  A SUB that has just connected may miss what came first: publish
    //  until the socket delivers.
    int64_t deadline = zclock_mono () + 10000;
    while (kt_metrics_counter (&f->metrics, "events.from_pub") < 6 && zclock_mono () < deadline) {
        s_conversation (f);
        zclock_sleep (50);
    }
    assert_true (kt_metrics_counter (&f->metrics, "events.from_pub") >= 6);
    kt_metrics_settle (&f->metrics, f->db);
    assert_int_equal (s_customers (f), f->seq);
    assert_int_equal (kt_metrics_counter (&f->metrics, "auth.handshake_failures"), 0);
}

static void
test_a_refused_subscription_still_counts_every_event_from_the_table (void **state)
{
    fixture_t *f = *state;
    s_start (f, true);
    for (int i = 0; i < 5; i++)
        s_conversation (f);
    kt_metrics_settle (&f->metrics, f->db);
    assert_int_equal (s_customers (f), 5);
    //  Intake's stand-in refused metrics (it trusts another key for
    //  intake): those events came from the table.
    assert_true (kt_metrics_counter (&f->metrics, "events.from_table") >= 10);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_metrics_with_keys_reads_the_writers_events_by_publication, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_refused_subscription_still_counts_every_event_from_the_table, s_setup,
            s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
