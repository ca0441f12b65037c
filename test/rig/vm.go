package rig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Command is one command to run inside the VM.
type Command struct {
	// Args is the program and its arguments, resolved inside the guest. Required.
	Args []string
	// Env is the guest environment. If nil, the caller's environment is used.
	Env []string
	// Dir is the working directory in the guest. If empty, the caller's.
	Dir string
	// Stdout receives the command's stdout and stderr, merged, as they are written.
	// If nil, os.Stdout.
	Stdout io.Writer
	// Timeout ends the VM when exceeded. If zero, there is none.
	Timeout time.Duration
	// MemoryMiB is the guest's memory. If zero, $SCTPGUARD_VM_MEM or 3072.
	MemoryMiB int
	// Setup is a shell fragment run as root in the guest before Args (sysctls, ulimit).
	Setup string
	// Systemd boots the guest with the host's systemd as PID 1, which runs Args as
	// the service rig-command.service once basic.target is reached. If false, the
	// rig's own minimal init runs Args.
	Systemd bool
}

// Run boots the VM, runs c inside it and returns its exit status. An error means the
// VM could not be had or did not report a status; the kernel console is then included.
func Run(ctx context.Context, c Command) (int, error) {
	a, err := findAssets()
	if err != nil {
		return 0, err
	}
	xfer, err := os.MkdirTemp("", "sctpguard-rig-")
	if err != nil {
		return 0, fmt.Errorf("make transfer folder: %w", err)
	}
	defer os.RemoveAll(xfer)
	if err := writeScript(xfer, c); err != nil {
		return 0, err
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	if err := boot(ctx, a, xfer, c); err != nil {
		return 0, err
	}
	return readStatus(xfer)
}

// writeScript writes cmd.sh: the environment, the working directory and the command.
func writeScript(xfer string, c Command) error {
	var b strings.Builder
	env := c.Env
	if env == nil {
		env = os.Environ()
	}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || !validEnvName(k) {
			continue
		}
		fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v))
	}
	fmt.Fprintf(&b, "export %s=1\n", GuestEnv)
	b.WriteString("ulimit -n 1048576 2>/dev/null || ulimit -n 65536\n")
	b.WriteString(c.Setup + "\n")
	dir := c.Dir
	if dir == "" {
		dir, _ = os.Getwd()
	}
	fmt.Fprintf(&b, "cd %s || exit 125\n", shellQuote(dir))
	b.WriteString("exec")
	for _, a := range c.Args {
		b.WriteString(" " + shellQuote(a))
	}
	b.WriteString("\n")
	if err := os.WriteFile(filepath.Join(xfer, "cmd.sh"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write guest script: %w", err)
	}
	return nil
}

func validEnvName(k string) bool {
	if k == "" || k == "PWD" || k == "OLDPWD" || k == "SHLVL" || k == "_" {
		return false
	}
	for i, r := range k {
		ok := r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || i > 0 && r >= '0' && r <= '9'
		if !ok {
			return false
		}
	}
	return true
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// boot runs qemu until the guest powers off.
func boot(ctx context.Context, a assets, xfer string, c Command) error {
	exeDir := shareableExeDir(c.Args[0])
	cmd := exec.CommandContext(ctx, a.qemu, qemuArgs(a, xfer, exeDir, c)...)
	cmd.Stdin = nil
	cmd.Stdout = c.Stdout
	if cmd.Stdout == nil {
		cmd.Stdout = os.Stdout
	}
	var qerr bytes.Buffer
	cmd.Stderr = &qerr
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("vm: %w after %v%s", ctx.Err(), c.Timeout, consoleTail(xfer))
	}
	if err != nil {
		return fmt.Errorf("vm: qemu: %w: %s%s", err, strings.TrimSpace(qerr.String()), consoleTail(xfer))
	}
	return nil
}

func qemuArgs(a assets, xfer, exeDir string, c Command) []string {
	mem := c.MemoryMiB
	if mem == 0 {
		mem = envInt("SCTPGUARD_VM_MEM", 3072)
	}
	cpus := envInt("SCTPGUARD_VM_CPUS", 2)
	// tsc=reliable: under TCG Linux finds the emulated CPUs' TSCs unsynchronized
	// and falls back to the emulated HPET, so that every clock read (Go's
	// scheduler makes several per wake-up) is a system call and a device access
	// costing microseconds, which no real host pays and which made a relay's
	// CPU figures mostly clock reads. QEMU derives every vCPU's TSC from one
	// clock, so they agree.
	appendLine := "console=ttyS0 panic=-1 loglevel=4 mitigations=off tsc=reliable rig.xfer=" + xfer
	args := []string{
		"-accel", "tcg,thread=multi", "-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
		"-nodefaults", "-no-reboot", "-display", "none", "-monitor", "none",
		"-kernel", a.kernel, "-initrd", a.initrd,
		"-serial", "file:" + filepath.Join(xfer, "console.log"),
		"-chardev", "stdio,id=out,signal=off", "-serial", "chardev:out",
		"-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
		"-virtfs", "local,path=" + xfer + ",mount_tag=xfer,security_model=none,multidevs=remap",
	}
	if exeDir != "" {
		args = append(args, "-virtfs", "local,path="+exeDir+",mount_tag=exedir,security_model=none,multidevs=remap")
		appendLine += " rig.exedir=" + exeDir
	}
	if c.Systemd {
		appendLine += " rig.init=systemd"
	}
	return append(args, "-append", appendLine)
}

// shareableExeDir is the folder of a go test binary, shared writable so that
// -cover and -test.outputdir files written in the guest reach the host.
func shareableExeDir(exe string) string {
	if !strings.HasSuffix(exe, ".test") || !filepath.IsAbs(exe) {
		return ""
	}
	return filepath.Dir(exe)
}

func envInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func readStatus(xfer string) (int, error) {
	b, err := os.ReadFile(filepath.Join(xfer, "rc"))
	if errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("vm: the guest reported no exit status%s", consoleTail(xfer))
	}
	if err != nil {
		return 0, fmt.Errorf("vm: read exit status: %w", err)
	}
	code, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("vm: bad exit status %q", b)
	}
	return code, nil
}

// consoleTail is the end of the guest's kernel console, for error messages.
func consoleTail(xfer string) string {
	b, err := os.ReadFile(filepath.Join(xfer, "console.log"))
	if err != nil || len(b) == 0 {
		return ""
	}
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return "\n--- guest console (tail) ---\n" + string(b)
}
