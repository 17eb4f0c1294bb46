/*  kt_ordersync — kefu-ordersync as an in-process actor for tests. */
#ifndef KT_ORDERSYNC_H
#define KT_ORDERSYNC_H

#include "kf_clock.h"
#include "kf_daemon.h"
#include "ordersync_config.h"
#include "ordersync_server.h"

typedef struct {
    zactor_t *actor;           //  ordersync, NULL when stopped
    ordersync_config_t config; //  its settings
    kf_common_config_t common; //  its shared settings
    kf_service_args_t args;    //  what its actor got
} kt_ordersync_t;

//  Start ordersync on database db, following intake's events and handing
//  commands to intake_commands, on clock (borrowed). Its own endpoints are
//  on 127.0.0.1:*; it runs insecure (KEFU_INSECURE=1); everything else has
//  its defaults.
void kt_ordersync_start (kt_ordersync_t *self, const char *db, const char *intake_events,
                         const char *intake_commands, kf_clock_t *clock);
//  The same in two steps, to change ->config in between (routing's events
//  endpoint: none by default, routing's events are then read from the table).
void kt_ordersync_init (kt_ordersync_t *self, const char *db, const char *intake_events,
                        const char *intake_commands, kf_clock_t *clock);
void kt_ordersync_run (kt_ordersync_t *self);
//  DRAIN, then stop (memory only: the record stays).
void kt_ordersync_stop (kt_ordersync_t *self);
//  SYNC until ordersync has applied every intake event in db (fails the test
//  after 20 s): it has run what is due and handed its commands in.
void kt_ordersync_settle (kt_ordersync_t *self, const char *db);

#endif
