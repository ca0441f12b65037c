#!/usr/bin/env bash
# run.sh runs sctpguard's benchmarks (make bench), each sending directly,
# through socat and through sctpguard side by side, both in one boot of the
# test VM (or natively where this kernel has SCTP):
#
#   throughput  what relaying costs: messages/s and MB/s for 1 B to 64 KiB
#               messages over 1 and 16 associations, the relay's CPU time per
#               million messages, 100 B ping-pong p50/p99, and socat's and
#               sctpguard's system calls per message (strace) (bench/throughput);
#               then again with the servers in another network namespace over
#               a veth, as containers are (-consumer other)
#   iperf       iperf3 --sctp (a tool users know) directly, through socat and
#               through sctpguard: 100 B, 1 KiB and 16 KiB messages over 1 and
#               8 associations (bench/iperf)
#   seed        the seed scenario's memory: 1-byte SCTP messages toward a
#               receiver that has stopped reading (bench/seed), then
#               every message read back
#   stalled     the same flood over 1,000 associations, through sctpguard
#               alone: its CPU once every sender is blocked, and what the
#               flood took beyond the senders' own send queues against the
#               global quota (bench/seed -table stalled)
#   scale       10,000 concurrent associations through one sctpguard: set-up
#               rate, RSS per idle association, threads (bench/scale)
#
#   bench/run.sh                  # all five: ~13 + ~3 + ~12 + ~4 + ~4 minutes in the VM
#   bench/run.sh -quick           # all, short: a smoke test (~4 minutes)
#   bench/run.sh -md bench.md     # also write the tables as markdown
#   bench/run.sh -only throughput # one of them: throughput, iperf, seed, stalled or scale
#
# Other flags go to the seed program (bench/seed -h lists them); flags for
# the throughput program go in BENCH_THROUGHPUT_FLAGS, e.g.
# BENCH_THROUGHPUT_FLAGS="-rounds 3 -sizes 100,1024" (bench/throughput -h).
# BENCH_VM_MEM sets the VM's memory in MiB (default 6144: 16 direct
# associations of the seed scenario hold ~2 GB). The exit status is non-zero
# if either program failed.
set -euo pipefail
cd "$(dirname "$0")/.."

md=
only=
quick=
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	-md | --md)
		[ $# -ge 2 ] || { echo "run.sh: -md needs a file" >&2; exit 2; }
		md=$2
		shift 2
		;;
	-only | --only)
		[ $# -ge 2 ] || { echo "run.sh: -only needs throughput, iperf, seed, stalled or scale" >&2; exit 2; }
		case "$2" in throughput | iperf | seed | stalled | scale) only=$2 ;; *) echo "run.sh: -only: $2 is not throughput, iperf, seed, stalled or scale" >&2; exit 2 ;; esac
		shift 2
		;;
	-quick | --quick)
		quick=-quick
		args+=("$1")
		shift
		;;
	*)
		args+=("$1")
		shift
		;;
	esac
done
if [ -n "$md" ]; then
	case "$md" in /*) ;; *) md="$PWD/$md" ;; esac
	args+=(-md -)
fi

bash test/rig/setup.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/sctpguard" ./cmd/sctpguard
go build -o "$out/seed" ./bench/seed
go build -o "$out/throughput" ./bench/throughput
go build -o "$out/iperf" ./bench/iperf
go build -o "$out/scale" ./bench/scale

# The guest runs one script: each program in turn, both statuses kept.
tp=("$out/throughput" -guard "$out/sctpguard" ${quick:+"$quick"})
[ -z "$md" ] || tp+=(-md -)
read -r -a extra <<<"${BENCH_THROUGHPUT_FLAGS:-}"
tp+=(${extra[@]+"${extra[@]}"})
tpOther=("${tp[@]}" -consumer other)
tp+=(-syscalls)
ip=("$out/iperf" -guard "$out/sctpguard")
[ -z "$quick" ] || ip+=(-sizes 1024 -parallel 1,8 -rounds 1)
[ -z "$md" ] || ip+=(-md -)
seed=("$out/seed" -guard "$out/sctpguard" ${args[@]+"${args[@]}"})
st=("$out/seed" -guard "$out/sctpguard" -table stalled -paths sctpguard -receivers other -status=false -cpu 10s -global 160)
if [ -n "$quick" ]; then st+=(-assocs 100); else st+=(-assocs 1000); fi
[ -z "$md" ] || st+=(-md -)
sc=("$out/scale" -guard "$out/sctpguard")
[ -z "$quick" ] || sc+=(-n 1000)
[ -z "$md" ] || sc+=(-md -)
# wanted NAME: is the program NAME part of this run?
wanted() { [ -z "$only" ] || [ "$only" = "$1" ]; }
{
	echo '#!/usr/bin/env bash'
	echo 'status=0'
	! wanted throughput || echo "$(printf '%q ' "${tp[@]}") || status=1"
	! wanted throughput || echo "$(printf '%q ' "${tpOther[@]}") || status=1"
	! wanted iperf || echo "$(printf '%q ' "${ip[@]}") || status=1"
	! wanted seed || echo "$(printf '%q ' "${seed[@]}") || status=1"
	! wanted stalled || echo "$(printf '%q ' "${st[@]}") || status=1"
	! wanted scale || echo "$(printf '%q ' "${sc[@]}") || status=1"
	echo 'exit $status'
} >"$out/bench.sh"
chmod +x "$out/bench.sh"

start=$(date +%s)
set +e
go run ./test/rig/vmrun -auto -mem "${BENCH_VM_MEM:-6144}" -timeout 45m -- "$out/bench.sh" | tee "$out/output"
status=${PIPESTATUS[0]}
set -e
echo "bench: $(($(date +%s) - start)) s, exit status $status"

# section NAME prints the markdown the program NAME framed in marker lines
# (each of its tables, when it ran more than once).
section() {
	awk -v b="<!-- $1 benchmark: begin -->" -v e="<!-- $1 benchmark: end -->" '
		$0 == b { if (n++) print ""; on = 1; next }
		$0 == e { on = 0; next }
		on' "$out/output"
}
if [ -n "$md" ]; then
	missing=
	: >"$md"
	for name in throughput iperf seed stalled scale; do
		wanted "$name" || continue
		table=$(section "$name")
		if [ -z "$table" ]; then
			missing+=" $name"
			continue
		fi
		[ ! -s "$md" ] || echo >>"$md"
		echo "$table" >>"$md"
	done
	if [ -n "$missing" ]; then
		echo "bench: no markdown table in the output for:$missing; $md is incomplete" >&2
		status=1
	else
		echo "bench: markdown written to $md"
	fi
fi
exit "$status"
