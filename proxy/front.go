package proxy

import (
	"net/netip"

	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/sctpsock"
)

// frontSocket is where a relay's front associations come from: a one-to-one
// listener (oneToOneFront, a socket per association) or the shared one-to-many
// socket (*sharedSocket). The relay sees either only through these methods.
type frontSocket interface {
	// accept returns the next front association; net.ErrClosed once the
	// relay has stopped listening.
	accept() (leg, error)
	// addrs are the addresses listened on, with the port the kernel chose for 0.
	addrs() []netip.AddrPort
	// stopListening refuses new associations; the live ones go on.
	stopListening() error
	// close releases what the front holds once its last association has
	// ended, and waits for its goroutines.
	close() error
	// status describes the front socket for status, nil where there is
	// nothing beyond the associations to describe.
	status() *admin.SharedSocket
}

// oneToOneFront is a relay's front for listen_style one_to_one: a listener that
// hands out a socket per association.
type oneToOneFront struct{ ln *sctpsock.Listener }

var (
	_ frontSocket = oneToOneFront{}
	_ frontSocket = (*sharedSocket)(nil)
)

func (f oneToOneFront) accept() (leg, error) {
	c, err := f.ln.Accept()
	if err != nil {
		return nil, err
	}
	return connLeg{c}, nil
}

func (f oneToOneFront) addrs() []netip.AddrPort { return f.ln.Addrs() }

func (f oneToOneFront) stopListening() error { return f.ln.Close() }

// close has nothing to do: every association has a socket of its own, closed
// with it.
func (f oneToOneFront) close() error { return nil }

func (f oneToOneFront) status() *admin.SharedSocket { return nil }
