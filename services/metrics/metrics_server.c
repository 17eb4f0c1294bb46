/*  metrics_server — kefu-metrics as a czmq actor.

    Events of routing and intake arrive through kf_subscriber (routing's
    stream is followed first, so a catch-up applies routing's backlog
    before intake's; the model does not depend on the order); order-sync's
    and complaint-escalation's are read from the events table (the poll)
    for the scorecards. Each batch is
    applied to the model inside one transaction: what the model emits
    (rollup deltas, conversation states, flagged lines, presence) is
    collected in a metrics_writes_t and queued in the pipeline that also
    moves the offsets and commits. Before a batch is applied, the
    conversations its events name that the model no longer holds (closed,
    evicted after its commit) and the orders it names are read back from
    metrics' own rows, with one statement each for the whole batch. If a
    transaction fails, memory is rebuilt from metrics' tables before the
    next batch.

    Queries arrive on a ROUTER (CURVE unless KEFU_INSECURE): each is
    checked here, "now" kinds are answered at once from the model, the
    others go to a free query worker (KEFU_METRICS_QUERY_WORKERS threads,
    each its own connection) and its answer is passed back. While every
    worker is busy, questions wait here; a freed worker takes the oldest one
    of a shop that has no question under way, else the oldest: a month-long
    question holds one worker, not the small questions behind it. Every
    refusal is counted by code. The HTTP side (metrics_http) asks through
    an inproc ROUTER, the bridge, with a token's SHA-256 instead of a CURVE
    key: the same check, the same dispatch, the same packed Answer. */
#include "metrics_server.h"

#include "kefu/v1/control.pb-c.h"
#include "kefu/v1/events.pb-c.h"
#include "kf_actor.h"
#include "kf_control.h"
#include "kf_daemon.h"
#include "kf_log.h"
#include "kf_outbox.h"
#include "kf_store.h"
#include "kf_tz.h"
#include "kf_subscriber.h"
#include "kf_wire.h"
#include "metrics_att_store.h"
#include "metrics_attendance.h"
#include "metrics_auth.h"
#include "metrics_config.h"
#include "metrics_desk.h"
#include "metrics_desk_store.h"
#include "metrics_http.h"
#include "metrics_model.h"
#include "metrics_query.h"
#include "metrics_report.h"
#include "metrics_store.h"

#include <inttypes.h>
#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define S_TICK_MS        100
#define S_CONSUMER       "metrics"
#define S_MAX_QUERY      65536  //  bytes of a Query frame
#define S_ATT_SETTLE_MS  60000  //  agent.attendance: a shift is published this long after its end
#define S_ATT_RECHECK_MS 600000 //  ... and shops are looked at again at least this often

//  Routing's and intake's by publication; order-sync's and
//  complaint-escalation's from the events table (polled).
static const char *const s_streams[] = {"routing", "intake", "ordersync", "escalation"};
#define S_STREAMS 4

//  A query worker (metrics_query_worker).
typedef struct {
    zactor_t *actor;  //  the thread, its own connection
    bool busy;        //  a question is on it
    char shop_id[65]; //  ... of this shop
} s_worker_t;

typedef struct {
    zsock_t *pipe;                    //  actor pipe
    const kf_config_spec_t *spec;     //  configuration table (reload)
    metrics_config_t *config;         //  settings (borrowed)
    const kf_common_config_t *common; //  shared settings (borrowed)
    kf_clock_t *clock;                //  time (borrowed)
    kf_store_t *store;                //  PostgreSQL (events, state)
    kf_control_t *control;            //  status
    kf_subscriber_t *sub;             //  routing + intake events
    metrics_model_t *model;           //  the rules
    metrics_writes_t *writes;         //  the current transaction's writes
    metrics_att_tracker_t *att;       //  attendance: what is open now
    metrics_att_writes_t *att_writes; //  ... its facts of the current transaction
    metrics_desk_writes_t *desk;      //  the desk's rows of the current transaction
    kf_outbox_t *outbox;              //  metrics' events (agent.attendance), no PUB
    int64_t next_att_due;             //  clock ms of the next publication of attendance
    metrics_auth_t *auth;             //  who may ask
    zsock_t *router;                  //  the query endpoint
    zsock_t *bridge;                  //  HTTP's questions (inproc ROUTER)
    metrics_http_t *http;             //  the dashboard, NULL without HTTP
    s_worker_t *workers;              //  answers from the rollups (worker_count)
    int worker_count;                 //  KEFU_METRICS_QUERY_WORKERS
    zlistx_t *waiting;                //  questions for them (zmsg_t), oldest first
    zloop_t *loop;                    //  event loop
    bool loaded;                      //  model built from metrics' tables
    bool looked_up;                   //  this batch's rows were read (s_prepare_batch)
    bool draining;                    //  DRAIN received
    int64_t next_poll;                //  monotonic ms of the next table catch-up
    int64_t next_auth;                //  monotonic ms of the next auth refresh
    char reply[300];                  //  an actor command's reply
    int64_t *c_reloads;               //  counters
    int64_t *c_loaded_back;
    int64_t *c_lookups;
    int64_t *c_txn_failed;
    int64_t *c_rebuilds;
    int64_t *c_answered;
    int64_t *c_in_flight;
    int64_t *c_att_published;
} s_server_t;

//  ---------------------------------------------------------------------
//  The model's sink: everything goes into the current transaction

static void
s_on_count (void *arg, const metrics_key_t *key, int counter, int64_t delta)
{
    metrics_writes_count (((s_server_t *) arg)->writes, key, counter, delta);
}

static void
s_on_hist (void *arg, const metrics_key_t *key, int hist, int bucket, int64_t delta)
{
    metrics_writes_hist (((s_server_t *) arg)->writes, key, hist, bucket, delta);
}

static void
s_on_conv (void *arg, const char *shop_id, const metrics_conv_t *conv)
{
    metrics_writes_conv (((s_server_t *) arg)->writes, shop_id, conv);
}

static void
s_on_qa (void *arg, const char *shop_id, const metrics_qa_line_t *line)
{
    metrics_writes_qa (((s_server_t *) arg)->writes, shop_id, line);
}

static void
s_on_presence (void *arg, const char *shop_id, const char *agent_id, int status, int64_t since)
{
    metrics_writes_presence (((s_server_t *) arg)->writes, shop_id, agent_id, status, since);
}

//  ---------------------------------------------------------------------
//  Memory from metrics' tables

static void
s_on_open_row (void *arg, const char *shop_id, metrics_conv_t **conv_p)
{
    metrics_model_adopt (((s_server_t *) arg)->model, shop_id, conv_p);
}

static void
s_on_agent_row (void *arg, const char *shop_id, const char *agent_id, int status, int64_t since)
{
    metrics_model_restore_agent (((s_server_t *) arg)->model, shop_id, agent_id, status, since);
}

static int
s_reload (s_server_t *self)
{
    (*self->c_reloads)++;
    self->loaded = false;
    metrics_model_reset (self->model);
    metrics_writes_clear (self->writes);
    metrics_att_tracker_reset (self->att);
    metrics_att_writes_clear (self->att_writes);
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_ensure (self->store) ||
        metrics_store_load_open (self->store, s_on_open_row, self, &err) ||
        metrics_store_load_agents (self->store, s_on_agent_row, self, &err) ||
        metrics_att_store_load_open (self->store, self->att, &err)) {
        metrics_model_reset (self->model);
        metrics_att_tracker_reset (self->att);
        kf_log_warn ("metrics.load_failed", "reason=\"%s\"", err.reason);
        return -1;
    }
    self->loaded = true;
    metrics_stats_t st;
    metrics_model_stats (self->model, &st);
    kf_log_info ("metrics.loaded", "shops=%d open=%d agents=%d", st.shops, st.open, st.agents);
    return 0;
}

//  ---------------------------------------------------------------------
//  Events

//  The conversation an event is about, 0 if none (or a new one).
static int64_t
s_conversation_of (const Kefu__V1__Event *ev)
{
    switch (ev->payload_case) {
    case KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED:
        return ev->message_accepted->conversation_id;
    case KEFU__V1__EVENT__PAYLOAD_CONVERSATION_CLOSED:
        return ev->conversation_closed->conversation_id;
    case KEFU__V1__EVENT__PAYLOAD_RATING_RECEIVED:
        return ev->rating_received->conversation_id;
    case KEFU__V1__EVENT__PAYLOAD_CONVERSATION_QUEUED:
        return ev->conversation_queued->conversation_id;
    case KEFU__V1__EVENT__PAYLOAD_CONVERSATION_ASSIGNED:
        return ev->conversation_assigned->conversation_id;
    default:
        return 0;
    }
}

//  An order event: its state (this transaction's, else its row) changes,
//  and its contribution to the score rows moves with it.
static int
s_apply_order (kf_store_t *store, s_server_t *self, const Kefu__V1__Event *ev, kf_error_t *err)
{
    const Kefu__V1__OrderEvent *o = ev->order;
    metrics_writes_source (self->writes, ev->shop_id, "ordersync");
    if (!*o->order_id)
        return 0;
    metrics_order_t *order = metrics_writes_order (self->writes, ev->shop_id, o->order_id, NULL);
    if (!order) {
        //  Not in this transaction: s_prepare_batch found no row for it, or
        //  did not run.
        metrics_order_t loaded;
        if (self->looked_up) {
            memset (&loaded, 0, sizeof loaded);
            snprintf (loaded.order_id, sizeof loaded.order_id, "%s", o->order_id);
        } else {
            (*self->c_lookups)++;
            if (metrics_store_load_order (store, ev->shop_id, o->order_id, &loaded, err))
                return -1;
        }
        order = metrics_writes_order (self->writes, ev->shop_id, o->order_id, &loaded);
    }
    metrics_score_part_t before, after;
    metrics_order_part (order, &before);
    metrics_order_apply (order, ev->kind, o->state, o->agent_id, o->amount_cents,
                         o->at_ms ? o->at_ms : ev->occurred_at_ms);
    metrics_order_part (order, &after);
    metrics_writes_score (self->writes, ev->shop_id, &before, -1);
    metrics_writes_score (self->writes, ev->shop_id, &after, 1);
    return 0;
}

//  A complaint event: the same for its finding against an agent.
static int
s_apply_complaint (kf_store_t *store, s_server_t *self, const Kefu__V1__Event *ev, kf_error_t *err)
{
    const Kefu__V1__ComplaintEvent *c = ev->complaint;
    metrics_writes_source (self->writes, ev->shop_id, "escalation");
    if (!c->complaint_id ||
        c->service_finding == KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_UNSPECIFIED)
        return 0;
    metrics_complaint_t *complaint =
        metrics_writes_complaint (self->writes, ev->shop_id, c->complaint_id, NULL);
    if (!complaint) {
        metrics_complaint_t loaded;
        if (metrics_store_load_complaint (store, ev->shop_id, c->complaint_id, &loaded, err))
            return -1;
        complaint = metrics_writes_complaint (self->writes, ev->shop_id, c->complaint_id, &loaded);
    }
    metrics_score_part_t before, after;
    metrics_complaint_part (complaint, &before);
    metrics_complaint_apply (complaint, c->service_finding, c->agent_id,
                             c->at_ms ? c->at_ms : ev->occurred_at_ms);
    metrics_complaint_part (complaint, &after);
    metrics_writes_score (self->writes, ev->shop_id, &before, -1);
    metrics_writes_score (self->writes, ev->shop_id, &after, 1);
    return 0;
}

//  schedule.changed: a version of the shop's schedule from the event's
//  time on (one the table refuses when it equals the version before).
static void
s_apply_schedule (s_server_t *self, const Kefu__V1__Event *ev)
{
    const Kefu__V1__ScheduleChanged *sc = ev->schedule_changed;
    metrics_att_schedule_t *s = metrics_att_schedule_new (ev->occurred_at_ms, sc->timezone);
    for (size_t i = 0; i < sc->n_shifts; i++)
        metrics_att_schedule_add_shift (s, sc->shifts[i]->name, sc->shifts[i]->start_minute,
                                        sc->shifts[i]->end_minute);
    for (size_t i = 0; i < sc->n_rows; i++) {
        const Kefu__V1__ScheduleRow *r = sc->rows[i];
        if (metrics_att_schedule_add_rule (s, r->agent_id, r->shift, r->days, r->rotation_weeks,
                                           r->rotation_offset))
            kf_log_warn ("metrics.schedule_row_skipped", "shop=%s agent=%s shift=%s", ev->shop_id,
                         r->agent_id, r->shift);
    }
    metrics_att_writes_schedule (self->att_writes, ev->shop_id, s);
    metrics_att_schedule_destroy (&s);
}

//  Who talked to the shop (orders.summary's conversion): the customer's
//  lines and the human replies to them.
static void
s_desk_line (s_server_t *self, const char *shop, const Kefu__V1__MessageAccepted *m,
             const metrics_line_t *line)
{
    if (!*m->channel_customer_id || line->auto_reply || (!line->from_customer && !*m->agent_id))
        return;
    char customer[METRICS_ID_MAX + 16];
    metrics_desk_writes_inquiry (
        self->desk, shop, line->sent_at,
        metrics_desk_customer (m->channel, m->channel_customer_id, customer, sizeof customer),
        line->from_customer ? "" : m->agent_id);
}

static int
s_apply (kf_store_t *store, const Kefu__V1__Event *ev, void *arg, kf_error_t *err)
{
    s_server_t *self = arg;
    //  A transaction failed under this batch: these events are read again
    //  once memory is rebuilt from the record.
    if (!self->loaded)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                             "metrics' memory is being rebuilt");
    const char *shop = ev->shop_id;
    int64_t conv_id = s_conversation_of (ev);
    if (conv_id && !self->looked_up && !metrics_model_knows (self->model, shop, conv_id)) {
        //  Closed and evicted, or not loaded: its row, if it has one.
        metrics_conv_t *row = NULL;
        (*self->c_lookups)++;
        if (metrics_store_load_conversation (store, shop, conv_id, &row, err))
            return -1;
        if (row) {
            (*self->c_loaded_back)++;
            metrics_model_adopt (self->model, shop, &row);
        }
    }
    switch (ev->payload_case) {
    case KEFU__V1__EVENT__PAYLOAD_CONVERSATION_OPENED: {
        const Kefu__V1__ConversationOpened *o = ev->conversation_opened;
        metrics_model_on_opened (self->model, shop, o->conversation_id, o->channel,
                                 o->channel_customer_id, o->intent, o->vip);
        break;
    }
    case KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED: {
        const Kefu__V1__MessageAccepted *m = ev->message_accepted;
        bool customer = m->sender == KEFU__V1__SENDER_ROLE__SENDER_ROLE_CUSTOMER;
        metrics_line_t line = {
            m->conversation_id,
            m->message_id,
            m->channel,
            customer,
            !customer && (m->auto_reply || m->sender == KEFU__V1__SENDER_ROLE__SENDER_ROLE_SYSTEM),
            m->agent_id,
            m->sent_at_ms ? m->sent_at_ms : m->received_at_ms,
            (const char *const *) m->qa_flags,
            (int) m->n_qa_flags,
            m->body};
        metrics_model_on_line (self->model, shop, &line);
        s_desk_line (self, shop, m, &line);
        metrics_att_on_line (self->att, shop, line.conversation_id, line.from_customer,
                             line.auto_reply, line.agent_id, line.sent_at);
        break;
    }
    case KEFU__V1__EVENT__PAYLOAD_CONVERSATION_CLOSED:
        metrics_model_on_closed (self->model, shop, ev->conversation_closed->conversation_id);
        metrics_att_on_closed (self->att, shop, ev->conversation_closed->conversation_id);
        break;
    case KEFU__V1__EVENT__PAYLOAD_RATING_RECEIVED: {
        const Kefu__V1__RatingReceived *r = ev->rating_received;
        metrics_rating_t rating = {r->conversation_id, r->channel,    r->agent_id,
                                   (int) r->score,     r->sent_at_ms, r->at_ms};
        metrics_model_on_rating (self->model, shop, &rating);
        break;
    }
    case KEFU__V1__EVENT__PAYLOAD_AGENT_PRESENCE: {
        const Kefu__V1__AgentPresenceChanged *p = ev->agent_presence;
        metrics_model_on_presence (self->model, shop, p->agent_id, p->status, p->at_ms);
        metrics_att_on_presence (self->att, shop, p->agent_id, p->status, p->at_ms);
        break;
    }
    case KEFU__V1__EVENT__PAYLOAD_SCHEDULE_CHANGED:
        s_apply_schedule (self, ev);
        break;
    case KEFU__V1__EVENT__PAYLOAD_PHRASE_USED:
        if (*ev->phrase_used->agent_id && ev->phrase_used->phrase_id > 0)
            metrics_desk_writes_phrase (self->desk, shop, ev->occurred_at_ms,
                                        ev->phrase_used->agent_id, ev->phrase_used->phrase_id,
                                        ev->phrase_used->intent);
        break;
    case KEFU__V1__EVENT__PAYLOAD_CONVERSATION_QUEUED: {
        const Kefu__V1__ConversationQueued *q = ev->conversation_queued;
        metrics_model_on_queued (self->model, shop, q->conversation_id, q->group, q->after_hours,
                                 ev->occurred_at_ms);
        break;
    }
    case KEFU__V1__EVENT__PAYLOAD_CONVERSATION_ASSIGNED: {
        const Kefu__V1__ConversationAssigned *a = ev->conversation_assigned;
        metrics_model_on_assigned (self->model, shop, a->conversation_id, a->agent_id, a->group,
                                   a->waited_ms, ev->occurred_at_ms);
        break;
    }
    case KEFU__V1__EVENT__PAYLOAD_ORDER: {
        char customer[METRICS_ID_MAX + 16];
        metrics_desk_order_t change;
        if (metrics_desk_order_change (ev->kind, ev->order, ev->occurred_at_ms, customer,
                                       sizeof customer, &change))
            metrics_desk_writes_order (self->desk, shop, &change);
        return s_apply_order (store, self, ev, err);
    }
    case KEFU__V1__EVENT__PAYLOAD_COMPLAINT: {
        metrics_desk_case_t change;
        if (metrics_desk_case_change (ev->kind, ev->complaint, ev->occurred_at_ms, &change))
            metrics_desk_writes_case (self->desk, shop, &change);
        return s_apply_complaint (store, self, ev, err);
    }
    default:
        break; //  kinds metrics does not count
    }
    return 0;
}

static void
s_on_looked_up_conv (void *arg, const char *shop_id, metrics_conv_t **conv_p)
{
    s_server_t *self = arg;
    (*self->c_loaded_back)++;
    metrics_model_adopt (self->model, shop_id, conv_p);
}

static void
s_on_looked_up_order (void *arg, const char *shop_id, const metrics_order_t *order)
{
    s_server_t *self = arg;
    metrics_writes_order (self->writes, shop_id, order->order_id, order);
}

//  Before a batch: the rows of the conversations its events name that
//  memory does not hold (closed and evicted, or never seen) and of the
//  orders it names, with one statement each for the whole batch. A
//  catch-up names thousands of conversations that have no row yet; read one
//  by one, the rebuild waited on a round trip per event. After it, s_apply
//  knows that a conversation memory still does not hold, or an order not in
//  the transaction, has no row.
static int
s_prepare_batch (kf_store_t *store, Kefu__V1__Event *const *events, int count, void *arg,
                 kf_error_t *err)
{
    s_server_t *self = arg;
    self->looked_up = false;
    if (!self->loaded)
        return 0; //  s_apply refuses the batch
    const char **conv_shops = calloc ((size_t) count, sizeof *conv_shops);
    int64_t *conv_ids = calloc ((size_t) count, sizeof *conv_ids);
    const char **order_shops = calloc ((size_t) count, sizeof *order_shops);
    const char **order_ids = calloc ((size_t) count, sizeof *order_ids);
    zhashx_t *named = zhashx_new (); //  "c shop id" / "o shop id": each asked once
    int convs = 0, orders = 0;
    for (int i = 0; i < count; i++) {
        const Kefu__V1__Event *ev = events[i];
        char key[256];
        int64_t conv_id = s_conversation_of (ev);
        if (conv_id && !metrics_model_knows (self->model, ev->shop_id, conv_id)) {
            snprintf (key, sizeof key, "c %s %" PRId64, ev->shop_id, conv_id);
            if (zhashx_insert (named, key, (void *) ev) == 0) {
                conv_shops[convs] = ev->shop_id;
                conv_ids[convs++] = conv_id;
            }
        }
        if (ev->payload_case == KEFU__V1__EVENT__PAYLOAD_ORDER && *ev->order->order_id) {
            snprintf (key, sizeof key, "o %s %s", ev->shop_id, ev->order->order_id);
            if (zhashx_insert (named, key, (void *) ev) == 0) {
                order_shops[orders] = ev->shop_id;
                order_ids[orders++] = ev->order->order_id;
            }
        }
    }
    int rc = 0;
    if (convs > 0) {
        (*self->c_lookups)++;
        rc = metrics_store_load_conversations (store, convs, conv_shops, conv_ids,
                                               s_on_looked_up_conv, self, err);
    }
    if (rc == 0 && orders > 0) {
        (*self->c_lookups)++;
        rc = metrics_store_load_orders (store, orders, order_shops, order_ids, s_on_looked_up_order,
                                        self, err);
    }
    self->looked_up = rc == 0;
    zhashx_destroy (&named);
    free (conv_shops);
    free (conv_ids);
    free (order_shops);
    free (order_ids);
    return rc;
}

static int
s_queue_writes (kf_store_t *store, void *arg, kf_error_t *err)
{
    (void) err;
    metrics_writes_queue (((s_server_t *) arg)->writes, store);
    metrics_att_writes_queue (((s_server_t *) arg)->att_writes, store);
    metrics_desk_writes_queue (((s_server_t *) arg)->desk, store);
    return 0;
}

static void
s_after_commit (void *arg)
{
    s_server_t *self = arg;
    self->looked_up = false;
    metrics_model_evict_closed (self->model);
}

static void
s_after_rollback (void *arg)
{
    s_server_t *self = arg;
    (*self->c_txn_failed)++;
    self->looked_up = false;
    metrics_writes_clear (self->writes);
    metrics_att_writes_clear (self->att_writes);
    metrics_desk_writes_clear (self->desk);
    //  Memory holds changes the record does not: rebuilt before the next
    //  batch (the tick), which s_apply refuses until then.
    self->loaded = false;
}

static int s_handle_events (zloop_t *loop, zsock_t *reader, void *arg);

//  A subscriber for the streams, its socket in the loop (again after a rebuild).
static int
s_subscribe (s_server_t *self)
{
    self->sub = kf_subscriber_new (S_CONSUMER, self->store, s_apply, self);
    kf_subscriber_hooks_t hooks = {s_queue_writes, s_after_commit, s_after_rollback, self};
    kf_subscriber_set_hooks (self->sub, &hooks);
    kf_subscriber_set_prepare (self->sub, s_prepare_batch);
    if (metrics_auth_follow (self->auth, self->sub, "routing", self->config->routing_events) ||
        metrics_auth_follow (self->auth, self->sub, "intake", self->config->intake_events) ||
        kf_subscriber_follow (self->sub, "ordersync", NULL) ||
        kf_subscriber_follow (self->sub, "escalation", NULL))
        return -1;
    if (self->loop)
        zloop_reader (self->loop, kf_subscriber_socket (self->sub), s_handle_events, self);
    return 0;
}

//  Recompute everything from the event log: drop metrics' rows, move the
//  offsets back, forget memory; the subscriber then catches up from the
//  first event. Refused when the log no longer starts at the first event.
static int
s_rebuild (s_server_t *self, char *why, size_t why_size)
{
    kf_error_t err;
    kf_error_clear (&err);
    bool complete = false;
    if (self->sub)
        kf_subscriber_settle (self->sub);
    if (kf_store_ensure (self->store) ||
        metrics_store_log_complete (self->store, s_streams, S_STREAMS, &complete, why, why_size,
                                    &err)) {
        snprintf (why, why_size, "cannot read the event log: %s", err.reason);
        return -1;
    }
    if (!complete)
        return -1;
    if (metrics_store_reset (self->store, S_CONSUMER, &err)) {
        snprintf (why, why_size, "cannot reset metrics' tables: %s", err.reason);
        return -1;
    }
    if (self->sub) {
        zloop_reader_end (self->loop, kf_subscriber_socket (self->sub));
        kf_subscriber_destroy (&self->sub);
        if (s_subscribe (self)) {
            snprintf (why, why_size, "cannot follow the streams again");
            return -1;
        }
    }
    (*self->c_rebuilds)++;
    kf_log_info ("metrics.rebuild", "note=\"rollups dropped; recomputing from the event log\"");
    s_reload (self);
    return 0;
}

static int
s_handle_events (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    s_server_t *self = arg;
    if (self->loaded && !self->draining)
        kf_subscriber_handle (self->sub);
    return 0;
}

//  ---------------------------------------------------------------------
//  Queries

static void
s_count_refusal (s_server_t *self, int code)
{
    char name[64];
    snprintf (name, sizeof name, "queries.rejected.%s", kf_error_code_name (code));
    (*kf_control_counter (self->control, name))++;
}

//  Send [routing id][answer] on sock (the query endpoint or the bridge);
//  a peer that is gone loses its answer.
static void
s_reply (zsock_t *sock, zframe_t *routing_id, zframe_t **answer_p)
{
    if (zframe_send (&routing_id, sock, ZFRAME_MORE | ZFRAME_DONTWAIT | ZFRAME_REUSE) == 0)
        zframe_send (answer_p, sock, ZFRAME_DONTWAIT);
    zframe_destroy (answer_p);
}

static void
s_reply_error (s_server_t *self, zsock_t *sock, zframe_t *routing_id,
               const ProtobufCBinaryData *request_id, const kf_error_t *err)
{
    s_count_refusal (self, err->code);
    zframe_t *answer = metrics_query_answer (request_id ? request_id->data : NULL,
                                             request_id ? request_id->len : 0, NULL, err);
    s_reply (sock, routing_id, &answer);
}

//  The worker answers on the socket the question came from: its routing
//  id travels with one byte in front saying which.
#define S_FROM_QUERY  'Z'
#define S_FROM_BRIDGE 'H'

//  The shop a waiting question is about.
static const char *
s_shop_of (zmsg_t *work)
{
    zframe_t *body = zmsg_first (work);
    body = zmsg_next (work);
    //  A copy of a metrics_query_t: its bytes, not necessarily aligned.
    return (const char *) zframe_data (body) + offsetof (metrics_query_t, shop_id);
}

static bool
s_shop_busy (s_server_t *self, const char *shop_id)
{
    for (int i = 0; i < self->worker_count; i++)
        if (self->workers[i].busy && streq (self->workers[i].shop_id, shop_id))
            return true;
    return false;
}

//  Give waiting questions to free workers: the oldest of a shop with no
//  question under way, else the oldest.
static void
s_feed_workers (s_server_t *self)
{
    for (int i = 0; i < self->worker_count && zlistx_size (self->waiting) > 0; i++) {
        s_worker_t *w = &self->workers[i];
        if (w->busy)
            continue;
        void *handle = zlistx_first (self->waiting) ? zlistx_cursor (self->waiting) : NULL;
        for (zmsg_t *work = zlistx_first (self->waiting); work; work = zlistx_next (self->waiting))
            if (!s_shop_busy (self, s_shop_of (work))) {
                handle = zlistx_cursor (self->waiting);
                break;
            }
        zmsg_t *work = zlistx_detach (self->waiting, handle);
        snprintf (w->shop_id, sizeof w->shop_id, "%s", s_shop_of (work));
        w->busy = true;
        zmsg_send (&work, w->actor);
    }
}

//  Check q as principal asked it, then answer it (now kinds) or hand it to
//  a worker. The same for both endpoints.
static void
s_ask (s_server_t *self, zsock_t *sock, zframe_t *routing_id, const Kefu__V1__Query *q,
       const metrics_principal_t *principal)
{
    kf_error_t err;
    kf_error_clear (&err);
    metrics_limits_t limits = {self->config->max_period, self->config->max_rows};
    metrics_query_t query;
    if (metrics_query_check (q, principal, self->auth, &limits, kf_clock_now_ms (self->clock),
                             &query, &err)) {
        kf_log_info ("metrics.query_refused", "principal=%s code=%s reason=\"%s\"",
                     principal ? principal->id : "-", kf_error_code_name (err.code), err.reason);
        s_reply_error (self, sock, routing_id, &q->request_id, &err);
    } else if (metrics_query_is_now (query.kind)) {
        char *json = self->loaded ? metrics_query_now (self->model, &query) : NULL;
        if (!json)
            kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                          "metrics is loading its state; ask again later");
        if (json)
            (*self->c_answered)++;
        else
            s_count_refusal (self, err.code);
        zframe_t *answer = metrics_query_answer (q->request_id.data, q->request_id.len, json, &err);
        s_reply (sock, routing_id, &answer);
        free (json);
    } else {
        zmsg_t *work = zmsg_new ();
        zframe_t *id = zframe_new (NULL, zframe_size (routing_id) + 1);
        zframe_data (id)[0] = sock == self->bridge ? S_FROM_BRIDGE : S_FROM_QUERY;
        memcpy (zframe_data (id) + 1, zframe_data (routing_id), zframe_size (routing_id));
        zmsg_append (work, &id);
        zmsg_addmem (work, &query, sizeof query);
        zmsg_addmem (work, q->request_id.data, q->request_id.len);
        zlistx_add_end (self->waiting, work);
        (*self->c_in_flight)++;
        s_feed_workers (self);
    }
}

static void
s_handle_one_query (s_server_t *self, zmsg_t *msg)
{
    zframe_t *routing_id = zmsg_pop (msg);
    zframe_t *body = zmsg_pop (msg);
    kf_error_t err;
    kf_error_clear (&err);
    if (!routing_id)
        goto done;
    if (!body || zmsg_size (msg) > 0) {
        kf_error_set (&err, KEFU__V1__ERROR_CODE__ERROR_BAD_FRAMING,
                      "a Query is one frame (a DEALER sends it as it is)");
        s_reply_error (self, self->router, routing_id, NULL, &err);
        goto done;
    }
    Kefu__V1__Query *q = (Kefu__V1__Query *) kf_wire_unpack (
        &kefu__v1__query__descriptor, zframe_data (body), zframe_size (body), S_MAX_QUERY, &err);
    if (!q) {
        s_reply_error (self, self->router, routing_id, NULL, &err);
        goto done;
    }
    s_ask (self, self->router, routing_id, q, metrics_auth_principal_of (self->auth, body));
    kefu__v1__query__free_unpacked (q, NULL);
done:
    zframe_destroy (&routing_id);
    zframe_destroy (&body);
}

static int
s_handle_query (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    s_server_t *self = arg;
    zmsg_t *msg;
    while ((zsock_events (reader) & ZMQ_POLLIN) && (msg = zmsg_recv (reader))) {
        s_handle_one_query (self, msg);
        zmsg_destroy (&msg);
    }
    return 0;
}

//  A worker's answer: [routing id][code][answer]. The worker is free again.
static int
s_handle_worker (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    s_server_t *self = arg;
    zmsg_t *msg = zmsg_recv (reader);
    for (int i = 0; i < self->worker_count; i++)
        if (zactor_sock (self->workers[i].actor) == reader)
            self->workers[i].busy = false;
    s_feed_workers (self);
    if (!msg)
        return 0;
    zframe_t *routing_id = zmsg_pop (msg);
    char *code = zmsg_popstr (msg);
    zframe_t *answer = zmsg_pop (msg);
    (*self->c_in_flight)--;
    int c = code ? atoi (code) : KEFU__V1__ERROR_CODE__ERROR_INTERNAL;
    if (c == KEFU__V1__ERROR_CODE__ERROR_NONE)
        (*self->c_answered)++;
    else
        s_count_refusal (self, c);
    if (routing_id && zframe_size (routing_id) > 1 && answer) {
        zsock_t *sock = zframe_data (routing_id)[0] == S_FROM_BRIDGE ? self->bridge : self->router;
        zframe_t *id = zframe_new (zframe_data (routing_id) + 1, zframe_size (routing_id) - 1);
        if (sock)
            s_reply (sock, id, &answer);
        zframe_destroy (&id);
    }
    zframe_destroy (&answer);
    zframe_destroy (&routing_id);
    free (code);
    zmsg_destroy (&msg);
    return 0;
}

static void
s_add_shop (void *arg, const char *shop_id, const char *timezone)
{
    json_array_append_new ((json_t *) arg,
                           json_pack ("{s:s, s:s}", "shop_id", shop_id, "timezone", timezone));
}

static int
s_by_shop (const void *a, const void *b)
{
    return strcmp (json_string_value (json_object_get (*(json_t *const *) a, "shop_id")),
                   json_string_value (json_object_get (*(json_t *const *) b, "shop_id")));
}

//  WHO: the token's principal, the shops it may see and the kinds there
//  are, as JSON text
//  (caller frees), or NULL for an unknown token.
static char *
s_whoami (s_server_t *self, const metrics_principal_t *p)
{
    if (!p)
        return NULL;
    json_t *shops = json_array ();
    metrics_auth_each_shop (self->auth, p, s_add_shop, shops);
    size_t n = json_array_size (shops);
    json_t **items = calloc (n ? n : 1, sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref (json_array_get (shops, i));
    qsort (items, n, sizeof *items, s_by_shop);
    json_array_clear (shops);
    for (size_t i = 0; i < n; i++)
        json_array_append_new (shops, items[i]);
    free (items);
    //  The kinds this service answers (the page shows what exists).
    json_t *kinds = json_array ();
    for (int kind = 1; kind < 64; kind++)
        if (strcmp (metrics_kind_name (kind), "unknown") != 0)
            json_array_append_new (kinds, json_string (metrics_kind_name (kind)));
    json_t *o = json_pack ("{s:s, s:s, s:o, s:o}", "principal", p->id, "role", p->role, "shops",
                           shops, "kinds", kinds);
    char *text = json_dumps (o, JSON_COMPACT);
    json_decref (o);
    return text;
}

//  HTTP's questions: [id]["QUERY"][token SHA-256][Query] -> [id][Answer],
//  [id]["WHO"][token SHA-256] -> [id][JSON or ""].
static int
s_handle_bridge (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    s_server_t *self = arg;
    zmsg_t *msg;
    while ((zsock_events (reader) & ZMQ_POLLIN) && (msg = zmsg_recv (reader))) {
        zframe_t *routing_id = zmsg_pop (msg);
        char *op = zmsg_popstr (msg);
        char *hash = zmsg_popstr (msg);
        zframe_t *body = zmsg_pop (msg);
        const metrics_principal_t *principal =
            hash ? metrics_auth_principal_of_token (self->auth, hash) : NULL;
        if (routing_id && op && streq (op, "WHO")) {
            char *json = s_whoami (self, principal);
            zframe_t *reply = zframe_from (json ? json : "");
            s_reply (self->bridge, routing_id, &reply);
            free (json);
        } else if (routing_id && op && streq (op, "QUERY") && body) {
            kf_error_t err;
            kf_error_clear (&err);
            Kefu__V1__Query *q = (Kefu__V1__Query *) kf_wire_unpack (
                &kefu__v1__query__descriptor, zframe_data (body), zframe_size (body), S_MAX_QUERY,
                &err);
            if (q)
                s_ask (self, self->bridge, routing_id, q, principal);
            else
                s_reply_error (self, self->bridge, routing_id, NULL, &err);
            if (q)
                kefu__v1__query__free_unpacked (q, NULL);
        }
        zframe_destroy (&body);
        free (hash);
        free (op);
        zframe_destroy (&routing_id);
        zmsg_destroy (&msg);
    }
    return 0;
}

//  Serve HTTP (KEFU_METRICS_HTTP_ENDPOINT): the bridge first, then the
//  daemon, which asks for the counters of the services in
//  KEFU_METRICS_STATUS_ENDPOINTS and of metrics itself.
static int
s_start_http (s_server_t *self, char *why, size_t why_size)
{
    if (!*self->config->http_endpoint)
        return 0;
    char bridge[64];
    snprintf (bridge, sizeof bridge, "inproc://metrics-http-%p", (void *) self);
    self->bridge = zsock_new (ZMQ_ROUTER);
    if (!self->bridge || zsock_bind (self->bridge, "%s", bridge) == -1) {
        snprintf (why, why_size, "cannot bind %s", bridge);
        return -1;
    }
    const char *names[17], *endpoints[17];
    char own[64];
    snprintf (own, sizeof own, "tcp://127.0.0.1:%d",
              kf_wire_port (kf_control_socket (self->control)));
    names[0] = "metrics";
    endpoints[0] = own;
    size_t n = 1;
    char *list = strdup (self->config->status_endpoints);
    char *save = NULL;
    for (char *item = strtok_r (list, ",", &save); item && n < 17;
         item = strtok_r (NULL, ",", &save)) {
        char *eq = strchr (item, '=');
        if (!eq || eq == item || !eq[1]) {
            snprintf (why, why_size,
                      "bad KEFU_METRICS_STATUS_ENDPOINTS=%s (NAME=ENDPOINT,... at most 16)",
                      self->config->status_endpoints);
            free (list);
            return -1;
        }
        *eq = 0;
        names[n] = item;
        endpoints[n++] = eq + 1;
    }
    metrics_http_args_t args = {self->config->http_endpoint,
                                self->config->http_cert_file,
                                self->config->http_key_file,
                                bridge,
                                names,
                                endpoints,
                                n,
                                self->clock};
    self->http = metrics_http_new (&args, why, why_size);
    free (list);
    if (!self->http)
        return -1;
    zloop_reader (self->loop, self->bridge, s_handle_bridge, self);
    return 0;
}

static int
s_handle_monitor (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    metrics_auth_handle_monitor (((s_server_t *) arg)->auth);
    return 0;
}

//  ---------------------------------------------------------------------
//  Loop

static void
s_refresh_auth (s_server_t *self)
{
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_ensure (self->store) == 0 &&
        metrics_auth_refresh (self->auth, self->store, &err) == 0)
        self->next_auth = zclock_mono () + self->config->auth_refresh;
    else
        kf_log_warn ("metrics.auth_refresh_failed", "reason=\"%s\"", err.reason);
}

//  ---------------------------------------------------------------------
//  agent.attendance: each scheduled shift a minute after it ended

typedef struct {
    char shop_id[65]; //  shop
    int64_t upto_ms;  //  published up to
} s_mark_t;

static void
s_mark_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void
s_on_mark (void *arg, const char *shop_id, int64_t upto_ms)
{
    s_mark_t *m = calloc (1, sizeof *m);
    assert (m);
    snprintf (m->shop_id, sizeof m->shop_id, "%s", shop_id);
    m->upto_ms = upto_ms;
    zlistx_add_end ((zlistx_t *) arg, m);
}

static void
s_attendance_event (s_server_t *self, const char *shop_id, const metrics_att_row_t *row,
                    const kf_tz_t *tz)
{
    char date[32];
    metrics_bucket_label (tz, METRICS_BY_DAY, row->start_ms, date, sizeof date);
    Kefu__V1__AgentAttendance a = KEFU__V1__AGENT_ATTENDANCE__INIT;
    a.agent_id = (char *) row->agent_id;
    a.shift = (char *) row->shift;
    a.date = date;
    a.start_ms = row->start_ms;
    a.end_ms = row->end_ms;
    a.status = (char *) metrics_att_status (row);
    a.present_from_ms = row->present_from;
    a.present_to_ms = row->present_to;
    a.still_present = row->still_present;
    a.present_minutes = row->present_minutes;
    a.late_minutes = row->late_minutes;
    a.early_minutes = row->early_minutes;
    a.absent = row->absent;
    a.unanswered = row->unanswered;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.shop_id = (char *) shop_id;
    ev.kind = "agent.attendance";
    ev.occurred_at_ms = kf_clock_now_ms (self->clock);
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_AGENT_ATTENDANCE;
    ev.agent_attendance = &a;
    kf_outbox_add (self->outbox, &ev);
}

//  In one transaction: per shop, the shifts that ended since its mark, as
//  events, and the mark moved on.
static int
s_publish_attendance (kf_store_t *store, void *arg, kf_error_t *err)
{
    s_server_t *self = arg;
    int64_t upto = kf_clock_now_ms (self->clock) - S_ATT_SETTLE_MS;
    int64_t due = kf_clock_now_ms (self->clock) + S_ATT_RECHECK_MS;
    zlistx_t *marks = zlistx_new ();
    zlistx_set_destructor (marks, s_mark_free);
    int rc = metrics_att_store_marks (store, s_on_mark, marks, err);
    for (s_mark_t *m = zlistx_first (marks); m && rc == 0; m = zlistx_next (marks)) {
        if (m->upto_ms >= upto)
            continue;
        metrics_att_input_t in;
        //  Facts of the days the shifts ended on and the days before.
        if (metrics_att_store_input (store, m->shop_id, m->upto_ms - 9 * 86400000LL,
                                     upto + 86400000LL, &in, err)) {
            rc = -1;
            break;
        }
        metrics_att_row_t *rows = NULL;
        int64_t next = INT64_MAX;
        int n = metrics_attendance_ended (&in, m->upto_ms, upto, &rows, &next);
        kf_tz_t *tz =
            in.version_count ? kf_tz_new (in.versions[in.version_count - 1]->timezone) : NULL;
        for (int i = 0; i < n && tz; i++)
            s_attendance_event (self, m->shop_id, &rows[i], tz);
        if (n > 0)
            *self->c_att_published += n;
        if (next != INT64_MAX && next + S_ATT_SETTLE_MS < due)
            due = next + S_ATT_SETTLE_MS;
        kf_tz_destroy (&tz);
        free (rows);
        metrics_att_input_free (&in);
        if (n < 0)
            kf_log_warn ("metrics.attendance_bad_timezone", "shop=%s", m->shop_id);
        rc = metrics_att_store_set_mark (store, m->shop_id, upto, err);
    }
    zlistx_destroy (&marks);
    if (rc == 0)
        rc = kf_outbox_flush (self->outbox, err);
    self->next_att_due = due;
    return rc;
}

static void
s_attendance_tick (s_server_t *self)
{
    if (kf_clock_now_ms (self->clock) < self->next_att_due)
        return;
    kf_subscriber_settle (self->sub);
    if (!self->loaded)
        return;
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_txn (self->store, s_publish_attendance, self, &err) == 0)
        kf_outbox_publish (self->outbox);
    else {
        kf_outbox_discard (self->outbox);
        self->next_att_due = kf_clock_now_ms (self->clock) + 5000;
        kf_log_warn ("metrics.attendance_publish_failed", "reason=\"%s\"", err.reason);
    }
}

static int
s_handle_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_server_t *self = arg;
    if (self->draining)
        return 0;
    int64_t mono = zclock_mono ();
    if (mono >= self->next_auth)
        s_refresh_auth (self);
    if (!self->loaded && s_reload (self) != 0)
        return 0; //  the database is not there yet: try on the next tick
    if (mono >= self->next_poll) {
        //  Catch up from the events table: what the PUB fast path missed
        //  (and, at start, everything since the last offsets).
        kf_subscriber_poll (self->sub);
        self->next_poll = mono + self->config->poll_interval;
    }
    s_attendance_tick (self);
    return 0;
}

static void
s_refresh_status (kf_control_t *control, void *arg)
{
    s_server_t *self = arg;
    kf_control_set_store_connected (control, kf_store_connected (self->store));
    kf_control_set_draining (control, self->draining);
    kf_control_set_insecure (control, metrics_auth_insecure (self->auth));
    metrics_stats_t st;
    metrics_model_stats (self->model, &st);
    *kf_control_counter (control, "conversations.open") = st.open;
    *kf_control_counter (control, "conversations.in_memory") = st.conversations;
    *kf_control_counter (control, "shops") = st.shops;
    *kf_control_counter (control, "auth.handshake_failures") =
        metrics_auth_handshake_failures (self->auth);
    kf_subscriber_stats_t ss;
    kf_subscriber_stats (self->sub, &ss);
    *kf_control_counter (control, "events.applied") = ss.applied;
    *kf_control_counter (control, "events.gaps") = ss.gaps;
    *kf_control_counter (control, "events.from_pub") = ss.from_pub;
    *kf_control_counter (control, "events.from_table") = ss.from_table;
    *kf_control_counter (control, "batches.failed") = ss.failed_batches;
    if (self->http) {
        metrics_http_stats_t hs;
        metrics_http_stats (self->http, &hs);
        *kf_control_counter (control, "http.requests") = hs.requests;
        *kf_control_counter (control, "http.logins_failed") = hs.logins_failed;
        *kf_control_counter (control, "http.logins_throttled") = hs.logins_throttled;
        *kf_control_counter (control, "http.forbidden") = hs.forbidden;
        *kf_control_counter (control, "http.refused") = hs.refused;
    }
}

//  ---------------------------------------------------------------------
//  Construction and actor commands

static void
s_server_destroy (s_server_t **self_p)
{
    if (*self_p) {
        s_server_t *self = *self_p;
        metrics_http_destroy (&self->http);
        zsock_destroy (&self->bridge);
        for (int i = 0; i < self->worker_count; i++)
            zactor_destroy (&self->workers[i].actor);
        free (self->workers);
        zlistx_destroy (&self->waiting);
        kf_subscriber_destroy (&self->sub);
        metrics_model_destroy (&self->model);
        metrics_writes_destroy (&self->writes);
        metrics_att_tracker_destroy (&self->att);
        metrics_att_writes_destroy (&self->att_writes);
        metrics_desk_writes_destroy (&self->desk);
        kf_outbox_destroy (&self->outbox);
        zsock_destroy (&self->router);
        metrics_auth_destroy (&self->auth);
        kf_control_destroy (&self->control);
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
    self->common = args->common;
    self->clock = args->clock;
    self->store = kf_store_new (args->common->database_url, "kefu-metrics");
    metrics_store_register (self->store);
    self->control = kf_control_new ("metrics", self->clock);
    kf_control_set_refresh (self->control, s_refresh_status, self);
    metrics_sink_t sink = {s_on_count, s_on_hist, s_on_conv, s_on_qa, s_on_presence, self};
    self->model = metrics_model_new (self->clock, &sink);
    self->writes = metrics_writes_new ();
    self->att_writes = metrics_att_writes_new ();
    self->desk = metrics_desk_writes_new ();
    metrics_att_sink_t att_sink = metrics_att_writes_sink (self->att_writes);
    self->att = metrics_att_tracker_new (&att_sink);
    self->outbox = kf_outbox_new ("metrics", self->store);
    self->auth = metrics_auth_new (self->config);
    self->router = kf_wire_socket (KF_SOCK_ROUTER_SERVER, S_MAX_QUERY);
    self->waiting = zlistx_new ();
    zlistx_set_destructor (self->waiting, (czmq_destructor *) zmsg_destroy);
    kf_control_t *c = self->control;
    self->c_reloads = kf_control_counter (c, "model.reloads");
    self->c_loaded_back = kf_control_counter (c, "conversations.loaded_back");
    self->c_lookups = kf_control_counter (c, "state.lookups");
    self->c_txn_failed = kf_control_counter (c, "transactions.failed");
    self->c_rebuilds = kf_control_counter (c, "rebuilds");
    self->c_att_published = kf_control_counter (c, "attendance.published");
    self->c_answered = kf_control_counter (c, "queries.answered");
    self->c_in_flight = kf_control_counter (c, "queries.in_flight");
    return self;
}

static int
s_start (s_server_t *self, char *why, size_t why_size)
{
    if (metrics_auth_start (self->auth, why, why_size))
        return -1;
    //  The keys before the subscriber connects (a writer's PUB in this
    //  process would be judged by this ZAP handler, which refuses everyone
    //  until it has them; libzmq does not try a refused handshake again).
    s_refresh_auth (self);
    if (s_subscribe (self)) {
        snprintf (why, why_size, "bad KEFU_METRICS_INTAKE_EVENTS=%s or _ROUTING_EVENTS=%s",
                  self->config->intake_events, self->config->routing_events);
        return -1;
    }
    if (self->config->rebuild && s_rebuild (self, why, why_size))
        return -1;
    metrics_auth_secure (self->auth, self->router);
    if (zsock_bind (self->router, "%s", self->config->query_endpoint) == -1) {
        snprintf (why, why_size, "cannot bind KEFU_METRICS_QUERY_ENDPOINT=%s",
                  self->config->query_endpoint);
        return -1;
    }
    if (kf_control_bind (self->control, self->config->control_endpoint) == -1) {
        snprintf (why, why_size, "cannot bind KEFU_METRICS_CONTROL_ENDPOINT=%s",
                  self->config->control_endpoint);
        return -1;
    }
    //  The configuration table bounds the count (1-16).
    self->worker_count = self->config->query_workers > 1 ? (int) self->config->query_workers : 1;
    self->workers = calloc ((size_t) self->worker_count, sizeof *self->workers);
    for (int i = 0; i < self->worker_count; i++)
        self->workers[i].actor = zactor_new (metrics_query_worker, self->common->database_url);
    if (s_start_http (self, why, why_size))
        return -1;
    //  The record first (a database that is down is retried by the tick);
    //  the events follow on the tick, so START answers before a long
    //  catch-up.
    s_refresh_auth (self);
    s_reload (self);
    zloop_reader (self->loop, self->router, s_handle_query, self);
    for (int i = 0; i < self->worker_count; i++)
        zloop_reader (self->loop, zactor_sock (self->workers[i].actor), s_handle_worker, self);
    zloop_reader (self->loop, kf_control_socket (self->control), kf_control_on_readable,
                  self->control);
    zsock_t *monitor = metrics_auth_monitor (self->auth, self->router);
    if (monitor)
        zloop_reader (self->loop, monitor, s_handle_monitor, self);
    zloop_timer (self->loop, S_TICK_MS, 0, s_handle_tick, self);
    kf_log_info ("metrics.listening", "intake_events=%s routing_events=%s query=%d control=%d",
                 self->config->intake_events, self->config->routing_events,
                 kf_wire_port (self->router), kf_wire_port (kf_control_socket (self->control)));
    return 0;
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
    return streq (name, "query")     ? self->router
           : streq (name, "control") ? kf_control_socket (self->control)
                                     : NULL;
}

static void
s_op_reload (void *server)
{
    s_server_t *self = server;
    kf_config_reload (self->spec, self->config);
    s_refresh_auth (self);
}

//  Every applied batch is committed already: stop reading events.
static void
s_op_drain (void *server)
{
    s_server_t *self = server;
    self->draining = true;
    zloop_reader_end (self->loop, kf_subscriber_socket (self->sub));
    zloop_reader_end (self->loop, self->router);
    //  The dashboard stops with the queries (its requests in progress end).
    if (self->bridge)
        zloop_reader_end (self->loop, self->bridge);
    metrics_http_destroy (&self->http);
}

//  SYNC (tests): apply everything in the events table now, then publish
//  the attendance that is due. REBUILD: recompute from the event log.
static const char *
s_op_other (void *server, const char *command)
{
    s_server_t *self = server;
    if (streq (command, "SYNC")) {
        if (!self->loaded && s_reload (self))
            return "NOT LOADED";
        s_refresh_auth (self);
        if (kf_subscriber_poll (self->sub) < 0)
            return "FAILED";
        s_attendance_tick (self);
        return "OK";
    }
    if (streq (command, "HTTPPORT")) {
        snprintf (self->reply, sizeof self->reply, "%d",
                  self->http ? metrics_http_port (self->http) : -1);
        return self->reply;
    }
    if (streq (command, "REBUILD")) {
        char why[256] = "";
        if (s_rebuild (self, why, sizeof why) == 0)
            return "OK";
        snprintf (self->reply, sizeof self->reply, "FAIL %s", why);
        return self->reply;
    }
    return NULL;
}

static const kf_actor_ops_t s_ops = {s_op_start, s_op_socket, s_op_reload, s_op_drain, s_op_other};

void
metrics_server (zsock_t *pipe, void *args)
{
    s_server_t *self = s_server_new (pipe, (kf_service_args_t *) args);
    self->loop = zloop_new ();
    kf_actor_run (pipe, self->loop, &s_ops, self);
    zloop_destroy (&self->loop);
    s_server_destroy (&self);
}
