#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# extract-vmlinux.sh BZIMAGE OUT: writes the uncompressed kernel ELF inside an x86 bzImage.
# QEMU boots that ELF through its PVH entry note, skipping the bzImage's own
# decompression, which is slow under TCG.
# The boot protocol header (>= 2.08) gives the payload's place: setup_sects at 0x1f1,
# payload_offset/payload_length at 0x248/0x24c, counted from the end of the setup code.
# The payload's magic picks the decompressor. Every format but gzip carries the
# uncompressed size as 4 trailing bytes, which the decompressors must not see.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: extract-vmlinux.sh BZIMAGE OUT" >&2; exit 2; }
in=$1 out=$2
fail() { echo "extract-vmlinux.sh: $in: $*" >&2; rm -f "$out.tmp"; exit 1; }

# u LEN OFFSET: little-endian unsigned integer of LEN bytes at OFFSET.
u() { od -An -t "u$1" -j "$2" -N "$1" "$in" 2>/dev/null | tr -d ' \n'; }
hex() { od -An -t x1 -j "$1" -N "$2" "$in" 2>/dev/null | tr -d ' \n'; }

[ "$(hex $((0x202)) 4)" = 48647253 ] || fail "no bzImage header (HdrS)"
proto=$(u 2 $((0x206)))
[ "$proto" -ge $((0x208)) ] || fail "boot protocol $(printf %x "$proto") has no payload fields"
setup_sects=$(u 1 $((0x1f1)))
[ "$setup_sects" -ne 0 ] || setup_sects=4
start=$(((setup_sects + 1) * 512 + $(u 4 $((0x248)))))
len=$(u 4 $((0x24c)))
size=$(stat -c %s "$in")
if [ "$len" -le 4 ] || [ $((start + len)) -gt "$size" ]; then
	fail "payload $start+$len outside the file"
fi

magic=$(hex "$start" 6)
case "$magic" in
1f8b*) dec=(gzip -dc) trail=0 ;;
28b52ffd*) dec=(zstd -qdc) trail=4 ;;
fd377a585a00) dec=(xz -dc) trail=4 ;;
5d0000*) dec=(xz -dc --format=lzma) trail=4 ;;
02214c18*) dec=(lz4 -dc) trail=4 ;;
425a68*) dec=(bzip2 -dc) trail=4 ;;
*) fail "unknown payload magic $magic" ;;
esac
command -v "${dec[0]}" >/dev/null || fail "payload needs ${dec[0]}, which is not installed"

dd if="$in" bs=1M iflag=skip_bytes,count_bytes skip="$start" count=$((len - trail)) status=none |
	"${dec[@]}" >"$out.tmp" ||
	fail "${dec[0]} failed on the payload"
[ "$(od -An -t x1 -N 4 "$out.tmp" | tr -d ' \n')" = 7f454c46 ] || fail "payload is not an ELF file"
mv "$out.tmp" "$out"
