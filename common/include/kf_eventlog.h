/*  kf_eventlog — keeping the event log: partitions made ahead, whole
    partitions dropped once every consumer has passed them.

    `events` is partitioned by the day a row was stored (migration 0019,
    one partition per UTC day, listed in event_partitions). Writers never
    wait for this: a partition is created days before it is needed and
    attached without blocking them, and pruning detaches a partition
    concurrently, then drops it — no DELETE, no dead tuples, space given
    back to the file system at once.

    A partition may go when it ended more than `keep` ago and, for every
    (stream, partition) with rows in it, every consumer of that stream has
    applied its newest row there (a consumer without an offset for that
    partition counts as 0; a stream nobody consumes holds nothing back).
    Partitions go oldest first: the log is always a suffix of what was
    written.

    Every daemon runs a keeper (kf_daemon): at start and hourly it makes
    partitions ahead and, when KEFU_EVENTS_KEEP is not 0, prunes.
    `kefuctl events prune` does the same prune by hand. */
#ifndef KF_EVENTLOG_H
#define KF_EVENTLOG_H

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>

#include "kf_error.h"
#include "kf_store.h"

//  Days of partitions kept ready after today.
#define KF_EVENTLOG_DAYS_AHEAD 3

//  Make the daily partitions up to days_ahead days after today (UTC).
//  Returns how many were created (0: all there), or -1 with err.
int kf_eventlog_ensure (kf_store_t *store, int days_ahead, kf_error_t *err)
    __attribute__ ((warn_unused_result));

//  One partition that prune dropped (or, dry_run, would drop): its name,
//  the end of its range (ms since the epoch) and its rows (exact when
//  dry_run; PostgreSQL's estimate otherwise). Strings borrowed.
typedef void (kf_eventlog_dropped_fn) (const char *partition, int64_t ends_ms, int64_t rows,
                                       void *arg);

//  Drop the partitions that may go (see above) and ended more than keep_ms
//  ago; dry_run only reports them. fn may be NULL. Two prunes at once (two
//  daemons, kefuctl) are serialised: the second waits for the first.
//  Returns the number of partitions dropped, or -1 with err.
int kf_eventlog_prune (kf_store_t *store, int64_t keep_ms, bool dry_run, kf_eventlog_dropped_fn *fn,
                       void *arg, kf_error_t *err) __attribute__ ((warn_unused_result));

//  The keeper: an actor with its own connection that runs a round (ensure,
//  then prune when keep_ms > 0) at start and every interval_ms.
//  Pipe commands: "ROUND" runs one now and answers "OK <made> <dropped>"
//  or "FAIL <reason>"; $TERM stops it. Caller owns return value.
zactor_t *kf_eventlog_keeper_new (const char *database_url, const char *app_name, int64_t keep_ms,
                                  int64_t interval_ms);

#endif
