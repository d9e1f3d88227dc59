/* Direct-mmap client for the DirectFuse benchmark (our own code, compiled by bench/run).
 *   mmapbench bw    PATH|memfd SIZE REPS   map SIZE bytes MAP_SHARED, fault them in, then time REPS memcpy
 *                                          into the mapping and REPS out of it: {"write_gbs":..,"read_gbs":..}
 *   mmapbench fault PATH|memfd SIZE        map a fresh file, write one byte per page: {"faults":..,"seconds":..}
 *   mmapbench dirty PATH SIZE              map, write every page, print "ready", wait for a line on stdin,
 *                                          unmap; for the page-cache mode's store/retrieve timing
 * PATH "memfd" is a fresh memfd_create file (the native limit). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int open_target(const char *path, size_t size) {
    if (!strcmp(path, "memfd")) {
        int fd = memfd_create("mmapbench", MFD_CLOEXEC);
        if (fd < 0 || ftruncate(fd, (off_t)size) != 0) { perror("memfd"); exit(1); }
        return fd;
    }
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) { perror(path); exit(1); }
    return fd;
}

static unsigned char *map(int fd, size_t size) {
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    return p;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: mmapbench bw|fault|dirty PATH SIZE [REPS]\n"); return 2; }
    const char *mode = argv[1], *path = argv[2];
    size_t size = strtoull(argv[3], NULL, 0);
    long page = sysconf(_SC_PAGESIZE);
    int fd = open_target(path, size);
    unsigned char *m = map(fd, size);
    if (!strcmp(mode, "bw")) {
        int reps = argc > 4 ? atoi(argv[4]) : 5;
        unsigned char *buf = aligned_alloc(4096, size);
        memset(buf, 0x5a, size);
        memset(m, 1, size); /* fault everything in first: this measures bandwidth, not faults */
        double t0 = now();
        for (int r = 0; r < reps; r++) { buf[0] = (unsigned char)r; memcpy(m, buf, size); }
        double tw = now() - t0;
        t0 = now();
        unsigned long sum = 0;
        for (int r = 0; r < reps; r++) { memcpy(buf, m, size); sum += buf[r % size]; }
        double tr = now() - t0;
        printf("{\"write_gbs\": %.4f, \"read_gbs\": %.4f, \"check\": %lu}\n",
               size * (double)reps / tw / 1e9, size * (double)reps / tr / 1e9, sum);
    } else if (!strcmp(mode, "fault")) {
        size_t pages = size / page;
        double t0 = now();
        for (size_t i = 0; i < pages; i++) m[i * page] = 1;
        double t = now() - t0;
        printf("{\"faults\": %zu, \"seconds\": %.6f}\n", pages, t);
    } else if (!strcmp(mode, "dirty")) {
        for (size_t i = 0; i < size; i += page) memset(m + i, (int)(1 + i / page % 250), page);
        printf("ready\n");
        fflush(stdout);
        char line[64];
        if (!fgets(line, sizeof line, stdin)) return 1;
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    munmap(m, size);
    close(fd);
    return 0;
}
