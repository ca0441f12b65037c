package rig

import (
	"crypto/sha256"
	"encoding/hex"
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
	a := assets{qemu: qemu, kernel: filepath.Join(dir, "vmlinuz"), initrd: initrdFor(dir)}
	for _, f := range []string{a.kernel, a.initrd} {
		if _, err := os.Stat(f); err != nil {
			return assets{}, fmt.Errorf("no VM kernel: %w", err)
		}
	}
	return a, nil
}

// initrdFor is the initramfs in dir that setup.sh built from this source tree's
// init.sh, so that checkouts sharing one cache each boot their own guest init;
// it is the cache's current one when this tree's init.sh cannot be found.
func initrdFor(dir string) string {
	current := filepath.Join(dir, "initramfs.cpio.gz")
	init, err := besideThisFile("init.sh")
	if err != nil {
		return current
	}
	// setup.sh's stamp: the first 16 hex digits of sha256(init.sh, modules.list, busybox).
	h := sha256.New()
	for _, f := range []string{init, filepath.Join(dir, "modules.list"), "/bin/busybox"} {
		b, err := os.ReadFile(f)
		if err != nil {
			return current
		}
		h.Write(b)
	}
	return filepath.Join(dir, "initramfs-"+hex.EncodeToString(h.Sum(nil))[:16]+".cpio.gz")
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

// besideThisFile is the path of name in this package's source folder, when the
// module is checked out.
func besideThisFile(name string) (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("no caller information")
	}
	p := filepath.Join(filepath.Dir(file), name)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// setupScript finds setup.sh: beside this source file when the module is checked
// out, else by walking up from the working directory to the module root.
func setupScript() (string, error) {
	if p, err := besideThisFile("setup.sh"); err == nil {
		return p, nil
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
