/*  intake_server — the gateway ROUTER, batching and acks.

    The loop reads every frame that is ready on the gateway endpoint,
    answers what needs no database at once (Hello, and REJECTED acks for
    invalid items) and collects valid items into a batch. The batch goes to
    an idle writer (intake_writer: its own connection and thread), which
    stores it in one transaction; only when the writer hands it back are its
    events published and its acks sent. Items arriving while their writer is
    busy form its next batch, so the batch size follows the load without a
    timer; when that batch is full, reading pauses until the writer is free.

    Customers (or, for presence, agents) are hashed into buckets; a bucket
    with items waiting or being stored stays with its writer, so two writers
    never race on one customer's record and a customer's items are stored in
    the order they came. A free bucket goes to one of the writers at work.
    At light load that is one writer: its batches stay a few items big and
    its commits never wait for a second writer of the same shop partition
    (events are numbered under a row lock held through COMMIT). Another
    writer is put to work when a batch of S_GROW_AT items waits for a busy
    writer, and rested when batches held fewer than S_REST_BELOW items on
    average over S_REST_AFTER_MS.

    One connection may have at most KEFU_INTAKE_CONNECTION_INFLIGHT bytes
    of items inside intake (read and not yet acknowledged); what it sends
    beyond that is answered RETRY_LATER overloaded at once, each item with
    a retry_after_ms of its own that spreads the excess over the time the
    connection needs to get through it. So a gateway's burst takes its own
    turn in the batches instead of filling them, and what intake holds for
    one connection is bounded. With KEFU_INTAKE_CONNECTION_BATCH set (off by
    default) and other connections having items inside too, a connection
    may have only that many bytes waiting for the writers' next batches
    (the same answer beyond it): a batch is written as one, and the others'
    items in it wait for the whole of it. Sessions end when their connection closes:
    the gateway socket's monitor reports each socket (fd) closing, and
    every frame names the fd it came on (intake_session.h). */
#include "intake_server.h"

#include "intake_auth.h"
#include "intake_classify.h"
#include "intake_config.h"
#include "intake_item.h"
#include "intake_outbound.h"
#include "intake_session.h"
#include "intake_jobs.h"
#include "intake_store.h"
#include "intake_writer.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_actor.h"
#include "kf_control.h"
#include "kf_daemon.h"
#include "kf_log.h"
#include "kf_outbox.h"
#include "kf_shop.h"
#include "kf_store.h"
#include "kf_wire.h"
#include "kf_zap.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define S_TICK_MS        100    //  housekeeping timer
#define S_RETRY_AFTER_MS 500    //  suggested wait in RETRY_LATER acks
#define S_SHOP_MISS_MS   1000   //  at most one refresh per second for unknown shops
#define S_MAX_WRITERS    8      //  KEFU_INTAKE_WRITERS at most
#define S_BUCKETS        65536  //  customer buckets shared out between writers
#define S_GROW_AT        32     //  a batch this big waits for a busy writer: one more writer
#define S_REST_BELOW     8      //  batches this small on average ...
#define S_REST_AFTER_MS  1000   //  ... for this long: one writer fewer
#define S_CACHE_MAX      200000 //  customer keys the writers remember (shared)

//  Reading and overload (one connection's share), memory after a burst.
#define S_READS_PER_PASS 256        //  frames read before the batches are handed on
#define S_SLOT_MIN_MS    50         //  overloaded: the earliest retry_after_ms
#define S_DRAIN_MS       20         //  overloaded: a share drains in this until measured
#define S_SLOT_MAX_MS    10000      //  overloaded: the latest retry_after_ms
#define S_TRIM_AFTER     (8 << 20)  //  churn that makes the next idle second give memory back ...
#define S_TRIM_CALM      (1 << 20)  //  ... or this much, once a second brings less than 1/8 of it
#define S_CONN_CHURN     (64 << 10) //  churn counted for a connection that closed

typedef struct {
    int writer;  //  the writer its items go to
    int pending; //  its items waiting in a batch or being stored
} s_bucket_t;

typedef struct _s_server_t s_server_t;

struct _s_server_t {
    zsock_t *pipe;                           //  actor pipe
    const kf_config_spec_t *spec;            //  configuration table (reload)
    intake_config_t *config;                 //  settings (borrowed from the caller)
    kf_clock_t *clock;                       //  time source (borrowed)
    kf_store_t *store;                       //  PostgreSQL
    kf_outbox_t *outbox;                     //  intake's events
    kf_control_t *control;                   //  status + counters
    intake_auth_t *auth;                     //  keys, principals, shops
    intake_sessions_t *sessions;             //  connected gateways
    intake_outbound_t *outbound;             //  commands for gateways
    intake_classify_t *classify;             //  intent dictionary in force
    zsock_t *router;                         //  gateway endpoint
    zsock_t *monitor;                        //  the router's connection events
    zloop_t *loop;                           //  event loop
    int capacity;                            //  batch_max
    int64_t inside;                          //  items taken and not yet answered
    intake_writer_t *writers[S_MAX_WRITERS]; //  store batches beside the loop
    intake_cache_t *cache;                   //  the writers' customers (intake_cache.h)
    int writer_count;                        //  KEFU_INTAKE_WRITERS
    intake_item_t *build[S_MAX_WRITERS];     //  per writer: the batch being built
    int build_count[S_MAX_WRITERS];          //  items in it
    intake_item_t *spare[S_MAX_WRITERS];     //  per writer: the other array (NULL while busy)
    int full;                                //  batches being built that are full
    int active;                              //  writers at work (1..writer_count)
    int64_t window_items;                    //  items handed to writers since rest_check
    int64_t window_batches;                  //  ... in this many batches
    int64_t rest_check;                      //  clock ms that window began
    s_bucket_t buckets[S_BUCKETS];           //  customers -> writer
    bool reading;                            //  the gateway reader is registered (paused when full)
    int64_t published;                       //  events of batches published
    int64_t publish_failures;                //  ... refused by the PUB socket
    intake_limits_t limits;                  //  validation limits
    int64_t next_refresh;                    //  monotonic ms of the next auth refresh
    int64_t last_shop_miss; //  monotonic ms of the last refresh for an unknown shop
    int64_t next_sweep;     //  clock ms of the next quiet-period sweep
    bool draining;          //  DRAIN received
    int64_t churn;          //  frames read and connections closed since memory went back
    int64_t churn_mark;     //  churn at the last once-a-second look
    int64_t churn_mark_at;  //  monotonic ms of that look
    //  Counters (slots in control).
    int64_t *c_frames;         //  frames read
    int64_t *c_bad_framing;    //  messages with a wrong frame count
    int64_t *c_malformed;      //  frames that did not unpack
    int64_t *c_hellos;         //  sessions welcomed
    int64_t *c_hello_rejected; //  Hellos refused
    int64_t *c_accepted;       //  items stored
    int64_t *c_duplicate;      //  items already stored
    int64_t *c_retry_later;    //  items answered RETRY_LATER
    int64_t *c_rejected;       //  items REJECTED (all codes)
    int64_t *c_conflicts;      //  duplicates with a different body
    int64_t *c_batches;        //  transactions committed
    int64_t *c_batches_warm;   //  ... in one round trip (customers remembered by the writer)
    int64_t *c_cache_stale;    //  batches that found a writer's memory out of date
    int64_t *c_presumed_wrong; //  batches with a customer presumed new who was known
    int64_t *c_presumed_new;   //  customers stored as new without reading first
    int64_t *c_batch_failures; //  transactions failed
    int64_t *c_opened;         //  conversations opened
    int64_t *c_closed;         //  conversations closed
    int64_t *c_ack_failures;   //  acks the socket refused (peer gone)
    int64_t *c_writers_grown;  //  times another writer was put to work
    int64_t *c_overloaded;     //  items answered RETRY_LATER overloaded
    int64_t *c_disconnects;    //  sessions ended by their connection closing
    int64_t *c_trims;          //  times freed memory was given back to the system
    int64_t *c_sweep_failures; //  sweep transactions that failed
    int64_t *c_key_conflicts;  //  store attempts that failed on a unique key
    //  Housekeeping, off the loop.
    intake_jobs_t *keeper;  //  the sweep, the auth refresh (intake_jobs.h)
    bool sweeping;          //  a sweep is queued or running
    bool refreshing;        //  an auth refresh is queued or running
    bool keys_loading;      //  the customer keys are being loaded
    bool keys_loaded;       //  ... and have been (intake_cache_set_complete)
    int64_t *c_keys_loaded; //  customer keys in the filter at start
    int64_t *c_keys_ready;  //  1 once they are (new customers presumed new)
    int64_t *c_keys_failed; //  attempts to load them that failed
};

//  ---------------------------------------------------------------------
//  Construction

static void
s_refresh_status (kf_control_t *control, void *arg)
{
    s_server_t *self = arg;
    kf_control_set_store_connected (control, kf_store_connected (self->store));
    kf_control_set_draining (control, self->draining);
    *kf_control_counter (control, "sessions.open") =
        (int64_t) intake_sessions_size (self->sessions);
    *kf_control_counter (control, "sessions.connections") =
        (int64_t) intake_sessions_connections (self->sessions);
    *kf_control_counter (control, "sessions.replaced") = intake_sessions_replaced (self->sessions);
    *kf_control_counter (control, "writers.active") = self->active;
    *kf_control_counter (control, "commands.pending") =
        (int64_t) intake_outbound_pending (self->outbound);
    *kf_control_counter (control, "events.published") =
        kf_outbox_published (self->outbox) + self->published;
    *kf_control_counter (control, "events.publish_failures") =
        kf_outbox_publish_failures (self->outbox) + self->publish_failures;
    *kf_control_counter (control, "auth.handshake_failures") =
        intake_auth_handshake_failures (self->auth);
    *kf_control_counter (control, "auth.handshakes_abandoned") =
        intake_auth_handshakes_abandoned (self->auth);
    *kf_control_counter (control, "store.connects") = kf_store_connects (self->store);
}

static void s_sweep (s_server_t *self);

//  The conversation limits in force (reloadable).
static intake_periods_t
s_periods (const s_server_t *self)
{
    return (intake_periods_t){self->config->quiet_period, self->config->abandon_after,
                              self->config->catch_up};
}

static void s_keeper_finish (s_server_t *self);

static void
s_on_clock (void *arg)
{
    //  A driven clock moved through the control endpoint (tests): run the
    //  time-based work now, to its end, before the answer goes back. The
    //  periodic sweep (the tick) never waits for the keeper.
    s_sweep ((s_server_t *) arg);
    s_keeper_finish ((s_server_t *) arg);
    intake_outbound_finish (((s_server_t *) arg)->outbound);
}

static intake_classify_t *
s_load_dictionary (const intake_config_t *config)
{
    char path[1024];
    if (config->dictionary && *config->dictionary)
        snprintf (path, sizeof path, "%s", config->dictionary);
    else
        intake_classify_default_path (path, sizeof path);
    char why[256] = "";
    intake_classify_t *classify = intake_classify_load (path, why, sizeof why);
    if (classify)
        kf_log_info ("intake.dictionary_loaded", "path=%s keywords=%d", path,
                     intake_classify_keyword_count (classify));
    else
        kf_log_error ("intake.dictionary_failed", "path=%s reason=\"%s\"", path, why);
    return classify;
}

static void
s_server_destroy (s_server_t **self_p)
{
    if (*self_p) {
        s_server_t *self = *self_p;
        for (int i = 0; i < self->writer_count; i++)
            intake_writer_destroy (&self->writers[i]);
        intake_jobs_destroy (&self->keeper); //  waits for the job it runs
        intake_cache_destroy (&self->cache);
        for (int w = 0; w < self->writer_count; w++) {
            for (int i = 0; i < self->build_count[w]; i++)
                intake_item_clear (&self->build[w][i]);
            free (self->build[w]);
            free (self->spare[w]);
        }
        intake_outbound_destroy (&self->outbound);
        intake_sessions_destroy (&self->sessions);
        kf_zap_monitor_destroy (self->router, &self->monitor);
        zsock_destroy (&self->router);
        kf_outbox_destroy (&self->outbox);
        kf_control_destroy (&self->control);
        intake_auth_destroy (&self->auth);
        intake_classify_destroy (&self->classify);
        kf_store_destroy (&self->store);
        free (self);
        *self_p = NULL;
    }
}

static s_server_t *
s_server_new (zsock_t *pipe, kf_service_args_t *args)
{
    s_server_t *self = calloc (1, sizeof *self);
    self->pipe = pipe;
    self->spec = args->spec;
    self->config = args->config;
    self->clock = args->clock;
    self->store = kf_store_new (args->common->database_url, "kefu-intake");
    intake_store_register (self->store);
    self->outbox = kf_outbox_new ("intake", self->store);
    self->control = kf_control_new ("intake", self->clock);
    kf_control_set_refresh (self->control, s_refresh_status, self);
    kf_control_set_on_clock (self->control, s_on_clock, self);
    self->auth = intake_auth_new (self->config);
    kf_control_set_insecure (self->control, self->config->insecure);
    self->sessions = intake_sessions_new ();
    //  Two size guards: a frame a little over max_frame gets a REJECTED
    //  oversized_frame ack; one over twice that disconnects the peer before
    //  ZeroMQ even allocates it (ZMQ_MAXMSGSIZE).
    self->router = kf_wire_socket (KF_SOCK_ROUTER_SERVER, (size_t) self->config->max_frame * 2);
    self->capacity = (int) self->config->batch_max;
    //  Two item arrays per writer: one being built, one being stored.
    self->writer_count = (int) self->config->writers;
    self->active = 1;
    self->cache = intake_cache_new (S_CACHE_MAX);
    self->rest_check = kf_clock_now_ms (self->clock);
    for (int w = 0; w < self->writer_count; w++) {
        self->writers[w] = intake_writer_new (args->common->database_url, w + 1, self->cache);
        self->build[w] = calloc ((size_t) self->capacity, sizeof (intake_item_t));
        self->spare[w] = calloc ((size_t) self->capacity, sizeof (intake_item_t));
    }
    self->keeper = intake_jobs_new (args->common->database_url, "keeper", self);
    intake_outbound_deps_t deps = {self->config,   args->common->database_url,
                                   self->outbox,   self->auth,
                                   self->sessions, self->router,
                                   self->clock,    self->control};
    self->outbound = intake_outbound_new (&deps);
    kf_control_t *c = self->control;
    self->c_frames = kf_control_counter (c, "frames.received");
    self->c_bad_framing = kf_control_counter (c, "frames.bad_framing");
    self->c_malformed = kf_control_counter (c, "frames.malformed");
    self->c_hellos = kf_control_counter (c, "sessions.welcomed");
    self->c_hello_rejected = kf_control_counter (c, "sessions.rejected");
    self->c_accepted = kf_control_counter (c, "items.accepted");
    self->c_duplicate = kf_control_counter (c, "items.duplicate");
    self->c_retry_later = kf_control_counter (c, "items.retry_later");
    self->c_rejected = kf_control_counter (c, "items.rejected");
    self->c_conflicts = kf_control_counter (c, "items.body_conflicts");
    self->c_batches = kf_control_counter (c, "batches.committed");
    self->c_batches_warm = kf_control_counter (c, "batches.warm");
    self->c_cache_stale = kf_control_counter (c, "batches.cache_stale");
    self->c_presumed_wrong = kf_control_counter (c, "batches.presumed_wrong");
    self->c_presumed_new = kf_control_counter (c, "customers.presumed_new");
    self->c_keys_loaded = kf_control_counter (c, "customers.keys_loaded");
    self->c_keys_ready = kf_control_counter (c, "customers.keys_ready");
    self->c_keys_failed = kf_control_counter (c, "customers.keys_failed");
    self->c_batch_failures = kf_control_counter (c, "batches.failed");
    self->c_opened = kf_control_counter (c, "conversations.opened");
    self->c_closed = kf_control_counter (c, "conversations.closed");
    self->c_ack_failures = kf_control_counter (c, "acks.unroutable");
    self->c_writers_grown = kf_control_counter (c, "writers.grown");
    self->c_overloaded = kf_control_counter (c, "items.overloaded");
    self->c_disconnects = kf_control_counter (c, "sessions.closed");
    self->c_trims = kf_control_counter (c, "memory.returned");
    self->c_sweep_failures = kf_control_counter (c, "sweeps.failed");
    self->c_key_conflicts = kf_control_counter (c, "batches.unique_conflicts");
    return self;
}

static void
s_apply_limits (s_server_t *self)
{
    self->limits.max_body = self->config->max_body;
    self->limits.max_past = self->config->max_past;
    self->limits.max_future = self->config->max_future;
}

//  ---------------------------------------------------------------------
//  Replies

static void
s_send_frame (s_server_t *self, zframe_t *routing_id, const Kefu__V1__IntakeFrame *frame)
{
    if (kf_wire_send (self->router, routing_id, &frame->base) == -1)
        (*self->c_ack_failures)++;
}

static void
s_count_rejection (s_server_t *self, int code)
{
    (*self->c_rejected)++;
    char name[64];
    snprintf (name, sizeof name, "items.rejected.%s", kf_error_code_name (code));
    (*kf_control_counter (self->control, name))++;
}

//  An ack for an item that never entered a batch (rejected, or retry after
//  retry_after_ms).
static void
s_ack_now_after (s_server_t *self, zframe_t *routing_id, const Kefu__V1__InboundItem *item,
                 int status, const kf_error_t *err, int64_t retry_after_ms)
{
    Kefu__V1__Ack ack = KEFU__V1__ACK__INIT;
    if (item) {
        //  Echo the id even if it was invalid, truncated to the id limit.
        ack.gateway_msg_id = item->gateway_msg_id;
        if (ack.gateway_msg_id.len > KF_ID_MAX)
            ack.gateway_msg_id.len = KF_ID_MAX;
        ack.shop_id = item->shop_id;
        if (ack.shop_id.len > KF_SHOP_ID_MAX)
            ack.shop_id.len = KF_SHOP_ID_MAX;
    }
    ack.status = status;
    ack.code = err->code;
    ack.reason = (char *) err->reason;
    if (status == KEFU__V1__ACK_STATUS__ACK_RETRY_LATER) {
        ack.retry_after_ms = (uint32_t) retry_after_ms;
        (*self->c_retry_later)++;
    } else if (status == KEFU__V1__ACK_STATUS__ACK_REJECTED)
        s_count_rejection (self, err->code);
    Kefu__V1__IntakeFrame out = KEFU__V1__INTAKE_FRAME__INIT;
    out.body_case = KEFU__V1__INTAKE_FRAME__BODY_ACK;
    out.ack = &ack;
    s_send_frame (self, routing_id, &out);
}

static void
s_ack_now (s_server_t *self, zframe_t *routing_id, const Kefu__V1__InboundItem *item, int status,
           const kf_error_t *err)
{
    s_ack_now_after (self, routing_id, item, status, err, S_RETRY_AFTER_MS);
}

static void
s_ack_item (s_server_t *self, intake_item_t *item)
{
    Kefu__V1__Ack ack = KEFU__V1__ACK__INIT;
    ack.gateway_msg_id.data = (uint8_t *) item->msg_id;
    ack.gateway_msg_id.len = strlen (item->msg_id);
    ack.shop_id.data = (uint8_t *) item->shop_id;
    ack.shop_id.len = strlen (item->shop_id);
    ack.status = item->status;
    ack.stored_id = item->stored_id;
    ack.code = item->error.code;
    ack.reason = item->error.reason;
    switch (item->status) {
    case KEFU__V1__ACK_STATUS__ACK_ACCEPTED:
        (*self->c_accepted)++;
        break;
    case KEFU__V1__ACK_STATUS__ACK_DUPLICATE:
        (*self->c_duplicate)++;
        break;
    case KEFU__V1__ACK_STATUS__ACK_RETRY_LATER:
        ack.retry_after_ms = S_RETRY_AFTER_MS;
        (*self->c_retry_later)++;
        break;
    default:
        s_count_rejection (self, item->error.code);
    }
    Kefu__V1__IntakeFrame out = KEFU__V1__INTAKE_FRAME__INIT;
    out.body_case = KEFU__V1__INTAKE_FRAME__BODY_ACK;
    out.ack = &ack;
    s_send_frame (self, item->routing_id, &out);
}

//  ---------------------------------------------------------------------
//  Connections

//  The socket a message came on (ZMQ_SRCFD, which libzmq 4.3 carries as
//  the property "__fd" of the frames it read: the body, not always the
//  routing id the ROUTER puts before it), or -1.
static int
s_connection_fd (zframe_t *body)
{
    const char *fd = zframe_meta (body, "__fd");
    return fd ? atoi (fd) : -1;
}

//  Apply the gateway socket's connection events: a socket that closed
//  (or was taken by a new connection) ends the session bound to it.
static void
s_read_connections (s_server_t *self)
{
    int event;
    uint32_t value;
    char endpoint[256];
    while (self->monitor &&
           kf_zap_monitor_read (self->monitor, &event, &value, endpoint, sizeof endpoint)) {
        if (event == ZMQ_EVENT_DISCONNECTED)
            self->churn += S_CONN_CHURN;
        if (event == ZMQ_EVENT_ACCEPTED || event == ZMQ_EVENT_DISCONNECTED) {
            kf_log_debug ("intake.connection", "event=%s fd=%u",
                          event == ZMQ_EVENT_ACCEPTED ? "accepted" : "closed", value);
            intake_session_t *session = intake_sessions_of_fd (self->sessions, (int) value);
            if (session) {
                (*self->c_disconnects)++;
                kf_log_info ("intake.session_closed", "gateway=%s principal=%s peer=\"%s\"",
                             session->gateway_id, session->principal_id, endpoint);
                intake_sessions_remove (self->sessions, session->routing_id);
            }
        } else
            intake_auth_handshake_failed (self->auth, event, value, endpoint);
    }
}

//  ---------------------------------------------------------------------
//  Hello

static void
s_reject_hello (s_server_t *self, zframe_t *routing_id, kf_error_t *err)
{
    (*self->c_hello_rejected)++;
    kf_log_warn ("intake.hello_rejected", "code=%s reason=\"%s\"", kf_error_code_name (err->code),
                 err->reason);
    Kefu__V1__Reject reject = KEFU__V1__REJECT__INIT;
    reject.code = err->code;
    reject.reason = err->reason;
    Kefu__V1__IntakeFrame out = KEFU__V1__INTAKE_FRAME__INIT;
    out.body_case = KEFU__V1__INTAKE_FRAME__BODY_REJECT;
    out.reject = &reject;
    s_send_frame (self, routing_id, &out);
}

static void
s_handle_hello (s_server_t *self, zframe_t *routing_id, zframe_t *body,
                const Kefu__V1__Hello *hello)
{
    kf_error_t err;
    kf_error_clear (&err);
    const intake_principal_t *principal = intake_auth_principal_of (self->auth, body);
    if (!intake_auth_loaded (self->auth)) {
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                      "database unavailable: try again shortly");
        s_reject_hello (self, routing_id, &err);
        return;
    }
    if (!principal) {
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED,
                      "unknown or revoked key");
        s_reject_hello (self, routing_id, &err);
        return;
    }
    if (!intake_auth_may_send_items (principal)) {
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN,
                      "principal %s has role %s, not gateway", principal->id, principal->role);
        s_reject_hello (self, routing_id, &err);
        return;
    }
    if (hello->protocol_version != KEFU__V1__GATEWAY_PROTOCOL__GATEWAY_PROTOCOL_V1) {
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_PROTOCOL_VERSION,
                      "protocol version %d is not supported (this intake speaks 1)",
                      hello->protocol_version);
        s_reject_hello (self, routing_id, &err);
        return;
    }
    if (kf_valid_id (&hello->gateway_id, "hello.gateway_id", KF_ID_MAX, &err) ||
        kf_valid_text (&hello->software, "hello.software", 256, false, &err)) {
        s_reject_hello (self, routing_id, &err);
        return;
    }
    //  The gateway id is part of the de-dup key: only its own key may use
    //  it, or another key could take (or read) that gateway's ids.
    char gateway_id[KF_ID_MAX + 1];
    memcpy (gateway_id, hello->gateway_id.data, hello->gateway_id.len);
    gateway_id[hello->gateway_id.len] = '\0';
    if (!intake_auth_owns_gateway (principal, gateway_id)) {
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN,
                      "gateway id %s is not registered to principal %s (kefuctl principal bind "
                      "%s --gateway-id ...)",
                      gateway_id, principal->id, principal->id);
        s_reject_hello (self, routing_id, &err);
        return;
    }
    if (hello->n_serves > INTAKE_SERVES_MAX) {
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_TOO_LONG,
                      "hello.serves has %zu entries, over the limit of %d", hello->n_serves,
                      INTAKE_SERVES_MAX);
        s_reject_hello (self, routing_id, &err);
        return;
    }
    intake_serves_t serves[INTAKE_SERVES_MAX];
    for (size_t i = 0; i < hello->n_serves; i++) {
        const Kefu__V1__ShopChannel *sc = hello->serves[i];
        if (kf_valid_text (&sc->shop_id, "hello.serves.shop_id", KF_SHOP_ID_MAX, true, &err) ||
            kf_valid_shop_id ((const char *) sc->shop_id.data, sc->shop_id.len, &err) ||
            kf_valid_enum (&kefu__v1__channel__descriptor, sc->channel, "hello.serves.channel",
                           false, &err)) {
            s_reject_hello (self, routing_id, &err);
            return;
        }
        memcpy (serves[i].shop_id, sc->shop_id.data, sc->shop_id.len);
        serves[i].shop_id[sc->shop_id.len] = '\0';
        serves[i].channel = sc->channel;
        if (!intake_auth_shop_known (self->auth, serves[i].shop_id)) {
            kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP,
                          "hello.serves names shop %s, which is not registered", serves[i].shop_id);
            s_reject_hello (self, routing_id, &err);
            return;
        }
        if (!intake_auth_in_scope (principal, serves[i].shop_id)) {
            kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_SHOP_OUT_OF_SCOPE,
                          "principal %s may not serve shop %s", principal->id, serves[i].shop_id);
            s_reject_hello (self, routing_id, &err);
            return;
        }
    }
    //  Every connection event reported so far first: the closing of an
    //  earlier connection on this socket's fd (intake_session.h).
    s_read_connections (self);
    intake_session_t *session = intake_sessions_open (
        self->sessions, routing_id, s_connection_fd (body), principal->id, gateway_id);
    if (!session) {
        kf_log_debug ("intake.hello_stale", "gateway=%s reason=\"its connection has closed\"",
                      gateway_id);
        return;
    }
    memcpy (session->serves, serves, hello->n_serves * sizeof serves[0]);
    session->serves_count = (int) hello->n_serves;
    (*self->c_hellos)++;
    kf_log_info ("intake.session_opened", "gateway=%s principal=%s serves=%d fd=%d",
                 session->gateway_id, principal->id, session->serves_count, session->fd);

    Kefu__V1__Welcome welcome = KEFU__V1__WELCOME__INIT;
    welcome.protocol_version = KEFU__V1__GATEWAY_PROTOCOL__GATEWAY_PROTOCOL_V1;
    welcome.principal_id = (char *) principal->id;
    char *all = "*";
    char **shops = NULL;
    if (principal->all_shops) {
        welcome.n_shops = 1;
        welcome.shops = &all;
    } else {
        welcome.n_shops = zhashx_size (principal->shops);
        shops = calloc (welcome.n_shops + 1, sizeof (char *));
        size_t i = 0;
        for (void *v = zhashx_first (principal->shops); v; v = zhashx_next (principal->shops))
            shops[i++] = (char *) zhashx_cursor (principal->shops);
        welcome.shops = shops;
    }
    welcome.max_frame_bytes = (uint32_t) self->config->max_frame;
    welcome.max_body_bytes = (uint32_t) self->config->max_body;
    welcome.server_time_ms = kf_clock_now_ms (self->clock);
    welcome.insecure = intake_auth_insecure (self->auth);
    Kefu__V1__IntakeFrame out = KEFU__V1__INTAKE_FRAME__INIT;
    out.body_case = KEFU__V1__INTAKE_FRAME__BODY_WELCOME;
    out.welcome = &welcome;
    s_send_frame (self, routing_id, &out);
    free (shops);
    intake_outbound_on_hello (self->outbound, session);
}

//  ---------------------------------------------------------------------
//  Items

static void
s_refresh_auth (s_server_t *self)
{
    if (kf_store_ensure (self->store) == 0)
        intake_auth_refresh (self->auth, self->store);
    self->next_refresh = zclock_mono () + self->config->auth_refresh;
}

//  ---------------------------------------------------------------------
//  Housekeeping on the keeper

//  Queue a job for the keeper (takes ownership).
static void
s_keeper_queue (s_server_t *self, intake_job_t *job)
{
    intake_jobs_queue (self->keeper, job);
}

//  Wait for every job queued (a driven clock's answer).
static void
s_keeper_finish (s_server_t *self)
{
    intake_jobs_finish (self->keeper, kf_outbox_socket (self->outbox));
}

static int
s_handle_keeper (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    s_server_t *self = arg;
    intake_jobs_on_readable (self->keeper, kf_outbox_socket (self->outbox));
    return 0;
}

typedef struct {
    intake_job_t job;               //  run, done
    intake_auth_snapshot_t *loaded; //  what the keeper read (NULL: failed)
    kf_error_t err;                 //  why it failed
} s_refresh_job_t;

static int
s_refresh_run (kf_store_t *store, kf_outbox_t *outbox, void *arg)
{
    (void) outbox;
    s_refresh_job_t *job = arg;
    job->loaded = intake_auth_load (store, &job->err);
    return job->loaded ? 0 : -1;
}

static void
s_refresh_free (intake_job_t *job)
{
    s_refresh_job_t *refresh = (s_refresh_job_t *) job;
    intake_auth_snapshot_destroy (&refresh->loaded);
    free (refresh);
}

static void
s_refresh_done (void *owner, intake_job_t *job, int rc)
{
    s_server_t *self = owner;
    s_refresh_job_t *refresh = (s_refresh_job_t *) job;
    if (rc == 0 && refresh->loaded)
        intake_auth_apply (self->auth, &refresh->loaded);
    else
        kf_log_warn ("intake.auth_refresh_failed", "reason=\"%s\"",
                     refresh->err.reason[0] ? refresh->err.reason : "database unavailable");
    s_refresh_free (job);
    self->refreshing = false;
}

typedef struct {
    intake_job_t job;      //  run, done
    intake_cache_t *cache; //  the writers' memory
    int64_t loaded;        //  keys marked
    int64_t started;       //  monotonic ms
    kf_error_t err;        //  why it failed
} s_keys_job_t;

static int
s_keys_run (kf_store_t *store, kf_outbox_t *outbox, void *arg)
{
    (void) outbox;
    s_keys_job_t *job = arg;
    job->loaded = intake_store_load_customer_keys (store, job->cache, &job->err);
    return job->loaded < 0 ? -1 : 0;
}

static void
s_keys_free (intake_job_t *job)
{
    free (job);
}

static void
s_keys_done (void *owner, intake_job_t *job, int rc)
{
    s_server_t *self = owner;
    s_keys_job_t *keys = (s_keys_job_t *) job;
    self->keys_loading = false;
    if (rc == 0) {
        intake_cache_set_complete (self->cache);
        self->keys_loaded = true;
        *self->c_keys_loaded = keys->loaded;
        *self->c_keys_ready = 1;
        kf_log_info ("intake.customer_keys_loaded", "keys=%" PRId64 " ms=%" PRId64, keys->loaded,
                     zclock_mono () - keys->started);
    } else {
        (*self->c_keys_failed)++;
        kf_log_warn ("intake.customer_keys_failed", "reason=\"%s\"",
                     keys->err.reason[0] ? keys->err.reason : "database unavailable");
    }
    s_keys_free (job);
}

//  Until the customer record's keys are loaded into the writers' filter
//  (intake_cache.h), no customer is presumed new: each is read first.
static void
s_load_customer_keys (s_server_t *self)
{
    if (self->keys_loaded || self->keys_loading)
        return;
    s_keys_job_t *job = calloc (1, sizeof *job);
    job->job.run = s_keys_run;
    job->job.done = s_keys_done;
    job->job.destroy = s_keys_free;
    job->cache = self->cache;
    job->started = zclock_mono ();
    self->keys_loading = true;
    s_keeper_queue (self, &job->job);
}

//  The periodic re-read of keys, principals and shops (revocation), and
//  the customer keys until they are loaded.
static void
s_refresh_auth_later (s_server_t *self)
{
    s_load_customer_keys (self);
    self->next_refresh = zclock_mono () + self->config->auth_refresh;
    //  The loop's own connection (commands) comes back after an outage
    //  (a connect attempt only while it is down, a few per minute).
    if (!kf_store_connected (self->store))
        (void) kf_store_ensure (self->store);
    if (self->refreshing)
        return;
    s_refresh_job_t *job = calloc (1, sizeof *job);
    job->job.run = s_refresh_run;
    job->job.done = s_refresh_done;
    job->job.destroy = s_refresh_free;
    self->refreshing = true;
    s_keeper_queue (self, &job->job);
}

//  The bucket of an item: by its customer (shop, channel, id on the
//  channel), or by its agent when it has no customer (presence).
static s_bucket_t *
s_bucket_of (s_server_t *self, const intake_item_t *item)
{
    const char *who = item->customer_id[0] ? item->customer_id : item->agent_id;
    uint8_t channel = (uint8_t) item->channel;
    uint32_t hash = kf_fnv1a (KF_FNV_OFFSET, item->shop_id, strlen (item->shop_id));
    hash = kf_fnv1a (hash, who, strlen (who));
    hash = kf_fnv1a (hash, &channel, 1);
    return &self->buckets[hash % S_BUCKETS];
}

//  The writer of an item: its bucket's while the bucket has items pending,
//  else the bucket's place among the writers at work (stable while their
//  number does not change, so a writer's memory of customers stays useful).
static int
s_writer_of (s_server_t *self, const intake_item_t *item)
{
    s_bucket_t *bucket = s_bucket_of (self, item);
    if (bucket->pending == 0)
        bucket->writer = (int) (bucket - self->buckets) % self->active;
    bucket->pending++;
    return bucket->writer;
}

//  A batch of S_GROW_AT items (or a full one) waits for busy writer w: put
//  another writer to work.
static void
s_maybe_grow (s_server_t *self, int w)
{
    int grow_at = self->capacity < S_GROW_AT ? self->capacity : S_GROW_AT;
    if (self->active < self->writer_count && self->build_count[w] >= grow_at &&
        intake_writer_busy (self->writers[w])) {
        self->active++;
        self->window_items = self->window_batches = 0;
        self->rest_check = kf_clock_now_ms (self->clock);
        (*self->c_writers_grown)++;
        kf_log_debug ("intake.writers", "active=%d", self->active);
    }
}

//  Batches smaller than S_REST_BELOW on average (or none) for
//  S_REST_AFTER_MS: one writer fewer (its buckets move as they become free).
static void
s_maybe_rest (s_server_t *self)
{
    int64_t now = kf_clock_now_ms (self->clock);
    if (now - self->rest_check < S_REST_AFTER_MS)
        return;
    if (self->active > 1 &&
        (self->window_batches == 0 || self->window_items < S_REST_BELOW * self->window_batches)) {
        self->active--;
        kf_log_debug ("intake.writers", "active=%d", self->active);
    }
    self->window_items = self->window_batches = 0;
    self->rest_check = now;
}

//  The connection has its share of items inside intake: RETRY_LATER
//  overloaded. Its refused items are given retry times one after the
//  other, a share's worth of them for as long as the connection's items
//  stay inside intake (measured; until then S_DRAIN_MS), so that they come
//  back spread out, about when there is room for them, instead of all at
//  once.
static void
s_refuse_overloaded (s_server_t *self, zframe_t *routing_id, const Kefu__V1__InboundItem *in,
                     intake_session_t *session, size_t bytes, const char *share)
{
    int64_t now = zclock_usecs ();
    int64_t slot = now + S_SLOT_MIN_MS * 1000;
    if (session->retry_slot_us > slot)
        slot = session->retry_slot_us;
    int64_t drain_us = session->drain_us > 0 ? session->drain_us : S_DRAIN_MS * 1000;
    session->retry_slot_us = slot + (int64_t) bytes * drain_us / self->config->connection_inflight;
    if (slot > now + S_SLOT_MAX_MS * 1000)
        slot = now + S_SLOT_MAX_MS * 1000;
    kf_error_t err;
    kf_error_clear (&err);
    kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_OVERLOADED,
                  "%d items (%" PRId64 " bytes) of this connection wait to be stored, its share "
                  "(%s): resend after retry_after_ms",
                  session->inflight, session->inflight_bytes, share);
    (*self->c_overloaded)++;
    s_ack_now_after (self, routing_id, in, KEFU__V1__ACK_STATUS__ACK_RETRY_LATER, &err,
                     (slot - now + 999) / 1000);
}

//  An item of the connection is answered: its share has room again, and
//  how long it stayed inside intake goes into the connection's drain time
//  (smoothed).
static void
s_settle_share (s_server_t *self, const intake_item_t *item)
{
    intake_session_t *session = intake_sessions_lookup (self->sessions, item->routing_id);
    if (!session || session->inflight == 0)
        return;
    session->inflight--;
    session->inflight_bytes -= item->frame_bytes;
    if (session->inflight == 0)
        session->inflight_bytes = session->waiting_bytes = 0;
    int64_t stayed = zclock_usecs () - item->admitted_us;
    session->drain_us = session->drain_us ? (3 * session->drain_us + stayed) / 4 : stayed;
}

//  Validate one item; valid ones join their writer's next batch (taking
//  routing_id), others are answered now.

static void
s_handle_item (s_server_t *self, zframe_t *routing_id, zframe_t *body,
               const Kefu__V1__InboundItem *in, intake_session_t *session)
{
    kf_error_t err;
    kf_error_clear (&err);
    const intake_principal_t *principal = intake_auth_principal_of (self->auth, body);
    if (!intake_auth_loaded (self->auth)) {
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE, "database unavailable");
        s_ack_now (self, routing_id, in, KEFU__V1__ACK_STATUS__ACK_RETRY_LATER, &err);
        return;
    }
    //  Refusals that no Hello can change are final, session or not: a
    //  RETRY_LATER would send the gateway round Hello, Reject and resend.
    if (!principal) {
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED,
                      "the key of this connection is unknown or was revoked");
        s_ack_now (self, routing_id, in, KEFU__V1__ACK_STATUS__ACK_REJECTED, &err);
        if (session)
            intake_sessions_remove (self->sessions, routing_id);
        return;
    }
    if (!intake_auth_may_send_items (principal)) {
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN,
                      "principal %s has role %s, which may not send items", principal->id,
                      principal->role);
        s_ack_now (self, routing_id, in, KEFU__V1__ACK_STATUS__ACK_REJECTED, &err);
        return;
    }
    if (!session) {
        //  Intake restarted, or the session expired: the gateway library
        //  says Hello again and resends.
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_NOT_AUTHENTICATED,
                      "no session: send Hello first");
        s_ack_now (self, routing_id, in, KEFU__V1__ACK_STATUS__ACK_RETRY_LATER, &err);
        return;
    }
    //  A connection's share: of intake, and, while other connections have
    //  items inside too, of the writers' next batches (a batch is written
    //  as one: its slice of a burst is what the others' items in it wait
    //  for; a connection alone may fill batches).
    int64_t size = (int64_t) zframe_size (body);
    if (session->inflight > 0 &&
        session->inflight_bytes + size > self->config->connection_inflight) {
        s_refuse_overloaded (self, routing_id, in, session, (size_t) size,
                             "KEFU_INTAKE_CONNECTION_INFLIGHT");
        return;
    }
    if (self->config->connection_batch > 0 && session->waiting_bytes > 0 &&
        self->inside > session->inflight &&
        session->waiting_bytes + size > self->config->connection_batch) {
        s_refuse_overloaded (self, routing_id, in, session, (size_t) size,
                             "KEFU_INTAKE_CONNECTION_BATCH");
        return;
    }
    intake_item_t parsed;
    intake_item_t *item = &parsed;
    memset (item, 0, sizeof *item);
    if (intake_item_from_wire (item, in, &self->limits, kf_clock_now_ms (self->clock), &err)) {
        s_ack_now (self, routing_id, in, KEFU__V1__ACK_STATUS__ACK_REJECTED, &err);
        return;
    }
    if (!intake_auth_shop_known (self->auth, item->shop_id) &&
        zclock_mono () - self->last_shop_miss > S_SHOP_MISS_MS) {
        //  Perhaps registered a moment ago: look again (rate-limited).
        self->last_shop_miss = zclock_mono ();
        s_refresh_auth (self);
    }
    if (!intake_auth_shop_known (self->auth, item->shop_id)) {
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP, "shop %s is not registered",
                      item->shop_id);
        intake_item_clear (item);
        s_ack_now (self, routing_id, in, KEFU__V1__ACK_STATUS__ACK_REJECTED, &err);
        return;
    }
    //  The shop comes from the principal's scope, never from trust in the payload.
    if (!intake_auth_in_scope (principal, item->shop_id)) {
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_SHOP_OUT_OF_SCOPE,
                      "principal %s may not push for shop %s", principal->id, item->shop_id);
        intake_item_clear (item);
        s_ack_now (self, routing_id, in, KEFU__V1__ACK_STATUS__ACK_REJECTED, &err);
        return;
    }
    if (self->classify) {
        if (item->kind == INTAKE_KIND_MESSAGE) {
            Kefu__V1__Intent intent;
            Kefu__V1__Priority priority;
            intake_classify_message (self->classify, item->text, strlen (item->text), &intent,
                                     &priority);
            item->intent = intent;
            item->priority = priority;
        } else if (item->kind == INTAKE_KIND_REPLY)
            item->qa_count = intake_classify_qa (self->classify, item->text, strlen (item->text),
                                                 item->qa_flags, INTAKE_QA_MAX);
    }
    snprintf (item->gateway_id, sizeof item->gateway_id, "%s", session->gateway_id);
    //  Who wrote it is part of the record ("" = unauthenticated, stored NULL).
    if (!intake_auth_insecure (self->auth))
        snprintf (item->principal_id, sizeof item->principal_id, "%s", principal->id);
    item->routing_id = zframe_dup (routing_id);
    item->frame_bytes = (int64_t) zframe_size (body);
    item->admitted_us = zclock_usecs ();
    session->inflight++;
    session->inflight_bytes += item->frame_bytes;
    session->waiting_bytes += item->frame_bytes;
    self->inside++;
    int w = s_writer_of (self, item);
    self->build[w][self->build_count[w]++] = parsed;
    if (self->build_count[w] == self->capacity)
        self->full++;
    s_maybe_grow (self, w);
}

static int s_handle_gateway (zloop_t *loop, zsock_t *reader, void *arg);

//  Items handed to a writer no longer wait for a batch: their connections'
//  next batches have room again.
static void
s_handed (s_server_t *self, const intake_item_t *items, int count)
{
    for (int i = 0; i < count; i++) {
        intake_session_t *session = intake_sessions_lookup (self->sessions, items[i].routing_id);
        if (session)
            session->waiting_bytes = session->waiting_bytes > items[i].frame_bytes
                                         ? session->waiting_bytes - items[i].frame_bytes
                                         : 0;
    }
}

//  Hand each idle writer the batch built for it.
static void
s_dispatch (s_server_t *self)
{
    for (int w = 0; w < self->writer_count; w++)
        if (self->build_count[w] > 0 && !intake_writer_busy (self->writers[w])) {
            if (self->build_count[w] == self->capacity)
                self->full--;
            self->window_items += self->build_count[w];
            self->window_batches++;
            s_handed (self, self->build[w], self->build_count[w]);
            intake_writer_submit (self->writers[w], self->build[w], self->build_count[w],
                                  s_periods (self));
            self->build[w] = self->spare[w];
            self->spare[w] = NULL;
            self->build_count[w] = 0;
        }
    s_maybe_rest (self);
}

//  A writer is done: publish the batch's events, send its acks, take the
//  next batch.
static void
s_finish (s_server_t *self, int w)
{
    intake_writer_t *writer = self->writers[w];
    intake_writer_result_t result;
    int count = 0;
    intake_item_t *items =
        intake_writer_collect (writer, kf_outbox_socket (self->outbox), &count, &result);
    self->published += result.published;
    self->publish_failures += result.publish_failures;
    if (result.batch.stale)
        (*self->c_cache_stale)++;
    if (result.batch.presumed_wrong)
        (*self->c_presumed_wrong)++;
    *self->c_presumed_new += result.batch.presumed;
    if (result.committed) {
        (*self->c_batches)++;
        if (result.batch.warm)
            (*self->c_batches_warm)++;
        kf_log_debug ("intake.batch_committed",
                      "writer=%d items=%d accepted=%d duplicates=%d warm=%d presumed=%d "
                      "presumed_wrong=%d stale=%d us=%" PRId64,
                      w + 1, count, result.batch.accepted, result.batch.duplicates,
                      result.batch.warm ? 1 : 0, result.batch.presumed,
                      result.batch.presumed_wrong ? 1 : 0, result.batch.stale ? 1 : 0, result.us);
    } else
        (*self->c_batch_failures)++;
    *self->c_conflicts += result.batch.conflicts;
    *self->c_key_conflicts += result.batch.unique_conflicts;
    *self->c_opened += result.batch.opened;
    *self->c_closed += result.batch.closed;
    for (int i = 0; i < count; i++) {
        s_bucket_of (self, &items[i])->pending--;
        self->inside--;
        s_settle_share (self, &items[i]);
        s_ack_item (self, &items[i]);
        intake_item_clear (&items[i]);
    }
    self->spare[w] = items;
}

//  Read the gateways again once no writer's next batch is full.
static void
s_resume_reading (s_server_t *self)
{
    if (!self->reading && !self->draining && self->full == 0) {
        zloop_reader (self->loop, self->router, s_handle_gateway, self);
        self->reading = true;
    }
}

static int
s_handle_writer (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_server_t *self = arg;
    for (int i = 0; i < self->writer_count; i++)
        if (intake_writer_socket (self->writers[i]) == reader &&
            intake_writer_busy (self->writers[i]))
            s_finish (self, i);
    s_dispatch (self);
    (void) loop;
    s_resume_reading (self);
    intake_outbound_flush_acks (self->outbound);
    return 0;
}

//  Drain: store what was read, wait for every writer, send every ack.
static void
s_settle_all (s_server_t *self)
{
    while (true) {
        s_dispatch (self);
        bool busy = false;
        for (int i = 0; i < self->writer_count; i++)
            if (intake_writer_busy (self->writers[i])) {
                s_finish (self, i);
                busy = true;
            }
        if (!busy)
            break;
    }
}

static void
s_handle_frame (s_server_t *self, zmsg_t *msg)
{
    (*self->c_frames)++;
    zframe_t *routing_id = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    if (body)
        self->churn += (int64_t) zframe_size (body);
    kf_error_t err;
    kf_error_clear (&err);
    if (!routing_id || !body || zmsg_size (msg) != 0) {
        //  A DEALER sends one frame per message; anything else is dropped:
        //  there is no item id to answer.
        (*self->c_bad_framing)++;
        goto done;
    }
    intake_session_t *session = intake_sessions_lookup (self->sessions, routing_id);
    if (session)
        session->last_seen = zclock_mono ();
    Kefu__V1__GatewayFrame *frame = (Kefu__V1__GatewayFrame *) kf_wire_unpack (
        &kefu__v1__gateway_frame__descriptor, zframe_data (body), zframe_size (body),
        (size_t) self->config->max_frame, &err);
    if (!frame) {
        (*self->c_malformed)++;
        s_ack_now (self, routing_id, NULL, KEFU__V1__ACK_STATUS__ACK_REJECTED, &err);
        goto done;
    }
    switch (frame->body_case) {
    case KEFU__V1__GATEWAY_FRAME__BODY_HELLO:
        s_handle_hello (self, routing_id, body, frame->hello);
        break;
    case KEFU__V1__GATEWAY_FRAME__BODY_ITEM:
        s_handle_item (self, routing_id, body, frame->item, session);
        break;
    case KEFU__V1__GATEWAY_FRAME__BODY_COMMAND_ACK: {
        const intake_principal_t *principal = intake_auth_principal_of (self->auth, body);
        if (session && principal)
            intake_outbound_on_ack (self->outbound, principal, frame->command_ack);
        break;
    }
    default:
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD,
                      "frame has no body (hello, item or command_ack)");
        (*self->c_malformed)++;
        s_ack_now (self, routing_id, NULL, KEFU__V1__ACK_STATUS__ACK_REJECTED, &err);
    }
    kefu__v1__gateway_frame__free_unpacked (frame, NULL);
done:
    zframe_destroy (&routing_id);
    zframe_destroy (&body);
}

static int
s_handle_gateway (zloop_t *loop, zsock_t *reader, void *arg)
{
    s_server_t *self = arg;
    //  Read what is ready (up to S_READS_PER_PASS frames, so that an item
    //  read early in a flood is not held back by the reading of the rest),
    //  then hand it to a writer; when a writer's next batch is full, pause
    //  reading.
    for (int reads = 0; reads < S_READS_PER_PASS && self->full == 0; reads++) {
        zmsg_t *msg = kf_wire_recv_nowait (reader);
        if (!msg)
            break;
        s_handle_frame (self, msg);
        zmsg_destroy (&msg);
    }
    s_dispatch (self);
    if (self->full > 0 && self->reading) {
        zloop_reader_end (loop, reader);
        self->reading = false;
    }
    intake_outbound_flush_acks (self->outbound);
    return 0;
}

static int
s_handle_monitor (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    intake_auth_handle_monitor (((s_server_t *) arg)->auth);
    return 0;
}

static int
s_handle_connections (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    s_read_connections ((s_server_t *) arg);
    return 0;
}

//  ---------------------------------------------------------------------
//  Housekeeping

#define S_SWEEP_LIMIT 500 //  conversations looked at per sweep transaction

typedef struct {
    intake_job_t job;         //  run, done
    char **shops;             //  registered shops (owned copies)
    int shop_count;           //  entries
    int64_t now_ms;           //  the sweep's time
    intake_periods_t periods; //  quiet period, abandon limit
    int closed;               //  closed by the last transaction (-1: failed)
    bool more;                //  more candidates may be waiting
    kf_error_t err;           //  why it failed
} s_sweep_job_t;

static void
s_sweep_free (intake_job_t *job)
{
    s_sweep_job_t *sweep = (s_sweep_job_t *) job;
    for (int i = 0; i < sweep->shop_count; i++)
        free (sweep->shops[i]);
    free (sweep->shops);
    free (sweep);
}

//  On the keeper: one bounded transaction of the sweep.
static int
s_sweep_run (kf_store_t *store, kf_outbox_t *outbox, void *arg)
{
    s_sweep_job_t *job = arg;
    job->closed =
        intake_store_close_quiet (store, outbox, (const char **) job->shops, job->shop_count,
                                  job->now_ms, job->periods, S_SWEEP_LIMIT, &job->more, &job->err);
    return job->closed < 0 ? -1 : 0;
}

//  Back on the loop: count, and go on in another transaction while more
//  may be waiting (other jobs take their turn in between).
static void
s_sweep_done (void *owner, intake_job_t *job, int rc)
{
    s_server_t *self = owner;
    s_sweep_job_t *sweep = (s_sweep_job_t *) job;
    if (rc == 0 && sweep->closed > 0) {
        *self->c_closed += sweep->closed;
        kf_log_debug ("intake.quiet_closed", "conversations=%d", sweep->closed);
    }
    if (rc != 0)
        (*self->c_sweep_failures)++;
    if (rc == 0 && sweep->more && !self->draining) {
        s_keeper_queue (self, job);
        return;
    }
    s_sweep_free (job);
    self->sweeping = false;
}

//  Close the expired conversations (the rule of intake_conversations,
//  applied by SQL to those nobody writes to).
static void
s_sweep (s_server_t *self)
{
    int64_t now = kf_clock_now_ms (self->clock);
    self->next_sweep = now + self->config->sweep_interval;
    if (!intake_auth_loaded (self->auth) || self->sweeping)
        return;
    int count = 0;
    const char **shops = intake_auth_shops (self->auth, &count);
    if (count == 0)
        return;
    s_sweep_job_t *job = calloc (1, sizeof *job);
    job->job.run = s_sweep_run;
    job->job.done = s_sweep_done;
    job->job.destroy = s_sweep_free;
    job->shops = calloc ((size_t) count, sizeof (char *));
    for (int i = 0; i < count; i++)
        job->shops[i] = strdup (shops[i]);
    job->shop_count = count;
    job->now_ms = now;
    job->periods = s_periods (self);
    self->sweeping = true;
    s_keeper_queue (self, &job->job);
}

//  After a burst, give the memory it used back to the system. glibc keeps
//  what is freed for later (in the arena of the thread that allocated it:
//  ZeroMQ's I/O thread for frames and connections, the writers for their
//  statements), and a burst leaves those heaps full of free holes that
//  nothing returns. Once a second, with nothing read, batched or being
//  stored at that moment, the free pages of every arena are returned
//  (malloc_trim) when the churn since the last time (frame bytes read,
//  connections closed) is S_TRIM_AFTER, or S_TRIM_CALM once the last
//  second brought less than an eighth of it: the burst is over.
static void
s_give_back_memory (s_server_t *self, int64_t mono)
{
    if (mono - self->churn_mark_at < 1000)
        return;
    int64_t recent = self->churn - self->churn_mark;
    self->churn_mark = self->churn;
    self->churn_mark_at = mono;
    if (self->churn < S_TRIM_AFTER && (self->churn < S_TRIM_CALM || recent * 8 > self->churn))
        return;
    for (int w = 0; w < self->writer_count; w++)
        if (self->build_count[w] > 0 || intake_writer_busy (self->writers[w]))
            return;
    malloc_trim (0);
    self->churn = self->churn_mark = 0;
    (*self->c_trims)++;
}

static int
s_handle_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_server_t *self = arg;
    int64_t mono = zclock_mono ();
    if (mono >= self->next_refresh)
        s_refresh_auth_later (self);
    if (kf_clock_now_ms (self->clock) >= self->next_sweep)
        s_sweep (self);
    intake_outbound_tick (self->outbound);
    intake_sessions_expire (self->sessions, mono, self->config->session_idle);
    s_maybe_rest (self);
    s_give_back_memory (self, mono);
    return 0;
}

//  ---------------------------------------------------------------------
//  Actor commands

static int
s_start (s_server_t *self, char *why, size_t why_size)
{
    s_apply_limits (self);
    self->classify = s_load_dictionary (self->config);
    if (!self->classify) {
        snprintf (why, why_size, "cannot load the intent dictionary (KEFU_INTAKE_DICTIONARY)");
        return -1;
    }
    if (intake_auth_start (self->auth, why, why_size))
        return -1;
    //  A database that is down is not fatal: intake answers RETRY_LATER
    //  and keeps trying to connect.
    if (kf_store_connect (self->store) == 0)
        intake_auth_refresh (self->auth, self->store);
    self->next_refresh = zclock_mono () + self->config->auth_refresh;
    self->next_sweep = kf_clock_now_ms (self->clock) + self->config->sweep_interval;
    intake_auth_secure_events (self->auth, self->outbox);
    if (kf_outbox_bind (self->outbox, self->config->events_endpoint) == -1 ||
        kf_control_bind (self->control, self->config->control_endpoint) == -1) {
        snprintf (why, why_size, "cannot bind the events or control endpoint");
        return -1;
    }
    intake_auth_secure (self->auth, self->router);
    if (zsock_bind (self->router, "%s", self->config->gateway_endpoint) == -1) {
        snprintf (why, why_size, "cannot bind KEFU_INTAKE_GATEWAY_ENDPOINT=%s: %s",
                  self->config->gateway_endpoint, zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (intake_outbound_bind (self->outbound, self->config->command_endpoint) == -1) {
        snprintf (why, why_size, "cannot bind KEFU_INTAKE_COMMAND_ENDPOINT=%s",
                  self->config->command_endpoint);
        return -1;
    }
    //  One monitor per socket (libzmq): the gateway socket's reports
    //  connections for the sessions and failed handshakes for auth.
    self->monitor =
        kf_zap_monitor (self->router, KF_ZAP_FAILED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED);
    if (!self->monitor) {
        snprintf (why, why_size, "cannot monitor the gateway endpoint's connections: %s",
                  zmq_strerror (zmq_errno ()));
        return -1;
    }
    zsock_t *events_monitor = intake_auth_monitor (self->auth, kf_outbox_socket (self->outbox));
    zloop_reader (self->loop, self->router, s_handle_gateway, self);
    self->reading = true;
    for (int i = 0; i < self->writer_count; i++)
        zloop_reader (self->loop, intake_writer_socket (self->writers[i]), s_handle_writer, self);
    zloop_reader (self->loop, intake_jobs_socket (self->keeper), s_handle_keeper, self);
    intake_outbound_start (self->outbound, self->loop);
    zloop_reader (self->loop, kf_control_socket (self->control), kf_control_on_readable,
                  self->control);
    zloop_reader (self->loop, self->monitor, s_handle_connections, self);
    if (events_monitor)
        zloop_reader (self->loop, events_monitor, s_handle_monitor, self);
    zloop_timer (self->loop, S_TICK_MS, 0, s_handle_tick, self);
    s_load_customer_keys (self);
    kf_log_info (
        "intake.listening", "gateways=%d commands=%d events=%d control=%d insecure=%d",
        kf_wire_port (self->router), kf_wire_port (intake_outbound_socket (self->outbound)),
        kf_wire_port (kf_outbox_socket (self->outbox)),
        kf_wire_port (kf_control_socket (self->control)), intake_auth_insecure (self->auth));
    return 0;
}

static void
s_reload (s_server_t *self)
{
    kf_config_reload (self->spec, self->config);
    s_apply_limits (self);
    //  Items in flight borrow QA flags from the dictionary in force: let the
    //  writers finish (and the acks go) before it is replaced.
    s_settle_all (self);
    s_resume_reading (self);
    intake_classify_t *fresh = s_load_dictionary (self->config);
    if (fresh) {
        intake_classify_destroy (&self->classify);
        self->classify = fresh;
    } else
        kf_log_warn ("intake.dictionary_kept", "reason=\"the new dictionary is invalid\"");
    s_refresh_auth (self);
}

static int
s_op_start (void *server, char *why, size_t why_size)
{
    return s_start ((s_server_t *) server, why, why_size);
}

static zsock_t *
s_op_socket (void *server, const char *name)
{
    s_server_t *self = server;
    return streq (name, "gateway")   ? self->router
           : streq (name, "command") ? intake_outbound_socket (self->outbound)
           : streq (name, "events")  ? kf_outbox_socket (self->outbox)
           : streq (name, "control") ? kf_control_socket (self->control)
                                     : NULL;
}

static void
s_op_reload (void *server)
{
    s_reload ((s_server_t *) server);
}

//  Stop taking work; store what was read, wait for the writers and send every
//  ack; settle command acks.
static void
s_op_drain (void *server)
{
    s_server_t *self = server;
    self->draining = true;
    if (self->reading)
        zloop_reader_end (self->loop, self->router);
    self->reading = false;
    s_settle_all (self);
    intake_jobs_drop (self->keeper, kf_outbox_socket (self->outbox));
    intake_outbound_drain (self->outbound);
}

static const kf_actor_ops_t s_ops = {s_op_start, s_op_socket, s_op_reload, s_op_drain, NULL};

void
intake_server (zsock_t *pipe, void *args)
{
    s_server_t *self = s_server_new (pipe, (kf_service_args_t *) args);
    self->loop = zloop_new ();
    kf_actor_run (pipe, self->loop, &s_ops, self);
    zloop_destroy (&self->loop);
    s_server_destroy (&self);
}
