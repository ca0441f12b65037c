package rig

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
)

// assets are the files a VM boots from.
type assets struct {
	qemu, kernel, initrd string
}

var setupOnce sync.Once

// findAssets locates qemu and the cached kernel, running setup.sh once when any is missing.
func findAssets() (assets, error) {
	a, err := lookAssets()
	if err == nil {
		return a, nil
	}
	var setupErr error
	setupOnce.Do(func() { setupErr = runSetup() })
	if setupErr != nil {
		return assets{}, fmt.Errorf("%v, and setup failed: %w", err, setupErr)
	}
	return lookAssets()
}

func lookAssets() (assets, error) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		return assets{}, errors.New("no qemu-system-x86_64 on PATH")
	}
	dir := filepath.Join(CacheDir(), "current")
	a := assets{qemu: qemu, kernel: filepath.Join(dir, "vmlinuz"), initrd: filepath.Join(dir, "initramfs.cpio.gz")}
	for _, f := range []string{a.kernel, a.initrd} {
		if _, err := os.Stat(f); err != nil {
			return assets{}, fmt.Errorf("no VM kernel: %w", err)
		}
	}
	return a, nil
}

// CacheDir is where setup.sh keeps the kernel and initramfs.
func CacheDir() string {
	if d := os.Getenv("SCTPGUARD_RIG_CACHE"); d != "" {
		return d
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "sctpguard-rig")
}

func runSetup() error {
	script, err := setupScript()
	if err != nil {
		return err
	}
	cmd := exec.Command("bash", script)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", script, err)
	}
	return nil
}

// setupScript finds setup.sh: beside this source file when the module is checked
// out, else by walking up from the working directory to the module root.
func setupScript() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok {
		p := filepath.Join(filepath.Dir(file), "setup.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	dir, _ := os.Getwd()
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		p := filepath.Join(dir, "test", "rig", "setup.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("cannot find test/rig/setup.sh")
}
