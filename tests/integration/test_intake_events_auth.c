/*  test_intake_events_auth — intake's events PUB lets in service keys only.

    Intake runs in secure mode; its events endpoint is a CURVE server whose
    handshakes go through the same ZAP handler and principals table as the
    gateway endpoint. A subscriber with a service principal's key gets the
    events by publication; a plaintext peer, an unknown key and a gateway's
    registered key get nothing, and their handshakes are counted. When a
    service principal is disabled, its open subscription is cut and a new
    connection with its key is refused, while other services go on.
    `kefuctl events watch` reads the events with a service key and says
    "refused" without one. */
#include "kefu_gateway.h"
#include "kf_log.h"
#include "kf_store.h"
#include "kf_subscriber.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define SHOP "shop-a"

typedef struct {
    char *db;               //  conninfo
    char dir[256];          //  temp dir: key files
    zcert_t *intake_cert;   //  intake's key pair
    zcert_t *watcher;       //  service principal "watcher"
    zcert_t *other;         //  service principal "other"
    zcert_t *gw;            //  gateway principal "gw-a" (shop-a)
    kt_intake_t *intake;    //  the service, secure
    kefu_gateway_t *client; //  gw-a's gateway (libkefu-gateway, CURVE)
    int pushed;             //  items pushed (their ids)
    int accepted;           //  ACCEPTED acks
} fixture_t;

static void
s_on_ack (const Kefu__V1__Ack *ack, void *arg)
{
    if (ack->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
        ((fixture_t *) arg)->accepted++;
}

//  Push one customer message through gw-a and wait for its ACCEPTED ack.
static void
s_push (fixture_t *f)
{
    char id[32];
    snprintf (id, sizeof id, "m-%d", ++f->pushed);
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, SHOP, id, "tb_1", "在吗", zclock_time ());
    int before = f->accepted;
    assert_int_equal (kefu_gateway_send (f->client, &item), 0);
    assert_int_equal (kefu_gateway_flush (f->client, 10000), 0);
    assert_int_equal (f->accepted, before + 1);
}

//  A SUB on intake's events: plaintext when cert is NULL, else a CURVE
//  client with cert trusting intake.
static zsock_t *
s_sub (fixture_t *f, zcert_t *cert)
{
    return kt_events_sub (f->intake->events_endpoint, cert, zcert_public_txt (f->intake_cert));
}

static bool
s_received (zsock_t *sub, int ms)
{
    return kt_events_received (sub, "intake/", ms);
}

//  Push items until sub receives a publication (a SUB that has just
//  connected misses what is published before its subscription arrives).
static void
s_push_until_received (fixture_t *f, zsock_t *sub)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        s_push (f);
        if (s_received (sub, 200)) {
            while (s_received (sub, 50)) //  the rest of the batch's events
                ;
            return;
        }
    }
    fail_msg ("no event reached the subscriber");
}

static int64_t
s_failures (fixture_t *f)
{
    bool insecure = true;
    int64_t value = kt_intake_counter (f->intake, "auth.handshake_failures", &insecure);
    assert_false (insecure);
    return value;
}

//  Wait until intake has counted at least n failed handshakes (its monitor
//  reports them asynchronously).
static void
s_wait_failures (fixture_t *f, int64_t n)
{
    assert_true (kt_control_wait (f->intake->control_endpoint, "auth.handshake_failures", n) >= n);
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("intake_events_auth");
    kt_shop_add (f->db, SHOP);
    snprintf (f->dir, sizeof f->dir, "/tmp/kefu-test-events-auth-%d", getpid ());
    zsys_dir_create ("%s", f->dir);
    char path[512];
    f->intake_cert = zcert_new ();
    snprintf (path, sizeof path, "%s/intake.key", f->dir);
    assert_int_equal (zcert_save (f->intake_cert, path), 0);
    f->gw = zcert_new ();
    snprintf (path, sizeof path, "%s/gw-a.key", f->dir);
    assert_int_equal (zcert_save (f->gw, path), 0);
    f->watcher = zcert_new ();
    snprintf (path, sizeof path, "%s/watcher.key", f->dir);
    assert_int_equal (zcert_save (f->watcher, path), 0);
    f->other = zcert_new ();
    kt_principal_add (f->db, "gw-a", "gateway", f->gw, false);
    free (kt_db_query1 (f->db, "INSERT INTO principal_shops (shop_id, principal_id) "
                               "VALUES ('shop-a', 'gw-a'); SELECT 1"));
    kt_principal_add (f->db, "watcher", "service", f->watcher, true);
    kt_principal_add (f->db, "other", "service", f->other, true);
    f->intake = kt_intake_new (f->db, NULL);
    f->intake->config.insecure = false;
    free (f->intake->config.secret_key_file);
    snprintf (path, sizeof path, "%s/intake.key_secret", f->dir);
    f->intake->config.secret_key_file = strdup (path);
    kt_intake_start (f->intake);
    kefu_gateway_options_t opts = kefu_gateway_options_default ();
    opts.endpoint = f->intake->gateway_endpoint;
    opts.gateway_id = "gw-a";
    opts.server_public_key = zcert_public_txt (f->intake_cert);
    snprintf (path, sizeof path, "%s/gw-a.key_secret", f->dir);
    opts.secret_key_file = path;
    f->client = kefu_gateway_new (&opts);
    assert_non_null (f->client);
    kefu_gateway_on_ack (f->client, s_on_ack, f);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    kefu_gateway_destroy (&f->client);
    kt_intake_destroy (&f->intake);
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

static int
s_count_event (kf_store_t *store, const Kefu__V1__Event *event, void *arg, kf_error_t *err)
{
    (void) store;
    (void) event;
    (void) err;
    (*(int *) arg)++;
    return 0;
}

static void
test_a_service_key_gets_events_by_publication (void **state)
{
    fixture_t *f = *state;
    kf_store_t *store = kf_store_new (f->db, "test-watcher");
    int applied = 0;
    kf_subscriber_t *sub = kf_subscriber_new ("watcher", store, s_count_event, &applied);
    assert_int_equal (kf_subscriber_follow_curve (sub, "intake", f->intake->events_endpoint,
                                                  f->watcher, zcert_public_txt (f->intake_cert)),
                      0);
    assert_int_equal (kf_subscriber_start (sub), 0);
    //  By publication, not from the table: the subscriber reads the table
    //  only when it polls, and it never polls here.
    kf_subscriber_stats_t stats = {0};
    for (int attempt = 0; attempt < 50 && stats.from_pub == 0; attempt++) {
        s_push (f);
        if (!kt_gw_silent (kf_subscriber_socket (sub), 200))
            kf_subscriber_handle (sub);
        kf_subscriber_stats (sub, &stats);
    }
    assert_true (stats.from_pub > 0);
    assert_true (applied > 0);
    assert_int_equal (s_failures (f), 0);
    kf_subscriber_destroy (&sub);
    kf_store_destroy (&store);
}

static void
test_peers_without_a_service_key_read_nothing (void **state)
{
    fixture_t *f = *state;
    zcert_t *stranger = zcert_new ();
    zsock_t *plain = s_sub (f, NULL);
    zsock_t *unknown = s_sub (f, stranger);
    zsock_t *gateway = s_sub (f, f->gw); //  registered, but not a service's key
    //  Each has tried and been refused (they keep trying: at least 3).
    s_wait_failures (f, 3);
    zsock_t *service = s_sub (f, f->watcher);
    s_push_until_received (f, service);
    s_push (f);
    assert_true (s_received (service, 5000));
    assert_false (s_received (plain, 300));
    assert_false (s_received (unknown, 0));
    assert_false (s_received (gateway, 0));
    zsock_destroy (&service);
    zsock_destroy (&gateway);
    zsock_destroy (&unknown);
    zsock_destroy (&plain);
    zcert_destroy (&stranger);
}

static void
test_a_disabled_service_key_is_cut_off_and_refused (void **state)
{
    fixture_t *f = *state;
    zsock_t *watcher = s_sub (f, f->watcher);
    zsock_t *other = s_sub (f, f->other);
    s_push_until_received (f, watcher);
    s_push_until_received (f, other);
    free (kt_db_query1 (f->db, "UPDATE principals SET disabled_at = now () "
                               "WHERE principal_id = 'watcher'; SELECT 1"));
    //  SIGHUP's RELOAD re-reads principals at once (otherwise within
    //  KEFU_INTAKE_AUTH_REFRESH).
    int64_t failures = s_failures (f);
    kt_intake_reload (f->intake);
    //  The open subscription is cut (libzmq ends the connection once the
    //  PUB is used again: the next publication): every subscriber was
    //  disconnected, the other service's key is let in again and gets
    //  events, the disabled key is refused when it tries again.
    s_push_until_received (f, other);
    s_wait_failures (f, failures + 1);
    while (s_received (watcher, 0)) //  what came before the cut
        ;
    s_push_until_received (f, other);
    assert_false (s_received (watcher, 300));
    //  A new connection with the disabled key: refused, reads nothing. (A
    //  refused peer does not try again: exactly one more.)
    failures = s_failures (f);
    zsock_t *again = s_sub (f, f->watcher);
    s_wait_failures (f, failures + 1);
    s_push (f);
    assert_true (s_received (other, 5000));
    assert_false (s_received (again, 300));
    assert_false (s_received (watcher, 0));
    zsock_destroy (&again);
    zsock_destroy (&other);
    zsock_destroy (&watcher);
}

//  kefuctl events watch with a service key, in a thread while the test
//  pushes items.
typedef struct {
    fixture_t *f; //  the fixture
    kt_run_t run; //  what kefuctl did
} s_watch_t;

static void
s_watch_actor (zsock_t *pipe, void *args)
{
    s_watch_t *w = args;
    char server[300], secret[300];
    snprintf (server, sizeof server, "%s/intake.key", w->f->dir);
    snprintf (secret, sizeof secret, "%s/watcher.key_secret", w->f->dir);
    zsock_signal (pipe, 0);
    kt_kefuctl (w->f->db, &w->run, "events", "watch", w->f->intake->events_endpoint,
                "--server-key-file", server, "--secret-key-file", secret, "--count", "1",
                "--timeout", "60s", NULL);
    zstr_send (pipe, "DONE");
    char *term = zstr_recv (pipe);
    zstr_free (&term);
}

static void
test_kefuctl_events_watch_reads_with_a_service_key_only (void **state)
{
    fixture_t *f = *state;
    char server[300], secret[300];
    snprintf (server, sizeof server, "%s/intake.key", f->dir);
    snprintf (secret, sizeof secret, "%s/gw-a.key_secret", f->dir);
    //  Refused at once (libzmq does not try again): exit 1, nothing read.
    KT_EXPECT (f->db, 1, "events", "watch", f->intake->events_endpoint, "--timeout", "60s");
    assert_non_null (strstr (kt_kefuctl_last.err, "refused"));
    assert_string_equal (kt_kefuctl_last.out, "");
    KT_EXPECT (f->db, 1, "events", "watch", f->intake->events_endpoint, "--server-key-file", server,
               "--secret-key-file", secret, "--timeout", "60s");
    assert_non_null (strstr (kt_kefuctl_last.err, "refused"));
    assert_string_equal (kt_kefuctl_last.out, "");
    //  With a service key: the events of the items pushed meanwhile.
    s_watch_t *w = calloc (1, sizeof *w);
    w->f = f;
    zactor_t *watch = zactor_new (s_watch_actor, w);
    char *done = NULL;
    for (int attempt = 0; attempt < 50 && !done; attempt++) {
        s_push (f);
        if (!kt_gw_silent (zactor_sock (watch), 300))
            done = zstr_recv (watch);
    }
    assert_non_null (done);
    zstr_free (&done);
    zactor_destroy (&watch);
    assert_int_equal (w->run.rc, 0);
    assert_non_null (strstr (w->run.out, "\"stream\":\"intake\""));
    assert_non_null (strstr (w->run.out, "\"shop_id\":\"shop-a\""));
    assert_non_null (strstr (w->run.err, "connected"));
    free (w);
}

int
main (void)
{
    kf_log_init ("test-intake-events-auth");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_a_service_key_gets_events_by_publication, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_peers_without_a_service_key_read_nothing, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_disabled_service_key_is_cut_off_and_refused,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_kefuctl_events_watch_reads_with_a_service_key_only,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
