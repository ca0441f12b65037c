#!/usr/bin/env bash
# inside.sh runs the demo on a kernel with SCTP; demo.sh calls it. $1 is the sctpguard
# binary, $2 the seed benchmark's (bench/seed).
set -euo pipefail
bin=$1
seed=$2
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "the 2005 bug: 1-byte messages toward a receiver that stopped reading (SO_RCVBUF 8 MiB, in its own netns)"
echo "4 senders, directly and through sctpguard (quota 1 MiB per association, 16 MiB global); then the receiver reads again"
"$seed" -guard "$bin" -assocs 4 -paths direct,sctpguard -receivers other -status=false 2>"$work/seed.log" ||
	{ cat "$work/seed.log"; echo "demo failed: the flood did not run as it should"; exit 1; }
echo "(\"host memory used\": what the host lost to the flood; \"resume\": what the receiver read back)"

step "upstream peer: sctp_darn listening on 127.0.0.1:9000"
stdbuf -oL sctp_darn -H 127.0.0.1 -P 9000 -l >"$work/peer.log" 2>&1 &
pids+=($!)

step "sctpguard run -c demo/demo.hcl"
"$bin" run -c "$here/demo.hcl" 2>"$work/guard.log" &
pids+=($!)
for _ in $(seq 50); do grep -q listening "$work/guard.log" && break; sleep 0.1; done
cat "$work/guard.log"

step "client 1: sctp_darn sends three messages to sctpguard at 127.0.0.1:3868"
printf 'hello through sctpguard\nsecond message\nthird\n' |
	timeout 10 sctp_darn -H 127.0.0.1 -P 0 -h 127.0.0.1 -p 3868 -s >"$work/client.log" 2>&1 || true
grep -E 'sendmsg|SNDRCV' "$work/client.log" || cat "$work/client.log"

step "client 2: socat sends one line to sctpguard"
echo "a line from socat" | timeout 10 socat - SCTP:127.0.0.1:3868 || true
sleep 1

step "what the upstream peer received (sctp_darn's own log)"
grep -E 'Data|SNDRCV|hello|second|third|socat|Notification' "$work/peer.log" || cat "$work/peer.log"

step "sctpguard's log: one line per association that ended"
grep 'association ended' "$work/guard.log"
count=$(grep -c 'association ended' "$work/guard.log" || true)
[ "$count" -ge 2 ] || { echo "demo failed: expected two relayed associations"; exit 1; }
grep -q 'msgs_to_upstream=3' "$work/guard.log" || { echo "demo failed: sctp_darn's 3 messages were not relayed"; exit 1; }
step "ok: sctpguard relayed both clients' messages to the peer"
