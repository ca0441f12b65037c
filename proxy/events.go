package proxy

import (
	"fmt"
	"io"

	"github.com/sctpguard/sctpguard/sctpsock"
)

// errShutdownComplete: the association ended gracefully (SHUTDOWN_COMP). It
// matches io.EOF: the pipe reading the leg has read its last message.
var errShutdownComplete = fmt.Errorf("association shut down: %w", io.EOF)

// endOf returns how an event says an association ended, if it does: the graceful
// end (SHUTDOWN_COMP) as errShutdownComplete, COMM_LOST and CANT_STR_ASSOC as an
// error matching sctpsock.ErrAborted; nil for any other event.
//
// It is the one mapping of events to ends, for both kinds of leg: a pipe on a
// one-to-one leg reads the event itself (see association.notify), and the shared
// socket's reader records it on the sharedLeg it dispatches to, where
// sharedLeg.aborted finds it even while the leg's queue is full.
func endOf(n *sctpsock.Notification) error {
	if n == nil || n.AssocChange == nil {
		return nil
	}
	switch n.AssocChange.State {
	case sctpsock.ShutdownComplete:
		return errShutdownComplete
	case sctpsock.CommLost, sctpsock.CantStartAssoc:
		return fmt.Errorf("%s: %w", n.String(), sctpsock.ErrAborted)
	}
	return nil
}
