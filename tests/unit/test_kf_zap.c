/*  test_kf_zap — the ZAP handler: keys to principals, domains by role.

    Usage, as a service does it: start kf_zap before any bind, give it the
    principals (kf_zap_allow ... kf_zap_commit, or kf_zap_load from the
    store), make the sockets CURVE servers in their domain, and watch their
    handshakes with a monitor. A client DEALER or SUB on loopback then finds
    out what gets through: every known key on the clients' domain (with its
    principal as metadata), only service and admin keys on the events'
    domain, nothing from an unknown key or a plaintext peer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kf_log.h"
#include "kf_zap.h"

typedef struct {
    kf_zap_t *zap;    //  the handler
    zcert_t *server;  //  the service's key pair
    zcert_t *service; //  principal "routing", role service
    zcert_t *gateway; //  principal "gw-1", role gateway
    zsock_t *router;  //  domain KF_ZAP_CLIENTS
    zsock_t *pub;     //  domain KF_ZAP_EVENTS
    zsock_t *monitor; //  the PUB's failed handshakes
    int router_port;  //  bound ports
    int pub_port;
} fixture_t;

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    char why[256];
    f->zap = kf_zap_new (why, sizeof why);
    assert_non_null (f->zap);
    f->server = zcert_new ();
    f->service = zcert_new ();
    f->gateway = zcert_new ();
    kf_zap_allow (f->zap, "routing", "service", zcert_public_txt (f->service));
    kf_zap_allow (f->zap, "gw-1", "gateway", zcert_public_txt (f->gateway));
    assert_int_equal (kf_zap_commit (f->zap), KF_ZAP_ADDED);
    f->router = zsock_new (ZMQ_ROUTER);
    kf_zap_curve_server (f->router, f->server, KF_ZAP_CLIENTS);
    f->router_port = zsock_bind (f->router, "tcp://127.0.0.1:*");
    f->pub = zsock_new (ZMQ_PUB);
    kf_zap_curve_server (f->pub, f->server, KF_ZAP_EVENTS);
    f->pub_port = zsock_bind (f->pub, "tcp://127.0.0.1:*");
    assert_true (f->router_port > 0 && f->pub_port > 0);
    f->monitor = kf_zap_monitor (f->pub, KF_ZAP_FAILED);
    assert_non_null (f->monitor);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    kf_zap_monitor_destroy (f->pub, &f->monitor);
    zsock_destroy (&f->pub);
    zsock_destroy (&f->router);
    kf_zap_destroy (&f->zap);
    zcert_destroy (&f->server);
    zcert_destroy (&f->service);
    zcert_destroy (&f->gateway);
    free (f);
    return 0;
}

//  A client socket with cert's keys (NULL: plaintext) connected to port.
static zsock_t *
s_client (fixture_t *f, int type, zcert_t *cert, int port)
{
    zsock_t *sock = zsock_new (type);
    if (cert)
        kf_zap_curve_client (sock, cert, zcert_public_txt (f->server));
    if (type == ZMQ_SUB)
        zsock_set_subscribe (sock, "");
    assert_int_equal (zsock_connect (sock, "tcp://127.0.0.1:%d", port), 0);
    return sock;
}

static bool
s_readable (zsock_t *sock, int ms)
{
    zpoller_t *poller = zpoller_new (sock, NULL);
    bool readable = zpoller_wait (poller, ms) != NULL;
    zpoller_destroy (&poller);
    return readable;
}

//  Publish until sub receives (a new subscriber misses what comes before
//  its subscription); false if nothing came within ~2 s.
static bool
s_sub_receives (fixture_t *f, zsock_t *sub)
{
    for (int i = 0; i < 20; i++) {
        zstr_send (f->pub, "routing/00/conversation.assigned");
        if (s_readable (sub, 100)) {
            char *got = zstr_recv (sub);
            zstr_free (&got);
            return true;
        }
    }
    return false;
}

//  Wait for n failed handshakes on the PUB (reported asynchronously).
static void
s_expect_failures (fixture_t *f, int n)
{
    int failures = 0;
    while (failures < n && s_readable (f->monitor, 5000))
        failures += kf_zap_failures (f->monitor, "test.handshake_failed");
    assert_true (failures >= n);
}

static void
test_clients_domain_lets_in_every_known_key_with_its_principal (void **state)
{
    fixture_t *f = *state;
    zsock_t *dealer = s_client (f, ZMQ_DEALER, f->gateway, f->router_port);
    zstr_send (dealer, "hello");
    assert_true (s_readable (f->router, 5000));
    zframe_t *identity = zframe_recv (f->router);
    zframe_t *body = zframe_recv (f->router);
    assert_string_equal (zframe_meta (body, "principal"), "gw-1");
    assert_string_equal (zframe_meta (body, "role"), "gateway");
    assert_string_equal (zframe_meta (body, "key"), zcert_public_txt (f->gateway));
    zframe_destroy (&identity);
    zframe_destroy (&body);
    zsock_destroy (&dealer);
}

static void
test_events_domain_lets_in_service_keys_only (void **state)
{
    fixture_t *f = *state;
    zcert_t *stranger = zcert_new ();
    zsock_t *gateway = s_client (f, ZMQ_SUB, f->gateway, f->pub_port);
    zsock_t *unknown = s_client (f, ZMQ_SUB, stranger, f->pub_port);
    zsock_t *plain = s_client (f, ZMQ_SUB, NULL, f->pub_port);
    s_expect_failures (f, 3);
    zsock_t *service = s_client (f, ZMQ_SUB, f->service, f->pub_port);
    assert_true (s_sub_receives (f, service));
    assert_false (s_readable (gateway, 200));
    assert_false (s_readable (unknown, 0));
    assert_false (s_readable (plain, 0));
    zsock_destroy (&service);
    zsock_destroy (&plain);
    zsock_destroy (&unknown);
    zsock_destroy (&gateway);
    zcert_destroy (&stranger);
}

static void
test_a_commit_says_what_changed_and_a_removed_key_is_refused (void **state)
{
    fixture_t *f = *state;
    kf_zap_allow (f->zap, "routing", "service", zcert_public_txt (f->service));
    kf_zap_allow (f->zap, "gw-1", "gateway", zcert_public_txt (f->gateway));
    assert_int_equal (kf_zap_commit (f->zap), KF_ZAP_SAME);
    //  The service's role changes: a revocation for the events.
    kf_zap_allow (f->zap, "routing", "supervisor", zcert_public_txt (f->service));
    kf_zap_allow (f->zap, "gw-1", "gateway", zcert_public_txt (f->gateway));
    assert_int_equal (kf_zap_commit (f->zap), KF_ZAP_REVOKED);
    zsock_t *sub = s_client (f, ZMQ_SUB, f->service, f->pub_port);
    s_expect_failures (f, 1);
    assert_false (s_sub_receives (f, sub));
    zsock_destroy (&sub);
    //  An empty commit refuses everyone, even on the clients' domain.
    assert_int_equal (kf_zap_commit (f->zap), KF_ZAP_REVOKED);
    zsock_t *dealer = s_client (f, ZMQ_DEALER, f->gateway, f->router_port);
    zsock_set_sndtimeo (dealer, 100);
    zstr_send (dealer, "hello");
    assert_false (s_readable (f->router, 1000));
    zsock_destroy (&dealer);
}

static void
test_one_handler_per_process (void **state)
{
    (void) state;
    char why[256] = "";
    kf_zap_t *second = kf_zap_new (why, sizeof why);
    assert_null (second);
    assert_non_null (strstr (why, "ZAP handler"));
}

static void
test_keys_from_files (void **state)
{
    fixture_t *f = *state;
    char dir[] = "/tmp/kefu-test-zap-XXXXXX";
    assert_non_null (mkdtemp (dir));
    char path[128], why[256];
    snprintf (path, sizeof path, "%s/routing.key", dir);
    assert_int_equal (zcert_save_public (f->service, path), 0);
    char key[41];
    assert_int_equal (kf_zap_public_key ("", path, key, why, sizeof why), 0);
    assert_string_equal (key, zcert_public_txt (f->service));
    //  A public key alone is not a key pair.
    assert_null (kf_zap_key_pair (path, why, sizeof why));
    assert_int_equal (zcert_save (f->service, path), 0); //  .key and .key_secret
    strcat (path, "_secret");
    zcert_t *pair = kf_zap_key_pair (path, why, sizeof why);
    assert_non_null (pair);
    assert_string_equal (zcert_secret_txt (pair), zcert_secret_txt (f->service));
    zcert_destroy (&pair);
    assert_int_equal (kf_zap_public_key ("not a key", NULL, key, why, sizeof why), -1);
    char cmd[160];
    snprintf (cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal (system (cmd), 0);
}

int
main (void)
{
    kf_log_init ("test-kf-zap");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (
            test_clients_domain_lets_in_every_known_key_with_its_principal, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_events_domain_lets_in_service_keys_only, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (
            test_a_commit_says_what_changed_and_a_removed_key_is_refused, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_one_handler_per_process, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_keys_from_files, s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
