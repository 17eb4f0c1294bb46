/*  kefuctl complaint / review / ledger — the after-sales desk.

    Registering and moving go through escalation_desk (the rules, the
    SQL, the events; shared with kefu-escalation, which applies the review
    and complaint_action items gateways push): each is one transaction
    with its events on the "escalation" stream and, for a remedy carried
    out, its ledger entry. kefu-escalation needs no message: it fires what
    the record says is due. `review add` registers a platform review by
    hand. */
#include "escalation_desk.h"
#include "escalation_model.h"
#include "escalation_severity.h"
#include "escalation_store.h"
#include "kefuctl.h"
#include "kf_clock.h"
#include "kf_tz.h"

#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

//  Options every command may take, parsed once.
typedef struct {
    const char *customer, *channel, *order, *category, *text, *by, *reason, *responsible, *agent,
        *remedy, *amount, *rating, *phone, *item, *month, *severity, *note, *finding, *outcome,
        *within, *approval_limit, *sms_delay, *phone_after, *calling_windows;
    const char *stage_within[ESC_STAGES]; //  --judge-within ... --close-within, by stage
    bool stage_within_any;                //  one of them given
    bool valid, not_valid, json, csv, open, neutral, negative;
} s_opts_t;

//  "--judge-within" ... "--close-within": the option of stage's deadline.
static const char *
s_within_flag (int stage, char *buf, size_t size)
{
    snprintf (buf, size, "--%s-within", esc_deadline_name (stage));
    for (char *p = buf; *p; p++)
        if (*p == '_')
            *p = '-';
    return buf;
}

//  The option at argv[*i] if it is a stage deadline's (its value into o).
static bool
s_parse_within (int argc, char **argv, int *i, s_opts_t *o)
{
    for (int stage = ESC_DEADLINE_FIRST; stage <= ESC_DEADLINE_LAST; stage++) {
        char flag[48];
        const char *v = kefuctl_opt (argc, argv, i, s_within_flag (stage, flag, sizeof flag));
        if (v) {
            o->stage_within[stage] = v;
            o->stage_within_any = true;
            return true;
        }
    }
    return false;
}

static int
s_parse_opts (const char *cmd, int argc, char **argv, int first, s_opts_t *o)
{
    memset (o, 0, sizeof *o);
    for (int i = first; i < argc; i++) {
        const char *v;
        if (s_parse_within (argc, argv, &i, o))
            continue;
        if ((v = kefuctl_opt (argc, argv, &i, "--customer")))
            o->customer = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--buyer")))
            o->customer = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--channel")))
            o->channel = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--order")))
            o->order = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--category")))
            o->category = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--text")))
            o->text = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--by")))
            o->by = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--reason")))
            o->reason = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--responsible")))
            o->responsible = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--agent")))
            o->agent = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--remedy")))
            o->remedy = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--amount")))
            o->amount = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--rating")))
            o->rating = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--phone")))
            o->phone = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--item")))
            o->item = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--month")))
            o->month = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--severity")))
            o->severity = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--note")))
            o->note = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--finding")))
            o->finding = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--outcome")))
            o->outcome = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--within")))
            o->within = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--approval-limit")))
            o->approval_limit = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--sms-delay")))
            o->sms_delay = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--phone-after")))
            o->phone_after = v;
        else if ((v = kefuctl_opt (argc, argv, &i, "--calling-windows")))
            o->calling_windows = v;
        else if (strcmp (argv[i], "--valid") == 0)
            o->valid = true;
        else if (strcmp (argv[i], "--not-valid") == 0)
            o->not_valid = true;
        else if (strcmp (argv[i], "--json") == 0)
            o->json = true;
        else if (strcmp (argv[i], "--csv") == 0)
            o->csv = true;
        else if (strcmp (argv[i], "--open") == 0)
            o->open = true;
        else if (strcmp (argv[i], "--neutral") == 0)
            o->neutral = true;
        else if (strcmp (argv[i], "--negative") == 0)
            o->negative = true;
        else
            return kefuctl_bad_arg (cmd, argc, argv, i);
    }
    return KEFUCTL_OK;
}

//  "80.00", "80", "0.5" -> cents.
static int
s_parse_amount (const char *cmd, const char *text, int64_t *out)
{
    char *end;
    double v = strtod (text, &end);
    if (!*text || *end || v < 0 || v > 1e9) {
        fprintf (stderr, "%s: --amount takes money like 80.00, not \"%s\"\n", cmd, text);
        return KEFUCTL_USAGE;
    }
    *out = (int64_t) (v * 100 + 0.5);
    return KEFUCTL_OK;
}

static int
s_parse_channel (const char *cmd, const char *name, int *out)
{
    const char *names[] = {"", "platform_chat", "wechat", "web_chat", "email", "phone"};
    for (int i = 1; i < 6; i++)
        if (strcmp (names[i], name ? name : "platform_chat") == 0) {
            *out = i;
            return KEFUCTL_OK;
        }
    fprintf (stderr, "%s: --channel is one of platform_chat, wechat, web_chat, email, phone\n",
             cmd);
    return KEFUCTL_USAGE;
}

static int
s_parse_named (const char *cmd, const char *opt, const char *text, int (*parse) (const char *),
               const char *choices, int *out)
{
    if (!text)
        return *out = 0, KEFUCTL_OK;
    if (!(*out = parse (text))) {
        fprintf (stderr, "%s: %s is one of %s, not \"%s\"\n", cmd, opt, choices, text);
        return KEFUCTL_USAGE;
    }
    return KEFUCTL_OK;
}

#define CATEGORIES                                                                                 \
    "not_as_described, service, missing_items, late_delivery, transit_damage, quality"
#define PARTIES  "warehouse, courier, product, service"
#define REMEDIES "apology, coupon, cash, resend, exchange, return_refund"

static const char *
s_fmt_time (char *buf, size_t size, int64_t ms, const char *tz_name)
{
    if (ms <= 0)
        return "-";
    kf_tz_t *tz = kf_tz_new (tz_name ? tz_name : "Asia/Shanghai");
    struct tm tm;
    kf_tz_local (tz, ms, &tm);
    snprintf (buf, size, "%04d-%02d-%02d %02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
              tm.tm_hour, tm.tm_min);
    kf_tz_destroy (&tz);
    return buf;
}

//  ---------------------------------------------------------------------
//  Registering

typedef struct {
    esc_case_t c; //  the new case
} s_add_t;

static int
s_add (kefuctl_change_t *change, void *arg)
{
    s_add_t *a = arg;
    escalation_store_register (change->store);
    esc_settings_t s;
    char tz[65];
    if (escalation_store_settings (change->store, change->shop_id, &s, tz, &change->err))
        return kefuctl_change_failed (change);
    esc_case_t *c = &a->c;
    snprintf (c->shop_id, sizeof c->shop_id, "%s", change->shop_id);
    kf_outbox_t *outbox = kf_outbox_new ("escalation", change->store);
    int rc = KEFUCTL_OK;
    if (escalation_desk_register (change->store, outbox, c, &s, change->by, "", change->now_ms,
                                  &change->err) ||
        kf_outbox_flush (outbox, &change->err))
        rc = kefuctl_change_failed (change);
    kf_outbox_destroy (&outbox);
    if (rc)
        return rc;
    char when[64];
    if (c->kind == ESC_COMPLAINT)
        fprintf (change->out, "complaint %" PRId64 " registered: judge it by %s; first step: %s\n",
                 c->case_id, s_fmt_time (when, sizeof when, c->c.deadline_ms, tz),
                 c->c.category ? esc_category_first_step (c->c.category) : "judge it");
    else
        fprintf (change->out,
                 "review %" PRId64 " registered: severity %d; the chat message goes out now\n",
                 c->case_id, c->severity);
    return KEFUCTL_OK;
}

static int
s_complaint_add (kefuctl_t *ctl, const char *cmd, const char *shop, const s_opts_t *o)
{
    s_add_t a;
    memset (&a, 0, sizeof a);
    esc_case_t *c = &a.c;
    c->kind = ESC_COMPLAINT;
    int rc;
    if (!o->customer || !o->text) {
        fprintf (stderr, "%s: --customer and --text are required\n", cmd);
        return KEFUCTL_USAGE;
    }
    if ((rc = kefuctl_check_label (cmd, "--customer", o->customer, 128)) ||
        (rc = kefuctl_check_text (cmd, "--text", o->text, 2048, true)) ||
        (o->order && (rc = kefuctl_check_label (cmd, "--order", o->order, 128))) ||
        (rc = s_parse_channel (cmd, o->channel, &c->channel)) ||
        (rc = s_parse_named (cmd, "--category", o->category, esc_category_parse, CATEGORIES,
                             &c->c.category)))
        return rc;
    snprintf (c->channel_customer_id, sizeof c->channel_customer_id, "%s", o->customer);
    snprintf (c->order_id, sizeof c->order_id, "%s", o->order ? o->order : "");
    snprintf (c->body, sizeof c->body, "%s", o->text);
    const char *by = kefuctl_by (cmd, o->by);
    if (!by)
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop, by, s_add, &a);
}

static int
s_review_add (kefuctl_t *ctl, const char *cmd, const char *shop, const s_opts_t *o)
{
    s_add_t a;
    memset (&a, 0, sizeof a);
    esc_case_t *c = &a.c;
    c->kind = ESC_REVIEW;
    int rc;
    if (!o->customer || !o->order || !o->text) {
        fprintf (stderr, "%s: --buyer, --order and --text are required\n", cmd);
        return KEFUCTL_USAGE;
    }
    int64_t stars = 0;
    if ((rc = kefuctl_check_label (cmd, "--buyer", o->customer, 128)) ||
        (rc = kefuctl_check_label (cmd, "--order", o->order, 128)) ||
        (rc = kefuctl_check_text (cmd, "--text", o->text, 2048, true)) ||
        (o->phone && (rc = kefuctl_check_label (cmd, "--phone", o->phone, 32))) ||
        (o->item && (rc = kefuctl_check_label (cmd, "--item", o->item, 256))) ||
        (o->rating && (rc = kefuctl_parse_int (cmd, "--rating", o->rating, 1, 5, &stars))) ||
        (rc = s_parse_channel (cmd, o->channel, &c->channel)))
        return rc;
    if (!o->rating && !o->neutral && !o->negative) {
        fprintf (stderr, "%s: say the rating: --rating 1-5, --neutral or --negative\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (stars >= 4) {
        fprintf (stderr,
                 "%s: a %" PRId64 "-star review is good: only neutral and negative "
                 "reviews (中差评) are followed up\n",
                 cmd, stars);
        return KEFUCTL_USAGE;
    }
    c->rating = (int) stars;
    //  The severity dictionary kefu-escalation uses (KEFU_ESCALATION_DICTIONARY).
    const char *path = getenv ("KEFU_ESCALATION_DICTIONARY");
    char why[256];
    esc_severity_t *dictionary =
        esc_severity_load (path && *path ? path : esc_severity_default_path (), why, sizeof why);
    if (!dictionary) {
        fprintf (stderr, "%s: the severity dictionary: %s\n", cmd, why);
        return KEFUCTL_FAILED;
    }
    c->severity = esc_severity_of (dictionary, (int) stars, o->neutral, o->text);
    esc_severity_destroy (&dictionary);
    snprintf (c->channel_customer_id, sizeof c->channel_customer_id, "%s", o->customer);
    snprintf (c->order_id, sizeof c->order_id, "%s", o->order);
    snprintf (c->body, sizeof c->body, "%s", o->text);
    snprintf (c->phone, sizeof c->phone, "%s", o->phone ? o->phone : "");
    snprintf (c->item, sizeof c->item, "%s", o->item ? o->item : "");
    const char *by = kefuctl_by (cmd, o->by);
    if (!by)
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop, by, s_add, &a);
}

//  ---------------------------------------------------------------------
//  Moving

typedef struct {
    int64_t case_id;  //  the complaint
    esc_move_t move;  //  what is done
    const char *note; //  reason / note for the event
} s_move_t;

static int
s_move (kefuctl_change_t *change, void *arg)
{
    s_move_t *mv = arg;
    escalation_store_register (change->store);
    esc_settings_t s;
    char tz[65];
    if (escalation_store_settings (change->store, change->shop_id, &s, tz, &change->err))
        return kefuctl_change_failed (change);
    esc_move_t *m = &mv->move;
    m->by = change->by;
    esc_moved_t *moved = calloc (1, sizeof *moved);
    kf_outbox_t *outbox = kf_outbox_new ("escalation", change->store);
    int rc = escalation_desk_move (change->store, outbox, change->shop_id, mv->case_id, m, mv->note,
                                   &s, change->now_ms, moved, &change->err);
    if (rc == 1) {
        if (change->err.code == KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_TARGET) {
            fprintf (stderr, "%s: %s\n", change->cmd, change->err.reason);
            rc = KEFUCTL_NOT_FOUND;
        } else {
            fprintf (stderr, "%s: complaint %" PRId64 ": %s\n", change->cmd, mv->case_id,
                     change->err.reason);
            rc = KEFUCTL_USAGE;
        }
    } else if (rc || kf_outbox_flush (outbox, &change->err))
        rc = kefuctl_change_failed (change);
    else {
        const esc_case_t *c = &moved->c;
        char when[64];
        fprintf (change->out, "complaint %" PRId64 ": %s", c->case_id, esc_stage_name (c->c.stage));
        if (c->c.deadline_ms)
            fprintf (change->out, ", next step due %s",
                     s_fmt_time (when, sizeof when, c->c.deadline_ms, tz));
        if (moved->money)
            fprintf (change->out, "; ledger: %s %.2f CNY", esc_ledger_kind_name (moved->entry.kind),
                     (double) moved->entry.amount_cents / 100);
        fprintf (change->out, "\n");
        rc = KEFUCTL_OK;
    }
    kf_outbox_destroy (&outbox);
    free (moved);
    return rc;
}

static int
s_complaint_move (kefuctl_t *ctl, const char *cmd, esc_action_t action, const char *shop,
                  const char *id, const s_opts_t *o)
{
    int64_t case_id;
    int rc;
    if ((rc = kefuctl_parse_int (cmd, "the complaint id", id, 1, INT64_MAX, &case_id)))
        return rc;
    s_move_t mv;
    memset (&mv, 0, sizeof mv);
    mv.case_id = case_id;
    mv.move.action = action;
    mv.note = o->note ? o->note : o->reason;
    if (o->valid && o->not_valid) {
        fprintf (stderr, "%s: --valid or --not-valid, not both\n", cmd);
        return KEFUCTL_USAGE;
    }
    if (action == ESC_JUDGE && !o->valid && !o->not_valid) {
        fprintf (stderr, "%s: say --valid or --not-valid (with --reason)\n", cmd);
        return KEFUCTL_USAGE;
    }
    mv.move.valid = o->valid;
    mv.move.reason = o->reason;
    mv.move.agent_id = o->agent;
    if ((o->reason && (rc = kefuctl_check_text (cmd, "--reason", o->reason, 512, false))) ||
        (o->note && (rc = kefuctl_check_text (cmd, "--note", o->note, 512, false))) ||
        (o->agent && (rc = kefuctl_check_agent_id (cmd, o->agent))) ||
        (rc = s_parse_named (cmd, "--category", o->category, esc_category_parse, CATEGORIES,
                             &mv.move.category)) ||
        (rc = s_parse_named (cmd, "--responsible", o->responsible, esc_party_parse, PARTIES,
                             &mv.move.responsible)) ||
        (rc = s_parse_named (cmd, "--remedy", o->remedy, esc_remedy_parse, REMEDIES,
                             &mv.move.remedy)) ||
        (o->amount && (rc = s_parse_amount (cmd, o->amount, &mv.move.amount_cents))))
        return rc;
    if (o->finding) {
        //  What a service complaint found against the agent (scorecard).
        static const char *findings[] = {"", "valid", "wrong_explanation", "unverifiable"};
        for (int i = 1; i <= 3 && !mv.move.finding; i++)
            if (strcmp (o->finding, findings[i]) == 0)
                mv.move.finding = i;
        if (!mv.move.finding || action != ESC_INVESTIGATE) {
            fprintf (stderr,
                     "%s: --finding is valid, wrong_explanation or unverifiable (investigate "
                     "only)\n",
                     cmd);
            return KEFUCTL_USAGE;
        }
    }
    const char *by = kefuctl_by (cmd, o->by);
    if (!by)
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop, by, s_move, &mv);
}

//  ---------------------------------------------------------------------
//  Reading

static const char *
s_val (const PGresult *res, int row, int col)
{
    return PQgetvalue (res, row, col);
}

static int64_t
s_int (const PGresult *res, int row, int col)
{
    return strtoll (PQgetvalue (res, row, col), NULL, 10);
}

typedef struct {
    const s_opts_t *o; //  options
    const char *tz;    //  the shop's time zone
} s_print_t;

static int
s_print_complaints (const PGresult *res, void *arg)
{
    s_print_t *p = arg;
    int n = PQntuples (res);
    if (p->o->json) {
        json_t *rows = json_array ();
        for (int i = 0; i < n; i++)
            json_array_append_new (
                rows,
                json_pack (
                    "{s:I, s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:I, s:s, s:i, "
                    "s:I, s:s, s:s}",
                    "id", (json_int_t) s_int (res, i, 0), "registered_at_ms",
                    (json_int_t) s_int (res, i, 1), "customer", s_val (res, i, 2), "order",
                    s_val (res, i, 3), "category", esc_category_name ((int) s_int (res, i, 4)),
                    "stage", esc_stage_name ((int) s_int (res, i, 5)), "valid",
                    s_val (res, i, 6)[0] == 't', "responsible",
                    esc_party_name ((int) s_int (res, i, 7)), "agent", s_val (res, i, 8), "remedy",
                    esc_remedy_name ((int) s_int (res, i, 9)), "amount_cents",
                    (json_int_t) s_int (res, i, 10), "approved_by", s_val (res, i, 11), "level",
                    (int) s_int (res, i, 12), "deadline_ms", (json_int_t) s_int (res, i, 13),
                    "note", s_val (res, i, 14), "text", s_val (res, i, 15)));
        json_dumpf (rows, stdout, JSON_INDENT (2));
        printf ("\n");
        json_decref (rows);
        return 0;
    }
    const char *head[] = {"ID",    "REGISTERED", "CUSTOMER", "ORDER", "CATEGORY", "STAGE",
                          "PARTY", "REMEDY",     "AMOUNT",   "LEVEL", "DUE"};
    kefuctl_table_t *t = kefuctl_table_new (11, head);
    for (int i = 0; i < n; i++) {
        char id[24], reg[64], amount[32], level[8], due[64];
        snprintf (id, sizeof id, "%s", s_val (res, i, 0));
        snprintf (amount, sizeof amount, "%.2f", (double) s_int (res, i, 10) / 100);
        snprintf (level, sizeof level, "%s", s_val (res, i, 12));
        const char *cells[] = {id,
                               s_fmt_time (reg, sizeof reg, s_int (res, i, 1), p->tz),
                               s_val (res, i, 2),
                               s_val (res, i, 3),
                               esc_category_name ((int) s_int (res, i, 4)),
                               esc_stage_name ((int) s_int (res, i, 5)),
                               esc_party_name ((int) s_int (res, i, 7)),
                               esc_remedy_name ((int) s_int (res, i, 9)),
                               amount,
                               level,
                               s_fmt_time (due, sizeof due, s_int (res, i, 13), p->tz)};
        kefuctl_table_add (t, cells);
    }
    kefuctl_table_print (t, stdout);
    kefuctl_table_destroy (&t);
    return 0;
}

static const char *
s_contact_status (int step, bool contacted)
{
    static const char *steps[] = {"未联系", "已旺旺留言", "已发送短信", "已派电话任务"};
    if (contacted)
        return step ? "已联系上 (买家已回复)" : "买家已回复";
    return steps[step >= 0 && step <= 3 ? step : 0];
}

static const char *
s_outcome (int outcome)
{
    static const char *names[] = {"-", "已删除/修改", "答应某时间修改", "拒绝修改",
                                  "等待补偿后修改"};
    return names[outcome >= 0 && outcome <= 4 ? outcome : 0];
}

static int
s_print_reviews (const PGresult *res, void *arg)
{
    s_print_t *p = arg;
    int n = PQntuples (res);
    json_t *rows = p->o->json ? json_array () : NULL;
    const char *head[] = {"ID",     "TIME",     "BUYER",   "PHONE",   "ITEM", "ORDER",
                          "REVIEW", "SEVERITY", "CONTACT", "OUTCOME", "NEXT"};
    kefuctl_table_t *t = rows ? NULL : kefuctl_table_new (11, head);
    for (int i = 0; i < n; i++) {
        int step = (int) s_int (res, i, 8);
        bool contacted = s_val (res, i, 9)[0] == 't';
        int outcome = (int) s_int (res, i, 10);
        char when[64], next[64], sev[8], id[24];
        s_fmt_time (when, sizeof when, s_int (res, i, 1), p->tz);
        s_fmt_time (next, sizeof next, s_int (res, i, 11), p->tz);
        if (rows) {
            json_array_append_new (
                rows,
                json_pack ("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:s, s:b, "
                           "s:s, s:I}",
                           "id", (json_int_t) s_int (res, i, 0), "time", when, "buyer",
                           s_val (res, i, 2), "phone", s_val (res, i, 3), "item", s_val (res, i, 4),
                           "order", s_val (res, i, 12), "review", s_val (res, i, 5), "rating",
                           (int) s_int (res, i, 6), "severity", (int) s_int (res, i, 7),
                           "contact_step", step, "contact", s_contact_status (step, contacted),
                           "contacted", contacted, "outcome", s_outcome (outcome), "next_ms",
                           (json_int_t) s_int (res, i, 11)));
            continue;
        }
        snprintf (sev, sizeof sev, "%s", s_val (res, i, 7));
        snprintf (id, sizeof id, "%s", s_val (res, i, 0));
        const char *cells[] = {id,
                               when,
                               s_val (res, i, 2),
                               s_val (res, i, 3),
                               s_val (res, i, 4),
                               s_val (res, i, 12),
                               s_val (res, i, 5),
                               sev,
                               s_contact_status (step, contacted),
                               s_outcome (outcome),
                               next};
        kefuctl_table_add (t, cells);
    }
    if (rows) {
        json_dumpf (rows, stdout, JSON_INDENT (2));
        printf ("\n");
        json_decref (rows);
    } else {
        kefuctl_table_print (t, stdout);
        kefuctl_table_destroy (&t);
    }
    return 0;
}

//  The shop's time zone into tz (>= 65 bytes), for a read-only command.
static int
s_open (kefuctl_t *ctl, const char *cmd, const char *shop, kf_store_t **store, char *tz)
{
    int rc = kefuctl_shop_open (ctl, cmd, shop, store);
    if (rc)
        return rc;
    escalation_store_register (*store);
    esc_settings_t s;
    kf_error_t err;
    if (escalation_store_settings (*store, shop, &s, tz, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        kf_store_destroy (store);
        return KEFUCTL_FAILED;
    }
    return KEFUCTL_OK;
}

static int
s_list (kefuctl_t *ctl, const char *cmd, const char *shop, const char *sql, kf_params_t *params,
        kf_store_rows_fn *fn, const s_opts_t *o)
{
    kf_store_t *store = NULL;
    char tz[65];
    int rc = s_open (ctl, cmd, shop, &store, tz);
    if (rc)
        return rc;
    s_print_t p = {o, tz};
    kf_error_t err;
    if (kf_store_exec_sql (store, sql, params, fn, &p, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = KEFUCTL_FAILED;
    }
    kf_store_destroy (&store);
    return rc;
}

static int
s_show (kefuctl_t *ctl, const char *cmd, const char *shop, const char *id, const s_opts_t *o)
{
    int64_t case_id;
    int rc;
    if ((rc = kefuctl_parse_int (cmd, "the complaint id", id, 1, INT64_MAX, &case_id)))
        return rc;
    kf_store_t *store = NULL;
    char tz[65];
    if ((rc = s_open (ctl, cmd, shop, &store, tz)))
        return rc;
    esc_case_t *c = calloc (1, sizeof *c);
    kf_error_t err;
    if (escalation_store_get (store, shop, case_id, c, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = err.code == KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_TARGET ? KEFUCTL_NOT_FOUND
                                                                    : KEFUCTL_FAILED;
    } else {
        char reg[64], due[64], appr[64];
        json_t *j = json_pack (
            "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:I, s:s, s:s, s:i, s:s, "
            "s:s, s:s, s:s}",
            "id", (json_int_t) c->case_id, "kind",
            c->kind == ESC_COMPLAINT ? "complaint" : "review", "registered",
            s_fmt_time (reg, sizeof reg, c->registered_at_ms, tz), "registered_by",
            c->registered_by, "customer", c->channel_customer_id, "order", c->order_id, "stage",
            esc_stage_name (c->c.stage), "valid", c->c.valid, "category",
            esc_category_name (c->c.category), "responsible", esc_party_name (c->c.responsible),
            "remedy", esc_remedy_name (c->c.remedy), "amount_cents", (json_int_t) c->c.amount_cents,
            "approved_by", c->c.approved_by, "approved_at",
            s_fmt_time (appr, sizeof appr, c->c.approved_at_ms, tz), "level", c->c.level, "due",
            s_fmt_time (due, sizeof due, c->c.deadline_ms, tz), "agent", c->c.agent_id, "note",
            c->note, "text", c->body);
        if (o->json) {
            json_dumpf (j, stdout, JSON_INDENT (2));
            printf ("\n");
        } else {
            const char *key;
            json_t *value;
            json_object_foreach (j, key, value)
            {
                if (json_is_string (value))
                    printf ("%-14s %s\n", key, json_string_value (value));
                else if (json_is_boolean (value))
                    printf ("%-14s %s\n", key, json_is_true (value) ? "yes" : "no");
                else
                    printf ("%-14s %" JSON_INTEGER_FORMAT "\n", key, json_integer_value (value));
            }
        }
        json_decref (j);
    }
    free (c);
    kf_store_destroy (&store);
    return rc;
}

//  ---------------------------------------------------------------------
//  The ledger: a month's entries summed by category, party and agent

typedef struct {
    const s_opts_t *o; //  options
    const char *month; //  "2026-11"
    const char *shop;  //  the shop
} s_ledger_t;

static void
s_sum (json_t *by, const char *name, int64_t cents)
{
    json_t *row = json_object_get (by, name);
    if (!row) {
        row = json_pack ("{s:i, s:I}", "entries", 0, "amount_cents", (json_int_t) 0);
        json_object_set_new (by, name, row);
    }
    json_object_set_new (row, "entries",
                         json_integer (json_integer_value (json_object_get (row, "entries")) + 1));
    json_object_set_new (
        row, "amount_cents",
        json_integer (json_integer_value (json_object_get (row, "amount_cents")) + cents));
}

static int
s_print_ledger (const PGresult *res, void *arg)
{
    const s_ledger_t *l = arg;
    json_t *groups = json_pack ("{s:o, s:o, s:o}", "category", json_object (), "responsible",
                                json_object (), "agent", json_object ());
    int64_t total = 0;
    int n = PQntuples (res);
    for (int i = 0; i < n; i++) {
        int64_t cents = s_int (res, i, 3);
        total += cents;
        const char *cat = esc_category_name ((int) s_int (res, i, 6));
        const char *party = esc_party_name ((int) s_int (res, i, 7));
        s_sum (json_object_get (groups, "category"), *cat ? cat : "-", cents);
        s_sum (json_object_get (groups, "responsible"), *party ? party : "-", cents);
        s_sum (json_object_get (groups, "agent"), *s_val (res, i, 8) ? s_val (res, i, 8) : "-",
               cents);
    }
    const char *by_names[] = {"category", "responsible", "agent"};
    if (l->o->json) {
        json_t *out =
            json_pack ("{s:s, s:s, s:i, s:I, s:s}", "shop", l->shop, "month", l->month, "entries",
                       n, "total_cents", (json_int_t) total, "currency", "CNY");
        for (int g = 0; g < 3; g++) {
            json_t *list = json_array ();
            const char *name;
            json_t *row;
            json_object_foreach (json_object_get (groups, by_names[g]), name, row)
            {
                json_t *copy = json_deep_copy (row);
                json_object_set_new (copy, "name", json_string (name));
                json_array_append_new (list, copy);
            }
            char key[32];
            snprintf (key, sizeof key, "by_%s", by_names[g]);
            json_object_set_new (out, key, list);
        }
        json_dumpf (out, stdout, JSON_INDENT (2) | JSON_PRESERVE_ORDER);
        printf ("\n");
        json_decref (out);
    } else if (l->o->csv) {
        printf ("by,name,entries,amount\n");
        for (int g = 0; g < 3; g++) {
            const char *name;
            json_t *row;
            json_object_foreach (json_object_get (groups, by_names[g]), name, row)
                printf ("%s,%s,%" JSON_INTEGER_FORMAT ",%.2f\n", by_names[g], name,
                        json_integer_value (json_object_get (row, "entries")),
                        (double) json_integer_value (json_object_get (row, "amount_cents")) / 100);
        }
        printf ("total,,%d,%.2f\n", n, (double) total / 100);
    } else {
        const char *head[] = {"BY", "NAME", "ENTRIES", "AMOUNT (CNY)"};
        kefuctl_table_t *t = kefuctl_table_new (4, head);
        for (int g = 0; g < 3; g++) {
            const char *name;
            json_t *row;
            json_object_foreach (json_object_get (groups, by_names[g]), name, row)
            {
                char entries[24], amount[32];
                snprintf (entries, sizeof entries, "%" JSON_INTEGER_FORMAT,
                          json_integer_value (json_object_get (row, "entries")));
                snprintf (amount, sizeof amount, "%.2f",
                          (double) json_integer_value (json_object_get (row, "amount_cents")) /
                              100);
                const char *cells[] = {by_names[g], name, entries, amount};
                kefuctl_table_add (t, cells);
            }
        }
        char entries[24], amount[32];
        snprintf (entries, sizeof entries, "%d", n);
        snprintf (amount, sizeof amount, "%.2f", (double) total / 100);
        const char *cells[] = {"total", "", entries, amount};
        kefuctl_table_add (t, cells);
        kefuctl_table_print (t, stdout);
        kefuctl_table_destroy (&t);
    }
    json_decref (groups);
    return 0;
}

static int
s_ledger (kefuctl_t *ctl, const char *cmd, const char *shop, const s_opts_t *o)
{
    int year, month, used = 0;
    if (!o->month || sscanf (o->month, "%4d-%2d%n", &year, &month, &used) != 2 ||
        used != (int) strlen (o->month) || month < 1 || month > 12 || year < 2000) {
        fprintf (stderr, "%s: --month YYYY-MM is required (e.g. --month 2026-11)\n", cmd);
        return KEFUCTL_USAGE;
    }
    kf_store_t *store = NULL;
    char tz_name[65];
    int rc = s_open (ctl, cmd, shop, &store, tz_name);
    if (rc)
        return rc;
    kf_tz_t *tz = kf_tz_new (tz_name);
    int64_t from = kf_tz_to_utc (tz, year, month, 1, 0);
    int64_t to =
        kf_tz_to_utc (tz, month == 12 ? year + 1 : year, month == 12 ? 1 : month + 1, 1, 0);
    kf_tz_destroy (&tz);
    kf_params_t params;
    kf_params_init (&params);
    kf_params_str (&params, shop);
    kf_params_int (&params, from);
    kf_params_int (&params, to);
    s_ledger_t l = {o, o->month, shop};
    kf_error_t err;
    if (kf_store_exec_sql (store, escalation_sql_ledger, &params, s_print_ledger, &l, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = KEFUCTL_FAILED;
    }
    kf_store_destroy (&store);
    return rc;
}

//  ---------------------------------------------------------------------
//  Entry points

static const char *s_complaint_usage =
    "kefuctl complaint add SHOP --customer BUYER [--channel platform_chat] [--order ORDER]\n"
    "        [--category CATEGORY] --text TEXT [--by WHO]\n"
    "kefuctl complaint list SHOP [--open] [--json]\n"
    "kefuctl complaint show SHOP ID [--json]\n"
    "kefuctl complaint judge SHOP ID (--valid | --not-valid --reason TEXT)\n"
    "kefuctl complaint investigate SHOP ID --responsible PARTY [--category C] [--agent A]\n"
    "        [--finding valid|wrong_explanation|unverifiable]   (service complaints: scorecard)\n"
    "kefuctl complaint propose SHOP ID --remedy REMEDY [--amount 80.00]\n"
    "kefuctl complaint approve SHOP ID [--by SUPERVISOR]\n"
    "kefuctl complaint done SHOP ID [--agent A]     (carried out, the customer confirmed)\n"
    "kefuctl complaint revisit SHOP ID [--note TEXT] (回访 done)\n"
    "kefuctl complaint close SHOP ID [--note TEXT]\n"
    "  categories: " CATEGORIES "\n"
    "  parties: " PARTIES "\n"
    "  remedies: " REMEDIES "\n"
    "A refused move says the stage and what is missing, changes nothing and exits 2.";

static int
s_complaint (kefuctl_t *ctl, int argc, char **argv)
{
    if (argc < 3 || kefuctl_wants_help (argc, argv)) {
        fprintf (argc < 3 ? stderr : stdout, "%s\n", s_complaint_usage);
        return argc < 3 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    const char *verb = argv[1], *shop = argv[2];
    char cmd[64];
    snprintf (cmd, sizeof cmd, "kefuctl complaint %s", verb);
    int rc;
    if ((rc = kefuctl_check_shop (cmd, shop)))
        return rc;
    bool with_id = strcmp (verb, "add") != 0 && strcmp (verb, "list") != 0;
    if (with_id && argc < 4) {
        fprintf (stderr, "%s: the complaint id is missing\n", cmd);
        return KEFUCTL_USAGE;
    }
    s_opts_t o;
    if ((rc = s_parse_opts (cmd, argc, argv, with_id ? 4 : 3, &o)))
        return rc;
    if (strcmp (verb, "add") == 0)
        return s_complaint_add (ctl, cmd, shop, &o);
    if (strcmp (verb, "list") == 0) {
        kf_params_t params;
        kf_params_init (&params);
        kf_params_str (&params, shop);
        kf_params_bool (&params, o.open);
        return s_list (ctl, cmd, shop, escalation_sql_complaints, &params, s_print_complaints, &o);
    }
    if (strcmp (verb, "show") == 0)
        return s_show (ctl, cmd, shop, argv[3], &o);
    esc_action_t action = esc_action_parse (verb);
    if (!action) {
        fprintf (stderr, "kefuctl complaint: unknown verb \"%s\"\n%s\n", verb, s_complaint_usage);
        return KEFUCTL_USAGE;
    }
    return s_complaint_move (ctl, cmd, action, shop, argv[3], &o);
}

//  ---------------------------------------------------------------------
//  A review's outcome

typedef struct {
    int64_t case_id;   //  the review
    int outcome;       //  ReviewOutcome
    int64_t within_ms; //  promised: follow up this long from now
    const char *note;  //  what was agreed
} s_outcome_t;

static int
s_set_outcome (kefuctl_change_t *change, void *arg)
{
    s_outcome_t *o = arg;
    escalation_store_register (change->store);
    esc_case_t *c = calloc (1, sizeof *c);
    kf_outbox_t *outbox = kf_outbox_new ("escalation", change->store);
    int rc = escalation_desk_outcome (change->store, outbox, change->shop_id, o->case_id,
                                      o->outcome, o->within_ms ? change->now_ms + o->within_ms : 0,
                                      o->note, change->by, change->now_ms, c, &change->err);
    if (rc == 1) {
        fprintf (stderr, "%s: %s\n", change->cmd, change->err.reason);
        rc = change->err.code == KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_TARGET ? KEFUCTL_NOT_FOUND
                                                                            : KEFUCTL_USAGE;
    } else if (rc || kf_outbox_flush (outbox, &change->err))
        rc = kefuctl_change_failed (change);
    else {
        fprintf (change->out, "review %" PRId64 ": %s", c->case_id, s_outcome (c->outcome));
        if (c->r.next_ms) {
            char when[64];
            fprintf (change->out, "; followed up %s",
                     s_fmt_time (when, sizeof when, c->r.next_ms, change->timezone));
        }
        fprintf (change->out, "\n");
    }
    kf_outbox_destroy (&outbox);
    free (c);
    return rc;
}

static int
s_review_outcome (kefuctl_t *ctl, const char *cmd, const char *shop, const char *id,
                  const s_opts_t *o)
{
    static const char *names[] = {"", "changed", "promised", "refused", "after_compensation"};
    s_outcome_t out = {0, 0, 0, o->note};
    int rc;
    if ((rc = kefuctl_parse_int (cmd, "the review id", id, 1, INT64_MAX, &out.case_id)))
        return rc;
    for (int i = 1; i <= 4 && o->outcome; i++)
        if (strcmp (o->outcome, names[i]) == 0)
            out.outcome = i;
    if (!out.outcome) {
        fprintf (stderr,
                 "%s: --outcome is changed (已删除/修改), promised --within DURATION "
                 "(答应某时间修改), refused (拒绝修改) or after_compensation (等待补偿后修改)\n",
                 cmd);
        return KEFUCTL_USAGE;
    }
    if ((out.outcome == KEFU__V1__REVIEW_OUTCOME__REVIEW_PROMISED) != (o->within != NULL)) {
        fprintf (stderr, "%s: --within (when to follow up) goes with --outcome promised only\n",
                 cmd);
        return KEFUCTL_USAGE;
    }
    if ((o->within && (rc = kefuctl_parse_duration (cmd, "--within", o->within, 60000,
                                                    30 * 24 * 3600 * 1000LL, &out.within_ms))) ||
        (o->note && (rc = kefuctl_check_text (cmd, "--note", o->note, 512, false))))
        return rc;
    const char *by = kefuctl_by (cmd, o->by);
    if (!by)
        return KEFUCTL_USAGE;
    return kefuctl_change_run (ctl, cmd, shop, by, s_set_outcome, &out);
}

static const char *s_review_usage =
    "kefuctl review add SHOP --buyer BUYER --order ORDER (--rating 1-3 | --neutral | --negative)\n"
    "        --text TEXT [--phone PHONE] [--item ITEM] [--channel platform_chat]\n"
    "    registers a platform review (中差评) by hand (review connectors push them as items):\n"
    "    kefu-escalation sends the chat message at once, then the SMS, then a phone task\n"
    "kefuctl review list SHOP [--open] [--severity N] [--json]\n"
    "    the 中差评 record sheet, most severe first\n"
    "kefuctl review outcome SHOP ID --outcome changed|promised|refused|after_compensation\n"
    "        [--within DURATION] [--note TEXT]\n"
    "    what became of it (已删除/修改, 答应某时间修改, 拒绝修改, 等待补偿后修改); the ladder\n"
    "    stops; a promise (--within 3d) is followed up by a phone task when it falls due";

static int
s_review (kefuctl_t *ctl, int argc, char **argv)
{
    if (argc < 3 || kefuctl_wants_help (argc, argv)) {
        fprintf (argc < 3 ? stderr : stdout, "%s\n", s_review_usage);
        return argc < 3 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    const char *verb = argv[1], *shop = argv[2];
    char cmd[64];
    snprintf (cmd, sizeof cmd, "kefuctl review %s", verb);
    s_opts_t o;
    int rc;
    bool with_id = strcmp (verb, "outcome") == 0;
    if (with_id && argc < 4) {
        fprintf (stderr, "%s: the review id is missing\n", cmd);
        return KEFUCTL_USAGE;
    }
    if ((rc = kefuctl_check_shop (cmd, shop)) ||
        (rc = s_parse_opts (cmd, argc, argv, with_id ? 4 : 3, &o)))
        return rc;
    if (with_id)
        return s_review_outcome (ctl, cmd, shop, argv[3], &o);
    if (strcmp (verb, "add") == 0)
        return s_review_add (ctl, cmd, shop, &o);
    if (strcmp (verb, "list") == 0) {
        int64_t severity = 1;
        if (o.severity && (rc = kefuctl_parse_int (cmd, "--severity", o.severity, 1, 5, &severity)))
            return rc;
        kf_params_t params;
        kf_params_init (&params);
        kf_params_str (&params, shop);
        kf_params_bool (&params, o.open);
        kf_params_int (&params, severity);
        return s_list (ctl, cmd, shop, escalation_sql_reviews, &params, s_print_reviews, &o);
    }
    fprintf (stderr, "kefuctl review: unknown verb \"%s\"\n%s\n", verb, s_review_usage);
    return KEFUCTL_USAGE;
}

//  ---------------------------------------------------------------------
//  The shop's after-sales settings

typedef struct {
    const s_opts_t *o; //  what to change
} s_settings_arg_t;

static void
s_print_settings (FILE *out, const esc_settings_t *s, bool json)
{
    char windows[128];
    esc_settings_format_windows (s, windows, sizeof windows);
    if (json) {
        json_t *j = json_pack ("{s:I, s:I, s:I, s:s}", "approval_limit_cents",
                               (json_int_t) s->approval_limit_cents, "sms_delay_ms",
                               (json_int_t) s->sms_delay_ms, "phone_after_ms",
                               (json_int_t) s->phone_after_ms, "calling_windows", windows);
        for (int stage = ESC_DEADLINE_FIRST; stage <= ESC_DEADLINE_LAST; stage++) {
            char key[48];
            snprintf (key, sizeof key, "%s_within_ms", esc_deadline_name (stage));
            json_object_set_new (j, key, json_integer ((json_int_t) s->stage_within_ms[stage]));
        }
        json_dumpf (j, out, JSON_INDENT (2) | JSON_SORT_KEYS);
        fprintf (out, "\n");
        json_decref (j);
        return;
    }
    fprintf (out,
             "approval limit       %.2f\nSMS delay            %" PRId64
             " min\nphone after          %" PRId64 " h\ncalling windows      %s\n",
             (double) s->approval_limit_cents / 100, s->sms_delay_ms / 60000,
             s->phone_after_ms / 3600000, windows);
    for (int stage = ESC_DEADLINE_FIRST; stage <= ESC_DEADLINE_LAST; stage++) {
        char name[32];
        snprintf (name, sizeof name, "%s within", esc_deadline_name (stage));
        for (char *p = name; *p; p++)
            if (*p == '_')
                *p = ' ';
        int64_t ms = s->stage_within_ms[stage];
        if (ms % 3600000 == 0)
            fprintf (out, "%-20s %" PRId64 " h\n", name, ms / 3600000);
        else
            fprintf (out, "%-20s %" PRId64 " min\n", name, ms / 60000);
    }
}

static int
s_set_settings (kefuctl_change_t *change, void *arg)
{
    const s_opts_t *o = ((s_settings_arg_t *) arg)->o;
    escalation_store_register (change->store);
    esc_settings_t s;
    char tz[65];
    if (escalation_store_settings (change->store, change->shop_id, &s, tz, &change->err))
        return kefuctl_change_failed (change);
    int64_t max = 30 * 24 * 3600 * 1000LL;
    int rc;
    if ((o->approval_limit &&
         (rc = s_parse_amount (change->cmd, o->approval_limit, &s.approval_limit_cents))) ||
        (o->sms_delay && (rc = kefuctl_parse_duration (change->cmd, "--sms-delay", o->sms_delay, 0,
                                                       max, &s.sms_delay_ms))) ||
        (o->phone_after &&
         (rc = kefuctl_parse_duration (change->cmd, "--phone-after", o->phone_after, 0, max,
                                       &s.phone_after_ms))))
        return rc;
    //  A stage's deadline: a minute at least, 30 days at most.
    for (int stage = ESC_DEADLINE_FIRST; stage <= ESC_DEADLINE_LAST; stage++) {
        char flag[48];
        if (o->stage_within[stage] &&
            (rc = kefuctl_parse_duration (change->cmd, s_within_flag (stage, flag, sizeof flag),
                                          o->stage_within[stage], 60000, max,
                                          &s.stage_within_ms[stage])))
            return rc;
    }
    if (o->calling_windows && esc_settings_windows (&s, o->calling_windows)) {
        fprintf (stderr,
                 "%s: --calling-windows is up to 4 windows like 09:30-11:30,16:00-18:00, not "
                 "\"%s\"\n",
                 change->cmd, o->calling_windows);
        return KEFUCTL_USAGE;
    }
    if (escalation_store_set_settings (change->store, change->shop_id, &s, &change->err))
        return kefuctl_change_failed (change);
    s_print_settings (change->out, &s, o->json);
    return kefuctl_change_config (change, "escalation.settings");
}

static int
s_settings (kefuctl_t *ctl, int argc, char **argv)
{
    const char *usage =
        "kefuctl escalation settings SHOP [--approval-limit 50.00] [--sms-delay 2h]\n"
        "        [--phone-after 48h] [--calling-windows 09:30-11:30,16:00-18:00]\n"
        "        [--judge-within 24h] [--investigate-within 24h] [--propose-within 24h]\n"
        "        [--approve-within 4h] [--carry-out-within 48h] [--revisit-within 72h]\n"
        "        [--close-within 24h] [--json] [--by WHO]\n"
        "    the shop's after-sales settings: shown, or changed (kefu-escalation reads them\n"
        "    again within KEFU_ESCALATION_POLL_INTERVAL). Each --STEP-within is how long a\n"
        "    complaint may wait for that step (1 min .. 30 days) before its deadline passes:\n"
        "    one escalation level up, the supervisors told, the next level one more such\n"
        "    period later. A case keeps the deadline it was given; the new one applies\n"
        "    from the next stage or level on.";
    if (argc < 3 || strcmp (argv[1], "settings") || kefuctl_wants_help (argc, argv)) {
        fprintf (argc < 3 ? stderr : stdout, "%s\n", usage);
        return argc < 3 || strcmp (argv[1], "settings") ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    const char *cmd = "kefuctl escalation settings", *shop = argv[2];
    s_opts_t o;
    int rc;
    if ((rc = kefuctl_check_shop (cmd, shop)) || (rc = s_parse_opts (cmd, argc, argv, 3, &o)))
        return rc;
    if (o.approval_limit || o.sms_delay || o.phone_after || o.stage_within_any ||
        o.calling_windows) {
        const char *by = kefuctl_by (cmd, o.by);
        if (!by)
            return KEFUCTL_USAGE;
        s_settings_arg_t arg = {&o};
        return kefuctl_change_run (ctl, cmd, shop, by, s_set_settings, &arg);
    }
    kf_store_t *store = NULL;
    char tz[65];
    if ((rc = s_open (ctl, cmd, shop, &store, tz)))
        return rc;
    esc_settings_t s;
    kf_error_t err;
    if (escalation_store_settings (store, shop, &s, tz, &err)) {
        fprintf (stderr, "%s: %s\n", cmd, err.reason);
        rc = KEFUCTL_FAILED;
    } else
        s_print_settings (stdout, &s, o.json);
    kf_store_destroy (&store);
    return rc;
}

static int
s_ledger_cmd (kefuctl_t *ctl, int argc, char **argv)
{
    const char *usage = "kefuctl ledger SHOP --month YYYY-MM [--json | --csv]\n"
                        "    the compensation ledger's month, summed by category, responsible "
                        "party and agent";
    if (argc < 2 || kefuctl_wants_help (argc, argv)) {
        fprintf (argc < 2 ? stderr : stdout, "%s\n", usage);
        return argc < 2 ? KEFUCTL_USAGE : KEFUCTL_OK;
    }
    s_opts_t o;
    int rc;
    if ((rc = kefuctl_check_shop ("kefuctl ledger", argv[1])) ||
        (rc = s_parse_opts ("kefuctl ledger", argc, argv, 2, &o)))
        return rc;
    return s_ledger (ctl, "kefuctl ledger", argv[1], &o);
}

int
kefuctl_aftersales (kefuctl_t *ctl, int argc, char **argv)
{
    if (strcmp (argv[0], "complaint") == 0)
        return s_complaint (ctl, argc, argv);
    if (strcmp (argv[0], "review") == 0)
        return s_review (ctl, argc, argv);
    if (strcmp (argv[0], "ledger") == 0)
        return s_ledger_cmd (ctl, argc, argv);
    if (strcmp (argv[0], "escalation") == 0)
        return s_settings (ctl, argc, argv);
    return -1;
}
