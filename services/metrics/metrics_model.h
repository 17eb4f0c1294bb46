/*  metrics_model — what every supervisor number counts: the rules of
    kefu-metrics.

    Events of intake (conversations, lines, ratings, presence) and routing
    (queued, assigned) come in; what they add to the hourly rollups goes
    out through a sink (metrics_sink_t) as deltas keyed by (shop, UTC hour,
    agent, channel, group). The model keeps, per conversation, the state the
    rules need (metrics_conv_t: first line, open round, owner, queue, ...);
    the service persists it through the same sink and gives it back after a
    restart. It is pure logic: no sockets, no SQL, time only from a
    kf_clock (for the "now" views), so every rule is unit-tested on a
    driven clock with a sink that records. The README's "What each number
    means" is the supervisor's version of these rules.

    Order. The service applies routing's and intake's streams in no fixed
    order relative to each other (live, intake's events come first; when
    catching up, routing's backlog is applied before intake's). Every number
    is therefore a function of the set of events, not of their interleaving:
    - facts about a whole conversation (opened, answered, first response,
      after hours, queued, abandoned, closed) are recomputed from its state
      after every event and only the difference goes out, so a later routing
      event (after_hours, the group, the last word "queued") corrects what
      was counted before it;
    - facts about single lines are counted once, under the group known at
      the time; while the conversation has no group yet they are also kept
      in its ledger and moved to the group when routing names it;
    - routing's waits wait in the conversation until its first line (their
      hour) is known.
    The one exception is documented with metrics_model_on_rating. */
#ifndef METRICS_MODEL_H
#define METRICS_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "kf_clock.h"

#define METRICS_ID_MAX     128 //  agent ids, channel customer ids (bytes)
#define METRICS_GROUP_MAX  32  //  group names
#define METRICS_OWNERS_MAX 16  //  assignments remembered per conversation
#define METRICS_HOUR_MS    3600000LL

//  The counters of one rollup row, in column order of metrics_hours.
//  Every one is a sum of deltas, except METRICS_WAIT_MAX (a maximum: its
//  "delta" is a value to take the maximum with, and it is never taken back).
typedef enum {
    METRICS_CONV_CUSTOMER = 0, //  customer-opened conversations
    METRICS_CONV_SHOP,         //  shop-opened conversations
    METRICS_CONV_AFTER_HOURS,  //  customer-opened and queued after hours
    METRICS_CONV_ANSWERED,     //  customer-opened with a human reply (= first responses)
    METRICS_CONV_ANSWERED_AH,  //  ... of which after hours
    METRICS_FRT_SUM,           //  ms, first responses not after hours
    METRICS_FRT_AH_SUM,        //  ms, first responses after hours
    METRICS_CONV_QUEUED,       //  conversations routing queued at least once
    METRICS_CONV_ABANDONED,    //  closed while queued
    METRICS_CONV_CLOSED,       //  closed conversations
    METRICS_CLOSE_SUM,         //  ms, time to close
    METRICS_WAITS,             //  assignments out of a queue
    METRICS_WAIT_SUM,          //  ms waited
    METRICS_WAIT_MAX,          //  ms, longest wait (a maximum)
    METRICS_CUSTOMER_MSGS,     //  customer messages
    METRICS_REPLIES,           //  human replies
    METRICS_AUTO_REPLIES,      //  auto-replies (never an answer)
    METRICS_QA_FLAGGED,        //  human replies with a forbidden phrase
    METRICS_QA_FLAGS,          //  forbidden phrases found
    METRICS_ROUNDS,            //  answered rounds
    METRICS_ROUND_SUM,         //  ms, round response times
    METRICS_ROUND_MSGS,        //  customer messages of the rounds answered (for 答问比)
    METRICS_ROUNDS_UNANSWERED, //  rounds open when their conversation closed
    METRICS_RATING_1,          //  ratings by score, 1 .. 5
    METRICS_RATING_2,
    METRICS_RATING_3,
    METRICS_RATING_4,
    METRICS_RATING_5,
    METRICS_COUNTERS
} metrics_counter_t;

//  Column names of the counters (metrics_hours), in enum order.
extern const char *const metrics_counter_names[METRICS_COUNTERS];

//  Latency histograms (metrics_hist.metric, 1-based there).
typedef enum {
    METRICS_HIST_FRT = 0, //  first responses not after hours
    METRICS_HIST_ROUND,   //  round response times
    METRICS_HIST_CLOSE,   //  time to close
    METRICS_HIST_WAIT,    //  queue waits
    METRICS_HISTS
} metrics_hist_t;

//  Fixed buckets, each (lower, upper] in ms (the first [0, 1 s]): 1 s wide
//  up to 60 s, 5 s up to 5 min, 30 s up to 30 min, 5 min up to 2 h, 1 h up
//  to 24 h, then one overflow bucket.
#define METRICS_BUCKETS 199
//  The bucket of a duration (negative counts as 0).
int metrics_bucket (int64_t ms);
//  A bucket's upper bound in ms; INT64_MAX for the overflow bucket.
int64_t metrics_bucket_upper (int bucket);
//  True when ms is the upper bound of a bucket (an exact threshold).
bool metrics_bucket_is_bound (int64_t ms);

//  Where a delta goes.
typedef struct {
    const char *shop_id;  //  shop
    int64_t hour_ms;      //  start of the UTC hour
    const char *agent_id; //  credited agent, "" for none
    int channel;          //  Channel
    const char *group;    //  routing group, "" for none (yet)
} metrics_key_t;

//  A fact counted while its conversation had no group (moved when it gets one).
typedef struct {
    int64_t hour_ms;                   //  its hour
    char agent_id[METRICS_ID_MAX + 1]; //  its agent
    int what;                          //  counter, or METRICS_COUNTERS + hist
    int bucket;                        //  histogram bucket
    int64_t delta;                     //  what was added
} metrics_entry_t;

//  An assignment routing made (for "the owner at the time of a rating").
typedef struct {
    int64_t at_ms;                     //  routing's time of the decision
    char agent_id[METRICS_ID_MAX + 1]; //  the new owner ("" = nobody)
} metrics_owner_t;

//  A conversation as the rules see it; also the row the service persists.
//  Times are the platform's sent_at (ms), 0 = not yet.
typedef struct {
    int64_t id;                            //  conversation id
    int channel;                           //  Channel (0 until known)
    char customer[METRICS_ID_MAX + 1];     //  the customer's id on the channel
    char group[METRICS_GROUP_MAX + 1];     //  routing's first group, "" = none yet
    int intent;                            //  intent of the opening message
    bool vip;                              //  VIP customer
    int64_t first_at;                      //  first line
    bool customer_opened;                  //  the first line was the customer's
    int64_t answered_at;                   //  first human reply (customer-opened)
    char first_agent[METRICS_ID_MAX + 1];  //  ... its author
    int round1_msgs;                       //  customer messages of the first round
    int64_t round_at;                      //  the open round began, 0 = none open
    int round_msgs;                        //  customer messages in the open round
    int64_t last_at;                       //  latest line
    char last_replier[METRICS_ID_MAX + 1]; //  latest human replier
    char owner[METRICS_ID_MAX + 1];        //  routing's latest owner
    bool queued;                           //  routing's last word: queued
    bool ever_queued;                      //  routing queued it at least once
    bool after_hours;                      //  routing's first word: queued after hours
    bool closed;                           //  closed
    metrics_owner_t *owners;               //  assignments, oldest first (owned)
    int owner_count;                       //  entries
    int64_t *waits;                        //  waits before the first line (owned)
    int wait_count;                        //  entries
    metrics_entry_t *ledger;               //  facts counted under no group (owned)
    int ledger_count;                      //  entries
} metrics_conv_t;

//  A new, empty conversation. Caller owns return value.
metrics_conv_t *metrics_conv_new (int64_t id);
void metrics_conv_destroy (metrics_conv_t **self_p);
//  Append to the lists (store loading).
void metrics_conv_add_owner (metrics_conv_t *self, int64_t at_ms, const char *agent_id);
void metrics_conv_add_wait (metrics_conv_t *self, int64_t waited_ms);
void metrics_conv_add_entry (metrics_conv_t *self, const metrics_entry_t *entry);

//  A flagged human reply, for QA (qa.flags lists them).
typedef struct {
    int64_t message_id;       //  the line
    int64_t conversation_id;  //  its conversation
    const char *agent_id;     //  its author
    int channel;              //  Channel
    int64_t sent_at;          //  ms
    const char *const *flags; //  phrases found
    int flag_count;           //  how many
    const char *body;         //  the reply
} metrics_qa_line_t;

typedef struct {
    //  Add delta to a counter of a rollup row.
    void (*count) (void *arg, const metrics_key_t *key, int counter, int64_t delta);
    //  Add delta to a histogram bucket of a rollup row.
    void (*hist) (void *arg, const metrics_key_t *key, int hist, int bucket, int64_t delta);
    //  A conversation's state changed (persist it; borrowed).
    void (*conv_changed) (void *arg, const char *shop_id, const metrics_conv_t *conv);
    //  A human reply carried forbidden phrases (keep the line; borrowed).
    void (*qa_line) (void *arg, const char *shop_id, const metrics_qa_line_t *line);
    //  An agent's presence changed (persist it).
    void (*presence) (void *arg, const char *shop_id, const char *agent_id, int status,
                      int64_t since_ms);
    void *arg;
} metrics_sink_t;

typedef struct _metrics_model_t metrics_model_t;

//  clock and sink are borrowed. Caller owns return value.
metrics_model_t *metrics_model_new (kf_clock_t *clock, const metrics_sink_t *sink);
void metrics_model_destroy (metrics_model_t **self_p);
//  Forget everything (before a reload from the record).
void metrics_model_reset (metrics_model_t *self);

//  Is the conversation in memory? (Otherwise the service looks for its row
//  and hands it over with metrics_model_adopt before the event.)
bool metrics_model_knows (metrics_model_t *self, const char *shop_id, int64_t conversation_id);
//  Take a conversation restored from the record; takes ownership of *conv_p.
void metrics_model_adopt (metrics_model_t *self, const char *shop_id, metrics_conv_t **conv_p);
//  Restore an agent's presence.
void metrics_model_restore_agent (metrics_model_t *self, const char *shop_id, const char *agent_id,
                                  int status, int64_t since_ms);
//  Drop closed conversations from memory (their rows hold them): call after
//  the transaction that persisted them committed.
int metrics_model_evict_closed (metrics_model_t *self);

//  ---------------------------------------------------------------------
//  Events

//  conversation.opened (intake).
void metrics_model_on_opened (metrics_model_t *self, const char *shop_id, int64_t conversation_id,
                              int channel, const char *customer, int intent, bool vip);

//  message.accepted (intake): a customer message or an agent reply.
typedef struct {
    int64_t conversation_id;  //  its conversation
    int64_t message_id;       //  its record id
    int channel;              //  Channel
    bool from_customer;       //  customer message, else agent reply
    bool auto_reply;          //  the platform's auto-responder wrote it
    const char *agent_id;     //  replies: the author
    int64_t sent_at;          //  the platform's time, ms
    const char *const *flags; //  replies: forbidden phrases found
    int flag_count;           //  how many
    const char *body;         //  the text (kept only for flagged replies)
} metrics_line_t;
void metrics_model_on_line (metrics_model_t *self, const char *shop_id, const metrics_line_t *line);

//  conversation.closed (intake).
void metrics_model_on_closed (metrics_model_t *self, const char *shop_id, int64_t conversation_id);

//  rating.received (intake). A rating that names no agent is credited to
//  the conversation's owner when intake received it: routing's latest
//  assignment made before that instant (both servers' clocks), else the
//  agent who last replied before it. Live, an assignment that routing made
//  a few milliseconds before the rating may reach metrics after it (the
//  only place where the streams' interleaving matters); catching up, every
//  assignment is known first.
typedef struct {
    int64_t conversation_id; //  the rated conversation, 0 = none found
    int channel;             //  Channel
    const char *agent_id;    //  the rated agent, "" = not named
    int score;               //  1..5
    int64_t sent_at;         //  the platform's time, ms
    int64_t received_at;     //  intake's receive time, ms
} metrics_rating_t;
void metrics_model_on_rating (metrics_model_t *self, const char *shop_id,
                              const metrics_rating_t *rating);

//  agent.presence (intake).
void metrics_model_on_presence (metrics_model_t *self, const char *shop_id, const char *agent_id,
                                int status, int64_t at_ms);

//  conversation.queued (routing): nobody owns it now. at_ms is the
//  event's occurred_at. after_hours counts only as routing's first word
//  about the conversation (service hours are those of its opening).
void metrics_model_on_queued (metrics_model_t *self, const char *shop_id, int64_t conversation_id,
                              const char *group, bool after_hours, int64_t at_ms);
//  conversation.assigned (routing); at_ms is the event's occurred_at.
void metrics_model_on_assigned (metrics_model_t *self, const char *shop_id, int64_t conversation_id,
                                const char *agent_id, const char *group, int64_t waited_ms,
                                int64_t at_ms);

//  ---------------------------------------------------------------------
//  Now (agents.now, conversations.waiting)

//  Every open conversation of a shop, in no order (borrowed).
typedef void (metrics_conv_fn) (void *arg, const metrics_conv_t *conv);
void metrics_model_each_open (metrics_model_t *self, const char *shop_id, metrics_conv_fn *fn,
                              void *arg);

//  One agent now.
typedef struct {
    const char *agent_id; //  borrowed
    int status;           //  AgentStatus (0: never reported)
    int64_t since_ms;     //  since when (intake's time)
    int load;             //  open conversations they own
    int waiting;          //  ... whose customer waits for a human reply
    int64_t oldest_wait;  //  sent_at of the longest waiting one, 0 = none
} metrics_agent_now_t;
//  Agents with a presence or open conversations, sorted by id. Caller owns
//  the array (free); its strings are borrowed until the model changes.
int metrics_model_agents_now (metrics_model_t *self, const char *shop_id,
                              metrics_agent_now_t **out);

//  Inspection (status).
typedef struct {
    int shops;         //  shops seen
    int conversations; //  in memory
    int open;          //  of which open
    int agents;        //  agents with a presence
} metrics_stats_t;
void metrics_model_stats (metrics_model_t *self, metrics_stats_t *out);

#endif
