/*  routing_model — assignment, queues, shifts, overflow and response clocks. */
#include "routing_model.h"

#include "kefu/v1/common.pb-c.h"
#include "kefu/v1/gateway.pb-c.h"
#include "kf_valid.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define S_DAY_MS  86400000LL
#define S_WEEK_MS (7 * S_DAY_MS)

//  ---------------------------------------------------------------------
//  Structures

typedef struct s_shop_s s_shop_t;

struct routing_conv_s {
    s_shop_t *shop;                 //  the shop it belongs to (for its group's name)
    int64_t id;                     //  conversation id
    int64_t customer_id;            //  kefu customer id
    int channel;                    //  Channel
    char ccid[ROUTING_ID_MAX + 1];  //  customer id on the channel
    int group;                      //  group index in the shop's config
    int cls;                        //  routing_class_t
    bool vip;                       //  VIP customer
    int state;                      //  routing_state_t
    char agent[ROUTING_ID_MAX + 1]; //  owner, "" when none
    int64_t opened_at;              //  ms
    int64_t queued_at;              //  ms, 0 if never queued
    int64_t group_since;            //  ms: in this group since
    int64_t assigned_at;            //  ms
    int64_t waiting_since;          //  ms: customer waiting since, 0 = answered
    int64_t sla_deadline;           //  armed threshold instant, 0 = none
    int64_t sla_threshold;          //  threshold used for it
    bool sla_breached;              //  reported for the current wait
    bool busy_replied;              //  busy reply sent
    bool after_hours_replied;       //  after-hours reply sent
    int assign_seq;                 //  assignments so far
    int overflow_hops;              //  overflows so far
    bool stored;                    //  the record has its row (restored or reported)
    //  Queued by a handover that found nobody free: the agent who left it
    //  ("" otherwise) and their note (owned, NULL if none). Both go with
    //  the conversation to whoever takes it from the queue.
    char handed_from[ROUTING_ID_MAX + 1];
    char *handover_note;
    int intent;                        //  current Intent (quick replies), 0 = not known
    char order_id[ROUTING_ID_MAX + 1]; //  the order last referred to, "" if none
};

typedef struct {
    char agent_id[ROUTING_ID_MAX + 1]; //  agent
    routing_agent_config_t *cfg;       //  borrowed from the shop config; NULL if not configured
    int status;                        //  AgentStatus (OFFLINE until reported)
    int64_t status_since;              //  ms
    int load;                          //  assigned open conversations
    int64_t last_assigned;             //  ms of the last new conversation (idle since)
    bool on_shift;                     //  at the last shift refresh
    bool shift_told;                   //  on_shift reported to the sink since configured
    char *note;                        //  handover note from the last presence event, owned
} s_agent_t;

typedef struct {
    routing_conv_t **items; //  sorted: class, VIP first, queued_at, id
    int count;              //  used
    int cap;                //  allocated
} s_queue_t;

typedef struct {
    int64_t customer_id;               //  whom (its key in the shop's map)
    char agent_id[ROUTING_ID_MAX + 1]; //  who served
    int64_t at;                        //  when
    void *handle;                      //  its place in the shop's served_order
} s_served_t;

struct s_shop_s {
    routing_shop_config_t *config;        //  owned
    kf_tz_t *tz;                          //  the shop's time zone
    zhashx_t *agents;                     //  agent id -> s_agent_t
    zhashx_t *convs;                      //  &id -> routing_conv_t (open ones)
    s_queue_t queues[ROUTING_GROUPS_MAX]; //  one per group
    zhashx_t *served;                     //  &customer_id -> s_served_t
    zlistx_t *served_order;               //  the same, least recently served first
    int64_t boundary;                     //  armed next shift boundary, 0 = none
};

typedef enum { S_BOUNDARY, S_OVERFLOW, S_SLA } s_kind_t;

typedef struct {
    int64_t at;      //  when
    s_kind_t kind;   //  what
    s_shop_t *shop;  //  where
    int64_t conv_id; //  which conversation (overflow, SLA)
} s_deadline_t;

struct _routing_model_t {
    kf_clock_t *clock;     //  borrowed
    routing_sink_t sink;   //  decisions go here
    zhashx_t *shops;       //  shop id -> s_shop_t
    s_deadline_t *heap;    //  min-heap of deadlines (lazily validated)
    int heap_count;        //  used
    int heap_cap;          //  allocated
    routing_stats_t stats; //  counters
};

//  ---------------------------------------------------------------------
//  Configuration

routing_shop_config_t *
routing_shop_config_new (const char *shop_id)
{
    routing_shop_config_t *self = calloc (1, sizeof *self);
    snprintf (self->shop_id, sizeof self->shop_id, "%s", shop_id);
    snprintf (self->timezone, sizeof self->timezone, "Asia/Shanghai");
    for (int i = 0; i < 10; i++)
        self->intent_group[i] = -1;
    self->overflow_order[0] = -1;
    self->busy_reply = strdup ("亲，现在咨询的人比较多，已经为您排队，客服马上就来，请稍候～");
    self->after_hours_reply = strdup (
        "亲，现在是非工作时间（客服时间 08:30-23:00），您的留言我们上班后会第一时间回复您～");
    self->sticky_days = 3;
    self->sla_day_ms = 30000;
    self->sla_night_ms = 60000;
    self->night_shift = -1;
    return self;
}

void
routing_shop_config_destroy (routing_shop_config_t **self_p)
{
    if (self_p && *self_p) {
        routing_shop_config_t *self = *self_p;
        for (int i = 0; i < self->agent_count; i++)
            free (self->agents[i].handover_note);
        free (self->agents);
        free (self->busy_reply);
        free (self->after_hours_reply);
        for (int i = 0; i < self->phrase_count; i++)
            free (self->phrases[i].text);
        free (self->phrases);
        free (self);
        *self_p = NULL;
    }
}

int
routing_shop_config_group (const routing_shop_config_t *self, const char *name)
{
    for (int i = 0; i < self->group_count; i++)
        if (strcmp (self->groups[i].name, name) == 0)
            return i;
    return -1;
}

int
routing_shop_config_shift (const routing_shop_config_t *self, const char *name)
{
    for (int i = 0; i < self->shift_count; i++)
        if (strcmp (self->shifts[i].name, name) == 0)
            return i;
    return -1;
}

void
routing_shop_config_fill_defaults (routing_shop_config_t *self)
{
    if (self->group_count == 0) {
        self->groups[0] = (routing_group_t){"presales", "售前", 1, 120000};
        self->groups[1] = (routing_group_t){"aftersales", "售后", 0, 120000};
        self->group_count = 2;
    }
    if (self->shift_count == 0) {
        self->shifts[0] = (routing_shift_t){"day", 8 * 60 + 30, 17 * 60 + 30};
        self->shifts[1] = (routing_shift_t){"night", 17 * 60 + 30, 23 * 60};
        self->shift_count = 2;
    }
    if (self->night_shift < 0)
        self->night_shift = routing_shop_config_shift (self, "night");
}

//  The group an intent goes to.
static int
s_group_of_intent (const routing_shop_config_t *config, int intent)
{
    if (intent >= 0 && intent < 10 && config->intent_group[intent] >= 0)
        return config->intent_group[intent];
    const char *name;
    switch (intent) {
    case KEFU__V1__INTENT__INTENT_URGE_SHIPPING:
    case KEFU__V1__INTENT__INTENT_LOGISTICS:
    case KEFU__V1__INTENT__INTENT_RETURN_REFUND:
    case KEFU__V1__INTENT__INTENT_COMPLAINT:
    case KEFU__V1__INTENT__INTENT_NEGATIVE_REVIEW:
        name = "aftersales";
        break;
    default:
        name = "presales";
    }
    int g = routing_shop_config_group (config, name);
    return g >= 0 ? g : 0;
}

static int
s_class_of (int intent, int priority)
{
    if (intent == KEFU__V1__INTENT__INTENT_COMPLAINT ||
        intent == KEFU__V1__INTENT__INTENT_NEGATIVE_REVIEW ||
        priority == KEFU__V1__PRIORITY__PRIORITY_URGENT)
        return ROUTING_CLASS_URGENT;
    if (intent == KEFU__V1__INTENT__INTENT_URGE_SHIPPING ||
        intent == KEFU__V1__INTENT__INTENT_LOGISTICS ||
        intent == KEFU__V1__INTENT__INTENT_RETURN_REFUND ||
        priority == KEFU__V1__PRIORITY__PRIORITY_HIGH)
        return ROUTING_CLASS_AFTERSALES;
    return ROUTING_CLASS_PRESALES;
}

//  ---------------------------------------------------------------------
//  Deadlines: a binary min-heap, validated when popped.

static void
s_heap_push (routing_model_t *self, int64_t at, s_kind_t kind, s_shop_t *shop, int64_t conv_id)
{
    if (self->heap_count == self->heap_cap) {
        self->heap_cap = self->heap_cap ? self->heap_cap * 2 : 256;
        self->heap = realloc (self->heap, (size_t) self->heap_cap * sizeof *self->heap);
    }
    int i = self->heap_count++;
    self->heap[i] = (s_deadline_t){at, kind, shop, conv_id};
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (self->heap[parent].at <= self->heap[i].at)
            break;
        s_deadline_t t = self->heap[parent];
        self->heap[parent] = self->heap[i];
        self->heap[i] = t;
        i = parent;
    }
}

static s_deadline_t
s_heap_pop (routing_model_t *self)
{
    s_deadline_t top = self->heap[0];
    self->heap[0] = self->heap[--self->heap_count];
    int i = 0;
    while (true) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < self->heap_count && self->heap[l].at < self->heap[m].at)
            m = l;
        if (r < self->heap_count && self->heap[r].at < self->heap[m].at)
            m = r;
        if (m == i)
            break;
        s_deadline_t t = self->heap[m];
        self->heap[m] = self->heap[i];
        self->heap[i] = t;
        i = m;
    }
    return top;
}

//  ---------------------------------------------------------------------
//  Time: shifts in the shop's local time

static int64_t
s_now (routing_model_t *self)
{
    return kf_clock_now_ms (self->clock);
}

static bool
s_shift_covers (const routing_shift_t *s, int minute)
{
    if (s->start_minute < s->end_minute)
        return minute >= s->start_minute && minute < s->end_minute;
    return minute >= s->start_minute || minute < s->end_minute; //  crosses midnight
}

//  Is a schedule row in force at this local instant? An overnight shift
//  belongs to the day it started.
static bool
s_schedule_covers (const routing_shop_config_t *cfg, const routing_schedule_t *sch,
                   int64_t local_ms)
{
    if (sch->shift < 0 || sch->shift >= cfg->shift_count)
        return false;
    const routing_shift_t *shift = &cfg->shifts[sch->shift];
    int64_t day_index = local_ms >= 0 ? local_ms / S_DAY_MS : (local_ms - S_DAY_MS + 1) / S_DAY_MS;
    int minute = (int) ((local_ms - day_index * S_DAY_MS) / 60000);
    if (!s_shift_covers (shift, minute))
        return false;
    if (shift->start_minute >= shift->end_minute && minute < shift->end_minute)
        day_index--; //  after midnight: yesterday's shift
    //  1970-01-01 was a Thursday: Monday-based weekday and week number.
    int weekday = (int) (((day_index + 3) % 7 + 7) % 7);
    int64_t week = kf_tz_week_of_day (day_index);
    if (!(sch->days & (1 << weekday)))
        return false;
    int weeks = sch->rotation_weeks > 0 ? sch->rotation_weeks : 1;
    return (int) (((week % weeks) + weeks) % weeks) == sch->rotation_offset;
}

static int64_t
s_local (s_shop_t *shop, int64_t utc_ms)
{
    return utc_ms + (int64_t) kf_tz_offset_s (shop->tz, utc_ms) * 1000;
}

static bool
s_agent_on_shift_at (s_shop_t *shop, const routing_agent_config_t *cfg, int64_t utc_ms)
{
    int64_t local = s_local (shop, utc_ms);
    for (int i = 0; i < cfg->schedule_count; i++)
        if (s_schedule_covers (shop->config, &cfg->schedule[i], local))
            return true;
    return false;
}

static bool
s_is_night (s_shop_t *shop, int64_t utc_ms)
{
    const routing_shop_config_t *cfg = shop->config;
    if (cfg->night_shift < 0 || cfg->night_shift >= cfg->shift_count)
        return false;
    int64_t local = s_local (shop, utc_ms);
    int minute = (int) (((local % S_DAY_MS) + S_DAY_MS) % S_DAY_MS / 60000);
    return s_shift_covers (&cfg->shifts[cfg->night_shift], minute);
}

//  The next instant after now at which any shift starts or ends.
static int64_t
s_next_boundary (s_shop_t *shop, int64_t now)
{
    const routing_shop_config_t *cfg = shop->config;
    int64_t local = s_local (shop, now);
    int64_t day_start_local = local - (((local % S_DAY_MS) + S_DAY_MS) % S_DAY_MS);
    int64_t best = INT64_MAX;
    for (int d = 0; d <= 1; d++)
        for (int i = 0; i < cfg->shift_count; i++) {
            int minutes[2] = {cfg->shifts[i].start_minute, cfg->shifts[i].end_minute};
            for (int k = 0; k < 2; k++) {
                int64_t candidate_local = day_start_local + d * S_DAY_MS + minutes[k] * 60000LL;
                //  Back to UTC with the offset in force around then.
                int64_t utc =
                    candidate_local - (int64_t) kf_tz_offset_s (shop->tz, candidate_local) * 1000;
                if (utc > now && utc < best)
                    best = utc;
            }
        }
    return best;
}

//  ---------------------------------------------------------------------
//  Lookups

static s_shop_t *
s_shop (routing_model_t *self, const char *shop_id)
{
    return zhashx_lookup (self->shops, shop_id);
}

//  Conversations and customers are keyed by their ids themselves, not by
//  their decimal text: no formatting, copying or string comparison per
//  lookup. A key points at an int64_t: the item's own id field for stored
//  items (it lives as long as the item), a local variable for lookups.
size_t
routing_id_hash (const void *key)
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

static void s_free_item (void **item_p);
static void s_conv_destroy (void **item_p);

//  A map from ids to owned items whose id field is the key (never
//  zhashx_update it: the old item, and so its key, would be freed);
//  destructor frees an item.
static zhashx_t *
s_id_map_new (czmq_destructor *destructor)
{
    zhashx_t *map = zhashx_new ();
    zhashx_set_key_duplicator (map, NULL);
    zhashx_set_key_destructor (map, NULL);
    zhashx_set_key_hasher (map, routing_id_hash);
    zhashx_set_key_comparator (map, s_id_compare);
    zhashx_set_destructor (map, destructor);
    return map;
}

static routing_conv_t *
s_conv (s_shop_t *shop, int64_t id)
{
    return zhashx_lookup (shop->convs, &id);
}

static s_agent_t *
s_agent (s_shop_t *shop, const char *agent_id)
{
    return agent_id && *agent_id ? zhashx_lookup (shop->agents, agent_id) : NULL;
}

static s_agent_t *
s_agent_ensure (s_shop_t *shop, const char *agent_id)
{
    s_agent_t *a = s_agent (shop, agent_id);
    if (!a) {
        a = calloc (1, sizeof *a);
        snprintf (a->agent_id, sizeof a->agent_id, "%s", agent_id);
        a->status = KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE;
        zhashx_insert (shop->agents, agent_id, a);
    }
    return a;
}

static bool
s_eligible (const s_agent_t *a, int group)
{
    return a->cfg && a->cfg->active && a->status == KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE &&
           a->on_shift && a->load < a->cfg->capacity &&
           (group < 0 || (a->cfg->groups & (1u << group)));
}

static bool
s_any_on_shift (s_shop_t *shop)
{
    for (s_agent_t *a = zhashx_first (shop->agents); a; a = zhashx_next (shop->agents))
        if (a->cfg && a->cfg->active && a->on_shift)
            return true;
    return false;
}

//  The best eligible agent of a group for conv (NULL if none): the most
//  spare capacity relative to capacity, times weight; ties to the longest
//  idle, then the agent id (deterministic). VIP customers go to VIP-capable
//  agents when one is eligible.
static s_agent_t *
s_pick (s_shop_t *shop, const routing_conv_t *conv, int group, const char *exclude)
{
    for (int pass = 0; pass < 2; pass++) {
        bool vip_only = pass == 0 && conv->vip;
        if (pass == 1 && !conv->vip)
            break;
        s_agent_t *best = NULL;
        double best_score = -1;
        for (s_agent_t *a = zhashx_first (shop->agents); a; a = zhashx_next (shop->agents)) {
            if (!s_eligible (a, group) || (exclude && strcmp (a->agent_id, exclude) == 0))
                continue;
            if (vip_only && !a->cfg->vip_capable)
                continue;
            double score = (double) a->cfg->weight * (double) (a->cfg->capacity - a->load) /
                           (double) a->cfg->capacity;
            bool better =
                !best || score > best_score + 1e-9 ||
                (score > best_score - 1e-9 && (a->last_assigned < best->last_assigned ||
                                               (a->last_assigned == best->last_assigned &&
                                                strcmp (a->agent_id, best->agent_id) < 0)));
            if (better) {
                best = a;
                best_score = score;
            }
        }
        if (best)
            return best;
    }
    return NULL;
}

//  ---------------------------------------------------------------------
//  Queues

static int
s_queue_compare (const routing_conv_t *a, const routing_conv_t *b)
{
    if (a->cls != b->cls)
        return a->cls < b->cls ? -1 : 1;
    if (a->vip != b->vip)
        return a->vip ? -1 : 1;
    if (a->queued_at != b->queued_at)
        return a->queued_at < b->queued_at ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

static int
s_queue_insert (s_queue_t *q, routing_conv_t *conv)
{
    if (q->count == q->cap) {
        q->cap = q->cap ? q->cap * 2 : 32;
        q->items = realloc (q->items, (size_t) q->cap * sizeof *q->items);
    }
    int lo = 0, hi = q->count;
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (s_queue_compare (q->items[mid], conv) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove (q->items + lo + 1, q->items + lo, (size_t) (q->count - lo) * sizeof *q->items);
    q->items[lo] = conv;
    q->count++;
    return lo;
}

static void
s_queue_remove (s_queue_t *q, routing_conv_t *conv)
{
    for (int i = 0; i < q->count; i++)
        if (q->items[i] == conv) {
            memmove (q->items + i, q->items + i + 1,
                     (size_t) (q->count - i - 1) * sizeof *q->items);
            q->count--;
            return;
        }
}

//  ---------------------------------------------------------------------
//  Decisions

static void
s_changed (routing_model_t *self, s_shop_t *shop, routing_conv_t *conv)
{
    if (self->sink.conv_changed)
        self->sink.conv_changed (self->sink.arg, shop->config->shop_id, conv);
    conv->stored = true;
}

static void
s_arm_sla (routing_model_t *self, s_shop_t *shop, routing_conv_t *conv, int64_t from)
{
    conv->sla_threshold =
        s_is_night (shop, from) ? shop->config->sla_night_ms : shop->config->sla_day_ms;
    conv->sla_deadline = from + conv->sla_threshold;
    s_heap_push (self, conv->sla_deadline, S_SLA, shop, conv->id);
}

static int
s_overflow_target (s_shop_t *shop, int group)
{
    const routing_shop_config_t *cfg = shop->config;
    if (cfg->groups[group].overflow_to >= 0)
        return cfg->groups[group].overflow_to;
    for (int i = 0; i < ROUTING_GROUPS_MAX && cfg->overflow_order[i] >= 0; i++)
        if (cfg->overflow_order[i] == group)
            return i + 1 < ROUTING_GROUPS_MAX ? cfg->overflow_order[i + 1] : -1;
    return -1;
}

//  Who owned a conversation last: its owner, or while it waits after a
//  handover the agent who left it ("" if nobody ever did).
static const char *
s_last_owner (const routing_conv_t *conv)
{
    return conv->agent[0] ? conv->agent : conv->handed_from;
}

//  The conversation has an owner again: a handover it waited with is
//  delivered (its note went with the assignment).
static void
s_handover_done (routing_conv_t *conv)
{
    conv->handed_from[0] = '\0';
    free (conv->handover_note);
    conv->handover_note = NULL;
}

static void
s_assign (routing_model_t *self, s_shop_t *shop, routing_conv_t *conv, s_agent_t *agent, int reason,
          const char *note, const char *by)
{
    int64_t now = s_now (self);
    char previous[ROUTING_ID_MAX + 1];
    snprintf (previous, sizeof previous, "%s", s_last_owner (conv));
    //  A conversation taken from the queue after a handover brings the
    //  note of the agent who left it, unless the act has its own (a
    //  transfer's reason).
    if ((!note || !*note) && conv->handover_note)
        note = conv->handover_note;
    s_agent_t *prev = s_agent (shop, conv->agent);
    if (prev && conv->state == ROUTING_ASSIGNED && prev->load > 0)
        prev->load--;
    int64_t waited = conv->state == ROUTING_QUEUED && conv->queued_at ? now - conv->queued_at : 0;
    if (conv->state == ROUTING_QUEUED)
        s_queue_remove (&shop->queues[conv->group], conv);
    conv->state = ROUTING_ASSIGNED;
    snprintf (conv->agent, sizeof conv->agent, "%s", agent->agent_id);
    conv->assigned_at = now;
    conv->assign_seq++;
    agent->load++;
    agent->last_assigned = now;
    //  A customer still waiting starts a fresh clock with the new owner.
    conv->sla_breached = false;
    if (conv->waiting_since)
        s_arm_sla (self, shop, conv, now > conv->waiting_since ? now : conv->waiting_since);
    self->stats.decisions++;
    routing_assignment_t a = {shop->config->shop_id,
                              conv,
                              agent->agent_id,
                              previous,
                              shop->config->groups[conv->group].name,
                              reason,
                              note ? note : "",
                              by ? by : "routing",
                              waited,
                              conv->assign_seq};
    if (self->sink.assigned)
        self->sink.assigned (self->sink.arg, &a);
    s_handover_done (conv);
    s_changed (self, shop, conv);
}

static void
s_enqueue (routing_model_t *self, s_shop_t *shop, routing_conv_t *conv)
{
    int64_t now = s_now (self);
    bool after_hours = !s_any_on_shift (shop);
    conv->state = ROUTING_QUEUED;
    conv->agent[0] = '\0';
    if (!conv->queued_at)
        conv->queued_at = now;
    if (!conv->group_since)
        conv->group_since = now;
    int position = s_queue_insert (&shop->queues[conv->group], conv) + 1;
    self->stats.queued_total++;
    if (self->sink.queued)
        self->sink.queued (self->sink.arg, shop->config->shop_id, conv, after_hours, position);
    //  One busy reply and one after-hours reply per conversation at most.
    if (after_hours && !conv->after_hours_replied) {
        conv->after_hours_replied = true;
        if (self->sink.auto_reply)
            self->sink.auto_reply (self->sink.arg, shop->config->shop_id, conv,
                                   KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_AFTER_HOURS,
                                   shop->config->after_hours_reply);
    } else if (!after_hours && !conv->busy_replied) {
        conv->busy_replied = true;
        if (self->sink.auto_reply)
            self->sink.auto_reply (self->sink.arg, shop->config->shop_id, conv,
                                   KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_BUSY,
                                   shop->config->busy_reply);
    }
    if (s_overflow_target (shop, conv->group) >= 0 &&
        conv->overflow_hops < shop->config->group_count - 1)
        s_heap_push (self, conv->group_since + shop->config->groups[conv->group].overflow_after_ms,
                     S_OVERFLOW, shop, conv->id);
    s_changed (self, shop, conv);
}

//  Assign queue heads while someone eligible has room.
static void
s_drain (routing_model_t *self, s_shop_t *shop, uint32_t groups)
{
    for (int g = 0; g < shop->config->group_count; g++) {
        if (!(groups & (1u << g)))
            continue;
        s_queue_t *q = &shop->queues[g];
        while (q->count > 0) {
            routing_conv_t *head = q->items[0];
            s_agent_t *agent = s_pick (shop, head, g, NULL);
            if (!agent)
                break;
            int reason = head->overflow_hops > 0 ? KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_OVERFLOW
                                                 : KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_QUEUE;
            s_assign (self, shop, head, agent, reason, NULL, NULL);
        }
    }
}

static uint32_t
s_all_groups (void)
{
    return 0xffffffffu;
}

//  Route a conversation that has no owner: sticky agent, best agent, queue.
static void
s_route (routing_model_t *self, s_shop_t *shop, routing_conv_t *conv, bool try_sticky)
{
    int64_t now = s_now (self);
    if (try_sticky && shop->config->sticky_days > 0) {
        s_served_t *served = zhashx_lookup (shop->served, &conv->customer_id);
        if (served && now - served->at <= shop->config->sticky_days * S_DAY_MS) {
            s_agent_t *agent = s_agent (shop, served->agent_id);
            if (agent && s_eligible (agent, -1)) {
                s_assign (self, shop, conv, agent, KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_STICKY,
                          NULL, NULL);
                return;
            }
        }
    }
    //  Nobody may jump the queue: only an empty queue lets a newcomer in.
    s_agent_t *agent =
        shop->queues[conv->group].count == 0 ? s_pick (shop, conv, conv->group, NULL) : NULL;
    if (agent)
        s_assign (self, shop, conv, agent, KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_NEW, NULL, NULL);
    else
        s_enqueue (self, shop, conv);
}

//  A handover that finds nobody free: the conversation goes back to the
//  queue, ahead of newer arrivals. That is a change of owner like any
//  other — to nobody, recorded (previous owner, reason handover, the note,
//  by routing) and told to the gateway (an assignment with agent_id "")
//  — and the conversation keeps the agent and the note for whoever takes
//  it from the queue.
static void
s_unassign (routing_model_t *self, s_shop_t *shop, routing_conv_t *conv, s_agent_t *from,
            const char *note)
{
    if (from->load > 0)
        from->load--;
    snprintf (conv->handed_from, sizeof conv->handed_from, "%s", from->agent_id);
    free (conv->handover_note);
    conv->handover_note = note && *note ? strdup (note) : NULL;
    conv->agent[0] = '\0';
    conv->state = ROUTING_QUEUED;
    conv->sla_deadline = 0; //  nobody's response clock runs while it waits
    conv->assign_seq++;
    routing_assignment_t a = {shop->config->shop_id,
                              conv,
                              "",
                              from->agent_id,
                              shop->config->groups[conv->group].name,
                              KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_HANDOVER,
                              note ? note : "",
                              "routing",
                              0,
                              conv->assign_seq};
    if (self->sink.assigned)
        self->sink.assigned (self->sink.arg, &a);
    conv->queued_at = conv->opened_at;
    conv->group_since = s_now (self);
    s_enqueue (self, shop, conv);
}

//  Hand every open conversation of an agent to someone else (or the queue).
static void
s_handover (routing_model_t *self, s_shop_t *shop, s_agent_t *from, const char *note)
{
    zlistx_t *mine = zlistx_new ();
    for (routing_conv_t *c = zhashx_first (shop->convs); c; c = zhashx_next (shop->convs))
        if (c->state == ROUTING_ASSIGNED && strcmp (c->agent, from->agent_id) == 0)
            zlistx_add_end (mine, c);
    //  Oldest first, so they keep their order.
    for (routing_conv_t *c = zlistx_first (mine); c; c = zlistx_next (mine)) {
        s_agent_t *to = s_pick (shop, c, c->group, from->agent_id);
        if (to)
            s_assign (self, shop, c, to, KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_HANDOVER, note,
                      NULL);
        else
            s_unassign (self, shop, c, from, note);
    }
    zlistx_destroy (&mine);
    //  A note that came with a presence went with this handover; the
    //  agent's next one does not repeat it (kefuctl handover's note stays
    //  until it is changed).
    free (from->note);
    from->note = NULL;
}

static const char *
s_note_of (s_agent_t *agent)
{
    if (agent->note && *agent->note)
        return agent->note;
    return agent->cfg && agent->cfg->handover_note ? agent->cfg->handover_note : "";
}

//  Recompute who is on shift; hand over for those whose shift ended and
//  drain queues for those whose shift began.
static void
s_refresh_shifts (routing_model_t *self, s_shop_t *shop)
{
    int64_t now = s_now (self);
    zlistx_t *ended = zlistx_new ();
    uint32_t started_groups = 0;
    for (s_agent_t *a = zhashx_first (shop->agents); a; a = zhashx_next (shop->agents)) {
        bool on = a->cfg && s_agent_on_shift_at (shop, a->cfg, now);
        if (a->on_shift && !on)
            zlistx_add_end (ended, a);
        if (!a->on_shift && on && a->cfg)
            started_groups |= a->cfg->groups;
        if (a->cfg && (on != a->on_shift || !a->shift_told) && self->sink.shift_changed) {
            self->sink.shift_changed (self->sink.arg, shop->config->shop_id, a->agent_id, on, now);
            a->shift_told = true;
        }
        a->on_shift = on;
    }
    bool any_ended = zlistx_size (ended) > 0;
    for (s_agent_t *a = zlistx_first (ended); a; a = zlistx_next (ended))
        if (a->load > 0)
            s_handover (self, shop, a, s_note_of (a));
    zlistx_destroy (&ended);
    s_drain (self, shop, started_groups | (any_ended ? s_all_groups () : 0));
}

static void
s_arm_boundary (routing_model_t *self, s_shop_t *shop)
{
    int64_t next = s_next_boundary (shop, s_now (self));
    if (next != INT64_MAX && next != shop->boundary) {
        shop->boundary = next;
        s_heap_push (self, next, S_BOUNDARY, shop, 0);
    }
}

//  ---------------------------------------------------------------------
//  Model life cycle

static void
s_agent_destroy (void **item_p)
{
    s_agent_t *a = *item_p;
    if (a) {
        free (a->note);
        free (a);
        *item_p = NULL;
    }
}

static void
s_shop_destroy (void **item_p)
{
    s_shop_t *shop = *item_p;
    if (shop) {
        zhashx_destroy (&shop->agents);
        zhashx_destroy (&shop->convs);
        zlistx_destroy (&shop->served_order);
        zhashx_destroy (&shop->served);
        for (int g = 0; g < ROUTING_GROUPS_MAX; g++)
            free (shop->queues[g].items);
        kf_tz_destroy (&shop->tz);
        routing_shop_config_destroy (&shop->config);
        free (shop);
        *item_p = NULL;
    }
}

static void
s_free_item (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void
s_conv_destroy (void **item_p)
{
    routing_conv_t *c = *item_p;
    if (c) {
        free (c->handover_note);
        free (c);
        *item_p = NULL;
    }
}

routing_model_t *
routing_model_new (kf_clock_t *clock, const routing_sink_t *sink)
{
    routing_model_t *self = calloc (1, sizeof *self);
    self->clock = clock;
    self->sink = *sink;
    self->shops = zhashx_new ();
    zhashx_set_destructor (self->shops, s_shop_destroy);
    return self;
}

void
routing_model_destroy (routing_model_t **self_p)
{
    if (self_p && *self_p) {
        routing_model_t *self = *self_p;
        zhashx_destroy (&self->shops);
        free (self->heap);
        free (self);
        *self_p = NULL;
    }
}

void
routing_model_reset (routing_model_t *self)
{
    zhashx_purge (self->shops);
    self->heap_count = 0;
}

bool
routing_model_has_shop (routing_model_t *self, const char *shop_id)
{
    return s_shop (self, shop_id) != NULL;
}

int
routing_model_configure (routing_model_t *self, routing_shop_config_t **config_p)
{
    routing_shop_config_t *config = *config_p;
    *config_p = NULL;
    routing_shop_config_fill_defaults (config);
    kf_tz_t *tz = kf_tz_new (config->timezone);
    if (!tz) {
        routing_shop_config_destroy (&config);
        return -1;
    }
    s_shop_t *shop = s_shop (self, config->shop_id);
    if (!shop) {
        shop = calloc (1, sizeof *shop);
        shop->agents = zhashx_new ();
        zhashx_set_destructor (shop->agents, s_agent_destroy);
        shop->convs = s_id_map_new (s_conv_destroy);
        shop->served = s_id_map_new (s_free_item);
        shop->served_order = zlistx_new ();
        zhashx_insert (self->shops, config->shop_id, shop);
        self->stats.shops++;
    }
    //  Remap conversations to the new groups by name.
    routing_shop_config_t *old = shop->config;
    for (routing_conv_t *c = zhashx_first (shop->convs); c; c = zhashx_next (shop->convs)) {
        int g = old ? routing_shop_config_group (config, old->groups[c->group].name) : -1;
        c->group = g >= 0 ? g : 0;
    }
    kf_tz_destroy (&shop->tz);
    shop->tz = tz;
    shop->config = config;
    //  Attach agents to their new configuration, keeping presence and load.
    for (s_agent_t *a = zhashx_first (shop->agents); a; a = zhashx_next (shop->agents))
        a->cfg = NULL;
    for (int i = 0; i < config->agent_count; i++)
        s_agent_ensure (shop, config->agents[i].agent_id)->cfg = &config->agents[i];
    routing_shop_config_destroy (&old);
    //  Rebuild the queues in order.
    for (int g = 0; g < ROUTING_GROUPS_MAX; g++)
        shop->queues[g].count = 0;
    for (routing_conv_t *c = zhashx_first (shop->convs); c; c = zhashx_next (shop->convs))
        if (c->state == ROUTING_QUEUED)
            s_queue_insert (&shop->queues[c->group], c);
    shop->boundary = 0;
    s_arm_boundary (self, shop);
    //  Shifts, capacity or agents may have changed: act on it now.
    s_refresh_shifts (self, shop);
    for (s_agent_t *a = zhashx_first (shop->agents); a; a = zhashx_next (shop->agents))
        if (a->load > 0 && (!a->cfg || !a->cfg->active))
            s_handover (self, shop, a, s_note_of (a));
    s_drain (self, shop, s_all_groups ());
    return 0;
}

//  ---------------------------------------------------------------------
//  Restore

void
routing_model_restore_presence (routing_model_t *self, const char *shop_id, const char *agent_id,
                                int status, int64_t since)
{
    s_shop_t *shop = s_shop (self, shop_id);
    if (!shop)
        return;
    s_agent_t *a = s_agent_ensure (shop, agent_id);
    a->status = status;
    a->status_since = since;
}

void
routing_model_restore_conversation (routing_model_t *self, const char *shop_id,
                                    const routing_conv_row_t *row)
{
    s_shop_t *shop = s_shop (self, shop_id);
    if (!shop || row->state == ROUTING_CLOSED || s_conv (shop, row->conversation_id))
        return;
    routing_conv_t *c = calloc (1, sizeof *c);
    c->shop = shop;
    c->id = row->conversation_id;
    c->customer_id = row->customer_id;
    c->channel = row->channel;
    snprintf (c->ccid, sizeof c->ccid, "%s", row->channel_customer_id);
    int g = routing_shop_config_group (shop->config, row->group);
    c->group = g >= 0 ? g : 0;
    c->cls = row->cls;
    c->vip = row->vip;
    c->state = row->state;
    snprintf (c->agent, sizeof c->agent, "%s", row->agent_id ? row->agent_id : "");
    c->opened_at = row->opened_at;
    c->queued_at = row->queued_at;
    c->group_since = row->group_since;
    c->waiting_since = row->waiting_since;
    c->sla_breached = row->sla_breached;
    c->busy_replied = row->busy_replied;
    c->after_hours_replied = row->after_hours_replied;
    c->assign_seq = row->assign_seq;
    c->overflow_hops = row->overflow_hops;
    c->stored = true;
    if (c->state == ROUTING_QUEUED && row->handed_from && *row->handed_from) {
        snprintf (c->handed_from, sizeof c->handed_from, "%s", row->handed_from);
        if (row->handover_note && *row->handover_note)
            c->handover_note = strdup (row->handover_note);
    }
    zhashx_insert (shop->convs, &c->id, c);
    if (c->state == ROUTING_QUEUED)
        s_queue_insert (&shop->queues[c->group], c);
    else if (c->agent[0])
        s_agent_ensure (shop, c->agent)->load++;
}

//  Who served a customer matters for sticky_days (at least a day): older
//  entries are forgotten, a few at a time, so the memory holds the
//  customers served within the window and no more (the record keeps all).
static void
s_forget_served (routing_model_t *self, s_shop_t *shop)
{
    int64_t window = (shop->config->sticky_days > 1 ? shop->config->sticky_days : 1) * S_DAY_MS;
    int64_t now = s_now (self);
    for (int i = 0; i < 8; i++) {
        s_served_t *oldest = zlistx_first (shop->served_order);
        if (!oldest || now - oldest->at <= window)
            break;
        zlistx_delete (shop->served_order, oldest->handle);
        zhashx_delete (shop->served, &oldest->customer_id); //  frees it
        self->stats.customers_forgotten++;
    }
}

void
routing_model_restore_served (routing_model_t *self, const char *shop_id, int64_t customer_id,
                              const char *agent_id, int64_t at)
{
    s_shop_t *shop = s_shop (self, shop_id);
    if (!shop)
        return;
    s_served_t *s = zhashx_lookup (shop->served, &customer_id);
    if (!s) {
        s = calloc (1, sizeof *s);
        s->customer_id = customer_id;
        zhashx_insert (shop->served, &s->customer_id, s);
        s->handle = zlistx_add_end (shop->served_order, s);
    } else
        zlistx_move_end (shop->served_order, s->handle);
    snprintf (s->agent_id, sizeof s->agent_id, "%s", agent_id);
    s->at = at;
    s_forget_served (self, shop);
}

void
routing_model_settle (routing_model_t *self)
{
    for (s_shop_t *shop = zhashx_first (self->shops); shop; shop = zhashx_next (self->shops)) {
        //  Re-arm deadlines from the restored state.
        for (routing_conv_t *c = zhashx_first (shop->convs); c; c = zhashx_next (shop->convs)) {
            if (c->state == ROUTING_ASSIGNED && c->waiting_since && !c->sla_breached)
                s_arm_sla (self, shop, c, c->waiting_since);
            if (c->state == ROUTING_QUEUED && s_overflow_target (shop, c->group) >= 0 &&
                c->overflow_hops < shop->config->group_count - 1)
                s_heap_push (self,
                             c->group_since + shop->config->groups[c->group].overflow_after_ms,
                             S_OVERFLOW, shop, c->id);
        }
        //  Whatever changed while we were away (shift ends, agents gone
        //  offline) is acted on now.
        for (s_agent_t *a = zhashx_first (shop->agents); a; a = zhashx_next (shop->agents))
            a->on_shift = a->cfg && s_agent_on_shift_at (shop, a->cfg, s_now (self));
        zlistx_t *gone = zlistx_new ();
        for (s_agent_t *a = zhashx_first (shop->agents); a; a = zhashx_next (shop->agents))
            if (a->load > 0 &&
                (!a->on_shift || a->status == KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE ||
                 !a->cfg || !a->cfg->active))
                zlistx_add_end (gone, a);
        for (s_agent_t *a = zlistx_first (gone); a; a = zlistx_next (gone))
            s_handover (self, shop, a, s_note_of (a));
        zlistx_destroy (&gone);
        s_drain (self, shop, s_all_groups ());
        shop->boundary = 0;
        s_arm_boundary (self, shop);
    }
}

//  ---------------------------------------------------------------------
//  Events

void
routing_model_on_opened (routing_model_t *self, const char *shop_id, int64_t conversation_id,
                         int64_t customer_id, int channel, const char *channel_customer_id,
                         int intent, int priority, bool vip, int64_t at)
{
    s_shop_t *shop = s_shop (self, shop_id);
    if (!shop || s_conv (shop, conversation_id))
        return;
    routing_conv_t *c = calloc (1, sizeof *c);
    c->shop = shop;
    c->id = conversation_id;
    c->customer_id = customer_id;
    c->channel = channel;
    snprintf (c->ccid, sizeof c->ccid, "%s", channel_customer_id ? channel_customer_id : "");
    c->group = s_group_of_intent (shop->config, intent);
    c->cls = s_class_of (intent, priority);
    c->intent = intent;
    c->vip = vip;
    c->opened_at = at;
    c->group_since = s_now (self);
    zhashx_insert (shop->convs, &c->id, c);
    s_route (self, shop, c, true);
}

bool
routing_model_on_message (routing_model_t *self, const char *shop_id, int64_t conversation_id,
                          bool from_customer, const char *agent_id, int intent, int priority,
                          int64_t at)
{
    s_shop_t *shop = s_shop (self, shop_id);
    routing_conv_t *c = shop ? s_conv (shop, conversation_id) : NULL;
    if (!c)
        return false;
    bool new_intent = false;
    if (from_customer && intent > KEFU__V1__INTENT__INTENT_OTHER && intent != c->intent) {
        //  "谢谢" (other) after a question keeps the question's intent.
        c->intent = intent;
        new_intent = c->state == ROUTING_ASSIGNED;
    }
    if (from_customer) {
        //  A later message may make the conversation more urgent.
        int cls = s_class_of (intent, priority);
        if (cls < c->cls) {
            if (c->state == ROUTING_QUEUED)
                s_queue_remove (&shop->queues[c->group], c);
            c->cls = cls;
            if (c->state == ROUTING_QUEUED)
                s_queue_insert (&shop->queues[c->group], c);
            s_changed (self, shop, c);
        }
        if (c->state == ROUTING_ASSIGNED && !c->waiting_since) {
            c->waiting_since = at;
            c->sla_breached = false;
            s_arm_sla (self, shop, c, at);
            s_changed (self, shop, c);
        } else if (c->state == ROUTING_QUEUED && !c->waiting_since) {
            c->waiting_since = at;
            s_changed (self, shop, c);
        }
        return new_intent;
    }
    //  An agent replied.
    s_agent_t *agent = s_agent (shop, agent_id);
    if (c->state == ROUTING_QUEUED && agent && agent->cfg) {
        //  An agent picked a waiting customer up on the platform: they own it.
        s_assign (self, shop, c, agent, KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_PICKUP, NULL,
                  agent->agent_id);
    }
    if (c->state == ROUTING_ASSIGNED && agent_id && strcmp (c->agent, agent_id) == 0) {
        if (c->waiting_since) {
            c->waiting_since = 0;
            c->sla_breached = false;
            c->sla_deadline = 0;
            s_changed (self, shop, c);
        }
        s_served_t *s = zhashx_lookup (shop->served, &c->customer_id);
        if (!s || strcmp (s->agent_id, agent_id) != 0 || at - s->at > 60000) {
            routing_model_restore_served (self, shop_id, c->customer_id, agent_id, at);
            if (self->sink.customer_served)
                self->sink.customer_served (self->sink.arg, shop_id, c->customer_id, agent_id, at);
        }
    }
    return false;
}

void
routing_model_note_order (routing_model_t *self, const char *shop_id, int64_t conversation_id,
                          const char *order_id)
{
    s_shop_t *shop = s_shop (self, shop_id);
    routing_conv_t *c = shop ? s_conv (shop, conversation_id) : NULL;
    if (c && order_id && *order_id)
        snprintf (c->order_id, sizeof c->order_id, "%s", order_id);
}

void
routing_model_on_closed (routing_model_t *self, const char *shop_id, int64_t conversation_id,
                         int64_t at)
{
    (void) at;
    s_shop_t *shop = s_shop (self, shop_id);
    routing_conv_t *c = shop ? s_conv (shop, conversation_id) : NULL;
    if (!c)
        return;
    uint32_t freed = 0;
    if (c->state == ROUTING_QUEUED)
        s_queue_remove (&shop->queues[c->group], c);
    else if (c->state == ROUTING_ASSIGNED) {
        s_agent_t *a = s_agent (shop, c->agent);
        if (a) {
            if (a->load > 0)
                a->load--;
            freed = a->cfg ? a->cfg->groups : 0;
        }
    }
    c->state = ROUTING_CLOSED;
    s_changed (self, shop, c);
    zhashx_delete (shop->convs, &c->id);
    //  Capacity freed: the queue's head goes to it now.
    if (freed)
        s_drain (self, shop, freed);
}

void
routing_model_on_presence (routing_model_t *self, const char *shop_id, const char *agent_id,
                           int status, const char *note, int64_t at)
{
    s_shop_t *shop = s_shop (self, shop_id);
    if (!shop || !agent_id || !*agent_id)
        return;
    s_agent_t *a = s_agent_ensure (shop, agent_id);
    if (note && *note) {
        free (a->note);
        a->note = strdup (note);
    }
    if (a->status == status)
        return;
    a->status = status;
    a->status_since = at;
    if (self->sink.presence_changed)
        self->sink.presence_changed (self->sink.arg, shop_id, agent_id, status, at);
    if (status == KEFU__V1__AGENT_STATUS__AGENT_STATUS_ONLINE && a->cfg)
        s_drain (self, shop, a->cfg->groups);
    else if (status == KEFU__V1__AGENT_STATUS__AGENT_STATUS_OFFLINE && a->load > 0)
        s_handover (self, shop, a, s_note_of (a));
}

int
routing_model_transfer (routing_model_t *self, const char *shop_id, int64_t conversation_id,
                        const char *to_agent_id, const char *by, const char *reason,
                        kf_error_t *err)
{
    s_shop_t *shop = s_shop (self, shop_id);
    routing_conv_t *c = shop ? s_conv (shop, conversation_id) : NULL;
    if (!c)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_TARGET,
                             "conversation %" PRId64 " is not open in shop %s", conversation_id,
                             shop_id);
    if (kf_valid_agent_id (to_agent_id, strlen (to_agent_id), "to_agent_id", err))
        return -1;
    s_agent_t *to = s_agent (shop, to_agent_id);
    if (!to || !to->cfg || !to->cfg->active)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_TARGET,
                             "agent %s is not an active agent of shop %s", to_agent_id, shop_id);
    if (c->state == ROUTING_ASSIGNED && strcmp (c->agent, to_agent_id) == 0)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                             "conversation %" PRId64 " already belongs to %s", conversation_id,
                             to_agent_id);
    if (to->load >= to->cfg->capacity)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_OVERLOADED,
                             "agent %s is at capacity (%d)", to_agent_id, to->cfg->capacity);
    char from[ROUTING_ID_MAX + 1];
    snprintf (from, sizeof from, "%s", s_last_owner (c));
    uint32_t freed = 0;
    s_agent_t *prev = c->state == ROUTING_ASSIGNED ? s_agent (shop, c->agent) : NULL;
    if (prev && prev->cfg)
        freed = prev->cfg->groups;
    s_assign (self, shop, c, to, KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_TRANSFER, reason, by);
    if (self->sink.transferred)
        self->sink.transferred (self->sink.arg, shop_id, c, from, to_agent_id, by, reason);
    if (freed)
        s_drain (self, shop, freed);
    return 0;
}

//  ---------------------------------------------------------------------
//  Deadlines

static bool
s_fire (routing_model_t *self, const s_deadline_t *d)
{
    s_shop_t *shop = d->shop;
    int64_t now = s_now (self);
    if (d->kind == S_BOUNDARY) {
        if (shop->boundary != d->at)
            return false; //  superseded
        shop->boundary = 0;
        s_refresh_shifts (self, shop);
        s_arm_boundary (self, shop);
        return true;
    }
    routing_conv_t *c = s_conv (shop, d->conv_id);
    if (!c)
        return false;
    if (d->kind == S_OVERFLOW) {
        const routing_group_t *g = &shop->config->groups[c->group];
        if (c->state != ROUTING_QUEUED || c->group_since + g->overflow_after_ms != d->at)
            return false;
        int next = s_overflow_target (shop, c->group);
        if (next < 0 || c->overflow_hops >= shop->config->group_count - 1)
            return false;
        if (!s_any_on_shift (shop)) {
            //  After hours nobody anywhere can take it: the wait that counts
            //  for overflow starts with the next shift.
            int64_t boundary = s_next_boundary (shop, now);
            if (boundary == INT64_MAX)
                return false;
            c->group_since = boundary;
            s_heap_push (self, boundary + g->overflow_after_ms, S_OVERFLOW, shop, c->id);
            s_changed (self, shop, c);
            return false;
        }
        s_queue_remove (&shop->queues[c->group], c);
        c->group = next;
        c->group_since = now;
        c->overflow_hops++;
        s_agent_t *agent = s_pick (shop, c, c->group, NULL);
        if (agent) {
            c->state = ROUTING_QUEUED; //  so the wait is measured
            s_queue_insert (&shop->queues[c->group], c);
            s_assign (self, shop, c, agent, KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_OVERFLOW, NULL,
                      NULL);
        } else
            s_enqueue (self, shop, c);
        return true;
    }
    //  S_SLA
    if (c->state != ROUTING_ASSIGNED || !c->waiting_since || c->sla_breached ||
        c->sla_deadline != d->at)
        return false;
    c->sla_breached = true;
    self->stats.breaches++;
    char owner[ROUTING_ID_MAX + 1];
    snprintf (owner, sizeof owner, "%s", c->agent);
    s_agent_t *other = shop->config->sla_reassign ? s_pick (shop, c, c->group, owner) : NULL;
    if (self->sink.sla_breached)
        self->sink.sla_breached (self->sink.arg, shop->config->shop_id, c, owner,
                                 now - c->waiting_since, c->sla_threshold, other != NULL);
    if (other)
        s_assign (self, shop, c, other, KEFU__V1__ASSIGN_REASON__ASSIGN_REASON_SLA,
                  "no reply within the response-time threshold", NULL);
    else
        s_changed (self, shop, c);
    return true;
}

int
routing_model_tick (routing_model_t *self)
{
    int fired = 0;
    int64_t now = s_now (self);
    while (self->heap_count > 0 && self->heap[0].at <= now) {
        s_deadline_t d = s_heap_pop (self);
        if (s_fire (self, &d))
            fired++;
    }
    return fired;
}

int64_t
routing_model_next_deadline (routing_model_t *self)
{
    return self->heap_count ? self->heap[0].at : INT64_MAX;
}

//  ---------------------------------------------------------------------
//  Accessors and inspection

int64_t
routing_conv_id (const routing_conv_t *c)
{
    return c->id;
}
int64_t
routing_conv_customer (const routing_conv_t *c)
{
    return c->customer_id;
}
int
routing_conv_channel (const routing_conv_t *c)
{
    return c->channel;
}
const char *
routing_conv_channel_customer (const routing_conv_t *c)
{
    return c->ccid;
}
const char *
routing_conv_agent (const routing_conv_t *c)
{
    return c->agent;
}
int
routing_conv_state (const routing_conv_t *c)
{
    return c->state;
}
int
routing_conv_class (const routing_conv_t *c)
{
    return c->cls;
}
bool
routing_conv_vip (const routing_conv_t *c)
{
    return c->vip;
}
int64_t
routing_conv_opened_at (const routing_conv_t *c)
{
    return c->opened_at;
}
int64_t
routing_conv_queued_at (const routing_conv_t *c)
{
    return c->queued_at;
}
int64_t
routing_conv_group_since (const routing_conv_t *c)
{
    return c->group_since;
}
int64_t
routing_conv_waiting_since (const routing_conv_t *c)
{
    return c->waiting_since;
}
int64_t
routing_conv_assigned_at (const routing_conv_t *c)
{
    return c->assigned_at;
}
bool
routing_conv_sla_breached (const routing_conv_t *c)
{
    return c->sla_breached;
}
bool
routing_conv_busy_replied (const routing_conv_t *c)
{
    return c->busy_replied;
}
bool
routing_conv_after_hours_replied (const routing_conv_t *c)
{
    return c->after_hours_replied;
}
int
routing_conv_assign_seq (const routing_conv_t *c)
{
    return c->assign_seq;
}
bool
routing_conv_stored (const routing_conv_t *c)
{
    return c->stored;
}

int
routing_conv_overflow_hops (const routing_conv_t *c)
{
    return c->overflow_hops;
}

const char *
routing_conv_handed_from (const routing_conv_t *c)
{
    return c->handed_from;
}

const char *
routing_conv_handover_note (const routing_conv_t *c)
{
    return c->handover_note ? c->handover_note : "";
}

const char *
routing_conv_group (const routing_conv_t *c)
{
    return c->shop->config->groups[c->group].name;
}

void
routing_model_stats (routing_model_t *self, routing_stats_t *out)
{
    routing_stats_t s = self->stats;
    s.open = s.queued = s.assigned = 0;
    s.customers_remembered = 0;
    for (s_shop_t *shop = zhashx_first (self->shops); shop; shop = zhashx_next (self->shops)) {
        s.customers_remembered += (int64_t) zhashx_size (shop->served);
        for (routing_conv_t *c = zhashx_first (shop->convs); c; c = zhashx_next (shop->convs)) {
            s.open++;
            if (c->state == ROUTING_QUEUED)
                s.queued++;
            else if (c->state == ROUTING_ASSIGNED)
                s.assigned++;
        }
    }
    *out = s;
}

int
routing_model_agent_load (routing_model_t *self, const char *shop_id, const char *agent_id)
{
    s_shop_t *shop = s_shop (self, shop_id);
    s_agent_t *a = shop ? s_agent (shop, agent_id) : NULL;
    return a ? a->load : -1;
}

int
routing_model_queue (routing_model_t *self, const char *shop_id, const char *group, int64_t *ids,
                     int max)
{
    s_shop_t *shop = s_shop (self, shop_id);
    int g = shop ? routing_shop_config_group (shop->config, group) : -1;
    if (g < 0)
        return 0;
    s_queue_t *q = &shop->queues[g];
    for (int i = 0; i < q->count && i < max; i++)
        ids[i] = q->items[i]->id;
    return q->count;
}

const routing_conv_t *
routing_model_conversation (routing_model_t *self, const char *shop_id, int64_t conversation_id)
{
    s_shop_t *shop = s_shop (self, shop_id);
    return shop ? s_conv (shop, conversation_id) : NULL;
}

bool
routing_model_on_shift (routing_model_t *self, const char *shop_id, const char *agent_id)
{
    s_shop_t *shop = s_shop (self, shop_id);
    s_agent_t *a = shop ? s_agent (shop, agent_id) : NULL;
    return a && a->cfg && s_agent_on_shift_at (shop, a->cfg, s_now (self));
}

const char *
routing_model_reply_text (routing_model_t *self, const char *shop_id, int kind)
{
    s_shop_t *shop = s_shop (self, shop_id);
    if (!shop)
        return NULL;
    return kind == KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_BUSY ? shop->config->busy_reply
           : kind == KEFU__V1__AUTO_REPLY_KIND__AUTO_REPLY_AFTER_HOURS
               ? shop->config->after_hours_reply
               : NULL;
}

//  ---------------------------------------------------------------------
//  Quick replies

//  What a conversation's placeholders are filled with for agent_id.
static routing_phrase_values_t
s_values (s_shop_t *shop, const routing_conv_t *conv, const char *agent_id)
{
    s_agent_t *agent = s_agent (shop, agent_id);
    return (routing_phrase_values_t){agent && agent->cfg ? agent->cfg->name : NULL,
                                     shop->config->shop_name, conv->ccid, conv->order_id};
}

int
routing_model_suggest (routing_model_t *self, const char *shop_id, const routing_conv_t *conv,
                       const char *agent_id, bool greeting, int max, routing_suggestion_t *out)
{
    s_shop_t *shop = s_shop (self, shop_id);
    if (!shop || !conv)
        return 0;
    const routing_shop_config_t *cfg = shop->config;
    routing_phrase_values_t values = s_values (shop, conv, agent_id);
    if (max > ROUTING_SUGGESTIONS_MAX)
        max = ROUTING_SUGGESTIONS_MAX;
    int n = 0;
    //  Pass 0: one greeting; pass 1: the intent's phrases.
    for (int pass = greeting ? 0 : 1; pass < 2; pass++) {
        int key = pass == 0 ? ROUTING_PHRASE_GREETING : conv->intent;
        if (key <= ROUTING_PHRASE_GREETING && pass == 1)
            break;
        for (int i = 0; i < cfg->phrase_count && n < max; i++) {
            const routing_phrase_t *p = &cfg->phrases[i];
            if (p->key != key ||
                routing_phrase_fill (p->text, &values, out[n].text, sizeof out[n].text))
                continue;
            out[n].phrase_id = p->id;
            out[n].intent = key;
            n++;
            if (pass == 0)
                break;
        }
    }
    return n;
}

int64_t
routing_model_phrase_used (routing_model_t *self, const char *shop_id, int64_t conversation_id,
                           const char *agent_id, const char *body, int *key)
{
    s_shop_t *shop = s_shop (self, shop_id);
    routing_conv_t *c = shop ? s_conv (shop, conversation_id) : NULL;
    if (!c || !body || !*body || shop->config->phrase_count == 0)
        return 0;
    routing_phrase_values_t values = s_values (shop, c, agent_id);
    char filled[ROUTING_PHRASE_FILLED_MAX];
    for (int i = 0; i < shop->config->phrase_count; i++) {
        const routing_phrase_t *p = &shop->config->phrases[i];
        if (routing_phrase_fill (p->text, &values, filled, sizeof filled) == 0 &&
            strcmp (filled, body) == 0) {
            *key = p->key;
            return p->id;
        }
    }
    return 0;
}

int
routing_conv_intent (const routing_conv_t *conv)
{
    return conv->intent;
}
