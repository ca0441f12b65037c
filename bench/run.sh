#!/usr/bin/env bash
# run.sh runs the seed-scenario memory benchmark (make bench): 1-byte SCTP
# messages toward a receiver that has stopped reading, sent directly, through
# socat and through sctpguard, side by side in one boot of the test VM (or
# natively where this kernel has SCTP). See bench/seed for the scenario.
#
#   bench/run.sh                  # 4 and 16 associations (~10 minutes in the VM)
#   bench/run.sh -quick           # 2 associations, short caps: a smoke test
#   bench/run.sh -md bench.md     # also write the table as markdown
#
# Other flags go to the seed program (bench/seed -h lists them). BENCH_VM_MEM
# sets the VM's memory in MiB (default 6144: 16 direct associations hold ~2 GB).
set -euo pipefail
cd "$(dirname "$0")/.."

md=
args=()
while [ $# -gt 0 ]; do
	case "$1" in
	-md | --md)
		[ $# -ge 2 ] || { echo "run.sh: -md needs a file" >&2; exit 2; }
		md=$2
		shift 2
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

start=$(date +%s)
set +e
go run ./test/rig/vmrun -auto -mem "${BENCH_VM_MEM:-6144}" -timeout 30m -- \
	"$out/seed" -guard "$out/sctpguard" "${args[@]}" | tee "$out/output"
status=${PIPESTATUS[0]}
set -e
echo "bench: $(($(date +%s) - start)) s, exit status $status"

if [ -n "$md" ]; then
	sed -n '/^<!-- seed benchmark: begin -->$/,/^<!-- seed benchmark: end -->$/p' "$out/output" |
		sed '1d;$d' >"$md"
	if [ -s "$md" ]; then
		echo "bench: markdown table written to $md"
	else
		echo "bench: no markdown table in the output; $md is empty" >&2
		status=1
	fi
fi
exit "$status"
