/*  kf_daemon — signals, configuration, actor start and drain. */
#include "kf_daemon.h"

#include "kf_eventlog.h"

#include "kf_log.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define S_DRAIN_TIMEOUT_MS 30000

int
kf_daemon_block_signals (void)
{
    sigset_t set;
    sigemptyset (&set);
    sigaddset (&set, SIGTERM);
    sigaddset (&set, SIGINT);
    sigaddset (&set, SIGHUP);
    //  Threads created later (czmq, libzmq I/O threads, actors) inherit the
    //  mask, so only the signalfd below ever sees these signals.
    if (pthread_sigmask (SIG_BLOCK, &set, NULL) != 0)
        return -1;
    signal (SIGPIPE, SIG_IGN);
    return signalfd (-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

//  Wait for one string from the actor, up to timeout_ms. Caller owns it.
static char *
s_recv_timeout (zactor_t *actor, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (actor, NULL);
    char *reply = NULL;
    if (zpoller_wait (poller, timeout_ms) == actor)
        reply = zstr_recv (actor);
    zpoller_destroy (&poller);
    return reply;
}

int
kf_daemon_run (const kf_daemon_t *daemon, int argc, char **argv)
{
    kf_log_init (daemon->name);
    int sfd = kf_daemon_block_signals ();
    if (sfd == -1) {
        kf_log_error ("daemon.signals_failed", "error=\"%s\"", strerror (errno));
        return 1;
    }
    zsys_handler_set (NULL); //  our signalfd handles signals, not czmq
    static kf_common_config_t common;
    kf_config_result_t loaded = kf_config_load (daemon->spec, daemon->config, &common, &argc, argv);
    if (loaded != KF_CONFIG_OK)
        return loaded == KF_CONFIG_EXIT_OK ? 0 : 2;
    if (argc > 1) {
        fprintf (stderr, "%s: unexpected argument \"%s\" (see --help)\n", daemon->spec->program,
                 argv[1]);
        return 2;
    }
    kf_clock_t *clock = kf_clock_new_from_spec (common.clock);
    if (!clock) {
        fprintf (stderr, "%s: bad value for KEFU_CLOCK=\"%s\": use real or manual[:<time>]\n",
                 daemon->spec->program, common.clock);
        return 2;
    }
    if (kf_clock_is_manual (clock))
        kf_log_warn ("daemon.manual_clock", "clock=\"%s\" note=\"driven clock: for tests only\"",
                     common.clock);
    zsys_init ();
    kf_service_args_t args = {daemon->spec, daemon->config, &common, clock};
    zactor_t *actor = zactor_new (daemon->actor, &args);
    zactor_t *keeper = NULL;
    int exit_code = 0;
    zstr_send (actor, "START");
    char *reply = s_recv_timeout (actor, 60000);
    if (!reply || strcmp (reply, "OK") != 0) {
        kf_log_error ("daemon.start_failed", "reason=\"%s\"", reply ? reply : "no answer");
        free (reply);
        exit_code = 1;
        goto done;
    }
    free (reply);
    kf_log_info ("daemon.started", "pid=%d version=%s", (int) getpid (), KEFU_VERSION);
    //  Every daemon writes a stream: it keeps partitions of the event log
    //  ready, and prunes what every consumer has passed (kf_eventlog.h).
    char app[64];
    snprintf (app, sizeof app, "%s-eventlog", daemon->spec->program);
    keeper = kf_eventlog_keeper_new (common.database_url, app, common.events_keep, 3600000);

    zmq_pollitem_t items[] = {{zsock_resolve (actor), 0, ZMQ_POLLIN, 0},
                              {NULL, sfd, ZMQ_POLLIN, 0}};
    while (true) {
        if (zmq_poll (items, 2, -1) == -1 && errno != EINTR)
            break;
        if (items[0].revents & ZMQ_POLLIN) {
            char *msg = zstr_recv (actor);
            bool fatal = msg && strncmp (msg, "FATAL", 5) == 0;
            if (fatal)
                kf_log_error ("daemon.fatal", "reason=\"%s\"", msg + 5);
            free (msg);
            if (fatal || !msg) {
                exit_code = 1;
                break;
            }
        }
        if (items[1].revents & ZMQ_POLLIN) {
            struct signalfd_siginfo info;
            if (read (sfd, &info, sizeof info) != sizeof info)
                continue;
            if (info.ssi_signo == SIGHUP) {
                kf_log_info ("daemon.reload", "signal=SIGHUP");
                zstr_send (actor, "RELOAD");
                continue;
            }
            kf_log_info ("daemon.draining", "signal=%s",
                         info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
            zstr_send (actor, "DRAIN");
            int64_t deadline = kf_clock_mono_ms () + S_DRAIN_TIMEOUT_MS;
            bool drained = false;
            while (!drained && kf_clock_mono_ms () < deadline) {
                char *msg = s_recv_timeout (actor, (int) (deadline - kf_clock_mono_ms ()));
                drained = msg && strcmp (msg, "DRAINED") == 0;
                free (msg);
            }
            if (!drained) {
                kf_log_error ("daemon.drain_timeout", "ms=%d", S_DRAIN_TIMEOUT_MS);
                exit_code = 1;
            }
            break;
        }
    }
done:
    zactor_destroy (&keeper);
    zactor_destroy (&actor);
    kf_clock_destroy (&clock);
    kf_config_free (daemon->spec->entries, daemon->config);
    kf_config_free (kf_common_config_entries, &common);
    close (sfd);
    kf_log_info ("daemon.stopped", "exit=%d", exit_code);
    return exit_code;
}

void
kf_daemon_drain_actor (zactor_t **actor_p)
{
    if (!actor_p || !*actor_p)
        return;
    zstr_send (*actor_p, "DRAIN");
    char *reply = zstr_recv (*actor_p);
    free (reply);
    zactor_destroy (actor_p);
}
