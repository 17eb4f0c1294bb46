/*  kt_routing — kefu-routing as an in-process actor for tests. */
#include "kt_routing.h"

#include "kt_db.h"
#include "routing_store.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static void
s_set (char **slot, const char *value)
{
    free (*slot);
    *slot = strdup (value);
}

void
kt_routing_start (kt_routing_t *self, const char *db, const char *intake_events,
                  const char *intake_commands, kf_clock_t *clock)
{
    kt_routing_init (self, db, intake_events, intake_commands, clock);
    kt_routing_run (self);
}

void
kt_routing_init (kt_routing_t *self, const char *db, const char *intake_events,
                 const char *intake_commands, kf_clock_t *clock)
{
    memset (self, 0, sizeof *self);
    assert_int_equal (routing_config_defaults (&self->config, &self->common), 0);
    s_set (&self->common.database_url, db);
    s_set (&self->config.intake_events, intake_events);
    s_set (&self->config.intake_commands, intake_commands);
    s_set (&self->config.events_endpoint, "tcp://127.0.0.1:*");
    s_set (&self->config.control_endpoint, "tcp://127.0.0.1:*");
    self->config.insecure = true;
    self->args = (kf_service_args_t){&routing_config_spec, &self->config, &self->common, clock};
}

void
kt_routing_run (kt_routing_t *self)
{
    self->actor = zactor_new (routing_server, &self->args);
    zstr_send (self->actor, "START");
    char *reply = zstr_recv (self->actor);
    assert_string_equal (reply, "OK");
    free (reply);
}

int
kt_routing_port (kt_routing_t *self, const char *name)
{
    zstr_sendx (self->actor, "PORT", name, NULL);
    char *reply = zstr_recv (self->actor);
    int port = reply ? atoi (reply) : -1;
    free (reply);
    return port;
}

void
kt_routing_stop (kt_routing_t *self)
{
    kf_daemon_drain_actor (&self->actor);
    kf_config_free (routing_config_spec.entries, &self->config);
    kf_config_free (kf_common_config_entries, &self->common);
}

void
kt_routing_settle (kt_routing_t *self, const char *db)
{
    kt_db_settle (db, self->actor, "routing");
}

//  Each "name=value" of csv, through fn; false as soon as fn fails.
typedef bool (s_pair_fn) (kf_store_t *store, const char *shop, const char *name, const char *value,
                          kf_error_t *err);

static bool
s_each_pair (kf_store_t *store, const char *shop, const char *csv, s_pair_fn *fn, kf_error_t *err)
{
    char *copy = strdup (csv ? csv : "");
    assert_non_null (copy);
    bool ok = true;
    char *save = NULL;
    for (char *pair = strtok_r (copy, ",", &save); pair && ok; pair = strtok_r (NULL, ",", &save)) {
        char *value = strchr (pair, '=');
        assert_non_null (value);
        *value++ = 0;
        ok = fn (store, shop, pair, value, err);
    }
    free (copy);
    return ok;
}

static bool
s_put_group (kf_store_t *store, const char *shop, const char *name, const char *display,
             kf_error_t *err)
{
    routing_group_row_t row;
    return routing_store_put_group (store, shop, name, true, display, false, NULL, -1, &row, err) ==
           1;
}

static bool
s_put_shift (kf_store_t *store, const char *shop, const char *name, const char *times,
             kf_error_t *err)
{
    int start, end;
    assert_int_equal (sscanf (times, "%d-%d", &start, &end), 2);
    routing_shift_row_t row;
    return routing_store_put_shift (store, shop, name, true, start, end, &row, err) == 1;
}

static int
s_setup_txn (kf_store_t *store, const char *shop, const char *groups, const char *shifts,
             const kt_agent_t *agents, const char *at, kf_error_t *err)
{
    if (at) {
        kf_params_t params;
        kf_params_init (&params);
        kf_params_str (&params, at);
        if (kf_store_exec_sql (store, "SELECT set_config ('kefu.now', $1::text, true)", &params,
                               NULL, NULL, err))
            return -1;
    }
    if (!s_each_pair (store, shop, groups, s_put_group, err) ||
        !s_each_pair (store, shop, shifts, s_put_shift, err))
        return -1;
    for (const kt_agent_t *a = agents; a && a->id; a++)
        if (routing_store_add_agent (store, shop, a->id, a->name, a->capacity, 1, false, err) !=
                1 ||
            routing_store_put_agent_groups (store, shop, a->id, a->groups, false, err) ||
            routing_store_put_agent_schedule (store, shop, a->id, false, a->shifts, 127, 1, 0, err))
            return -1;
    routing_settings_change_t keep = {NULL, NULL, -1, -1, -1, NULL, -1, NULL};
    return routing_store_put_settings (store, shop, &keep, err);
}

void
kt_routing_setup (const char *db, const char *shop, const char *groups, const char *shifts,
                  const kt_agent_t *agents, const char *at)
{
    kf_store_t *store = kf_store_new (db, "kt-routing-setup");
    assert_non_null (store);
    assert_int_equal (kf_store_connect (store), 0);
    kf_error_t err;
    kf_error_clear (&err);
    int rc = kf_store_begin (store, &err);
    if (rc == 0)
        rc = s_setup_txn (store, shop, groups, shifts, agents, at, &err);
    if (rc == 0)
        rc = kf_store_commit (store, &err);
    else
        kf_store_rollback (store);
    if (rc)
        fail_msg ("routing setup of %s: %s", shop, err.reason[0] ? err.reason : "not done");
    kf_store_destroy (&store);
}
