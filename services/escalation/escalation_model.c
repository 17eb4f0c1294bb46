/*  escalation_model — the complaint workflow and the 中差评 ladder, pure. */
#include "escalation_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_MS  60000LL
#define HOUR_MS (60 * MIN_MS)
#define DAY_MS  (24 * HOUR_MS)

enum {
    REGISTERED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_REGISTERED,
    JUDGED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_JUDGED,
    INVESTIGATED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_INVESTIGATED,
    PROPOSED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_REMEDY_PROPOSED,
    APPROVED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_APPROVED,
    CARRIED_OUT = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_CARRIED_OUT,
    REVISITED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_REVISITED,
    CLOSED = KEFU__V1__COMPLAINT_STAGE__COMPLAINT_CLOSED
};

void
esc_settings_default (esc_settings_t *s)
{
    memset (s, 0, sizeof *s);
    s->approval_limit_cents = 5000;
    s->stage_within_ms[REGISTERED] = DAY_MS;
    s->stage_within_ms[JUDGED] = DAY_MS;
    s->stage_within_ms[INVESTIGATED] = DAY_MS;
    s->stage_within_ms[PROPOSED] = 4 * HOUR_MS;
    s->stage_within_ms[APPROVED] = 2 * DAY_MS;
    s->stage_within_ms[CARRIED_OUT] = 3 * DAY_MS;
    s->stage_within_ms[REVISITED] = DAY_MS;
    s->max_level = 3;
    s->sms_delay_ms = 2 * HOUR_MS;
    s->phone_after_ms = 2 * DAY_MS;
    esc_settings_windows (s, "09:30-11:30,16:00-18:00");
}

static int
s_parse_clock (const char *p, const char **end)
{
    int h, m, n = 0;
    if (sscanf (p, "%2d:%2d%n", &h, &m, &n) != 2 || n != 5 || h < 0 || h > 24 || m < 0 || m > 59 ||
        h * 60 + m > 24 * 60)
        return -1;
    *end = p + n;
    return h * 60 + m;
}

int
esc_settings_windows (esc_settings_t *s, const char *spec)
{
    int from[ESC_WINDOWS_MAX], to[ESC_WINDOWS_MAX], n = 0;
    const char *p = spec;
    while (p && *p) {
        if (n == ESC_WINDOWS_MAX)
            return -1;
        const char *end;
        if ((from[n] = s_parse_clock (p, &end)) < 0 || *end != '-' ||
            (to[n] = s_parse_clock (end + 1, &end)) < 0 || to[n] <= from[n])
            return -1;
        n++;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',')
            return -1;
    }
    if (n == 0)
        return -1;
    s->windows = n;
    memcpy (s->window_from, from, sizeof from);
    memcpy (s->window_to, to, sizeof to);
    return 0;
}

const char *
esc_settings_format_windows (const esc_settings_t *s, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < s->windows && used < size; i++)
        used += snprintf (buf + used, size - used, "%s%02d:%02d-%02d:%02d", i ? "," : "",
                          s->window_from[i] / 60, s->window_from[i] % 60, s->window_to[i] / 60,
                          s->window_to[i] % 60);
    return buf;
}

//  ---------------------------------------------------------------------
//  Names

static const char *s_stages[] = {
    "",         "registered",  "judged",    "investigated", "remedy_proposed",
    "approved", "carried_out", "revisited", "closed"};
static const char *s_actions[] = {"",        "judge", "investigate", "propose",
                                  "approve", "done",  "revisit",     "close"};
//  What ends each stage, naming its deadline ("judge" within ...).
static const char *s_deadlines[] = {"",        "judge",     "investigate", "propose",
                                    "approve", "carry_out", "revisit",     "close"};
static const char *s_categories[] = {
    "",       "not_as_described", "service", "missing_items", "late_delivery", "transit_damage",
    "quality"};
static const char *s_parties[] = {"", "warehouse", "courier", "product", "service", "none"};
static const char *s_remedies[] = {"",       "apology",  "coupon",       "cash",
                                   "resend", "exchange", "return_refund"};
static const char *s_first_steps[] = {
    "",
    "apologise and explain the difference (不符: 道歉并解释)",
    "read the chat record first (先看聊天记录)",
    "check the package and resend what is missing (核对并补发)",
    "chase the courier and tell the buyer first (催快递并先告知买家)",
    "ask for photos first (先要照片)",
    "ask for photos first (先要照片)"};
static const char *s_ledger_kinds[] = {"", "coupon", "cash", "refund", "resend_cost"};

#define COUNT(a) ((int) (sizeof (a) / sizeof (a)[0]))

static const char *
s_name (const char *const *names, int count, int value)
{
    return value > 0 && value < count ? names[value] : "";
}

static int
s_parse (const char *const *names, int count, const char *name)
{
    for (int i = 1; name && i < count; i++)
        if (strcmp (names[i], name) == 0)
            return i;
    return 0;
}

const char *
esc_stage_name (int stage)
{
    return s_name (s_stages, COUNT (s_stages), stage);
}

const char *
esc_action_name (esc_action_t action)
{
    return s_name (s_actions, COUNT (s_actions), (int) action);
}

const char *
esc_deadline_name (int stage)
{
    return s_name (s_deadlines, COUNT (s_deadlines), stage);
}

esc_action_t
esc_action_parse (const char *name)
{
    return (esc_action_t) s_parse (s_actions, COUNT (s_actions), name);
}

const char *
esc_category_name (int category)
{
    return s_name (s_categories, COUNT (s_categories), category);
}

const char *
esc_party_name (int party)
{
    return s_name (s_parties, COUNT (s_parties), party);
}

const char *
esc_remedy_name (int remedy)
{
    return s_name (s_remedies, COUNT (s_remedies), remedy);
}

int
esc_category_parse (const char *name)
{
    return s_parse (s_categories, COUNT (s_categories), name);
}

int
esc_party_parse (const char *name)
{
    return s_parse (s_parties, COUNT (s_parties), name);
}

int
esc_remedy_parse (const char *name)
{
    return s_parse (s_remedies, COUNT (s_remedies), name);
}

const char *
esc_category_first_step (int category)
{
    return s_name (s_first_steps, COUNT (s_first_steps), category);
}

const char *
esc_ledger_kind_name (int kind)
{
    return s_name (s_ledger_kinds, COUNT (s_ledger_kinds), kind);
}

int
esc_ledger_kind_of (int remedy)
{
    switch (remedy) {
    case KEFU__V1__REMEDY__REMEDY_COUPON:
        return ESC_LEDGER_COUPON;
    case KEFU__V1__REMEDY__REMEDY_CASH:
        return ESC_LEDGER_CASH;
    case KEFU__V1__REMEDY__REMEDY_RETURN_REFUND:
        return ESC_LEDGER_REFUND;
    case KEFU__V1__REMEDY__REMEDY_RESEND:
    case KEFU__V1__REMEDY__REMEDY_EXCHANGE:
        return ESC_LEDGER_RESEND_COST;
    default:
        return 0;
    }
}

//  ---------------------------------------------------------------------
//  The workflow

static void
s_enter (esc_complaint_t *c, int stage, const esc_settings_t *s, int64_t now)
{
    c->stage = stage;
    c->stage_at_ms = now;
    c->level = 0;
    int64_t within = stage > 0 && stage < ESC_STAGES ? s->stage_within_ms[stage] : 0;
    c->deadline_ms = stage != CLOSED && within > 0 ? now + within : 0;
}

void
esc_complaint_register (esc_complaint_t *c, int category, const esc_settings_t *s, int64_t now)
{
    memset (c, 0, sizeof *c);
    c->category = category;
    s_enter (c, REGISTERED, s, now);
}

//  Refusals name the stage, then what is missing.
#define REFUSE(code, ...)                                                                          \
    do {                                                                                           \
        char what_[200];                                                                           \
        snprintf (what_, sizeof what_, __VA_ARGS__);                                               \
        return kf_error_set (err, code, "stage %s: %s refused: %s", esc_stage_name (c->stage),     \
                             esc_action_name (m->action), what_);                                  \
    } while (0)

#define MISSING KEFU__V1__ERROR_CODE__ERROR_MISSING_FIELD
#define WRONG   KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE

int
esc_complaint_move (esc_complaint_t *c, const esc_move_t *m, const esc_settings_t *s, int64_t now,
                    kf_error_t *err)
{
    if (c->stage == CLOSED)
        REFUSE (WRONG, "the complaint is closed");
    switch (m->action) {
    case ESC_JUDGE:
        if (c->stage != REGISTERED)
            REFUSE (WRONG, "already judged (%s)", c->valid ? "valid" : "not valid");
        if (!m->valid && (!m->reason || !*m->reason))
            REFUSE (MISSING, "a complaint judged not valid needs the reason (--reason)");
        c->valid = m->valid;
        if (!m->valid)
            c->responsible = KEFU__V1__RESPONSIBLE_PARTY__RESPONSIBLE_NONE;
        s_enter (c, m->valid ? JUDGED : CLOSED, s, now);
        return 0;
    case ESC_INVESTIGATE:
        if (c->stage == REGISTERED)
            REFUSE (WRONG, "judge it first (valid or not)");
        if (c->stage != JUDGED && c->stage != INVESTIGATED)
            REFUSE (WRONG, "the investigation is over (remedy already proposed)");
        if (m->responsible <= 0 || m->responsible == KEFU__V1__RESPONSIBLE_PARTY__RESPONSIBLE_NONE)
            REFUSE (MISSING, "the responsible party is missing (--responsible)");
        if (m->category <= 0 && c->category <= 0)
            REFUSE (MISSING, "the category is missing (--category)");
        if (m->responsible == KEFU__V1__RESPONSIBLE_PARTY__RESPONSIBLE_SERVICE &&
            (!m->agent_id || !*m->agent_id))
            REFUSE (MISSING, "a service complaint names the agent concerned (--agent)");
        c->responsible = m->responsible;
        if (m->category > 0)
            c->category = m->category;
        snprintf (c->agent_id, sizeof c->agent_id, "%s", m->agent_id ? m->agent_id : "");
        s_enter (c, INVESTIGATED, s, now);
        return 0;
    case ESC_PROPOSE:
        if (c->stage == REGISTERED)
            REFUSE (WRONG, "judge it first (valid or not)");
        if (c->stage == JUDGED || c->responsible <= 0 || c->category <= 0)
            REFUSE (MISSING, "a remedy needs the responsible party and the category "
                             "(investigate first)");
        if (c->stage != INVESTIGATED)
            REFUSE (WRONG, "a remedy is already %s",
                    c->stage == PROPOSED ? "proposed" : "approved");
        if (m->remedy <= 0)
            REFUSE (MISSING, "the remedy is missing (--remedy)");
        if (m->amount_cents < 0)
            REFUSE (WRONG, "the amount is negative");
        if (m->amount_cents > 0 && !esc_ledger_kind_of (m->remedy))
            REFUSE (WRONG, "remedy %s moves no money", esc_remedy_name (m->remedy));
        c->remedy = m->remedy;
        c->amount_cents = m->amount_cents;
        c->approved_by[0] = '\0';
        c->approved_at_ms = 0;
        if (m->amount_cents <= s->approval_limit_cents) {
            //  Within the shop's limit: no approval needed.
            snprintf (c->approved_by, sizeof c->approved_by, "limit");
            c->approved_at_ms = now;
            s_enter (c, APPROVED, s, now);
        } else
            s_enter (c, PROPOSED, s, now);
        return 0;
    case ESC_APPROVE:
        if (c->stage < PROPOSED)
            REFUSE (MISSING, "no remedy has been proposed (propose first)");
        if (c->stage != PROPOSED)
            REFUSE (WRONG, "the remedy is already approved");
        if (!m->by_supervisor)
            REFUSE (KEFU__V1__ERROR_CODE__ERROR_FORBIDDEN,
                    "%s is not a supervisor: the approval needs a supervisor principal",
                    m->by ? m->by : "?");
        snprintf (c->approved_by, sizeof c->approved_by, "%s", m->by ? m->by : "");
        c->approved_at_ms = now;
        s_enter (c, APPROVED, s, now);
        return 0;
    case ESC_DONE:
        if (c->stage < APPROVED)
            REFUSE (MISSING, "the remedy is not approved yet%s",
                    c->stage == PROPOSED ? " (a supervisor approves first)" : "");
        if (c->stage != APPROVED)
            REFUSE (WRONG, "already carried out");
        s_enter (c, CARRIED_OUT, s, now);
        return 0;
    case ESC_REVISIT:
        if (c->stage < CARRIED_OUT)
            REFUSE (MISSING, "the remedy is not carried out yet (done first)");
        if (c->stage != CARRIED_OUT)
            REFUSE (WRONG, "already revisited");
        s_enter (c, REVISITED, s, now);
        return 0;
    case ESC_CLOSE:
        if (c->stage != REVISITED)
            REFUSE (MISSING, "the revisit (回访) is missing%s",
                    c->stage < CARRIED_OUT ? " and the remedy is not carried out" : "");
        s_enter (c, CLOSED, s, now);
        return 0;
    default:
        return kf_error_set (err, WRONG, "unknown action %d", (int) m->action);
    }
}

int
esc_complaint_finding (const esc_complaint_t *c, const esc_move_t *m)
{
    if (m->action == ESC_JUDGE)
        return m->valid ? KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_UNSPECIFIED
                        : KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_NONE;
    if (m->action != ESC_INVESTIGATE)
        return KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_UNSPECIFIED;
    if (c->responsible != KEFU__V1__RESPONSIBLE_PARTY__RESPONSIBLE_SERVICE)
        return KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_NONE;
    return m->finding ? m->finding : KEFU__V1__SERVICE_FINDING__SERVICE_FINDING_VALID;
}

bool
esc_complaint_moves_money (const esc_complaint_t *c, const esc_move_t *m)
{
    return m->action == ESC_DONE && c->stage == APPROVED && c->amount_cents > 0 &&
           esc_ledger_kind_of (c->remedy) != 0;
}

int64_t
esc_complaint_deadline (esc_complaint_t *c, const esc_settings_t *s, int64_t now)
{
    if (c->deadline_ms <= 0 || now < c->deadline_ms || c->stage == CLOSED)
        return -1;
    int64_t late = now - c->deadline_ms;
    c->level++;
    int64_t within = c->stage < ESC_STAGES ? s->stage_within_ms[c->stage] : 0;
    c->deadline_ms = c->level < s->max_level && within > 0 ? c->deadline_ms + within : 0;
    return late;
}

//  ---------------------------------------------------------------------
//  The ladder

void
esc_review_open (esc_review_t *r, int64_t now)
{
    memset (r, 0, sizeof *r);
    r->next_ms = now;
}

int64_t
esc_calling_window (const esc_settings_t *s, const kf_tz_t *tz, int64_t t)
{
    //  The day of t's windows that are not over yet, else the next day's.
    for (int d = 0; d < 3; d++) {
        struct tm tm;
        kf_tz_local (tz, t + d * DAY_MS, &tm);
        int64_t best = -1;
        for (int i = 0; i < s->windows; i++) {
            int64_t from =
                kf_tz_to_utc (tz, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, s->window_from[i]);
            int64_t to =
                kf_tz_to_utc (tz, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, s->window_to[i]);
            int64_t at = t > from ? t : from;
            if (at < to && (best < 0 || at < best))
                best = at;
        }
        if (best >= 0)
            return best;
    }
    return t;
}

esc_step_t
esc_review_step (esc_review_t *r, const esc_settings_t *s, const kf_tz_t *tz, int64_t now)
{
    if (r->contacted || r->next_ms <= 0 || now < r->next_ms)
        return ESC_STEP_NONE;
    switch (r->step) {
    case ESC_STEP_NONE:
        r->step = ESC_STEP_CHAT;
        r->chat_at_ms = now;
        r->next_ms = now + s->sms_delay_ms;
        break;
    case ESC_STEP_CHAT:
        r->step = ESC_STEP_SMS;
        r->next_ms = esc_calling_window (s, tz, r->chat_at_ms + s->phone_after_ms);
        if (r->next_ms < now)
            r->next_ms = esc_calling_window (s, tz, now);
        break;
    case ESC_STEP_SMS:
        r->step = ESC_STEP_PHONE;
        r->next_ms = 0;
        break;
    default:
        r->next_ms = 0;
        return ESC_STEP_NONE;
    }
    return (esc_step_t) r->step;
}

bool
esc_review_contacted (esc_review_t *r)
{
    if (r->contacted)
        return false;
    r->contacted = true;
    r->next_ms = 0;
    return true;
}
