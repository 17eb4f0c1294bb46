/*  kf_control — a service's control endpoint and counters.

    Every service binds a ROUTER (loopback by default) that answers
    ControlRequest: StatusRequest returns the service's ServiceStatus with all
    its counters (what `kefuctl status` and the container health checks
    show); ClockAdvance moves a driven clock (tests only). Counters are plain
    int64 slots owned by the service thread:

        int64_t *accepted = kf_control_counter (ctl, "items.accepted");
        (*accepted)++; */
#ifndef KF_CONTROL_H
#define KF_CONTROL_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "kefu/v1/control.pb-c.h"
#include "kf_clock.h"

typedef struct _kf_control_t kf_control_t;

//  Called before each reply so the service can refresh gauges and flags.
typedef void (kf_control_refresh_fn) (kf_control_t *control, void *arg);
//  Called after a ClockAdvance moved the clock (re-evaluate deadlines).
typedef void (kf_control_clock_fn) (void *arg);

//  clock is borrowed. Caller owns return value.
kf_control_t *kf_control_new (const char *service, kf_clock_t *clock);
void kf_control_destroy (kf_control_t **self_p);

//  Bind the ROUTER. Returns the port for tcp://...:*, 0 otherwise, -1 on error.
int kf_control_bind (kf_control_t *self, const char *endpoint);
zsock_t *kf_control_socket (kf_control_t *self);

//  A counter slot; the same name always returns the same slot. Borrowed,
//  valid for the life of the control.
int64_t *kf_control_counter (kf_control_t *self, const char *name);
//  Current value of a counter (0 if it does not exist).
int64_t kf_control_get (kf_control_t *self, const char *name);

void kf_control_set_refresh (kf_control_t *self, kf_control_refresh_fn *fn, void *arg);
void kf_control_set_on_clock (kf_control_t *self, kf_control_clock_fn *fn, void *arg);
void kf_control_set_insecure (kf_control_t *self, bool insecure);
void kf_control_set_store_connected (kf_control_t *self, bool connected);
void kf_control_set_draining (kf_control_t *self, bool draining);

//  Answer every request waiting on the socket. Returns requests answered.
int kf_control_handle (kf_control_t *self);
//  The same as a zloop reader: zloop_reader (loop, kf_control_socket (c),
//  kf_control_on_readable, c).
int kf_control_on_readable (zloop_t *loop, zsock_t *reader, void *control);

//  Client side (kefuctl, tests): send a request to endpoint and wait up to
//  timeout_ms for the reply. NULL on timeout or error. Caller owns the reply
//  and frees it with kefu__v1__control_reply__free_unpacked (reply, NULL).
Kefu__V1__ControlReply *kf_control_call (const char *endpoint, const Kefu__V1__ControlRequest *req,
                                         int timeout_ms);

//  The answer of one endpoint to kf_control_call_all.
typedef enum {
    KF_CONTROL_ANSWERED = 0, //  the reply is in replies[i]
    KF_CONTROL_REFUSED,      //  nothing listens there (refused, or no such endpoint)
    KF_CONTROL_SILENT,       //  no reply within the timeout (connected or still trying)
} kf_control_outcome_t;

//  Ask `count` endpoints at once (kefuctl status): req goes to every one,
//  and the wait ends when each has answered or is known to have nobody
//  listening, or after timeout_ms in all. replies[i] gets endpoint i's
//  reply or NULL; the caller owns each and frees it with
//  kefu__v1__control_reply__free_unpacked. outcomes[i] says which.
void kf_control_call_all (const char *const *endpoints, size_t count,
                          const Kefu__V1__ControlRequest *req, int timeout_ms,
                          Kefu__V1__ControlReply **replies, kf_control_outcome_t *outcomes);

#endif
