/*  kefu-ordersync — thin main: configuration, signals and the service actor. */
#include "kf_daemon.h"
#include "ordersync_config.h"
#include "ordersync_server.h"

int
main (int argc, char **argv)
{
    static ordersync_config_t config;
    kf_daemon_t daemon = {"ordersync", &ordersync_config_spec, &config, ordersync_server};
    return kf_daemon_run (&daemon, argc, argv);
}
