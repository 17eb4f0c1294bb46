/*  metrics_model — conversations, rounds, queue waits and ratings turned
    into rollup deltas. */
#include "metrics_model.h"

#include "kefu/v1/common.pb-c.h"

#include <czmq.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *const metrics_counter_names[METRICS_COUNTERS] = {
    "conv_customer", "conv_shop",     "conv_after_hours",  "conv_answered",  "conv_answered_ah",
    "frt_sum_ms",    "frt_ah_sum_ms", "conv_queued",       "conv_abandoned", "conv_closed",
    "close_sum_ms",  "waits",         "wait_sum_ms",       "wait_max_ms",    "customer_msgs",
    "replies",       "auto_replies",  "qa_flagged",        "qa_flags",       "rounds",
    "round_sum_ms",  "round_msgs",    "rounds_unanswered", "rating_1",       "rating_2",
    "rating_3",      "rating_4",      "rating_5"};

//  ---------------------------------------------------------------------
//  Buckets: (lower, upper] in ms; the first is [0, 1 s]

typedef struct {
    int64_t from;  //  lower bound of the range (exclusive, but 0 for the first)
    int64_t to;    //  upper bound of the range (inclusive)
    int64_t width; //  bucket width
} s_range_t;

static const s_range_t s_ranges[] = {
    {0, 60000, 1000},              //  1 s up to 60 s: 60 buckets
    {60000, 300000, 5000},         //  5 s up to 5 min: 48
    {300000, 1800000, 30000},      //  30 s up to 30 min: 50
    {1800000, 7200000, 300000},    //  5 min up to 2 h: 18
    {7200000, 86400000, 3600000}}; //  1 h up to 24 h: 22 (then overflow)

#define S_RANGES (int) (sizeof s_ranges / sizeof s_ranges[0])

int
metrics_bucket (int64_t ms)
{
    int first = 0;
    for (int r = 0; r < S_RANGES; r++) {
        const s_range_t *range = &s_ranges[r];
        int count = (int) ((range->to - range->from) / range->width);
        if (ms <= range->to) {
            int64_t above = ms - range->from;
            int64_t k = above <= 0 ? 0 : (above + range->width - 1) / range->width - 1;
            return first + (int) k;
        }
        first += count;
    }
    return METRICS_BUCKETS - 1;
}

int64_t
metrics_bucket_upper (int bucket)
{
    int first = 0;
    for (int r = 0; r < S_RANGES; r++) {
        const s_range_t *range = &s_ranges[r];
        int count = (int) ((range->to - range->from) / range->width);
        if (bucket < first + count)
            return range->from + (int64_t) (bucket - first + 1) * range->width;
        first += count;
    }
    return INT64_MAX;
}

bool
metrics_bucket_is_bound (int64_t ms)
{
    return ms > 0 && metrics_bucket_upper (metrics_bucket (ms)) == ms;
}

//  ---------------------------------------------------------------------
//  Conversations

metrics_conv_t *
metrics_conv_new (int64_t id)
{
    metrics_conv_t *self = calloc (1, sizeof *self);
    self->id = id;
    return self;
}

void
metrics_conv_destroy (metrics_conv_t **self_p)
{
    if (self_p && *self_p) {
        metrics_conv_t *self = *self_p;
        free (self->owners);
        free (self->waits);
        free (self->ledger);
        free (self);
        *self_p = NULL;
    }
}

void
metrics_conv_add_owner (metrics_conv_t *self, int64_t at_ms, const char *agent_id)
{
    //  The oldest goes when the list is full: ratings are given near the
    //  end of a conversation, about its latest owners.
    if (self->owner_count == METRICS_OWNERS_MAX) {
        memmove (self->owners, self->owners + 1, (METRICS_OWNERS_MAX - 1) * sizeof *self->owners);
        self->owner_count--;
    }
    if (!self->owners)
        self->owners = calloc (METRICS_OWNERS_MAX, sizeof *self->owners);
    metrics_owner_t *o = &self->owners[self->owner_count++];
    o->at_ms = at_ms;
    snprintf (o->agent_id, sizeof o->agent_id, "%s", agent_id ? agent_id : "");
}

void
metrics_conv_add_wait (metrics_conv_t *self, int64_t waited_ms)
{
    self->waits = realloc (self->waits, (size_t) (self->wait_count + 1) * sizeof *self->waits);
    self->waits[self->wait_count++] = waited_ms;
}

void
metrics_conv_add_entry (metrics_conv_t *self, const metrics_entry_t *entry)
{
    self->ledger = realloc (self->ledger, (size_t) (self->ledger_count + 1) * sizeof *self->ledger);
    self->ledger[self->ledger_count++] = *entry;
}

//  ---------------------------------------------------------------------
//  Structures

typedef struct {
    char agent_id[METRICS_ID_MAX + 1]; //  agent (the map's key is a copy)
    int status;                        //  AgentStatus
    int64_t since_ms;                  //  since when
} s_agent_t;

typedef struct {
    char shop_id[65]; //  shop
    zhashx_t *convs;  //  &id -> metrics_conv_t
    zhashx_t *agents; //  agent id -> s_agent_t
} s_shop_t;

typedef struct {
    s_shop_t *shop; //  where
    int64_t id;     //  which conversation
} s_evict_t;

struct _metrics_model_t {
    kf_clock_t *clock;   //  borrowed
    metrics_sink_t sink; //  deltas go here
    zhashx_t *shops;     //  shop id -> s_shop_t
    s_evict_t *evict;    //  closed conversations to drop after the commit
    int evict_count;     //  used
    int evict_cap;       //  allocated
};

//  A fact of a conversation's contribution: what one rollup row gets.
typedef struct {
    int64_t hour;                      //  UTC hour
    char agent[METRICS_ID_MAX + 1];    //  agent
    char group[METRICS_GROUP_MAX + 1]; //  group
    int channel;                       //  channel
    int what;                          //  counter, or METRICS_COUNTERS + hist
    int bucket;                        //  histogram bucket
    int64_t value;                     //  amount
    bool matched;                      //  cancelled against the other side (diff)
} s_fact_t;

#define S_FACTS_MAX 24
typedef struct {
    s_fact_t facts[S_FACTS_MAX]; //  the facts
    int count;                   //  used
} s_facts_t;

static int64_t
s_hour (int64_t ms)
{
    int64_t h = ms / METRICS_HOUR_MS;
    if (ms < 0 && h * METRICS_HOUR_MS != ms)
        h--;
    return h * METRICS_HOUR_MS;
}

static size_t
s_id_hash (const void *key)
{
    uint64_t x = (uint64_t) * (const int64_t *) key; //  splitmix64's finaliser
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return (size_t) (x ^ (x >> 31));
}

static int
s_id_compare (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return x == y ? 0 : x < y ? -1 : 1;
}

static void
s_conv_free (void **item_p)
{
    metrics_conv_destroy ((metrics_conv_t **) item_p);
}

static void
s_shop_free (void **item_p)
{
    s_shop_t *shop = *item_p;
    if (shop) {
        zhashx_destroy (&shop->convs);
        zhashx_destroy (&shop->agents);
        free (shop);
        *item_p = NULL;
    }
}

static void
s_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

metrics_model_t *
metrics_model_new (kf_clock_t *clock, const metrics_sink_t *sink)
{
    metrics_model_t *self = calloc (1, sizeof *self);
    self->clock = clock;
    self->sink = *sink;
    self->shops = zhashx_new ();
    zhashx_set_destructor (self->shops, s_shop_free);
    return self;
}

void
metrics_model_destroy (metrics_model_t **self_p)
{
    if (self_p && *self_p) {
        metrics_model_t *self = *self_p;
        zhashx_destroy (&self->shops);
        free (self->evict);
        free (self);
        *self_p = NULL;
    }
}

void
metrics_model_reset (metrics_model_t *self)
{
    zhashx_purge (self->shops);
    self->evict_count = 0;
}

static s_shop_t *
s_shop (metrics_model_t *self, const char *shop_id)
{
    s_shop_t *shop = zhashx_lookup (self->shops, shop_id);
    if (!shop) {
        shop = calloc (1, sizeof *shop);
        snprintf (shop->shop_id, sizeof shop->shop_id, "%s", shop_id);
        //  Keyed by the conversation's own id field (never zhashx_update).
        shop->convs = zhashx_new ();
        zhashx_set_key_duplicator (shop->convs, NULL);
        zhashx_set_key_destructor (shop->convs, NULL);
        zhashx_set_key_hasher (shop->convs, s_id_hash);
        zhashx_set_key_comparator (shop->convs, s_id_compare);
        zhashx_set_destructor (shop->convs, s_conv_free);
        shop->agents = zhashx_new ();
        zhashx_set_destructor (shop->agents, s_free);
        zhashx_insert (self->shops, shop_id, shop);
    }
    return shop;
}

static metrics_conv_t *
s_find (s_shop_t *shop, int64_t id)
{
    return zhashx_lookup (shop->convs, &id);
}

//  The conversation, created empty when unknown (routing may speak of it
//  before intake's events are applied).
static metrics_conv_t *
s_conv (s_shop_t *shop, int64_t id)
{
    metrics_conv_t *conv = s_find (shop, id);
    if (!conv) {
        conv = metrics_conv_new (id);
        zhashx_insert (shop->convs, &conv->id, conv);
    }
    return conv;
}

bool
metrics_model_knows (metrics_model_t *self, const char *shop_id, int64_t conversation_id)
{
    s_shop_t *shop = zhashx_lookup (self->shops, shop_id);
    return shop && s_find (shop, conversation_id);
}

static void
s_will_evict (metrics_model_t *self, s_shop_t *shop, const metrics_conv_t *conv)
{
    if (!conv->closed)
        return;
    if (self->evict_count == self->evict_cap) {
        self->evict_cap = self->evict_cap ? self->evict_cap * 2 : 64;
        self->evict = realloc (self->evict, (size_t) self->evict_cap * sizeof *self->evict);
    }
    self->evict[self->evict_count++] = (s_evict_t){shop, conv->id};
}

void
metrics_model_adopt (metrics_model_t *self, const char *shop_id, metrics_conv_t **conv_p)
{
    metrics_conv_t *conv = *conv_p;
    *conv_p = NULL;
    s_shop_t *shop = s_shop (self, shop_id);
    zhashx_delete (shop->convs, &conv->id);
    zhashx_insert (shop->convs, &conv->id, conv);
    s_will_evict (self, shop, conv);
}

static s_agent_t *
s_agent (s_shop_t *shop, const char *agent_id)
{
    s_agent_t *agent = zhashx_lookup (shop->agents, agent_id);
    if (!agent) {
        agent = calloc (1, sizeof *agent);
        snprintf (agent->agent_id, sizeof agent->agent_id, "%s", agent_id);
        zhashx_insert (shop->agents, agent_id, agent);
    }
    return agent;
}

void
metrics_model_restore_agent (metrics_model_t *self, const char *shop_id, const char *agent_id,
                             int status, int64_t since_ms)
{
    s_agent_t *agent = s_agent (s_shop (self, shop_id), agent_id);
    agent->status = status;
    agent->since_ms = since_ms;
}

int
metrics_model_evict_closed (metrics_model_t *self)
{
    int evicted = 0;
    for (int i = 0; i < self->evict_count; i++) {
        s_evict_t *e = &self->evict[i];
        metrics_conv_t *conv = s_find (e->shop, e->id);
        if (conv && conv->closed) {
            zhashx_delete (e->shop->convs, &e->id);
            evicted++;
        }
    }
    self->evict_count = 0;
    return evicted;
}

//  ---------------------------------------------------------------------
//  Deltas

static void
s_emit (metrics_model_t *self, const char *shop_id, int64_t hour, const char *agent, int channel,
        const char *group, int what, int bucket, int64_t delta)
{
    if (delta == 0)
        return;
    metrics_key_t key = {shop_id, hour, agent, channel, group};
    if (what < METRICS_COUNTERS) {
        if (self->sink.count)
            self->sink.count (self->sink.arg, &key, what, delta);
    } else if (self->sink.hist)
        self->sink.hist (self->sink.arg, &key, what - METRICS_COUNTERS, bucket, delta);
}

//  A fact of one line (or round, rating, wait): counted now under the
//  conversation's group; while it has none, also kept in its ledger.
static void
s_fact (metrics_model_t *self, s_shop_t *shop, metrics_conv_t *conv, int64_t hour,
        const char *agent, int what, int bucket, int64_t delta)
{
    s_emit (self, shop->shop_id, hour, agent, conv->channel, conv->group, what, bucket, delta);
    if (!conv->group[0]) {
        metrics_entry_t e = {hour, "", what, bucket, delta};
        snprintf (e.agent_id, sizeof e.agent_id, "%s", agent);
        metrics_conv_add_entry (conv, &e);
    }
}

static void
s_hist_fact (metrics_model_t *self, s_shop_t *shop, metrics_conv_t *conv, int64_t hour,
             const char *agent, int hist, int64_t ms)
{
    s_fact (self, shop, conv, hour, agent, METRICS_COUNTERS + hist, metrics_bucket (ms), 1);
}

//  Routing named the conversation's group: facts counted under none move.
static void
s_set_group (metrics_model_t *self, s_shop_t *shop, metrics_conv_t *conv, const char *group)
{
    if (conv->group[0] || !group || !*group)
        return;
    snprintf (conv->group, sizeof conv->group, "%s", group);
    for (int i = 0; i < conv->ledger_count; i++) {
        const metrics_entry_t *e = &conv->ledger[i];
        //  A maximum cannot be taken back: the row without a group keeps it
        //  (reports ignore the maximum of a row whose count is zero).
        if (e->what != METRICS_WAIT_MAX)
            s_emit (self, shop->shop_id, e->hour_ms, e->agent_id, conv->channel, "", e->what,
                    e->bucket, -e->delta);
        s_emit (self, shop->shop_id, e->hour_ms, e->agent_id, conv->channel, conv->group, e->what,
                e->bucket, e->delta);
    }
    free (conv->ledger);
    conv->ledger = NULL;
    conv->ledger_count = 0;
}

static void
s_wait_fact (metrics_model_t *self, s_shop_t *shop, metrics_conv_t *conv, int64_t waited)
{
    int64_t hour = s_hour (conv->first_at);
    s_fact (self, shop, conv, hour, "", METRICS_WAITS, 0, 1);
    s_fact (self, shop, conv, hour, "", METRICS_WAIT_SUM, 0, waited);
    s_fact (self, shop, conv, hour, "", METRICS_WAIT_MAX, 0, waited);
    s_hist_fact (self, shop, conv, hour, "", METRICS_HIST_WAIT, waited);
}

//  ---------------------------------------------------------------------
//  What a conversation as a whole contributes (see the header)

static void
s_add (s_facts_t *facts, const metrics_conv_t *conv, int64_t hour, const char *agent, int what,
       int bucket, int64_t value)
{
    s_fact_t *f = &facts->facts[facts->count++];
    f->hour = hour;
    snprintf (f->agent, sizeof f->agent, "%s", agent);
    snprintf (f->group, sizeof f->group, "%s", conv->group);
    f->channel = conv->channel;
    f->what = what;
    f->bucket = bucket;
    f->value = value;
    f->matched = false;
}

static int64_t
s_nonneg (int64_t ms)
{
    return ms > 0 ? ms : 0;
}

static void
s_contribution (const metrics_conv_t *conv, s_facts_t *facts)
{
    facts->count = 0;
    if (!conv->first_at)
        return; //  no line yet: nothing to count, nor an hour to count it in
    int64_t h = s_hour (conv->first_at);
    const int H = METRICS_COUNTERS;
    if (conv->customer_opened) {
        s_add (facts, conv, h, "", METRICS_CONV_CUSTOMER, 0, 1);
        if (conv->after_hours)
            s_add (facts, conv, h, "", METRICS_CONV_AFTER_HOURS, 0, 1);
        if (conv->answered_at) {
            const char *a = conv->first_agent;
            int64_t frt = s_nonneg (conv->answered_at - conv->first_at);
            s_add (facts, conv, h, a, METRICS_CONV_ANSWERED, 0, 1);
            s_add (facts, conv, h, a, METRICS_ROUND_MSGS, 0, conv->round1_msgs);
            if (conv->after_hours) {
                s_add (facts, conv, h, a, METRICS_CONV_ANSWERED_AH, 0, 1);
                s_add (facts, conv, h, a, METRICS_FRT_AH_SUM, 0, frt);
            } else {
                //  The first response is also the conversation's first round.
                s_add (facts, conv, h, a, METRICS_FRT_SUM, 0, frt);
                s_add (facts, conv, h, a, H + METRICS_HIST_FRT, metrics_bucket (frt), 1);
                s_add (facts, conv, h, a, METRICS_ROUNDS, 0, 1);
                s_add (facts, conv, h, a, METRICS_ROUND_SUM, 0, frt);
                s_add (facts, conv, h, a, H + METRICS_HIST_ROUND, metrics_bucket (frt), 1);
            }
        }
    } else
        s_add (facts, conv, h, "", METRICS_CONV_SHOP, 0, 1);
    if (conv->ever_queued)
        s_add (facts, conv, h, "", METRICS_CONV_QUEUED, 0, 1);
    if (conv->closed) {
        int64_t ttc = s_nonneg (conv->last_at - conv->first_at);
        s_add (facts, conv, h, "", METRICS_CONV_CLOSED, 0, 1);
        s_add (facts, conv, h, "", METRICS_CLOSE_SUM, 0, ttc);
        s_add (facts, conv, h, "", H + METRICS_HIST_CLOSE, metrics_bucket (ttc), 1);
        if (conv->queued)
            s_add (facts, conv, h, "", METRICS_CONV_ABANDONED, 0, 1);
    }
}

static bool
s_same (const s_fact_t *a, const s_fact_t *b)
{
    return a->hour == b->hour && a->what == b->what && a->bucket == b->bucket &&
           a->value == b->value && a->channel == b->channel && strcmp (a->agent, b->agent) == 0 &&
           strcmp (a->group, b->group) == 0;
}

//  Emit new - old: what the conversation's change adds and takes back.
static void
s_diff (metrics_model_t *self, const char *shop_id, s_facts_t *old, s_facts_t *now)
{
    for (int i = 0; i < now->count; i++)
        for (int j = 0; j < old->count; j++)
            if (!old->facts[j].matched && s_same (&now->facts[i], &old->facts[j])) {
                now->facts[i].matched = old->facts[j].matched = true;
                break;
            }
    for (int j = 0; j < old->count; j++) {
        const s_fact_t *f = &old->facts[j];
        if (!f->matched)
            s_emit (self, shop_id, f->hour, f->agent, f->channel, f->group, f->what, f->bucket,
                    -f->value);
    }
    for (int i = 0; i < now->count; i++) {
        const s_fact_t *f = &now->facts[i];
        if (!f->matched)
            s_emit (self, shop_id, f->hour, f->agent, f->channel, f->group, f->what, f->bucket,
                    f->value);
    }
}

//  Every event on a conversation runs between these two: the contribution
//  before, the change, the contribution after, the difference out, and the
//  new state to be persisted.
typedef struct {
    s_shop_t *shop;       //  its shop
    metrics_conv_t *conv; //  the conversation
    s_facts_t before;     //  its contribution before the event
} s_change_t;

static void
s_begin (s_change_t *change, s_shop_t *shop, metrics_conv_t *conv)
{
    change->shop = shop;
    change->conv = conv;
    s_contribution (conv, &change->before);
}

static void
s_end (metrics_model_t *self, s_change_t *change)
{
    s_facts_t after;
    s_contribution (change->conv, &after);
    s_diff (self, change->shop->shop_id, &change->before, &after);
    if (self->sink.conv_changed)
        self->sink.conv_changed (self->sink.arg, change->shop->shop_id, change->conv);
    s_will_evict (self, change->shop, change->conv);
}

//  ---------------------------------------------------------------------
//  Events

void
metrics_model_on_opened (metrics_model_t *self, const char *shop_id, int64_t conversation_id,
                         int channel, const char *customer, int intent, bool vip)
{
    s_shop_t *shop = s_shop (self, shop_id);
    s_change_t change;
    s_begin (&change, shop, s_conv (shop, conversation_id));
    metrics_conv_t *conv = change.conv;
    if (!conv->channel)
        conv->channel = channel;
    if (!conv->customer[0])
        snprintf (conv->customer, sizeof conv->customer, "%s", customer ? customer : "");
    if (!conv->intent)
        conv->intent = intent;
    conv->vip = conv->vip || vip;
    s_end (self, &change);
}

void
metrics_model_on_line (metrics_model_t *self, const char *shop_id, const metrics_line_t *line)
{
    s_shop_t *shop = s_shop (self, shop_id);
    s_change_t change;
    s_begin (&change, shop, s_conv (shop, line->conversation_id));
    metrics_conv_t *conv = change.conv;
    if (!conv->channel)
        conv->channel = line->channel;
    int64_t t = line->sent_at;
    int64_t h = s_hour (t);
    //  The first line that is not the auto-responder's opens it, for the
    //  numbers: its time is the conversation's hour, its author says who
    //  opened it.
    if (!conv->first_at && !line->auto_reply) {
        conv->first_at = t;
        conv->customer_opened = line->from_customer;
        for (int i = 0; i < conv->wait_count; i++)
            s_wait_fact (self, shop, conv, conv->waits[i]);
        free (conv->waits);
        conv->waits = NULL;
        conv->wait_count = 0;
    }
    if (t > conv->last_at)
        conv->last_at = t;
    if (line->from_customer) {
        s_fact (self, shop, conv, h, "", METRICS_CUSTOMER_MSGS, 0, 1);
        if (!conv->round_at) {
            conv->round_at = t;
            conv->round_msgs = 0;
        }
        conv->round_msgs++;
    } else if (line->auto_reply)
        s_fact (self, shop, conv, h, "", METRICS_AUTO_REPLIES, 0, 1);
    else {
        const char *a = line->agent_id ? line->agent_id : "";
        s_fact (self, shop, conv, h, a, METRICS_REPLIES, 0, 1);
        if (line->flag_count > 0) {
            s_fact (self, shop, conv, h, a, METRICS_QA_FLAGGED, 0, 1);
            s_fact (self, shop, conv, h, a, METRICS_QA_FLAGS, 0, line->flag_count);
            metrics_qa_line_t qa = {line->message_id,
                                    conv->id,
                                    a,
                                    conv->channel,
                                    line->sent_at,
                                    line->flags,
                                    line->flag_count,
                                    line->body ? line->body : ""};
            if (self->sink.qa_line)
                self->sink.qa_line (self->sink.arg, shop_id, &qa);
        }
        if (conv->round_at) {
            if (conv->customer_opened && !conv->answered_at) {
                //  The first response: counted with the conversation.
                conv->answered_at = t;
                snprintf (conv->first_agent, sizeof conv->first_agent, "%s", a);
                conv->round1_msgs = conv->round_msgs;
            } else {
                int64_t rh = s_hour (conv->round_at);
                int64_t latency = s_nonneg (t - conv->round_at);
                s_fact (self, shop, conv, rh, a, METRICS_ROUNDS, 0, 1);
                s_fact (self, shop, conv, rh, a, METRICS_ROUND_SUM, 0, latency);
                s_fact (self, shop, conv, rh, a, METRICS_ROUND_MSGS, 0, conv->round_msgs);
                s_hist_fact (self, shop, conv, rh, a, METRICS_HIST_ROUND, latency);
            }
            conv->round_at = 0;
            conv->round_msgs = 0;
        }
        snprintf (conv->last_replier, sizeof conv->last_replier, "%s", a);
    }
    s_end (self, &change);
}

void
metrics_model_on_closed (metrics_model_t *self, const char *shop_id, int64_t conversation_id)
{
    s_shop_t *shop = s_shop (self, shop_id);
    metrics_conv_t *conv = s_find (shop, conversation_id);
    if (!conv || conv->closed)
        return;
    s_change_t change;
    s_begin (&change, shop, conv);
    if (conv->round_at)
        s_fact (self, shop, conv, s_hour (conv->round_at), "", METRICS_ROUNDS_UNANSWERED, 0, 1);
    conv->closed = true;
    s_end (self, &change);
}

//  The owner when intake received the rating (see the header).
static const char *
s_owner_at (const metrics_conv_t *conv, int64_t at_ms)
{
    for (int i = conv->owner_count - 1; i >= 0; i--)
        if (conv->owners[i].at_ms <= at_ms) {
            if (conv->owners[i].agent_id[0])
                return conv->owners[i].agent_id;
            break;
        }
    return conv->last_replier;
}

void
metrics_model_on_rating (metrics_model_t *self, const char *shop_id, const metrics_rating_t *rating)
{
    if (rating->score < 1 || rating->score > 5)
        return;
    int what = METRICS_RATING_1 + rating->score - 1;
    int64_t h = s_hour (rating->sent_at ? rating->sent_at : rating->received_at);
    const char *named = rating->agent_id ? rating->agent_id : "";
    s_shop_t *shop = s_shop (self, shop_id);
    metrics_conv_t *conv = rating->conversation_id ? s_find (shop, rating->conversation_id) : NULL;
    if (!conv) {
        s_emit (self, shop_id, h, named, rating->channel, "", what, 0, 1);
        return;
    }
    s_change_t change;
    s_begin (&change, shop, conv);
    const char *agent = *named ? named : s_owner_at (conv, rating->received_at);
    s_fact (self, shop, conv, h, agent, what, 0, 1);
    s_end (self, &change);
}

void
metrics_model_on_presence (metrics_model_t *self, const char *shop_id, const char *agent_id,
                           int status, int64_t at_ms)
{
    if (!agent_id || !*agent_id)
        return;
    s_agent_t *agent = s_agent (s_shop (self, shop_id), agent_id);
    agent->status = status;
    agent->since_ms = at_ms;
    if (self->sink.presence)
        self->sink.presence (self->sink.arg, shop_id, agent_id, status, at_ms);
}

void
metrics_model_on_queued (metrics_model_t *self, const char *shop_id, int64_t conversation_id,
                         const char *group, bool after_hours, int64_t at_ms)
{
    s_shop_t *shop = s_shop (self, shop_id);
    s_change_t change;
    s_begin (&change, shop, s_conv (shop, conversation_id));
    metrics_conv_t *conv = change.conv;
    s_set_group (self, shop, conv, group);
    //  Service hours are those of the conversation's opening: routing's
    //  first word about it. Queued after hours later (its agent's shift
    //  ended, a handover) it stays a conversation opened in service hours.
    if (!conv->ever_queued && conv->owner_count == 0)
        conv->after_hours = after_hours;
    conv->queued = true;
    conv->ever_queued = true;
    if (conv->owner[0]) {
        conv->owner[0] = '\0';
        metrics_conv_add_owner (conv, at_ms, "");
    }
    s_end (self, &change);
}

void
metrics_model_on_assigned (metrics_model_t *self, const char *shop_id, int64_t conversation_id,
                           const char *agent_id, const char *group, int64_t waited_ms,
                           int64_t at_ms)
{
    s_shop_t *shop = s_shop (self, shop_id);
    s_change_t change;
    s_begin (&change, shop, s_conv (shop, conversation_id));
    metrics_conv_t *conv = change.conv;
    s_set_group (self, shop, conv, group);
    conv->queued = false;
    snprintf (conv->owner, sizeof conv->owner, "%s", agent_id ? agent_id : "");
    metrics_conv_add_owner (conv, at_ms, conv->owner);
    if (waited_ms > 0) {
        if (conv->first_at)
            s_wait_fact (self, shop, conv, waited_ms);
        else
            metrics_conv_add_wait (conv, waited_ms); //  its hour is not known yet
    }
    s_end (self, &change);
}

//  ---------------------------------------------------------------------
//  Now

void
metrics_model_each_open (metrics_model_t *self, const char *shop_id, metrics_conv_fn *fn, void *arg)
{
    s_shop_t *shop = zhashx_lookup (self->shops, shop_id);
    if (!shop)
        return;
    for (metrics_conv_t *c = zhashx_first (shop->convs); c; c = zhashx_next (shop->convs))
        if (!c->closed && c->first_at)
            fn (arg, c);
}

static int
s_compare_agents (const void *a, const void *b)
{
    return strcmp (((const metrics_agent_now_t *) a)->agent_id,
                   ((const metrics_agent_now_t *) b)->agent_id);
}

typedef struct {
    metrics_agent_now_t *rows; //  agents so far
    int count;                 //  used
    int cap;                   //  allocated
} s_agents_t;

static metrics_agent_now_t *
s_agent_row (s_agents_t *agents, const char *agent_id)
{
    for (int i = 0; i < agents->count; i++)
        if (strcmp (agents->rows[i].agent_id, agent_id) == 0)
            return &agents->rows[i];
    if (agents->count == agents->cap) {
        agents->cap = agents->cap ? agents->cap * 2 : 16;
        agents->rows = realloc (agents->rows, (size_t) agents->cap * sizeof *agents->rows);
    }
    metrics_agent_now_t *row = &agents->rows[agents->count++];
    memset (row, 0, sizeof *row);
    row->agent_id = agent_id;
    return row;
}

int
metrics_model_agents_now (metrics_model_t *self, const char *shop_id, metrics_agent_now_t **out)
{
    s_agents_t agents = {NULL, 0, 0};
    s_shop_t *shop = zhashx_lookup (self->shops, shop_id);
    if (shop) {
        for (s_agent_t *a = zhashx_first (shop->agents); a; a = zhashx_next (shop->agents)) {
            metrics_agent_now_t *row = s_agent_row (&agents, a->agent_id);
            row->status = a->status;
            row->since_ms = a->since_ms;
        }
        for (metrics_conv_t *c = zhashx_first (shop->convs); c; c = zhashx_next (shop->convs)) {
            if (c->closed || !c->first_at || !c->owner[0] || c->queued)
                continue;
            metrics_agent_now_t *row = s_agent_row (&agents, c->owner);
            row->load++;
            if (c->round_at) {
                row->waiting++;
                if (!row->oldest_wait || c->round_at < row->oldest_wait)
                    row->oldest_wait = c->round_at;
            }
        }
    }
    if (agents.count > 1)
        qsort (agents.rows, (size_t) agents.count, sizeof *agents.rows, s_compare_agents);
    *out = agents.rows;
    return agents.count;
}

void
metrics_model_stats (metrics_model_t *self, metrics_stats_t *out)
{
    memset (out, 0, sizeof *out);
    for (s_shop_t *shop = zhashx_first (self->shops); shop; shop = zhashx_next (self->shops)) {
        out->shops++;
        out->agents += (int) zhashx_size (shop->agents);
        for (metrics_conv_t *c = zhashx_first (shop->convs); c; c = zhashx_next (shop->convs)) {
            out->conversations++;
            if (!c->closed)
                out->open++;
        }
    }
}
