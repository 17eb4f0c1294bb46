/*  kefu-intake — thin main: configuration, signals and the service actor. */
#include "intake_config.h"
#include "intake_server.h"
#include "kf_daemon.h"

int
main (int argc, char **argv)
{
    static intake_config_t config;
    kf_daemon_t daemon = {"intake", &intake_config_spec, &config, intake_server};
    return kf_daemon_run (&daemon, argc, argv);
}
