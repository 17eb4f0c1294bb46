/*  test_kefuctl_status — `kefuctl status` asks every service at once and
    answers for each: running (with its counters), "not running" at once
    where nothing listens, "not running" after the timeout where something
    listens but does not answer. A service that does not exist costs no
    wait, whatever the timeout. */
#include "kf_clock.h"
#include "kf_control.h"
#include "kt_kefuctl.h"

#include <arpa/inet.h>
#include <czmq.h>
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

//  A service's control endpoint in a thread: answers status requests with
//  one counter, items.accepted = 7. Sends its port after starting.
static void
s_service (zsock_t *pipe, void *args)
{
    kf_clock_t *clock = kf_clock_new_real ();
    kf_control_t *control = kf_control_new ((const char *) args, clock);
    int port = kf_control_bind (control, "tcp://127.0.0.1:*");
    *kf_control_counter (control, "items.accepted") = 7;
    zsock_signal (pipe, 0);
    zsock_send (pipe, "i", port);
    zpoller_t *poller = zpoller_new (pipe, kf_control_socket (control), NULL);
    while (true) {
        void *ready = zpoller_wait (poller, -1);
        if (!ready || ready == pipe)
            break; //  $TERM
        kf_control_handle (control);
    }
    zpoller_destroy (&poller);
    kf_control_destroy (&control);
    kf_clock_destroy (&clock);
}

//  An endpoint where nothing listens: a port bound but not listening, so
//  that connections to it are refused and nobody else can take it while
//  *fd_p stays open (the caller closes it).
static char *
s_nobody (int *fd_p)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    assert_true (fd >= 0);
    struct sockaddr_in addr;
    memset (&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    assert_int_equal (bind (fd, (struct sockaddr *) &addr, sizeof addr), 0);
    socklen_t len = sizeof addr;
    assert_int_equal (getsockname (fd, (struct sockaddr *) &addr, &len), 0);
    *fd_p = fd;
    return zsys_sprintf ("tcp://127.0.0.1:%d", ntohs (addr.sin_port));
}

//  Several services asked, some of them absent, with a timeout of a minute:
//  each absent one is "not running" because nothing listens, said at once.
static void
test_status_says_at_once_where_nothing_listens (void **state)
{
    (void) state;
    zactor_t *service = zactor_new (s_service, (void *) "intake");
    int port = 0;
    assert_int_equal (zsock_recv (service, "i", &port), 0);
    int fds[3];
    char *ordersync = s_nobody (&fds[0]), *escalation = s_nobody (&fds[1]),
         *metrics = s_nobody (&fds[2]);
    char *endpoints = zsys_sprintf ("intake=tcp://127.0.0.1:%d,ordersync=%s,escalation=%s,"
                                    "metrics=%s",
                                    port, ordersync, escalation, metrics);
    setenv ("KEFU_STATUS_ENDPOINTS", endpoints, 1);
    setenv ("KEFU_STATUS_TIMEOUT", "60s", 1);
    KT_EXPECT ("", 0, "status");
    const char *out = kt_kefuctl_last.out;
    assert_non_null (strstr (out, "intake: running pid="));
    assert_non_null (strstr (out, "items.accepted"));
    char *line = zsys_sprintf ("ordersync: not running (nothing listens at %s)", ordersync);
    assert_non_null (strstr (out, line));
    zstr_free (&line);
    line = zsys_sprintf ("escalation: not running (nothing listens at %s)", escalation);
    assert_non_null (strstr (out, line));
    zstr_free (&line);
    line = zsys_sprintf ("metrics: not running (nothing listens at %s)", metrics);
    assert_non_null (strstr (out, line));
    zstr_free (&line);

    //  Named with --service, an absent one makes the exit code 1.
    char *named = zsys_sprintf ("metrics=%s", metrics);
    KT_EXPECT ("", 1, "status", "--service", named);
    assert_non_null (strstr (kt_kefuctl_last.out, "metrics: not running (nothing listens at"));
    zstr_free (&named);
    unsetenv ("KEFU_STATUS_ENDPOINTS");
    unsetenv ("KEFU_STATUS_TIMEOUT");
    zstr_free (&endpoints);
    zstr_free (&ordersync);
    zstr_free (&escalation);
    zstr_free (&metrics);
    for (int i = 0; i < 3; i++)
        close (fds[i]);
    zactor_destroy (&service);
}

//  Something listens but never answers: "not running" after the timeout,
//  and the services that do answer are shown as usual.
static void
test_status_says_which_service_did_not_answer (void **state)
{
    (void) state;
    zactor_t *service = zactor_new (s_service, (void *) "routing");
    int port = 0;
    assert_int_equal (zsock_recv (service, "i", &port), 0);
    zsock_t *mute = zsock_new (ZMQ_ROUTER); //  takes the request, never answers
    zsock_set_rcvtimeo (mute, 5000);
    int mute_port = zsock_bind (mute, "tcp://127.0.0.1:*");
    assert_true (mute_port > 0);
    char *endpoints =
        zsys_sprintf ("intake=tcp://127.0.0.1:%d,routing=tcp://127.0.0.1:%d", mute_port, port);
    setenv ("KEFU_STATUS_ENDPOINTS", endpoints, 1);
    setenv ("KEFU_STATUS_TIMEOUT", "300ms", 1);
    KT_EXPECT ("", 0, "status", "--json");
    assert_non_null (strstr (kt_kefuctl_last.out, "\"service\": \"routing\""));
    assert_non_null (strstr (kt_kefuctl_last.out, "\"items.accepted\": 7"));
    KT_EXPECT ("", 0, "status");
    char *line = zsys_sprintf ("intake: not running (no answer from tcp://127.0.0.1:%d within "
                               "300 ms)",
                               mute_port);
    assert_non_null (strstr (kt_kefuctl_last.out, line));
    assert_non_null (strstr (kt_kefuctl_last.out, "routing: running pid="));
    //  The mute one did get the requests.
    zmsg_t *request = zmsg_recv (mute);
    assert_non_null (request);
    zmsg_destroy (&request);
    zstr_free (&line);
    unsetenv ("KEFU_STATUS_ENDPOINTS");
    unsetenv ("KEFU_STATUS_TIMEOUT");
    zstr_free (&endpoints);
    zsock_destroy (&mute);
    zactor_destroy (&service);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_status_says_at_once_where_nothing_listens),
        cmocka_unit_test (test_status_says_which_service_did_not_answer),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
