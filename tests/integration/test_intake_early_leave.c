/*  test_intake_early_leave — in insecure (development) mode, a peer that
    connects to the gateway endpoint and leaves before the ZMTP handshake
    ends (a port check, a gateway stopped while it connected) is no failed
    handshake: counted as auth.handshakes_abandoned, logged at info, never
    the warning intake.handshake_failed. */
#include "kf_log.h"
#include "kt_db.h"
#include "kt_intake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

//  Open a TCP connection to 127.0.0.1:port and close it at once.
static void
s_connect_and_leave (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in addr;
    memset (&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons ((uint16_t) port);
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_equal (connect (fd, (struct sockaddr *) &addr, sizeof addr), 0);
    close (fd);
}

static void
test_a_peer_leaving_before_the_handshake_is_no_failure (void **state)
{
    (void) state;
    char *db = kt_db_fresh ("intake_early_leave");
    kt_intake_t *intake = kt_intake_new (db, NULL);
    kt_intake_start (intake);
    //  What intake logs meanwhile goes to a file (warnings are printed).
    char path[] = "/tmp/kefu-early-leave-XXXXXX";
    int log_fd = mkstemp (path);
    assert_true (log_fd >= 0);
    fflush (stderr);
    int saved = dup (2);
    dup2 (log_fd, 2);

    s_connect_and_leave (intake->gateway_port);
    s_connect_and_leave (intake->gateway_port);
    //  The socket monitor reports asynchronously: wait for both reports.
    int64_t deadline = zclock_mono () + 10000;
    while (kt_intake_counter (intake, "auth.handshakes_abandoned", NULL) < 2 &&
           zclock_mono () < deadline)
        zclock_sleep (20);
    int64_t abandoned = kt_intake_counter (intake, "auth.handshakes_abandoned", NULL);
    int64_t failures = kt_intake_counter (intake, "auth.handshake_failures", NULL);

    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    zchunk_t *chunk = zchunk_slurp (path, 0);
    char *log = chunk ? zchunk_strdup (chunk) : strdup ("");
    zchunk_destroy (&chunk);
    close (log_fd);
    unlink (path);
    fprintf (stderr, "%s", log);

    assert_int_equal (abandoned, 2);
    assert_int_equal (failures, 0);
    assert_null (strstr (log, "intake.handshake_failed"));
    free (log);
    kt_intake_destroy (&intake);
    free (db);
}

int
main (void)
{
    kf_log_init ("test-intake-early-leave");
    kf_log_set_level (KF_LOG_WARN); //  what a service shows by default but info
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_a_peer_leaving_before_the_handshake_is_no_failure),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
