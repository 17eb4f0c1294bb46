/*  bench_intake_actor — kefu-intake in-process for a benchmark. */
#include "bench_intake_actor.h"

#include "intake_server.h"
#include "kf_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_set (char **slot, const char *value)
{
    free (*slot);
    *slot = strdup (value);
}

int
bench_intake_actor_start (bench_intake_actor_t *self, const char *db, kf_clock_t *clock)
{
    memset (self, 0, sizeof *self);
    if (intake_config_defaults (&self->config, &self->common))
        return -1;
    s_set (&self->common.database_url, db);
    s_set (&self->config.gateway_endpoint, "tcp://127.0.0.1:*");
    s_set (&self->config.command_endpoint, "tcp://127.0.0.1:*");
    s_set (&self->config.events_endpoint, "tcp://127.0.0.1:*");
    s_set (&self->config.control_endpoint, "tcp://127.0.0.1:*");
    self->config.insecure = true;
    kf_config_apply_logging (&self->common);
    self->args = (kf_service_args_t){&intake_config_spec, &self->config, &self->common, clock};
    self->service = bench_service_actor ("intake", intake_server, &self->args);
    if (!self->service) {
        bench_intake_actor_stop (self);
        return -1;
    }
    snprintf (self->gateway, sizeof self->gateway, "tcp://127.0.0.1:%d",
              bench_service_port (self->service, "gateway"));
    snprintf (self->events, sizeof self->events, "tcp://127.0.0.1:%d",
              bench_service_port (self->service, "events"));
    snprintf (self->commands, sizeof self->commands, "tcp://127.0.0.1:%d",
              bench_service_port (self->service, "command"));
    return 0;
}

void
bench_intake_actor_stop (bench_intake_actor_t *self)
{
    bench_service_stop (&self->service, 10, NULL);
    kf_config_free (intake_config_spec.entries, &self->config);
    kf_config_free (kf_common_config_entries, &self->common);
}
