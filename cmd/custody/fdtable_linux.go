//go:build linux && cgo

package main

/*
#include <fcntl.h>
#include <unistd.h>

// custody_presize_fdtable grows the process's descriptor table to 1,024
// slots (512 under a lower limit on open files) before the Go runtime
// starts its threads. Linux grows the table by doubling as descriptors
// are opened, and once several threads share it each growth waits for an
// RCU grace period, during which every thread opening a file waits too:
// 6 – 30 ms each time on the machine of docs/benchmarks.md. The evidence
// store keeps a descriptor open for each of its 256 shard folders
// (internal/evidence/folder), so verify, diff and export pass 256 open
// descriptors early in their work. Grown here, while the process has a
// single thread, the table costs microseconds and 8 KiB. Best effort: no
// descriptor 0 – 2 to duplicate, or a limit below 512, leaves it as it was.
__attribute__((constructor)) static void custody_presize_fdtable(void) {
	for (int target = 1023; target >= 511; target = target / 2) {
		for (int fd = 0; fd <= 2; fd++) {
			int dup = fcntl(fd, F_DUPFD_CLOEXEC, target);
			if (dup >= 0) {
				close(dup);
				return;
			}
		}
	}
}
*/
import "C"
