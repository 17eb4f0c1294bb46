/*  test_metrics_query — who may ask kefu-metrics what, and what a bad
    question gets: the real actor with CURVE on its query endpoint, keys of
    principals registered in the database, and a client that asks as
    kefuctl does.

    A supervisor of shop A asking about shop B by any parameter (the
    query's shop, a shop in the parameters, a shop that does not exist)
    gets shop_out_of_scope and never data; roles that may not ask get
    forbidden; a key nobody registered, or a plaintext client, gets no
    answer at all; a revoked key stops at the next refresh. Bad questions
    (unknown kind, backwards or years-wide periods, hourly rows for months,
    unknown groupings, invalid UTF-8, NUL, broken JSON, unknown parameters,
    thresholds that are not histogram bounds, malformed and multi-frame
    messages) get REJECTED with their own code, counted by code. */
#include "kefu/v1/control.pb-c.h"
#include "kf_wire.h"
#include "kt_db.h"
#include "kt_intake.h"
#include "kt_kefuctl.h"
#include "kt_metrics.h"
#include "metrics_query.h"

#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct {
    char *db;             //  conninfo
    kf_clock_t *clock;    //  driven clock
    kt_metrics_t metrics; //  metrics (in-process, secure)
    char dir[64];         //  key files
    zcert_t *server;      //  metrics' key pair
    zcert_t *sup_a;       //  a supervisor of shop-a
    zcert_t *admin;       //  an admin of every shop
    zcert_t *gateway;     //  a gateway of shop-a
    PGconn *locker;       //  a session holding a lock, or NULL
} fixture_t;

static void
s_principal (fixture_t *f, const char *id, const char *role, zcert_t *cert, const char *shops)
{
    kt_principal_add (f->db, id, role, cert, shops == NULL);
    if (shops)
        kt_principal_scope (f->db, id, shops);
}

static int
s_setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    f->db = kt_db_fresh ("metrics_query");
    kt_sql (f->db, "INSERT INTO shops (shop_id, name, partition) VALUES "
                   "('shop-a', 'A', 0), ('shop-b', 'B', 1)");
    //  Shop B has numbers: a supervisor of A must never see them.
    kt_sql (f->db, "INSERT INTO metrics_hours (shop_id, hour, agent_id, channel, group_name, "
                   "conv_customer, customer_msgs) VALUES "
                   "('shop-b', '2026-11-23T01:00:00Z', '', 1, '', 7, 70)");
    f->server = zcert_new ();
    f->sup_a = zcert_new ();
    f->admin = zcert_new ();
    f->gateway = zcert_new ();
    s_principal (f, "sup-a", "supervisor", f->sup_a, "shop-a");
    s_principal (f, "boss", "admin", f->admin, NULL);
    s_principal (f, "qianniu-1", "gateway", f->gateway, "shop-a");
    snprintf (f->dir, sizeof f->dir, "/tmp/kt_metrics_query_XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    char path[128];
    snprintf (path, sizeof path, "%s/metrics.key_secret", f->dir);
    assert_int_equal (zcert_save_secret (f->server, path), 0);
    f->clock = kf_clock_new_manual (kf_clock_parse_utc ("2026-11-23T04:00:00Z"));
    kt_metrics_init (&f->metrics, f->db, "tcp://127.0.0.1:9", "tcp://127.0.0.1:9");
    f->metrics.config.insecure = false;
    free (f->metrics.config.secret_key_file);
    f->metrics.config.secret_key_file = strdup (path);
    //  The events it would follow (none here) are the writers' keys'.
    free (f->metrics.config.intake_key_file);
    f->metrics.config.intake_key_file = strdup (path);
    free (f->metrics.config.routing_key_file);
    f->metrics.config.routing_key_file = strdup (path);
    kt_metrics_start (&f->metrics, f->clock);
    *state = f;
    return 0;
}

static int
s_teardown (void **state)
{
    fixture_t *f = *state;
    if (f->locker)
        PQfinish (f->locker); //  its lock goes with it
    kt_metrics_stop (&f->metrics);
    kt_metrics_free (&f->metrics);
    char path[128];
    snprintf (path, sizeof path, "%s/metrics.key_secret", f->dir);
    unlink (path);
    rmdir (f->dir);
    zcert_destroy (&f->server);
    zcert_destroy (&f->sup_a);
    zcert_destroy (&f->admin);
    zcert_destroy (&f->gateway);
    kf_clock_destroy (&f->clock);
    free (f->db);
    free (f);
    return 0;
}

static ProtobufCBinaryData
s_bytes (const char *s)
{
    return (ProtobufCBinaryData){s ? strlen (s) : 0, (uint8_t *) s};
}

//  Ask as cert; NULL when no answer comes within timeout_ms.
static Kefu__V1__Answer *
s_ask (fixture_t *f, zcert_t *cert, const char *kind, const char *shop, int64_t from_ms,
       int64_t to_ms, const char *group_by, const char *params, int timeout_ms)
{
    Kefu__V1__Query q = KEFU__V1__QUERY__INIT;
    q.request_id = s_bytes ("req-7");
    q.kind = s_bytes (kind);
    q.shop_id = s_bytes (shop);
    q.from_ms = from_ms;
    q.to_ms = to_ms;
    q.group_by = s_bytes (group_by);
    q.params_json = s_bytes (params);
    return metrics_query_call (f->metrics.query, zcert_public_txt (f->server), cert, &q,
                               timeout_ms);
}

//  The answer must be a refusal with code, carrying no data.
static void
s_refused (Kefu__V1__Answer *a, int code)
{
    assert_non_null (a);
    if ((int) a->code != code)
        fail_msg ("expected %s, got %s (status %d): %s", kf_error_code_name (code),
                  kf_error_code_name (a->code), a->status, a->reason);
    assert_int_equal (a->status, KEFU__V1__ACK_STATUS__ACK_REJECTED);
    assert_int_equal (a->json.len, 0);
    assert_true (strlen (a->reason) > 0);
    kefu__v1__answer__free_unpacked (a, NULL);
}

static void
s_accepted (Kefu__V1__Answer *a)
{
    assert_non_null (a);
    if (a->status != KEFU__V1__ACK_STATUS__ACK_ACCEPTED)
        fail_msg ("refused: %s: %s", kf_error_code_name (a->code), a->reason);
    assert_int_equal (a->request_id.len, 5);
    assert_memory_equal (a->request_id.data, "req-7", 5);
    assert_true (a->json.len > 0);
    kefu__v1__answer__free_unpacked (a, NULL);
}

#define OUT_OF_SCOPE KEFU__V1__ERROR_CODE__ERROR_SHOP_OUT_OF_SCOPE
#define DAY          "{\"from\": \"2026-11-23\", \"to\": \"2026-11-23\"}"

static void
test_a_supervisor_sees_only_their_shops (void **state)
{
    fixture_t *f = *state;
    s_accepted (s_ask (f, f->sup_a, "kpi.summary", "shop-a", 0, 0, NULL, DAY, 5000));
    s_accepted (s_ask (f, f->sup_a, "agents.now", "shop-a", 0, 0, NULL, NULL, 5000));
    //  Another shop by any parameter: out of scope, no data.
    s_refused (s_ask (f, f->sup_a, "kpi.summary", "shop-b", 0, 0, NULL, DAY, 5000), OUT_OF_SCOPE);
    s_refused (s_ask (f, f->sup_a, "agents.now", "shop-b", 0, 0, NULL, NULL, 5000), OUT_OF_SCOPE);
    s_refused (s_ask (f, f->sup_a, "qa.flags", "shop-b", 0, 0, NULL, DAY, 5000), OUT_OF_SCOPE);
    s_refused (s_ask (f, f->sup_a, "kpi.summary", "shop-a", 0, 0, NULL,
                      "{\"shop_id\": \"shop-b\", \"from\": \"2026-11-23\"}", 5000),
               OUT_OF_SCOPE);
    //  A shop that does not exist is out of scope too: nothing is learnt.
    s_refused (s_ask (f, f->sup_a, "kpi.summary", "shop-z", 0, 0, NULL, DAY, 5000), OUT_OF_SCOPE);
    //  An admin sees shop B's numbers, and learns that shop-z does not exist.
    json_error_t jerr;
    Kefu__V1__Answer *a = s_ask (f, f->admin, "kpi.summary", "shop-b", 0, 0, NULL, DAY, 5000);
    assert_int_equal (a->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    json_t *root = json_loadb ((const char *) a->json.data, a->json.len, 0, &jerr);
    assert_int_equal (kt_json_num (root, "total.conversations.customer_opened"), 7);
    json_decref (root);
    kefu__v1__answer__free_unpacked (a, NULL);
    s_refused (s_ask (f, f->admin, "kpi.summary", "shop-z", 0, 0, NULL, DAY, 5000),
               KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP);
    //  A gateway's key may connect but may not ask.
    s_refused (s_ask (f, f->gateway, "kpi.summary", "shop-a", 0, 0, NULL, DAY, 5000),
               KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN);
    assert_int_equal (kt_metrics_counter (&f->metrics, "queries.rejected.shop_out_of_scope"), 5);
    assert_int_equal (kt_metrics_counter (&f->metrics, "queries.rejected.forbidden"), 1);
}

static void
test_a_key_nobody_registered_gets_no_answer (void **state)
{
    fixture_t *f = *state;
    zcert_t *stranger = zcert_new ();
    assert_null (s_ask (f, stranger, "kpi.summary", "shop-a", 0, 0, NULL, DAY, 1500));
    zcert_destroy (&stranger);
    assert_true (kt_metrics_counter (&f->metrics, "auth.handshake_failures") >= 1);
    //  A plaintext client does not get through either.
    Kefu__V1__Query q = KEFU__V1__QUERY__INIT;
    q.kind = s_bytes ("kpi.summary");
    q.shop_id = s_bytes ("shop-a");
    assert_null (metrics_query_call (f->metrics.query, NULL, NULL, &q, 1500));
    assert_int_equal (kt_metrics_counter (&f->metrics, "queries.answered"), 0);
}

//  A Query on an open connection, and its answer.
static Kefu__V1__Answer *
s_ask_on (zsock_t *sock, const char *kind, const char *shop)
{
    Kefu__V1__Query q = KEFU__V1__QUERY__INIT;
    q.kind = s_bytes (kind);
    q.shop_id = s_bytes (shop);
    zframe_t *frame = kf_wire_pack (&q.base);
    assert_int_equal (zframe_send (&frame, sock, 0), 0);
    zpoller_t *poller = zpoller_new (sock, NULL);
    assert_ptr_equal (zpoller_wait (poller, 5000), sock);
    zpoller_destroy (&poller);
    zframe_t *in = zframe_recv (sock);
    Kefu__V1__Answer *a = kefu__v1__answer__unpack (NULL, zframe_size (in), zframe_data (in));
    zframe_destroy (&in);
    return a;
}

static void
test_a_revoked_key_stops_at_the_next_refresh (void **state)
{
    fixture_t *f = *state;
    zsock_t *open = zsock_new (ZMQ_DEALER);
    zcert_apply (f->sup_a, open);
    zsock_set_curve_serverkey (open, zcert_public_txt (f->server));
    assert_int_equal (zsock_connect (open, "%s", f->metrics.query), 0);
    Kefu__V1__Answer *a = s_ask_on (open, "agents.now", "shop-a");
    assert_int_equal (a->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    kefu__v1__answer__free_unpacked (a, NULL);
    kt_sql (f->db, "UPDATE principals SET disabled_at = now () WHERE principal_id = 'sup-a'");
    free (kt_metrics_command (&f->metrics, "SYNC")); //  refreshes principals
    //  The open connection is refused from now on; a new one gets nothing.
    s_refused (s_ask_on (open, "agents.now", "shop-a"),
               KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED);
    zsock_destroy (&open);
    assert_null (s_ask (f, f->sup_a, "kpi.summary", "shop-a", 0, 0, NULL, DAY, 1500));
}

static void
test_bad_questions_are_refused_with_their_own_code (void **state)
{
    fixture_t *f = *state;
    zcert_t *c = f->admin;
    int64_t day = kf_clock_parse_utc ("2026-11-22T16:00:00Z"), d = 86400000LL;
#define REFUSED(code, kind, from, to, by, params)                                                  \
    s_refused (s_ask (f, c, kind, "shop-a", from, to, by, params, 5000),                           \
               KEFU__V1__ERROR_CODE__ERROR_##code)
    REFUSED (UNKNOWN_ENUM, "kpi.everything", 0, 0, NULL, DAY);
    REFUSED (MISSING_FIELD, "", 0, 0, NULL, DAY);
    REFUSED (INVALID_VALUE, "kpi.summary", day + d, day, NULL, NULL);         //  from after to
    REFUSED (INVALID_VALUE, "kpi.summary", day, day, NULL, NULL);             //  empty period
    REFUSED (LIMIT_EXCEEDED, "kpi.summary", day - 1000 * d, day, NULL, NULL); //  years wide
    REFUSED (LIMIT_EXCEEDED, "kpi.summary", day - 60 * d, day, "hour", NULL); //  1,440 rows
    REFUSED (LIMIT_EXCEEDED, "kpi.series", day - 365 * d, day, "hour", NULL);
    REFUSED (INVALID_VALUE, "kpi.summary", 0, 0, "customer", DAY); //  no such grouping
    REFUSED (INVALID_VALUE, "kpi.series", 0, 0, "agent", DAY);     //  a series is over time
    REFUSED (INVALID_VALUE, "agents.now", 0, 0, "day", NULL);
    REFUSED (TIMESTAMP_OUT_OF_WINDOW, "kpi.summary", 1000, 2000, NULL, NULL);
    REFUSED (INVALID_UTF8, "kpi.\xff\xfe", 0, 0, NULL, DAY);
    REFUSED (INVALID_VALUE, "kpi.summary", 0, 0, NULL, "[1, 2]");
    REFUSED (INVALID_VALUE, "kpi.summary", 0, 0, NULL, "{\"from\": ");
    REFUSED (INVALID_VALUE, "kpi.summary", 0, 0, NULL, "{\"drop\": \"table\"}");
    REFUSED (INVALID_VALUE, "kpi.summary", 0, 0, NULL, "{\"threshold_s\": 62}");
    REFUSED (INVALID_VALUE, "kpi.summary", 0, 0, NULL, "{\"from\": \"2026-02-30\"}");
    REFUSED (UNKNOWN_ENUM, "kpi.summary", 0, 0, NULL, "{\"channel\": \"fax\"}");
    REFUSED (LIMIT_EXCEEDED, "qa.flags", 0, 0, NULL, "{\"limit\": 1000000}");
    REFUSED (INVALID_UTF8, "kpi.summary", 0, 0, NULL, "{\"agent\": \"\xc3\x28\"}");
    REFUSED (INVALID_VALUE, "kpi.summary", 0, 0, NULL, "{\"agent\": \"a\\u0001b\"}");
#undef REFUSED
    //  A NUL inside the parameters.
    Kefu__V1__Query q = KEFU__V1__QUERY__INIT;
    q.kind = s_bytes ("kpi.summary");
    q.shop_id = s_bytes ("shop-a");
    q.params_json = (ProtobufCBinaryData){3, (uint8_t *) "{\0}"};
    s_refused (metrics_query_call (f->metrics.query, zcert_public_txt (f->server), c, &q, 5000),
               KEFU__V1__ERROR_CODE__ERROR_CONTAINS_NUL);
    //  What is fine: a year of days, 20 s written as a parameter.
    s_accepted (s_ask (f, c, "kpi.series", "shop-a", day - 365 * d, day, "day", NULL, 5000));
    s_accepted (s_ask (f, c, "kpi.summary", "shop-a", 0, 0, "agent",
                       "{\"threshold_s\": 65, \"channel\": \"wechat\"}", 5000));
    //  Bytes that are no Query, and a Query in two frames.
    zsock_t *raw = zsock_new (ZMQ_DEALER);
    zcert_apply (c, raw);
    zsock_set_curve_serverkey (raw, zcert_public_txt (f->server));
    assert_int_equal (zsock_connect (raw, "%s", f->metrics.query), 0);
    zstr_send (raw, "\x0a\xff\xff\xff\xff\x0f garbage");
    zframe_t *in = NULL;
    zpoller_t *poller = zpoller_new (raw, NULL);
    assert_ptr_equal (zpoller_wait (poller, 5000), raw);
    in = zframe_recv (raw);
    Kefu__V1__Answer *a = kefu__v1__answer__unpack (NULL, zframe_size (in), zframe_data (in));
    zframe_destroy (&in);
    s_refused (a, KEFU__V1__ERROR_CODE__ERROR_MALFORMED);
    zstr_sendm (raw, "part one");
    zstr_send (raw, "part two");
    assert_ptr_equal (zpoller_wait (poller, 5000), raw);
    in = zframe_recv (raw);
    a = kefu__v1__answer__unpack (NULL, zframe_size (in), zframe_data (in));
    zframe_destroy (&in);
    s_refused (a, KEFU__V1__ERROR_CODE__ERROR_BAD_FRAMING);
    zpoller_destroy (&poller);
    zsock_destroy (&raw);
    //  Every refusal is counted by its code; the service still answers.
    assert_int_equal (kt_metrics_counter (&f->metrics, "queries.rejected.limit_exceeded"), 4);
    assert_int_equal (kt_metrics_counter (&f->metrics, "queries.rejected.invalid_utf8"), 2);
    assert_int_equal (kt_metrics_counter (&f->metrics, "queries.rejected.malformed"), 1);
    assert_int_equal (kt_metrics_counter (&f->metrics, "queries.rejected.bad_framing"), 1);
    assert_int_equal (kt_metrics_counter (&f->metrics, "queries.answered"), 2);
    s_accepted (s_ask (f, c, "conversations.waiting", "shop-a", 0, 0, NULL, NULL, 5000));
}

//  A question that waits on PostgreSQL (here: on a lock a supervisor's
//  tool holds on the entered scores) holds one query worker; another
//  shop's small question is answered meanwhile, the slow one once the lock
//  goes. (The workers connected and prepared their statements before
//  START answered, so the lock stops only what reads the table.)
static void
test_a_slow_question_does_not_hold_back_another_shops (void **state)
{
    fixture_t *f = *state;
    f->locker = PQconnectdb (f->db);
    assert_int_equal (PQstatus (f->locker), CONNECTION_OK);
    PGresult *res = PQexec (f->locker, "BEGIN; LOCK TABLE metrics_entered_scores IN ACCESS "
                                       "EXCLUSIVE MODE");
    assert_int_equal (PQresultStatus (res), PGRES_COMMAND_OK);
    PQclear (res);
    //  Shop A's scorecard: sent, not waited for.
    zsock_t *slow = zsock_new (ZMQ_DEALER);
    zcert_apply (f->admin, slow);
    zsock_set_curve_serverkey (slow, zcert_public_txt (f->server));
    assert_int_equal (zsock_connect (slow, "%s", f->metrics.query), 0);
    Kefu__V1__Query q = KEFU__V1__QUERY__INIT;
    q.request_id = s_bytes ("slow");
    q.kind = s_bytes ("agent.scorecard");
    q.shop_id = s_bytes ("shop-a");
    q.params_json = s_bytes ("{\"month\": \"2026-11\"}");
    zframe_t *frame = kf_wire_pack (&q.base);
    assert_int_equal (zframe_send (&frame, slow, 0), 0);
    //  ... until a worker waits on the lock with it.
    int64_t deadline = zclock_mono () + 10000;
    while (kt_db_count (f->db, "SELECT count (*) FROM pg_stat_activity "
                               "WHERE application_name = 'kefu-metrics-query' "
                               "AND wait_event_type = 'Lock'") < 1) {
        if (zclock_mono () > deadline)
            fail_msg ("the scorecard never reached the lock");
        zclock_sleep (10);
    }
    //  Shop B's day: answered, with its numbers, while A's waits.
    Kefu__V1__Answer *a = s_ask (f, f->admin, "kpi.summary", "shop-b", 0, 0, NULL, DAY, 5000);
    assert_non_null (a);
    assert_int_equal (a->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    json_t *root = json_loadb ((const char *) a->json.data, a->json.len, 0, NULL);
    assert_int_equal (kt_json_num (root, "total.conversations.customer_opened"), 7);
    json_decref (root);
    kefu__v1__answer__free_unpacked (a, NULL);
    //  ... and the scorecard has not been answered: it is still on the lock.
    assert_false (zsock_events (slow) & ZMQ_POLLIN);
    res = PQexec (f->locker, "COMMIT");
    PQclear (res);
    PQfinish (f->locker);
    f->locker = NULL;
    zpoller_t *poller = zpoller_new (slow, NULL);
    assert_ptr_equal (zpoller_wait (poller, 10000), slow);
    zpoller_destroy (&poller);
    zframe_t *in = zframe_recv (slow);
    a = kefu__v1__answer__unpack (NULL, zframe_size (in), zframe_data (in));
    zframe_destroy (&in);
    assert_non_null (a);
    assert_int_equal (a->status, KEFU__V1__ACK_STATUS__ACK_ACCEPTED);
    assert_int_equal (a->request_id.len, 4);
    assert_memory_equal (a->request_id.data, "slow", 4);
    kefu__v1__answer__free_unpacked (a, NULL);
    zsock_destroy (&slow);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown (test_a_supervisor_sees_only_their_shops, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_key_nobody_registered_gets_no_answer, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_a_revoked_key_stops_at_the_next_refresh, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_bad_questions_are_refused_with_their_own_code,
                                         s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_a_slow_question_does_not_hold_back_another_shops,
                                         s_setup, s_teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
