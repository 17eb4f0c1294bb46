/*  escalation_store — all of kefu-escalation's SQL (and kefuctl's, which
    links it): cases, the ledger, the shops' settings, pending commands.

    Every function runs inside the caller's transaction when there is one
    (kf_store_begin ... commit): a move, its events and its ledger entry
    commit together. Events are added to the caller's kf_outbox. */
#ifndef ESCALATION_STORE_H
#define ESCALATION_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "escalation_model.h"
#include "kf_batch.h"
#include "kf_outbox.h"
#include "kf_store.h"

#define ESC_COMPLAINT 1
#define ESC_REVIEW    2

//  One escalation_cases row.
typedef struct {
    char shop_id[65];              //  shop
    int64_t case_id;               //  escalation's id
    int kind;                      //  ESC_COMPLAINT or ESC_REVIEW
    int64_t customer_id;           //  kefu's customer id (0 = unknown)
    int channel;                   //  Channel
    char channel_customer_id[129]; //  the buyer on the channel
    char order_id[129];            //  the order
    char phone[33];                //  the buyer's phone (reviews)
    char item[257];                //  the item (reviews)
    char body[2049];               //  what was said / the review text
    int rating;                    //  reviews: stars (0 = given as neutral/negative)
    int severity;                  //  reviews: 1..5
    esc_complaint_t c;             //  the workflow
    esc_review_t r;                //  the ladder
    int outcome;                   //  reviews: outcome code (0 = none yet)
    char note[513];                //  the last reason given
    int64_t registered_at_ms;      //  when
    char registered_by[65];        //  who ("escalation" when from intake's events)
    int finding;                   //  ServiceFinding of the move being saved (events only)
} esc_case_t;

//  Prepare the statements on every connect of store.
void escalation_store_register (kf_store_t *store);

//  The shop's settings (defaults where it has no row) and time zone (into
//  tz, >= 65 bytes). -1 with err (UNKNOWN_SHOP when there is no such shop).
int escalation_store_settings (kf_store_t *store, const char *shop_id, esc_settings_t *out,
                               char *tz, kf_error_t *err);
//  Set a shop's settings. 0 or -1.
int escalation_store_set_settings (kf_store_t *store, const char *shop_id, const esc_settings_t *s,
                                   kf_error_t *err);

//  Insert a new case; sets c->case_id. 0 or -1.
int escalation_store_add (kf_store_t *store, esc_case_t *c, kf_error_t *err);
//  Read (and lock: FOR UPDATE) one case. -1 with UNKNOWN_TARGET if none.
int escalation_store_get (kf_store_t *store, const char *shop_id, int64_t case_id, esc_case_t *out,
                          kf_error_t *err);
//  Write a case's changed state back. 0 or -1.
int escalation_store_save (kf_store_t *store, const esc_case_t *c, kf_error_t *err);
//  The open complaint of (shop, customer, order), or 0 if none (*case_id).
int escalation_store_open_complaint (kf_store_t *store, const char *shop_id, int64_t customer_id,
                                     const char *order_id, int64_t *case_id, kf_error_t *err);

//  Each case due at now (due_ms <= now), oldest due first and, for the
//  same instant, most severe first; at most limit, locked. fn gets a
//  borrowed row. Returns how many, or -1.
typedef void (esc_case_fn) (esc_case_t *c, void *arg);
int escalation_store_due (kf_store_t *store, int64_t now, int limit, esc_case_fn *fn, void *arg,
                          kf_error_t *err);

//  One ledger entry (append-only). 0 or -1.
typedef struct {
    int64_t case_id;         //  the case
    const char *order_id;    //  the order
    int64_t amount_cents;    //  minor unit; negative = a correction
    const char *currency;    //  "CNY"
    int kind;                //  esc_ledger_kind_t
    int category;            //  ComplaintCategory
    int responsible;         //  ResponsibleParty
    const char *agent_id;    //  who carried it out
    const char *approved_by; //  who approved
    int64_t at_ms;           //  when
    const char *note;        //  why
} esc_ledger_entry_t;
int escalation_store_add_ledger (kf_store_t *store, const char *shop_id,
                                 const esc_ledger_entry_t *e, kf_error_t *err);

//  True (*out) when principal is an enabled supervisor or admin of shop.
int escalation_store_is_supervisor (kf_store_t *store, const char *shop_id, const char *principal,
                                    bool *out, kf_error_t *err);

//  Commands not yet acknowledged by intake.
typedef void (esc_command_fn) (const char *shop_id, const char *request_id, const void *payload,
                               size_t size, void *arg);
int escalation_store_commands (kf_store_t *store, esc_command_fn *fn, void *arg, kf_error_t *err);

//  Many commands acknowledged by intake forgotten in one statement: the
//  batch holds (shop_id, request_id) text columns; takes ownership of
//  *acked_p. Runs on its own (no transaction needed). 0 or -1 (the rows
//  stay: sent again after a restart, answered DUPLICATE, forgotten then).
int escalation_store_forget_commands (kf_store_t *store, kf_batch_t **acked_p, kf_error_t *err);

//  The writes of one transaction, collected row by row and sent as one
//  multi-row statement per kind of row (kf_batch): new cases (their ids
//  taken already, escalation_store_look), cases' changed state, commands
//  decided. A case is saved at most once per transaction.
typedef struct _escalation_writes_t escalation_writes_t;
//  Caller owns return value.
escalation_writes_t *escalation_writes_new (void);
void escalation_writes_destroy (escalation_writes_t **self_p);
void escalation_writes_add (escalation_writes_t *self, const esc_case_t *c);
void escalation_writes_save (escalation_writes_t *self, const esc_case_t *c);
void escalation_writes_command (escalation_writes_t *self, const char *shop_id,
                                const char *request_id, const void *payload, size_t size,
                                int64_t now);
//  Rows collected.
int escalation_writes_rows (const escalation_writes_t *self);
//  Queue the statements in the store's open pipeline (parameters copied);
//  writes is empty again.
void escalation_writes_queue (escalation_writes_t *self, kf_store_t *store);
void escalation_writes_clear (escalation_writes_t *self);
//  Write what is collected now, in one round trip inside the caller's
//  transaction; writes is empty again. 0 or -1.
int escalation_writes_run (escalation_writes_t *self, kf_store_t *store, kf_error_t *err);

//  One look at a batch of intake's events, one round trip: complaints holds
//  (shop_id text, customer_id int8, order_id text) keys, each once; for
//  each, complaint_fn gets its open complaint (open_id, 0 if none) or, with
//  none open, a new case id (new_id) taken from the cases' sequence for it.
//  buyers holds (shop_id text, channel int2, channel_customer_id text)
//  keys; case_fn gets each of their reviews whose ladder still runs,
//  locked (a borrowed row). 0 or -1.
typedef void (esc_complaint_fn) (const char *shop_id, int64_t customer_id, const char *order_id,
                                 int64_t open_id, int64_t new_id, void *arg);
int escalation_store_look (kf_store_t *store, kf_batch_t *complaints, kf_batch_t *buyers,
                           esc_complaint_fn *complaint_fn, esc_case_fn *case_fn, void *arg,
                           kf_error_t *err);

//  The event of a change to c ("complaint.registered", "review.contact_due",
//  ...) into outbox, with who did it, the note and (deadlines) how late.
int escalation_store_event (kf_outbox_t *outbox, const esc_case_t *c, const char *kind,
                            const char *by, const char *note, int64_t late_ms, int64_t now);

//  What kefuctl lists (see kefuctl_complaint.c for the columns). Complaints:
//  $1 shop, $2 open only. Reviews: $1 shop, $2 open only (no outcome yet),
//  $3 lowest severity. Ledger: $1 shop, entries from $2 to before $3 (ms).
extern const char *const escalation_sql_complaints;
extern const char *const escalation_sql_reviews;
extern const char *const escalation_sql_ledger;

#endif
