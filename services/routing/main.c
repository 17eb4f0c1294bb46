/*  kefu-routing — thin main: configuration, signals and the service actor. */
#include "kf_daemon.h"
#include "routing_config.h"
#include "routing_server.h"

int
main (int argc, char **argv)
{
    static routing_config_t config;
    kf_daemon_t daemon = {"routing", &routing_config_spec, &config, routing_server};
    return kf_daemon_run (&daemon, argc, argv);
}
