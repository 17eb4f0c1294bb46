/*  ordersync_model — the shop's orders and their tasks: the rules of
    kefu-ordersync.

    The model holds, per shop, the settings, the orders something may
    still be due for (state, times, tasks, flags, the agent credited; the
    settled ones are in the record only), the agents' latest replies to
    each customer (for attribution) and who is on shift. It is pure logic: time comes from a
    kf_clock, calendars from the shop's kf_tz, and every decision goes to a
    sink (ordersync_sink_t), which in the service writes the record, the
    events and the commands, and in the unit tests records them.

    Rules (the README's "The order desk" tells them for a shop):
    - newest snapshot wins: a snapshot older than the order's (the
      platform's modification time) is refused as stale; at an equal time
      the further state wins and the same state is a repeat; a move the
      lifecycle does not allow (shipped back to created) is refused; the
      refused are counted and reported to the sink (kept for review);
    - 催付: at the shop's reminder time (default 16:00 local) every order
      created before it, still unpaid (online payment), and not yet
      reminded gets one reminder and the blue flag; once per order, ever
      (a blue flag set by hand counts); after a restart past the reminder
      time the reminders not decided yet are decided at once; an order
      paid before its reminder went out has the reminder cancelled;
    - COD (货到付款): a new cash-on-delivery order opens a confirmation
      task at once, owned by the agent who last replied to the buyer within
      the attribution window if that agent is on shift now (routing's
      agent.shift said so and intake's agent.presence has not said
      offline since), else the shop's COD group; a notice tells the owner;
      unconfirmed after cod_notice (default 2 h) of shop hours (default
      08:30-23:00, the time outside them does not count) the supervisors
      are told; an order_flag meaning COD_CONFIRMED closes it;
    - address: every paid order opens an address-confirmation task; an
      order_flag meaning ADDRESS_CONFIRMED (or a red flag) closes it with
      the note "content _ agent" (小红旗);
    - late: an order paid before the cutoff (default 17:00) and not shipped
      by the end of that shop day is late (paid after the cutoff: by the
      end of the next day): flag, event, notice to the supervisors; a
      shipped order without a courier update for stall_after (default 48 h)
      is stalled, the same way;
    - attribution (询单转化): an order is credited to the agent who last
      replied to its buyer before it was created, if that reply is at most
      the window (default 24 h) older than the order; the rule, window and
      conversation are kept with the order; nobody otherwise. */
#ifndef ORDERSYNC_MODEL_H
#define ORDERSYNC_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "kf_clock.h"

#define ORDERSYNC_ID_MAX 128
//  An unpaid order created this recently may still be reminded: it stays
//  in memory (and is read back at a start) until then.
#define ORDERSYNC_OPEN_MS  (2LL * 24 * 3600 * 1000)
#define ORDERSYNC_TEXT_MAX 512

//  A shop's settings (kefuctl orders settings; defaults as in the migration).
typedef struct {
    char shop_id[65];      //  shop
    char timezone[65];     //  IANA name or offset
    int remind_minute;     //  催付 time, local minutes after midnight (960)
    int cutoff_minute;     //  shipping cutoff (1020)
    int open_minute;       //  shop hours from (510: 08:30) ...
    int close_minute;      //  ... to (1380: 23:00); before open: past midnight; = open: all day
    int64_t cod_notice_ms; //  COD unconfirmed this long: supervisors told (2 h)
    int64_t stall_ms;      //  shipped, no courier update this long: stalled (48 h)
    int64_t window_ms;     //  attribution window (24 h)
    char cod_group[33];    //  COD task owner when no agent served the buyer
    char remind_text[ORDERSYNC_TEXT_MAX + 1]; //  reminder template; "%s" = the order id
} ordersync_settings_t;

//  Fill the defaults for shop_id (Asia/Shanghai, 16:00, 17:00, 08:30-23:00,
//  2 h, 48 h, 24 h).
void ordersync_settings_defaults (ordersync_settings_t *s, const char *shop_id);

//  A snapshot as it came from the feed (strings borrowed). The personal
//  fields (address, phone) never reach the model.
typedef struct {
    const char *order_id;            //  platform order id
    int64_t customer_id;             //  kefu customer id of the buyer (0: unknown)
    int channel;                     //  Channel
    const char *channel_customer_id; //  buyer id on the channel
    int state;                       //  OrderState
    int payment;                     //  PaymentMethod
    int64_t amount_cents;            //  total
    const char *currency;            //  ISO 4217
    int64_t created_at, paid_at, shipped_at, delivered_at, logistics_at; //  ms, 0 unknown
    int64_t modified_at;     //  platform's modification time
    const char *tracking_no; //  "" if none
} ordersync_snapshot_t;

//  An order as the model keeps it (and the store persists it).
typedef struct {
    char order_id[ORDERSYNC_ID_MAX + 1];            //  platform order id
    int64_t customer_id;                            //  kefu customer id
    int channel;                                    //  Channel
    char channel_customer_id[ORDERSYNC_ID_MAX + 1]; //  buyer id
    int state;                                      //  OrderState
    int payment;                                    //  PaymentMethod
    int64_t amount_cents;                           //  total
    char currency[4];                               //  ISO 4217
    int64_t created_at, paid_at, shipped_at, delivered_at, logistics_at, modified_at;
    //  Tasks and flags (ms when it happened, 0 = not).
    int64_t reminded_at;                       //  催付 decided or blue flag set by hand
    int64_t cod_opened_at;                     //  COD confirmation task opened
    int64_t cod_confirmed_at;                  //  ... confirmed (flag)
    int64_t cod_escalated_at;                  //  ... supervisors told
    char task_owner[ORDERSYNC_ID_MAX + 1];     //  COD task owner (agent or group)
    int64_t address_opened_at;                 //  address task opened (paid)
    int64_t address_confirmed_at;              //  ... confirmed (red flag)
    char address_note[ORDERSYNC_TEXT_MAX + 1]; //  "content _ agent"
    int64_t late_at;                           //  flagged late
    int64_t stalled_at;                        //  flagged stalled
    //  Attribution.
    char credited_agent[ORDERSYNC_ID_MAX + 1]; //  "" = nobody
    int64_t credited_conversation;             //  the conversation of the reply
    int64_t credited_reply_at;                 //  the reply's time
    int64_t credit_window_ms;                  //  the window in force then
    int refused;                               //  snapshots refused (stale or impossible)
} ordersync_order_t;

//  A command decided for a gateway (reminder to the buyer, notice to agents).
typedef struct {
    const char *request_id; //  idempotency key: "<what>:<order id>"
    bool notice;            //  NoticeCommand (else ReminderCommand)
    int reminder_kind;      //  ReminderKind (reminders)
    const char *audience;   //  notices: agent id, group or "supervisors"
    int severity;           //  notices: NoticeSeverity
    const char *text;       //  the text
} ordersync_command_t;

//  What ordersync_model_on_update did with a snapshot.
typedef enum {
    ORDERSYNC_APPLIED = 0, //  the order changed
    ORDERSYNC_REPEAT = 1,  //  same time, not further: nothing to do
    ORDERSYNC_STALE = 2,   //  older than the order's: refused
    ORDERSYNC_REFUSED = 3, //  a move the lifecycle does not allow: refused
} ordersync_outcome_t;

typedef struct {
    //  The order's row changed (persist it); snap is the snapshot applied
    //  (its personal fields live only there), NULL for a task or flag.
    void (*changed) (void *arg, const char *shop_id, const ordersync_order_t *o,
                     const ordersync_snapshot_t *snap);
    //  An "order.*" event: kind, and what it concerns ("" when none).
    void (*event) (void *arg, const char *shop_id, const ordersync_order_t *o, const char *kind,
                   int previous_state, const char *flag, const char *task, const char *note,
                   const char *agent);
    //  A command for a gateway (hand it in after the commit).
    void (*command) (void *arg, const char *shop_id, const ordersync_order_t *o,
                     const ordersync_command_t *c);
    //  A command decided earlier must not go out any more (if it has not).
    void (*cancel) (void *arg, const char *shop_id, const char *request_id);
    //  A snapshot refused (stale or impossible): keep it for review.
    void (*refused) (void *arg, const char *shop_id, const ordersync_snapshot_t *snap,
                     const ordersync_order_t *o, ordersync_outcome_t why);
    //  An agent replied to a customer (persist for attribution after a restart).
    void (*reply_seen) (void *arg, const char *shop_id, int64_t customer_id, const char *agent_id,
                        int64_t conversation_id, int64_t at);
    //  What the model knows of an agent changed (persist it).
    void (*agent_changed) (void *arg, const char *shop_id, const char *agent_id, bool on_shift,
                           bool offline);
    void *arg;
} ordersync_sink_t;

typedef struct _ordersync_model_t ordersync_model_t;

//  clock and sink are borrowed. Caller owns return value.
ordersync_model_t *ordersync_model_new (kf_clock_t *clock, const ordersync_sink_t *sink);
void ordersync_model_destroy (ordersync_model_t **self_p);

//  Install or replace a shop's settings. -1 if its time zone is unknown.
int ordersync_model_configure (ordersync_model_t *self, const ordersync_settings_t *settings);
//  The settings in force (borrowed), NULL for a shop never seen.
const ordersync_settings_t *ordersync_model_settings (ordersync_model_t *self, const char *shop_id);

//  An order as stored (no decision taken): after a restart, and before a
//  snapshot or flag for an order memory does not hold (ordersync_model_order
//  is NULL). Memory holds only orders something may still be due for; a
//  settled one (delivered, closed, refunded, paid and flagged late, ... with
//  no open COD confirmation, and no unpaid order of the last two days) is
//  forgotten by ordersync_model_forget_settled.
void ordersync_model_restore_order (ordersync_model_t *self, const char *shop_id,
                                    const ordersync_order_t *o);
void ordersync_model_restore_reply (ordersync_model_t *self, const char *shop_id,
                                    int64_t customer_id, const char *agent_id,
                                    int64_t conversation_id, int64_t at);
void ordersync_model_restore_agent (ordersync_model_t *self, const char *shop_id,
                                    const char *agent_id, bool on_shift, bool offline);

//  Input: a snapshot, an agent's flag, an agent's reply to a customer.
ordersync_outcome_t ordersync_model_on_update (ordersync_model_t *self, const char *shop_id,
                                               const ordersync_snapshot_t *snap);
//  colour: OrderFlagColour, meaning: OrderFlagMeaning. -1 for an unknown order.
int ordersync_model_on_flag (ordersync_model_t *self, const char *shop_id, const char *order_id,
                             int colour, int meaning, const char *note, const char *agent_id);
void ordersync_model_on_reply (ordersync_model_t *self, const char *shop_id, int64_t customer_id,
                               const char *agent_id, int64_t conversation_id, int64_t at);
//  Routing says the agent's shift began or ended (agent.shift); intake, that
//  the agent's status changed (agent.presence, an AgentStatus).
void ordersync_model_on_shift (ordersync_model_t *self, const char *shop_id, const char *agent_id,
                               bool on_shift);
void ordersync_model_on_presence (ordersync_model_t *self, const char *shop_id,
                                  const char *agent_id, int status);
//  True when the agent may own a task now: on shift, not offline (an agent
//  routing never spoke of is not on shift).
bool ordersync_model_available (ordersync_model_t *self, const char *shop_id, const char *agent_id);
//  The instant by which ms of the shop's hours have passed since from.
int64_t ordersync_model_after_shop_hours (ordersync_model_t *self, const char *shop_id,
                                          int64_t from, int64_t ms);

//  After a start: orders created up to created_at may be in the record and
//  not in memory (the latest creation time in the record will do).
void ordersync_model_restore_forgotten (ordersync_model_t *self, const char *shop_id,
                                        int64_t created_at);
//  False when an order created at created_at that memory does not hold is
//  surely new (created after every order memory let go of): no need to
//  look for its row. created_at 0 (unknown): true.
bool ordersync_model_may_be_settled (ordersync_model_t *self, const char *shop_id,
                                     int64_t created_at);
//  Drop from memory the orders found settled since the last call (call it
//  once their rows are committed: a snapshot for one of them must find its
//  row in the record, ordersync_model_restore_order).
void ordersync_model_forget_settled (ordersync_model_t *self);

//  Carry out everything due at the clock's now (reminder runs, COD
//  escalations, late and stalled orders). Returns how many orders it acted on.
int ordersync_model_tick (ordersync_model_t *self);
//  The same, stopping once it has acted on max_acted orders: what is left
//  stays due now (ordersync_model_next_deadline), for the next call. A
//  caller that commits each call's decisions on their own hands the first
//  ones on while it decides the rest.
int ordersync_model_tick_at_most (ordersync_model_t *self, int max_acted);
//  The earliest time something may be due (ms), or INT64_MAX.
int64_t ordersync_model_next_deadline (ordersync_model_t *self);

//  The order (borrowed) or NULL.
const ordersync_order_t *ordersync_model_order (ordersync_model_t *self, const char *shop_id,
                                                const char *order_id);

typedef struct {
    int shops;          //  configured shops
    int64_t orders;     //  orders known
    int64_t applied;    //  snapshots applied
    int64_t repeats;    //  snapshots that changed nothing
    int64_t stale;      //  snapshots refused as older
    int64_t impossible; //  snapshots refused as impossible moves
    int64_t reminders;  //  催付 reminders decided
    int64_t late;       //  orders flagged late
    int64_t stalled;    //  orders flagged stalled
    int64_t credited;   //  orders credited to an agent
    int64_t forgotten;  //  settled orders dropped from memory (their rows stay)
} ordersync_stats_t;
void ordersync_model_stats (ordersync_model_t *self, ordersync_stats_t *out);

//  True when the lifecycle allows the move from one OrderState to another.
bool ordersync_move_allowed (int from, int to);

#endif
