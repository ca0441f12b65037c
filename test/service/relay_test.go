package service

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/sctpguard/sctpguard/sctpsock"
	"github.com/sctpguard/sctpguard/test/echopeer"
)

// front is where the example config's relay "diameter" listens.
var front = netip.MustParseAddrPort("127.0.0.1:3868")

// echoPeer is the upstream peer: it sends every message back on its stream
// with its PPID. It listens until the test ends.
func echoPeer(t *testing.T) netip.AddrPort {
	t.Helper()
	return echopeer.Listen(t, sctpsock.Options{NoDelay: true})
}

// exampleConfig is examples/sctpguard.hcl with its peers moved into the VM —
// relay "diameter" toward upstream, relay "m3ua" on two loopback addresses —
// and, with group, the admin socket shared with the group sctpguard as the
// example's comment says. Each edit must find its text, so a changed example
// fails here rather than test something else.
func exampleConfig(t *testing.T, upstream netip.AddrPort, group bool) string {
	t.Helper()
	b, err := os.ReadFile("../../examples/sctpguard.hcl")
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(b)
	edits := [][2]string{
		{`upstream = ["192.0.2.10:3868", "198.51.100.10:3868"]`, fmt.Sprintf("upstream = [%q]", upstream)},
		{`listen   = ["10.0.0.1:2905", "10.1.0.1:2905"]`, `listen   = ["127.0.0.2:2905", "127.0.0.3:2905"]`},
		{`upstream = ["[2001:db8::20]:2905", "[2001:db8:1::20]:2905"]`, fmt.Sprintf("upstream = [%q]", upstream)},
	}
	if group {
		edits = append(edits,
			[2]string{`mode   = "0600"`, `mode   = "0660"`},
			[2]string{`# group = "sctpguard"`, `group = "sctpguard"`})
	}
	for _, e := range edits {
		if !strings.Contains(cfg, e[0]) {
			t.Fatalf("examples/sctpguard.hcl has no %s", e[0])
		}
		cfg = strings.Replace(cfg, e[0], e[1], 1)
	}
	return cfg
}

// writeConfig replaces the contents of the config file, keeping its mode and
// owner, as an editor would.
func writeConfig(t *testing.T, cfg string) {
	t.Helper()
	f, err := os.OpenFile("/etc/sctpguard/sctpguard.hcl", os.O_WRONLY|os.O_TRUNC, 0)
	if err == nil {
		_, err = f.WriteString(cfg)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		t.Fatal(err)
	}
}

// client is an application's association through the relay.
type client struct {
	c    *sctpsock.Conn
	sent int
}

func dialFront(t *testing.T) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := sctpsock.Dial(ctx, nil, []netip.AddrPort{front}, sctpsock.Options{NoDelay: true})
	if err != nil {
		t.Fatalf("dial %v: %v", front, err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{c: c}
}

// exchange sends n numbered messages over four streams, one at a time, and
// requires each back intact: payload, stream and PPID.
func (cl *client) exchange(t *testing.T, n int) {
	t.Helper()
	buf := make([]byte, 64<<10)
	cl.c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := 0; i < n; i++ {
		want := sctpsock.Msg{Data: fmt.Appendf(nil, "message %d", cl.sent), Stream: uint16(cl.sent % 4), PPID: 46}
		if err := cl.c.WriteMsg(want); err != nil {
			t.Fatalf("send message %d: %v", cl.sent, err)
		}
		got, err := readData(cl.c, buf)
		if err != nil {
			t.Fatalf("message %d back: %v", cl.sent, err)
		}
		if !bytes.Equal(got.Data, want.Data) || got.Stream != want.Stream || got.PPID != want.PPID {
			t.Fatalf("sent %q on stream %d PPID %d, got %q on stream %d PPID %d",
				want.Data, want.Stream, want.PPID, got.Data, got.Stream, got.PPID)
		}
		cl.sent++
	}
}

func readData(c *sctpsock.Conn, buf []byte) (sctpsock.Msg, error) {
	for {
		m, err := c.ReadMsg(buf)
		if err != nil || m.Notification == nil {
			return m, err
		}
	}
}

// end waits for the association to end and says how: "shutdown" (graceful),
// "abort", "a message arrived", or the error. Safe in any goroutine.
func (cl *client) end(timeout time.Duration) string {
	cl.c.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 64<<10)
	_, err := readData(cl.c, buf)
	switch {
	case err == nil:
		return "a message arrived"
	case errors.Is(err, io.EOF):
		return "shutdown"
	case errors.Is(err, sctpsock.ErrAborted):
		return "abort"
	default:
		return err.Error()
	}
}
