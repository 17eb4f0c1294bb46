/*  ordersync_store — all of kefu-ordersync's SQL.

    The orders, their history of states, flags, refused snapshots, the
    agents' replies, per-shop settings and the outbox of commands not yet
    acknowledged by intake (deploy/migrations/0028_ordersync_orders.sql).
    What one transaction decides is collected in an ordersync_writes_t and
    queued in the store's open pipeline in one go; the loads rebuild the
    model after a start. kefuctl links this module for `kefuctl orders`. */
#ifndef ORDERSYNC_STORE_H
#define ORDERSYNC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kf_batch.h"
#include "kf_error.h"
#include "kf_store.h"
#include "ordersync_model.h"

//  Register the statements with the store.
void ordersync_store_register (kf_store_t *store);

//  ---------------------------------------------------------------------
//  One transaction's writes

typedef struct _ordersync_writes_t ordersync_writes_t;

//  Caller owns return value.
ordersync_writes_t *ordersync_writes_new (void);
void ordersync_writes_destroy (ordersync_writes_t **self_p);

//  The order's row as it is now (the last call for an order in a
//  transaction wins); snap, when given, brings the snapshot's personal
//  fields and item summary (copied).
void ordersync_writes_order (ordersync_writes_t *self, const char *shop_id,
                             const ordersync_order_t *o, const ordersync_snapshot_t *snap,
                             const char *items, const char *address, const char *phone);
//  A change of state (history), a flag or task (history), a refused snapshot.
void ordersync_writes_state (ordersync_writes_t *self, const char *shop_id, const char *order_id,
                             int64_t at, int state, int previous, int64_t now);
void ordersync_writes_flag (ordersync_writes_t *self, const char *shop_id, const char *order_id,
                            int64_t at, const char *flag, const char *task, const char *note,
                            const char *agent_id);
void ordersync_writes_refused (ordersync_writes_t *self, const char *shop_id,
                               const ordersync_snapshot_t *snap, const char *reason,
                               int order_state, int64_t now);
//  An agent's reply (attribution after a restart).
void ordersync_writes_reply (ordersync_writes_t *self, const char *shop_id, int64_t customer_id,
                             const char *agent_id, int64_t conversation_id, int64_t at);
//  A command decided (kept until intake acknowledges it), and one that
//  must not go out or was acknowledged (forgotten).
void ordersync_writes_command (ordersync_writes_t *self, const char *shop_id,
                               const char *request_id, const uint8_t *payload, size_t size,
                               int64_t at);
void ordersync_writes_forget (ordersync_writes_t *self, const char *shop_id,
                              const char *request_id);
//  What order-sync knows of an agent (shift from routing, presence).
void ordersync_writes_agent (ordersync_writes_t *self, const char *shop_id, const char *agent_id,
                             bool on_shift, bool offline);
//  Nothing collected.
bool ordersync_writes_empty (const ordersync_writes_t *self);
//  Queue everything collected in the store's open pipeline (the statements
//  borrow the collected rows: clear only once the pipeline has run).
void ordersync_writes_queue (ordersync_writes_t *self, kf_store_t *store);
//  Forget everything collected (after a rollback).
void ordersync_writes_clear (ordersync_writes_t *self);

//  ---------------------------------------------------------------------
//  Loads (a start, kefuctl)

//  Every registered shop's settings (defaults where it has no row).
typedef void (ordersync_settings_fn) (void *arg, const ordersync_settings_t *s);
int ordersync_store_load_settings (kf_store_t *store, const char *shop_id_or_null,
                                   ordersync_settings_fn *fn, void *arg, kf_error_t *err);
//  Write a shop's settings (kefuctl orders settings).
int ordersync_store_save_settings (kf_store_t *store, const ordersync_settings_t *s,
                                   kf_error_t *err);
//  A shop's orders for people (kefuctl orders list): newest first, at most
//  limit; state 0 = any; unpaid: created and not paid (online); late: flagged
//  late; customer: the buyer's id on the channel, or NULL.
typedef struct {
    int state;            //  OrderState, 0 = any
    bool unpaid;          //  only unpaid (online) orders
    bool late;            //  only orders flagged late
    const char *customer; //  only this buyer (channel id), NULL = any
    bool tasks;           //  only orders with a COD or address task
    bool open;            //  ... still open
    int limit;            //  most rows
} ordersync_filter_t;
//  The orders something may still be due for at now_ms (the model's
//  memory after a start; the settled ones are read one by one when a
//  snapshot or flag comes, ordersync_store_get_order).
typedef void (ordersync_order_fn) (void *arg, const char *shop_id, const ordersync_order_t *o);
int ordersync_store_load_orders (kf_store_t *store, int64_t now_ms, ordersync_order_fn *fn,
                                 void *arg, kf_error_t *err);
int ordersync_store_list_orders (kf_store_t *store, const char *shop_id,
                                 const ordersync_filter_t *filter, ordersync_order_fn *fn,
                                 void *arg, kf_error_t *err);
//  One order of a shop (kefuctl orders show): fn is called once, or not
//  at all when the shop has no such order.
int ordersync_store_get_order (kf_store_t *store, const char *shop_id, const char *order_id,
                               ordersync_order_fn *fn, void *arg, kf_error_t *err);
//  Several orders at once: keys holds (shop_id, order_id) rows (two text
//  columns, kf_batch); fn is called for each one the record has.
int ordersync_store_get_orders (kf_store_t *store, kf_batch_t *keys, ordersync_order_fn *fn,
                                void *arg, kf_error_t *err);
//  One line of an order's history: a state applied ("state": state and
//  previous), a flag or task ("flag": flag, task, note, agent), a snapshot
//  refused ("refused": its state, previous = the order's then, note = why).
typedef struct {
    const char *what;  //  "state", "flag" or "refused"
    int64_t at;        //  ms: the snapshot's time (state, refused), the flag's
    int state;         //  OrderState (state, refused)
    int previous;      //  OrderState before (state), the order's (refused); 0 none
    const char *flag;  //  red, blue, late, ... ("" for a task)
    const char *task;  //  unpaid_reminder, cod_confirm, address_confirm, shipping_delay, ""
    const char *note;  //  the flag's note; refused: stale or impossible
    const char *agent; //  who set the flag ("" = kefu)
} ordersync_history_t;
typedef void (ordersync_history_fn) (void *arg, const ordersync_history_t *h);
//  The order's history, oldest first (strings borrowed for the call).
int ordersync_store_order_history (kf_store_t *store, const char *shop_id, const char *order_id,
                                   ordersync_history_fn *fn, void *arg, kf_error_t *err);
//  Per shop, the latest creation time of its orders (what may be in the
//  record and not in memory after a start).
typedef void (ordersync_created_fn) (void *arg, const char *shop_id, int64_t created_at);
int ordersync_store_load_created_bound (kf_store_t *store, ordersync_created_fn *fn, void *arg,
                                        kf_error_t *err);
//  Replies since since_ms.
typedef void (ordersync_reply_fn) (void *arg, const char *shop_id, int64_t customer_id,
                                   const char *agent_id, int64_t conversation_id, int64_t at);
int ordersync_store_load_replies (kf_store_t *store, int64_t since_ms, ordersync_reply_fn *fn,
                                  void *arg, kf_error_t *err);
//  Every agent as last stored.
typedef void (ordersync_agent_fn) (void *arg, const char *shop_id, const char *agent_id,
                                   bool on_shift, bool offline);
int ordersync_store_load_agents (kf_store_t *store, ordersync_agent_fn *fn, void *arg,
                                 kf_error_t *err);
//  Commands not acknowledged by intake, oldest first.
typedef void (ordersync_command_fn) (void *arg, const char *shop_id, const char *request_id,
                                     const uint8_t *payload, size_t size);
int ordersync_store_load_outbox (kf_store_t *store, ordersync_command_fn *fn, void *arg,
                                 kf_error_t *err);

#endif
