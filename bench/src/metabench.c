/* Metadata workloads for the DirectFuse benchmark (our own code, compiled by bench/run).
 *   metabench stat    DIR N          stat DIR/f000000 .. DIR/f(N-1)
 *   metabench create  DIR N SIZE     open(O_CREAT) + write SIZE bytes + close + unlink DIR/c%06d, N times
 *   metabench readdir DIR REPS       list DIR REPS times with getdents64, timing each getdents64 call
 *   metabench readdir-changing DIR REPS
 *                                    the same, but before each listing create and remove DIR/.churn, so the
 *                                    directory has changed and no cache may answer the listing
 *   metabench mkfiles DIR N SIZE     create the N files stat uses (setup, not timed)
 *   metabench negstat DIR N          stat N distinct names that do not exist (one LOOKUP answered ENOENT each)
 *                                    and time each call: adds "p50_us" and "p99_us" round trips
 * Prints one JSON object: {"ops": N, "seconds": S, "errors": E}. ops counts stat calls, created files, or
 * directory entries read. stat, create and the readdir modes also time each operation (a stat call; a file's
 * open, write, close and unlink; a getdents64 call) and add its "p50_us" and "p99_us". */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void name(char *buf, size_t len, const char *dir, char prefix, long i) {
    snprintf(buf, len, "%s/%c%06ld", dir, prefix, i);
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts the n latencies (seconds) and prints ", \"p50_us\": .., \"p99_us\": .." for the JSON object. */
static void print_percentiles(double *lat, long n) {
    qsort(lat, n, sizeof(double), by_value);
    printf(", \"p50_us\": %.3f, \"p99_us\": %.3f", n ? lat[n / 2] * 1e6 : 0, n ? lat[n * 99 / 100] * 1e6 : 0);
}

/* negstat: names unique to this process, so no negative dentry of an earlier run can answer them. */
static int negstat(const char *dir, long n) {
    double *lat = malloc(sizeof(double) * (n > 0 ? n : 1));
    char path[4096];
    struct stat st;
    long errors = 0;
    double t0 = now();
    for (long i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/neg-%d-%ld", dir, (int)getpid(), i);
        double a = now();
        if (stat(path, &st) == 0 || errno != ENOENT) errors++;
        lat[i] = now() - a;
    }
    double t = now() - t0;
    printf("{\"ops\": %ld, \"seconds\": %.6f, \"errors\": %ld", n, t, errors);
    print_percentiles(lat, n);
    printf("}\n");
    free(lat);
    return errors ? 1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: metabench stat|create|readdir|readdir-changing|mkfiles|negstat DIR N [SIZE]\n");
        return 2;
    }
    const char *mode = argv[1], *dir = argv[2];
    long n = atol(argv[3]);
    if (!strcmp(mode, "negstat")) return negstat(dir, n);
    long size = argc > 4 ? atol(argv[4]) : 4096;
    char path[4096];
    char *data = malloc(size > 0 ? size : 1);
    memset(data, 'x', size > 0 ? size : 1);
    /* Per-operation times (stat, create; each getdents64 call of a listing): clock_gettime through the vDSO costs
     * tens of ns, against µs. */
    double *lat = NULL;
    long nlat = 0, cap = n > 0 ? n : 1;
    if (!strcmp(mode, "stat") || !strcmp(mode, "create") || !strncmp(mode, "readdir", 7)) lat = malloc(sizeof(double) * cap);
    long ops = 0, errors = 0;
    double t0 = now();
    if (!strcmp(mode, "mkfiles") || !strcmp(mode, "create")) {
        int keep = !strcmp(mode, "mkfiles");
        for (long i = 0; i < n; i++) {
            name(path, sizeof path, dir, keep ? 'f' : 'c', i);
            double a = now();
            int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0) { errors++; continue; }
            if (size > 0 && write(fd, data, size) != size) errors++;
            if (close(fd) != 0) errors++;
            if (!keep && unlink(path) != 0) errors++;
            if (lat) lat[nlat++] = now() - a;
            ops++;
        }
    } else if (!strcmp(mode, "stat")) {
        struct stat st;
        for (long i = 0; i < n; i++) {
            name(path, sizeof path, dir, 'f', i);
            double a = now();
            if (stat(path, &st) != 0) errors++;
            lat[nlat++] = now() - a;
            ops++;
        }
    } else if (!strcmp(mode, "readdir") || !strcmp(mode, "readdir-changing")) {
        static char buf[1 << 16];
        int churn = !strcmp(mode, "readdir-changing");
        for (long r = 0; r < n; r++) {
            if (churn) {
                snprintf(path, sizeof path, "%s/.churn", dir);
                int cfd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
                if (cfd < 0 || close(cfd) != 0 || unlink(path) != 0) errors++;
            }
            int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (fd < 0) { errors++; continue; }
            for (;;) {
                double a = now();
                long got = syscall(SYS_getdents64, fd, buf, sizeof buf);
                if (nlat == cap) lat = realloc(lat, sizeof(double) * (cap *= 2));
                lat[nlat++] = now() - a;
                if (got < 0) { errors++; break; }
                if (got == 0) break;
                for (long at = 0; at < got;) {
                    struct { unsigned long long ino; long long off; unsigned short reclen; unsigned char type; char name[]; } *d = (void *)(buf + at);
                    ops++;
                    at += d->reclen;
                }
            }
            close(fd);
        }
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    double t = now() - t0;
    printf("{\"ops\": %ld, \"seconds\": %.6f, \"errors\": %ld", ops, t, errors);
    if (lat) print_percentiles(lat, nlat);
    printf("}\n");
    free(lat);
    return errors ? 1 : 0;
}
