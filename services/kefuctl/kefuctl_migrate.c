/*  kefuctl migrate — apply deploy/migrations/NNNN_name.sql in order.

    Each file runs in its own transaction together with its row in
    kefu_migrations (version, name, checksum), so a migration is applied
    completely or not at all. Applied files are skipped, which makes the
    command idempotent; a file changed after it was applied is an error.
    A session advisory lock keeps two concurrent runs (compose's one-shot
    migrate and an operator) from racing. */
#include "kefuctl.h"

#include <dirent.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAX_MIGRATIONS 512
#define S_LOCK_KEY       "727271"

typedef struct {
    int version;       //  NNNN
    char name[256];    //  file name
    char checksum[17]; //  FNV-1a 64 of the content, hex
    char *sql;         //  content, owned
} s_migration_t;

static bool
s_is_dir (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

//  KEFU_MIGRATIONS_DIR, else <exe>/../share/kefu/migrations (installed),
//  else the source tree this binary was built from.
static void
s_find_dir (kefuctl_t *ctl, char *out, size_t size)
{
    if (ctl->config->migrations_dir && *ctl->config->migrations_dir) {
        snprintf (out, size, "%s", ctl->config->migrations_dir);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr (exe, '/');
        if (slash) {
            *slash = '\0';
            int written = snprintf (out, size, "%s/../share/kefu/migrations", exe);
            if (written > 0 && (size_t) written < size && s_is_dir (out))
                return;
        }
    }
    snprintf (out, size, "%s", KEFU_SOURCE_MIGRATIONS);
}

static char *
s_read_file (const char *path)
{
    FILE *f = fopen (path, "rb");
    if (!f)
        return NULL;
    fseek (f, 0, SEEK_END);
    long size = ftell (f);
    fseek (f, 0, SEEK_SET);
    char *buf = size >= 0 ? malloc ((size_t) size + 1) : NULL;
    if (buf && fread (buf, 1, (size_t) size, f) == (size_t) size)
        buf[size] = '\0';
    else {
        free (buf);
        buf = NULL;
    }
    fclose (f);
    return buf;
}

static int
s_compare (const void *a, const void *b)
{
    return ((const s_migration_t *) a)->version - ((const s_migration_t *) b)->version;
}

static int
s_load (const char *dir, s_migration_t *list, int *count)
{
    DIR *d = opendir (dir);
    if (!d) {
        fprintf (stderr, "kefuctl migrate: cannot open migrations directory %s\n", dir);
        return -1;
    }
    struct dirent *ent;
    *count = 0;
    int rc = 0;
    while ((ent = readdir (d))) {
        size_t len = strlen (ent->d_name);
        if (len < 9 || strcmp (ent->d_name + len - 4, ".sql") != 0)
            continue;
        int version = 0;
        if (sscanf (ent->d_name, "%4d_", &version) != 1 || ent->d_name[4] != '_' || version <= 0) {
            fprintf (stderr, "kefuctl migrate: %s is not named NNNN_name.sql\n", ent->d_name);
            rc = -1;
            continue;
        }
        if (*count == S_MAX_MIGRATIONS)
            break;
        s_migration_t *m = &list[(*count)++];
        m->version = version;
        snprintf (m->name, sizeof m->name, "%s", ent->d_name);
        char path[PATH_MAX];
        int n = snprintf (path, sizeof path, "%s/%s", dir, ent->d_name);
        m->sql = n > 0 && (size_t) n < sizeof path ? s_read_file (path) : NULL;
        if (!m->sql) {
            fprintf (stderr, "kefuctl migrate: cannot read %s\n", path);
            rc = -1;
            continue;
        }
        uint64_t h = 14695981039346656037ull;
        for (const char *c = m->sql; *c; c++) {
            h ^= (uint8_t) *c;
            h *= 1099511628211ull;
        }
        snprintf (m->checksum, sizeof m->checksum, "%016" PRIx64, h);
    }
    closedir (d);
    qsort (list, (size_t) *count, sizeof *list, s_compare);
    for (int i = 1; i < *count; i++)
        if (list[i].version == list[i - 1].version) {
            fprintf (stderr, "kefuctl migrate: two migrations numbered %04d\n", list[i].version);
            rc = -1;
        }
    return rc;
}

typedef struct {
    int count;                       //  rows
    int versions[S_MAX_MIGRATIONS];  //  applied versions
    char sums[S_MAX_MIGRATIONS][17]; //  their checksums
} s_applied_t;

static int
s_on_applied (const PGresult *res, void *arg)
{
    s_applied_t *a = arg;
    for (int i = 0; i < PQntuples (res) && a->count < S_MAX_MIGRATIONS; i++) {
        a->versions[a->count] = (int) kf_store_int (res, i, 0);
        snprintf (a->sums[a->count], 17, "%s", kf_store_text (res, i, 1));
        a->count++;
    }
    return 0;
}

int
kefuctl_migrate (kefuctl_t *ctl, int argc, char **argv)
{
    if (kefuctl_wants_help (argc, argv)) {
        printf (
            "Usage: kefuctl migrate [--dry-run]\n\n"
            "Applies the numbered SQL files of the migrations directory (KEFU_MIGRATIONS_DIR,\n"
            "default: the installed share/kefu/migrations or the source tree's deploy/migrations)\n"
            "to KEFU_DATABASE_URL, each in its own transaction, recording them in the\n"
            "kefu_migrations table. Already applied files are skipped: running it twice\n"
            "changes nothing. --dry-run lists what would be applied.\n"
            "Exit codes: 0 success, 1 failure (nothing of the failed file is applied), 2 usage.\n");
        return KEFUCTL_OK;
    }
    bool dry_run = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp (argv[i], "--dry-run") == 0)
            dry_run = true;
        else {
            fprintf (stderr, "kefuctl migrate: unexpected argument \"%s\"\n", argv[i]);
            return KEFUCTL_USAGE;
        }
    }
    char dir[PATH_MAX];
    s_find_dir (ctl, dir, sizeof dir);
    static s_migration_t list[S_MAX_MIGRATIONS];
    int count = 0;
    int rc = KEFUCTL_FAILED;
    kf_store_t *store = NULL;
    if (s_load (dir, list, &count))
        goto done;
    store = kefuctl_store (ctl);
    if (!store)
        goto done;
    kf_error_t err;
    kf_error_clear (&err);
    if (kf_store_exec_sql (store, "SELECT pg_advisory_lock (" S_LOCK_KEY ")", NULL, NULL, NULL,
                           &err) ||
        kf_store_exec_sql (store,
                           "CREATE TABLE IF NOT EXISTS kefu_migrations ("
                           " version integer PRIMARY KEY, name text NOT NULL,"
                           " checksum text NOT NULL,"
                           " applied_at timestamptz NOT NULL DEFAULT now ())",
                           NULL, NULL, NULL, &err)) {
        fprintf (stderr, "kefuctl migrate: %s\n", err.reason);
        goto done;
    }
    static s_applied_t applied;
    applied.count = 0;
    if (kf_store_exec_sql (store, "SELECT version, checksum FROM kefu_migrations ORDER BY version",
                           NULL, s_on_applied, &applied, &err)) {
        fprintf (stderr, "kefuctl migrate: %s\n", err.reason);
        goto done;
    }
    int done_count = 0, skipped = 0;
    for (int i = 0; i < count; i++) {
        s_migration_t *m = &list[i];
        int found = -1;
        for (int k = 0; k < applied.count; k++)
            if (applied.versions[k] == m->version)
                found = k;
        if (found >= 0) {
            if (strcmp (applied.sums[found], m->checksum) != 0) {
                fprintf (stderr,
                         "kefuctl migrate: %s was changed after it was applied (checksum %s, "
                         "applied %s): add a new migration instead of editing an applied one\n",
                         m->name, m->checksum, applied.sums[found]);
                goto done;
            }
            skipped++;
            continue;
        }
        if (dry_run) {
            printf ("pending %s\n", m->name);
            continue;
        }
        kf_params_t params;
        kf_params_init (&params);
        kf_params_int (&params, m->version);
        kf_params_str (&params, m->name);
        kf_params_str (&params, m->checksum);
        if (kf_store_begin (store, &err) || kf_store_exec_script (store, m->sql, &err) ||
            kf_store_exec_sql (store,
                               "INSERT INTO kefu_migrations (version, name, checksum) "
                               "VALUES ($1::int, $2::text, $3::text)",
                               &params, NULL, NULL, &err) ||
            kf_store_commit (store, &err)) {
            kf_store_rollback (store);
            fprintf (stderr, "kefuctl migrate: %s failed, nothing of it applied: %s\n", m->name,
                     err.reason);
            goto done;
        }
        printf ("applied %s\n", m->name);
        done_count++;
    }
    printf ("migrations: %d applied now, %d already applied, directory %s\n", done_count, skipped,
            dir);
    rc = KEFUCTL_OK;
done:
    for (int i = 0; i < count; i++)
        free (list[i].sql);
    kf_store_destroy (&store);
    return rc;
}
