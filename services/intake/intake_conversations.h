/*  intake_conversations — the conversation rules, pure: what one batch of
    items does to its customers' conversations.

    Input: the batch's validated items and, per customer key (shop,
    channel, customer id on the channel), the state known for it:
    remembered by the writer (intake_conversations_recall), read from the
    record (intake_conversations_latest), or presumed new (nothing given).
    Output: a write plan — the conversations to insert or update
    (intake_conversations_at), each item's conversation, and the events in
    the order a subscriber must see them (intake_conversations_events). No
    SQL, no sockets, no clock: times are the items' sent_at, the platform's
    clock (validated by intake within KEFU_INTAKE_MAX_PAST/MAX_FUTURE), so
    the same items give the same conversations whether they arrive live,
    late or replayed. Receive times stay on the messages only.

    The rules (one unit test each, tests/unit/test_intake_conversations.c):
      - the batch's items are taken in sent_at order (equal times: receive
        order), whatever order they arrived in;
      - a customer message or agent reply with no open conversation opens
        one (previous_conversation_id = the customer's latest);
      - an open conversation expires at its last message + its limit: the
        quiet period (KEFU_INTAKE_QUIET_PERIOD, 30 minutes) while nobody
        waits, the abandon limit (KEFU_INTAKE_ABANDON_AFTER, 24 hours) while
        the customer waits for a human reply (the latest customer message
        is later than the latest reply that is not an auto-reply). An item
        sent after that closes it first (reason quiet, or abandoned), as the
        sweep would have; a message or reply then opens a new one;
      - a close item closes the open conversation, by its agent;
      - a rating belongs to the conversation it rates: the one open when it
        was sent, or else the latest one closed before its sent_at (one the
        customer opened after the rating was sent is not it);
      - a transfer belongs to the open conversation or else the latest one;
      - agent presence belongs to no conversation;
      - priority only rises, VIP once seen stays, the intent is the opening
        customer message's;
      - the stored last activity (last_message_at) moves lazily: only when
        it lags the last message by a minute (or a thirtieth of the quiet
        period) is an open conversation rewritten;
      - a remembered open conversation expired (by the rule above) at the
        customer's first item is not trusted: the sweep has probably closed
        it, read it again.
    The sweep of conversations nobody writes to (intake_store_close_quiet)
    applies the same expiry in SQL, with the same close time and reason.

    What is guaranteed: items of one customer within one batch give the
    same conversations in any order. Across batches an item is placed
    against the customer's latest conversation: items that arrive in
    sent_at order per customer (a live feed, a backfill, a gateway catching
    up after an outage) give the same conversations as one batch would; an
    item sent before the latest conversation opened joins that conversation
    (the record's earlier conversations are not rewritten), except a rating
    (rule above). The sweep closes a conversation only once the shop's
    newest stored messages are past its expiry, or, when none came for
    KEFU_INTAKE_CATCH_UP (1 hour), once intake's clock less that is: a
    backfill, however late, and a gateway catching up after an outage
    shorter than that find their customers' conversations as they left
    them. Not guaranteed: items of one customer arriving out of sent_at
    order in different batches (from the record a conversation's times are
    read from its latest lines as stored); an outage longer than the
    catch-up time; one gateway late while another of the same shop
    delivers live.

        intake_conversations_t *plan = intake_conversations_new (items, n, periods);
        ... per customer: _recall (memory) or _latest (record) ...
        int opened = intake_conversations_walk (plan);
        ... number the new conversations: intake_conversations_number (plan, ids) ...
        ... write intake_conversations_at (plan, i), then the events ...
        intake_conversations_destroy (&plan); */
#ifndef INTAKE_CONVERSATIONS_H
#define INTAKE_CONVERSATIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "intake_cache.h"
#include "intake_item.h"
#include "kefu/v1/events.pb-c.h"

//  One conversation the batch touches (a customer key may go through
//  several: the stale one closed, a new one opened, closed, another...).
typedef struct _intake_conv_t {
    int64_t id;                            //  conversation id (new ones: set by _number)
    bool is_new;                           //  to insert
    const intake_item_t *sample;           //  an item of its customer key (shop, channel, ccid)
    int64_t customer_ref;                  //  kefu customer id
    int64_t opened_ms;                     //  opening time (sent_at of its first item)
    int64_t last_ms;                       //  exact last message time (sent_at)
    int64_t customer_ms;                   //  latest customer message (sent_at; 0: none)
    int64_t reply_ms;                      //  latest human reply (sent_at; 0: none)
    int64_t stored_last_ms;                //  last_message_at as stored (kept lazily)
    int64_t base_count;                    //  message_count as stored (exact once closed)
    int added;                             //  messages added by the batch
    int priority;                          //  highest priority seen
    int intent;                            //  intent of the opening customer message
    bool vip;                              //  VIP customer
    int64_t closed_ms;                     //  0 = open
    int close_reason;                      //  CloseReason when closed
    const char *closed_by;                 //  agent who closed it, borrowed, may be NULL
    int64_t previous_id;                   //  the conversation this one follows
    const struct _intake_conv_t *previous; //  ... when the batch touches it (numbered later)
    bool touched;                          //  existing one changed by the batch: to update
    bool remembered;                       //  from the writer's memory: to lock and check open
} intake_conv_t;

//  One customer key of the batch and what is known of it.
typedef struct {
    const intake_item_t *sample; //  an item of this key (for shop/channel/ccid)
    int64_t customer_ref;        //  kefu customer id (0 until known)
    intake_conv_t *current;      //  the conversation in force (open or just closed)
    int64_t last_conv_id;        //  latest conversation (for ratings/closes with none open)
    int64_t last_opened_ms;      //  ... when it is closed: its opening time
    int64_t last_previous_id;    //  ... and the conversation it follows
    int64_t first_ms;            //  first receive time in the batch
    int64_t first_sent_ms;       //  earliest sent_at in the batch
    const char *name;            //  latest display name, borrowed (NULL: unchanged)
    bool vip;                    //  any VIP flag
    bool cached;                 //  not to read from the record (remembered, or presumed new)
    bool known;                  //  in the writer's memory: never presumed new
    bool renamed;                //  remembered, but its name or VIP flag changes: update
    bool presumed;               //  presumed a new customer: insert it
} intake_customer_t;

//  What the batch did around one item.
typedef struct {
    intake_conv_t *conv;        //  the conversation the item belongs to
    intake_conv_t *closed_prev; //  a stale conversation this item closed (quiet period)
    intake_conv_t *opened;      //  a conversation this item opened
    intake_conv_t *closed;      //  a conversation this item (a close) closed
    int64_t earlier_id;         //  a rating's conversation the batch does not touch (0: conv)
} intake_outcome_t;

//  How long a conversation stays open without messages (ms).
typedef struct {
    int64_t quiet_ms;    //  while nobody waits (KEFU_INTAKE_QUIET_PERIOD)
    int64_t abandon_ms;  //  while the customer waits for a reply (KEFU_INTAKE_ABANDON_AFTER)
    int64_t catch_up_ms; //  the sweep's allowance for late items (KEFU_INTAKE_CATCH_UP)
} intake_periods_t;

//  A customer's latest conversation as the record has it.
typedef struct {
    int64_t id;             //  conversation id
    bool open;              //  still open (then all below; closed: opened_ms, previous_id)
    int64_t opened_ms;      //  opened_at
    int64_t stored_last_ms; //  last_message_at as stored (kept lazily)
    int64_t last_ms;        //  its exact last message (sent_at)
    int64_t customer_ms;    //  its latest customer message (0: none)
    int64_t reply_ms;       //  its latest human reply (0: none)
    int64_t message_count;  //  message_count as stored
    int64_t previous_id;    //  the conversation it follows (0: none)
    int priority;           //  its priority
    int intent;             //  its intent
} intake_conv_record_t;

typedef struct _intake_conversations_t intake_conversations_t;

//  The plan for items[0..count) (borrowed: they must outlive the plan; the
//  walk sets their customer_ref and conversation_id). Items with a status
//  already set or repeating an earlier one (dup_of >= 0) take no part.
//  Caller owns return value.
intake_conversations_t *intake_conversations_new (intake_item_t *items, int count,
                                                  intake_periods_t periods);
void intake_conversations_destroy (intake_conversations_t **self_p);

//  Whether an item is new in this batch (no earlier delivery found).
bool intake_conversations_item_is_new (const intake_item_t *item);
//  Whether an item has a customer (all but presence).
bool intake_conversations_item_has_customer (const intake_item_t *item);
//  An item's customer key ("shop\x1f" "channel\x1f" "ccid") into buf.
void intake_conversations_key (const intake_item_t *item, char *buf, size_t size);

//  The batch's customers: first/next iterate (borrowed), key gives the
//  current one's key; lookup finds one by key (NULL: none).
intake_customer_t *intake_conversations_first (intake_conversations_t *self);
intake_customer_t *intake_conversations_next (intake_conversations_t *self);
const char *intake_conversations_cursor (intake_conversations_t *self);
intake_customer_t *intake_conversations_lookup (intake_conversations_t *self, const char *key);

//  The writer remembers customer c as e (intake_cache.h). Uses it when it
//  holds an open conversation not expired at the customer's earliest item
//  (sent_at); returns whether it did (then c is cached: not read). A
//  remembered customer is never presumed new.
bool intake_conversations_recall (intake_conversations_t *self, intake_customer_t *c,
                                  const intake_cache_entry_t *e);
//  Read from the record: the customer's latest conversation (copied).
void intake_conversations_latest (intake_conversations_t *self, intake_customer_t *c,
                                  const intake_conv_record_t *latest);

//  Apply the rules, items in sent_at order. Returns how many new
//  conversations the plan opens (to be numbered).
int intake_conversations_walk (intake_conversations_t *self);
//  Give the new conversations their ids (ids[0..opened), in plan order) and
//  every new item its conversation (a rating: the one it rates).
void intake_conversations_number (intake_conversations_t *self, const int64_t *ids);

//  The conversations the plan touches (new, updated or only read). Borrowed.
int intake_conversations_count (const intake_conversations_t *self);
intake_conv_t *intake_conversations_at (intake_conversations_t *self, int index);
//  What the walk decided around items[index]. Borrowed.
const intake_outcome_t *intake_conversations_outcome (const intake_conversations_t *self,
                                                      int index);
//  Whether the plan closes a conversation (its event needs the exact count).
bool intake_conversations_closes_any (const intake_conversations_t *self);

//  The batch's events in the order a subscriber must see them (sent_at
//  order: a conversation opened before its first message, closed before
//  its successor opens): conversation.closed/opened and one per ACCEPTED item.
//  The event and what it points to are borrowed for the call. Stops at the
//  first nonzero return and returns it.
typedef int (intake_event_fn) (void *arg, Kefu__V1__Event *event);
int intake_conversations_events (intake_conversations_t *self, intake_event_fn *fn, void *arg);

//  After the commit: what to remember of customer c (entry's name is
//  borrowed). Returns false when c has no customer id (forget it).
bool intake_conversations_memory (const intake_customer_t *c, intake_cache_entry_t *entry);

#endif
