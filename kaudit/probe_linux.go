package kaudit

import (
	"fmt"

	"github.com/sctpguard/sctpguard/diag"
	"golang.org/x/sys/unix"
)

// probeSCTP opens and closes an SCTP socket, as sctpguard will.
func probeSCTP() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, unix.IPPROTO_SCTP)
	if err != nil {
		return fmt.Errorf("socket(AF_INET, SOCK_STREAM, IPPROTO_SCTP): %w", err)
	}
	unix.Close(fd)
	return nil
}

func probeDiag() error {
	_, err := diag.Dump()
	return err
}
