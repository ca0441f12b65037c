package sctpsock

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// NotificationType is sn_type of an SCTP notification.
type NotificationType uint16

// Notification types, numbered as Linux's enum sctp_sn_type.
const (
	NotifyAssocChange     NotificationType = 0x8001 // SCTP_ASSOC_CHANGE
	NotifyPeerAddrChange  NotificationType = 0x8002 // SCTP_PEER_ADDR_CHANGE
	NotifySendFailed      NotificationType = 0x8003 // SCTP_SEND_FAILED (deprecated form)
	NotifyRemoteError     NotificationType = 0x8004 // SCTP_REMOTE_ERROR
	NotifyShutdown        NotificationType = 0x8005 // SCTP_SHUTDOWN_EVENT
	NotifyPartialDelivery NotificationType = 0x8006 // SCTP_PARTIAL_DELIVERY_EVENT
	NotifyAdaptation      NotificationType = 0x8007 // SCTP_ADAPTATION_INDICATION
	NotifyAuthentication  NotificationType = 0x8008 // SCTP_AUTHENTICATION_EVENT
	NotifySenderDry       NotificationType = 0x8009 // SCTP_SENDER_DRY_EVENT
	NotifyStreamReset     NotificationType = 0x800a // SCTP_STREAM_RESET_EVENT
	NotifyAssocReset      NotificationType = 0x800b // SCTP_ASSOC_RESET_EVENT
	NotifyStreamChange    NotificationType = 0x800c // SCTP_STREAM_CHANGE_EVENT
	NotifySendFailedEvent NotificationType = 0x800d // SCTP_SEND_FAILED_EVENT
)

var notificationNames = map[NotificationType]string{
	NotifyAssocChange:     "assoc change",
	NotifyPeerAddrChange:  "peer addr change",
	NotifySendFailed:      "send failed",
	NotifyRemoteError:     "remote error",
	NotifyShutdown:        "shutdown",
	NotifyPartialDelivery: "partial delivery",
	NotifyAdaptation:      "adaptation indication",
	NotifyAuthentication:  "authentication",
	NotifySenderDry:       "sender dry",
	NotifyStreamReset:     "stream reset",
	NotifyAssocReset:      "assoc reset",
	NotifyStreamChange:    "stream change",
	NotifySendFailedEvent: "send failed",
}

func (t NotificationType) String() string {
	if s, ok := notificationNames[t]; ok {
		return s
	}
	return fmt.Sprintf("notification 0x%04x", uint16(t))
}

// AssocChangeState is sac_state of an assoc change notification.
type AssocChangeState uint16

// Assoc change states, numbered as Linux's enum sctp_sac_state.
const (
	CommUp           AssocChangeState = 0
	CommLost         AssocChangeState = 1
	Restart          AssocChangeState = 2
	ShutdownComplete AssocChangeState = 3
	CantStartAssoc   AssocChangeState = 4
)

var assocChangeNames = [...]string{"COMM_UP", "COMM_LOST", "RESTART", "SHUTDOWN_COMP", "CANT_STR_ASSOC"}

func (s AssocChangeState) String() string {
	if int(s) < len(assocChangeNames) {
		return assocChangeNames[s]
	}
	return fmt.Sprintf("SAC_STATE(%d)", uint16(s))
}

// PeerAddrState is spc_state of a peer addr change notification.
type PeerAddrState int32

// Peer address states, numbered as Linux's enum sctp_spc_state.
const (
	AddrAvailable         PeerAddrState = 0
	AddrUnreachable       PeerAddrState = 1
	AddrRemoved           PeerAddrState = 2
	AddrAdded             PeerAddrState = 3
	AddrMadePrimary       PeerAddrState = 4
	AddrConfirmed         PeerAddrState = 5
	AddrPotentiallyFailed PeerAddrState = 6
)

var peerAddrNames = [...]string{"ADDR_AVAILABLE", "ADDR_UNREACHABLE", "ADDR_REMOVED",
	"ADDR_ADDED", "ADDR_MADE_PRIM", "ADDR_CONFIRMED", "ADDR_POTENTIALLY_FAILED"}

func (s PeerAddrState) String() string {
	if s >= 0 && int(s) < len(peerAddrNames) {
		return peerAddrNames[s]
	}
	return fmt.Sprintf("SPC_STATE(%d)", int32(s))
}

// Notification is an event the kernel delivered in place of a message.
// Exactly one of the pointer fields is set for the types parsed in detail;
// other types carry only Type, Flags and Raw.
type Notification struct {
	Type  NotificationType
	Flags uint16

	AssocChange     *AssocChange
	PeerAddrChange  *PeerAddrChange
	RemoteError     *RemoteError
	SendFailed      *SendFailed
	PartialDelivery *PartialDelivery
	// Shutdown is true for a shutdown event: the peer sent SHUTDOWN, so it
	// accepts no more data; reads end with io.EOF once queued data is read.
	Shutdown bool
	// AssocID is the association id the notification names.
	AssocID int32

	// Raw is the whole notification as the kernel delivered it, a copy
	// owned by the Notification.
	Raw []byte
}

// AssocChange is an SCTP_ASSOC_CHANGE notification.
type AssocChange struct {
	State      AssocChangeState
	Error      uint16 // the error cause, for COMM_LOST and CANT_STR_ASSOC
	OutStreams uint16
	InStreams  uint16
	// Info is sac_info: the ABORT chunk for COMM_LOST and CANT_STR_ASSOC,
	// the supported extensions for COMM_UP and RESTART. Aliases Raw.
	Info []byte
}

// PeerAddrChange is an SCTP_PEER_ADDR_CHANGE notification.
type PeerAddrChange struct {
	Addr  netip.AddrPort
	State PeerAddrState
	Error int32
}

// RemoteError is an SCTP_REMOTE_ERROR notification: the peer sent an
// ERROR chunk.
type RemoteError struct {
	Cause uint16 // the first error cause code, in host order
	Data  []byte // the error causes as on the wire; aliases Raw
}

// SendFailed is an SCTP_SEND_FAILED_EVENT (or deprecated SCTP_SEND_FAILED)
// notification: a message the kernel could not deliver, returned whole.
type SendFailed struct {
	Sent      bool   // the message was put on the wire (Flags: SCTP_DATA_SENT)
	Error     uint32 // ssf_error
	Stream    uint16
	PPID      uint32 // as in Msg.PPID
	Unordered bool
	Context   uint32
	Data      []byte // the undelivered message; aliases Raw
}

// PartialDelivery is an SCTP_PARTIAL_DELIVERY_EVENT notification: a message
// being delivered in parts was cut short (the association went away).
type PartialDelivery struct {
	Indication uint32 // 0: SCTP_PARTIAL_DELIVERY_ABORTED
	Stream     uint32
	Seq        uint32
}

// Fixed sizes of the notification structs (include/uapi/linux/sctp.h).
const (
	snHeaderLen        = 8
	assocChangeLen     = 20
	paddrChangeLen     = 148 // packed, aligned(4): 8 + sockaddr_storage 128 + 3*4
	remoteErrorLen     = 16
	sendFailedLen      = 48 // with struct sctp_sndrcvinfo (32 bytes)
	sendFailedEventLen = 32 // with struct sctp_sndinfo (16 bytes)
	shutdownEventLen   = 12
	pdapiMinLen        = 16 // before Linux 4.18 there was no stream and seq
	pdapiLen           = 24
	sockaddrStorageLen = 128
)

// ParseNotification decodes one notification as recvmsg returned it with
// MSG_NOTIFICATION set. Types it does not know are returned with Type, Flags
// and Raw only. It never reads outside b; a malformed notification yields an
// error naming what is wrong.
func ParseNotification(b []byte) (*Notification, error) {
	if len(b) < snHeaderLen {
		return nil, fmt.Errorf("notification: length %d < %d header bytes", len(b), snHeaderLen)
	}
	ne := binary.NativeEndian
	typ := NotificationType(ne.Uint16(b))
	length := ne.Uint32(b[4:])
	if length < snHeaderLen || uint64(length) > uint64(len(b)) {
		return nil, fmt.Errorf("%v notification: header says %d bytes, have %d", typ, length, len(b))
	}
	raw := append([]byte(nil), b[:length]...)
	n := &Notification{Type: typ, Flags: ne.Uint16(raw[2:]), Raw: raw}
	if err := n.parseBody(); err != nil {
		return nil, err
	}
	if id, ok := notificationAssocID(typ, raw); ok && n.AssocID == 0 {
		n.AssocID = id
	}
	return n, nil
}

// assocIDOffset is where each notification type that names an association
// keeps its sctp_assoc_t (include/uapi/linux/sctp.h), for the types
// parseBody does not decode in detail as well as those it does.
var assocIDOffset = map[NotificationType]int{
	NotifyAssocChange:     16, // sac_assoc_id
	NotifyPeerAddrChange:  144,
	NotifySendFailed:      44, // ssf_info.sinfo_assoc_id
	NotifyRemoteError:     12,
	NotifyShutdown:        8,
	NotifyPartialDelivery: 12,
	NotifyAdaptation:      12, // sai_assoc_id, after sai_adaptation_ind
	NotifyAuthentication:  16, // auth_assoc_id, after key numbers and indication
	NotifySenderDry:       8,
	NotifyStreamReset:     8,
	NotifyAssocReset:      8,
	NotifyStreamChange:    8,
	NotifySendFailedEvent: 28, // ssfe_assoc_id, after ssfe_info
}

// notificationAssocID returns the association a notification of type t names,
// read from raw (the whole notification); false when t names none or raw is
// too short to hold it.
func notificationAssocID(t NotificationType, raw []byte) (int32, bool) {
	off, ok := assocIDOffset[t]
	if !ok || len(raw) < off+4 {
		return 0, false
	}
	return int32(binary.NativeEndian.Uint32(raw[off:])), true
}

func (n *Notification) parseBody() error {
	switch n.Type {
	case NotifyAssocChange:
		return n.parseAssocChange()
	case NotifyPeerAddrChange:
		return n.parsePeerAddrChange()
	case NotifyRemoteError:
		return n.parseRemoteError()
	case NotifySendFailed, NotifySendFailedEvent:
		return n.parseSendFailed()
	case NotifyShutdown:
		return n.parseShutdown()
	case NotifyPartialDelivery:
		return n.parsePartialDelivery()
	}
	return nil
}

func (n *Notification) need(min int) error {
	if len(n.Raw) < min {
		return fmt.Errorf("%v notification: length %d < %d", n.Type, len(n.Raw), min)
	}
	return nil
}

func (n *Notification) parseAssocChange() error {
	if err := n.need(assocChangeLen); err != nil {
		return err
	}
	b, ne := n.Raw, binary.NativeEndian
	n.AssocChange = &AssocChange{
		State:      AssocChangeState(ne.Uint16(b[8:])),
		Error:      ne.Uint16(b[10:]),
		OutStreams: ne.Uint16(b[12:]),
		InStreams:  ne.Uint16(b[14:]),
		Info:       b[assocChangeLen:],
	}
	n.AssocID = int32(ne.Uint32(b[16:]))
	return nil
}

func (n *Notification) parsePeerAddrChange() error {
	if err := n.need(paddrChangeLen); err != nil {
		return err
	}
	b, ne := n.Raw, binary.NativeEndian
	addr, _, err := parseSockaddr(b[snHeaderLen : snHeaderLen+sockaddrStorageLen])
	if err != nil {
		return fmt.Errorf("%v notification: %w", n.Type, err)
	}
	off := snHeaderLen + sockaddrStorageLen
	n.PeerAddrChange = &PeerAddrChange{
		Addr:  addr,
		State: PeerAddrState(ne.Uint32(b[off:])),
		Error: int32(ne.Uint32(b[off+4:])),
	}
	n.AssocID = int32(ne.Uint32(b[off+8:]))
	return nil
}

func (n *Notification) parseRemoteError() error {
	if err := n.need(remoteErrorLen); err != nil {
		return err
	}
	b := n.Raw
	n.RemoteError = &RemoteError{
		Cause: binary.BigEndian.Uint16(b[8:]), // __be16 sre_error
		Data:  b[remoteErrorLen:],
	}
	n.AssocID = int32(binary.NativeEndian.Uint32(b[12:]))
	return nil
}

func (n *Notification) parseSendFailed() error {
	if n.Type == NotifySendFailed {
		return n.parseSendFailedOld()
	}
	if err := n.need(sendFailedEventLen); err != nil {
		return err
	}
	b, ne := n.Raw, binary.NativeEndian
	flags := ne.Uint16(b[14:]) // sctp_sndinfo at 12: sid, flags, ppid, context, assoc_id
	n.SendFailed = &SendFailed{
		Sent:      n.Flags == ssfDataSent,
		Error:     ne.Uint32(b[8:]),
		Stream:    ne.Uint16(b[12:]),
		Unordered: flags&sctpUnordered != 0,
		PPID:      binary.BigEndian.Uint32(b[16:]),
		Context:   ne.Uint32(b[20:]),
		Data:      b[sendFailedEventLen:],
	}
	n.AssocID = int32(ne.Uint32(b[28:]))
	return nil
}

func (n *Notification) parseSendFailedOld() error {
	if err := n.need(sendFailedLen); err != nil {
		return err
	}
	b, ne := n.Raw, binary.NativeEndian
	flags := ne.Uint16(b[16:]) // sctp_sndrcvinfo at 12: stream, ssn, flags, pad, ppid, context, ...
	n.SendFailed = &SendFailed{
		Sent:      n.Flags == ssfDataSent,
		Error:     ne.Uint32(b[8:]),
		Stream:    ne.Uint16(b[12:]),
		Unordered: flags&sctpUnordered != 0,
		PPID:      binary.BigEndian.Uint32(b[20:]),
		Context:   ne.Uint32(b[24:]),
		Data:      b[sendFailedLen:],
	}
	n.AssocID = int32(ne.Uint32(b[44:]))
	return nil
}

func (n *Notification) parseShutdown() error {
	if err := n.need(shutdownEventLen); err != nil {
		return err
	}
	n.Shutdown = true
	n.AssocID = int32(binary.NativeEndian.Uint32(n.Raw[8:]))
	return nil
}

func (n *Notification) parsePartialDelivery() error {
	if err := n.need(pdapiMinLen); err != nil {
		return err
	}
	b, ne := n.Raw, binary.NativeEndian
	n.PartialDelivery = &PartialDelivery{Indication: ne.Uint32(b[8:])}
	n.AssocID = int32(ne.Uint32(b[12:]))
	if len(b) >= pdapiLen {
		n.PartialDelivery.Stream = ne.Uint32(b[16:])
		n.PartialDelivery.Seq = ne.Uint32(b[20:])
	}
	return nil
}

// String describes the notification in one line, for logs.
func (n *Notification) String() string {
	if n == nil {
		return "<nil notification>"
	}
	switch {
	case n.AssocChange != nil:
		a := n.AssocChange
		return fmt.Sprintf("assoc change %v (error %d, streams out %d in %d, assoc %d)",
			a.State, a.Error, a.OutStreams, a.InStreams, n.AssocID)
	case n.PeerAddrChange != nil:
		p := n.PeerAddrChange
		return fmt.Sprintf("peer addr change %v %v (error %d)", p.Addr, p.State, p.Error)
	case n.RemoteError != nil:
		return fmt.Sprintf("remote error cause %d (%d bytes)", n.RemoteError.Cause, len(n.RemoteError.Data))
	case n.SendFailed != nil:
		s := n.SendFailed
		return fmt.Sprintf("send failed: error %d, stream %d ppid %d, %d bytes, sent %v",
			s.Error, s.Stream, s.PPID, len(s.Data), s.Sent)
	case n.PartialDelivery != nil:
		p := n.PartialDelivery
		return fmt.Sprintf("partial delivery indication %d (stream %d seq %d)", p.Indication, p.Stream, p.Seq)
	case n.Shutdown:
		return fmt.Sprintf("shutdown (assoc %d)", n.AssocID)
	}
	return fmt.Sprintf("%v (flags 0x%x, %d bytes)", n.Type, n.Flags, len(n.Raw))
}
