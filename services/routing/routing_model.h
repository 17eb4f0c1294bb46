/*  routing_model — who serves each customer: the decisions of kefu-routing.

    The model holds, per shop, the configuration (agents, groups, shifts,
    settings), what is happening now (presence, who owns which
    conversation, the queues) and the deadlines (shift changes, overflow,
    response-time thresholds). It is pure logic: it reads time from a
    kf_clock, and every decision it takes goes to a sink (routing_sink_t),
    which in the service writes the record, the events and the commands
    for gateways, and in the unit tests simply records them. So a whole
    shop day can be tested in milliseconds with a driven clock.

    Rules (see the README for a supervisor's version):
    - intent -> group (presales/bargaining/delivery/other -> presales;
      urge shipping/logistics/returns/complaints/bad reviews -> aftersales;
      per-shop overrides);
    - first-contact responsibility (首问责任制): a customer served in the
      last sticky_days goes back to that agent if eligible;
    - otherwise the eligible agent of the group with the most spare
      capacity relative to capacity (times weight), ties to the longest idle;
      eligible = active, online, on shift now, below capacity, in the group
      (VIP conversations go to VIP-capable agents when the group has any);
    - no one eligible: the group's queue, ordered by class (complaints and
      bad reviews, then other after-sales, then pre-sales), VIP first, then
      waiting time; the busy reply once, or outside every shift the
      after-hours reply once;
    - the moment capacity frees (close, agent online, shift start, capacity
      raised) the head of the queue is assigned;
    - a conversation queued longer than its group's overflow_after moves to
      the next group;
    - an assigned conversation whose customer waits longer than the shop's
      threshold (day/night) is reported, and reassigned if the shop wants;
    - an agent going offline or reaching the end of their shift hands every
      open conversation over, with their handover note (交接留言); one that
      nobody has room for goes back to the queue, and that is a change of
      owner too (to nobody: agent_id "", recorded and told like the others);
      the conversation keeps the agent who left it and the note, and both
      go to whoever takes it from the queue;
    - transfers happen only when a person asks (kefuctl transfer). */
#ifndef ROUTING_MODEL_H
#define ROUTING_MODEL_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "kf_clock.h"
#include "kf_error.h"
#include "kf_tz.h"
#include "kf_valid.h"
#include "routing_phrases.h"

#define ROUTING_ID_MAX     KF_ID_MAX //  agent and customer ids (kf_valid_agent_id)
#define ROUTING_NAME_MAX   64
#define ROUTING_GROUPS_MAX 16
#define ROUTING_SHIFTS_MAX 16
#define ROUTING_SCHED_MAX  8

//  Conversation states, as stored.
typedef enum {
    ROUTING_QUEUED = 1,
    ROUTING_ASSIGNED = 2,
    ROUTING_CLOSED = 3,
} routing_state_t;

//  Queue classes: lower is served first.
typedef enum {
    ROUTING_CLASS_URGENT = 0,     //  complaints, negative reviews
    ROUTING_CLASS_AFTERSALES = 1, //  other after-sales
    ROUTING_CLASS_PRESALES = 2,   //  pre-sales and everything else
} routing_class_t;

//  ---------------------------------------------------------------------
//  Configuration of one shop (filled by routing_store, adopted by the model)

typedef struct {
    char name[33];                      //  group id, e.g. "presales"
    char display[ROUTING_NAME_MAX + 1]; //  e.g. "售前"
    int overflow_to;                    //  group index, -1 = none
    int64_t overflow_after_ms;          //  wait before overflowing
} routing_group_t;

typedef struct {
    char name[33];    //  shift id, e.g. "day"
    int start_minute; //  local minutes after midnight
    int end_minute;   //  end (< start: crosses midnight)
} routing_shift_t;

typedef struct {
    int shift;           //  shift index
    int days;            //  bit 0 = Monday .. bit 6 = Sunday
    int rotation_weeks;  //  1 = every week
    int rotation_offset; //  applies when ISO week % weeks == offset
} routing_schedule_t;

typedef struct {
    char agent_id[ROUTING_ID_MAX + 1];              //  agent
    char name[ROUTING_NAME_MAX + 1];                //  display name
    int capacity;                                   //  max concurrent conversations
    int weight;                                     //  1..10: share of new conversations
    bool vip_capable;                               //  may serve VIP customers first
    bool active;                                    //  false: never assigned
    uint32_t groups;                                //  bit i = member of group i
    routing_schedule_t schedule[ROUTING_SCHED_MAX]; //  shifts worked
    int schedule_count;                             //  entries
    char *handover_note;                            //  owned, may be NULL
} routing_agent_config_t;

typedef struct {
    char shop_id[65];  //  shop
    char timezone[65]; //  IANA name
    routing_group_t groups[ROUTING_GROUPS_MAX];
    int group_count;
    routing_shift_t shifts[ROUTING_SHIFTS_MAX];
    int shift_count;
    routing_agent_config_t *agents; //  owned array
    int agent_count;
    int intent_group[10];                   //  Intent value -> group index (-1: default)
    int overflow_order[ROUTING_GROUPS_MAX]; //  group indexes, -1 terminated
    char *busy_reply;                       //  owned
    char *after_hours_reply;                //  owned
    int sticky_days;                        //  first-contact window
    int64_t sla_day_ms;                     //  response threshold by day
    int64_t sla_night_ms;                   //  ... during the night shift
    int night_shift;                        //  shift index, -1 = none
    bool sla_reassign;                      //  reassign on breach
    char shop_name[KF_NAME_MAX + 1];        //  the shop's name ({shop_name}), "" if unknown
    routing_phrase_t *phrases;              //  quick replies, owned (texts too), by phrase_id
    int phrase_count;                       //  entries
} routing_shop_config_t;

//  A new, empty configuration (defaults as in the migration). Caller owns.
routing_shop_config_t *routing_shop_config_new (const char *shop_id);
void routing_shop_config_destroy (routing_shop_config_t **self_p);
//  Add default groups/shifts when the shop has none (no kefuctl setup yet).
void routing_shop_config_fill_defaults (routing_shop_config_t *self);
//  Index of a group / shift by name, -1 if none.
int routing_shop_config_group (const routing_shop_config_t *self, const char *name);
int routing_shop_config_shift (const routing_shop_config_t *self, const char *name);

//  ---------------------------------------------------------------------
//  State restored from the record after a restart

typedef struct {
    int64_t conversation_id;         //  id
    int64_t customer_id;             //  kefu customer id
    int channel;                     //  Channel
    const char *channel_customer_id; //  borrowed
    const char *group;               //  group name, borrowed
    int cls;                         //  routing_class_t
    bool vip;                        //  VIP
    int state;                       //  routing_state_t
    const char *agent_id;            //  owner (assigned), borrowed, may be NULL
    int64_t opened_at;               //  ms
    int64_t queued_at;               //  ms, 0 if never queued
    int64_t group_since;             //  ms: in this group since
    int64_t waiting_since;           //  ms: customer waiting for an answer since, 0 = answered
    bool sla_breached;               //  reported for the current wait
    bool busy_replied;               //  busy reply sent
    bool after_hours_replied;        //  after-hours reply sent
    int assign_seq;                  //  assignments so far
    int overflow_hops;               //  overflows so far
    const char *handed_from;         //  queued by a handover: who left it, borrowed, may be NULL
    const char *handover_note;       //  ... their note, borrowed, may be NULL
} routing_conv_row_t;

//  ---------------------------------------------------------------------
//  Decisions go to a sink

typedef struct routing_conv_s routing_conv_t;

//  What a decision looked like, for the sink.
//  A change of owner. agent_id "" is a handover that found nobody free:
//  the conversation went back to the queue (reason HANDOVER, the agent
//  who left it in previous_agent_id, their note); it is numbered like the
//  others (seq). When a conversation waiting after such a handover is
//  taken from the queue, previous_agent_id is the agent who left it and
//  note their handover note (unless the act has its own, a transfer's
//  reason).
typedef struct {
    const char *shop_id;           //  shop
    const routing_conv_t *conv;    //  conversation (read its fields with the accessors)
    const char *agent_id;          //  new owner, "" = nobody (back to the queue)
    const char *previous_agent_id; //  previous owner, "" if none
    const char *group;             //  group served in
    int reason;                    //  AssignReason
    const char *note;              //  handover note / transfer reason, "" if none
    const char *by;                //  "routing" or the person who transferred
    int64_t waited_ms;             //  time in queue before this assignment
    int seq;                       //  the conversation's assignment number (request ids)
} routing_assignment_t;

typedef struct {
    void (*assigned) (void *arg, const routing_assignment_t *a);
    void (*queued) (void *arg, const char *shop_id, const routing_conv_t *conv, bool after_hours,
                    int position);
    //  kind is an AutoReplyKind; text borrowed
    void (*auto_reply) (void *arg, const char *shop_id, const routing_conv_t *conv, int kind,
                        const char *text);
    void (*sla_breached) (void *arg, const char *shop_id, const routing_conv_t *conv,
                          const char *agent_id, int64_t waited_ms, int64_t threshold_ms,
                          bool reassigned);
    void (*transferred) (void *arg, const char *shop_id, const routing_conv_t *conv,
                         const char *from, const char *to, const char *by, const char *reason);
    //  The conversation's routing row changed (persist it), its response
    //  clock too (the customer's first line after an answer, the owner's
    //  answer): routing's own row is what a restart rebuilds the clock from.
    void (*conv_changed) (void *arg, const char *shop_id, const routing_conv_t *conv);
    //  An agent's presence changed (persist it).
    void (*presence_changed) (void *arg, const char *shop_id, const char *agent_id, int status,
                              int64_t at);
    //  An agent served a customer (first-contact responsibility).
    void (*customer_served) (void *arg, const char *shop_id, int64_t customer_id,
                             const char *agent_id, int64_t at);
    void *arg;
    //  An agent's shift began or ended (and, after a configure, every
    //  configured agent's shift as it is then), for the other services.
    //  After arg: added later, so the initialisers before it kept their order.
    void (*shift_changed) (void *arg, const char *shop_id, const char *agent_id, bool on_shift,
                           int64_t at);
} routing_sink_t;

//  ---------------------------------------------------------------------
//  The model

typedef struct _routing_model_t routing_model_t;

//  clock and sink are borrowed. Caller owns return value.
routing_model_t *routing_model_new (kf_clock_t *clock, const routing_sink_t *sink);
void routing_model_destroy (routing_model_t **self_p);

//  Install (or replace) a shop's configuration; takes ownership of
//  *config_p. Presence, ownership and queues are kept; conversations of
//  groups that disappeared move to the shop's first group. Then whatever
//  new capacity allows is assigned. Returns 0, or -1 if the shop's time
//  zone is unknown (the configuration is then refused and destroyed).
int routing_model_configure (routing_model_t *self, routing_shop_config_t **config_p);
bool routing_model_has_shop (routing_model_t *self, const char *shop_id);
//  Forget everything (before a reload from the record).
void routing_model_reset (routing_model_t *self);

//  Restore state after a restart (configure the shop first). Queues are
//  rebuilt in their order; no decision is taken until routing_model_settle.
void routing_model_restore_presence (routing_model_t *self, const char *shop_id,
                                     const char *agent_id, int status, int64_t since);
void routing_model_restore_conversation (routing_model_t *self, const char *shop_id,
                                         const routing_conv_row_t *row);
void routing_model_restore_served (routing_model_t *self, const char *shop_id, int64_t customer_id,
                                   const char *agent_id, int64_t at);
//  After restoring: assign what can be assigned now, re-arm deadlines.
void routing_model_settle (routing_model_t *self);

//  Events from intake.
void routing_model_on_opened (routing_model_t *self, const char *shop_id, int64_t conversation_id,
                              int64_t customer_id, int channel, const char *channel_customer_id,
                              int intent, int priority, bool vip, int64_t at);
//  Returns true when a customer's message changed the conversation's intent
//  (to one more specific than other) while an agent owns it: the caller
//  hands that agent the new intent's quick replies (routing_model_suggest).
bool routing_model_on_message (routing_model_t *self, const char *shop_id, int64_t conversation_id,
                               bool from_customer, const char *agent_id, int intent, int priority,
                               int64_t at);
//  The order a message of the conversation referred to ({order_id}).
void routing_model_note_order (routing_model_t *self, const char *shop_id, int64_t conversation_id,
                               const char *order_id);
void routing_model_on_closed (routing_model_t *self, const char *shop_id, int64_t conversation_id,
                              int64_t at);
void routing_model_on_presence (routing_model_t *self, const char *shop_id, const char *agent_id,
                                int status, const char *note, int64_t at);

//  An explicit transfer. 0, or -1 with err (unknown conversation/agent, closed).
int routing_model_transfer (routing_model_t *self, const char *shop_id, int64_t conversation_id,
                            const char *to_agent_id, const char *by, const char *reason,
                            kf_error_t *err);

//  Carry out every deadline due at the clock's now: shift starts/ends,
//  overflow, response-time thresholds. Returns how many fired.
int routing_model_tick (routing_model_t *self);
//  The earliest pending deadline (ms), or INT64_MAX.
int64_t routing_model_next_deadline (routing_model_t *self);

//  The hash of the int64_t a key points at (splitmix64's finaliser): maps
//  keyed by ids rather than by their decimal text.
size_t routing_id_hash (const void *key);

//  Conversation accessors (for sinks).
int64_t routing_conv_id (const routing_conv_t *conv);
int64_t routing_conv_customer (const routing_conv_t *conv);
int routing_conv_channel (const routing_conv_t *conv);
const char *routing_conv_channel_customer (const routing_conv_t *conv);
const char *routing_conv_group (const routing_conv_t *conv);
const char *routing_conv_agent (const routing_conv_t *conv); //  "" when not assigned
int routing_conv_state (const routing_conv_t *conv);
int routing_conv_class (const routing_conv_t *conv);
bool routing_conv_vip (const routing_conv_t *conv);
int64_t routing_conv_opened_at (const routing_conv_t *conv);
int64_t routing_conv_queued_at (const routing_conv_t *conv);
int64_t routing_conv_group_since (const routing_conv_t *conv);
int64_t routing_conv_waiting_since (const routing_conv_t *conv);
int64_t routing_conv_assigned_at (const routing_conv_t *conv);
bool routing_conv_sla_breached (const routing_conv_t *conv);
bool routing_conv_busy_replied (const routing_conv_t *conv);
bool routing_conv_after_hours_replied (const routing_conv_t *conv);
int routing_conv_assign_seq (const routing_conv_t *conv);
int routing_conv_overflow_hops (const routing_conv_t *conv);
//  Waiting after a handover that found nobody free: the agent who left it
//  and their note ("" when not, or no note).
const char *routing_conv_handed_from (const routing_conv_t *conv);
const char *routing_conv_handover_note (const routing_conv_t *conv);
//  True once the record has the conversation's row (restored, or reported
//  through conv_changed): later changes update it.
bool routing_conv_stored (const routing_conv_t *conv);

//  Inspection (status, tests).
typedef struct {
    int shops;                    //  configured shops
    int open;                     //  conversations not closed
    int queued;                   //  of which waiting in a queue
    int assigned;                 //  of which owned by an agent
    int64_t decisions;            //  assignments made
    int64_t queued_total;         //  times a conversation entered a queue
    int64_t breaches;             //  response-time breaches
    int64_t customers_remembered; //  who-served-whom kept in memory (served within sticky_days)
    int64_t customers_forgotten;  //  of those, dropped after the window
} routing_stats_t;
void routing_model_stats (routing_model_t *self, routing_stats_t *out);
//  Open conversations of an agent (-1 if unknown).
int routing_model_agent_load (routing_model_t *self, const char *shop_id, const char *agent_id);
//  Queue of a group, in order: fills ids (up to max), returns the length.
int routing_model_queue (routing_model_t *self, const char *shop_id, const char *group,
                         int64_t *ids, int max);
//  The conversation (borrowed) or NULL.
const routing_conv_t *routing_model_conversation (routing_model_t *self, const char *shop_id,
                                                  int64_t conversation_id);
//  The shop's auto-reply text of an AutoReplyKind (borrowed), NULL if none.
const char *routing_model_reply_text (routing_model_t *self, const char *shop_id, int kind);
//  Quick replies for agent_id in conv: with greeting, the shop's first
//  greeting that fills, then the phrases of the conversation's intent in
//  the library's order; a phrase with a placeholder that has no value here
//  is skipped. Fills out[0..max) and returns how many (max is capped at
//  ROUTING_SUGGESTIONS_MAX).
typedef struct {
    int64_t phrase_id;                    //  the library's phrase
    int intent;                           //  its key (0 = greeting, else Intent)
    char text[ROUTING_PHRASE_FILLED_MAX]; //  filled in
} routing_suggestion_t;
int routing_model_suggest (routing_model_t *self, const char *shop_id, const routing_conv_t *conv,
                           const char *agent_id, bool greeting, int max, routing_suggestion_t *out);
//  The library's phrase that an agent's reply body is, filled in for the
//  conversation and that agent as routing_model_suggest fills it: its id
//  (*key its key), or 0 when the reply is none of them.
int64_t routing_model_phrase_used (routing_model_t *self, const char *shop_id,
                                   int64_t conversation_id, const char *agent_id, const char *body,
                                   int *key);
//  The conversation's current intent (Intent; 0 when not known, e.g. after
//  a restart until the customer's next classified message).
int routing_conv_intent (const routing_conv_t *conv);

//  True when the agent is on shift at the clock's now.
bool routing_model_on_shift (routing_model_t *self, const char *shop_id, const char *agent_id);

#endif
