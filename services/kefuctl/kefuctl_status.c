/*  kefuctl status — ask each running service for its status and counters
    over its control endpoint. */
#include "kefuctl.h"

#include "kefu/v1/control.pb-c.h"
#include "kf_control.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_TARGETS 32

typedef struct {
    char name[32];      //  service name
    char endpoint[256]; //  control endpoint
} s_target_t;

static void
s_help (void)
{
    printf ("Usage: kefuctl status [--service NAME=ENDPOINT]... [--json]\n\n"
            "Asks each service's control endpoint for its status: process, uptime, database\n"
            "connection, whether it runs WITHOUT authentication (KEFU_INSECURE), and all its\n"
            "counters (items accepted, rejections per error code, events published, ...).\n"
            "Without --service it asks every endpoint in KEFU_STATUS_ENDPOINTS (the services\n"
            "that exist: intake, routing). All are asked at once; one that does not answer\n"
            "within KEFU_STATUS_TIMEOUT, or where nothing listens (said at once), is listed\n"
            "as \"not running\".\n"
            "Exit codes: 0 every named service (or, without --service, at least one) answered;\n"
            "            1 a named service did not answer, or none did; 2 usage.\n");
}

static int
s_parse (const char *spec, s_target_t *out)
{
    const char *eq = strchr (spec, '=');
    if (!eq || eq == spec || !eq[1] || (size_t) (eq - spec) >= sizeof out->name)
        return -1;
    snprintf (out->name, sizeof out->name, "%.*s", (int) (eq - spec), spec);
    snprintf (out->endpoint, sizeof out->endpoint, "%s", eq + 1);
    return 0;
}

static void
s_print (const s_target_t *t, const Kefu__V1__ServiceStatus *st, int64_t now_ms)
{
    int64_t up = (now_ms - st->started_at_ms) / 1000;
    printf ("%s: running pid=%d uptime=%" PRId64 "s version=%s database=%s%s%s\n", t->name, st->pid,
            up, st->version, st->store_connected ? "connected" : "DISCONNECTED",
            st->draining ? " DRAINING" : "",
            st->insecure ? "  WARNING: INSECURE MODE (no authentication; development only)" : "");
    for (size_t i = 0; i < st->n_counters; i++)
        printf ("  %-44s %" PRId64 "\n", st->counters[i]->name, st->counters[i]->value);
}

static json_t *
s_json (const s_target_t *t, const Kefu__V1__ServiceStatus *st)
{
    if (!st)
        return json_pack ("{s:s, s:s, s:b}", "service", t->name, "endpoint", t->endpoint, "running",
                          0);
    json_t *counters = json_object ();
    for (size_t i = 0; i < st->n_counters; i++)
        json_object_set_new (counters, st->counters[i]->name,
                             json_integer (st->counters[i]->value));
    return json_pack ("{s:s, s:s, s:b, s:i, s:s, s:I, s:b, s:b, s:b, s:o}", "service", t->name,
                      "endpoint", t->endpoint, "running", 1, "pid", st->pid, "version", st->version,
                      "started_at_ms", (json_int_t) st->started_at_ms, "database_connected",
                      st->store_connected, "insecure", st->insecure, "draining", st->draining,
                      "counters", counters);
}

int
kefuctl_status (kefuctl_t *ctl, int argc, char **argv)
{
    if (kefuctl_wants_help (argc, argv)) {
        s_help ();
        return KEFUCTL_OK;
    }
    static s_target_t targets[S_MAX_TARGETS];
    int count = 0;
    bool json = false, explicit = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "--json") == 0)
            json = true;
        else if (strcmp (argv[i], "--service") == 0 && i + 1 < argc && count < S_MAX_TARGETS) {
            if (s_parse (argv[++i], &targets[count++])) {
                fprintf (stderr, "kefuctl status: --service takes NAME=ENDPOINT\n");
                return KEFUCTL_USAGE;
            }
            explicit = true;
        } else {
            fprintf (stderr, "kefuctl status: unexpected argument \"%s\"\n", argv[i]);
            return KEFUCTL_USAGE;
        }
    }
    if (!explicit) {
        char *list = strdup (ctl->config->status_endpoints);
        char *save = NULL;
        for (char *tok = strtok_r (list, ",", &save); tok && count < S_MAX_TARGETS;
             tok = strtok_r (NULL, ",", &save))
            if (s_parse (tok, &targets[count]) == 0)
                count++;
        free (list);
    }
    //  Every service is asked at once: the wait is one timeout in all, and
    //  none for a service nobody listens for (not started, or not built).
    const char *endpoints[S_MAX_TARGETS];
    Kefu__V1__ControlReply *replies[S_MAX_TARGETS];
    kf_control_outcome_t outcomes[S_MAX_TARGETS];
    for (int i = 0; i < count; i++)
        endpoints[i] = targets[i].endpoint;
    Kefu__V1__ControlRequest req = KEFU__V1__CONTROL_REQUEST__INIT;
    Kefu__V1__StatusRequest status = KEFU__V1__STATUS_REQUEST__INIT;
    req.body_case = KEFU__V1__CONTROL_REQUEST__BODY_STATUS;
    req.status = &status;
    kf_control_call_all (endpoints, (size_t) count, &req, (int) ctl->config->status_timeout,
                         replies, outcomes);
    int answered = 0;
    json_t *out = json_array ();
    for (int i = 0; i < count; i++) {
        const Kefu__V1__ServiceStatus *st = replies[i] ? replies[i]->status : NULL;
        if (st)
            answered++;
        if (json)
            json_array_append_new (out, s_json (&targets[i], st));
        else if (st)
            s_print (&targets[i], st, zclock_time ());
        else if (outcomes[i] == KF_CONTROL_REFUSED)
            printf ("%s: not running (nothing listens at %s)\n", targets[i].name,
                    targets[i].endpoint);
        else
            printf ("%s: not running (no answer from %s within %" PRId64 " ms)\n", targets[i].name,
                    targets[i].endpoint, ctl->config->status_timeout);
        if (replies[i])
            kefu__v1__control_reply__free_unpacked (replies[i], NULL);
    }
    if (json) {
        char *text = json_dumps (out, JSON_INDENT (2));
        printf ("%s\n", text);
        free (text);
    }
    json_decref (out);
    if (explicit)
        return answered == count ? KEFUCTL_OK : KEFUCTL_FAILED;
    return answered > 0 ? KEFUCTL_OK : KEFUCTL_FAILED;
}
