# SPDX-License-Identifier: GPL-2.0-only
# fusebox build. `make` builds into $(O); `make check`, `make demo`, `make bench`
# (`make bench-vm`: only its VM part), `make install` (PREFIX, DESTDIR). Quiet by default, V=1 for full commands.

O ?= build
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
HOOKSDIR ?= /usr/share/containers/oci/hooks.d
FUSE_PREFIX ?= /opt/fusebox/libfuse

CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
MULTIARCH := $(shell $(CC) -dumpmachine)

FUSE_PC := PKG_CONFIG_PATH=$(FUSE_PREFIX)/lib/pkgconfig pkg-config
FUSE_CFLAGS := $(shell $(FUSE_PC) --cflags fuse3 2>/dev/null)
# Static libfuse (built by install.sh): the system's 3.14 has no passthrough API.
FUSE_LIBS := -Wl,-Bstatic $(patsubst -lfuse3,,$(shell $(FUSE_PC) --static --libs-only-L fuse3 2>/dev/null)) \
	-lfuse3 -Wl,-Bdynamic -lpthread -ldl -lrt

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla \
	-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wno-missing-field-initializers
override CFLAGS += $(WARN) -std=gnu11 -D_GNU_SOURCE -fstack-protector-strong \
	-D_FORTIFY_SOURCE=2 -fPIE -I hook/lib -I bpf -I . -I $(O) -MMD -MP \
	-DFUSEBOX_BINDIR='"$(BINDIR)"' -DFUSEBOX_SYSCONFDIR='"$(SYSCONFDIR)"'
override LDFLAGS += -pie -Wl,-z,relro,-z,now

ifeq ($(V),1)
Q :=
msg := @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
# Generated headers (vmlinux.h, skeletons) are kept: objects depend on them.
.SECONDARY:
.SUFFIXES:
.PHONY: all check check-unit check-integration check-vm check-long demo bench bench-vm install \
	uninstall clean deps

# ---- sources -------------------------------------------------------------------
LIB_SRCS := $(wildcard hook/lib/*.c)
CTL_SRCS := hook/fuseboxctl.c $(wildcard hook/ctl_*.c)
HOOK_SRCS := $(filter-out $(CTL_SRCS),$(wildcard hook/*.c))
FS_SRCS := $(wildcard fs/*.c)
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_USER_SRCS := $(filter-out %.bpf.c,$(wildcard bpf/*.c))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
TOOL_SRCS := $(wildcard tests/tools/*.c)
FSDIFF_SRCS := $(wildcard tests/tools/fsdiff/*.c)

LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
HOOK_OBJS := $(HOOK_SRCS:%.c=$(O)/%.o)
CTL_OBJS := $(CTL_SRCS:%.c=$(O)/%.o)
FS_OBJS := $(FS_SRCS:%.c=$(O)/%.o)
BPF_OBJS := $(BPF_SRCS:bpf/%.bpf.c=$(O)/bpf/%.bpf.o)
BPF_SKELS := $(BPF_SRCS:bpf/%.bpf.c=$(O)/%.skel.h)
BPF_USER_OBJS := $(BPF_USER_SRCS:%.c=$(O)/%.o)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)
TOOL_BINS := $(TOOL_SRCS:tests/tools/%.c=$(O)/tests/tools/%)
# Objects beside, not beneath, the binary: $(O)/tests/tools/fsdiff is a file.
FSDIFF_OBJS := $(FSDIFF_SRCS:tests/tools/fsdiff/%.c=$(O)/tests/tools/fsdiff.o/%.o)
FSDIFF_BIN := $(if $(FSDIFF_SRCS),$(O)/tests/tools/fsdiff)

BINS := $(O)/fusebox-hook $(O)/fuseboxctl $(O)/fuseboxd

all: $(BINS) $(BPF_OBJS) $(UNIT_BINS) $(TOOL_BINS) $(FSDIFF_BIN)

# ---- C -------------------------------------------------------------------------
$(O)/%.o: %.c | $(BPF_SKELS)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(O)/fs/%.o: fs/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(FUSE_CFLAGS) -c $< -o $@

$(O)/libfusebox.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/fusebox-hook: $(HOOK_OBJS) $(BPF_USER_OBJS) $(O)/libfusebox.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ -ljansson -lbpf -lelf -lz -lcap

$(O)/fuseboxctl: $(CTL_OBJS) $(BPF_USER_OBJS) $(O)/libfusebox.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ -ljansson -lbpf -lelf -lz -lcap

$(O)/fuseboxd: $(FS_OBJS) $(O)/libfusebox.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@ $(FUSE_LIBS) -ljansson -lcap

# ---- BPF (CO-RE) ---------------------------------------------------------------
$(O)/vmlinux.h:
	@mkdir -p $(@D)
	$(call msg,GEN,$@)
	$(Q)$(BPFTOOL) btf dump file $${VMLINUX_BTF:-/sys/kernel/btf/vmlinux} format c > $@

$(O)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(O)/vmlinux.h
	@mkdir -p $(@D)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		-I $(O) -I bpf -I /usr/include/$(MULTIARCH) -c $< -o $@.tmp && \
		$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(O)/%.skel.h: $(O)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# ---- tests ---------------------------------------------------------------------
$(O)/tests/test_%: tests/unit/test_%.c $(O)/libfusebox.a
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(O)/libfusebox.a -o $@ $(LDFLAGS) -ljansson -lcmocka

# Test helper programs (real workloads the tests run against mounts).
$(O)/tests/tools/%: tests/tools/%.c $(O)/libfusebox.a
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(O)/libfusebox.a -o $@ $(LDFLAGS) -ljansson

# fsdiff, the differential file system tester (tests/tools/fsdiff/fsdiff.h).
$(O)/tests/tools/fsdiff.o/%.o: tests/tools/fsdiff/%.c
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(O)/tests/tools/fsdiff: $(FSDIFF_OBJS) $(O)/libfusebox.a
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ -o $@

check: all
	$(Q)O=$(O) tests/run.sh all

check-unit: all
	$(Q)O=$(O) tests/run.sh unit

check-integration: all
	$(Q)O=$(O) tests/run.sh integration

check-vm: all
	$(Q)O=$(O) tests/run.sh vm

check-long: all
	$(Q)O=$(O) tests/run.sh long

demo: deps all
	$(Q)O=$(O) tests/demo.sh

# The VM part runs even when the host part fails; it skips itself (saying why) when no
# VM can boot.
bench: all
	$(Q)rc=0; O=$(O) tests/bench/run.sh || rc=1; O=$(O) tests/bench/vm.sh || rc=1; exit $$rc

bench-vm: all
	$(Q)O=$(O) tests/bench/vm.sh

deps:
	$(Q)./install.sh --deps

# ---- install -------------------------------------------------------------------
install: $(BINS) $(BPF_OBJS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR)/fusebox \
		$(DESTDIR)$(SYSCONFDIR)/fusebox/policies $(DESTDIR)$(SYSCONFDIR)/fusebox/programs \
		$(DESTDIR)$(HOOKSDIR) $(DESTDIR)/var/lib/fusebox/layers $(DESTDIR)/var/lib/fusebox/uppers
	install -m 0755 $(O)/fusebox-hook $(O)/fuseboxctl $(O)/fuseboxd $(DESTDIR)$(BINDIR)/
	test -e $(DESTDIR)$(SYSCONFDIR)/fusebox/fusebox.conf || \
		install -m 0644 configs/fusebox.conf $(DESTDIR)$(SYSCONFDIR)/fusebox/fusebox.conf
	for f in configs/policies/*.json; do \
		test -e $(DESTDIR)$(SYSCONFDIR)/fusebox/policies/$${f##*/} || \
		install -m 0644 $$f $(DESTDIR)$(SYSCONFDIR)/fusebox/policies/; done
	for f in fusebox fusebox-poststop; do \
		sed 's|@BINDIR@|$(BINDIR)|g' configs/hooks.d/$$f.json.in > \
			$(DESTDIR)$(HOOKSDIR)/$$f.json; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/fusebox-hook $(DESTDIR)$(BINDIR)/fuseboxctl \
		$(DESTDIR)$(BINDIR)/fuseboxd $(DESTDIR)$(HOOKSDIR)/fusebox.json \
		$(DESTDIR)$(HOOKSDIR)/fusebox-poststop.json

clean:
	rm -rf $(O)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
