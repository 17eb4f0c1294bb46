/*  routing_server — kefu-routing as a czmq actor.

    Events from intake (and operators' changes on the "admin" stream)
    arrive through kf_subscriber; each batch is applied to the model inside
    one transaction, and everything the model decided in it (conversation
    rows, the assignment audit, presence, stickiness, routing's events) is
    written before the same commit. Assign commands and auto-replies follow
    from those rows, so they get no row of their own: after a restart the
    decisions in force are handed to intake again (s_on_open_conversation);
    only rarer commands (notices) are kept in routing_outbox. While that
    transaction is under way in PostgreSQL the next batch is already
    decided in memory (kf_subscriber_set_in_memory); s_queue_writes marks
    where one transaction's decisions end. After the commit the commands
    are handed to intake, and sent again until intake acknowledges them
    (intake de-duplicates on the request id). Deadlines (shift changes,
    overflow, response thresholds) run the same way from a timer, after the
    transaction under way has ended. If a transaction fails, the model is
    rebuilt from the record (the batch decided behind it is dropped too),
    so memory never holds a decision the record does not for long, and
    nothing is handed to intake before it is the record's. */
#include "routing_server.h"

#include "kefu/v1/events.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_actor.h"
#include "kf_commands.h"
#include "kf_control.h"
#include "kf_daemon.h"
#include "kf_log.h"
#include "kf_outbox.h"
#include "kf_shop.h"
#include "kf_store.h"
#include "kf_subscriber.h"
#include "kf_wire.h"
#include "routing_auth.h"
#include "routing_config.h"
#include "routing_model.h"
#include "routing_store.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_TICK_MS 20

typedef struct {
    zsock_t *pipe;                    //  actor pipe
    const kf_config_spec_t *spec;     //  configuration table (reload)
    routing_config_t *config;         //  settings (borrowed)
    const kf_common_config_t *common; //  shared settings (borrowed)
    kf_clock_t *clock;                //  time (borrowed)
    uint32_t partitions;              //  shop partitions routed here
    kf_store_t *store;                //  PostgreSQL
    kf_outbox_t *outbox;              //  routing's events
    kf_control_t *control;            //  status
    kf_subscriber_t *sub;             //  intake + admin events
    routing_auth_t *auth;             //  keys (CURVE towards intake, ZAP for routing's events)
    routing_model_t *model;           //  the decisions
    routing_writes_t *writes;         //  the current transaction's writes
    zsock_t *intake;                  //  DEALER to intake's command endpoint
    kf_commands_t *commands;          //  commands decided, handed in, not acked
    zhashx_t *closing;                //  conversation id -> assign_seq, closed in the current txn
    kf_batch_t *acked;                //  (shop, request) acknowledged by intake, to forget
    kf_batch_t *acked_sent;           //  ... those in the transaction under way
    zloop_t *loop;                    //  event loop
    bool loaded;                      //  model built from the record
    bool commands_restored;           //  the record's open decisions handed in again
    bool dirty;                       //  model changed in the current transaction
    bool dirty_sent;                  //  ... in the transaction under way
    bool draining;                    //  DRAIN received
    int64_t next_poll;                //  monotonic ms of the next table catch-up
    int64_t *c_decisions;             //  counters
    int64_t *c_queued;
    int64_t *c_breaches;
    int64_t *c_reloads;
    int64_t *c_transfers_refused;
    int64_t *c_txn_failed;
    int64_t *c_handed_back;
} s_server_t;

//  ---------------------------------------------------------------------
//  Sink: what the model decides becomes writes, events and commands

static int64_t
s_now (s_server_t *self)
{
    return kf_clock_now_ms (self->clock);
}

static void
s_event (s_server_t *self, const char *shop_id, const char *kind, Kefu__V1__Event *ev)
{
    ev->shop_id = (char *) shop_id;
    ev->kind = (char *) kind;
    ev->occurred_at_ms = s_now (self);
    kf_outbox_add (self->outbox, ev);
}

//  Where a command built from the model goes: decided in the current
//  transaction (with a routing_outbox row or without), or restored.
typedef enum { S_DECIDED, S_DECIDED_STORED, S_RESTORED } s_dest_t;

//  A command for intake as routing sends it (the frame is what intake
//  gets; request_id makes a resend idempotent there).
static void
s_command_put (s_server_t *self, s_dest_t dest, const char *shop_id, const routing_conv_t *conv,
               const char *request_id, Kefu__V1__Command *cmd)
{
    cmd->shop_id.data = (uint8_t *) shop_id;
    cmd->shop_id.len = strlen (shop_id);
    cmd->channel = routing_conv_channel (conv);
    const char *ccid = routing_conv_channel_customer (conv);
    cmd->customer_id.data = (uint8_t *) ccid;
    cmd->customer_id.len = strlen (ccid);
    cmd->origin = "routing";
    Kefu__V1__CommandSubmit submit = KEFU__V1__COMMAND_SUBMIT__INIT;
    submit.request_id.data = (uint8_t *) request_id;
    submit.request_id.len = strlen (request_id);
    submit.command = cmd;
    size_t size = kefu__v1__command_submit__get_packed_size (&submit);
    uint8_t *frame = malloc (size);
    kefu__v1__command_submit__pack (&submit, frame);
    if (dest == S_RESTORED)
        kf_commands_restore (self->commands, shop_id, request_id, frame, size, false,
                             routing_conv_id (conv));
    else {
        kf_error_t err;
        kf_error_clear (&err);
        kf_commands_decide (self->commands, shop_id, request_id, frame, size,
                            dest == S_DECIDED_STORED, routing_conv_id (conv), &err);
    }
    free (frame);
}

//  Give a command a routing_outbox row in the current transaction
//  (kf_commands' store callback).
static int
s_store_command (void *arg, const kf_command_t *c, kf_error_t *err)
{
    (void) err;
    s_server_t *self = arg;
    routing_writes_command (self->writes, c->shop_id, c->request_id, zchunk_data (c->frame),
                            zchunk_size (c->frame), s_now (self));
    return 0;
}

//  A command decided in the current transaction that only routing_outbox
//  keeps (a notice): stored with the decision, handed in after the commit.
//  Assign commands and auto-replies need no row of their own: they follow
//  from the conversation's row and its latest assignment, which the same
//  commit stores, and a restart builds them again from there
//  (s_on_open_conversation).
static void
s_stored_command (s_server_t *self, const char *shop_id, const routing_conv_t *conv,
                  const char *request_id, Kefu__V1__Command *cmd)
{
    s_command_put (self, S_DECIDED_STORED, shop_id, conv, request_id, cmd);
}

//  Request ids, stable across restarts: intake de-duplicates on them.
static void
s_assign_request_id (char *buf, size_t size, int64_t conv_id, int seq)
{
    snprintf (buf, size, "assign:%" PRId64 ":%d", conv_id, seq);
}

static void
s_reply_request_id (char *buf, size_t size, int64_t conv_id, int kind)
{
    snprintf (buf, size, "reply:%" PRId64 ":%d", conv_id, kind);
}

//  Quick replies for the agent (routing_model_suggest) as Suggestion
//  messages: msgs and ptrs point into buf; returns how many.
static size_t
s_suggestions (s_server_t *self, const char *shop_id, const routing_conv_t *conv,
               const char *agent_id, bool greeting, routing_suggestion_t *buf,
               Kefu__V1__Suggestion *msgs, Kefu__V1__Suggestion **ptrs)
{
    int n = routing_model_suggest (self->model, shop_id, conv, agent_id, greeting,
                                   (int) self->config->suggestions, buf);
    for (int i = 0; i < n; i++) {
        kefu__v1__suggestion__init (&msgs[i]);
        msgs[i].phrase_id = buf[i].phrase_id;
        msgs[i].intent = buf[i].intent;
        msgs[i].text.data = (uint8_t *) buf[i].text;
        msgs[i].text.len = strlen (buf[i].text);
        ptrs[i] = &msgs[i];
    }
    return (size_t) n;
}

//  The conversation's intent changed under its owner: the new intent's
//  quick replies, kept in routing_outbox until intake has them (nothing in
//  the conversation's row says they are due). The message that changed it
//  makes the request id.
static void
s_suggest_command (s_server_t *self, const char *shop_id, int64_t conversation_id,
                   int64_t message_id)
{
    const routing_conv_t *conv = routing_model_conversation (self->model, shop_id, conversation_id);
    if (!conv || self->config->suggestions == 0)
        return;
    const char *agent_id = routing_conv_agent (conv);
    routing_suggestion_t buf[ROUTING_SUGGESTIONS_MAX];
    Kefu__V1__Suggestion msgs[ROUTING_SUGGESTIONS_MAX], *ptrs[ROUTING_SUGGESTIONS_MAX];
    Kefu__V1__SuggestCommand suggest = KEFU__V1__SUGGEST_COMMAND__INIT;
    suggest.n_suggestions = s_suggestions (self, shop_id, conv, agent_id, false, buf, msgs, ptrs);
    if (suggest.n_suggestions == 0)
        return; //  the library has nothing for this intent
    suggest.suggestions = ptrs;
    suggest.conversation_id = conversation_id;
    suggest.agent_id.data = (uint8_t *) agent_id;
    suggest.agent_id.len = strlen (agent_id);
    suggest.intent = routing_conv_intent (conv);
    Kefu__V1__Command cmd = KEFU__V1__COMMAND__INIT;
    cmd.kind_case = KEFU__V1__COMMAND__KIND_SUGGEST;
    cmd.suggest = &suggest;
    char request_id[96];
    snprintf (request_id, sizeof request_id, "suggest:%" PRId64 ":%" PRId64, conversation_id,
              message_id);
    self->dirty = true;
    s_stored_command (self, shop_id, conv, request_id, &cmd);
}

//  An agent's reply that is one of the shop's quick replies, filled in:
//  phrase.used on routing's stream, for metrics to count per agent and
//  phrase.
static void
s_count_phrase (s_server_t *self, const char *shop_id, const Kefu__V1__MessageAccepted *m)
{
    int key = 0;
    int64_t id = routing_model_phrase_used (self->model, shop_id, m->conversation_id, m->agent_id,
                                            m->body, &key);
    if (!id)
        return;
    self->dirty = true;
    Kefu__V1__PhraseUsed used = KEFU__V1__PHRASE_USED__INIT;
    used.conversation_id = m->conversation_id;
    used.agent_id = m->agent_id;
    used.phrase_id = id;
    used.intent = key;
    used.message_id = m->message_id;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_PHRASE_USED;
    ev.phrase_used = &used;
    s_event (self, shop_id, "phrase.used", &ev);
}

//  The assign command of a conversation's assignment number seq.
static void
s_assign_command (s_server_t *self, s_dest_t dest, const char *shop_id, const routing_conv_t *conv,
                  int seq, const char *agent_id, const char *previous_agent_id, int reason,
                  const char *note)
{
    Kefu__V1__AssignCommand assign = KEFU__V1__ASSIGN_COMMAND__INIT;
    assign.conversation_id = routing_conv_id (conv);
    assign.agent_id.data = (uint8_t *) agent_id;
    assign.agent_id.len = strlen (agent_id);
    assign.previous_agent_id.data = (uint8_t *) previous_agent_id;
    assign.previous_agent_id.len = strlen (previous_agent_id);
    assign.reason = reason;
    assign.note.data = (uint8_t *) note;
    assign.note.len = strlen (note);
    routing_suggestion_t buf[ROUTING_SUGGESTIONS_MAX];
    Kefu__V1__Suggestion msgs[ROUTING_SUGGESTIONS_MAX], *ptrs[ROUTING_SUGGESTIONS_MAX];
    if (*agent_id)
        assign.n_suggestions = s_suggestions (self, shop_id, conv, agent_id, true, buf, msgs, ptrs);
    assign.suggestions = ptrs;
    Kefu__V1__Command cmd = KEFU__V1__COMMAND__INIT;
    cmd.kind_case = KEFU__V1__COMMAND__KIND_ASSIGN;
    cmd.assign = &assign;
    char request_id[96];
    s_assign_request_id (request_id, sizeof request_id, routing_conv_id (conv), seq);
    s_command_put (self, dest, shop_id, conv, request_id, &cmd);
}

//  A conversation's auto-reply of one kind (at most one of each).
static void
s_reply_command (s_server_t *self, s_dest_t dest, const char *shop_id, const routing_conv_t *conv,
                 int kind, const char *text)
{
    Kefu__V1__AutoReplyCommand reply = KEFU__V1__AUTO_REPLY_COMMAND__INIT;
    reply.conversation_id = routing_conv_id (conv);
    reply.kind = kind;
    reply.text.data = (uint8_t *) text;
    reply.text.len = strlen (text);
    Kefu__V1__Command cmd = KEFU__V1__COMMAND__INIT;
    cmd.kind_case = KEFU__V1__COMMAND__KIND_AUTO_REPLY;
    cmd.auto_reply = &reply;
    char request_id[96];
    s_reply_request_id (request_id, sizeof request_id, routing_conv_id (conv), kind);
    s_command_put (self, dest, shop_id, conv, request_id, &cmd);
}

static int
s_priority_of_class (int cls)
{
    return cls == ROUTING_CLASS_URGENT       ? KEFU__V1__PRIORITY__PRIORITY_URGENT
           : cls == ROUTING_CLASS_AFTERSALES ? KEFU__V1__PRIORITY__PRIORITY_HIGH
                                             : KEFU__V1__PRIORITY__PRIORITY_NORMAL;
}

//  A change of owner: the audit row and the assign command. An assignment
//  to nobody (a handover that found nobody free) has no
//  conversation.assigned event: its conversation.queued follows, with the
//  agent who left it and the note.
static void
s_on_assigned (void *arg, const routing_assignment_t *a)
{
    s_server_t *self = arg;
    self->dirty = true;
    routing_writes_assignment (self->writes, a, s_now (self));
    s_assign_command (self, S_DECIDED, a->shop_id, a->conv, a->seq, a->agent_id,
                      a->previous_agent_id, a->reason, a->note);
    if (!*a->agent_id) {
        (*self->c_handed_back)++;
        return;
    }
    (*self->c_decisions)++;
    Kefu__V1__ConversationAssigned assigned = KEFU__V1__CONVERSATION_ASSIGNED__INIT;
    assigned.conversation_id = routing_conv_id (a->conv);
    assigned.agent_id = (char *) a->agent_id;
    assigned.previous_agent_id = (char *) a->previous_agent_id;
    assigned.group = (char *) a->group;
    assigned.reason = a->reason;
    assigned.note = (char *) a->note;
    assigned.waited_ms = a->waited_ms;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_ASSIGNED;
    ev.conversation_assigned = &assigned;
    s_event (self, a->shop_id, "conversation.assigned", &ev);
}

static void
s_on_queued (void *arg, const char *shop_id, const routing_conv_t *conv, bool after_hours,
             int position)
{
    s_server_t *self = arg;
    self->dirty = true;
    (*self->c_queued)++;
    Kefu__V1__ConversationQueued queued = KEFU__V1__CONVERSATION_QUEUED__INIT;
    queued.conversation_id = routing_conv_id (conv);
    queued.group = (char *) routing_conv_group (conv);
    queued.priority = s_priority_of_class (routing_conv_class (conv));
    queued.vip = routing_conv_vip (conv);
    queued.after_hours = after_hours;
    queued.position = position;
    queued.previous_agent_id = (char *) routing_conv_handed_from (conv);
    queued.handover_note = (char *) routing_conv_handover_note (conv);
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_QUEUED;
    ev.conversation_queued = &queued;
    s_event (self, shop_id, "conversation.queued", &ev);
}

static void
s_on_auto_reply (void *arg, const char *shop_id, const routing_conv_t *conv, int kind,
                 const char *text)
{
    s_server_t *self = arg;
    self->dirty = true;
    s_reply_command (self, S_DECIDED, shop_id, conv, kind, text);
}

static void
s_on_breach (void *arg, const char *shop_id, const routing_conv_t *conv, const char *agent_id,
             int64_t waited_ms, int64_t threshold_ms, bool reassigned)
{
    s_server_t *self = arg;
    self->dirty = true;
    (*self->c_breaches)++;
    Kefu__V1__SlaBreached breached = KEFU__V1__SLA_BREACHED__INIT;
    breached.conversation_id = routing_conv_id (conv);
    breached.agent_id = (char *) agent_id;
    breached.waited_ms = waited_ms;
    breached.threshold_ms = threshold_ms;
    breached.reassigned = reassigned;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_SLA_BREACHED;
    ev.sla_breached = &breached;
    s_event (self, shop_id, "conversation.sla_breached", &ev);
}

static void
s_on_transferred (void *arg, const char *shop_id, const routing_conv_t *conv, const char *from,
                  const char *to, const char *by, const char *reason)
{
    s_server_t *self = arg;
    self->dirty = true;
    Kefu__V1__ConversationTransferred t = KEFU__V1__CONVERSATION_TRANSFERRED__INIT;
    t.conversation_id = routing_conv_id (conv);
    t.from_agent_id = (char *) from;
    t.to_agent_id = (char *) to;
    t.by = (char *) by;
    t.reason = (char *) reason;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_TRANSFERRED;
    ev.conversation_transferred = &t;
    s_event (self, shop_id, "conversation.transferred", &ev);
}

static void
s_on_shift_changed (void *arg, const char *shop_id, const char *agent_id, bool on_shift, int64_t at)
{
    s_server_t *self = arg;
    self->dirty = true;
    Kefu__V1__AgentShiftChanged shift = KEFU__V1__AGENT_SHIFT_CHANGED__INIT;
    shift.agent_id = (char *) agent_id;
    shift.on_shift = on_shift;
    shift.at_ms = at;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_AGENT_SHIFT;
    ev.agent_shift = &shift;
    s_event (self, shop_id, "agent.shift", &ev);
}

static void
s_on_conv_changed (void *arg, const char *shop_id, const routing_conv_t *conv)
{
    s_server_t *self = arg;
    self->dirty = true;
    routing_writes_conv (self->writes, shop_id, conv);
    if (routing_conv_state (conv) == ROUTING_CLOSED) {
        char key[32];
        snprintf (key, sizeof key, "%" PRId64, routing_conv_id (conv));
        zhashx_update (self->closing, key,
                       (void *) (intptr_t) (routing_conv_assign_seq (conv) + 1));
    }
}

static void
s_on_presence_changed (void *arg, const char *shop_id, const char *agent_id, int status, int64_t at)
{
    s_server_t *self = arg;
    self->dirty = true;
    routing_writes_presence (self->writes, shop_id, agent_id, status, at);
}

static void
s_on_served (void *arg, const char *shop_id, int64_t customer_id, const char *agent_id, int64_t at)
{
    s_server_t *self = arg;
    self->dirty = true;
    routing_writes_served (self->writes, shop_id, customer_id, agent_id, at);
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

//  After a restart: the assign command of every open conversation's
//  current owner — for one queued by a handover that found nobody free, the
//  assignment to nobody — and the auto-replies of those still queued, as
//  the record's rows hold them. Those intake has already had it
//  acknowledges as DUPLICATE (request ids are stable), the others it
//  carries out: a decision committed just before a crash reaches the
//  gateway all the same, and never an older one (a conversation handed
//  back to the queue is not given to the agent who left it again).
static void
s_on_open_conversation (void *arg, const routing_open_row_t *row)
{
    s_server_t *self = arg;
    const routing_conv_t *conv =
        routing_model_conversation (self->model, row->shop_id, row->conversation_id);
    if (!conv)
        return;
    int state = routing_conv_state (conv);
    bool owner_in_force = state == ROUTING_ASSIGNED && *row->agent_id;
    bool nobody_in_force = state == ROUTING_QUEUED && !*row->agent_id && row->assign_seq > 0;
    if (state == row->state && routing_conv_assign_seq (conv) == row->assign_seq &&
        (owner_in_force || nobody_in_force))
        s_assign_command (self, S_RESTORED, row->shop_id, conv, row->assign_seq,
                          routing_conv_agent (conv), row->previous_agent_id, row->reason,
                          row->note);
    if (state != ROUTING_QUEUED)
        return;
    int kinds[2] = {row->busy_replied ? KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_BUSY : 0,
                    row->after_hours_replied ? KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_AFTER_HOURS
                                             : 0};
    for (int i = 0; i < 2; i++) {
        const char *text =
            kinds[i] ? routing_model_reply_text (self->model, row->shop_id, kinds[i]) : NULL;
        if (text)
            s_reply_command (self, S_RESTORED, row->shop_id, conv, kinds[i], text);
    }
}

//  Intake acknowledged c (kf_commands' ack callback): a command with a
//  routing_outbox row is forgotten there too.
static int
s_on_acked (void *arg, const kf_command_t *c, bool refused)
{
    (void) refused; //  permanent: kept in the record, not sent again
    s_server_t *self = arg;
    if (c->stored) {
        kf_batch_str (self->acked, 0, c->shop_id);
        kf_batch_str (self->acked, 1, c->request_id);
    }
    return 0;
}

//  Forget acknowledged commands in the record (so a restart does not resend
//  them; resending would be harmless, intake de-duplicates). Normally this
//  rides along with the next transaction of events (s_queue_writes); when
//  none comes, the tick does it on its own.
static void
s_forget_acked (s_server_t *self)
{
    if (kf_batch_rows (self->acked) == 0 || !kf_store_connected (self->store) ||
        kf_store_in_txn (self->store))
        return;
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_pipeline_begin (self->store, &err) == 0) {
        routing_store_queue_forget (self->store, self->acked);
        if (kf_store_pipeline_run (self->store, &err) == 0)
            kf_batch_reset (self->acked);
    }
}

//  ---------------------------------------------------------------------
//  Transactions around model changes

static int s_reload (s_server_t *self);

//  A transaction of events committed (the subscriber's; by then the next
//  batch may already be applied in memory, its commands decided).
static void
s_batch_committed (void *arg)
{
    s_server_t *self = arg;
    self->dirty_sent = false;
    kf_batch_reset (self->acked_sent);
    kf_commands_commit_sealed (self->commands);
}

static void
s_after_rollback (void *arg)
{
    s_server_t *self = arg;
    (*self->c_txn_failed)++;
    routing_writes_clear (self->writes);
    zhashx_purge (self->closing);
    kf_commands_rollback (self->commands);
    //  The forgets of the failed transaction go with the next one (unless
    //  more came meanwhile: then they wait for a restart, which resends
    //  those commands and intake answers DUPLICATE).
    if (kf_batch_rows (self->acked) == 0) {
        kf_batch_t *t = self->acked;
        self->acked = self->acked_sent;
        self->acked_sent = t;
    }
    kf_batch_reset (self->acked_sent);
    if (self->dirty || self->dirty_sent) {
        //  Memory may hold decisions the record does not: rebuild.
        self->dirty = self->dirty_sent = false;
        self->loaded = false;
        //  And the record may hold decisions memory dropped (a COMMIT that
        //  succeeded though its answer was lost with the connection): their
        //  commands are handed in again from the record.
        self->commands_restored = false;
    }
}

//  A restart rebuilds the commands of open conversations from the record;
//  those of a conversation that closes before intake acknowledged them
//  (decided in this transaction, or handed in earlier) get a routing_outbox
//  row in the closing transaction instead, so none is lost.
static void
s_keep_commands_of_closed (s_server_t *self)
{
    if (zhashx_size (self->closing) == 0)
        return;
    kf_error_t err;
    kf_error_clear (&err);
    zlistx_t *decided = kf_commands_decided (self->commands);
    kf_command_t *c;
    for (c = zlistx_first (decided); c; c = zlistx_next (decided)) {
        char key[32];
        snprintf (key, sizeof key, "%" PRId64, c->tag);
        if (!c->stored && zhashx_lookup (self->closing, key))
            kf_commands_store (self->commands, c, &err);
    }
    for (void *v = zhashx_first (self->closing); v; v = zhashx_next (self->closing)) {
        int64_t id = strtoll ((const char *) zhashx_cursor (self->closing), NULL, 10);
        int seqs = (int) (intptr_t) v - 1;
        //  Its assignments 1..seq, then its two auto-replies.
        for (int n = 1; n <= seqs + 2; n++) {
            char request_id[96];
            if (n <= seqs)
                s_assign_request_id (request_id, sizeof request_id, id, n);
            else
                s_reply_request_id (request_id, sizeof request_id, id,
                                    n == seqs + 1
                                        ? KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_BUSY
                                        : KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_AFTER_HOURS);
            //  Even if stored before: that row may belong to a transaction
            //  that failed (the statement skips a row it already has).
            c = kf_commands_lookup (self->commands, NULL, request_id);
            if (c)
                kf_commands_store (self->commands, c, &err);
        }
    }
    zhashx_purge (self->closing);
}

//  The subscriber sends a transaction: what was decided until now goes in
//  it; what is decided from now on belongs to the next one.
static int
s_queue_writes (kf_store_t *store, void *arg, kf_error_t *err)
{
    (void) err;
    s_server_t *self = arg;
    s_keep_commands_of_closed (self);
    routing_writes_queue (self->writes, store);
    if (kf_batch_rows (self->acked) > 0)
        routing_store_queue_forget (store, self->acked);
    kf_batch_t *t = self->acked_sent;
    self->acked_sent = self->acked;
    self->acked = t;
    kf_commands_seal (self->commands);
    self->dirty_sent = self->dirty;
    self->dirty = false;
    return 0;
}

typedef void (s_txn_fn) (s_server_t *self, void *arg);
static void s_load_all (s_server_t *self, void *arg);

//  Run fn in a transaction of its own (timer work, reloads).
static int
s_in_txn (s_server_t *self, s_txn_fn *fn, void *arg)
{
    kf_error_t err;
    kf_error_clear (&err);
    //  The subscriber's transaction under way ends first; if it failed, the
    //  model is no longer the record's: only a reload may run.
    kf_subscriber_settle (self->sub);
    if (!self->loaded && fn != s_load_all)
        return -1;
    if (kf_store_ensure (self->store) || kf_store_begin (self->store, &err))
        return -1;
    fn (self, arg);
    s_keep_commands_of_closed (self);
    if (routing_writes_flush (self->writes, self->store, &err) ||
        kf_outbox_flush (self->outbox, &err)) {
        kf_store_rollback (self->store);
        goto failed;
    }
    if (kf_store_commit (self->store, &err))
        goto failed;
    kf_outbox_publish (self->outbox);
    self->dirty = false;
    kf_commands_commit (self->commands);
    return 0;
failed:
    kf_outbox_discard (self->outbox);
    kf_log_warn ("routing.txn_failed", "reason=\"%s\"", err.reason);
    s_after_rollback (self);
    return -1;
}

//  ---------------------------------------------------------------------
//  Loading the model from the record

static bool
s_owns (s_server_t *self, const char *shop_id)
{
    return self->partitions & (1u << kf_shop_partition (shop_id, strlen (shop_id)));
}

//  schedule.changed: the shifts and who works them, as loaded now (in the
//  transaction that loads them). Followers (metrics' attendance) keep
//  versions from it; one equal to the last is theirs to ignore.
static void
s_publish_schedule (s_server_t *self, const routing_shop_config_t *cfg)
{
    Kefu__V1__ScheduleShift shifts[ROUTING_SHIFTS_MAX], *shift_ps[ROUTING_SHIFTS_MAX];
    for (int i = 0; i < cfg->shift_count; i++) {
        kefu__v1__schedule_shift__init (&shifts[i]);
        shifts[i].name = (char *) cfg->shifts[i].name;
        shifts[i].start_minute = cfg->shifts[i].start_minute;
        shifts[i].end_minute = cfg->shifts[i].end_minute;
        shift_ps[i] = &shifts[i];
    }
    int count = 0;
    for (int a = 0; a < cfg->agent_count; a++)
        if (cfg->agents[a].active)
            count += cfg->agents[a].schedule_count;
    Kefu__V1__ScheduleRow *rows = calloc ((size_t) count + 1, sizeof *rows);
    Kefu__V1__ScheduleRow **row_ps = calloc ((size_t) count + 1, sizeof *row_ps);
    assert (rows && row_ps);
    int n = 0;
    for (int a = 0; a < cfg->agent_count; a++) {
        const routing_agent_config_t *agent = &cfg->agents[a];
        for (int k = 0; agent->active && k < agent->schedule_count; k++) {
            const routing_schedule_t *sch = &agent->schedule[k];
            if (sch->shift < 0 || sch->shift >= cfg->shift_count)
                continue;
            kefu__v1__schedule_row__init (&rows[n]);
            rows[n].agent_id = (char *) agent->agent_id;
            rows[n].shift = (char *) cfg->shifts[sch->shift].name;
            rows[n].days = sch->days;
            rows[n].rotation_weeks = sch->rotation_weeks;
            rows[n].rotation_offset = sch->rotation_offset;
            row_ps[n] = &rows[n];
            n++;
        }
    }
    Kefu__V1__ScheduleChanged sc = KEFU__V1__SCHEDULE_CHANGED__INIT;
    sc.timezone = (char *) cfg->timezone;
    sc.n_shifts = (size_t) cfg->shift_count;
    sc.shifts = shift_ps;
    sc.n_rows = (size_t) n;
    sc.rows = row_ps;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_SCHEDULE_CHANGED;
    ev.schedule_changed = &sc;
    s_event (self, cfg->shop_id, "schedule.changed", &ev);
    free (rows);
    free (row_ps);
}

static void
s_configure_shop (s_server_t *self, const char *shop_id, const char *timezone)
{
    kf_error_t err;
    kf_error_clear (&err);
    routing_shop_config_t *cfg = NULL;
    if (routing_store_load_config (self->store, shop_id, timezone, &cfg, &err)) {
        kf_log_warn ("routing.config_failed", "shop=%s reason=\"%s\"", shop_id, err.reason);
        return;
    }
    s_publish_schedule (self, cfg);
    if (routing_model_configure (self->model, &cfg))
        kf_log_error ("routing.bad_timezone", "shop=%s timezone=%s", shop_id, timezone);
}

static void
s_on_shop_row (void *arg, const char *shop_id, const char *timezone)
{
    s_server_t *self = arg;
    if (s_owns (self, shop_id) && !routing_model_has_shop (self->model, shop_id))
        s_configure_shop (self, shop_id, timezone);
}

static void
s_load_all (s_server_t *self, void *arg)
{
    (void) arg;
    kf_error_t err;
    kf_error_clear (&err);
    routing_model_reset (self->model);
    routing_writes_clear (self->writes);
    zhashx_purge (self->closing);
    kf_commands_discard (self->commands);
    if (routing_store_load_shops (self->store, s_on_shop_row, self, &err) ||
        routing_store_load_state (self->store, self->model, s_now (self), &err)) {
        kf_log_warn ("routing.load_failed", "reason=\"%s\"", err.reason);
        return;
    }
    routing_model_settle (self->model);
    self->loaded = true;
}

//  After a start or a failed transaction: the commands of the decisions in
//  force go out again, from the record (memory knows the others). Retried
//  by the tick until the record could be read.
static void
s_restore_commands (s_server_t *self)
{
    //  A transaction under way ends first (if it fails, memory is rebuilt
    //  before this can run).
    kf_subscriber_settle (self->sub);
    if (self->commands_restored || !self->loaded)
        return;
    kf_error_t err;
    kf_error_clear (&err);
    if (routing_store_load_unsubmitted (self->store, s_on_unsubmitted, self, &err) == 0 &&
        routing_store_load_open (self->store, s_on_open_conversation, self, &err) == 0)
        self->commands_restored = true;
    else
        kf_log_warn ("routing.restore_commands_failed", "reason=\"%s\"", err.reason);
}

static int
s_reload (s_server_t *self)
{
    (*self->c_reloads)++;
    self->loaded = false;
    if (s_in_txn (self, s_load_all, NULL) || !self->loaded)
        return -1;
    s_restore_commands (self);
    routing_stats_t st;
    routing_model_stats (self->model, &st);
    kf_log_info ("routing.loaded", "shops=%d open=%d queued=%d assigned=%d", st.shops, st.open,
                 st.queued, st.assigned);
    return 0;
}

typedef struct {
    s_server_t *self;    //  server
    const char *shop_id; //  the shop to reconfigure
} s_target_t;

static void
s_on_target_row (void *arg, const char *shop_id, const char *timezone)
{
    s_target_t *t = arg;
    if (strcmp (shop_id, t->shop_id) == 0)
        s_configure_shop (t->self, shop_id, timezone);
}

//  An operator changed a shop's routing: read its configuration again. The
//  model keeps presence, owners and queues and acts on the new settings.
static void
s_reconfigure (s_server_t *self, const char *shop_id)
{
    kf_error_t err;
    kf_error_clear (&err);
    s_target_t t = {self, shop_id};
    routing_store_load_shops (self->store, s_on_target_row, &t, &err);
    kf_log_info ("routing.reconfigured", "shop=%s", shop_id);
}

//  New shops appear while running: load any the model does not know yet.
static void
s_ensure_shop (s_server_t *self, const char *shop_id)
{
    if (!routing_model_has_shop (self->model, shop_id)) {
        kf_error_t err;
        kf_error_clear (&err);
        routing_store_load_shops (self->store, s_on_shop_row, self, &err);
    }
}

//  ---------------------------------------------------------------------
//  Events

static void s_refuse_transfer (s_server_t *self, const Kefu__V1__Event *request, const char *why);

static int
s_apply (kf_store_t *store, const Kefu__V1__Event *ev, void *arg, kf_error_t *err)
{
    (void) store;
    s_server_t *self = arg;
    //  A transaction failed under this batch (kf_subscriber_set_in_memory):
    //  the model waits for its reload; these events are read again then.
    if (!self->loaded)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_STORE_UNAVAILABLE,
                             "routing's model is being rebuilt");
    const char *shop = ev->shop_id;
    if (!s_owns (self, shop))
        return 0;
    s_ensure_shop (self, shop);
    switch (ev->payload_case) {
    case KEFU__V1__EVENT__PAYLOAD_CONVERSATION_OPENED: {
        const Kefu__V1__ConversationOpened *o = ev->conversation_opened;
        routing_model_on_opened (self->model, shop, o->conversation_id, o->customer_id, o->channel,
                                 o->channel_customer_id, o->intent, o->priority, o->vip,
                                 o->opened_at_ms);
        break;
    }
    case KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED: {
        const Kefu__V1__MessageAccepted *m = ev->message_accepted;
        if (m->auto_reply)
            break; //  the platform's auto-responder is not an agent's answer
        routing_model_note_order (self->model, shop, m->conversation_id, m->order_id);
        if (routing_model_on_message (self->model, shop, m->conversation_id,
                                      m->sender == KEFU__V1__SENDER_ROLE__SENDER_ROLE_CUSTOMER,
                                      m->agent_id, m->intent, m->priority, m->received_at_ms))
            s_suggest_command (self, shop, m->conversation_id, m->message_id);
        if (m->sender == KEFU__V1__SENDER_ROLE__SENDER_ROLE_AGENT)
            s_count_phrase (self, shop, m);
        break;
    }
    case KEFU__V1__EVENT__PAYLOAD_CONVERSATION_CLOSED:
        routing_model_on_closed (self->model, shop, ev->conversation_closed->conversation_id,
                                 ev->conversation_closed->closed_at_ms);
        break;
    case KEFU__V1__EVENT__PAYLOAD_AGENT_PRESENCE: {
        const Kefu__V1__AgentPresenceChanged *p = ev->agent_presence;
        routing_model_on_presence (self->model, shop, p->agent_id, p->status, p->handover_note,
                                   p->at_ms);
        break;
    }
    case KEFU__V1__EVENT__PAYLOAD_CONFIG_CHANGED:
        s_reconfigure (self, shop);
        break;
    case KEFU__V1__EVENT__PAYLOAD_TRANSFER_REQUESTED: {
        const Kefu__V1__TransferRequested *t = ev->transfer_requested;
        kf_error_t terr;
        kf_error_clear (&terr);
        if (routing_model_transfer (self->model, shop, t->conversation_id, t->to_agent_id, t->by,
                                    t->reason, &terr))
            s_refuse_transfer (self, ev, terr.reason);
        break;
    }
    default:
        break;
    }
    return 0;
}

//  A transfer that cannot be carried out: recorded as transfer.refused and,
//  when the conversation is known, the requester is told on its channel.
static void
s_refuse_transfer (s_server_t *self, const Kefu__V1__Event *request, const char *why)
{
    const Kefu__V1__TransferRequested *t = request->transfer_requested;
    const char *shop = request->shop_id;
    (*self->c_transfers_refused)++;
    kf_log_warn ("routing.transfer_refused", "shop=%s conversation=%" PRId64 " to=%s reason=\"%s\"",
                 shop, t->conversation_id, t->to_agent_id, why);
    self->dirty = true;
    Kefu__V1__TransferRefused refused = KEFU__V1__TRANSFER_REFUSED__INIT;
    refused.conversation_id = t->conversation_id;
    refused.to_agent_id = t->to_agent_id;
    refused.by = t->by;
    refused.reason = t->reason;
    refused.refusal = (char *) why;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_TRANSFER_REFUSED;
    ev.transfer_refused = &refused;
    s_event (self, shop, "transfer.refused", &ev);

    const routing_conv_t *conv = routing_model_conversation (self->model, shop, t->conversation_id);
    if (!conv)
        return;
    char text[512];
    snprintf (text, sizeof text, "转接未完成 (transfer not done) -> %s: %s", t->to_agent_id, why);
    Kefu__V1__NoticeCommand notice = KEFU__V1__NOTICE_COMMAND__INIT;
    notice.audience.data = (uint8_t *) t->by;
    notice.audience.len = strlen (t->by);
    notice.severity = KEFU__V1__NOTICE_SEVERITY__NOTICE_WARNING;
    notice.text.data = (uint8_t *) text;
    notice.text.len = strlen (text);
    Kefu__V1__Command cmd = KEFU__V1__COMMAND__INIT;
    cmd.kind_case = KEFU__V1__COMMAND__KIND_NOTICE;
    cmd.notice = &notice;
    //  The request's own position makes the id unique and stable on replay.
    char request_id[128];
    snprintf (request_id, sizeof request_id, "transfer-refused:%s:%u:%" PRId64, request->stream,
              request->partition, request->seq);
    s_stored_command (self, shop, conv, request_id, &cmd);
}

//  ---------------------------------------------------------------------
//  Loop

static void
s_tick_model (s_server_t *self, void *arg)
{
    (void) arg;
    routing_model_tick (self->model);
}

//  Deadlines that are due, in a transaction of their own.
static void
s_run_deadlines (s_server_t *self)
{
    if (self->loaded && routing_model_next_deadline (self->model) <= s_now (self))
        s_in_txn (self, s_tick_model, NULL);
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
    routing_auth_refresh (self->auth, self->store, false);
    routing_auth_reconnect (self->auth);
    s_restore_commands (self);
    int64_t mono = zclock_mono ();
    if (mono >= self->next_poll) {
        //  Catch up from the events table: what the PUB fast path missed,
        //  and the "admin" stream, which has no PUB.
        kf_subscriber_poll (self->sub);
        self->next_poll = mono + self->config->poll_interval;
    }
    s_run_deadlines (self);
    //  Commands intake has not acknowledged are sent again — after taking
    //  the acknowledgements already waiting on the socket: when routing is
    //  busy they queue up there, and resending those commands would only
    //  add load where there is too much already.
    kf_commands_handle_acks (self->commands);
    kf_commands_resend (self->commands, self->config->command_timeout);
    s_forget_acked (self);
    return 0;
}

static int
s_handle_monitor (zloop_t *loop, zsock_t *reader, void *arg)
{
    (void) loop;
    (void) reader;
    routing_auth_handle_monitor (((s_server_t *) arg)->auth);
    return 0;
}

static void
s_refresh_status (kf_control_t *control, void *arg)
{
    s_server_t *self = arg;
    kf_control_set_store_connected (control, kf_store_connected (self->store));
    kf_control_set_draining (control, self->draining);
    routing_stats_t st;
    routing_model_stats (self->model, &st);
    *kf_control_counter (control, "conversations.open") = st.open;
    *kf_control_counter (control, "conversations.queued") = st.queued;
    *kf_control_counter (control, "conversations.assigned") = st.assigned;
    *kf_control_counter (control, "shops") = st.shops;
    *kf_control_counter (control, "customers.remembered") = st.customers_remembered;
    *kf_control_counter (control, "customers.forgotten") = st.customers_forgotten;
    *kf_control_counter (control, "commands.unacked") =
        (int64_t) kf_commands_unacked (self->commands);
    kf_subscriber_stats_t ss;
    kf_subscriber_stats (self->sub, &ss);
    *kf_control_counter (control, "events.applied") = ss.applied;
    *kf_control_counter (control, "events.gaps") = ss.gaps;
    *kf_control_counter (control, "events.from_table") = ss.from_table;
    *kf_control_counter (control, "events.from_pub") = ss.from_pub;
    *kf_control_counter (control, "auth.handshake_failures") =
        routing_auth_handshake_failures (self->auth);
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
        routing_model_destroy (&self->model);
        routing_writes_destroy (&self->writes);
        kf_commands_destroy (&self->commands);
        zhashx_destroy (&self->closing);
        kf_batch_destroy (&self->acked);
        kf_batch_destroy (&self->acked_sent);
        zsock_destroy (&self->intake);
        kf_outbox_destroy (&self->outbox);
        kf_control_destroy (&self->control);
        routing_auth_destroy (&self->auth);
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
    int64_t mask = routing_config_partitions (self->config->partitions);
    self->partitions = mask > 0 ? (uint32_t) mask : (1u << KF_PARTITIONS) - 1;
    self->store = kf_store_new (args->common->database_url, "kefu-routing");
    //  Routing's statements look rows up by key from a batch's arrays. Left
    //  to choose, PostgreSQL planned the rows' write again on a quarter of
    //  the transactions (~250 us each, for seconds after every ANALYZE of
    //  routing_conversations: a generic plan's 10-element arrays look dearer
    //  than a custom plan for 5); and a generic plan made while the tables
    //  are new hash-joins over a sequential scan until the next ANALYZE.
    kf_store_set_batch_plans (self->store, true);
    routing_store_register (self->store);
    self->outbox = kf_outbox_new ("routing", self->store);
    self->control = kf_control_new ("routing", self->clock);
    kf_control_set_insecure (self->control, self->config->insecure);
    self->auth = routing_auth_new (self->config);
    kf_control_set_refresh (self->control, s_refresh_status, self);
    kf_control_set_on_clock (self->control, s_on_clock, self);
    routing_sink_t sink = {
        s_on_assigned,     s_on_queued,           s_on_auto_reply, s_on_breach, s_on_transferred,
        s_on_conv_changed, s_on_presence_changed, s_on_served,     self,        s_on_shift_changed};
    self->model = routing_model_new (self->clock, &sink);
    self->writes = routing_writes_new ();
    self->closing = zhashx_new ();
    self->acked = kf_batch_new (2, (kf_col_type_t[]){KF_COL_TEXT, KF_COL_TEXT});
    self->acked_sent = kf_batch_new (2, (kf_col_type_t[]){KF_COL_TEXT, KF_COL_TEXT});
    self->sub = kf_subscriber_new ("routing", self->store, s_apply, self);
    kf_subscriber_set_partitions (self->sub, self->partitions);
    kf_subscriber_set_outbox (self->sub, self->outbox);
    kf_subscriber_hooks_t hooks = {s_queue_writes, s_batch_committed, s_after_rollback, self};
    kf_subscriber_set_in_memory (self->sub, true); //  s_apply decides in memory
    kf_subscriber_set_hooks (self->sub, &hooks);
    self->intake = kf_wire_socket (KF_SOCK_DEALER_CLIENT, 1 << 20);
    //  Commands wait in the socket until intake is reachable.
    zsock_set_immediate (self->intake, 0);
    kf_control_t *c = self->control;
    self->commands =
        kf_commands_new ("routing", self->intake, c, s_store_command, s_on_acked, self);
    self->c_decisions = kf_control_counter (c, "decisions");
    self->c_queued = kf_control_counter (c, "queued");
    self->c_breaches = kf_control_counter (c, "sla.breaches");
    self->c_reloads = kf_control_counter (c, "model.reloads");
    self->c_transfers_refused = kf_control_counter (c, "transfers.refused");
    self->c_txn_failed = kf_control_counter (c, "transactions.failed");
    self->c_handed_back = kf_control_counter (c, "handovers.queued");
    return self;
}

static int
s_start (s_server_t *self, char *why, size_t why_size)
{
    if (routing_config_partitions (self->config->partitions) < 0) {
        snprintf (why, why_size, "bad KEFU_ROUTING_PARTITIONS=%s (use all, 0-7, 0,2,4)",
                  self->config->partitions);
        return -1;
    }
    if (routing_auth_start (self->auth, why, why_size))
        return -1;
    routing_auth_client (self->auth, self->intake);
    routing_auth_secure_events (self->auth, self->outbox);
    //  Handshakes are watched from the first connect on (a refused one is
    //  connected again after a while; see routing_auth_watch).
    zsock_t *monitors[] = {
        routing_auth_watch (self->auth, self->intake, self->config->intake_commands),
        routing_auth_watch (self->auth, kf_subscriber_socket (self->sub),
                            self->config->intake_events),
        NULL};
    if (zsock_connect (self->intake, "%s", self->config->intake_commands) == -1) {
        snprintf (why, why_size, "bad KEFU_ROUTING_INTAKE_COMMANDS=%s",
                  self->config->intake_commands);
        return -1;
    }
    if (kf_outbox_bind (self->outbox, self->config->events_endpoint) == -1 ||
        kf_control_bind (self->control, self->config->control_endpoint) == -1) {
        snprintf (why, why_size, "cannot bind the events or control endpoint");
        return -1;
    }
    if (routing_auth_follow (self->auth, self->sub, "intake", self->config->intake_events) ||
        kf_subscriber_follow (self->sub, "admin", NULL)) {
        snprintf (why, why_size, "bad KEFU_ROUTING_INTAKE_EVENTS=%s", self->config->intake_events);
        return -1;
    }
    //  The record first (a database that is down is retried by the timer),
    //  then the commands intake never acknowledged, then the events.
    if (s_reload (self) == 0) {
        kf_subscriber_start (self->sub);
        routing_auth_refresh (self->auth, self->store, true);
    }
    monitors[2] = routing_auth_monitor (self->auth, kf_outbox_socket (self->outbox));
    for (size_t i = 0; i < sizeof monitors / sizeof monitors[0]; i++)
        if (monitors[i])
            zloop_reader (self->loop, monitors[i], s_handle_monitor, self);
    zloop_reader (self->loop, kf_subscriber_socket (self->sub), s_handle_events, self);
    zloop_reader (self->loop, self->intake, kf_commands_reader, self->commands);
    zloop_reader (self->loop, kf_control_socket (self->control), kf_control_on_readable,
                  self->control);
    zloop_timer (self->loop, S_TICK_MS, 0, s_handle_tick, self);
    kf_log_info ("routing.listening",
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
    s_reload (self);
    routing_auth_refresh (self->auth, self->store, true);
}

//  Every applied batch is already committed; stop reading events and hand
//  in what intake has not acknowledged yet.
static void
s_op_drain (void *server)
{
    s_server_t *self = server;
    self->draining = true;
    zloop_reader_end (self->loop, kf_subscriber_socket (self->sub));
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
    if (!self->loaded)
        return "NOT LOADED";
    kf_subscriber_poll (self->sub);
    s_run_deadlines (self);
    return "OK";
}

static const kf_actor_ops_t s_ops = {s_op_start, s_op_socket, s_op_reload, s_op_drain, s_op_other};

void
routing_server (zsock_t *pipe, void *args)
{
    s_server_t *self = s_server_new (pipe, (kf_service_args_t *) args);
    self->loop = zloop_new ();
    kf_actor_run (pipe, self->loop, &s_ops, self);
    zloop_destroy (&self->loop);
    s_server_destroy (&self);
}
