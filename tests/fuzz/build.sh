#!/bin/sh
# build.sh — compile the libFuzzer targets of tests/fuzz (clang,
# -fsanitize=fuzzer,address,undefined) into tests/fuzz/out/. Each target is
# its harness plus the product sources it drives, compiled together: no
# meson, no DPDK EAL. Usage: tests/fuzz/build.sh [TARGET...] (default: all).
# Environment: CC (default clang), FUZZ_CFLAGS (extra flags).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$here/out"
CC=${CC:-clang}

ALL_TARGETS="noise transport config engine_sock uapi ctl_cfg wgconf http_json classify"

cflags="-g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer
	-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
	-I$here ${FUZZ_CFLAGS:-}"

pc() {
	pkg-config "$@" || { echo "build.sh: pkg-config $*: failed" >&2; exit 1; }
}

# Sources and flags of each target.
target_args() {
	c="$root/crypto"
	d="$root/dataplane"
	k="$root/control"
	case "$1" in
	noise)
		echo "-I$c $c/noise.c $c/cookie.c $c/aead.c $c/blake2s.c $c/tai64n.c" \
			"$c/x25519.c $(pc --libs libsodium)"
		;;
	transport)
		echo "-I$c $c/aead.c $c/aead_burst.c $c/replay.c -lIPSec_MB" \
			"$(pc --libs libsodium)"
		;;
	config)
		echo "-I$d $d/config.c $(pc --libs libsodium)"
		;;
	engine_sock)
		# api.h pulls in the engine's headers (DPDK); the engine socket
		# logs through rte_log (librte_eal, no EAL init needed).
		echo "-DALLOW_EXPERIMENTAL_API -I$d -I$c $(pc --cflags libdpdk jansson libsodium)" \
			"$d/engine_sock.c $d/config.c" \
			"$(pc --libs jansson libsodium) -lrte_eal"
		;;
	uapi)
		echo "-I$k $k/uapi.c $(pc --libs libsodium)"
		;;
	ctl_cfg)
		# key files are real files in the harness's private directory
		echo "-I$k $k/cfg.c $(pc --libs libsodium)"
		;;
	wgconf)
		echo "-I$k $k/wgconf.c $(pc --libs libsodium)"
		;;
	http_json)
		# ipam.c brings the store (SQLite) along; only the pure prefix
		# functions run.
		echo "-I$k $(pc --cflags jansson sqlite3) $k/ipam.c $k/store.c" \
			"$k/store_users.c $k/store_tunnels.c $k/store_addrs.c" \
			"$k/wgconf.c $k/cfg.c $(pc --libs jansson sqlite3 libsodium)"
		;;
	classify)
		# DPDK headers only (inline checksum and Ethernet helpers): no
		# DPDK library is linked, no EAL.
		echo "-DALLOW_EXPERIMENTAL_API -I$d $(pc --cflags libdpdk libsodium)" \
			"$d/classify.c $(pc --libs libsodium)"
		;;
	*)
		echo "build.sh: unknown target '$1' (known: $ALL_TARGETS)" >&2
		return 1
		;;
	esac
}

mkdir -p "$out"
targets=${*:-$ALL_TARGETS}
for t in $targets; do
	args=$(target_args "$t") || exit 1
	echo "build.sh: fuzz_$t"
	# shellcheck disable=SC2086 # word splitting of flag lists is wanted
	$CC $cflags -o "$out/fuzz_$t" "$here/fuzz_$t.c" $args
done
