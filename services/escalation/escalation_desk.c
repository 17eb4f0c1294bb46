/*  escalation_desk — registering a case and moving a complaint. */
#include "escalation_desk.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

//  c at its registration: who, when, its first deadline or rung.
static void
s_open (esc_case_t *c, const esc_settings_t *s, const char *by, int64_t now)
{
    snprintf (c->registered_by, sizeof c->registered_by, "%s", by);
    c->registered_at_ms = now;
    if (c->kind == ESC_COMPLAINT)
        esc_complaint_register (&c->c, c->c.category, s, now);
    else
        esc_review_open (&c->r, now);
}

static int
s_registered (kf_outbox_t *outbox, const esc_case_t *c, const char *by, const char *note,
              int64_t now, kf_error_t *err)
{
    return escalation_store_event (
               outbox, c, c->kind == ESC_COMPLAINT ? "complaint.registered" : "review.registered",
               by, note, 0, now)
               ? kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL, "event not packed")
               : 0;
}

int
escalation_desk_register (kf_store_t *store, kf_outbox_t *outbox, esc_case_t *c,
                          const esc_settings_t *s, const char *by, const char *note, int64_t now,
                          kf_error_t *err)
{
    s_open (c, s, by, now);
    if (escalation_store_add (store, c, err))
        return -1;
    return s_registered (outbox, c, by, note, now, err);
}

int
escalation_desk_register_into (escalation_writes_t *writes, kf_outbox_t *outbox, esc_case_t *c,
                               const esc_settings_t *s, const char *by, const char *note,
                               int64_t now, kf_error_t *err)
{
    s_open (c, s, by, now);
    escalation_writes_add (writes, c);
    return s_registered (outbox, c, by, note, now, err);
}

int
escalation_desk_outcome (kf_store_t *store, kf_outbox_t *outbox, const char *shop_id,
                         int64_t case_id, int outcome, int64_t follow_up_ms, const char *note,
                         const char *by, int64_t now, esc_case_t *c, kf_error_t *err)
{
    memset (c, 0, sizeof *c);
    if (escalation_store_get (store, shop_id, case_id, c, err))
        return err->code == KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_TARGET ? 1 : -1;
    if (c->kind != ESC_REVIEW) {
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_TARGET,
                      "case %" PRId64 " is a complaint, not a review", case_id);
        return 1;
    }
    bool promised = outcome == KEFU__V1__REVIEW_OUTCOME__REVIEW_PROMISED;
    if (outcome < KEFU__V1__REVIEW_OUTCOME__REVIEW_CHANGED ||
        outcome > KEFU__V1__REVIEW_OUTCOME__REVIEW_AFTER_COMPENSATION ||
        (promised && follow_up_ms <= now) || (!promised && follow_up_ms)) {
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INVALID_VALUE,
                      "a promise to change the review needs the follow-up time (and only a "
                      "promise has one)");
        return 1;
    }
    c->outcome = outcome;
    c->r.contacted = true; //  the ladder stops: the buyer was reached
    c->r.next_ms = promised ? follow_up_ms : 0;
    if (note && *note)
        snprintf (c->note, sizeof c->note, "%s", note);
    if (escalation_store_save (store, c, err))
        return -1;
    const char *kind =
        outcome == KEFU__V1__REVIEW_OUTCOME__REVIEW_CHANGED ? "review.resolved" : "review.outcome";
    if (escalation_store_event (outbox, c, kind, by, note, 0, now))
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL, "event not packed");
    return 0;
}

int
escalation_desk_move (kf_store_t *store, kf_outbox_t *outbox, const char *shop_id, int64_t case_id,
                      esc_move_t *m, const char *note, const esc_settings_t *s, int64_t now,
                      esc_moved_t *out, kf_error_t *err)
{
    memset (out, 0, sizeof *out);
    esc_case_t *c = &out->c;
    if (escalation_store_get (store, shop_id, case_id, c, err))
        return err->code == KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_TARGET ? 1 : -1;
    if (c->kind != ESC_COMPLAINT) {
        kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_UNKNOWN_TARGET,
                      "case %" PRId64 " is a review, not a complaint", case_id);
        return 1;
    }
    if (m->action == ESC_APPROVE &&
        escalation_store_is_supervisor (store, shop_id, m->by, &m->by_supervisor, err))
        return -1;
    out->money = esc_complaint_moves_money (&c->c, m);
    if (esc_complaint_move (&c->c, m, s, now, err))
        return 1;
    c->finding = esc_complaint_finding (&c->c, m);
    if (note && *note)
        snprintf (c->note, sizeof c->note, "%s", note);
    const char *kind = c->c.stage == KEFU__V1__COMPLAINT_STAGE__COMPLAINT_CLOSED
                           ? "complaint.closed"
                           : "complaint.stage";
    out->entry = (esc_ledger_entry_t){c->case_id,
                                      c->order_id,
                                      c->c.amount_cents,
                                      "CNY",
                                      esc_ledger_kind_of (c->c.remedy),
                                      c->c.category,
                                      c->c.responsible,
                                      m->agent_id && *m->agent_id ? m->agent_id : m->by,
                                      c->c.approved_by,
                                      now,
                                      esc_remedy_name (c->c.remedy)};
    if (escalation_store_save (store, c, err) ||
        (out->money && escalation_store_add_ledger (store, shop_id, &out->entry, err)))
        return -1;
    if (escalation_store_event (outbox, c, kind, m->by, note, 0, now))
        return kf_error_set (err, KEFU__V1__ERROR_CODE__ERROR_INTERNAL, "event not packed");
    return 0;
}
