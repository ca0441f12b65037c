#!/usr/bin/env bash
# setup.sh prepares everything the VM test rig needs, and is cheap to run again:
#
#   1. Debian packages: qemu (the VM), busybox-static and cpio (the guest's init),
#      socat and lksctp-tools (third-party SCTP peers), iproute2 (netns, veth, tc),
#      nftables (nft, for the transparent-mode tests' rulesets), libusrsctp-examples
#      (a userland SCTP-over-UDP peer), strace and iperf3 (make bench counts the
#      relays' system calls per message with strace and runs iperf3 --sctp).
#   2. Debian's current linux-image-amd64 kernel (6.1 on bookworm), unpacked into
#      the cache with the modules the guest loads (sctp, sctp_diag, 9p, overlay, veth, netem).
#   3. An initramfs holding busybox, those modules and the guest init (init.sh).
#   4. The netfilter modules (nf_tables, conntrack, NAT) in cache/current/netfilter,
#      with their load order in netfilter/order: not in the initramfs, so that
#      checkouts sharing the cache keep one initramfs; the tests that need them
#      load them from there (test/integration, loadNetfilter).
#
# The cache lives in $SCTPGUARD_RIG_CACHE, else $XDG_CACHE_HOME/sctpguard-rig, else
# ~/.cache/sctpguard-rig. The rig (rig.go) reads cache/current/{vmlinuz,initramfs.cpio.gz}.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${SCTPGUARD_RIG_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sctpguard-rig}
mkdir -p "$cache"

log() { printf 'rig setup: %s\n' "$*" >&2; }

# Modules in load order: SCTP and its diag, 9p over virtio for the shared host root,
# overlay for a writable view of it, veth and netem for multi-host and lossy-link tests.
modules=(
  crypto/crc32c_generic lib/libcrc32c net/ipv4/udp_tunnel net/ipv6/ip6_udp_tunnel
  net/sctp/sctp net/ipv4/inet_diag net/sctp/sctp_diag
  drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
  drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci
  fs/netfs/netfs fs/fscache/fscache net/9p/9pnet net/9p/9pnet_virtio fs/9p/9p
  fs/overlayfs/overlay drivers/net/veth net/sched/sch_netem
)

# Netfilter modules in load order, for the nftables DNAT and conntrack that
# transparent mode needs (SCTP conntrack and NAT are built into nf_conntrack and
# nf_nat; libcrc32c is loaded with SCTP).
netfilter_modules=(
  net/netfilter/nfnetlink net/netfilter/nf_tables net/ipv4/netfilter/nf_defrag_ipv4
  net/ipv6/netfilter/nf_defrag_ipv6 net/netfilter/nf_conntrack net/netfilter/nf_nat
  net/netfilter/nft_chain_nat net/netfilter/nft_nat net/netfilter/nft_ct
)

need_packages() {
  local missing=()
  command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
  [ -x /bin/busybox ] && file_is_static /bin/busybox || missing+=(busybox-static)
  command -v cpio >/dev/null || missing+=(cpio)
  command -v socat >/dev/null || missing+=(socat)
  command -v sctp_darn >/dev/null || missing+=(lksctp-tools)
  command -v tc >/dev/null && command -v ip >/dev/null || missing+=(iproute2)
  command -v systemd-analyze >/dev/null || missing+=(systemd)
  command -v nft >/dev/null || missing+=(nftables)
  [ -x /usr/lib/usrsctp/echo_server ] || missing+=(libusrsctp-examples)
  command -v strace >/dev/null || missing+=(strace)
  command -v iperf3 >/dev/null || missing+=(iperf3)
  command -v apt-get >/dev/null || { log "not a Debian system: install ${missing[*]:-nothing} by hand"; return 0; }
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    log "missing packages: ${missing[*]}; run: sudo apt-get install --no-install-recommends ${missing[*]}"
    exit 1
  fi
  log "installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

file_is_static() { ! ldd "$1" >/dev/null 2>&1; }

# kernel_package prints the versioned kernel package linux-image-amd64 points at today.
kernel_package() {
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  if [ -z "$pkg" ]; then
    [ "$(id -u)" = 0 ] && apt-get update -qq
    pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  fi
  [ -n "$pkg" ] || { log "cannot resolve linux-image-amd64 (apt-get update?)"; exit 1; }
  echo "$pkg"
}

fetch_kernel() {
  local pkg=$1 dir=$2 tmp
  # Cached: the kernel, and exactly the modules listed above (a module added to the
  # list means unpacking the package again).
  [ -f "$dir/vmlinuz" ] && [ -f "$dir/modules.list" ] &&
    [ "$(cat "$dir/modules.list")" = "$(printf '%s\n' "${modules[@]##*/}")" ] && return 0
  log "downloading $pkg"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq "$pkg" 2>/dev/null) || { rm -rf "$tmp"; log "apt-get download $pkg failed"; exit 1; }
  dpkg-deb -x "$tmp"/*.deb "$tmp/x"
  mkdir -p "$dir/modules"
  cp "$tmp"/x/boot/vmlinuz-* "$dir/vmlinuz"
  : >"$dir/modules.list.tmp"
  for m in "${modules[@]}"; do
    local f
    f=$(find "$tmp"/x/lib/modules/*/kernel/"$(dirname "$m")" -maxdepth 1 -name "$(basename "$m").ko*" | head -1)
    [ -n "$f" ] || { log "module $m not in $pkg"; exit 1; }
    case "$f" in
      *.xz) xz -dc "$f" >"$dir/modules/$(basename "$m").ko" ;;
      *.zst) zstd -dqc "$f" >"$dir/modules/$(basename "$m").ko" ;;
      *) cp "$f" "$dir/modules/$(basename "$m").ko" ;;
    esac
    echo "$(basename "$m")" >>"$dir/modules.list.tmp"
  done
  mv "$dir/modules.list.tmp" "$dir/modules.list"
  rm -rf "$tmp"
}

# fetch_netfilter unpacks the netfilter modules into $dir/netfilter, once per list.
fetch_netfilter() {
  local pkg=$1 dir=$2/netfilter tmp f m
  [ -f "$dir/order" ] && [ "$(cat "$dir/order")" = "$(printf '%s\n' "${netfilter_modules[@]##*/}")" ] && return 0
  log "unpacking the netfilter modules of $pkg"
  tmp=$(mktemp -d)
  (cd "$tmp" && apt-get download -qq "$pkg" 2>/dev/null) || { rm -rf "$tmp"; log "apt-get download $pkg failed"; exit 1; }
  dpkg-deb -x "$tmp"/*.deb "$tmp/x"
  mkdir -p "$dir"
  : >"$dir/order.tmp"
  for m in "${netfilter_modules[@]}"; do
    f=$(find "$tmp"/x/lib/modules/*/kernel/"$(dirname "$m")" -maxdepth 1 -name "$(basename "$m").ko*" | head -1)
    [ -n "$f" ] || { log "module $m not in $pkg"; exit 1; }
    case "$f" in
      *.xz) xz -dc "$f" >"$dir/$(basename "$m").ko" ;;
      *.zst) zstd -dqc "$f" >"$dir/$(basename "$m").ko" ;;
      *) cp "$f" "$dir/$(basename "$m").ko" ;;
    esac
    echo "$(basename "$m")" >>"$dir/order.tmp"
  done
  mv "$dir/order.tmp" "$dir/order"
  rm -rf "$tmp"
}

build_initramfs() {
  local dir=$1 root stamp
  stamp=$(cat "$here/init.sh" "$dir/modules.list" /bin/busybox | sha256sum | cut -c1-16)
  [ -f "$dir/initramfs-$stamp.cpio.gz" ] && { ln -sfn "initramfs-$stamp.cpio.gz" "$dir/initramfs.cpio.gz"; return 0; }
  log "building initramfs"
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,dev,proc,sys,lib/modules,host,newroot,upper}
  cp /bin/busybox "$root/bin/busybox"
  cp "$here/init.sh" "$root/init"
  chmod 755 "$root/init"
  cp "$dir"/modules/*.ko "$root/lib/modules/"
  cp "$dir/modules.list" "$root/lib/modules/order"
  (cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$dir/initramfs-$stamp.cpio.gz"
  rm -rf "$root"
  ln -sfn "initramfs-$stamp.cpio.gz" "$dir/initramfs.cpio.gz"
}

need_packages
pkg=$(kernel_package)
fetch_kernel "$pkg" "$cache/$pkg"
fetch_netfilter "$pkg" "$cache/$pkg"
build_initramfs "$cache/$pkg"
ln -sfn "$pkg" "$cache/current"
log "ready: $cache/current ($pkg)"
