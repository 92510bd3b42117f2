/* fuzz_main.c - replays saved fuzz inputs without libFuzzer, so that any
   compiler (gcc, with or without sanitizers, or under valgrind) can run the
   crash corpus as a regression test.

   Build, linked with one target (`make fuzz-replay` does this):
       gcc -std=c99 -pedantic -Wall -Wextra -Werror -Wconversion -Wsign-conversion \
           -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wcast-qual -Wundef -Wvla \
           -O1 -g -I. fuzz/fuzz_open.c fuzz/fuzz_main.c -o build/replay_open
   Run:
       ./build/replay_open fuzz/regressions fuzz/corpus some/file

   Each argument is a file, or a directory whose regular files are replayed
   (not recursively, in name order). Each input runs in a child process, so
   that an abort() or a sanitizer report fails that input and the replay goes
   on. The last line is `replay: N passed, M failed`; the exit status is 1 if
   any input failed or could not be read. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned long replay_passed, replay_failed;

static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t cap = 0, n = 0;
    if (fp == NULL) return NULL;
    for (;;) {
        size_t got;
        if (n == cap) {
            size_t fresh_cap = cap ? cap * 2 : 4096;
            uint8_t *fresh = (uint8_t *)realloc(buf, fresh_cap);
            if (fresh == NULL) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = fresh;
            cap = fresh_cap;
        }
        got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0) break;
    }
    if (ferror(fp)) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    *len = n;
    return buf;
}

static void replay_file(const char *path)
{
    size_t len = 0;
    uint8_t *bytes = read_all(path, &len);
    pid_t pid;
    int status = 0;
    if (bytes == NULL) {
        fprintf(stderr, "replay: cannot read %s\n", path);
        replay_failed++;
        return;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) { /* no process to spare: run it here */
        LLVMFuzzerTestOneInput(bytes, len);
        replay_passed++;
    } else if (pid == 0) {
        /* the exact size, so that an overread is past the block */
        uint8_t *exact = (uint8_t *)malloc(len ? len : 1);
        if (exact == NULL) _exit(2);
        if (len) memcpy(exact, bytes, len);
        free(bytes);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
        exit(0); /* exit, not _exit: lets LeakSanitizer run */
    } else if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        replay_passed++;
    } else {
        fprintf(stderr, "replay: FAILED %s (%s %d)\n", path, WIFSIGNALED(status) ? "signal" : "exit status",
                WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
        replay_failed++;
    }
    free(bytes);
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void replay_directory(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    char **names = NULL;
    size_t count = 0, cap = 0, i;
    if (d == NULL) {
        fprintf(stderr, "replay: cannot open directory %s\n", dir);
        replay_failed++;
        return;
    }
    while ((ent = readdir(d)) != NULL) {
        size_t need = strlen(dir) + 1 + strlen(ent->d_name) + 1;
        char *path;
        struct stat sb;
        if (ent->d_name[0] == '.') continue;
        path = (char *)malloc(need);
        if (path == NULL) break;
        snprintf(path, need, "%s/%s", dir, ent->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(path);
            continue;
        }
        if (count == cap) {
            size_t fresh_cap = cap ? cap * 2 : 64;
            char **fresh = (char **)realloc(names, fresh_cap * sizeof *names);
            if (fresh == NULL) {
                free(path);
                break;
            }
            names = fresh;
            cap = fresh_cap;
        }
        names[count++] = path;
    }
    closedir(d);
    if (count > 1) qsort(names, count, sizeof *names, compare_names);
    for (i = 0; i < count; i++) {
        replay_file(names[i]);
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "replay: no such file or directory: %s\n", argv[i]);
            replay_failed++;
        } else if (S_ISDIR(sb.st_mode)) {
            replay_directory(argv[i]);
        } else {
            replay_file(argv[i]);
        }
    }
    printf("replay: %lu passed, %lu failed\n", replay_passed, replay_failed);
    return replay_failed ? 1 : 0;
}
