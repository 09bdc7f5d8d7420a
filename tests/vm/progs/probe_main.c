// SPDX-License-Identifier: GPL-2.0-only
/*
 * vm-probe: runs the BPF LSM probe outside fuseboxctl, for the VM and host
 * tests. `vm-probe` prints what `fuseboxctl probe` prints; `vm-probe --raw`
 * prints the return value of fb_probe_bpf_lsm() alone.
 */
#include <stdio.h>

#include "util.h"
#include "ctl.h"
#include "lsm_probe.h"

int main(int argc, char **argv)
{
	if (argc == 2 && streq(argv[1], "--raw")) {
		printf("%d\n", fb_probe_bpf_lsm());
		return 0;
	}
	return ctl_probe(argc, argv);
}
