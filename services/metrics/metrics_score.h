/*  metrics_score — agent scorecards: what orders and complaints add to an
    agent's month, and the card itself (README "Agent scorecards").

    Pure rules, no SQL. Orders (order-sync's OrderEvent, stream
    "ordersync") and complaints (ComplaintEvent, stream "escalation") each
    keep a small state here; what that state contributes to the hourly
    score rows (metrics_score_hours) is a function of the state alone, so
    the service writes "new contribution minus old" after every event and
    an event seen again, or out of order with another stream, counts once.

    The card: per agent the five items of the shop's scheme, each a score
    in points, or null with the reason when kefu has no data for it. */
#ifndef METRICS_SCORE_H
#define METRICS_SCORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "metrics_model.h"

//  The values of a score row, in column order of metrics_score_hours.
typedef enum {
    METRICS_SCORE_SALES = 0,          //  cents of paid orders credited to the agent
    METRICS_SCORE_ORDERS,             //  how many
    METRICS_SCORE_COMPLAINTS_VALID,   //  valid service complaints
    METRICS_SCORE_COMPLAINTS_WRONG,   //  wrong explanations
    METRICS_SCORE_COMPLAINTS_UNVERIF, //  unverifiable
    METRICS_SCORE_VALUES
} metrics_score_value_t;

//  What one order or complaint adds to one score row.
typedef struct {
    int64_t hour_ms;                      //  start of its UTC hour
    char agent_id[METRICS_ID_MAX + 1];    //  "" = adds nothing
    int64_t values[METRICS_SCORE_VALUES]; //  what it adds
} metrics_score_part_t;

//  An order as metrics counts it.
typedef struct {
    char order_id[METRICS_ID_MAX + 1]; //  the platform's id
    char agent_id[METRICS_ID_MAX + 1]; //  credited agent, "" = nobody
    int64_t amount_cents;              //  latest amount given
    int64_t paid_at_ms;                //  first seen paid, 0 = not paid
    bool cancelled;                    //  refunded or closed
} metrics_order_t;

//  An order event (kind "order.created", "order.paid", "order.credited",
//  ...; state an OrderState). order.credited names the credited agent ("":
//  nobody); paid, shipped and delivered mark it paid at at_ms (the first
//  time); refunded and closed cancel it; a positive amount replaces the
//  amount.
void metrics_order_apply (metrics_order_t *self, const char *kind, int state, const char *agent_id,
                          int64_t amount_cents, int64_t at_ms);
//  What it adds: a paid, not cancelled order credited to an agent adds
//  its amount and 1 order to the hour it was paid in.
void metrics_order_part (const metrics_order_t *self, metrics_score_part_t *out);

//  A complaint's finding against an agent.
typedef struct {
    int64_t complaint_id;              //  escalation's id
    char agent_id[METRICS_ID_MAX + 1]; //  the agent it names
    int finding;                       //  ServiceFinding 1..3, 0 = none
    int64_t at_ms;                     //  when it was judged
} metrics_complaint_t;

//  A complaint event's finding (ServiceFinding): UNSPECIFIED changes
//  nothing, NONE clears, the others set it (agent_id "" keeps the agent
//  named before).
void metrics_complaint_apply (metrics_complaint_t *self, int finding, const char *agent_id,
                              int64_t at_ms);
void metrics_complaint_part (const metrics_complaint_t *self, metrics_score_part_t *out);

//  ---------------------------------------------------------------------
//  The card

//  Items, in the order of the scheme.
typedef enum {
    METRICS_ITEM_SALES = 0,
    METRICS_ITEM_KEY_PROMOTION,
    METRICS_ITEM_SERVICE_CHECK,
    METRICS_ITEM_COMPLAINTS,
    METRICS_ITEM_CUSTOMER_RECORDS,
    METRICS_ITEMS
} metrics_item_t;

//  "sales", "key_promotion", "service_check", "complaints", "customer_records".
extern const char *const metrics_item_names[METRICS_ITEMS];

//  A shop's scheme (kefuctl metrics settings).
typedef struct {
    double weight[METRICS_ITEMS]; //  points of the 100
    double coefficient;           //  conversion coefficient of the sales item
    double deduct[3];             //  points per valid / wrong explanation / unverifiable
} metrics_scheme_t;

//  The default scheme: 45, 25, 15, 5, 5; coefficient 1; deductions 10, 6, 3.
void metrics_scheme_default (metrics_scheme_t *out);

//  One agent's month as read from the record.
typedef struct {
    char agent_id[METRICS_ID_MAX + 1];    //  the agent
    int64_t values[METRICS_SCORE_VALUES]; //  summed score rows
    bool has_service_check;               //  entered by a supervisor
    double service_check;                 //  ... percent of the weight
    bool has_key_promotion;               //
    double key_promotion;                 //
} metrics_score_agent_t;

//  Which sources the shop has (any event of the stream ever).
typedef struct {
    bool orders;     //  stream "ordersync"
    bool complaints; //  stream "escalation"
} metrics_score_sources_t;

//  The card's "team" and "agents" members into root (borrowed): agents
//  in the given order, only the one named `only` if it is not NULL (the
//  team is still all of them). Sales: own sales / team average (all the card's
//  agents) × weight × coefficient; complaints: weight − deductions (may go
//  below 0); entered items: percent × weight / 100; customer records:
//  null (kefu keeps no customer profiles).
void metrics_score_card (json_t *root, const metrics_scheme_t *scheme,
                         const metrics_score_sources_t *sources,
                         const metrics_score_agent_t *agents, int count, const char *only);

#endif
