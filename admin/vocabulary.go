package admin

// The daemon's fixed vocabulary: why an association ended, why a message was
// dropped, what state an association is in, and which way a message goes. The
// relays (package proxy) record these values, status shows them, and package
// metrics uses them as label values, so each is written once, here. The strings
// are part of the product (logs, JSON, metric labels): add values, never rename
// one.

// EndReason is why an association ended, or is ending: the reason field of the
// log line that ends it, the key of RelayTotals.Ended, the reason in an
// AssocState "ENDING(reason)" and the reason label of
// sctpguard_associations_ended_total.
type EndReason string

const (
	EndShutdown          EndReason = "shutdown"             // a peer shut down gracefully and the other leg followed
	EndPeerAbort         EndReason = "peer_abort"           // a peer aborted, or its association was lost
	EndStreamMissing     EndReason = "stream_missing"       // a message on a stream the other leg lacks
	EndTooLarge          EndReason = "too_large"            // a message over max_message or over the quota
	EndUnreachable       EndReason = "upstream_unreachable" // the upstream connect failed: refused before relaying
	EndIOError           EndReason = "io_error"             // a read or write failed otherwise
	EndDrain             EndReason = "drain"                // the daemon stopped, or a reload removed the relay
	EndQuotaExhausted    EndReason = "quota_exhausted"      // the budgets could not reserve its accounts: refused before relaying
	EndBadNotification   EndReason = "bad_notification"     // no longer given (a malformed event is dropped, see DropReadError); kept so the metric's series stay
	EndStalled           EndReason = "stalled"              // the consumer did not move for stall_timeout while the quota was full
	EndTooManyConnecting EndReason = "too_many_connecting"  // accepted while max_connecting others waited for upstream: refused
	EndNoOriginalDst     EndReason = "no_original_dst"      // transparent: conntrack had no original destination, or it was the relay's own
	EndRelayLoop         EndReason = "relay_loop"           // transparent: the association came from one of the relay's own upstream sockets
)

// EndReasons lists every EndReason, in the order metrics exports them.
var EndReasons = []EndReason{
	EndShutdown, EndPeerAbort, EndStreamMissing, EndTooLarge,
	EndUnreachable, EndIOError, EndDrain, EndQuotaExhausted,
	EndBadNotification, EndStalled, EndTooManyConnecting, EndNoOriginalDst, EndRelayLoop,
}

// DropReason is why sctpguard dropped a message (or event) it had read: the key
// of RelayTotals.Dropped and SharedSocket.DroppedBy, and the reason label of
// sctpguard_dropped_messages_total. A drop never loses a message of an
// association that goes on: each reason is a read that failed, or a message
// of an association that had ended or was ending.
type DropReason string

const (
	// DropReadError: a read of a shared socket failed (such as a malformed
	// notification); what was read is dropped and the next message is read.
	DropReadError DropReason = "read_error"
	// DropNoAssociation: a message or event read on a shared socket for an
	// association sctpguard no longer relays.
	DropNoAssociation DropReason = "no_association"
	// DropAssociationClosed: read on a shared socket for an association whose
	// leg closed (it was aborted or ended) while the message waited for room
	// in its queue, or waited in that queue.
	DropAssociationClosed DropReason = "association_closed"
	// DropSocketClosing: read on a shared socket that the relay closed while
	// the message waited for room.
	DropSocketClosing DropReason = "socket_closing"
	// DropUndeliverable: read after the receiving leg had shut down. SCTP has
	// no half-close, so the message cannot be delivered; the source is still
	// read to its end so that its SHUTDOWN reaches the other side.
	DropUndeliverable DropReason = "undeliverable"
	// DropInterrupted: the pieces of a message read on a shared socket whose
	// sender ended it before its last piece (a partial delivery aborted, its
	// association aborted or lost); the association ends.
	DropInterrupted DropReason = "interrupted"
)

// DropReasons lists every DropReason, in the order metrics exports them.
var DropReasons = []DropReason{
	DropReadError, DropNoAssociation, DropAssociationClosed, DropSocketClosing, DropUndeliverable, DropInterrupted,
}

// AssocState is an association's state in status: StateEstablished while both
// legs relay, StateDraining while the daemon drains it, else Ending(reason).
type AssocState string

const (
	StateEstablished AssocState = "ESTABLISHED"
	StateDraining    AssocState = "DRAINING"
)

// Ending is the state of an association that ends for r: "ENDING(r)".
func Ending(r EndReason) AssocState { return AssocState("ENDING(" + string(r) + ")") }

// Direction is the way a message goes through a relay: the direction label of
// the relayed-message metrics, and the suffix of the per-direction fields in
// logs and status.
type Direction string

const (
	ToUpstream Direction = "to_upstream" // from the application to the upstream peer
	ToFront    Direction = "to_front"    // from the upstream peer back to the application
)
