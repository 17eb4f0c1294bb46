/*  intake_conversations — the conversation rules of one batch, pure. */
#include "intake_conversations.h"

#include "intake_aftersales.h"
#include "intake_orders.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

#define S_KEY_MAX 400 //  "shop\x1f" "channel\x1f" "ccid" fits

struct _intake_conversations_t {
    intake_item_t *items;      //  the batch (borrowed)
    int count;                 //  items
    intake_periods_t periods;  //  quiet period, abandon limit
    int *order;                //  item indices in sent_at order (then receive order)
    intake_outcome_t *outcome; //  per item
    zhashx_t *customers;       //  key -> intake_customer_t (owned)
    intake_conv_t **convs;     //  every conversation touched (owned)
    int conv_count;            //  used
    int conv_cap;              //  allocated
};

bool
intake_conversations_item_is_new (const intake_item_t *item)
{
    return item->status == 0 && item->dup_of < 0;
}

//  Presence has no customer; an order flag may name none.
bool
intake_conversations_item_has_customer (const intake_item_t *item)
{
    return item->customer_id[0] != '\0';
}

void
intake_conversations_key (const intake_item_t *item, char *buf, size_t size)
{
    snprintf (buf, size, "%s\x1f%d\x1f%s", item->shop_id, item->channel, item->customer_id);
}

static void
s_customer_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static intake_conv_t *
s_conv_new (intake_conversations_t *self)
{
    if (self->conv_count == self->conv_cap) {
        self->conv_cap = self->conv_cap ? self->conv_cap * 2 : 64;
        self->convs = realloc (self->convs, (size_t) self->conv_cap * sizeof *self->convs);
        assert (self->convs);
    }
    intake_conv_t *c = calloc (1, sizeof *c);
    assert (c);
    self->convs[self->conv_count++] = c;
    return c;
}

//  Sent_at order; equal times keep their receive order.
typedef struct {
    int64_t sent_at; //  the item's
    int index;       //  in the batch
} s_rank_t;

static int
s_by_sent (const void *a, const void *b)
{
    const s_rank_t *x = a, *y = b;
    if (x->sent_at != y->sent_at)
        return x->sent_at < y->sent_at ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

intake_conversations_t *
intake_conversations_new (intake_item_t *items, int count, intake_periods_t periods)
{
    intake_conversations_t *self = calloc (1, sizeof *self);
    assert (self);
    self->items = items;
    self->count = count;
    self->periods = periods;
    self->outcome = calloc ((size_t) (count > 0 ? count : 1), sizeof *self->outcome);
    self->order = malloc ((size_t) (count > 0 ? count : 1) * sizeof *self->order);
    assert (self->outcome && self->order);
    s_rank_t *rank = malloc ((size_t) (count > 0 ? count : 1) * sizeof *rank);
    assert (rank);
    for (int i = 0; i < count; i++)
        rank[i] = (s_rank_t){items[i].sent_at, i};
    qsort (rank, (size_t) count, sizeof *rank, s_by_sent);
    for (int i = 0; i < count; i++)
        self->order[i] = rank[i].index;
    free (rank);
    self->customers = zhashx_new ();
    zhashx_set_destructor (self->customers, s_customer_free);
    //  Aggregate the batch per customer key.
    for (int i = 0; i < count; i++) {
        intake_item_t *item = &items[i];
        if (!intake_conversations_item_is_new (item) ||
            !intake_conversations_item_has_customer (item))
            continue;
        char key[S_KEY_MAX];
        intake_conversations_key (item, key, sizeof key);
        intake_customer_t *c = zhashx_lookup (self->customers, key);
        if (!c) {
            c = calloc (1, sizeof *c);
            assert (c);
            c->sample = item;
            c->first_ms = item->received_at;
            c->first_sent_ms = item->sent_at;
            zhashx_insert (self->customers, key, c);
        }
        if (item->received_at < c->first_ms)
            c->first_ms = item->received_at;
        if (item->sent_at < c->first_sent_ms)
            c->first_sent_ms = item->sent_at;
        if (item->kind == INTAKE_KIND_MESSAGE) {
            if (item->customer_name)
                c->name = item->customer_name;
            c->vip = c->vip || item->vip;
        }
    }
    return self;
}

void
intake_conversations_destroy (intake_conversations_t **self_p)
{
    if (self_p && *self_p) {
        intake_conversations_t *self = *self_p;
        for (int c = 0; c < self->conv_count; c++)
            free (self->convs[c]);
        free (self->convs);
        free (self->outcome);
        free (self->order);
        zhashx_destroy (&self->customers);
        free (self);
        *self_p = NULL;
    }
}

intake_customer_t *
intake_conversations_first (intake_conversations_t *self)
{
    return zhashx_first (self->customers);
}

intake_customer_t *
intake_conversations_next (intake_conversations_t *self)
{
    return zhashx_next (self->customers);
}

const char *
intake_conversations_cursor (intake_conversations_t *self)
{
    return zhashx_cursor (self->customers);
}

intake_customer_t *
intake_conversations_lookup (intake_conversations_t *self, const char *key)
{
    return zhashx_lookup (self->customers, key);
}

//  ---------------------------------------------------------------------
//  What is known of each customer

//  How long a conversation may go without messages: the abandon limit
//  while its customer waits for a human reply, else the quiet period.
static bool
s_waiting (int64_t customer_ms, int64_t reply_ms)
{
    return customer_ms > reply_ms;
}

static int64_t
s_limit (const intake_conversations_t *self, int64_t customer_ms, int64_t reply_ms)
{
    return s_waiting (customer_ms, reply_ms) ? self->periods.abandon_ms : self->periods.quiet_ms;
}

bool
intake_conversations_recall (intake_conversations_t *self, intake_customer_t *c,
                             const intake_cache_entry_t *e)
{
    c->known = true;
    //  Expired at the customer's earliest item: the sweep has probably
    //  closed that conversation (a returning customer); read it.
    bool usable = e->conv_id && c->first_sent_ms - e->conv_last_ms <=
                                    s_limit (self, e->conv_customer_ms, e->conv_reply_ms);
    if (!usable)
        return false;
    bool renamed = c->name && (!e->name || strcmp (e->name, c->name) != 0);
    c->cached = true;
    c->renamed = renamed || (c->vip && !e->vip);
    c->customer_ref = e->customer_ref;
    c->last_conv_id = e->conv_id;
    if (!renamed)
        c->name = NULL; //  unchanged: the memory keeps the remembered one
    c->vip = c->vip || e->vip;
    intake_conv_t *conv = s_conv_new (self);
    conv->id = e->conv_id;
    conv->stored_last_ms = e->conv_stored_ms;
    conv->last_ms = e->conv_last_ms;
    conv->opened_ms = e->conv_opened_ms;
    conv->customer_ms = e->conv_customer_ms;
    conv->reply_ms = e->conv_reply_ms;
    conv->previous_id = e->conv_previous_id;
    conv->priority = e->conv_priority;
    conv->intent = e->conv_intent;
    conv->customer_ref = e->customer_ref;
    conv->sample = c->sample;
    conv->remembered = true;
    c->current = conv;
    return true;
}

void
intake_conversations_latest (intake_conversations_t *self, intake_customer_t *c,
                             const intake_conv_record_t *r)
{
    c->last_conv_id = r->id;
    c->last_opened_ms = r->opened_ms;
    c->last_previous_id = r->previous_id;
    if (!r->open)
        return; //  closed: only its id matters (previous_conversation_id, ratings)
    intake_conv_t *conv = s_conv_new (self);
    conv->id = r->id;
    conv->opened_ms = r->opened_ms;
    conv->stored_last_ms = r->stored_last_ms;
    conv->last_ms = r->last_ms;
    conv->customer_ms = r->customer_ms;
    conv->reply_ms = r->reply_ms;
    conv->previous_id = r->previous_id;
    conv->base_count = r->message_count;
    conv->priority = r->priority;
    conv->intent = r->intent;
    conv->customer_ref = c->customer_ref;
    conv->sample = c->sample;
    c->current = conv;
}

//  ---------------------------------------------------------------------
//  The rules

static void
s_close (intake_conv_t *c, int64_t at_ms, int reason, const char *by)
{
    c->closed_ms = at_ms;
    c->close_reason = reason;
    c->closed_by = by && *by ? by : NULL;
    c->touched = true;
}

//  How far a conversation's stored last_message_at may lag its last
//  message: a minute, or a thirtieth of the quiet period if that is shorter.
static int64_t
s_lazy_ms (int64_t quiet_ms)
{
    return quiet_ms / 30 < 60000 ? quiet_ms / 30 : 60000;
}

//  The open conversation in force at t (sent_at) has expired when t is past
//  its last message + its limit: close it there first, as the sweep would
//  have (quiet, or abandoned while its customer waited).
static void
s_expire (intake_conversations_t *self, intake_customer_t *k, int64_t t, intake_outcome_t *out)
{
    intake_conv_t *cur = k->current;
    if (!cur || cur->closed_ms)
        return;
    int64_t limit = s_limit (self, cur->customer_ms, cur->reply_ms);
    if (t - cur->last_ms <= limit)
        return;
    int reason = s_waiting (cur->customer_ms, cur->reply_ms)
                     ? KEFU__V1__CLOSE_REASON__CLOSE_REASON_ABANDONED
                     : KEFU__V1__CLOSE_REASON__CLOSE_REASON_QUIET;
    s_close (cur, cur->last_ms + limit, reason, NULL);
    out->closed_prev = cur;
}

//  A message or reply: continue the open conversation, or open one (the
//  expired one is closed first: the customer is back).
static int
s_walk_message (intake_conversations_t *self, intake_customer_t *k, intake_item_t *item,
                intake_outcome_t *out)
{
    int opened = 0;
    int64_t t = item->sent_at;
    intake_conv_t *cur = k->current;
    if (!cur || cur->closed_ms) {
        intake_conv_t *c = s_conv_new (self);
        c->is_new = true;
        c->sample = item;
        c->customer_ref = k->customer_ref;
        c->opened_ms = t;
        c->last_ms = t;
        c->previous = cur;
        c->previous_id = cur ? cur->id : k->last_conv_id;
        if (item->kind == INTAKE_KIND_MESSAGE)
            c->intent = item->intent;
        out->opened = c;
        k->current = cur = c;
        opened = 1;
    }
    cur->added++;
    if (t > cur->last_ms)
        cur->last_ms = t;
    //  Auto-replies keep a conversation alive but answer nobody.
    if (item->kind == INTAKE_KIND_MESSAGE && t > cur->customer_ms)
        cur->customer_ms = t;
    if (item->kind == INTAKE_KIND_REPLY && !item->auto_reply && t > cur->reply_ms)
        cur->reply_ms = t;
    //  The stored last activity moves forward lazily: rewriting the
    //  conversation for every message costs more than the message.
    if (cur->last_ms - cur->stored_last_ms >= s_lazy_ms (self->periods.quiet_ms))
        cur->touched = true;
    if (item->kind == INTAKE_KIND_MESSAGE) {
        if (item->priority > cur->priority) {
            cur->priority = item->priority;
            cur->touched = true;
        }
        if (!cur->intent)
            cur->intent = item->intent;
        cur->vip = cur->vip || item->vip;
    }
    out->conv = cur;
    return opened;
}

//  A rating: the conversation open when it was sent, or else the latest
//  one closed before its sent_at (not one opened after it was sent).
static void
s_walk_rating (intake_customer_t *k, const intake_item_t *item, intake_outcome_t *out)
{
    int64_t t = item->sent_at;
    intake_conv_t *c = k->current;
    while (c && c->opened_ms > t && c->previous)
        c = (intake_conv_t *) c->previous;
    if (c && c->opened_ms > t && c->previous_id)
        out->earlier_id = c->previous_id; //  older than what the batch touches
    else if (c)
        out->conv = c;
    else if (k->last_conv_id && k->last_opened_ms > t && k->last_previous_id)
        out->earlier_id = k->last_previous_id;
}

int
intake_conversations_walk (intake_conversations_t *self)
{
    int new_count = 0;
    for (int o = 0; o < self->count; o++) {
        int i = self->order[o];
        intake_item_t *item = &self->items[i];
        if (!intake_conversations_item_is_new (item) ||
            !intake_conversations_item_has_customer (item))
            continue;
        char key[S_KEY_MAX];
        intake_conversations_key (item, key, sizeof key);
        intake_customer_t *k = zhashx_lookup (self->customers, key);
        assert (k);
        item->customer_ref = k->customer_ref;
        intake_outcome_t *out = &self->outcome[i];
        if (item->kind != INTAKE_KIND_PRESENCE)
            s_expire (self, k, item->sent_at, out);
        intake_conv_t *cur = k->current;
        switch (item->kind) {
        case INTAKE_KIND_MESSAGE:
        case INTAKE_KIND_REPLY:
            new_count += s_walk_message (self, k, item, out);
            break;
        case INTAKE_KIND_RATING:
            s_walk_rating (k, item, out);
            break;
        case INTAKE_KIND_TRANSFER:
            //  The open conversation or else the latest one (a transfer of a
            //  closed conversation is refused by routing).
            if (cur)
                out->conv = cur;
            break;
        case INTAKE_KIND_CLOSE:
            if (cur && !cur->closed_ms) {
                s_close (cur, item->sent_at, item->close_reason, item->agent_id);
                out->closed = cur;
            }
            if (cur)
                out->conv = cur;
            break;
        case INTAKE_KIND_PRESENCE:
        case INTAKE_KIND_ORDER_UPDATE: //  orders open no conversation
        case INTAKE_KIND_ORDER_FLAG:
        case INTAKE_KIND_REVIEW: //  nor do reviews and complaint actions
        case INTAKE_KIND_COMPLAINT_ACTION:
            break;
        }
    }
    return new_count;
}

void
intake_conversations_number (intake_conversations_t *self, const int64_t *ids)
{
    for (int i = 0, used = 0; i < self->conv_count; i++)
        if (self->convs[i]->is_new)
            self->convs[i]->id = ids[used++];
    //  A conversation opened after one the same batch opened follows it.
    for (int i = 0; i < self->conv_count; i++)
        if (self->convs[i]->previous)
            self->convs[i]->previous_id = self->convs[i]->previous->id;
    for (int i = 0; i < self->count; i++) {
        intake_item_t *item = &self->items[i];
        if (!intake_conversations_item_is_new (item))
            continue;
        const intake_outcome_t *out = &self->outcome[i];
        item->conversation_id = out->conv ? out->conv->id : out->earlier_id;
        if (!item->conversation_id && intake_conversations_item_has_customer (item)) {
            char key[S_KEY_MAX];
            intake_conversations_key (item, key, sizeof key);
            const intake_customer_t *k = zhashx_lookup (self->customers, key);
            if (k)
                item->conversation_id = k->last_conv_id;
        }
    }
}

int
intake_conversations_count (const intake_conversations_t *self)
{
    return self->conv_count;
}

intake_conv_t *
intake_conversations_at (intake_conversations_t *self, int index)
{
    assert (index >= 0 && index < self->conv_count);
    return self->convs[index];
}

const intake_outcome_t *
intake_conversations_outcome (const intake_conversations_t *self, int index)
{
    assert (index >= 0 && index < self->count);
    return &self->outcome[index];
}

bool
intake_conversations_closes_any (const intake_conversations_t *self)
{
    for (int i = 0; i < self->count; i++)
        if (self->outcome[i].closed_prev || self->outcome[i].closed)
            return true;
    return false;
}

//  ---------------------------------------------------------------------
//  Events

static int
s_emit (intake_event_fn *fn, void *arg, const char *shop_id, const char *kind, int64_t at_ms,
        Kefu__V1__Event *ev)
{
    ev->shop_id = (char *) shop_id;
    ev->kind = (char *) kind;
    ev->occurred_at_ms = at_ms;
    return fn (arg, ev);
}

static int
s_emit_closed (intake_event_fn *fn, void *arg, const intake_item_t *item, const intake_conv_t *c)
{
    Kefu__V1__ConversationClosed closed = KEFU__V1__CONVERSATION_CLOSED__INIT;
    closed.conversation_id = c->id;
    closed.customer_id = c->customer_ref;
    closed.channel = item->channel;
    closed.reason = c->close_reason;
    closed.closed_by_agent_id = (char *) (c->closed_by ? c->closed_by : "");
    closed.closed_at_ms = c->closed_ms;
    closed.message_count = c->base_count + c->added;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_CLOSED;
    ev.conversation_closed = &closed;
    return s_emit (fn, arg, item->shop_id, "conversation.closed", c->closed_ms, &ev);
}

static int
s_emit_opened (intake_event_fn *fn, void *arg, const intake_item_t *item, const intake_conv_t *c)
{
    Kefu__V1__ConversationOpened opened = KEFU__V1__CONVERSATION_OPENED__INIT;
    opened.conversation_id = c->id;
    opened.customer_id = c->customer_ref;
    opened.channel = item->channel;
    opened.channel_customer_id = (char *) item->customer_id;
    opened.intent = item->kind == INTAKE_KIND_MESSAGE ? item->intent : 0;
    opened.priority = item->kind == INTAKE_KIND_MESSAGE ? item->priority : 0;
    opened.vip = item->vip;
    opened.opened_at_ms = c->opened_ms;
    opened.previous_conversation_id = c->previous_id;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_CONVERSATION_OPENED;
    ev.conversation_opened = &opened;
    return s_emit (fn, arg, item->shop_id, "conversation.opened", c->opened_ms, &ev);
}

static int
s_emit_item (intake_event_fn *fn, void *arg, const intake_item_t *item)
{
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    switch (item->kind) {
    case INTAKE_KIND_MESSAGE:
    case INTAKE_KIND_REPLY: {
        Kefu__V1__MessageAccepted m = KEFU__V1__MESSAGE_ACCEPTED__INIT;
        m.message_id = item->stored_id;
        m.conversation_id = item->conversation_id;
        m.customer_id = item->customer_ref;
        m.channel = item->channel;
        m.channel_customer_id = (char *) item->customer_id;
        m.sender = item->kind == INTAKE_KIND_MESSAGE ? KEFU__V1__SENDER_ROLE__SENDER_ROLE_CUSTOMER
                                                     : KEFU__V1__SENDER_ROLE__SENDER_ROLE_AGENT;
        m.agent_id = (char *) item->agent_id;
        m.body = item->text ? item->text : "";
        m.intent = item->intent;
        m.priority = item->priority;
        m.n_qa_flags = (size_t) item->qa_count;
        m.qa_flags = (char **) item->qa_flags;
        m.received_at_ms = item->received_at;
        m.sent_at_ms = item->sent_at;
        m.vip = item->vip;
        m.order_id = (char *) item->order_id;
        m.gateway_id = (char *) item->gateway_id;
        m.auto_reply = item->auto_reply;
        ev.payload_case = KEFU__V1__EVENT__PAYLOAD_MESSAGE_ACCEPTED;
        ev.message_accepted = &m;
        return s_emit (fn, arg, item->shop_id, "message.accepted", item->received_at, &ev);
    }
    case INTAKE_KIND_PRESENCE: {
        Kefu__V1__AgentPresenceChanged p = KEFU__V1__AGENT_PRESENCE_CHANGED__INIT;
        p.agent_id = (char *) item->agent_id;
        p.status = item->agent_status;
        p.handover_note = item->text ? item->text : "";
        p.channel = item->channel;
        p.at_ms = item->received_at;
        ev.payload_case = KEFU__V1__EVENT__PAYLOAD_AGENT_PRESENCE;
        ev.agent_presence = &p;
        return s_emit (fn, arg, item->shop_id, "agent.presence", item->received_at, &ev);
    }
    case INTAKE_KIND_RATING: {
        Kefu__V1__RatingReceived r = KEFU__V1__RATING_RECEIVED__INIT;
        r.rating_id = item->stored_id;
        r.conversation_id = item->conversation_id;
        r.customer_id = item->customer_ref;
        r.agent_id = (char *) item->agent_id;
        r.score = (uint32_t) item->score;
        r.comment = item->text ? item->text : "";
        r.at_ms = item->received_at;
        r.sent_at_ms = item->sent_at;
        r.channel = item->channel;
        ev.payload_case = KEFU__V1__EVENT__PAYLOAD_RATING_RECEIVED;
        ev.rating_received = &r;
        return s_emit (fn, arg, item->shop_id, "rating.received", item->received_at, &ev);
    }
    case INTAKE_KIND_TRANSFER: {
        Kefu__V1__TransferRequested t = KEFU__V1__TRANSFER_REQUESTED__INIT;
        t.conversation_id = item->conversation_id;
        t.to_agent_id = (char *) item->target_agent_id;
        t.by = (char *) (item->agent_id[0] ? item->agent_id : item->gateway_id);
        t.reason = item->text ? item->text : "";
        ev.payload_case = KEFU__V1__EVENT__PAYLOAD_TRANSFER_REQUESTED;
        ev.transfer_requested = &t;
        return s_emit (fn, arg, item->shop_id, "transfer.requested", item->received_at, &ev);
    }
    case INTAKE_KIND_CLOSE:
        return 0; //  its conversation.closed comes from the outcome
    case INTAKE_KIND_ORDER_UPDATE:
    case INTAKE_KIND_ORDER_FLAG:
        return intake_orders_event (item, fn, arg);
    case INTAKE_KIND_REVIEW:
    case INTAKE_KIND_COMPLAINT_ACTION:
        return intake_aftersales_event (item, fn, arg);
    }
    return 0;
}

int
intake_conversations_events (intake_conversations_t *self, intake_event_fn *fn, void *arg)
{
    //  In the walk's order, so a subscriber sees a conversation opened
    //  before its first message and closed before its successor opens.
    for (int o = 0; o < self->count; o++) {
        int i = self->order[o];
        const intake_item_t *item = &self->items[i];
        const intake_outcome_t *out = &self->outcome[i];
        int rc = 0;
        if (out->closed_prev && (rc = s_emit_closed (fn, arg, item, out->closed_prev)))
            return rc;
        if (out->opened && (rc = s_emit_opened (fn, arg, item, out->opened)))
            return rc;
        if (out->closed && (rc = s_emit_closed (fn, arg, item, out->closed)))
            return rc;
        if (item->status == KEFU__V1__ACK_STATUS__ACK_ACCEPTED &&
            (rc = s_emit_item (fn, arg, item)))
            return rc;
    }
    return 0;
}

bool
intake_conversations_memory (const intake_customer_t *c, intake_cache_entry_t *e)
{
    memset (e, 0, sizeof *e);
    if (!c->customer_ref)
        return false;
    e->customer_ref = c->customer_ref;
    //  A name or VIP flag not in this batch stays what it was, if known.
    e->name = (char *) c->name;
    e->vip = c->vip;
    const intake_conv_t *conv = c->current;
    if (conv && !conv->closed_ms && conv->id) {
        e->conv_id = conv->id;
        e->conv_last_ms = conv->last_ms;
        e->conv_opened_ms = conv->opened_ms;
        e->conv_customer_ms = conv->customer_ms;
        e->conv_reply_ms = conv->reply_ms;
        e->conv_previous_id = conv->previous_id;
        e->conv_stored_ms = conv->is_new || conv->touched ? conv->last_ms : conv->stored_last_ms;
        e->conv_priority = conv->priority;
        e->conv_intent = conv->intent;
    }
    return true;
}
