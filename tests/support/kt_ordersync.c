/*  kt_ordersync — kefu-ordersync as an in-process actor for tests. */
#include "kt_ordersync.h"

#include "kt_db.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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
kt_ordersync_init (kt_ordersync_t *self, const char *db, const char *intake_events,
                   const char *intake_commands, kf_clock_t *clock)
{
    memset (self, 0, sizeof *self);
    assert_int_equal (ordersync_config_defaults (&self->config, &self->common), 0);
    s_set (&self->common.database_url, db);
    s_set (&self->config.intake_events, intake_events);
    s_set (&self->config.intake_commands, intake_commands);
    //  No routing to hear from unless a test says where: routing's events
    //  are read from the table, never from another routing that listens on
    //  the default port.
    s_set (&self->config.routing_events, "inproc://kt-ordersync-no-routing");
    s_set (&self->config.events_endpoint, "tcp://127.0.0.1:*");
    s_set (&self->config.control_endpoint, "tcp://127.0.0.1:*");
    self->config.insecure = true;
    self->args = (kf_service_args_t){&ordersync_config_spec, &self->config, &self->common, clock};
}

void
kt_ordersync_run (kt_ordersync_t *self)
{
    self->actor = zactor_new (ordersync_server, &self->args);
    zstr_send (self->actor, "START");
    char *reply = zstr_recv (self->actor);
    assert_string_equal (reply, "OK");
    free (reply);
}

void
kt_ordersync_start (kt_ordersync_t *self, const char *db, const char *intake_events,
                    const char *intake_commands, kf_clock_t *clock)
{
    kt_ordersync_init (self, db, intake_events, intake_commands, clock);
    kt_ordersync_run (self);
}

void
kt_ordersync_stop (kt_ordersync_t *self)
{
    kf_daemon_drain_actor (&self->actor);
    kf_config_free (ordersync_config_spec.entries, &self->config);
    kf_config_free (kf_common_config_entries, &self->common);
}

void
kt_ordersync_settle (kt_ordersync_t *self, const char *db)
{
    kt_db_settle (db, self->actor, "ordersync");
}
