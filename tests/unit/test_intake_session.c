/*  test_intake_session — sessions end with their connection's socket, a
    reused socket number never ends the new connection's session, and a
    gateway has one session in force however many connections it has. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "intake_session.h"

//  A routing id as libzmq makes them: a zero, then the connection's number.
static zframe_t *
s_id (uint32_t n)
{
    uint8_t id[5] = {0, (uint8_t) (n >> 24), (uint8_t) (n >> 16), (uint8_t) (n >> 8), (uint8_t) n};
    return zframe_new (id, sizeof id);
}

static intake_session_t *
s_open (intake_sessions_t *sessions, uint32_t n, int fd, const char *gateway)
{
    zframe_t *id = s_id (n);
    intake_session_t *s = intake_sessions_open (sessions, id, fd, "p1", gateway);
    if (s) {
        snprintf (s->serves[0].shop_id, sizeof s->serves[0].shop_id, "shop");
        s->serves[0].channel = 1;
        s->serves_count = 1;
    }
    zframe_destroy (&id);
    return s;
}

static bool
s_has (intake_sessions_t *sessions, uint32_t n)
{
    zframe_t *id = s_id (n);
    bool found = intake_sessions_lookup (sessions, id) != NULL;
    zframe_destroy (&id);
    return found;
}

static void
test_a_session_ends_with_its_socket (void **state)
{
    (void) state;
    intake_sessions_t *sessions = intake_sessions_new ();
    assert_non_null (s_open (sessions, 1, 7, "gw-a"));
    assert_non_null (s_open (sessions, 2, 8, "gw-b"));
    assert_int_equal (intake_sessions_size (sessions), 2);
    intake_session_t *s = intake_sessions_of_fd (sessions, 7);
    assert_non_null (s);
    assert_string_equal (s->gateway_id, "gw-a");
    intake_sessions_remove (sessions, s->routing_id);
    assert_null (intake_sessions_of_fd (sessions, 7));
    assert_false (s_has (sessions, 1));
    assert_true (s_has (sessions, 2));
    assert_int_equal (intake_sessions_size (sessions), 1);
    assert_null (intake_sessions_of_fd (sessions, 99)); //  no session on it
    intake_sessions_destroy (&sessions);
    assert_null (sessions);
}

//  Connection 1 on fd 7 closed and connection 2 got fd 7, but the Hello of
//  2 is read before the closing of 1 is: 1's session ends, 2's starts.
static void
test_a_newer_connection_on_a_reused_fd_ends_the_older_session (void **state)
{
    (void) state;
    intake_sessions_t *sessions = intake_sessions_new ();
    assert_non_null (s_open (sessions, 1, 7, "gw-a"));
    assert_non_null (s_open (sessions, 2, 7, "gw-b"));
    assert_false (s_has (sessions, 1));
    assert_true (s_has (sessions, 2));
    assert_string_equal (intake_sessions_of_fd (sessions, 7)->gateway_id, "gw-b");
    assert_int_equal (intake_sessions_connections (sessions), 1);
    intake_sessions_destroy (&sessions);
}

//  A Hello still queued from connection 1, read after connection 2 (now on
//  the same fd) said Hello: 1 is gone and gets no session, 2 keeps its own.
static void
test_a_stale_hello_does_not_take_the_fd_of_a_newer_connection (void **state)
{
    (void) state;
    intake_sessions_t *sessions = intake_sessions_new ();
    assert_non_null (s_open (sessions, 2, 7, "gw-b"));
    assert_null (s_open (sessions, 1, 7, "gw-a"));
    assert_true (s_has (sessions, 2));
    assert_false (s_has (sessions, 1));
    assert_int_equal (intake_sessions_size (sessions), 1);
    //  Connection numbers wrap: 0xffffffff is older than 3.
    assert_non_null (s_open (sessions, 3, 9, "gw-c"));
    assert_null (s_open (sessions, 0xffffffffu, 9, "gw-d"));
    intake_sessions_destroy (&sessions);
}

//  The same gateway on two connections: one session in force (the newest
//  Hello's), the other connection kept until it closes; if the newer one
//  closes first, the older one is the gateway's session again.
static void
test_a_reconnect_replaces_the_session_of_its_gateway (void **state)
{
    (void) state;
    intake_sessions_t *sessions = intake_sessions_new ();
    assert_non_null (s_open (sessions, 1, 7, "gw-a"));
    assert_non_null (s_open (sessions, 2, 8, "gw-a"));
    assert_int_equal (intake_sessions_size (sessions), 1);
    assert_int_equal (intake_sessions_connections (sessions), 2);
    assert_int_equal (intake_sessions_replaced (sessions), 1);
    intake_session_t *serving[4];
    assert_int_equal (intake_sessions_serving (sessions, "shop", 1, serving, 4), 1);
    assert_int_equal (zframe_data (serving[0]->routing_id)[4], 2);
    assert_true (s_has (sessions, 1)); //  its items are still the gateway's

    zframe_t *two = s_id (2);
    intake_sessions_remove (sessions, two);
    zframe_destroy (&two);
    assert_int_equal (intake_sessions_serving (sessions, "shop", 1, serving, 4), 1);
    assert_int_equal (zframe_data (serving[0]->routing_id)[4], 1);
    assert_int_equal (intake_sessions_size (sessions), 1);
    intake_sessions_remove (sessions, serving[0]->routing_id);
    assert_int_equal (intake_sessions_size (sessions), 0);
    assert_int_equal (intake_sessions_serving (sessions, "shop", 1, serving, 4), 0);

    //  Another principal's gateway of the same name is another gateway.
    assert_non_null (s_open (sessions, 3, 9, "gw-a"));
    zframe_t *four = s_id (4);
    assert_non_null (intake_sessions_open (sessions, four, 10, "p2", "gw-a"));
    zframe_destroy (&four);
    assert_int_equal (intake_sessions_size (sessions), 2);
    intake_sessions_destroy (&sessions);
}

//  A second Hello on the same connection restarts its session, keeping
//  what the connection has in flight.
static void
test_a_second_hello_keeps_the_items_in_flight (void **state)
{
    (void) state;
    intake_sessions_t *sessions = intake_sessions_new ();
    intake_session_t *s = s_open (sessions, 1, 7, "gw-a");
    s->inflight = 3;
    s->inflight_bytes = 3000;
    intake_session_t *again = s_open (sessions, 1, 7, "gw-a");
    assert_ptr_equal (again, s);
    assert_int_equal (again->inflight, 3);
    assert_int_equal (again->inflight_bytes, 3000);
    assert_int_equal (intake_sessions_size (sessions), 1);
    assert_int_equal (intake_sessions_replaced (sessions), 0);
    intake_sessions_destroy (&sessions);
}

static void
test_silent_sessions_expire (void **state)
{
    (void) state;
    intake_sessions_t *sessions = intake_sessions_new ();
    intake_session_t *a = s_open (sessions, 1, 7, "gw-a");
    s_open (sessions, 2, -1, "gw-b"); //  fd unknown
    a->last_seen -= 5000;
    assert_int_equal (intake_sessions_expire (sessions, zclock_mono (), 1000), 1);
    assert_false (s_has (sessions, 1));
    assert_null (intake_sessions_of_fd (sessions, 7));
    assert_true (s_has (sessions, 2));
    intake_sessions_destroy (&sessions);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_session_ends_with_its_socket),
        cmocka_unit_test (test_a_newer_connection_on_a_reused_fd_ends_the_older_session),
        cmocka_unit_test (test_a_stale_hello_does_not_take_the_fd_of_a_newer_connection),
        cmocka_unit_test (test_a_reconnect_replaces_the_session_of_its_gateway),
        cmocka_unit_test (test_a_second_hello_keeps_the_items_in_flight),
        cmocka_unit_test (test_silent_sessions_expire),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
