/*  kefuctl — the operator's command-line tool: shared declarations.
    Each subcommand lives in its own file (kefuctl_<noun>.c) and returns the
    process exit code:
        0  success
        1  runtime failure (database unreachable, a service did not answer)
        2  bad usage or configuration
        3  the thing to add already exists
        4  the thing named does not exist */
#ifndef KEFUCTL_H
#define KEFUCTL_H

#include "kf_config.h"
#include "kf_store.h"

#define KEFUCTL_OK        0
#define KEFUCTL_FAILED    1
#define KEFUCTL_USAGE     2
#define KEFUCTL_EXISTS    3
#define KEFUCTL_NOT_FOUND 4

typedef struct {
    char *migrations_dir;     //  KEFU_MIGRATIONS_DIR
    char *status_endpoints;   //  KEFU_STATUS_ENDPOINTS
    int64_t status_timeout;   //  KEFU_STATUS_TIMEOUT, ms
} kefuctl_config_t;

typedef struct {
    kefuctl_config_t *config;       //  kefuctl's settings
    kf_common_config_t *common;     //  shared settings (database URL)
} kefuctl_t;

//  Connect to the database or print why not. Caller owns return value.
kf_store_t *kefuctl_store (kefuctl_t *ctl);

//  True when argv holds --help or -h.
int kefuctl_wants_help (int argc, char **argv);

int kefuctl_migrate (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_shop (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_principal (kefuctl_t *ctl, int argc, char **argv);
int kefuctl_status (kefuctl_t *ctl, int argc, char **argv);

#endif
