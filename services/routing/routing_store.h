/*  routing_store — all of routing's SQL.

    Loading: shops, each shop's configuration (agents, groups, shifts,
    schedules, settings, intent map) and the state to rebuild after a
    restart (presence, open conversations with their queues, who served
    whom). Writing: a routing_writes_t collects what the model decided
    during one transaction (conversation rows, assignment audit rows,
    presence, stickiness, stored commands) and writes each kind with one
    batched statement just before the commit. A conversation's row is
    inserted once and updated on decisions and on each turn of its response
    clock (the customer's first line after an answer, the owner's answer):
    routing rebuilds from its own rows, never from another service's. */
#ifndef ROUTING_STORE_H
#define ROUTING_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "kf_batch.h"
#include "kf_store.h"
#include "routing_model.h"

void routing_store_register (kf_store_t *store);

//  Registered shops.
typedef void (routing_shop_fn) (void *arg, const char *shop_id, const char *timezone);
int routing_store_load_shops (kf_store_t *store, routing_shop_fn *fn, void *arg, kf_error_t *err);
//  One shop's configuration. *out is the caller's (routing_shop_config_destroy).
int routing_store_load_config (kf_store_t *store, const char *shop_id, const char *timezone,
                               routing_shop_config_t **out, kf_error_t *err);
//  Presence, open conversations and recent stickiness of the shops the model
//  knows, restored into the model (call routing_model_settle after).
int routing_store_load_state (kf_store_t *store, routing_model_t *model, int64_t now_ms,
                              kf_error_t *err);

//  Commands not yet acknowledged by intake.
typedef void (routing_command_fn) (void *arg, const char *shop_id, const char *request_id,
                                   const uint8_t *payload, size_t size);
int routing_store_load_unsubmitted (kf_store_t *store, routing_command_fn *fn, void *arg,
                                    kf_error_t *err);
//  Each open conversation's row with its latest assignment, to hand the
//  decisions in force to intake again after a restart.
typedef struct {
    const char *shop_id;           //  shop
    int64_t conversation_id;       //  conversation
    int state;                     //  routing_state_t
    int assign_seq;                //  assignments so far
    const char *agent_id;          //  the latest assignment's agent, "" = nobody (a handover
                                   //  back to the queue) or no assignment yet
    const char *previous_agent_id; //  of the latest assignment, "" if none
    int reason;                    //  ... its AssignReason
    const char *note;              //  ... its note, "" if none
    bool busy_replied;             //  busy reply sent
    bool after_hours_replied;      //  after-hours reply sent
} routing_open_row_t;
typedef void (routing_open_fn) (void *arg, const routing_open_row_t *row);
int routing_store_load_open (kf_store_t *store, routing_open_fn *fn, void *arg, kf_error_t *err);
//  Forget commands intake has acknowledged: queue the deletion of their
//  routing_outbox rows, acked = (shop_id text, request_id text) rows, in
//  the store's open pipeline (parameters are copied).
void routing_store_queue_forget (kf_store_t *store, kf_batch_t *acked);

//  ---------------------------------------------------------------------
//  Administration: the operator's changes to routing's configuration
//  (kefuctl links this module instead of carrying routing's schema). Each
//  runs on the store's connection, inside the caller's transaction.

//  A group as stored.
typedef struct {
    char name[33];             //  group_name
    char display[65];          //  display_name (what people see, e.g. 售前)
    char overflow_to[33];      //  where its queue overflows, "" = nowhere
    int64_t overflow_after_ms; //  ... after this long
    int64_t agents;            //  (lists only) agents in it
    int64_t active_agents;     //  (lists only) ... of them active
    int64_t waiting;           //  (lists only) conversations in its queue
} routing_group_row_t;

//  Add a group (add) or change one: display NULL keeps the stored name
//  (required to add), overflow_given replaces overflow_to (NULL: nowhere),
//  overflow_after_ms < 0 keeps it (to add: the default, 2 minutes). *row
//  gets the group as stored. Returns 1 when done, 0 when the group already
//  exists (add) or does not (change), -1 on error.
int routing_store_put_group (kf_store_t *store, const char *shop_id, const char *group, bool add,
                             const char *display, bool overflow_given, const char *overflow_to,
                             int64_t overflow_after_ms, routing_group_row_t *row, kf_error_t *err);
//  A shop's groups by name, each with its counts.
typedef void (routing_group_fn) (void *arg, const routing_group_row_t *row);
int routing_store_list_groups (kf_store_t *store, const char *shop_id, routing_group_fn *fn,
                               void *arg, kf_error_t *err);
//  The names in csv ("a,b") that are not groups (groups) or else shifts of
//  the shop, in their order, ", "-separated into missing ("" if none;
//  size bytes, cut short if it must be).
int routing_store_missing (kf_store_t *store, const char *shop_id, bool groups, const char *csv,
                           char *missing, size_t size, kf_error_t *err);

//  kefuctl shift defaults: shifts day 08:30-17:30 and night 17:30-23:00,
//  groups presales (售前) and aftersales (售后) overflowing to each other
//  after 2 minutes, the routing settings with their defaults — each only
//  where missing. *created says which were created now.
typedef struct {
    bool shift_day, shift_night;           //  created now
    bool group_presales, group_aftersales; //  created now
    bool settings;                         //  created now
} routing_defaults_t;
int routing_store_put_defaults (kf_store_t *store, const char *shop_id, routing_defaults_t *created,
                                kf_error_t *err);

//  One shift of a shop (minutes from local midnight; end < start crosses
//  midnight), with (lists only) its scheduled agents and whether the night
//  SLA applies to it.
typedef struct {
    const char *name; //  shift name
    int start_minute; //  0..1439
    int end_minute;   //  1..1440
    int64_t agents;   //  (lists only) agents scheduled on it
    bool night;       //  (lists only) the shop's night shift
} routing_shift_row_t;
//  Add a shift (add: start and end required) or change one (< 0 keeps it).
//  *row gets the times as stored (name borrowed). Returns 1 when done, 0
//  when it already exists (add) or does not (change), -1 on error.
int routing_store_put_shift (kf_store_t *store, const char *shop_id, const char *name, bool add,
                             int start_minute, int end_minute, routing_shift_row_t *row,
                             kf_error_t *err);
//  A shop's shifts by start time.
typedef void (routing_shift_fn) (void *arg, const routing_shift_row_t *row);
int routing_store_list_shifts (kf_store_t *store, const char *shop_id, routing_shift_fn *fn,
                               void *arg, kf_error_t *err);

//  Agents (kefuctl agent, kefuctl handover). Inside the caller's
//  transaction. Group and shift lists are comma-separated names.
//  Lock the agent's row: 1 it exists, 0 not, -1 error.
int routing_store_lock_agent (kf_store_t *store, const char *shop_id, const char *agent_id,
                              kf_error_t *err);
//  Add an agent: 1 added, 0 it exists already, -1 error.
int routing_store_add_agent (kf_store_t *store, const char *shop_id, const char *agent_id,
                             const char *name, int capacity, int weight, bool vip, kf_error_t *err);
//  Change an agent: name NULL, capacity/weight < 0 and vip/active < 0 keep
//  what is stored. 0 or -1.
int routing_store_set_agent (kf_store_t *store, const char *shop_id, const char *agent_id,
                             const char *name, int capacity, int weight, int vip, int active,
                             kf_error_t *err);
//  The agent's groups become (replace) or gain groups_csv ("" none).
int routing_store_put_agent_groups (kf_store_t *store, const char *shop_id, const char *agent_id,
                                    const char *groups_csv, bool replace, kf_error_t *err);
//  Schedule the agent on shifts_csv (days: bitmask, bit 0 = Monday; a
//  rotation of weeks with the agent on week offset), first clearing the
//  schedule when clear. The same shift in the same week is replaced.
int routing_store_put_agent_schedule (kf_store_t *store, const char *shop_id, const char *agent_id,
                                      bool clear, const char *shifts_csv, int days, int weeks,
                                      int offset, kf_error_t *err);
//  The agent's schedule, by week of the rotation then shift.
typedef void (routing_schedule_fn) (void *arg, const char *shift, int days, int weeks, int offset);
int routing_store_agent_schedule (kf_store_t *store, const char *shop_id, const char *agent_id,
                                  routing_schedule_fn *fn, void *arg, kf_error_t *err);
//  A shop's agents by id (kefuctl agent list): settings, presence (an
//  AgentStatus; since NULL when none is stored), load (conversations
//  assigned to them now), groups (comma-separated), schedule (a JSON array
//  of [shift, days, weeks, offset]) and handover note (NULL when none).
typedef struct {
    const char *agent_id, *name;
    int capacity, weight;
    bool vip, active;
    int presence;
    const char *since;
    int load;
    const char *groups, *schedule_json, *handover_note;
} routing_agent_row_t;
typedef void (routing_agent_fn) (void *arg, const routing_agent_row_t *row);
int routing_store_list_agents (kf_store_t *store, const char *shop_id, routing_agent_fn *fn,
                               void *arg, kf_error_t *err);
//  One agent's room (kefuctl transfer): the row of routing_store_list_agents
//  without groups, schedule and note (those fields are ""/NULL). 1 found,
//  0 no such agent, -1 error.
int routing_store_agent_room (kf_store_t *store, const char *shop_id, const char *agent_id,
                              routing_agent_row_t *row, kf_error_t *err);
//  An open conversation as routing holds it: 1 (state 1 queued, 2 assigned;
//  its agent into agent, "" when queued), 0 routing holds none (closed or
//  unknown), -1 error.
int routing_store_open_conversation (kf_store_t *store, const char *shop_id, int64_t id, int *state,
                                     char *agent, size_t size, kf_error_t *err);
//  Prune routing's history (kefuctl routing prune) from before cutoff_ms:
//  the assignment trail of conversations no longer open, and who served
//  whom beyond the shop's stickiness window (now_ms). Deletes go in
//  statements of at most chunk rows (short transactions beside a running
//  routing); dry_run counts instead. fn gets each table's rows. 0 or -1.
typedef void (routing_pruned_fn) (void *arg, const char *what, int64_t rows);
int routing_store_prune (kf_store_t *store, int64_t cutoff_ms, int64_t now_ms, bool dry_run,
                         int64_t chunk, routing_pruned_fn *fn, void *arg, kf_error_t *err);
//  The conversations waiting for an agent, per group in serving order
//  (class, VIP first, the longest wait, the id), with their waits at the
//  database's now.
typedef struct {
    const char *group, *group_display_name;
    int64_t position, conversation_id, customer_id;
    int channel;
    const char *channel_customer_id;
    int class_;
    bool vip;
    int64_t waited_ms;
    const char *waiting_since;
} routing_queue_row_t;
typedef void (routing_queue_fn) (void *arg, const routing_queue_row_t *row);
int routing_store_list_queue (kf_store_t *store, const char *shop_id, routing_queue_fn *fn,
                              void *arg, kf_error_t *err);
//  The agent's handover note (交接留言; "" clears it): 1 set, 0 no such
//  agent, -1 error.
int routing_store_set_handover (kf_store_t *store, const char *shop_id, const char *agent_id,
                                const char *note, kf_error_t *err);

//  A change of a shop's routing settings (kefuctl routing set): NULL and
//  negative values keep what is stored; overflow_order is a
//  comma-separated list of groups ("" clears it). A shop without a
//  settings row gets one with the defaults first.
typedef struct {
    const char *busy_reply;
    const char *after_hours_reply;
    int64_t sticky_days;
    int64_t sla_day_ms;
    int64_t sla_night_ms;
    const char *night_shift;
    int sla_reassign; //  -1 unchanged, 0 off, 1 on
    const char *overflow_order;
} routing_settings_change_t;
int routing_store_put_settings (kf_store_t *store, const char *shop_id,
                                const routing_settings_change_t *change, kf_error_t *err);
//  A shop's routing settings as routing applies them (strings borrowed for
//  the call). A shop without a settings row runs on the columns' defaults:
//  they are read from a row inserted in a transaction that is rolled back
//  (*stored false), so they come from the schema, not from a copy.
typedef struct {
    const char *busy_reply;
    const char *after_hours_reply;
    int64_t sticky_days;
    int64_t sla_day_ms;
    int64_t sla_night_ms;
    const char *night_shift;
    bool sla_reassign;
    const char *overflow_order; //  comma-separated groups ("" none)
    bool night_shift_exists;    //  the night shift names a shift of the shop
} routing_settings_row_t;
typedef void (routing_settings_fn) (void *arg, const routing_settings_row_t *row);
int routing_store_read_settings (kf_store_t *store, const char *shop_id, routing_settings_fn *fn,
                                 void *arg, bool *stored, kf_error_t *err);
//  The shop's intents routed to a group other than the default.
typedef void (routing_intent_group_fn) (void *arg, int intent, const char *group);
int routing_store_list_intent_groups (kf_store_t *store, const char *shop_id,
                                      routing_intent_group_fn *fn, void *arg, kf_error_t *err);
//  The group an intent goes to (group "" or NULL: back to the default).
int routing_store_put_intent_group (kf_store_t *store, const char *shop_id, int intent,
                                    const char *group, kf_error_t *err);

//  The quick-reply library (kefuctl phrases). A phrase as stored; strings
//  borrowed for the callback.
typedef struct {
    int64_t id;            //  phrase_id
    const char *intent;    //  "greeting" or an intent name (routing_phrase_key_name)
    const char *text;      //  the template
    const char *by;        //  who added it
    int64_t created_at_ms; //  when
} routing_phrase_row_t;
typedef void (routing_phrase_row_fn) (void *arg, const routing_phrase_row_t *row);
//  Add a phrase (checked by the caller with routing_phrase_check; intent a
//  key name). Returns 1 when added, 0 when the shop has that text under
//  that key already, 2 when the key holds ROUTING_PHRASES_PER_KEY phrases
//  (nothing added), -1 on error; *id is the new or existing phrase.
int routing_store_add_phrase (kf_store_t *store, const char *shop_id, const char *intent,
                              const char *text, const char *by, int64_t *id, kf_error_t *err);
//  A shop's phrases: the greeting first, then by intent, each in the order
//  suggestions follow.
int routing_store_list_phrases (kf_store_t *store, const char *shop_id, routing_phrase_row_fn *fn,
                                void *arg, kf_error_t *err);
//  Remove one: 1 removed, 0 no such phrase in the shop, -1 error.
int routing_store_remove_phrase (kf_store_t *store, const char *shop_id, int64_t phrase_id,
                                 kf_error_t *err);

//  What one transaction's decisions write.
typedef struct _routing_writes_t routing_writes_t;
routing_writes_t *routing_writes_new (void);
void routing_writes_destroy (routing_writes_t **self_p);
void routing_writes_conv (routing_writes_t *self, const char *shop_id, const routing_conv_t *conv);
void routing_writes_assignment (routing_writes_t *self, const routing_assignment_t *a,
                                int64_t at_ms);
void routing_writes_presence (routing_writes_t *self, const char *shop_id, const char *agent_id,
                              int status, int64_t at_ms);
void routing_writes_served (routing_writes_t *self, const char *shop_id, int64_t customer_id,
                            const char *agent_id, int64_t at_ms);
void routing_writes_command (routing_writes_t *self, const char *shop_id, const char *request_id,
                             const uint8_t *payload, size_t size, int64_t at_ms);
bool routing_writes_empty (const routing_writes_t *self);
//  Write everything collected (inside the caller's transaction), in one
//  pipelined round trip.
int routing_writes_flush (routing_writes_t *self, kf_store_t *store, kf_error_t *err);
//  Queue the same statements in the store's open pipeline instead (the
//  caller runs it); the collected rows are cleared either way.
void routing_writes_queue (routing_writes_t *self, kf_store_t *store);
void routing_writes_clear (routing_writes_t *self);

#endif
