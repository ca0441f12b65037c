package sctpsock

import (
	"testing"
	"unsafe"

	"github.com/ishidawataru/sctp"
	"golang.org/x/sys/unix"
)

// TestLayouts checks the structs shared with the kernel against the sizes
// include/uapi/linux/sctp.h gives them.
func TestLayouts(t *testing.T) {
	tests := []struct {
		name      string
		got, want uintptr
	}{
		{"sctp_initmsg", unsafe.Sizeof(sctp.InitMsg{}), 8},
		{"sctp_paddrinfo (packed, aligned(4))", unsafe.Sizeof(sctp.PeerAddrinfo{}), 152},
		{"sctp_status", unsafe.Sizeof(sctp.Status{}), 176},
		{"sctp_status.sstat_primary offset", unsafe.Offsetof(sctp.Status{}.PrimaryPeerAddr), 24},
		{"sctp_getaddrs_old", unsafe.Sizeof(sctp.GetAddrsOld{}), 8 + unsafe.Sizeof(uintptr(0))},
		{"sctp_event", unsafe.Sizeof(sctpEventParam{}), 8},
		{"cmsghdr", cmsgHdrLen, unix.SizeofCmsghdr},
		{"CMSG_SPACE(sctp_sndinfo)", sndInfoSpace, uintptr(unix.CmsgSpace(sndInfoLen))},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %d bytes, want %d", tt.name, tt.got, tt.want)
		}
	}
	if sctp.SCTP_UNORDERED != sctpUnordered || sctp.SCTP_CMSG_SNDINFO != cmsgSndInfo || sctp.SCTP_CMSG_RCVINFO != cmsgRcvInfo {
		t.Error("SCTP flag or cmsg type numbering differs from ishidawataru/sctp")
	}
}
