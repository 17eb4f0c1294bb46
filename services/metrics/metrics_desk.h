/*  metrics_desk — answers about what the desk does: quick-reply usage
    (phrases.usage), attendance on the scorecard. The query kinds are registered in metrics_query's
    table; their grouping is checked and their answers built here, from
    metrics_desk_store's rows, on the query worker.

    phrases.usage: uses of the shop's quick replies (routing's
    phrase.used: an agent's reply equal to a suggested phrase, filled in)
    in a period, per agent and phrase; group_by "agent" (per agent: uses,
    distinct phrases) or "phrase" (per phrase: uses, distinct agents).

    orders.summary: 询单转化率 (customers who wrote / of whom placed an
    order order-sync credited to an agent, and paid it), credited sales,
    order timeliness (shipped without a late flag / shipped or flagged
    late) against the shop's 95 % target, unpaid-order reminders; group_by
    "agent" adds a row per agent (customers served, converted, sales).

    aftersales.summary: complaints and bad reviews opened, closed, overdue,
    open at the period's end; remedies carried out, the revisit-in-3-days
    rate, money moved (compensation). */
#ifndef METRICS_DESK_H
#define METRICS_DESK_H

#include <jansson.h>

#include "kefu/v1/complaints.pb-c.h"
#include "kefu/v1/orders.pb-c.h"
#include "kf_error.h"
#include "kf_store.h"
#include "kf_tz.h"
#include "metrics_desk_store.h"
#include "metrics_question.h"

//  ---------------------------------------------------------------------
//  Events into rows (pure rules)

//  A customer's key in the desk's rows: "channel:id" into buf.
const char *metrics_desk_customer (int channel, const char *channel_customer_id, char *buf,
                                   size_t size);
//  What an order event (kind, o) changes, at o->at_ms (else occurred_ms):
//  order.created places it; order.credited names the agent; a paid,
//  shipped or delivered state (or order.paid) pays it, a shipped or
//  delivered one ships it; refunded or closed cancel it; order.flagged
//  "late" (shipping_delay) marks it not shipped by the cutoff;
//  order.flagged with task unpaid_reminder is a reminder (by hand when an
//  agent set it). customer is the buffer for out->customer. False when the
//  event names no order.
bool metrics_desk_order_change (const char *kind, const Kefu__V1__OrderEvent *o,
                                int64_t occurred_ms, char *customer, size_t size,
                                metrics_desk_order_t *out);
//  What a complaint or review event changes, at c->at_ms (else
//  occurred_ms): *.registered opens it; complaint.closed (or the stage
//  closed) and review.resolved close it; complaint.deadline_passed, and a
//  review's contact ladder reaching the phone, make it overdue; the stage
//  carried out, with the money of a remedy that moves money; the stage
//  revisited. False when the event names no case.
bool metrics_desk_case_change (const char *kind, const Kefu__V1__ComplaintEvent *c,
                               int64_t occurred_ms, metrics_desk_case_t *out);

//  ---------------------------------------------------------------------
//  Questions

//  metrics_query_t.by of phrases.usage grouped by phrase (outside
//  metrics_by_t).
#define METRICS_DESK_BY_PHRASE 100

//  True for the kinds answered here.
bool metrics_desk_kind (int kind);
//  The group_by ("" none) of the kind named kind_name into query->by; 0,
//  or -1 with err.
int metrics_desk_check_by (metrics_query_t *query, const char *kind_name, const char *by,
                           kf_error_t *err);
//  The answer's JSON text, root (the answer's head, taken) completed.
//  Caller owns return value; NULL with err when the store failed.
char *metrics_desk_answer (kf_store_t *store, const metrics_query_t *query, json_t *root,
                           kf_error_t *err);
//  agent.scorecard: each card agent's attendance of the month (root's
//  "agents", borrowed) as its "attendance" member, and every scheduled
//  agent's in root's "attendance" (informational: no points). 0, or -1
//  with err when the store failed.
int metrics_desk_attendance (kf_store_t *store, const metrics_query_t *query, const kf_tz_t *tz,
                             json_t *root, kf_error_t *err);
//  An intent's name as phrases carry it: 0 "greeting", else the Intent
//  value's name without its prefix, lower case ("urge_shipping").
const char *metrics_desk_intent_name (int intent, char *buf, size_t size);

#endif
