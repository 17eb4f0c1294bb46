/*  kt_escalation — kefu-escalation as an in-process actor for tests. */
#include "kt_escalation.h"

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
kt_escalation_start (kt_escalation_t *self, const char *db, const char *intake_events,
                     const char *intake_commands, kf_clock_t *clock)
{
    kt_escalation_init (self, db, intake_events, intake_commands, clock);
    kt_escalation_run (self);
}

void
kt_escalation_init (kt_escalation_t *self, const char *db, const char *intake_events,
                    const char *intake_commands, kf_clock_t *clock)
{
    memset (self, 0, sizeof *self);
    assert_int_equal (escalation_config_defaults (&self->config, &self->common), 0);
    s_set (&self->common.database_url, db);
    s_set (&self->config.intake_events, intake_events);
    s_set (&self->config.intake_commands, intake_commands);
    s_set (&self->config.events_endpoint, "tcp://127.0.0.1:*");
    s_set (&self->config.control_endpoint, "tcp://127.0.0.1:*");
    self->config.insecure = true;
    self->config.command_timeout = 200;
    self->args = (kf_service_args_t){&escalation_config_spec, &self->config, &self->common, clock};
}

void
kt_escalation_run (kt_escalation_t *self)
{
    self->actor = zactor_new (escalation_server, &self->args);
    zstr_send (self->actor, "START");
    char *reply = zstr_recv (self->actor);
    assert_string_equal (reply, "OK");
    free (reply);
}

void
kt_escalation_stop (kt_escalation_t *self)
{
    kf_daemon_drain_actor (&self->actor);
    kf_config_free (escalation_config_spec.entries, &self->config);
    kf_config_free (kf_common_config_entries, &self->common);
}

int
kt_escalation_port (kt_escalation_t *self, const char *name)
{
    zstr_sendx (self->actor, "PORT", name, NULL);
    char *reply = zstr_recv (self->actor);
    int port = reply ? atoi (reply) : -1;
    free (reply);
    return port;
}

void
kt_escalation_settle (kt_escalation_t *self, const char *db)
{
    //  A limit for a stuck escalation, not a timing goal: 10,000 notices
    //  handed in and acknowledged under ASan on a busy machine take more
    //  than 20 s.
    int64_t deadline = zclock_mono () + 120000;
    while (zclock_mono () < deadline) {
        zstr_send (self->actor, "SYNC");
        char *reply = zstr_recv (self->actor);
        free (reply);
        long long written = kt_db_count (db, "SELECT coalesce (sum (last_seq), 0) FROM "
                                             "event_sequences WHERE stream = 'intake'");
        long long applied = kt_db_count (db, "SELECT coalesce (sum (last_seq), 0) FROM "
                                             "consumer_offsets WHERE consumer = 'escalation' "
                                             "AND stream = 'intake'");
        //  Handed in and acknowledged: nothing left in escalation_commands.
        long long unacked = kt_db_count (db, "SELECT count (*) FROM escalation_commands");
        if (applied >= written && unacked == 0)
            return;
        zclock_sleep (10);
    }
    fail_msg ("escalation did not catch up");
}
