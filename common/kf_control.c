/*  kf_control — control endpoint: status, counters, driven clock. */
#include "kf_control.h"

#include "kf_log.h"
#include "kf_wire.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_MAX_COUNTERS 256

typedef struct {
    char name[64]; //  dotted counter name
    int64_t value; //  current value
} s_counter_t;

struct _kf_control_t {
    char service[32];                     //  "intake", ...
    kf_clock_t *clock;                    //  borrowed
    zsock_t *router;                      //  control ROUTER
    s_counter_t counters[S_MAX_COUNTERS]; //  fixed array: slots never move
    int counter_count;                    //  slots in use
    int64_t started_at;                   //  ms
    bool insecure;                        //  running unauthenticated
    bool store_connected;                 //  PostgreSQL connected
    bool draining;                        //  SIGTERM received
    kf_control_refresh_fn *refresh;       //  before each reply
    void *refresh_arg;                    //  its argument
    kf_control_clock_fn *on_clock;        //  after a clock move
    void *on_clock_arg;                   //  its argument
};

kf_control_t *
kf_control_new (const char *service, kf_clock_t *clock)
{
    kf_control_t *self = calloc (1, sizeof *self);
    snprintf (self->service, sizeof self->service, "%s", service);
    self->clock = clock;
    self->started_at = kf_clock_now_ms (clock);
    self->router = kf_wire_socket (KF_SOCK_ROUTER_SERVER, 4096);
    return self;
}

void
kf_control_destroy (kf_control_t **self_p)
{
    if (self_p && *self_p) {
        zsock_destroy (&(*self_p)->router);
        free (*self_p);
        *self_p = NULL;
    }
}

int
kf_control_bind (kf_control_t *self, const char *endpoint)
{
    int rc = zsock_bind (self->router, "%s", endpoint);
    if (rc == -1)
        kf_log_error ("control.bind_failed", "endpoint=%s error=\"%s\"", endpoint,
                      zmq_strerror (zmq_errno ()));
    return rc;
}

zsock_t *
kf_control_socket (kf_control_t *self)
{
    return self->router;
}

int64_t *
kf_control_counter (kf_control_t *self, const char *name)
{
    for (int i = 0; i < self->counter_count; i++)
        if (strcmp (self->counters[i].name, name) == 0)
            return &self->counters[i].value;
    //  Running out of slots is a programming error (a fixed set of names).
    assert (self->counter_count < S_MAX_COUNTERS);
    s_counter_t *c = &self->counters[self->counter_count++];
    snprintf (c->name, sizeof c->name, "%s", name);
    c->value = 0;
    return &c->value;
}

int64_t
kf_control_get (kf_control_t *self, const char *name)
{
    for (int i = 0; i < self->counter_count; i++)
        if (strcmp (self->counters[i].name, name) == 0)
            return self->counters[i].value;
    return 0;
}

void
kf_control_set_refresh (kf_control_t *self, kf_control_refresh_fn *fn, void *arg)
{
    self->refresh = fn;
    self->refresh_arg = arg;
}

void
kf_control_set_on_clock (kf_control_t *self, kf_control_clock_fn *fn, void *arg)
{
    self->on_clock = fn;
    self->on_clock_arg = arg;
}

void
kf_control_set_insecure (kf_control_t *self, bool insecure)
{
    self->insecure = insecure;
}

void
kf_control_set_store_connected (kf_control_t *self, bool connected)
{
    self->store_connected = connected;
}

void
kf_control_set_draining (kf_control_t *self, bool draining)
{
    self->draining = draining;
}

static void
s_reply (kf_control_t *self, zframe_t *routing_id, const ProtobufCBinaryData *request_id,
         Kefu__V1__ErrorCode code, const char *reason)
{
    if (self->refresh)
        self->refresh (self, self->refresh_arg);
    Kefu__V1__ServiceStatus status = KEFU__V1__SERVICE_STATUS__INIT;
    status.service = self->service;
    status.version = KEFU_VERSION;
    status.pid = (int32_t) getpid ();
    status.started_at_ms = self->started_at;
    status.now_ms = kf_clock_now_ms (self->clock);
    status.insecure = self->insecure;
    status.store_connected = self->store_connected;
    status.draining = self->draining;
    Kefu__V1__Counter counters[S_MAX_COUNTERS];
    Kefu__V1__Counter *ptrs[S_MAX_COUNTERS];
    for (int i = 0; i < self->counter_count; i++) {
        kefu__v1__counter__init (&counters[i]);
        counters[i].name = self->counters[i].name;
        counters[i].value = self->counters[i].value;
        ptrs[i] = &counters[i];
    }
    status.n_counters = (size_t) self->counter_count;
    status.counters = ptrs;
    Kefu__V1__ControlReply reply = KEFU__V1__CONTROL_REPLY__INIT;
    if (request_id)
        reply.request_id = *request_id;
    reply.code = code;
    reply.reason = (char *) reason;
    reply.status = &status;
    kf_wire_send (self->router, routing_id, &reply.base);
}

int
kf_control_handle (kf_control_t *self)
{
    int answered = 0;
    while (answered < 1000) {
        zmsg_t *msg = kf_wire_recv_nowait (self->router);
        if (!msg)
            break;
        zframe_t *routing_id = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        kf_error_t err;
        kf_error_clear (&err);
        Kefu__V1__ControlRequest *req = NULL;
        if (routing_id && body && zmsg_size (msg) == 0)
            req = (Kefu__V1__ControlRequest *) kf_wire_unpack (
                &kefu__v1__control_request__descriptor, zframe_data (body), zframe_size (body),
                4096, &err);
        if (routing_id) {
            if (!req)
                s_reply (self, routing_id, NULL, KEFU__V1__ERROR_CODE__ERROR_MALFORMED,
                         "not a ControlRequest");
            else if (req->body_case == KEFU__V1__CONTROL_REQUEST__BODY_CLOCK_ADVANCE) {
                int64_t by = req->clock_advance->by_ms;
                if (by < 0 || kf_clock_advance (self->clock, by))
                    s_reply (self, routing_id, &req->request_id,
                             KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN,
                             "the clock is not driven (KEFU_CLOCK=manual) or by_ms < 0");
                else {
                    if (self->on_clock)
                        self->on_clock (self->on_clock_arg);
                    s_reply (self, routing_id, &req->request_id, KEFU__V1__ERROR_CODE__ERROR_NONE,
                             "");
                }
            } else
                s_reply (self, routing_id, &req->request_id, KEFU__V1__ERROR_CODE__ERROR_NONE, "");
            answered++;
        }
        if (req)
            kefu__v1__control_request__free_unpacked (req, NULL);
        zframe_destroy (&routing_id);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    return answered;
}

int
kf_control_on_readable (zloop_t *loop, zsock_t *reader, void *control)
{
    (void) loop;
    (void) reader;
    kf_control_handle ((kf_control_t *) control);
    return 0;
}

Kefu__V1__ControlReply *
kf_control_call (const char *endpoint, const Kefu__V1__ControlRequest *req, int timeout_ms)
{
    zframe_t *in = kf_wire_call (endpoint, &req->base, timeout_ms, NULL, NULL);
    Kefu__V1__ControlReply *reply =
        in ? kefu__v1__control_reply__unpack (NULL, zframe_size (in), zframe_data (in)) : NULL;
    zframe_destroy (&in);
    return reply;
}

//  One endpoint asked by kf_control_call_all.
typedef struct {
    zsock_t *dealer;  //  the request goes out here, the reply comes back
    zsock_t *monitor; //  the dealer's connection events (PAIR), NULL if none
    bool connected;   //  a connection was made
    bool done;        //  answered or refused
} s_call_t;

//  Read the dealer's connection events: a failed connection attempt before
//  any succeeded means nobody listens (a refused or impossible connect).
static void
s_call_events (s_call_t *call, kf_control_outcome_t *outcome)
{
    zmsg_t *msg;
    while ((msg = kf_wire_recv_nowait (call->monitor))) {
        zframe_t *head = zmsg_first (msg);
        uint16_t event = 0;
        if (head && zframe_size (head) >= 2)
            memcpy (&event, zframe_data (head), 2);
        if (event == ZMQ_EVENT_CONNECTED)
            call->connected = true;
        else if (event == ZMQ_EVENT_CONNECT_RETRIED && !call->connected && !call->done) {
            *outcome = KF_CONTROL_REFUSED;
            call->done = true;
        }
        zmsg_destroy (&msg);
    }
}

void
kf_control_call_all (const char *const *endpoints, size_t count,
                     const Kefu__V1__ControlRequest *req, int timeout_ms,
                     Kefu__V1__ControlReply **replies, kf_control_outcome_t *outcomes)
{
    s_call_t *calls = (s_call_t *) calloc (count ? count : 1, sizeof *calls);
    zpoller_t *poller = zpoller_new (NULL);
    assert (calls && poller);
    size_t pending = 0;
    for (size_t i = 0; i < count; i++) {
        s_call_t *call = &calls[i];
        replies[i] = NULL;
        outcomes[i] = KF_CONTROL_SILENT;
        call->dealer = kf_wire_socket (KF_SOCK_DEALER_CLIENT, 1 << 20);
        zsock_set_immediate (call->dealer, 0); //  queue until connected; we wait anyway
        zsock_set_linger (call->dealer, 0);
        //  The monitor is attached before connecting, so no event is missed.
        //  Named by a process-wide sequence: libzmq may still hold an
        //  earlier call's endpoint while it reaps that call's sockets.
        static atomic_uint s_calls;
        char monitor[64];
        snprintf (monitor, sizeof monitor, "inproc://kf-control-call-%u",
                  atomic_fetch_add (&s_calls, 1));
        if (zmq_socket_monitor (zsock_resolve (call->dealer), monitor,
                                ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED) == 0)
            call->monitor = zsock_new_pair (monitor);
        zframe_t *frame = kf_wire_pack (&req->base);
        if (zsock_connect (call->dealer, "%s", endpoints[i]) != 0 ||
            zframe_send (&frame, call->dealer, 0) != 0) {
            zframe_destroy (&frame);
            outcomes[i] = KF_CONTROL_REFUSED; //  a bad endpoint: nothing can answer
            call->done = true;
            continue;
        }
        zpoller_add (poller, call->dealer);
        if (call->monitor)
            zpoller_add (poller, call->monitor);
        pending++;
    }
    int64_t deadline = zclock_mono () + timeout_ms;
    while (pending > 0) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        void *ready = zpoller_wait (poller, (int) left);
        if (!ready) {
            if (zpoller_terminated (poller))
                break;
            continue;
        }
        for (size_t i = 0; i < count; i++) {
            s_call_t *call = &calls[i];
            if (call->done || (ready != call->dealer && ready != call->monitor))
                continue;
            if (ready == call->monitor)
                s_call_events (call, &outcomes[i]);
            else {
                zframe_t *in = zframe_recv (call->dealer);
                if (in)
                    replies[i] =
                        kefu__v1__control_reply__unpack (NULL, zframe_size (in), zframe_data (in));
                zframe_destroy (&in);
                outcomes[i] = replies[i] ? KF_CONTROL_ANSWERED : KF_CONTROL_SILENT;
                call->done = true;
            }
            if (call->done)
                pending--;
        }
    }
    zpoller_destroy (&poller);
    for (size_t i = 0; i < count; i++) {
        if (calls[i].monitor)
            zmq_socket_monitor (zsock_resolve (calls[i].dealer), NULL, 0);
        zsock_destroy (&calls[i].monitor);
        zsock_destroy (&calls[i].dealer);
    }
    free (calls);
}
