/*  kt_intake — in-process intake for tests. */
#include "kt_intake.h"
#include "kt_process.h"

#include "intake_server.h"
#include "kf_control.h"
#include "kf_shop.h"
#include "kf_zap.h"
#include "kt_db.h"

#include <libpq-fe.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

static void
s_set (char **slot, const char *value)
{
    free (*slot);
    *slot = strdup (value);
}

kt_intake_t *
kt_intake_new (const char *conninfo, kf_clock_t *clock)
{
    kt_intake_t *self = calloc (1, sizeof *self);
    if (intake_config_defaults (&self->config, &self->common)) {
        fprintf (stderr, "FATAL: intake defaults do not load\n");
        abort ();
    }
    s_set (&self->common.database_url, conninfo);
    s_set (&self->config.gateway_endpoint, "tcp://127.0.0.1:*");
    s_set (&self->config.command_endpoint, "tcp://127.0.0.1:*");
    s_set (&self->config.events_endpoint, "tcp://127.0.0.1:*");
    s_set (&self->config.control_endpoint, "tcp://127.0.0.1:*");
    self->config.insecure = true;
    self->own_clock = clock == NULL;
    self->clock = clock ? clock : kf_clock_new_real ();
    return self;
}

static int
s_port (zactor_t *actor, const char *name)
{
    zstr_sendx (actor, "PORT", name, NULL);
    char *reply = zstr_recv (actor);
    int port = reply ? atoi (reply) : -1;
    free (reply);
    return port;
}

void
kt_intake_start (kt_intake_t *self)
{
    self->args =
        (kf_service_args_t){&intake_config_spec, &self->config, &self->common, self->clock};
    self->actor = zactor_new (intake_server, &self->args);
    zstr_send (self->actor, "START");
    char *reply = zstr_recv (self->actor);
    if (!reply || strcmp (reply, "OK") != 0) {
        fprintf (stderr, "FATAL: intake did not start: %s\n", reply ? reply : "(no reply)");
        abort ();
    }
    free (reply);
    self->gateway_port = s_port (self->actor, "gateway");
    self->command_port = s_port (self->actor, "command");
    self->events_port = s_port (self->actor, "events");
    self->control_port = s_port (self->actor, "control");
    snprintf (self->gateway_endpoint, sizeof self->gateway_endpoint, "tcp://127.0.0.1:%d",
              self->gateway_port);
    snprintf (self->command_endpoint, sizeof self->command_endpoint, "tcp://127.0.0.1:%d",
              self->command_port);
    snprintf (self->events_endpoint, sizeof self->events_endpoint, "tcp://127.0.0.1:%d",
              self->events_port);
    snprintf (self->control_endpoint, sizeof self->control_endpoint, "tcp://127.0.0.1:%d",
              self->control_port);
    //  Intake loads the customer record's keys off its loop at start, and
    //  presumes no customer new until then: wait for that (or its failure,
    //  with the database down), so that what a test counts does not depend
    //  on the race.
    for (int i = 0; i < 1000; i++) {
        if (kt_intake_counter (self, "customers.keys_ready", NULL) > 0 ||
            kt_intake_counter (self, "customers.keys_failed", NULL) > 0)
            break;
        zclock_sleep (5); //  polling a condition, not letting time pass
    }
}

void
kt_intake_reload (kt_intake_t *self)
{
    zstr_send (self->actor, "RELOAD");
    //  Pipe commands are handled in order: PORT answered means RELOAD done.
    s_port (self->actor, "gateway");
}

void
kt_intake_advance (kt_intake_t *self, int64_t by_ms)
{
    Kefu__V1__ControlRequest req = KEFU__V1__CONTROL_REQUEST__INIT;
    Kefu__V1__ClockAdvance adv = KEFU__V1__CLOCK_ADVANCE__INIT;
    req.body_case = KEFU__V1__CONTROL_REQUEST__BODY_CLOCK_ADVANCE;
    req.clock_advance = &adv;
    adv.by_ms = by_ms;
    Kefu__V1__ControlReply *reply = kf_control_call (self->control_endpoint, &req, 5000);
    assert_non_null (reply);
    assert_int_equal (reply->code, 0);
    kefu__v1__control_reply__free_unpacked (reply, NULL);
}

void
kt_intake_destroy (kt_intake_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    kt_intake_t *self = *self_p;
    kf_daemon_drain_actor (&self->actor);
    kf_config_free (intake_config_spec.entries, &self->config);
    kf_config_free (kf_common_config_entries, &self->common);
    if (self->own_clock)
        kf_clock_destroy (&self->clock);
    free (self);
    *self_p = NULL;
}

//  Run one statement with parameters; abort the test on error.
static void
s_exec (const char *conninfo, const char *what, const char *sql, int n, const char **values)
{
    PGconn *conn = PQconnectdb (conninfo);
    PGresult *res = PQexecParams (conn, sql, n, NULL, values, NULL, NULL, 0);
    if (PQresultStatus (res) != PGRES_COMMAND_OK) {
        fprintf (stderr, "FATAL: %s: %s\n", what, PQresultErrorMessage (res));
        abort ();
    }
    PQclear (res);
    PQfinish (conn);
}

void
kt_shop_add (const char *conninfo, const char *shop_id)
{
    char partition[8];
    snprintf (partition, sizeof partition, "%u", kf_shop_partition (shop_id, strlen (shop_id)));
    const char *values[] = {shop_id, partition};
    s_exec (conninfo, "shop add",
            "INSERT INTO shops (shop_id, name, partition) "
            "VALUES ($1, $1, $2::int2) ON CONFLICT DO NOTHING",
            2, values);
}

void
kt_principal_add (const char *conninfo, const char *id, const char *role, zcert_t *cert,
                  bool all_shops)
{
    const char *values[] = {id, role, zcert_public_txt (cert), all_shops ? "t" : "f"};
    s_exec (conninfo, "principal add",
            "INSERT INTO principals (principal_id, role, public_key, all_shops) "
            "VALUES ($1, $2, $3, $4::bool)",
            4, values);
    //  As kefuctl principal add: a gateway's (or admin's) own id is its gateway id.
    if (strcmp (role, "gateway") == 0 || strcmp (role, "admin") == 0)
        s_exec (conninfo, "principal gateway id",
                "INSERT INTO principal_gateways (gateway_id, principal_id) VALUES ($1, $1)", 1,
                values);
}

void
kt_principal_scope (const char *conninfo, const char *id, const char *shop_id)
{
    const char *values[] = {shop_id, id};
    s_exec (conninfo, "principal scope",
            "INSERT INTO principal_shops (shop_id, principal_id) VALUES ($1, $2)", 2, values);
}

int64_t
kt_intake_counter (kt_intake_t *self, const char *name, bool *insecure)
{
    return kt_control_counter (self->control_endpoint, name, insecure);
}

int64_t
kt_control_counter (const char *control_endpoint, const char *name, bool *insecure)
{
    Kefu__V1__ControlRequest req = KEFU__V1__CONTROL_REQUEST__INIT;
    Kefu__V1__StatusRequest sr = KEFU__V1__STATUS_REQUEST__INIT;
    req.body_case = KEFU__V1__CONTROL_REQUEST__BODY_STATUS;
    req.status = &sr;
    Kefu__V1__ControlReply *reply = kf_control_call (control_endpoint, &req, 5000);
    if (!reply || !reply->status) {
        fprintf (stderr, "kt_control_counter: no status from %s\n", control_endpoint);
        abort ();
    }
    if (insecure)
        *insecure = reply->status->insecure;
    int64_t value = 0;
    for (size_t i = 0; i < reply->status->n_counters; i++)
        if (strcmp (reply->status->counters[i]->name, name) == 0)
            value = reply->status->counters[i]->value;
    kefu__v1__control_reply__free_unpacked (reply, NULL);
    return value;
}

int64_t
kt_control_wait (const char *control_endpoint, const char *name, int64_t n)
{
    //  Counters that a monitor reports asynchronously (handshakes).
    int64_t deadline = zclock_mono () + 10000;
    int64_t value;
    while ((value = kt_control_counter (control_endpoint, name, NULL)) < n &&
           zclock_mono () < deadline)
        zclock_sleep (20);
    return value;
}

zsock_t *
kt_events_sub (const char *endpoint, zcert_t *cert, const char *server_key)
{
    zsock_t *sub = zsock_new (ZMQ_SUB);
    if (cert)
        kf_zap_curve_client (sub, cert, server_key);
    zsock_set_subscribe (sub, "");
    if (zsock_connect (sub, "%s", endpoint) == -1) {
        fprintf (stderr, "FATAL: cannot connect a SUB to %s\n", endpoint);
        abort ();
    }
    return sub;
}

bool
kt_events_received (zsock_t *sub, const char *prefix, int ms)
{
    zpoller_t *poller = zpoller_new (sub, NULL);
    bool ready = zpoller_wait (poller, ms) != NULL;
    zpoller_destroy (&poller);
    if (!ready)
        return false;
    zmsg_t *msg = zmsg_recv (sub);
    char *topic = msg ? zmsg_popstr (msg) : NULL;
    if (!topic || strncmp (topic, prefix, strlen (prefix)) != 0 || zmsg_size (msg) != 1) {
        fprintf (stderr, "FATAL: not a publication of %s: %s\n", prefix, topic ? topic : "-");
        abort ();
    }
    zstr_free (&topic);
    zmsg_destroy (&msg);
    return true;
}

int
kt_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    bind (fd, (struct sockaddr *) &addr, sizeof addr);
    socklen_t len = sizeof addr;
    getsockname (fd, (struct sockaddr *) &addr, &len);
    close (fd);
    return ntohs (addr.sin_port);
}

pid_t
kt_intake_spawn (const char *db, int gateway_port, int control_port)
{
    char path[1024], url[1024], gw[64], control[64];
    assert_int_equal (
        access (kt_process_bin (path, sizeof path, "services/intake/kefu-intake"), X_OK), 0);
    snprintf (url, sizeof url, "KEFU_DATABASE_URL=%s", db);
    snprintf (gw, sizeof gw, "KEFU_INTAKE_GATEWAY_ENDPOINT=tcp://127.0.0.1:%d", gateway_port);
    if (control_port)
        snprintf (control, sizeof control, "KEFU_INTAKE_CONTROL_ENDPOINT=tcp://127.0.0.1:%d",
                  control_port);
    else
        snprintf (control, sizeof control, "KEFU_INTAKE_CONTROL_ENDPOINT=tcp://127.0.0.1:*");
    const char *argv[] = {path,
                          url,
                          gw,
                          control,
                          "KEFU_INTAKE_COMMAND_ENDPOINT=tcp://127.0.0.1:*",
                          "KEFU_INTAKE_EVENTS_ENDPOINT=tcp://127.0.0.1:*",
                          "KEFU_INSECURE=1",
                          "KEFU_LOG_LEVEL=error",
                          NULL};
    pid_t pid = kt_process_spawn (argv, NULL, -1, -1, SIGKILL); //  never outlive the test
    assert_true (pid > 0);
    return pid;
}

int64_t
kt_process_rss_kb (pid_t pid)
{
    char path[64], line[256];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    int64_t kb = -1;
    while (fgets (line, sizeof line, f))
        if (strncmp (line, "VmRSS:", 6) == 0)
            kb = strtoll (line + 6, NULL, 10);
    fclose (f);
    return kb;
}

int
kt_process_fds (pid_t pid)
{
    char path[64];
    snprintf (path, sizeof path, "/proc/%d/fd", (int) pid);
    DIR *dir = opendir (path);
    if (!dir)
        return -1;
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)))
        if (entry->d_name[0] != '.')
            n++;
    closedir (dir);
    return n;
}
