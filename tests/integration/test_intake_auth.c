/*  test_intake_auth — CURVE keys, ZAP, shop scope and revocation.

    Intake runs in secure mode with its own key pair; principals and their
    shops live in the database. A gateway with its registered key works for
    its own shop only, under the gateway ids registered to its key; a wrong
    key, or a plaintext client, gets nothing through and is counted; a key
    whose role may not send items has them refused for good; a revoked key
    stops working on the open session.
    Before any of that, the mechanism intake relies on to fail closed: a
    CURVE server with ZAP_ENFORCE_DOMAIN and no ZAP handler refuses everyone. */
#include "kefu/v1/control.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_control.h"
#include "kf_log.h"
#include "kf_wire.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"

#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

typedef struct {
    char *db;            //  conninfo
    char dir[256];       //  temp dir: key files
    zcert_t *server;     //  intake's key pair
    zcert_t *gw_a;       //  registered key of gateway "gw-a" (shop-a only)
    zcert_t *gw_b;       //  gateway "gw-b", same shop
    zcert_t *sup_a;      //  supervisor "sup-a" of shop-a
    kt_intake_t *intake; //  the service
} fixture_t;

static void
s_sql (const char *conninfo, const char *sql, const char *p1, const char *p2)
{
    PGconn *conn = PQconnectdb (conninfo);
    const char *values[] = {p1, p2};
    int n = p2 ? 2 : p1 ? 1 : 0;
    PGresult *res = PQexecParams (conn, sql, n, NULL, values, NULL, NULL, 0);
    if (PQresultStatus (res) != PGRES_COMMAND_OK)
        fail_msg ("%s: %s", sql, PQresultErrorMessage (res));
    PQclear (res);
    PQfinish (conn);
}

static int64_t
s_counter (fixture_t *f, const char *name)
{
    bool insecure = true;
    int64_t value = kt_intake_counter (f->intake, name, &insecure);
    assert_false (insecure);
    return value;
}

//  A DEALER with a client key pair pointed at intake's public key.
static zsock_t *
s_curve_client (fixture_t *f, zcert_t *cert)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    zcert_apply (cert, sock);
    zsock_set_curve_serverkey (sock, zcert_public_txt (f->server));
    return sock;
}

//  Connect sock and say Hello as gateway_id; *welcomed says whether a
//  Welcome came back, *code the Reject's code (0 when none).
static zsock_t *
s_hello_as (zsock_t *sock, const char *endpoint, const char *gateway_id, bool *welcomed, int *code)
{
    assert_int_equal (zsock_connect (sock, "%s", endpoint), 0);
    Kefu__V1__Hello hello = KEFU__V1__HELLO__INIT;
    hello.gateway_id = kt_text (gateway_id);
    hello.protocol_version = KEFU__V1__GATEWAY_PROTOCOL__GATEWAY_PROTOCOL_V1;
    Kefu__V1__GatewayFrame frame = KEFU__V1__GATEWAY_FRAME__INIT;
    frame.body_case = KEFU__V1__GATEWAY_FRAME__BODY_HELLO;
    frame.hello = &hello;
    zsock_set_sndtimeo (sock, 100);
    kt_gw_send (sock, &frame);
    *welcomed = false;
    *code = 0;
    if (!kt_gw_silent (sock, 2000)) {
        Kefu__V1__IntakeFrame *in = kt_gw_recv (sock);
        *welcomed = in->body_case == KEFU__V1__INTAKE_FRAME__BODY_WELCOME;
        if (in->body_case == KEFU__V1__INTAKE_FRAME__BODY_REJECT)
            *code = in->reject->code;
        kefu__v1__intake_frame__free_unpacked (in, NULL);
    }
    return sock;
}

static zsock_t *
s_hello (zsock_t *sock, const char *endpoint, bool *welcomed)
{
    int code;
    return s_hello_as (sock, endpoint, "gw-a", welcomed, &code);
}

//  Send a customer message with id on sock; return the ack's status, and
//  its code in *code.
static int
s_push (zsock_t *sock, const char *id, int *code)
{
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, "shop-a", id, "tb_1", "在吗", zclock_time ());
    kt_gw_send_item (sock, &item);
    Kefu__V1__IntakeFrame *in = kt_gw_recv (sock);
    assert_int_equal (in->body_case, KEFU__V1__INTAKE_FRAME__BODY_ACK);
    int status = in->ack->status;
    *code = in->ack->code;
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    return status;
}

//  Register a principal of shop-a with kefuctl, its key from cert.
static void
s_principal_add (fixture_t *f, const char *id, const char *role, zcert_t *cert)
{
    KT_EXPECT (f->db, 0, "principal", "add", id, "--role", role, "--shops", "shop-a", "--key",
               zcert_public_txt (cert));
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("intake_auth");
    kt_shop_add (f->db, "shop-a");
    kt_shop_add (f->db, "shop-b");
    snprintf (f->dir, sizeof f->dir, "/tmp/kefu-test-auth-%d", getpid ());
    zsys_dir_create ("%s", f->dir);
    f->server = zcert_new ();
    char path[512];
    snprintf (path, sizeof path, "%s/intake.key", f->dir);
    assert_int_equal (zcert_save (f->server, path), 0);
    f->gw_a = zcert_new ();
    f->gw_b = zcert_new ();
    f->sup_a = zcert_new ();
    s_principal_add (f, "gw-a", "gateway", f->gw_a);
    s_principal_add (f, "gw-b", "gateway", f->gw_b);
    s_principal_add (f, "sup-a", "supervisor", f->sup_a);
    f->intake = kt_intake_new (f->db, NULL);
    f->intake->config.insecure = false;
    free (f->intake->config.secret_key_file);
    snprintf (path, sizeof path, "%s/intake.key_secret", f->dir);
    f->intake->config.secret_key_file = strdup (path);
    kt_intake_start (f->intake);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    kt_intake_destroy (&f->intake);
    zcert_destroy (&f->server);
    zcert_destroy (&f->gw_a);
    zcert_destroy (&f->gw_b);
    zcert_destroy (&f->sup_a);
    char cmd[512];
    snprintf (cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal (system (cmd), 0);
    free (f->db);
    free (f);
    return 0;
}

//  Must run first, before any ZAP handler exists in this process.
static void
test_curve_without_zap_handler_fails_closed (void **state)
{
    (void) state;
    zcert_t *server = zcert_new ();
    zcert_t *client = zcert_new ();
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zcert_apply (server, router);
    zsock_set_curve_server (router, 1);
    zsock_set_zap_domain (router, "kefu");
    int enforce = 1;
    assert_int_equal (
        zmq_setsockopt (zsock_resolve (router), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce, sizeof enforce),
        0);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    assert_true (port > 0);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zcert_apply (client, dealer);
    zsock_set_curve_serverkey (dealer, zcert_public_txt (server));
    zsock_connect (dealer, "tcp://127.0.0.1:%d", port);
    zsock_set_sndtimeo (dealer, 100);
    zstr_send (dealer, "let me in");
    assert_true (kt_gw_silent (router, 1500));
    zsock_destroy (&dealer);
    zsock_destroy (&router);
    zcert_destroy (&server);
    zcert_destroy (&client);
}

static void
test_registered_key_is_scoped_to_its_shops (void **state)
{
    fixture_t *f = *state;
    bool welcomed = false;
    zsock_t *gw = s_hello (s_curve_client (f, f->gw_a), f->intake->gateway_endpoint, &welcomed);
    assert_true (welcomed);
    Kefu__V1__InboundItem item;
    Kefu__V1__CustomerMessage msg;
    kt_gw_message (&item, &msg, "shop-a", "a-1", "tb_1", "在吗", zclock_time ());
    kt_gw_send_item (gw, &item);
    Kefu__V1__IntakeFrame *in = kt_gw_recv (gw);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    //  A key for shop A pushing for shop B: refused, nothing stored, counted.
    kt_gw_message (&item, &msg, "shop-b", "b-1", "tb_1", "在吗", zclock_time ());
    kt_gw_send_item (gw, &item);
    in = kt_gw_recv (gw);
    assert_int_equal (in->ack->status, KEFU__V1__ACK_STATUS__ACK_REJECTED);
    assert_int_equal (in->ack->code, KEFU__V1__ERROR_CODE__ERROR_SHOP_OUT_OF_SCOPE);
    kefu__v1__intake_frame__free_unpacked (in, NULL);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages WHERE shop_id = 'shop-b'"),
                      0);
    assert_int_equal (s_counter (f, "items.rejected.shop_out_of_scope"), 1);
    zsock_destroy (&gw);
}

static void
test_wrong_key_and_plaintext_get_nothing_through (void **state)
{
    fixture_t *f = *state;
    zcert_t *stranger = zcert_new ();
    bool welcomed = true;
    zsock_t *gw = s_hello (s_curve_client (f, stranger), f->intake->gateway_endpoint, &welcomed);
    assert_false (welcomed);
    zsock_destroy (&gw);
    zcert_destroy (&stranger);
    //  A plaintext client against the CURVE endpoint.
    welcomed = true;
    gw = s_hello (zsock_new (ZMQ_DEALER), f->intake->gateway_endpoint, &welcomed);
    assert_false (welcomed);
    zsock_destroy (&gw);
    //  A client that trusts the wrong server key.
    zsock_t *confused = zsock_new (ZMQ_DEALER);
    zcert_t *fake_server = zcert_new ();
    zcert_apply (f->gw_a, confused);
    zsock_set_curve_serverkey (confused, zcert_public_txt (fake_server));
    welcomed = true;
    s_hello (confused, f->intake->gateway_endpoint, &welcomed);
    assert_false (welcomed);
    zsock_destroy (&confused);
    zcert_destroy (&fake_server);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages"), 0);
    //  The handshake failures are counted (the monitor reports asynchronously).
    int64_t deadline = zclock_mono () + 5000;
    while (s_counter (f, "auth.handshake_failures") < 2 && zclock_mono () < deadline)
        zclock_sleep (20);
    assert_true (s_counter (f, "auth.handshake_failures") >= 2);
}

static void
test_revoked_key_stops_working (void **state)
{
    fixture_t *f = *state;
    bool welcomed = false;
    zsock_t *gw = s_hello (s_curve_client (f, f->gw_a), f->intake->gateway_endpoint, &welcomed);
    assert_true (welcomed);
    s_sql (f->db, "UPDATE principals SET disabled_at = now () WHERE principal_id = 'gw-a'", NULL,
           NULL);
    //  SIGHUP's RELOAD re-reads principals at once (otherwise within
    //  KEFU_INTAKE_AUTH_REFRESH).
    kt_intake_reload (f->intake);
    //  Every item on the open connection is refused for good, not only the
    //  first (a RETRY_LATER would send the gateway round Hello and resend).
    for (int i = 0; i < 3; i++) {
        char id[32];
        snprintf (id, sizeof id, "after-revoke-%d", i);
        int code;
        assert_int_equal (s_push (gw, id, &code), KEFU__V1__ACK_STATUS__ACK_REJECTED);
        assert_int_equal (code, KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED);
    }
    zsock_destroy (&gw);
    //  A new connection with the revoked key is refused at the handshake.
    welcomed = true;
    gw = s_hello (s_curve_client (f, f->gw_a), f->intake->gateway_endpoint, &welcomed);
    assert_false (welcomed);
    zsock_destroy (&gw);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages"), 0);
}

//  A gateway id belongs to the key it is registered to (kefuctl principal
//  add: the principal's own id unless --gateway-id says otherwise). Another
//  key of the same shop claiming it is refused, so it can neither read the
//  other gateway's ids (DUPLICATE) nor use them up before that gateway does.
//  Every stored row says which principal wrote it.
static void
test_gateway_id_belongs_to_its_key (void **state)
{
    fixture_t *f = *state;
    const char *ep = f->intake->gateway_endpoint;
    bool welcomed = false;
    int code = 0;
    zsock_t *a = s_hello_as (s_curve_client (f, f->gw_a), ep, "gw-a", &welcomed, &code);
    assert_true (welcomed);
    assert_int_equal (s_push (a, "m-1", &code), KEFU__V1__ACK_STATUS__ACK_ACCEPTED);

    //  gw-b says it is gw-a: refused, and what it sends is not stored.
    zsock_t *b = s_hello_as (s_curve_client (f, f->gw_b), ep, "gw-a", &welcomed, &code);
    assert_false (welcomed);
    assert_int_equal (code, KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN);
    assert_int_not_equal (s_push (b, "m-1", &code), KEFU__V1__ACK_STATUS__ACK_DUPLICATE);
    assert_int_not_equal (s_push (b, "m-2", &code), KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    zsock_destroy (&b);

    //  Under its own id gw-b has its own de-duplication space.
    b = s_hello_as (s_curve_client (f, f->gw_b), ep, "gw-b", &welcomed, &code);
    assert_true (welcomed);
    assert_int_equal (s_push (b, "m-1", &code), KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    assert_int_equal (s_push (b, "m-2", &code), KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    //  gw-a's next id was not used up by the impostor.
    assert_int_equal (s_push (a, "m-2", &code), KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    char *rows = kt_db_query1 (f->db, "SELECT string_agg (gateway_id || ':' || gateway_msg_id || "
                                      "':' || principal_id, ',' ORDER BY gateway_id, "
                                      "gateway_msg_id) FROM messages");
    assert_string_equal (rows, "gw-a:m-1:gw-a,gw-a:m-2:gw-a,gw-b:m-1:gw-b,gw-b:m-2:gw-b");
    free (rows);
    assert_int_equal (s_counter (f, "sessions.rejected"), 1);
    zsock_destroy (&a);
    zsock_destroy (&b);
}

//  A key whose role may not send items (a supervisor's) gets REJECTED
//  forbidden for each item: final, so a gateway does not go round Hello,
//  Reject and resend forever.
static void
test_role_without_items_is_rejected_for_good (void **state)
{
    fixture_t *f = *state;
    bool welcomed = true;
    int code = 0;
    zsock_t *sup = s_hello_as (s_curve_client (f, f->sup_a), f->intake->gateway_endpoint, "sup-a",
                               &welcomed, &code);
    assert_false (welcomed);
    assert_int_equal (code, KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN);
    for (int i = 0; i < 2; i++) {
        char id[32];
        snprintf (id, sizeof id, "sup-%d", i);
        assert_int_equal (s_push (sup, id, &code), KEFU__V1__ACK_STATUS__ACK_REJECTED);
        assert_int_equal (code, KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN);
    }
    assert_int_equal (s_counter (f, "items.rejected.forbidden"), 2);
    assert_int_equal (kt_db_count (f->db, "SELECT count(*) FROM messages"), 0);
    zsock_destroy (&sup);
}

int
main (void)
{
    kf_log_init ("test-intake-auth");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_curve_without_zap_handler_fails_closed),
        cmocka_unit_test_setup_teardown (test_registered_key_is_scoped_to_its_shops, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_wrong_key_and_plaintext_get_nothing_through, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_revoked_key_stops_working, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_gateway_id_belongs_to_its_key, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_role_without_items_is_rejected_for_good, s_setup,
                                         s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
