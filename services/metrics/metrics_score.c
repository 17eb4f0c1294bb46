/*  metrics_score — orders and complaints into score rows; the scorecard. */
#include "metrics_score.h"

#include "kefu/v1/complaints.pb-c.h"
#include "kefu/v1/orders.pb-c.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *const metrics_item_names[METRICS_ITEMS] = {"sales", "key_promotion", "service_check",
                                                       "complaints", "customer_records"};

static int64_t
s_hour (int64_t ms)
{
    int64_t h = ms / METRICS_HOUR_MS;
    if (ms < 0 && ms % METRICS_HOUR_MS)
        h--;
    return h * METRICS_HOUR_MS;
}

void
metrics_order_apply (metrics_order_t *self, const char *kind, int state, const char *agent_id,
                     int64_t amount_cents, int64_t at_ms)
{
    if (strcmp (kind, "order.credited") == 0)
        snprintf (self->agent_id, sizeof self->agent_id, "%s", agent_id);
    if (amount_cents > 0)
        self->amount_cents = amount_cents;
    bool paid = strcmp (kind, "order.paid") == 0 || state == KEFU__V1__ORDER_STATE__ORDER_PAID ||
                state == KEFU__V1__ORDER_STATE__ORDER_SHIPPED ||
                state == KEFU__V1__ORDER_STATE__ORDER_DELIVERED;
    if (paid && !self->paid_at_ms)
        self->paid_at_ms = at_ms > 0 ? at_ms : 1;
    if (state == KEFU__V1__ORDER_STATE__ORDER_REFUNDED ||
        state == KEFU__V1__ORDER_STATE__ORDER_CLOSED)
        self->cancelled = true;
}

void
metrics_order_part (const metrics_order_t *self, metrics_score_part_t *out)
{
    memset (out, 0, sizeof *out);
    if (!*self->agent_id || !self->paid_at_ms || self->cancelled)
        return;
    out->hour_ms = s_hour (self->paid_at_ms);
    snprintf (out->agent_id, sizeof out->agent_id, "%s", self->agent_id);
    out->values[METRICS_SCORE_SALES] = self->amount_cents;
    out->values[METRICS_SCORE_ORDERS] = 1;
}

void
metrics_complaint_apply (metrics_complaint_t *self, int finding, const char *agent_id,
                         int64_t at_ms)
{
    if (finding == KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_NONE)
        self->finding = 0;
    else if (finding >= KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_VALID &&
             finding <= KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_UNVERIFIABLE) {
        self->finding = finding;
        self->at_ms = at_ms;
        if (*agent_id)
            snprintf (self->agent_id, sizeof self->agent_id, "%s", agent_id);
    }
}

void
metrics_complaint_part (const metrics_complaint_t *self, metrics_score_part_t *out)
{
    memset (out, 0, sizeof *out);
    if (!*self->agent_id || self->finding < 1 || self->finding > 3)
        return;
    out->hour_ms = s_hour (self->at_ms);
    snprintf (out->agent_id, sizeof out->agent_id, "%s", self->agent_id);
    out->values[METRICS_SCORE_COMPLAINTS_VALID + self->finding - 1] = 1;
}

//  ---------------------------------------------------------------------
//  The card

void
metrics_scheme_default (metrics_scheme_t *out)
{
    *out = (metrics_scheme_t){{45, 25, 15, 5, 5}, 1.0, {10, 6, 3}};
}

//  Points to two decimals, so that sums read as a person adds them.
static double
s_points (double v)
{
    return round (v * 100) / 100;
}

static json_t *
s_item (double weight)
{
    return json_pack ("{s:f}", "weight", weight);
}

static void
s_missing (json_t *item, const char *reason)
{
    json_object_set_new (item, "score", json_null ());
    json_object_set_new (item, "reason", json_string (reason));
}

void
metrics_score_card (json_t *root, const metrics_scheme_t *scheme,
                    const metrics_score_sources_t *sources, const metrics_score_agent_t *agents,
                    int count, const char *only)
{
    int64_t team_sales = 0, team_orders = 0;
    for (int i = 0; i < count; i++) {
        team_sales += agents[i].values[METRICS_SCORE_SALES];
        team_orders += agents[i].values[METRICS_SCORE_ORDERS];
    }
    double average = count ? (double) team_sales / count : 0;
    json_object_set_new (
        root, "team",
        json_pack ("{s:i, s:o, s:o, s:o}", "agents", count, "sales_cents",
                   sources->orders ? json_integer (team_sales) : json_null (), "orders",
                   sources->orders ? json_integer (team_orders) : json_null (),
                   "average_sales_cents",
                   sources->orders && count ? json_real (round (average)) : json_null ()));
    json_t *list = json_array ();
    for (int i = 0; i < count; i++) {
        const metrics_score_agent_t *a = &agents[i];
        if (only && strcmp (a->agent_id, only) != 0)
            continue;
        json_t *items = json_object ();
        json_t *missing = json_array ();
        double total = 0;
        json_t *it[METRICS_ITEMS];
        for (int k = 0; k < METRICS_ITEMS; k++)
            it[k] = s_item (scheme->weight[k]);
        double score[METRICS_ITEMS];
        bool known[METRICS_ITEMS] = {false};

        //  Sales: own / team average × weight × coefficient.
        json_t *s = it[METRICS_ITEM_SALES];
        if (!sources->orders)
            s_missing (s, "no order events from order-sync for this shop yet");
        else {
            json_object_set_new (s, "sales_cents", json_integer (a->values[METRICS_SCORE_SALES]));
            json_object_set_new (s, "orders", json_integer (a->values[METRICS_SCORE_ORDERS]));
            json_object_set_new (s, "conversion_coefficient", json_real (scheme->coefficient));
            if (team_sales <= 0)
                s_missing (s, "no credited paid orders in the month: the team average is 0");
            else {
                score[METRICS_ITEM_SALES] = (double) a->values[METRICS_SCORE_SALES] / average *
                                            scheme->weight[METRICS_ITEM_SALES] *
                                            scheme->coefficient;
                known[METRICS_ITEM_SALES] = true;
            }
        }
        //  Entered by a supervisor: percent of the weight.
        const struct {
            int item;
            bool has;
            double percent;
        } entered[] = {{METRICS_ITEM_KEY_PROMOTION, a->has_key_promotion, a->key_promotion},
                       {METRICS_ITEM_SERVICE_CHECK, a->has_service_check, a->service_check}};
        for (int e = 0; e < 2; e++) {
            json_t *item = it[entered[e].item];
            if (!entered[e].has)
                s_missing (item, "not entered for this month (kefuctl score set)");
            else {
                json_object_set_new (item, "entered_percent", json_real (entered[e].percent));
                score[entered[e].item] = entered[e].percent * scheme->weight[entered[e].item] / 100;
                known[entered[e].item] = true;
            }
        }
        //  Complaints: full marks less the deductions.
        json_t *c = it[METRICS_ITEM_COMPLAINTS];
        if (!sources->complaints)
            s_missing (c, "no complaint events from complaint-escalation for this shop yet");
        else {
            int64_t valid = a->values[METRICS_SCORE_COMPLAINTS_VALID],
                    wrong = a->values[METRICS_SCORE_COMPLAINTS_WRONG],
                    unverif = a->values[METRICS_SCORE_COMPLAINTS_UNVERIF];
            json_object_set_new (c, "valid", json_integer (valid));
            json_object_set_new (c, "wrong_explanation", json_integer (wrong));
            json_object_set_new (c, "unverifiable", json_integer (unverif));
            score[METRICS_ITEM_COMPLAINTS] =
                scheme->weight[METRICS_ITEM_COMPLAINTS] - (double) valid * scheme->deduct[0] -
                (double) wrong * scheme->deduct[1] - (double) unverif * scheme->deduct[2];
            known[METRICS_ITEM_COMPLAINTS] = true;
        }
        s_missing (it[METRICS_ITEM_CUSTOMER_RECORDS],
                   "kefu keeps no customer profiles or categories yet");

        for (int k = 0; k < METRICS_ITEMS; k++) {
            if (known[k]) {
                json_object_set_new (it[k], "score", json_real (s_points (score[k])));
                total += s_points (score[k]);
            } else
                json_array_append_new (missing, json_string (metrics_item_names[k]));
            json_object_set_new (items, metrics_item_names[k], it[k]);
        }
        json_array_append_new (list,
                               json_pack ("{s:s, s:o, s:f, s:b, s:o}", "agent_id", a->agent_id,
                                          "items", items, "total", s_points (total), "complete",
                                          json_array_size (missing) == 0, "missing", missing));
    }
    json_object_set_new (root, "agents", list);
}
