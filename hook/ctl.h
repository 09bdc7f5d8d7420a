/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fuseboxctl subcommands, one hook/ctl_NAME.c each. argv[0] is the subcommand
 * name, options follow. Each returns the process exit status.
 */
#ifndef FUSEBOX_CTL_H
#define FUSEBOX_CTL_H

/* reqstat [--mount DIR] [--json] [--output FILE] -- COMMAND [ARGS...] */
int ctl_reqstat(int argc, char **argv);

/* status [--config FILE] [ID] */
int ctl_status(int argc, char **argv);

/* cleanup [--config FILE] ID */
int ctl_cleanup(int argc, char **argv);

/* policy check FILE | policy explain FILE PATH RIGHT  [--profile-dir DIR] [--profile NAME] */
int ctl_policy(int argc, char **argv);

/* audit [--config FILE] [--follow] [--syslog] [ID]: the policy's audit events */
int ctl_audit(int argc, char **argv);

/* probe: kernel features fusebox uses */
int ctl_probe(int argc, char **argv);

#endif
