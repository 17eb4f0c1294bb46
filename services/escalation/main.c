/*  kefu-escalation — thin main: configuration, signals and the service actor. */
#include "escalation_config.h"
#include "escalation_server.h"
#include "kf_daemon.h"

int
main (int argc, char **argv)
{
    static escalation_config_t config;
    kf_daemon_t daemon = {"escalation", &escalation_config_spec, &config, escalation_server};
    return kf_daemon_run (&daemon, argc, argv);
}
