/*  test_intake_sessions — a gateway's session ends with its connection.

    kefu-intake runs as a process of its own, so that its memory and file
    descriptors are its alone. 1,000 gateways connect, say Hello, are
    welcomed and disconnect, one after the other, as fast as intake answers
    (about what the 100/s asked, or faster). Soon after (waited for,
    at most 10 s) intake has no session left, as many file descriptors as
    before and a resident set within 10 % of what it was (built with
    AddressSanitizer, whose allocator keeps freed memory in quarantine:
    intake's exit under LeakSanitizer instead). */
#include "kf_log.h"
#include "kt_db.h"
#include "kt_gw.h"
#include "kt_intake.h"
#include "kt_process.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#define SHOP "shop-s"

typedef struct {
    char *db;         //  conninfo
    pid_t pid;        //  kefu-intake
    char gateway[64]; //  its gateway endpoint
    char control[64]; //  its control endpoint
} s_intake_t;

//  Connect, Hello, Welcome, disconnect. Returns whether it was welcomed.
static bool
s_cycle (const s_intake_t *intake, int n)
{
    char id[32];
    snprintf (id, sizeof id, "gw-cycle-%04d", n);
    bool welcomed;
    zsock_t *gw = kt_gw_connect (intake->gateway, id, SHOP, &welcomed);
    zsock_destroy (&gw);
    return welcomed;
}

static int64_t
s_counter (const s_intake_t *intake, const char *name)
{
    return kt_control_counter (intake->control, name, NULL);
}

//  Wait (at most timeout_ms) until intake has no session and no connection
//  with one. Returns whether it came to that.
static bool
s_wait_no_sessions (const s_intake_t *intake, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (s_counter (intake, "sessions.open") != 0 ||
           s_counter (intake, "sessions.connections") != 0) {
        if (zclock_mono () > deadline)
            return false;
        zclock_sleep (20);
    }
    return true;
}

//  Intake's file descriptors once they stop changing (a connection's socket
//  closes just after its closing is reported): the same count 5 times
//  20 ms apart, within 5 s.
static int
s_settled_fds (pid_t pid)
{
    int fds = kt_process_fds (pid), same = 0;
    int64_t deadline = zclock_mono () + 5000;
    while (same < 5 && zclock_mono () < deadline) {
        zclock_sleep (20);
        int now = kt_process_fds (pid);
        same = now == fds ? same + 1 : 0;
        fds = now;
    }
    return fds;
}

static void
test_sessions_end_with_their_connections (void **state)
{
    (void) state;
    s_intake_t intake = {0};
    intake.db = kt_db_fresh ("intake_sessions");
    kt_shop_add (intake.db, SHOP);
    int gateway_port = kt_free_port (), control_port = kt_free_port ();
    snprintf (intake.gateway, sizeof intake.gateway, "tcp://127.0.0.1:%d", gateway_port);
    snprintf (intake.control, sizeof intake.control, "tcp://127.0.0.1:%d", control_port);
    intake.pid = kt_intake_spawn (intake.db, gateway_port, control_port);

    //  Warm-up: the first Welcome (intake has read its principals and
    //  shops), then enough cycles for every pool and lazy allocation.
    int64_t deadline = zclock_mono () + 20000;
    while (!s_cycle (&intake, 0))
        assert_true (zclock_mono () < deadline);
    for (int i = 1; i <= 50; i++)
        assert_true (s_cycle (&intake, i));
    assert_true (s_wait_no_sessions (&intake, 10000));
    int fds = s_settled_fds (intake.pid);
    int64_t rss = kt_process_rss_kb (intake.pid);
    int64_t closed = s_counter (&intake, "sessions.closed");
    assert_true (fds > 0 && rss > 0);

    enum { CYCLES = 1000 };
    int64_t started = zclock_mono ();
    for (int i = 0; i < CYCLES; i++)
        assert_true (s_cycle (&intake, 100 + i));
    int64_t ms = zclock_mono () - started;
    fprintf (stderr, "%d connect/Hello/disconnect cycles in %lld ms\n", CYCLES, (long long) ms);

    //  Every session ended with its connection, none by the idle limit (1 h).
    assert_true (s_wait_no_sessions (&intake, 10000));
    assert_int_equal (s_counter (&intake, "sessions.closed") - closed, CYCLES);
    //  Intake closed every connection's socket ...
    deadline = zclock_mono () + 10000;
    while (kt_process_fds (intake.pid) != fds && zclock_mono () < deadline)
        zclock_sleep (20);
    assert_int_equal (kt_process_fds (intake.pid), fds);
    //  ... and keeps nothing of them. (Not with AddressSanitizer: its
    //  allocator holds what is freed in quarantine, and intake's exit
    //  under LeakSanitizer checks that nothing is kept instead.)
    deadline = zclock_mono () + 10000;
    while (kt_process_rss_kb (intake.pid) * 10 > rss * 11 && zclock_mono () < deadline)
        zclock_sleep (20);
    int64_t after = kt_process_rss_kb (intake.pid);
    fprintf (stderr, "intake RSS %lld KiB before, %lld KiB after\n", (long long) rss,
             (long long) after);
#ifndef __SANITIZE_ADDRESS__
    assert_true (after * 10 <= rss * 11);
#endif

    assert_int_equal (kt_process_stop (intake.pid, SIGTERM, 30000, NULL), 0);
    free (intake.db);
}

int
main (void)
{
    kf_log_init ("test-intake-sessions");
    kf_log_set_level (KF_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_sessions_end_with_their_connections),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
