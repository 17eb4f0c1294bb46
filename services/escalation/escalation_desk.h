/*  escalation_desk — registering a case and moving a complaint, in the
    caller's transaction: the one place both kefuctl (people at the desk)
    and kefu-escalation (reviews and complaint actions pushed by gateways)
    do it, so the rules, the events and the ledger entry are the same. */
#ifndef ESCALATION_DESK_H
#define ESCALATION_DESK_H

#include "escalation_store.h"

//  Register c (kind, buyer, order, text... filled by the caller; shop_id,
//  registered_by and registered_at_ms set here) at now: the complaint's
//  first deadline or the review's ladder, the row (c->case_id set) and its
//  "complaint.registered" / "review.registered" event (with note) into
//  outbox. s: the shop's settings. 0, or -1 with err set.
int escalation_desk_register (kf_store_t *store, kf_outbox_t *outbox, esc_case_t *c,
                              const esc_settings_t *s, const char *by, const char *note,
                              int64_t now, kf_error_t *err) __attribute__ ((warn_unused_result));

//  The same for a case whose id is taken already (c->case_id, from
//  escalation_store_look): its row goes into writes, written with the
//  transaction's other rows.
int escalation_desk_register_into (escalation_writes_t *writes, kf_outbox_t *outbox, esc_case_t *c,
                                   const esc_settings_t *s, const char *by, const char *note,
                                   int64_t now, kf_error_t *err)
    __attribute__ ((warn_unused_result));

//  What a move did (filled by escalation_desk_move).
typedef struct {
    esc_case_t c;             //  the case after the move
    bool money;               //  a ledger entry was written
    esc_ledger_entry_t entry; //  ... this one (strings borrowed from c)
} esc_moved_t;

//  Move complaint case_id of shop by m (m->by set; for APPROVE the
//  supervisor check is made here) at now, with note for the event: the row,
//  the ledger entry when money moves, and "complaint.stage" /
//  "complaint.closed" (with the service finding) into outbox.
//  0 done; 1 refused, nothing changed, err naming why (UNKNOWN_TARGET: no
//  such complaint; else the stage and what is missing); -1 store failure.
int escalation_desk_move (kf_store_t *store, kf_outbox_t *outbox, const char *shop_id,
                          int64_t case_id, esc_move_t *m, const char *note, const esc_settings_t *s,
                          int64_t now, esc_moved_t *out, kf_error_t *err)
    __attribute__ ((warn_unused_result));

//  Record review case_id's outcome (ReviewOutcome, 1..4) at now by by:
//  the ladder stops; REVIEW_PROMISED needs follow_up_ms after now, when the
//  case falls due again (the follow-up: a phone task to check). Its event
//  ("review.resolved" for REVIEW_CHANGED, else "review.outcome") into
//  outbox. 0 done; 1 refused (err: no such review, a bad follow-up); -1
//  store failure. out: the case after.
int escalation_desk_outcome (kf_store_t *store, kf_outbox_t *outbox, const char *shop_id,
                             int64_t case_id, int outcome, int64_t follow_up_ms, const char *note,
                             const char *by, int64_t now, esc_case_t *out, kf_error_t *err)
    __attribute__ ((warn_unused_result));

#endif
