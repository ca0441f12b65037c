#!/usr/bin/env bash
# demo.sh shows sctpguard relaying real SCTP traffic between third-party peers:
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
go run ./test/rig/vmrun -auto -- bash demo/inside.sh "$out/sctpguard"
