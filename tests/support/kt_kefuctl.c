/*  kt_kefuctl — run the real kefuctl binary from a test. */
#include "kt_kefuctl.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

kt_run_t kt_kefuctl_last;

json_t *
kt_kefuctl_json (void)
{
    json_error_t jerr;
    json_t *j = json_loads (kt_kefuctl_last.out, 0, &jerr);
    if (!j)
        fail_msg ("not JSON (%s): %s", jerr.text, kt_kefuctl_last.out);
    return j;
}

const char *
kt_json_member (json_t *o, const char *key)
{
    const char *v = json_string_value (json_object_get (o, key));
    return v ? v : "(missing)";
}

static const char *
s_binary (void)
{
    static char path[1024];
    const char *dir = getenv ("KEFU_TEST_BIN_DIR");
    if (!dir || !*dir)
        fail_msg ("KEFU_TEST_BIN_DIR is not set: run this test through ctest");
    int n = snprintf (path, sizeof path, "%s/services/kefuctl/kefuctl", dir);
    if (n < 0 || (size_t) n >= sizeof path || access (path, X_OK) != 0)
        fail_msg ("kefuctl is not built at %s", path);
    return path;
}

static void
s_slurp (int fd, char *buf, size_t size)
{
    lseek (fd, 0, SEEK_SET);
    size_t used = 0;
    ssize_t n;
    while (used + 1 < size && (n = read (fd, buf + used, size - 1 - used)) > 0)
        used += (size_t) n;
    buf[used] = 0;
    close (fd);
}

int
kt_kefuctl (const char *url, kt_run_t *run, ...)
{
    const char *argv[64];
    int argc = 0;
    argv[argc++] = "kefuctl";
    va_list ap;
    va_start (ap, run);
    const char *a;
    while ((a = va_arg (ap, const char *)) && argc < 63)
        argv[argc++] = a;
    va_end (ap);
    argv[argc] = NULL;
    const char *bin = s_binary ();
    char out_path[] = "/tmp/kt_kefuctl_out_XXXXXX", err_path[] = "/tmp/kt_kefuctl_err_XXXXXX";
    int out_fd = mkstemp (out_path), err_fd = mkstemp (err_path);
    assert_true (out_fd >= 0 && err_fd >= 0);
    unlink (out_path);
    unlink (err_path);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        setenv ("KEFU_DATABASE_URL", url, 1);
        setenv ("USER", "supervisor1", 1);
        unsetenv ("KEFU_CONFIG");
        dup2 (out_fd, 1);
        dup2 (err_fd, 2);
        execv (bin, (char *const *) argv);
        _exit (127);
    }
    int status = 0;
    while (waitpid (pid, &status, 0) < 0)
        ;
    s_slurp (out_fd, run->out, sizeof run->out);
    s_slurp (err_fd, run->err, sizeof run->err);
    run->rc = WIFEXITED (status) ? WEXITSTATUS (status) : -1;
    return run->rc;
}

void
kt_sql (const char *url, const char *sql)
{
    PGconn *conn = PQconnectdb (url);
    assert_int_equal (PQstatus (conn), CONNECTION_OK);
    PGresult *res = PQexec (conn, sql);
    if (PQresultStatus (res) != PGRES_COMMAND_OK && PQresultStatus (res) != PGRES_TUPLES_OK)
        fail_msg ("%s: %s", sql, PQresultErrorMessage (res));
    PQclear (res);
    PQfinish (conn);
}
