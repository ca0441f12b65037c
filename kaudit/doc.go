// Package kaudit audits the running kernel for what defeats or weakens
// sctpguard's memory quotas, or hides what the kernel holds: SCTP or
// sctp_diag missing, the net.sctp buffer policies and memory limits,
// net.core buffer ceilings that let any process raise its own buffers past
// the quota, and a missing memory cgroup limit.
//
// Each Finding is one line: the daemon logs them at start, and
// `sctpguard check` prints them. Typical use:
//
//	for _, f := range kaudit.Audit(kaudit.Quotas{Association: 1 << 20, Global: 256 << 20}) {
//		switch f.Severity {
//		case kaudit.Error:
//			log.Error(f.String()) // e.g. no SCTP: nothing will work
//		case kaudit.Warn:
//			log.Warn(f.String())
//		default:
//			log.Info(f.String())
//		}
//	}
//
// which logs lines such as
//
//	warn net.core.rmem_max: = 212992: any process on this host may set SO_RCVBUF to 416.0 KiB ... (fix: sysctl -w net.core.rmem_max=32768, ...)
//	warn memory cgroup: memory.max = max on /system.slice/sctpguard.service and its parents: ... (fix: run sctpguard under systemd with MemoryMax= above quota.global (256.0 MiB), e.g. MemoryMax=384M in [Service])
//
// The systemd unit that answers the last one:
//
//	[Service]
//	ExecStart=/usr/bin/sctpguard run -c /etc/sctpguard/sctpguard.hcl
//	MemoryMax=384M
//
// An Auditor with FS set to a fake tree reads /proc and /sys from it, which
// is how the checks are tested without SCTP.
package kaudit
