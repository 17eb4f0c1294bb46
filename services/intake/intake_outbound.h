/*  intake_outbound — commands from kefu services to gateways.

    Services (routing, order-sync, escalation) hand in CommandSubmit on the
    command endpoint. Each command is validated, stored (idempotent on shop,
    origin and request id) and acknowledged to its issuer, then sent to a
    gateway session that serves its shop and channel. It is sent again after
    KEFU_INTAKE_COMMAND_ACK_TIMEOUT without a CommandAck, and at once to a
    gateway that says Hello for that shop and channel; the first CommandAck
    settles it. Nothing is dropped because a gateway was away: unsettled
    commands live in PostgreSQL and are reloaded after a restart. */
#ifndef INTAKE_OUTBOUND_H
#define INTAKE_OUTBOUND_H

#include <czmq.h>

#include "intake_auth.h"
#include "intake_config.h"
#include "intake_session.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_clock.h"
#include "kf_control.h"
#include "kf_outbox.h"
#include "kf_store.h"

typedef struct {
    const intake_config_t *config; //  settings
    const char *database_url;      //  the commands' own connection (intake_jobs.h)
    kf_outbox_t *outbox;           //  intake's events
    intake_auth_t *auth;           //  principals and shops
    intake_sessions_t *sessions;   //  connected gateways
    zsock_t *gateway_router;       //  where commands are sent
    kf_clock_t *clock;             //  time
    kf_control_t *control;         //  counters
} intake_outbound_deps_t;

typedef struct _intake_outbound_t intake_outbound_t;

//  deps are borrowed. Caller owns return value.
intake_outbound_t *intake_outbound_new (const intake_outbound_deps_t *deps);
void intake_outbound_destroy (intake_outbound_t **self_p);

//  Bind the command ROUTER (secured like the gateway endpoint). Port or -1.
int intake_outbound_bind (intake_outbound_t *self, const char *endpoint);
zsock_t *intake_outbound_socket (intake_outbound_t *self);

//  Read the command endpoint on loop: each CommandSubmit read is validated,
//  stored (off the loop, intake_jobs.h), answered to its issuer and sent.
void intake_outbound_start (intake_outbound_t *self, zloop_t *loop);
//  Wait for the database work queued (a driven clock's answer).
void intake_outbound_finish (intake_outbound_t *self);
//  Stop reading submissions; store and answer those read, settle the acks
//  collected (waits).
void intake_outbound_drain (intake_outbound_t *self);
//  A gateway's CommandAck (collected; stored by flush_acks).
void intake_outbound_on_ack (intake_outbound_t *self, const intake_principal_t *principal,
                             const Kefu__V1__CommandAck *ack);
//  Settle the acks collected (off the loop; those that fail wait for the
//  next call). Returns 0.
int intake_outbound_flush_acks (intake_outbound_t *self);
//  A gateway said Hello: send its shops' unsettled commands now.
void intake_outbound_on_hello (intake_outbound_t *self, const intake_session_t *session);
//  Timer: load unsettled commands after a (re)start, retry acks, send what is due.
void intake_outbound_tick (intake_outbound_t *self);

//  Commands not yet settled.
size_t intake_outbound_pending (intake_outbound_t *self);

#endif
