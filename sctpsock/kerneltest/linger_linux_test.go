package kerneltest

import (
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// TestAbortOnExit: a process killed with an association open ends it
// gracefully by default, as if it had closed it, and with ABORT under
// AbortOnExit. Close stays graceful either way.
func TestAbortOnExit(t *testing.T) {
	for _, abort := range []bool{false, true} {
		l := listen(t, []netip.AddrPort{loopback}, sctpsock.Options{})
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), dieEnv+"="+l.Addrs()[0].String(), abortOnExitEnv+"=0")
		if abort {
			cmd.Env[len(cmd.Env)-1] = abortOnExitEnv + "=1"
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if m, err := readData(t, c, nil); err != nil || string(m.Data) != "ready" {
			t.Fatalf("from the dying process: %q, %v", m.Data, err)
		}
		if err := c.WriteMsg(sctpsock.Msg{Data: []byte("die")}); err != nil {
			t.Fatal(err)
		}
		cmd.Wait()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = readData(t, c, nil)
		want := io.EOF
		if abort {
			want = sctpsock.ErrAborted
		}
		if !errors.Is(err, want) {
			t.Errorf("AbortOnExit %v: the peer of a killed process saw %v, want %v", abort, err, want)
		}
		c.Close()
	}

	client, server := pair(t, sctpsock.Options{}, sctpsock.Options{AbortOnExit: true})
	server.ReadMsg(nil) // COMM_UP
	if err := client.Close(); err != nil {
		t.Fatal(err)
	}
	server.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := readData(t, server, nil); !errors.Is(err, io.EOF) {
		t.Errorf("Close under AbortOnExit: the peer saw %v, want SHUTDOWN (EOF)", err)
	}
}
