/*  kefu-metrics — thin main: configuration, signals and the service actor. */
#include "kf_daemon.h"
#include "metrics_config.h"
#include "metrics_server.h"

int
main (int argc, char **argv)
{
    static metrics_config_t config;
    kf_daemon_t daemon = {"metrics", &metrics_config_spec, &config, metrics_server};
    return kf_daemon_run (&daemon, argc, argv);
}
