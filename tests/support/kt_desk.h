/*  kt_desk — a shop's desk for tests: real intake, routing and metrics
    in-process on one driven clock, a gateway connected to intake, and the
    items a day is made of (presence, customers' messages, agents'
    replies), each followed by routing's decisions. */
#ifndef KT_DESK_H
#define KT_DESK_H

#include "kefu/v1/gateway.pb-c.h"
#include "kf_clock.h"
#include "kt_intake.h"
#include "kt_metrics.h"
#include "kt_routing.h"

typedef struct {
    char *db;             //  conninfo (owned)
    char shop[65];        //  the shop
    kf_clock_t *clock;    //  shared driven clock
    kt_intake_t *intake;  //  intake (in-process)
    kt_routing_t routing; //  routing (in-process)
    kt_metrics_t metrics; //  metrics (in-process)
    zsock_t *gw;          //  the gateway (raw)
    char endpoint[96];    //  KEFU_METRICS_ENDPOINT=... for kefuctl
    int seq;              //  item ids
} kt_desk_t;

//  Start the desk of shop on db (takes ownership of db, whose shop,
//  agents and shifts are set up already) with the clock at UTC time at.
void kt_desk_start (kt_desk_t *self, char *db, const char *shop, const char *at);
void kt_desk_stop (kt_desk_t *self);
//  A cmocka teardown for a heap kt_desk_t in *state: stop, free.
int kt_desk_teardown (void **state);
//  (Re)start metrics (after kt_metrics_kill or _stop): endpoint follows
//  its new port.
void kt_desk_start_metrics (kt_desk_t *self);
//  At UTC time at, item (shop, id, time and channel filled in) through the
//  gateway; then routing decides.
void kt_desk_push (kt_desk_t *self, const char *at, Kefu__V1__InboundItem *item);
void kt_desk_presence (kt_desk_t *self, const char *at, const char *agent, int status);
//  A customer's message (agent NULL) or an agent's reply to customer.
void kt_desk_line (kt_desk_t *self, const char *at, const char *customer, const char *agent,
                   const char *text);

#endif
