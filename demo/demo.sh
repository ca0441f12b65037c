#!/usr/bin/env bash
# demo.sh shows what sctpguard is for, in about two minutes:
#
#  1. the 2005 bug: four senders flood 1-byte messages toward a receiver (in its own
#     network namespace, as a container) that has stopped reading, directly and
#     through sctpguard, side by side: the host memory each took, then the receiver
#     reads again and every message arrives once, in order (bench/seed);
#  2. real SCTP traffic between third-party peers relayed message by message:
#
#   sctp_darn (client) ──SCTP──▶ sctpguard 127.0.0.1:3868 ──SCTP──▶ sctp_darn (server) 127.0.0.1:9000
#   socat     (client) ──SCTP──▶ sctpguard 127.0.0.1:3868 ──SCTP──▶ same server
#
# It builds sctpguard and runs inside.sh natively when this kernel has SCTP, or in the
# test VM (a real Linux kernel with SCTP) when it has none.
set -euo pipefail
cd "$(dirname "$0")/.."
bash test/rig/setup.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
go build -o "$out/sctpguard" ./cmd/sctpguard
go build -o "$out/seed" ./bench/seed
go run ./test/rig/vmrun -auto -- bash demo/inside.sh "$out/sctpguard" "$out/seed"
