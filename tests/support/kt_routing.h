/*  kt_routing — kefu-routing as an in-process actor for tests. */
#ifndef KT_ROUTING_H
#define KT_ROUTING_H

#include "kf_clock.h"
#include "kf_daemon.h"
#include "routing_config.h"
#include "routing_server.h"

typedef struct {
    zactor_t *actor;           //  routing, NULL when stopped
    routing_config_t config;   //  its settings
    kf_common_config_t common; //  its shared settings
    kf_service_args_t args;    //  what its actor got
} kt_routing_t;

//  Start routing on database db, following intake's events and handing
//  commands to intake_commands, on clock (borrowed). Its own endpoints are
//  on 127.0.0.1:*; it runs insecure (KEFU_INSECURE=1); everything else has
//  its defaults.
void kt_routing_start (kt_routing_t *self, const char *db, const char *intake_events,
                       const char *intake_commands, kf_clock_t *clock);
//  The same in two steps, to change ->config in between.
void kt_routing_init (kt_routing_t *self, const char *db, const char *intake_events,
                      const char *intake_commands, kf_clock_t *clock);
void kt_routing_run (kt_routing_t *self);
//  The port routing bound for "events" or "control".
int kt_routing_port (kt_routing_t *self, const char *name);
//  DRAIN, then stop (memory only: the record stays).
void kt_routing_stop (kt_routing_t *self);
//  SYNC until routing has applied every intake event in db (fails the test
//  after 20 s): it has run what is due and handed its commands in.
void kt_routing_settle (kt_routing_t *self, const char *db);

//  An agent for kt_routing_setup.
typedef struct {
    const char *id;     //  agent id; NULL ends a list
    const char *name;   //  the name people see
    int capacity;       //  conversations at once
    const char *groups; //  comma-separated groups
    const char *shifts; //  comma-separated shifts, every day of the week
} kt_agent_t;

//  Set up routing's configuration of shop (which exists) on db through
//  routing_store, as kefuctl does, in one transaction: groups
//  "name=display,..." (overflow nowhere), shifts "name=start-end,..."
//  (minutes from local midnight), agents (up to one with id NULL; weight
//  1, not VIP) and the settings row with its defaults. at (UTC, NULL: the
//  database's now) is when shift_history records the shifts from. Fails
//  the test on any error.
void kt_routing_setup (const char *db, const char *shop, const char *groups, const char *shifts,
                       const kt_agent_t *agents, const char *at);

#endif
