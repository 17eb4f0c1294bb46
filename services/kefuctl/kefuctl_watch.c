/*  kefuctl events watch — follow a service's events PUB as they are
    published: one JSON line per event (its envelope: stream, partition,
    sequence, shop, kind, time; never the texts it carries).

    A secure service lets in only a service principal's key (kefuctl
    principal add NAME --role service --all-shops --generate DIR); without
    one, or with another role's, the handshake is refused and nothing is
    read, which is what this command then says. */
#include "kefuctl.h"

#include "kefu/v1/events.pb-c.h"
#include "kf_zap.h"

#include <czmq.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CMD "kefuctl events watch"

static void
s_help (void)
{
    printf ("Usage:\n"
            "  kefuctl events watch ENDPOINT [--server-key Z85 | --server-key-file FILE]\n"
            "                       [--secret-key-file FILE] [--topic PREFIX] [--count N]\n"
            "                       [--timeout DURATION]\n\n"
            "Subscribes to a service's events endpoint (intake: tcp://HOST:5557, routing:\n"
            "tcp://HOST:5567) and prints each event as it is published, one JSON line:\n"
            "  {\"topic\":\"intake/03/message.accepted\",\"stream\":\"intake\",\"partition\":3,"
            "\"seq\":42,\n"
            "   \"shop_id\":\"demo-shop\",\"kind\":\"message.accepted\",\"occurred_at_ms\":...}\n"
            "Publications are a fast path: events published before the subscription, or\n"
            "dropped, are only in the events table (kefuctl events list).\n\n"
            "A secure service needs CURVE: --secret-key-file is a service principal's key pair\n"
            "(the _secret file of kefuctl principal add NAME --role service --all-shops\n"
            "--generate DIR), --server-key / --server-key-file the service's public key. Without\n"
            "keys the connection is plain (a service in KEFU_INSECURE=1 mode).\n"
            "--topic      only topics starting with PREFIX (\"intake/\", \"routing/03/\")\n"
            "--count N    stop after N events\n"
            "--timeout D  stop after D (e.g. 30s, 5m); default: no limit\n"
            "Progress goes to stderr: connected, refused (a key the service does not let in,\n"
            "a plaintext peer of a CURVE endpoint, a wrong server key), and the number of\n"
            "events at the end.\n"
            "Exit codes: 0 --count events read (or the timeout passed without --count),\n"
            "1 refused, or the timeout passed before --count events, 2 usage.\n");
}

//  Print one publication (frames: topic, packed Event). Returns 1 if it
//  was an event, 0 if not.
static int
s_print (zmsg_t *msg)
{
    char *topic = zmsg_popstr (msg);
    zframe_t *body = zmsg_pop (msg);
    Kefu__V1__Event *ev =
        body ? kefu__v1__event__unpack (NULL, zframe_size (body), zframe_data (body)) : NULL;
    if (ev) {
        json_t *line = json_pack (
            "{s:s, s:s, s:i, s:I, s:s, s:s, s:I}", "topic", topic ? topic : "", "stream",
            ev->stream, "partition", (int) ev->partition, "seq", (json_int_t) ev->seq, "shop_id",
            ev->shop_id, "kind", ev->kind, "occurred_at_ms", (json_int_t) ev->occurred_at_ms);
        char *text = line ? json_dumps (line, JSON_COMPACT) : NULL;
        if (text)
            printf ("%s\n", text);
        fflush (stdout);
        free (text);
        json_decref (line);
        kefu__v1__event__free_unpacked (ev, NULL);
    }
    zstr_free (&topic);
    zframe_destroy (&body);
    return ev ? 1 : 0;
}

int
kefuctl_events_watch (kefuctl_t *ctl, int argc, char **argv)
{
    (void) ctl;
    if (kefuctl_wants_help (argc, argv)) {
        s_help ();
        return KEFUCTL_OK;
    }
    const char *endpoint = NULL, *server_key = "", *server_key_file = NULL, *secret = NULL;
    const char *topic = "", *value;
    int64_t count = 0, timeout = 0;
    for (int i = 2; i < argc; i++) {
        if ((value = kefuctl_opt (argc, argv, &i, "--server-key")))
            server_key = value;
        else if ((value = kefuctl_opt (argc, argv, &i, "--server-key-file")))
            server_key_file = value;
        else if ((value = kefuctl_opt (argc, argv, &i, "--secret-key-file")))
            secret = value;
        else if ((value = kefuctl_opt (argc, argv, &i, "--topic")))
            topic = value;
        else if ((value = kefuctl_opt (argc, argv, &i, "--count"))) {
            if (kefuctl_parse_int (S_CMD, "--count", value, 1, 1000000000, &count))
                return KEFUCTL_USAGE;
        } else if ((value = kefuctl_opt (argc, argv, &i, "--timeout"))) {
            if (kefuctl_parse_duration (S_CMD, "--timeout", value, 1, 86400000LL * 365, &timeout))
                return KEFUCTL_USAGE;
        } else if (argv[i][0] != '-' && !endpoint)
            endpoint = argv[i];
        else
            return kefuctl_bad_arg (S_CMD, argc, argv, i);
    }
    bool curve = secret || *server_key || server_key_file;
    if (!endpoint || (curve && (!secret || (!*server_key && !server_key_file)))) {
        fprintf (stderr,
                 "%s: needs ENDPOINT, and for CURVE both --secret-key-file and "
                 "--server-key (or --server-key-file)\n",
                 S_CMD);
        return KEFUCTL_USAGE;
    }
    char why[256], key[41];
    zcert_t *cert = NULL;
    if (curve && (!(cert = kf_zap_key_pair (secret, why, sizeof why)) ||
                  kf_zap_public_key (server_key, server_key_file, key, why, sizeof why))) {
        fprintf (stderr, "%s: %s\n", S_CMD, why);
        zcert_destroy (&cert);
        return KEFUCTL_USAGE;
    }
    zsock_t *sub = zsock_new (ZMQ_SUB);
    if (cert)
        kf_zap_curve_client (sub, cert, key);
    zcert_destroy (&cert);
    zsock_t *monitor = kf_zap_monitor (sub, KF_ZAP_FAILED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    zsock_set_subscribe (sub, topic);
    if (!monitor || zsock_connect (sub, "%s", endpoint) == -1) {
        fprintf (stderr, "%s: cannot connect to %s\n", S_CMD, endpoint);
        zsock_destroy (&monitor);
        zsock_destroy (&sub);
        return KEFUCTL_USAGE;
    }
    zpoller_t *poller = zpoller_new (sub, monitor, NULL);
    int64_t deadline = timeout ? zclock_mono () + timeout : 0;
    int64_t received = 0;
    int rc = -1;
    while (rc == -1) {
        int64_t left = deadline ? deadline - zclock_mono () : 1000;
        if (left <= 0) {
            rc = count ? KEFUCTL_FAILED : KEFUCTL_OK;
            break;
        }
        void *which = zpoller_wait (poller, (int) (left > 1000 ? 1000 : left));
        if (which == monitor) {
            int event;
            uint32_t status;
            char peer[256];
            while (rc == -1 && kf_zap_monitor_read (monitor, &event, &status, peer, sizeof peer)) {
                if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
                    fprintf (stderr, "%s: connected to %s\n", S_CMD, peer);
                else {
                    //  libzmq does not try a refused handshake again.
                    fprintf (stderr, "%s: refused by %s (event 0x%x, status %u): %s\n", S_CMD, peer,
                             event, status,
                             curve ? "is the key a service principal's, enabled, and the "
                                     "server key the service's?"
                                   : "the endpoint wants CURVE keys");
                    rc = KEFUCTL_FAILED;
                }
            }
        } else if (which == sub) {
            zmsg_t *msg = zmsg_recv (sub);
            if (msg)
                received += s_print (msg);
            zmsg_destroy (&msg);
            if (count && received >= count)
                rc = KEFUCTL_OK;
        } else if (zpoller_terminated (poller))
            rc = KEFUCTL_OK;
    }
    fprintf (stderr, "%s: %" PRId64 " events\n", S_CMD, received);
    zpoller_destroy (&poller);
    zsock_destroy (&monitor);
    zsock_destroy (&sub);
    return rc;
}
