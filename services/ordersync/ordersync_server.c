/*  ordersync_server — kefu-ordersync as a czmq actor.

    Intake's events arrive through kf_subscriber, a batch at a time: first
    one look at the batch (s_prepare) reads back, in one statement, the
    orders it names that memory let go of; then the model applies it in
    memory (kf_subscriber_set_in_memory), and everything it decided (the
    orders' rows, their history, flags, refused snapshots, the events of
    stream "ordersync", and every reminder and notice as an
    ordersync_outbox row) goes to PostgreSQL with the consumer's offsets as
    one pipelined transaction, multi-row statements, while the next batch
    is applied. Deadlines (the reminder time, COD escalations, late and
    stalled orders) run from a timer in a transaction of their own. Only
    after the commit are the commands handed to intake, and handed again
    until intake acknowledges them (it de-duplicates on the request id,
    "remind:<order>"), then their rows are forgotten. So a reminder is
    decided once (the order's reminded_at commits with its outbox row) and
    delivered at least once and at most once: after a crash the record's
    outbox rows are sent again and intake answers DUPLICATE for what it has.
    If a transaction fails, the model is rebuilt from the record. */
#include "ordersync_server.h"

#include "kefu/v1/events.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_actor.h"
#include "kf_commands.h"
#include "kf_batch.h"
#include "kf_control.h"
#include "kf_daemon.h"
#include "kf_log.h"
#include "kf_outbox.h"
#include "kf_store.h"
#include "kf_subscriber.h"
#include "kf_valid.h"
#include "kf_wire.h"
#include "kf_zap.h"
#include "ordersync_config.h"
#include "ordersync_model.h"
#include "ordersync_store.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_TICK_MS 20
//  Orders acted on per deadline transaction: at 16:00 the first reminders
//  are committed and handed to intake while the next ones are decided
//  (the loop reads intake's acks between transactions).
#define S_DECISIONS_MAX 10000
//  Replies older than this are not read back after a start (the longest
//  attribution window that makes sense).
#define S_REPLIES_KEPT_MS (7LL * 24 * 3600 * 1000)

typedef struct {
    zsock_t *pipe;                    //  actor pipe
    const kf_config_spec_t *spec;     //  configuration table (reload)
    ordersync_config_t *config;       //  settings (borrowed)
    const kf_common_config_t *common; //  shared settings (borrowed)
    kf_clock_t *clock;                //  time (borrowed)
    kf_store_t *store;                //  PostgreSQL
    kf_outbox_t *outbox;              //  ordersync's events
    kf_control_t *control;            //  status
    kf_subscriber_t *sub;             //  intake's events
    kf_zap_t *zap;                    //  ZAP handler (NULL when insecure)
    zcert_t *cert;                    //  our key pair (NULL when insecure)
    char server_key[41];              //  intake's public key
    char routing_key[41];             //  routing's public key
    ordersync_model_t *model;         //  the rules
    ordersync_writes_t *writes;       //  the current transaction's writes
    const Kefu__V1__OrderUpdate *cur; //  the snapshot being applied (personal fields), borrowed
    zsock_t *intake;                  //  DEALER to intake's command endpoint
    kf_commands_t *commands;          //  commands decided, handed in, not acked
    kf_batch_t *acked;                //  (shop, request) acknowledged by intake, to forget
    kf_batch_t *recall;               //  (shop, order) a batch reads back (s_prepare)
    zloop_t *loop;                    //  event loop
    bool loaded;                      //  model built from the record
    bool draining;                    //  DRAIN received
    int64_t next_poll;                //  monotonic ms of the next table catch-up
    int64_t next_refresh;             //  monotonic ms of the next keys/settings re-read
    int64_t *c_cancelled;             //  counters
    int64_t *c_reloads;
    int64_t *c_txn_failed;
    int64_t *c_unknown_flags;
    int64_t *c_recalled;
} s_server_t;

static int64_t
s_now (s_server_t *self)
{
    return kf_clock_now_ms (self->clock);
}

//  ---------------------------------------------------------------------
//  Sink: what the model decides becomes writes, events and commands

static void
s_on_changed (void *arg, const char *shop_id, const ordersync_order_t *o,
              const ordersync_snapshot_t *snap)
{
    s_server_t *self = arg;
    const Kefu__V1__OrderUpdate *u = snap ? self->cur : NULL;
    char *items = u && u->items.len ? kf_valid_strdup (&u->items) : NULL;
    char *address = u && u->receiver_address.len ? kf_valid_strdup (&u->receiver_address) : NULL;
    char *phone = u && u->receiver_phone.len ? kf_valid_strdup (&u->receiver_phone) : NULL;
    ordersync_writes_order (self->writes, shop_id, o, snap, items, address, phone);
    free (items);
    free (address);
    free (phone);
}

static bool
s_is_state_event (const char *kind)
{
    return strcmp (kind, "order.flagged") != 0 && strcmp (kind, "order.task_due") != 0 &&
           strcmp (kind, "order.credited") != 0;
}

static void
s_on_event (void *arg, const char *shop_id, const ordersync_order_t *o, const char *kind,
            int previous, const char *flag, const char *task, const char *note, const char *agent)
{
    s_server_t *self = arg;
    int64_t now = s_now (self);
    if (s_is_state_event (kind))
        ordersync_writes_state (self->writes, shop_id, o->order_id, o->modified_at, o->state,
                                previous, now);
    else if (strcmp (kind, "order.credited") != 0)
        ordersync_writes_flag (self->writes, shop_id, o->order_id, now, flag, task, note, agent);
    Kefu__V1__OrderEvent oe = KEFU__V1__ORDER_EVENT__INIT;
    oe.order_id = (char *) o->order_id;
    oe.customer_id = o->customer_id;
    oe.channel = o->channel;
    oe.channel_customer_id = (char *) o->channel_customer_id;
    oe.state = o->state;
    oe.previous_state = previous;
    oe.payment = o->payment;
    oe.amount_cents = o->amount_cents;
    oe.currency = (char *) o->currency;
    oe.at_ms = s_is_state_event (kind) ? o->modified_at : now;
    oe.flag = (char *) flag;
    oe.note = (char *) note;
    oe.agent_id = (char *) agent;
    oe.task = (char *) task;
    oe.tracking_no = "";
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.shop_id = (char *) shop_id;
    ev.kind = (char *) kind;
    ev.occurred_at_ms = now;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_ORDER;
    ev.order = &oe;
    kf_outbox_add (self->outbox, &ev);
}

static void
s_on_command (void *arg, const char *shop_id, const ordersync_order_t *o,
              const ordersync_command_t *oc)
{
    s_server_t *self = arg;
    Kefu__V1__Command cmd = KEFU__V1__COMMAND__INIT;
    cmd.shop_id.data = (uint8_t *) shop_id;
    cmd.shop_id.len = strlen (shop_id);
    cmd.channel = o->channel;
    cmd.customer_id.data = (uint8_t *) o->channel_customer_id;
    cmd.customer_id.len = strlen (o->channel_customer_id);
    cmd.origin = "ordersync";
    Kefu__V1__ReminderCommand reminder = KEFU__V1__REMINDER_COMMAND__INIT;
    Kefu__V1__NoticeCommand notice = KEFU__V1__NOTICE_COMMAND__INIT;
    if (oc->notice) {
        notice.audience.data = (uint8_t *) oc->audience;
        notice.audience.len = strlen (oc->audience);
        notice.severity = oc->severity;
        notice.text.data = (uint8_t *) oc->text;
        notice.text.len = strlen (oc->text);
        notice.order_id.data = (uint8_t *) o->order_id;
        notice.order_id.len = strlen (o->order_id);
        cmd.kind_case = KEFU__V1__COMMAND__KIND_NOTICE;
        cmd.notice = &notice;
    } else {
        reminder.order_id.data = (uint8_t *) o->order_id;
        reminder.order_id.len = strlen (o->order_id);
        reminder.kind = oc->reminder_kind;
        reminder.text.data = (uint8_t *) oc->text;
        reminder.text.len = strlen (oc->text);
        cmd.kind_case = KEFU__V1__COMMAND__KIND_REMINDER;
        cmd.reminder = &reminder;
    }
    Kefu__V1__CommandSubmit submit = KEFU__V1__COMMAND_SUBMIT__INIT;
    submit.request_id.data = (uint8_t *) oc->request_id;
    submit.request_id.len = strlen (oc->request_id);
    submit.command = &cmd;
    size_t size = kefu__v1__command_submit__get_packed_size (&submit);
    uint8_t *frame = malloc (size);
    kefu__v1__command_submit__pack (&submit, frame);
    //  Kept with the decision (s_store_command); handed in after the commit.
    kf_error_t err;
    kf_error_clear (&err);
    kf_commands_decide (self->commands, shop_id, oc->request_id, frame, size, true, 0, &err);
    free (frame);
}

//  A command's ordersync_commands row, in the current transaction
//  (kf_commands' store callback).
static int
s_store_command (void *arg, const kf_command_t *c, kf_error_t *err)
{
    (void) err;
    s_server_t *self = arg;
    ordersync_writes_command (self->writes, c->shop_id, c->request_id, zchunk_data (c->frame),
                              zchunk_size (c->frame), s_now (self));
    return 0;
}

//  Intake has not got it (or not acknowledged it): it does not go out.
static void
s_on_cancel (void *arg, const char *shop_id, const char *request_id)
{
    s_server_t *self = arg;
    kf_commands_cancel (self->commands, shop_id, request_id);
    (*self->c_cancelled)++;
    ordersync_writes_forget (self->writes, shop_id, request_id);
}

static void
s_on_refused (void *arg, const char *shop_id, const ordersync_snapshot_t *snap,
              const ordersync_order_t *o, ordersync_outcome_t why)
{
    s_server_t *self = arg;
    const char *reason = why == ORDERSYNC_STALE ? "stale" : "impossible";
    ordersync_writes_refused (self->writes, shop_id, snap, reason, o->state, s_now (self));
    kf_log_info ("ordersync.snapshot_refused", "shop=%s order=%s reason=%s state=%d current=%d",
                 shop_id, snap->order_id, reason, snap->state, o->state);
}

static void
s_on_reply_seen (void *arg, const char *shop_id, int64_t customer_id, const char *agent_id,
                 int64_t conversation_id, int64_t at)
{
    s_server_t *self = arg;
    ordersync_writes_reply (self->writes, shop_id, customer_id, agent_id, conversation_id, at);
}

static void
s_on_agent_changed (void *arg, const char *shop_id, const char *agent_id, bool on_shift,
                    bool offline)
{
    s_server_t *self = arg;
    ordersync_writes_agent (self->writes, shop_id, agent_id, on_shift, offline);
}

//  ---------------------------------------------------------------------
//  Commands to intake

static void
s_on_unsubmitted (void *arg, const char *shop_id, const char *request_id, const uint8_t *payload,
                  size_t size)
{
    s_server_t *self = arg;
    kf_commands_restore (self->commands, shop_id, request_id, payload, size, true, 0);
}

//  Intake acknowledged c (kf_commands' ack callback): forgotten in the
//  record by the tick (s_forget_acked).
static int
s_on_acked (void *arg, const kf_command_t *c, bool refused)
{
    (void) refused;
    s_server_t *self = arg;
    kf_batch_str (self->acked, 0, c->shop_id);
    kf_batch_str (self->acked, 1, c->request_id);
    return 0;
}

//  Forget acknowledged commands in the record (a restart would only send
//  them again, and intake answer DUPLICATE).
static void
s_forget_acked (s_server_t *self)
{
    if (kf_batch_rows (self->acked) == 0 || !kf_store_connected (self->store) ||
        kf_store_in_txn (self->store))
        return;
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_pipeline_begin (self->store, &err) == 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_batch_params (self->acked, &params);
        kf_store_pipeline_add (self->store, "ordersync_forget_commands", &params, NULL, NULL);
        if (kf_store_pipeline_run (self->store, &err) == 0)
            kf_batch_reset (self->acked);
    }
}

//  ---------------------------------------------------------------------
//  Transactions

static void
s_after_rollback (void *arg)
{
    s_server_t *self = arg;
    (*self->c_txn_failed)++;
    ordersync_writes_clear (self->writes);
    kf_commands_rollback (self->commands);
    //  Memory may hold decisions the record does not: rebuild it.
    self->loaded = false;
}

//  The subscriber's transaction committed (by then the next batch may be
//  applied in memory already: its writes and commands wait for their own).
static void
s_after_commit (void *arg)
{
    s_server_t *self = arg;
    kf_commands_commit_sealed (self->commands);
    ordersync_model_forget_settled (self->model);
}

//  The subscriber sends a transaction: what was decided until now goes in
//  it (libpq has copied the rows when this returns); what is decided from
//  now on belongs to the next one.
static int
s_queue_writes (kf_store_t *store, void *arg, kf_error_t *err)
{
    (void) err;
    s_server_t *self = arg;
    ordersync_writes_queue (self->writes, store);
    ordersync_writes_clear (self->writes);
    kf_commands_seal (self->commands);
    return 0;
}

typedef void (s_txn_fn) (s_server_t *self, void *arg);

//  Run fn in a transaction of its own (timer work, loads).
static int
s_in_txn (s_server_t *self, s_txn_fn *fn, void *arg)
{
    kf_error_t err;
    kf_error_clear (&err);
    //  The subscriber's transaction under way ends first; if it failed, the
    //  model is no longer the record's: it waits for its reload.
    kf_subscriber_settle (self->sub);
    if (!self->loaded)
        return -1;
    if (kf_store_ensure (self->store) || kf_store_begin (self->store, &err))
        return -1;
    fn (self, arg);
    if (kf_store_pipeline_begin (self->store, &err)) {
        kf_store_rollback (self->store);
        goto failed;
    }
    ordersync_writes_queue (self->writes, self->store);
    if (kf_store_pipeline_run (self->store, &err) || kf_outbox_flush (self->outbox, &err)) {
        kf_store_rollback (self->store);
        goto failed;
    }
    ordersync_writes_clear (self->writes);
    if (kf_store_commit (self->store, &err))
        goto failed;
    kf_outbox_publish (self->outbox);
    kf_commands_commit (self->commands);
    ordersync_model_forget_settled (self->model);
    return 0;
failed:
    kf_outbox_discard (self->outbox);
    kf_log_warn ("ordersync.txn_failed", "reason=\"%s\"", err.reason);
    s_after_rollback (self);
    return -1;
}

//  ---------------------------------------------------------------------
//  Loading the model from the record

static void
s_on_settings (void *arg, const ordersync_settings_t *s)
{
    s_server_t *self = arg;
    const ordersync_settings_t *now = ordersync_model_settings (self->model, s->shop_id);
    if (now && memcmp (now, s, sizeof *s) == 0)
        return;
    if (ordersync_model_configure (self->model, s))
        kf_log_error ("ordersync.bad_timezone", "shop=%s timezone=%s", s->shop_id, s->timezone);
}

static void
s_on_order_row (void *arg, const char *shop_id, const ordersync_order_t *o)
{
    ordersync_model_restore_order (((s_server_t *) arg)->model, shop_id, o);
}

static void
s_on_reply_row (void *arg, const char *shop_id, int64_t customer_id, const char *agent_id,
                int64_t conversation_id, int64_t at)
{
    ordersync_model_restore_reply (((s_server_t *) arg)->model, shop_id, customer_id, agent_id,
                                   conversation_id, at);
}

static void
s_on_created_bound (void *arg, const char *shop_id, int64_t created_at)
{
    ordersync_model_restore_forgotten (((s_server_t *) arg)->model, shop_id, created_at);
}

static void
s_on_agent_row (void *arg, const char *shop_id, const char *agent_id, bool on_shift, bool offline)
{
    ordersync_model_restore_agent (((s_server_t *) arg)->model, shop_id, agent_id, on_shift,
                                   offline);
}

static int
s_reload (s_server_t *self)
{
    (*self->c_reloads)++;
    self->loaded = false;
    kf_error_t err;
    kf_error_clear (&err);
    ordersync_model_destroy (&self->model);
    ordersync_sink_t sink = {s_on_changed, s_on_event,      s_on_command,       s_on_cancel,
                             s_on_refused, s_on_reply_seen, s_on_agent_changed, self};
    self->model = ordersync_model_new (self->clock, &sink);
    ordersync_writes_clear (self->writes);
    kf_commands_discard (self->commands);
    if (kf_store_ensure (self->store) ||
        ordersync_store_load_settings (self->store, NULL, s_on_settings, self, &err) ||
        ordersync_store_load_orders (self->store, s_now (self), s_on_order_row, self, &err) ||
        ordersync_store_load_created_bound (self->store, s_on_created_bound, self, &err) ||
        ordersync_store_load_replies (self->store, s_now (self) - S_REPLIES_KEPT_MS, s_on_reply_row,
                                      self, &err) ||
        ordersync_store_load_agents (self->store, s_on_agent_row, self, &err) ||
        ordersync_store_load_outbox (self->store, s_on_unsubmitted, self, &err)) {
        kf_log_warn ("ordersync.load_failed", "reason=\"%s\"", err.reason);
        return -1;
    }
    self->loaded = true;
    ordersync_stats_t st;
    ordersync_model_stats (self->model, &st);
    kf_log_info ("ordersync.loaded", "shops=%d orders=%" PRId64 " unacked=%zu", st.shops, st.orders,
                 kf_commands_unacked (self->commands));
    return 0;
}

//  ---------------------------------------------------------------------
//  Events in

static char *
s_str (char *buf, size_t size, const ProtobufCBinaryData *b)
{
    snprintf (buf, size, "%.*s", (int) b->len, (const char *) b->data);
    return buf;
}

//  A shop seen for the first time: its settings from the record.
static void
s_ensure_shop (s_server_t *self, const char *shop_id)
{
    if (ordersync_model_settings (self->model, shop_id))
        return;
    kf_error_t err;
    kf_error_clear (&err);
    if (ordersync_store_load_settings (self->store, shop_id, s_on_settings, self, &err))
        kf_log_warn ("ordersync.settings_failed", "shop=%s reason=\"%s\"", shop_id, err.reason);
}

//  The order an order event names (into buf), and its creation time (0:
//  unknown, a flag's); NULL for other events.
static const char *
s_order_of (const Kefu__V1__Event *ev, char *buf, size_t size, int64_t *created_at)
{
    if (ev->payload_case != KEFU__V1__EVENT__PAYLOAD_ORDER_RECEIVED)
        return NULL;
    const Kefu__V1__OrderReceived *r = ev->order_received;
    *created_at = 0;
    if (r->item_case == KEFU__V1__ORDER_RECEIVED__ITEM_UPDATE) {
        *created_at = r->update->created_at_ms;
        return s_str (buf, size, &r->update->order_id);
    }
    if (r->item_case == KEFU__V1__ORDER_RECEIVED__ITEM_FLAG)
        return s_str (buf, size, &r->flag->order_id);
    return NULL;
}

//  An order memory does not hold may be a settled one whose row is in the
//  record. Not one created after every order memory let go of: a new
//  order is not looked for (created_at 0: unknown, looked for).
static bool
s_may_be_in_record (s_server_t *self, const char *shop_id, const char *order_id, int64_t created_at)
{
    return !ordersync_model_order (self->model, shop_id, order_id) &&
           ordersync_model_may_be_settled (self->model, shop_id, created_at);
}

static void
s_on_recalled (void *arg, const char *shop_id, const ordersync_order_t *o)
{
    s_server_t *self = arg;
    ordersync_model_restore_order (self->model, shop_id, o);
    (*self->c_recalled)++;
}

static bool
s_is_shop_event (const Kefu__V1__Event *ev)
{
    return ev->payload_case == KEFU__V1__EVENT__PAYLOAD_ORDER_RECEIVED ||
           ev->payload_case == KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED ||
           ev->payload_case == KEFU__V1__EVENT__PAYLOAD_AGENT_SHIFT ||
           ev->payload_case == KEFU__V1__EVENT__PAYLOAD_AGENT_PRESENCE;
}

//  Before a batch is applied: the settings of shops seen for the first
//  time, and, in one statement, the rows of the orders it names that
//  memory let go of (the model forgets them again once applied, if still
//  settled). Reading settles the transaction under way first, so memory
//  forgets what that one settled before the batch is looked at.
static int
s_prepare (kf_store_t *store, Kefu__V1__Event *const *events, int count, void *arg, kf_error_t *err)
{
    (void) store;
    s_server_t *self = arg;
    char order_id[ORDERSYNC_ID_MAX + 1];
    int64_t created_at;
    bool read = false;
    for (int i = 0; i < count && !read; i++) {
        const char *order = s_order_of (events[i], order_id, sizeof order_id, &created_at);
        read = (s_is_shop_event (events[i]) &&
                !ordersync_model_settings (self->model, events[i]->shop_id)) ||
               (order && s_may_be_in_record (self, events[i]->shop_id, order, created_at));
    }
    if (read && kf_subscriber_settle (self->sub) == 0 && self->loaded) {
        kf_batch_reset (self->recall);
        for (int i = 0; i < count; i++) {
            if (s_is_shop_event (events[i]))
                s_ensure_shop (self, events[i]->shop_id);
            const char *order = s_order_of (events[i], order_id, sizeof order_id, &created_at);
            if (order && s_may_be_in_record (self, events[i]->shop_id, order, created_at)) {
                kf_batch_str (self->recall, 0, events[i]->shop_id);
                kf_batch_str (self->recall, 1, order);
            }
        }
        if (ordersync_store_get_orders (self->store, self->recall, s_on_recalled, self, err)) {
            kf_log_warn ("ordersync.recall_failed", "orders=%d reason=\"%s\"",
                         kf_batch_rows (self->recall), err->reason);
            return -1;
        }
    }
    //  A transaction failed under this batch: the model waits for its
    //  reload, and these events are read again then.
    if (!self->loaded)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                             "order-sync's model is being rebuilt");
    return 0;
}

static void
s_apply_update (s_server_t *self, const char *shop_id, const Kefu__V1__OrderReceived *r)
{
    const Kefu__V1__OrderUpdate *u = r->update;
    char order_id[ORDERSYNC_ID_MAX + 1], currency[8], tracking[80];
    ordersync_snapshot_t snap = {
        .order_id = s_str (order_id, sizeof order_id, &u->order_id),
        .customer_id = r->customer_id,
        .channel = r->channel,
        .channel_customer_id = r->channel_customer_id,
        .state = u->state,
        .payment = u->payment,
        .amount_cents = u->amount_cents,
        .currency = s_str (currency, sizeof currency, &u->currency),
        .created_at = u->created_at_ms,
        .paid_at = u->paid_at_ms,
        .shipped_at = u->shipped_at_ms,
        .delivered_at = u->delivered_at_ms,
        .logistics_at = u->logistics_at_ms,
        .modified_at = u->modified_at_ms,
        .tracking_no = s_str (tracking, sizeof tracking, &u->tracking_no),
    };
    self->cur = u;
    ordersync_model_on_update (self->model, shop_id, &snap);
    self->cur = NULL;
}

static void
s_apply_flag (s_server_t *self, const char *shop_id, const Kefu__V1__OrderReceived *r)
{
    const Kefu__V1__OrderFlag *f = r->flag;
    char order_id[ORDERSYNC_ID_MAX + 1], agent[ORDERSYNC_ID_MAX + 1];
    char *note = kf_valid_strdup (&f->note);
    s_str (order_id, sizeof order_id, &f->order_id);
    if (ordersync_model_on_flag (self->model, shop_id, order_id, f->colour, f->meaning, note,
                                 s_str (agent, sizeof agent, &f->agent_id))) {
        (*self->c_unknown_flags)++;
        kf_log_info ("ordersync.flag_unknown_order", "shop=%s order=%s", shop_id, order_id);
    }
    free (note);
}

//  Applied in memory: no SQL here (s_prepare read what the batch needs).
static int
s_apply (kf_store_t *store, const Kefu__V1__Event *ev, void *arg, kf_error_t *err)
{
    (void) store;
    s_server_t *self = arg;
    if (!self->loaded)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                             "order-sync's model is being rebuilt");
    switch (ev->payload_case) {
    case KEFU__V1__EVENT__PAYLOAD_ORDER_RECEIVED: {
        const Kefu__V1__OrderReceived *r = ev->order_received;
        if (r->item_case == KEFU__V1__ORDER_RECEIVED__ITEM_UPDATE)
            s_apply_update (self, ev->shop_id, r);
        else if (r->item_case == KEFU__V1__ORDER_RECEIVED__ITEM_FLAG)
            s_apply_flag (self, ev->shop_id, r);
        break;
    }
    case KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED: {
        const Kefu__V1__MessageAccepted *m = ev->message_accepted;
        if (m->sender == KEFU__V1__SENDER_ROLE__SENDER_ROLE_AGENT && !m->auto_reply) {
            ordersync_model_on_reply (self->model, ev->shop_id, m->customer_id, m->agent_id,
                                      m->conversation_id, m->sent_at_ms);
        }
        break;
    }
    case KEFU__V1__EVENT__PAYLOAD_AGENT_SHIFT: //  routing's
        ordersync_model_on_shift (self->model, ev->shop_id, ev->agent_shift->agent_id,
                                  ev->agent_shift->on_shift);
        break;
    case KEFU__V1__EVENT__PAYLOAD_AGENT_PRESENCE:
        ordersync_model_on_presence (self->model, ev->shop_id, ev->agent_presence->agent_id,
                                     ev->agent_presence->status);
        break;
    default:
        break;
    }
    return 0;
}

//  ---------------------------------------------------------------------
//  Loop

static void
s_tick_model (s_server_t *self, void *arg)
{
    *(int *) arg = ordersync_model_tick_at_most (self->model, S_DECISIONS_MAX);
}

//  One deadline transaction, if something is due. Returns the orders it
//  acted on (S_DECISIONS_MAX: more may be due now).
static int
s_run_deadlines (s_server_t *self)
{
    if (!self->loaded || ordersync_model_next_deadline (self->model) > s_now (self))
        return 0;
    int64_t start = zclock_usecs ();
    int acted = 0;
    if (s_in_txn (self, s_tick_model, &acted) == 0 && acted)
        kf_log_info ("ordersync.deadlines", "acted=%d unacked=%zu ms=%.1f", acted,
                     kf_commands_unacked (self->commands),
                     (double) (zclock_usecs () - start) / 1000);
    return acted;
}

static void
s_on_clock (void *arg)
{
    s_run_deadlines ((s_server_t *) arg);
}

static int
s_handle_events (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    s_server_t *self = arg;
    if (self->loaded)
        kf_subscriber_handle (self->sub);
    return 0;
}

//  Keys allowed to read our events, and the shops' settings (an operator
//  changed them with kefuctl orders settings).
static void
s_refresh (s_server_t *self)
{
    kf_error_t err;
    kf_error_clear (&err);
    if (self->zap && kf_zap_load (self->zap, self->store, &err) < 0)
        kf_log_warn ("ordersync.keys_failed", "reason=\"%s\"", err.reason);
    if (self->loaded &&
        ordersync_store_load_settings (self->store, NULL, s_on_settings, self, &err))
        kf_log_warn ("ordersync.settings_failed", "reason=\"%s\"", err.reason);
    self->next_refresh = zclock_mono () + self->config->auth_refresh;
}

static int
s_handle_tick (zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    s_server_t *self = arg;
    if (self->draining)
        return 0;
    if (!self->loaded && s_reload (self) != 0)
        return 0; //  the database is not there yet: try on the next tick
    if (!kf_subscriber_started (self->sub))
        kf_subscriber_start (self->sub);
    int64_t mono = zclock_mono ();
    if (mono >= self->next_refresh)
        s_refresh (self);
    if (mono >= self->next_poll) {
        kf_subscriber_poll (self->sub);
        self->next_poll = mono + self->config->poll_interval;
    }
    s_run_deadlines (self);
    kf_commands_handle_acks (self->commands);
    kf_commands_resend (self->commands, self->config->command_timeout);
    s_forget_acked (self);
    return 0;
}

static void
s_refresh_status (kf_control_t *control, void *arg)
{
    s_server_t *self = arg;
    kf_control_set_store_connected (control, kf_store_connected (self->store));
    kf_control_set_draining (control, self->draining);
    if (self->model) {
        ordersync_stats_t st;
        ordersync_model_stats (self->model, &st);
        *kf_control_counter (control, "shops") = st.shops;
        *kf_control_counter (control, "orders") = st.orders;
        *kf_control_counter (control, "snapshots.applied") = st.applied;
        *kf_control_counter (control, "snapshots.repeated") = st.repeats;
        *kf_control_counter (control, "snapshots.refused.stale") = st.stale;
        *kf_control_counter (control, "snapshots.refused.impossible") = st.impossible;
        *kf_control_counter (control, "reminders") = st.reminders;
        *kf_control_counter (control, "orders.late") = st.late;
        *kf_control_counter (control, "orders.stalled") = st.stalled;
        *kf_control_counter (control, "orders.credited") = st.credited;
        *kf_control_counter (control, "orders.forgotten") = st.forgotten;
    }
    *kf_control_counter (control, "commands.unacked") =
        (int64_t) kf_commands_unacked (self->commands);
    kf_subscriber_stats_t ss;
    kf_subscriber_stats (self->sub, &ss);
    *kf_control_counter (control, "events.applied") = ss.applied;
    *kf_control_counter (control, "events.gaps") = ss.gaps;
    *kf_control_counter (control, "events.published") = kf_outbox_published (self->outbox);
}

//  ---------------------------------------------------------------------
//  Construction and actor commands

static void
s_server_destroy (s_server_t **self_p)
{
    if (*self_p) {
        s_server_t *self = *self_p;
        kf_subscriber_destroy (&self->sub);
        ordersync_model_destroy (&self->model);
        ordersync_writes_destroy (&self->writes);
        kf_commands_destroy (&self->commands);
        kf_batch_destroy (&self->acked);
        kf_batch_destroy (&self->recall);
        zsock_destroy (&self->intake);
        kf_outbox_destroy (&self->outbox);
        kf_control_destroy (&self->control);
        kf_zap_destroy (&self->zap);
        zcert_destroy (&self->cert);
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
    self->store = kf_store_new (args->common->database_url, "kefu-ordersync");
    ordersync_store_register (self->store);
    self->outbox = kf_outbox_new ("ordersync", self->store);
    self->control = kf_control_new ("ordersync", self->clock);
    kf_control_set_insecure (self->control, self->config->insecure);
    kf_control_set_refresh (self->control, s_refresh_status, self);
    kf_control_set_on_clock (self->control, s_on_clock, self);
    self->writes = ordersync_writes_new ();
    self->acked = kf_batch_new (2, (kf_col_type_t[]){KF_COL_TEXT, KF_COL_TEXT});
    self->recall = kf_batch_new (2, (kf_col_type_t[]){KF_COL_TEXT, KF_COL_TEXT});
    self->sub = kf_subscriber_new ("ordersync", self->store, s_apply, self);
    kf_subscriber_set_outbox (self->sub, self->outbox);
    kf_subscriber_hooks_t hooks = {s_queue_writes, s_after_commit, s_after_rollback, self};
    kf_subscriber_set_hooks (self->sub, &hooks);
    kf_subscriber_set_prepare (self->sub, s_prepare);
    kf_subscriber_set_in_memory (self->sub, true); //  s_apply decides in memory
    self->intake = kf_wire_socket (KF_SOCK_DEALER_CLIENT, 1 << 20);
    zsock_set_immediate (self->intake, 0); //  commands wait until intake is reachable
    kf_control_t *c = self->control;
    self->commands =
        kf_commands_new ("ordersync", self->intake, c, s_store_command, s_on_acked, self);
    self->c_cancelled = kf_control_counter (c, "commands.cancelled");
    self->c_reloads = kf_control_counter (c, "model.reloads");
    self->c_txn_failed = kf_control_counter (c, "transactions.failed");
    self->c_unknown_flags = kf_control_counter (c, "flags.unknown_order");
    self->c_recalled = kf_control_counter (c, "orders.recalled");
    return self;
}

//  CURVE towards intake and for our events (unless insecure).
static int
s_secure (s_server_t *self, char *why, size_t why_size)
{
    if (self->config->insecure) {
        kf_log_warn ("ordersync.insecure", "reason=\"KEFU_INSECURE=1: plain sockets, anyone who "
                                           "reaches the events endpoint reads order events\"");
        return 0;
    }
    self->cert = kf_zap_key_pair (self->config->secret_key_file, why, why_size);
    if (!self->cert ||
        kf_zap_public_key (self->config->server_key, self->config->server_key_file,
                           self->server_key, why, why_size) ||
        kf_zap_public_key (self->config->routing_key, self->config->routing_key_file,
                           self->routing_key, why, why_size) ||
        !(self->zap = kf_zap_new (why, why_size)))
        return -1;
    kf_zap_curve_client (self->intake, self->cert, self->server_key);
    kf_outbox_secure (self->outbox, self->cert);
    return 0;
}

static int
s_start (s_server_t *self, char *why, size_t why_size)
{
    if (s_secure (self, why, why_size))
        return -1;
    if (zsock_connect (self->intake, "%s", self->config->intake_commands) == -1) {
        snprintf (why, why_size, "bad KEFU_ORDERSYNC_INTAKE_COMMANDS=%s",
                  self->config->intake_commands);
        return -1;
    }
    if (kf_outbox_bind (self->outbox, self->config->events_endpoint) == -1 ||
        kf_control_bind (self->control, self->config->control_endpoint) == -1) {
        snprintf (why, why_size, "cannot bind the events or control endpoint");
        return -1;
    }
    int rc = self->cert
                 ? kf_subscriber_follow_curve (self->sub, "intake", self->config->intake_events,
                                               self->cert, self->server_key)
                 : kf_subscriber_follow (self->sub, "intake", self->config->intake_events);
    if (rc) {
        snprintf (why, why_size, "bad KEFU_ORDERSYNC_INTAKE_EVENTS=%s",
                  self->config->intake_events);
        return -1;
    }
    //  Routing's agent.shift: who is on shift (COD confirmations).
    rc = self->cert
             ? kf_subscriber_follow_curve (self->sub, "routing", self->config->routing_events,
                                           self->cert, self->routing_key)
             : kf_subscriber_follow (self->sub, "routing", self->config->routing_events);
    if (rc) {
        snprintf (why, why_size, "bad KEFU_ORDERSYNC_ROUTING_EVENTS=%s",
                  self->config->routing_events);
        return -1;
    }
    //  The record first (a database that is down is retried by the timer).
    if (s_reload (self) == 0) {
        kf_subscriber_start (self->sub);
        s_refresh (self);
    }
    zloop_reader (self->loop, kf_subscriber_socket (self->sub), s_handle_events, self);
    zloop_reader (self->loop, self->intake, kf_commands_reader, self->commands);
    zloop_reader (self->loop, kf_control_socket (self->control), kf_control_on_readable,
                  self->control);
    zloop_timer (self->loop, S_TICK_MS, 0, s_handle_tick, self);
    kf_log_info ("ordersync.listening",
                 "intake_events=%s intake_commands=%s events=%d control=%d insecure=%d",
                 self->config->intake_events, self->config->intake_commands,
                 kf_wire_port (kf_outbox_socket (self->outbox)),
                 kf_wire_port (kf_control_socket (self->control)), self->config->insecure);
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
    return streq (name, "events")    ? kf_outbox_socket (self->outbox)
           : streq (name, "control") ? kf_control_socket (self->control)
                                     : NULL;
}

static void
s_op_reload (void *server)
{
    s_server_t *self = server;
    kf_config_reload (self->spec, self->config);
    s_refresh (self);
}

static void
s_op_drain (void *server)
{
    s_server_t *self = server;
    self->draining = true;
    zloop_reader_end (self->loop, kf_subscriber_socket (self->sub));
    kf_subscriber_settle (self->sub);
    kf_commands_resend (self->commands, 0);
    s_forget_acked (self);
}

//  SYNC (tests): apply everything in the events table now, run due
//  deadlines, hand in commands; then answer.
static const char *
s_op_other (void *server, const char *command)
{
    s_server_t *self = server;
    if (!streq (command, "SYNC"))
        return NULL;
    if (!self->loaded && s_reload (self))
        return "NOT LOADED";
    if (!kf_subscriber_started (self->sub))
        kf_subscriber_start (self->sub);
    kf_subscriber_poll (self->sub);
    kf_subscriber_settle (self->sub);
    while (s_run_deadlines (self) == S_DECISIONS_MAX)
        kf_commands_handle_acks (self->commands);
    kf_commands_handle_acks (self->commands);
    return "OK";
}

static const kf_actor_ops_t s_ops = {s_op_start, s_op_socket, s_op_reload, s_op_drain, s_op_other};

void
ordersync_server (zsock_t *pipe, void *args)
{
    s_server_t *self = s_server_new (pipe, (kf_service_args_t *) args);
    self->loop = zloop_new ();
    kf_actor_run (pipe, self->loop, &s_ops, self);
    zloop_destroy (&self->loop);
    s_server_destroy (&self);
}
