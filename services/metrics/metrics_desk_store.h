/*  metrics_desk_store — the SQL of what the desk and the order and
    after-sales desks do (migrations 0042, 0043): quick-reply uses per
    (shop, hour, agent, phrase); who talked to the shop per hour; each
    order's and each complaint's times as their events left them. Written
    in the transaction of the batch's offsets (several events about one
    order or case in one batch are merged first: a time is the first one
    seen, a flag once set stays set), read back for phrases.usage,
    orders.summary and aftersales.summary.
    Registered by metrics_store_register; the rebuild's reset empties its
    tables with the others. */
#ifndef METRICS_DESK_STORE_H
#define METRICS_DESK_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "kf_store.h"

void metrics_desk_store_register (kf_store_t *store);

//  ---------------------------------------------------------------------
//  Writes of one transaction

typedef struct _metrics_desk_writes_t metrics_desk_writes_t;
//  Caller owns return value.
metrics_desk_writes_t *metrics_desk_writes_new (void);
void metrics_desk_writes_destroy (metrics_desk_writes_t **self_p);
//  One use of phrase_id (answering intent, 0 = the greeting) by agent_id
//  at at_ms (strings copied).
void metrics_desk_writes_phrase (metrics_desk_writes_t *self, const char *shop_id, int64_t at_ms,
                                 const char *agent_id, int64_t phrase_id, int intent);
//  A line of a conversation: the customer (agent_id "") or an agent who
//  replied, at at_ms, talked with customer (metrics_desk_customer).
void metrics_desk_writes_inquiry (metrics_desk_writes_t *self, const char *shop_id, int64_t at_ms,
                                  const char *customer, const char *agent_id);

//  What one order event changes (metrics_desk_order_change). Times 0 and
//  NULL strings change nothing.
typedef struct {
    const char *order_id;  //  the order
    const char *customer;  //  its buyer (metrics_desk_customer), NULL = not said
    const char *agent_id;  //  credited agent ("" nobody), NULL = not said
    int64_t amount_cents;  //  > 0 replaces the amount
    int64_t created_ms;    //  placed
    int64_t paid_ms;       //  paid
    int64_t shipped_ms;    //  shipped
    int64_t late_ms;       //  flagged not shipped by the cutoff
    int64_t reminded_ms;   //  reminded to pay
    bool reminded_by_hand; //  ... by an agent, not by kefu
    bool cancelled;        //  refunded or closed
} metrics_desk_order_t;
void metrics_desk_writes_order (metrics_desk_writes_t *self, const char *shop_id,
                                const metrics_desk_order_t *change);

//  What one complaint or review event changes (metrics_desk_case_change).
typedef struct {
    int64_t case_id;            //  escalation's id
    bool review;                //  a bad review
    int64_t opened_ms;          //  registered
    int64_t closed_ms;          //  closed (reviews: changed or deleted)
    int64_t overdue_ms;         //  a deadline passed (reviews: the phone rung)
    int64_t carried_ms;         //  remedy carried out
    int64_t revisited_ms;       //  revisit done
    int64_t compensation_cents; //  > 0: money the remedy moved
} metrics_desk_case_t;
void metrics_desk_writes_case (metrics_desk_writes_t *self, const char *shop_id,
                               const metrics_desk_case_t *change);

//  Queue everything in the store's open pipeline and clear.
void metrics_desk_writes_queue (metrics_desk_writes_t *self, kf_store_t *store);
void metrics_desk_writes_clear (metrics_desk_writes_t *self);

//  ---------------------------------------------------------------------
//  Reading

//  Uses of a shop's phrases in the UTC hours starting in [from_ms, to_ms),
//  per agent and phrase, ordered by agent then phrase; only agent's when
//  agent is not NULL.
typedef void (metrics_phrase_use_fn) (void *arg, const char *agent_id, int64_t phrase_id,
                                      int intent, int64_t uses);
int metrics_desk_store_phrases (kf_store_t *store, const char *shop_id, int64_t from_ms,
                                int64_t to_ms, const char *agent, metrics_phrase_use_fn *fn,
                                void *arg, kf_error_t *err);

//  orders.summary of a shop and period [from_ms, to_ms).
typedef struct {
    int64_t inquiring;      //  customers who wrote
    int64_t ordered;        //  ... of whom placed an order credited to an agent
    int64_t ordered_paid;   //  ... and paid it
    int64_t created;        //  orders placed
    int64_t credited;       //  ... credited to an agent
    int64_t sales_cents;    //  credited orders paid in the period, not cancelled
    int64_t sales_orders;   //  ... how many
    int64_t due;            //  orders shipped or flagged late in the period
    int64_t on_time;        //  ... shipped, never flagged late
    int64_t reminders;      //  unpaid-order reminders kefu sent
    int64_t reminders_hand; //  ... agents flagged by hand
} metrics_desk_orders_t;
int metrics_desk_store_orders (kf_store_t *store, const char *shop_id, int64_t from_ms,
                               int64_t to_ms, metrics_desk_orders_t *out, kf_error_t *err);
//  The same per agent: customers served (replied to), of whom ordered (an
//  order credited to this agent) and paid; orders credited; sales.
typedef struct {
    const char *agent_id; //  the agent (borrowed for the call)
    int64_t served;       //  customers the agent replied to
    int64_t ordered;      //  ... of whom placed an order credited to the agent
    int64_t ordered_paid; //  ... and paid it
    int64_t credited;     //  orders placed in the period credited to the agent
    int64_t sales_cents;  //  paid in the period, not cancelled
    int64_t sales_orders; //  ... how many
} metrics_desk_agent_orders_t;
typedef void (metrics_desk_agent_fn) (void *arg, const metrics_desk_agent_orders_t *row);
int metrics_desk_store_agent_orders (kf_store_t *store, const char *shop_id, int64_t from_ms,
                                     int64_t to_ms, metrics_desk_agent_fn *fn, void *arg,
                                     kf_error_t *err);

//  aftersales.summary of a shop and period, [0] complaints, [1] reviews.
typedef struct {
    int64_t opened;             //  registered in the period
    int64_t closed;             //  closed in the period
    int64_t overdue;            //  first deadline passed in the period
    int64_t open_at_end;        //  opened before the period's end, not closed by then
    int64_t carried_out;        //  remedies carried out in the period
    int64_t revisit_judged;     //  ... revisited, or their 3 days over at now_ms
    int64_t revisited_in_3d;    //  ... revisited within 3 days
    int64_t compensation_cents; //  money moved by the remedies carried out
} metrics_desk_cases_t;
int metrics_desk_store_cases (kf_store_t *store, const char *shop_id, int64_t from_ms,
                              int64_t to_ms, int64_t now_ms, metrics_desk_cases_t out[2],
                              kf_error_t *err);

#endif
