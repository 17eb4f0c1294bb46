/*  escalation_store — kefu-escalation's tables, as named statements. */
#include "escalation_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CASE_COLS                                                                                  \
    "c.shop_id, c.case_id, c.kind, c.customer_id, c.channel, c.channel_customer_id, c.order_id, "  \
    "c.phone, c.item, c.body, c.rating, c.severity, c.stage, c.valid, c.category, c.responsible, " \
    "c.agent_id, c.remedy, c.amount_cents, c.approved_by, c.approved_at_ms, c.level, "             \
    "c.stage_at_ms, c.deadline_ms, c.step, c.chat_at_ms, c.next_ms, c.contacted, c.outcome, "      \
    "c.note, c.registered_at_ms, c.registered_by"

static const kf_stmt_t s_statements[] = {
    //  The deadlines in stage order (escalation_store_settings reads them
    //  from column 5, escalation_store_set_settings writes them from $6).
    {"esc_settings",
     "SELECT s.timezone, coalesce (e.approval_limit_cents, -1), coalesce (e.sms_delay_ms, -1), "
     "coalesce (e.phone_after_ms, -1), coalesce (e.calling_windows, ''), e.judge_within_ms, "
     "e.investigate_within_ms, e.propose_within_ms, e.approve_within_ms, e.carry_out_within_ms, "
     "e.revisit_within_ms, e.close_within_ms FROM shops s LEFT JOIN escalation_settings e USING "
     "(shop_id) WHERE s.shop_id = $1::text"},
    {"esc_set_settings",
     "INSERT INTO escalation_settings (shop_id, approval_limit_cents, sms_delay_ms, "
     "phone_after_ms, calling_windows, judge_within_ms, investigate_within_ms, propose_within_ms, "
     "approve_within_ms, carry_out_within_ms, revisit_within_ms, close_within_ms) VALUES "
     "($1::text, $2::bigint, $3::bigint, $4::bigint, $5::text, $6::bigint, $7::bigint, "
     "$8::bigint, $9::bigint, $10::bigint, $11::bigint, $12::bigint) ON CONFLICT (shop_id) DO "
     "UPDATE SET approval_limit_cents = $2, sms_delay_ms = $3, phone_after_ms = $4, "
     "calling_windows = $5, judge_within_ms = $6, investigate_within_ms = $7, propose_within_ms "
     "= $8, approve_within_ms = $9, carry_out_within_ms = $10, revisit_within_ms = $11, "
     "close_within_ms = $12"},
    {"esc_add",
     "INSERT INTO escalation_cases (shop_id, kind, customer_id, channel, channel_customer_id, "
     "order_id, phone, item, body, rating, severity, stage, category, stage_at_ms, deadline_ms, "
     "next_ms, registered_at_ms, registered_by, due_ms) VALUES ($1::text, $2::smallint, "
     "$3::bigint, $4::smallint, $5::text, $6::text, $7::text, $8::text, $9::text, $10::smallint, "
     "$11::smallint, $12::smallint, $13::smallint, $14::bigint, $15::bigint, $16::bigint, "
     "$17::bigint, $18::text, $19::bigint) RETURNING case_id"},
    {"esc_get", "SELECT " CASE_COLS " FROM escalation_cases c WHERE c.shop_id = $1::text AND "
                "c.case_id = $2::bigint FOR UPDATE"},
    {"esc_save",
     "UPDATE escalation_cases SET stage = $3::smallint, valid = $4::boolean, category = "
     "$5::smallint, responsible = $6::smallint, agent_id = $7::text, remedy = $8::smallint, "
     "amount_cents = $9::bigint, approved_by = $10::text, approved_at_ms = $11::bigint, level = "
     "$12::smallint, stage_at_ms = $13::bigint, deadline_ms = $14::bigint, step = $15::smallint, "
     "chat_at_ms = $16::bigint, next_ms = $17::bigint, contacted = $18::boolean, outcome = "
     "$19::smallint, note = $20::text, due_ms = $21::bigint WHERE shop_id = $1::text AND case_id "
     "= $2::bigint"},
    {"esc_open_complaint",
     "SELECT case_id FROM escalation_cases WHERE shop_id = $1::text AND customer_id = $2::bigint "
     "AND order_id = $3::text AND stage <> 8 AND kind = 1 ORDER BY case_id LIMIT 1"},
    {"esc_due",
     "SELECT " CASE_COLS " FROM shops s CROSS JOIN LATERAL (SELECT * FROM escalation_cases e "
     "WHERE e.shop_id = s.shop_id AND e.due_ms > 0 AND e.due_ms <= $1::bigint ORDER BY e.due_ms "
     "LIMIT $2::int FOR UPDATE) c ORDER BY c.due_ms, c.severity DESC, c.case_id LIMIT $2::int"},
    {"esc_ladders_of",
     "SELECT " CASE_COLS " FROM escalation_cases c WHERE c.shop_id = $1::text AND c.channel = "
     "$2::smallint AND c.channel_customer_id = $3::text AND c.kind = 2 AND NOT c.contacted "
     "ORDER BY c.case_id FOR UPDATE"},
    {"esc_add_ledger",
     "INSERT INTO escalation_ledger (shop_id, case_id, order_id, amount_cents, currency, kind, "
     "category, responsible, agent_id, approved_by, at_ms, note) VALUES ($1::text, $2::bigint, "
     "$3::text, $4::bigint, $5::text, $6::smallint, $7::smallint, $8::smallint, $9::text, "
     "$10::text, $11::bigint, $12::text)"},
    {"esc_is_supervisor",
     "SELECT count (*) FROM principals p WHERE p.principal_id = $2::text AND p.disabled_at IS "
     "NULL AND p.role IN ('supervisor', 'admin') AND (p.all_shops OR EXISTS (SELECT 1 FROM "
     "principal_shops s WHERE s.shop_id = $1::text AND s.principal_id = p.principal_id))"},
    {"esc_add_command",
     "INSERT INTO escalation_commands (shop_id, request_id, payload, created_ms) VALUES ($1::text, "
     "$2::text, $3::bytea, $4::bigint) ON CONFLICT DO NOTHING"},
    {"esc_forget_command",
     "DELETE FROM escalation_commands WHERE shop_id = $1::text AND request_id = $2::text"},
    {"esc_commands",
     "SELECT shop_id, request_id, payload FROM escalation_commands ORDER BY shop_id, created_ms, "
     "request_id"},
    {NULL, NULL}};

const char *const escalation_sql_complaints =
    "SELECT case_id, registered_at_ms, channel_customer_id, order_id, category, stage, valid, "
    "responsible, agent_id, remedy, amount_cents, approved_by, level, deadline_ms, note, body "
    "FROM escalation_cases WHERE shop_id = $1::text AND kind = 1 AND (NOT $2::boolean OR stage "
    "<> 8) ORDER BY case_id";
const char *const escalation_sql_reviews =
    "SELECT case_id, registered_at_ms, channel_customer_id, phone, item, body, rating, severity, "
    "step, contacted, outcome, next_ms, order_id FROM escalation_cases WHERE shop_id = $1::text "
    "AND kind = 2 AND (NOT $2::boolean OR outcome = 0) AND severity >= $3::int ORDER BY severity "
    "DESC, case_id";
const char *const escalation_sql_ledger =
    "SELECT entry_id, case_id, order_id, amount_cents, currency, kind, category, responsible, "
    "agent_id, approved_by, at_ms, note FROM escalation_ledger WHERE shop_id = $1::text AND at_ms "
    ">= $2::bigint AND at_ms < $3::bigint ORDER BY entry_id";

void
escalation_store_register (kf_store_t *store)
{
    kf_store_add_statements (store, s_statements);
}

//  ---------------------------------------------------------------------
//  Rows

static int64_t
s_int (const PGresult *res, int row, int col)
{
    return strtoll (PQgetvalue (res, row, col), NULL, 10);
}

static bool
s_bool (const PGresult *res, int row, int col)
{
    return PQgetvalue (res, row, col)[0] == 't';
}

static void
s_text (char *buf, size_t size, const PGresult *res, int row, int col)
{
    snprintf (buf, size, "%s", PQgetvalue (res, row, col));
}

static void
s_case_of_row (esc_case_t *c, const PGresult *res, int i)
{
    memset (c, 0, sizeof *c);
    s_text (c->shop_id, sizeof c->shop_id, res, i, 0);
    c->case_id = s_int (res, i, 1);
    c->kind = (int) s_int (res, i, 2);
    c->customer_id = s_int (res, i, 3);
    c->channel = (int) s_int (res, i, 4);
    s_text (c->channel_customer_id, sizeof c->channel_customer_id, res, i, 5);
    s_text (c->order_id, sizeof c->order_id, res, i, 6);
    s_text (c->phone, sizeof c->phone, res, i, 7);
    s_text (c->item, sizeof c->item, res, i, 8);
    s_text (c->body, sizeof c->body, res, i, 9);
    c->rating = (int) s_int (res, i, 10);
    c->severity = (int) s_int (res, i, 11);
    c->c.stage = (int) s_int (res, i, 12);
    c->c.valid = s_bool (res, i, 13);
    c->c.category = (int) s_int (res, i, 14);
    c->c.responsible = (int) s_int (res, i, 15);
    s_text (c->c.agent_id, sizeof c->c.agent_id, res, i, 16);
    c->c.remedy = (int) s_int (res, i, 17);
    c->c.amount_cents = s_int (res, i, 18);
    s_text (c->c.approved_by, sizeof c->c.approved_by, res, i, 19);
    c->c.approved_at_ms = s_int (res, i, 20);
    c->c.level = (int) s_int (res, i, 21);
    c->c.stage_at_ms = s_int (res, i, 22);
    c->c.deadline_ms = s_int (res, i, 23);
    c->r.step = (int) s_int (res, i, 24);
    c->r.chat_at_ms = s_int (res, i, 25);
    c->r.next_ms = s_int (res, i, 26);
    c->r.contacted = s_bool (res, i, 27);
    c->outcome = (int) s_int (res, i, 28);
    s_text (c->note, sizeof c->note, res, i, 29);
    c->registered_at_ms = s_int (res, i, 30);
    s_text (c->registered_by, sizeof c->registered_by, res, i, 31);
}

static int64_t
s_due (const esc_case_t *c)
{
    return c->kind == ESC_REVIEW ? c->r.next_ms : c->c.deadline_ms;
}

//  ---------------------------------------------------------------------
//  Settings

typedef struct {
    esc_settings_t *s; //  filled
    char *tz;          //  filled
    bool found;        //  the shop exists
} s_settings_t;

static int
s_on_settings (const PGresult *res, void *arg)
{
    s_settings_t *out = arg;
    if (PQntuples (res) != 1)
        return 0;
    out->found = true;
    snprintf (out->tz, 65, "%s", PQgetvalue (res, 0, 0));
    esc_settings_t *s = out->s;
    if (s_int (res, 0, 1) >= 0) {
        s->approval_limit_cents = s_int (res, 0, 1);
        s->sms_delay_ms = s_int (res, 0, 2);
        s->phone_after_ms = s_int (res, 0, 3);
        esc_settings_windows (s, PQgetvalue (res, 0, 4));
        for (int stage = ESC_DEADLINE_FIRST; stage <= ESC_DEADLINE_LAST; stage++)
            s->stage_within_ms[stage] = s_int (res, 0, 4 + stage);
    }
    return 0;
}

int
escalation_store_settings (kf_store_t *store, const char *shop_id, esc_settings_t *out, char *tz,
                           kf_error_t *err)
{
    esc_settings_default (out);
    s_settings_t arg = {out, tz, false};
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, shop_id);
    if (kf_store_exec (store, "esc_settings", &p, s_on_settings, &arg, err))
        return -1;
    if (!arg.found)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_SHOP,
                             "shop %s is not registered", shop_id);
    return 0;
}

int
escalation_store_set_settings (kf_store_t *store, const char *shop_id, const esc_settings_t *s,
                               kf_error_t *err)
{
    char windows[128];
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, shop_id);
    kf_params_int (&p, s->approval_limit_cents);
    kf_params_int (&p, s->sms_delay_ms);
    kf_params_int (&p, s->phone_after_ms);
    kf_params_str (&p, esc_settings_format_windows (s, windows, sizeof windows));
    for (int stage = ESC_DEADLINE_FIRST; stage <= ESC_DEADLINE_LAST; stage++)
        kf_params_int (&p, s->stage_within_ms[stage]);
    return kf_store_exec (store, "esc_set_settings", &p, NULL, NULL, err);
}

//  ---------------------------------------------------------------------
//  Cases

static int
s_on_id (const PGresult *res, void *arg)
{
    *(int64_t *) arg = PQntuples (res) > 0 ? s_int (res, 0, 0) : 0;
    return 0;
}

int
escalation_store_add (kf_store_t *store, esc_case_t *c, kf_error_t *err)
{
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, c->shop_id);
    kf_params_int (&p, c->kind);
    kf_params_int (&p, c->customer_id);
    kf_params_int (&p, c->channel);
    kf_params_str (&p, c->channel_customer_id);
    kf_params_str (&p, c->order_id);
    kf_params_str (&p, c->phone);
    kf_params_str (&p, c->item);
    kf_params_str (&p, c->body);
    kf_params_int (&p, c->rating);
    kf_params_int (&p, c->severity);
    kf_params_int (&p, c->c.stage);
    kf_params_int (&p, c->c.category);
    kf_params_int (&p, c->c.stage_at_ms);
    kf_params_int (&p, c->c.deadline_ms);
    kf_params_int (&p, c->r.next_ms);
    kf_params_int (&p, c->registered_at_ms);
    kf_params_str (&p, c->registered_by);
    kf_params_int (&p, s_due (c));
    return kf_store_exec (store, "esc_add", &p, s_on_id, &c->case_id, err);
}

typedef struct {
    esc_case_fn *fn; //  per row
    void *arg;       //  its argument
    esc_case_t *one; //  or: the single row wanted
    int rows;        //  rows seen
} s_rows_t;

static int
s_on_cases (const PGresult *res, void *arg)
{
    s_rows_t *r = arg;
    r->rows = PQntuples (res);
    for (int i = 0; i < r->rows; i++) {
        if (r->one) {
            s_case_of_row (r->one, res, i);
            continue;
        }
        esc_case_t *c = malloc (sizeof *c);
        s_case_of_row (c, res, i);
        r->fn (c, r->arg);
        free (c);
    }
    return 0;
}

int
escalation_store_get (kf_store_t *store, const char *shop_id, int64_t case_id, esc_case_t *out,
                      kf_error_t *err)
{
    s_rows_t r = {NULL, NULL, out, 0};
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, shop_id);
    kf_params_int (&p, case_id);
    if (kf_store_exec (store, "esc_get", &p, s_on_cases, &r, err))
        return -1;
    if (r.rows == 0)
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_TARGET,
                             "shop %s has no case %" PRId64, shop_id, case_id);
    return 0;
}

int
escalation_store_save (kf_store_t *store, const esc_case_t *c, kf_error_t *err)
{
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, c->shop_id);
    kf_params_int (&p, c->case_id);
    kf_params_int (&p, c->c.stage);
    kf_params_bool (&p, c->c.valid);
    kf_params_int (&p, c->c.category);
    kf_params_int (&p, c->c.responsible);
    kf_params_str (&p, c->c.agent_id);
    kf_params_int (&p, c->c.remedy);
    kf_params_int (&p, c->c.amount_cents);
    kf_params_str (&p, c->c.approved_by);
    kf_params_int (&p, c->c.approved_at_ms);
    kf_params_int (&p, c->c.level);
    kf_params_int (&p, c->c.stage_at_ms);
    kf_params_int (&p, c->c.deadline_ms);
    kf_params_int (&p, c->r.step);
    kf_params_int (&p, c->r.chat_at_ms);
    kf_params_int (&p, c->r.next_ms);
    kf_params_bool (&p, c->r.contacted);
    kf_params_int (&p, c->outcome);
    kf_params_str (&p, c->note);
    kf_params_int (&p, s_due (c));
    return kf_store_exec (store, "esc_save", &p, NULL, NULL, err);
}

int
escalation_store_open_complaint (kf_store_t *store, const char *shop_id, int64_t customer_id,
                                 const char *order_id, int64_t *case_id, kf_error_t *err)
{
    *case_id = 0;
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, shop_id);
    kf_params_int (&p, customer_id);
    kf_params_str (&p, order_id);
    return kf_store_exec (store, "esc_open_complaint", &p, s_on_id, case_id, err);
}

int
escalation_store_due (kf_store_t *store, int64_t now, int limit, esc_case_fn *fn, void *arg,
                      kf_error_t *err)
{
    s_rows_t r = {fn, arg, NULL, 0};
    kf_params_t p;
    kf_params_init (&p);
    kf_params_int (&p, now);
    kf_params_int (&p, limit);
    if (kf_store_exec (store, "esc_due", &p, s_on_cases, &r, err))
        return -1;
    return r.rows;
}

int
escalation_store_ladders_of (kf_store_t *store, const char *shop_id, int channel,
                             const char *channel_customer_id, esc_case_fn *fn, void *arg,
                             kf_error_t *err)
{
    s_rows_t r = {fn, arg, NULL, 0};
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, shop_id);
    kf_params_int (&p, channel);
    kf_params_str (&p, channel_customer_id);
    if (kf_store_exec (store, "esc_ladders_of", &p, s_on_cases, &r, err))
        return -1;
    return r.rows;
}

//  ---------------------------------------------------------------------
//  Ledger, principals, commands

int
escalation_store_add_ledger (kf_store_t *store, const char *shop_id, const esc_ledger_entry_t *e,
                             kf_error_t *err)
{
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, shop_id);
    kf_params_int (&p, e->case_id);
    kf_params_str (&p, e->order_id ? e->order_id : "");
    kf_params_int (&p, e->amount_cents);
    kf_params_str (&p, e->currency ? e->currency : "CNY");
    kf_params_int (&p, e->kind);
    kf_params_int (&p, e->category);
    kf_params_int (&p, e->responsible);
    kf_params_str (&p, e->agent_id ? e->agent_id : "");
    kf_params_str (&p, e->approved_by ? e->approved_by : "");
    kf_params_int (&p, e->at_ms);
    kf_params_str (&p, e->note ? e->note : "");
    return kf_store_exec (store, "esc_add_ledger", &p, NULL, NULL, err);
}

int
escalation_store_is_supervisor (kf_store_t *store, const char *shop_id, const char *principal,
                                bool *out, kf_error_t *err)
{
    int64_t n = 0;
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, shop_id);
    kf_params_str (&p, principal);
    if (kf_store_exec (store, "esc_is_supervisor", &p, s_on_id, &n, err))
        return -1;
    *out = n > 0;
    return 0;
}

int
escalation_store_add_command (kf_store_t *store, const char *shop_id, const char *request_id,
                              const void *payload, size_t size, int64_t now, kf_error_t *err)
{
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, shop_id);
    kf_params_str (&p, request_id);
    kf_params_bytes (&p, payload, size);
    kf_params_int (&p, now);
    return kf_store_exec (store, "esc_add_command", &p, NULL, NULL, err);
}

int
escalation_store_forget_command (kf_store_t *store, const char *shop_id, const char *request_id,
                                 kf_error_t *err)
{
    kf_params_t p;
    kf_params_init (&p);
    kf_params_str (&p, shop_id);
    kf_params_str (&p, request_id);
    return kf_store_exec (store, "esc_forget_command", &p, NULL, NULL, err);
}

typedef struct {
    esc_command_fn *fn; //  per row
    void *arg;          //  its argument
} s_commands_t;

static int
s_on_commands (const PGresult *res, void *arg)
{
    s_commands_t *c = arg;
    for (int i = 0; i < PQntuples (res); i++) {
        size_t size = 0;
        unsigned char *payload =
            PQunescapeBytea ((const unsigned char *) PQgetvalue (res, i, 2), &size);
        if (payload)
            c->fn (PQgetvalue (res, i, 0), PQgetvalue (res, i, 1), payload, size, c->arg);
        PQfreemem (payload);
    }
    return 0;
}

int
escalation_store_commands (kf_store_t *store, esc_command_fn *fn, void *arg, kf_error_t *err)
{
    s_commands_t c = {fn, arg};
    return kf_store_exec (store, "esc_commands", NULL, s_on_commands, &c, err);
}

//  ---------------------------------------------------------------------
//  Events

int
escalation_store_event (kf_outbox_t *outbox, const esc_case_t *c, const char *kind, const char *by,
                        const char *note, int64_t late_ms, int64_t now)
{
    Kefu__V1__ComplaintEvent ce = KEFU__V1__COMPLAINT_EVENT__INIT;
    ce.complaint_id = c->case_id;
    ce.negative_review = c->kind == ESC_REVIEW;
    ce.stage = c->c.stage;
    ce.category = c->c.category;
    ce.responsible = c->c.responsible;
    ce.remedy = c->c.remedy;
    ce.amount_cents = c->c.amount_cents;
    ce.order_id = (char *) c->order_id;
    ce.customer_id = c->customer_id;
    ce.channel = c->channel;
    ce.agent_id = (char *) c->c.agent_id;
    ce.deadline_ms = c->kind == ESC_REVIEW ? c->r.next_ms : c->c.deadline_ms;
    ce.note = (char *) (note ? note : "");
    ce.at_ms = now;
    ce.severity = c->severity;
    ce.level = c->c.level;
    ce.late_ms = late_ms;
    ce.by = (char *) (by ? by : "");
    ce.contact_step = c->r.step;
    ce.channel_customer_id = (char *) c->channel_customer_id;
    ce.valid = c->c.valid;
    ce.outcome = c->kind == ESC_REVIEW ? c->outcome : 0;
    ce.service_finding = c->finding;
    Kefu__V1__Event ev = KEFU__V1__EVENT__INIT;
    ev.shop_id = (char *) c->shop_id;
    ev.kind = (char *) kind;
    ev.occurred_at_ms = now;
    ev.payload_case = KEFU__V1__EVENT__PAYLOAD_COMPLAINT;
    ev.complaint = &ce;
    return kf_outbox_add (outbox, &ev);
}
