# SPDX-License-Identifier: GPL-2.0-only
# Benchmark data, built fresh by every run (sourced by tests/bench/run.sh).
#
# Layout of a data root R (the loop-mounted ext4, and the tmpfs):
#   R/a/dNNN/fNNNNN, R/b/dNNN/fNNNNN  the small files (1-16 KiB), as two lower
#                                     layers of SMALL_FILES/2 each in SMALL_DIRS/2
#                                     directories each (a: d000.., b: the rest)
#   R/big/big.bin                     one BIG_MIB MiB file
#   R/tree/tNNN/eNNN                  TREE_ENTRIES entries (directories + empty
#                                     files) for the stat walk (disk only)
#   R/py/usr/lib/pythonX.Y            a copy of the standard library of
#                                     BENCH_PYTHON, for the python row (disk only)
# A layered peer (native, passthrough_hp) sees a/ and b/ side by side; a merged
# peer (the overlays) sees their union: dNNN/ at its root.

# Write a 16 KiB chunk of random text; the small files are prefixes of it.
data_chunk() {
	head -c 12288 /dev/urandom | base64 -w0 >"$1"
}

# data_small ROOT CHUNK: both layers of small files with sizes 1-16 KiB.
data_small() {
	local root=$1 chunk=$2
	mkdir -p "$root/a" "$root/b"
	awk -v root="$root" -v files="$SMALL_FILES" -v dirs="$SMALL_DIRS" -v chunkfile="$chunk" '
	BEGIN {
		getline chunk <chunkfile
		srand(42)
		per = int(files / dirs)
		for (d = 0; d < dirs; d++) {
			layer = d < dirs / 2 ? "a" : "b"
			dir = sprintf("%s/%s/d%03d", root, layer, d)
			system("mkdir -p " dir)
			for (i = 0; i < per; i++) {
				f = sprintf("%s/f%05d", dir, d * per + i)
				printf "%s", substr(chunk, 1, 1024 + int(rand() * 15361)) >f
				close(f)
			}
		}
	}'
}

# data_lists DIR: the small-file lists, relative to a layered / merged view.
data_lists() {
	local dir=$1
	awk -v files="$SMALL_FILES" -v dirs="$SMALL_DIRS" -v out="$dir" '
	BEGIN {
		per = int(files / dirs)
		for (d = 0; d < dirs; d++) {
			layer = d < dirs / 2 ? "a" : "b"
			for (i = 0; i < per; i++) {
				rel = sprintf("d%03d/f%05d", d, d * per + i)
				print layer "/" rel >(out "/list.layered")
				print layer "/" rel >(out "/list." layer)
				print rel >(out "/list.merged")
			}
		}
	}'
}

data_big() {
	mkdir -p "$1/big"
	dd if=/dev/zero of="$1/big/big.bin" bs=1M count="$BIG_MIB" status=none
}

data_tree() {
	local root=$1
	mkdir -p "$root/tree"
	awk -v root="$root/tree" -v entries="$TREE_ENTRIES" '
	BEGIN {
		dirs = int(entries / 200)
		if (dirs < 1)
			dirs = 1
		per = int(entries / dirs) - 1
		for (d = 0; d < dirs; d++) {
			dir = sprintf("%s/t%03d", root, d)
			system("mkdir " dir)
			for (i = 0; i < per; i++) {
				f = sprintf("%s/e%03d", dir, i)
				printf "" >f
				close(f)
			}
		}
	}'
}

# data_write_source DIR: WRITE_FILES files of 4 KiB in DIR/new, 100 per directory.
data_write_source() {
	local dir=$1 chunk=$2
	mkdir -p "$dir/new"
	awk -v root="$dir/new" -v files="$WRITE_FILES" -v chunkfile="$chunk" '
	BEGIN {
		getline chunk <chunkfile
		data = substr(chunk, 1, 4096)
		for (i = 0; i < files; i++) {
			if (i % 100 == 0) {
				dir = sprintf("%s/w%03d", root, i / 100)
				system("mkdir " dir)
			}
			f = sprintf("%s/x%05d", dir, i)
			printf "%s", data >f
			close(f)
		}
	}'
}

# Total bytes of the small files (for the data check of every peer).
data_small_bytes() {
	(cd "$1" && xargs -a "$2" cat | wc -c)
}

# data_python ROOT STDLIB: ROOT/py/usr/lib/pythonX.Y, a copy of the standard
# library STDLIB of BENCH_PYTHON (Debian's python3), whose interpreter then runs
# with PYTHONHOME at ROOT/py/usr (or the same path through a peer).
data_python() {
	mkdir -p "$1/py/usr/lib"
	cp -a "$2" "$1/py/usr/lib/"
}
