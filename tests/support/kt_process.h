/*  kt_process — a kefu program as a child process, for tests and for the
    benchmarks alike: started with its settings, never outliving the
    process that started it, stopped as an operator stops it (a signal,
    a grace period, then SIGKILL). No cmocka: bench/ builds it too. */
#ifndef KT_PROCESS_H
#define KT_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

//  Path of a program of this build, `path` under the build tree
//  (e.g. "services/routing/kefu-routing"): the tree is $KEFU_TEST_BIN_DIR
//  (set by ctest), else the one this program runs from (bench). Returns
//  out.
char *kt_process_bin (char *out, size_t size, const char *path);

//  fork + exec argv (argv[0] the path, then arguments such as NAME=VALUE
//  settings; NULL-terminated) with envp (NULL: ours). The child's stdout
//  goes to out_fd, its stderr to err_fd (-1: inherited), and it gets
//  death_signal when its parent dies. Returns the pid, or -1.
pid_t kt_process_spawn (const char *const *argv, char *const *envp, int out_fd, int err_fd,
                        int death_signal);

//  The exit code a waitpid status says: the code, or 128 + the signal.
int kt_process_exit_code (int status);

//  Send sig (SIGTERM: drain and exit; SIGKILL: kill -9) and wait for the
//  process; if it has not exited within grace_ms, SIGKILL it. Returns its
//  exit code (kt_process_exit_code), -1 if it was not our child; *killed
//  (may be NULL) says whether the grace ran out.
int kt_process_stop (pid_t pid, int sig, int grace_ms, bool *killed);

#endif
