// Command vmrun runs one command inside the test VM (a real Linux kernel with SCTP)
// and exits with its status. The host's files are visible at the same paths.
//
//	go run ./test/rig/vmrun -- sh -c 'cat /proc/net/sctp/assocs'
//	go run ./test/rig/vmrun -mem 6144 -- ./bench.sh
//	go run ./test/rig/vmrun -auto -- demo/inside.sh   # natively where the kernel has SCTP
//	go run ./test/rig/vmrun -systemd -- systemctl list-units   # systemd as PID 1
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/sctpguard/sctpguard/test/rig"
)

func main() {
	mem := flag.Int("mem", 0, "guest memory in MiB (default $SCTPGUARD_VM_MEM or 3072)")
	timeout := flag.Duration("timeout", 30*time.Minute, "end the VM after this long")
	setup := flag.String("setup", "", "shell fragment run in the guest before the command")
	auto := flag.Bool("auto", false, "run natively, without a VM, when this kernel has SCTP")
	systemd := flag.Bool("systemd", false, "boot the guest with systemd as PID 1 and run the command as a service")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: vmrun [flags] -- command [args...]\n\nRuns a command in a QEMU VM with a Linux kernel that has SCTP.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if *auto && rig.HostHasSCTP() == nil {
		os.Exit(runNative(flag.Args()))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code, err := rig.Run(ctx, rig.Command{Args: flag.Args(), Timeout: *timeout, MemoryMiB: *mem, Setup: *setup, Systemd: *systemd})
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmrun: %v\n", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// runNative runs the command on this host and returns its exit status.
func runNative(args []string) int {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "vmrun: %v\n", err)
		return 1
	}
	return 0
}
