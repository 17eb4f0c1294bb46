/*  kt_escalation — kefu-escalation as an in-process actor for tests. */
#ifndef KT_ESCALATION_H
#define KT_ESCALATION_H

#include "escalation_config.h"
#include "escalation_server.h"
#include "kf_clock.h"
#include "kf_daemon.h"

typedef struct {
    zactor_t *actor;            //  escalation, NULL when stopped
    escalation_config_t config; //  its settings
    kf_common_config_t common;  //  its shared settings
    kf_service_args_t args;     //  what its actor got
} kt_escalation_t;

//  Start escalation on database db, following intake's events and handing
//  commands to intake_commands, on clock (borrowed). Its own endpoints are
//  on 127.0.0.1:*; it runs insecure; everything else has its defaults.
void kt_escalation_start (kt_escalation_t *self, const char *db, const char *intake_events,
                          const char *intake_commands, kf_clock_t *clock);
//  kt_escalation_start in two steps: the settings (change them before
//  run), then the actor.
void kt_escalation_init (kt_escalation_t *self, const char *db, const char *intake_events,
                         const char *intake_commands, kf_clock_t *clock);
void kt_escalation_run (kt_escalation_t *self);
//  The port of escalation's endpoint name ("events", "control").
int kt_escalation_port (kt_escalation_t *self, const char *name);
//  DRAIN, then stop (memory only: the record stays).
void kt_escalation_stop (kt_escalation_t *self);
//  SYNC until escalation has applied every intake event in db and fired
//  what is due (fails the test after 120 s).
void kt_escalation_settle (kt_escalation_t *self, const char *db);

#endif
