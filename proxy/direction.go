package proxy

import (
	"github.com/sctpguard/sctpguard/admin"
	"github.com/sctpguard/sctpguard/quota"
)

// side names a leg of an association: its value in logs (the "leg" field) and
// errors.
type side string

const (
	sideFront    side = "front"    // the application's association, accepted on the relay's front
	sideUpstream side = "upstream" // the association sctpguard opened to the upstream peer
)

// direction is one way through an association: its name in status, logs and
// metrics, and the legs its pipe reads and writes. There are two, toUpstream
// and toFront; code asks a direction for its legs instead of branching on it.
type direction struct {
	name     admin.Direction
	src, dst side
}

var (
	toUpstream = direction{name: admin.ToUpstream, src: sideFront, dst: sideUpstream}
	toFront    = direction{name: admin.ToFront, src: sideUpstream, dst: sideFront}
)

// accounts are an association's quota accounts, one per direction, each
// charged by the pipe of that direction.
type accounts struct {
	toUp, toFront *quota.Account
}

// each lists the accounts, for what applies to both.
func (a accounts) each() []*quota.Account { return []*quota.Account{a.toUp, a.toFront} }
