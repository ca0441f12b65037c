package quota

import (
	"errors"
	"fmt"
)

var (
	// ErrTooLarge is matched (errors.Is) by every *TooLargeError.
	ErrTooLarge = errors.New("quota: cost exceeds limit")

	// ErrExhausted is returned (wrapped) by Open when a budget cannot
	// provide the new account's reserve.
	ErrExhausted = errors.New("quota: budget exhausted")

	// ErrClosed is returned by Charge on a closed Account, including to
	// charges that were waiting when it was closed.
	ErrClosed = errors.New("quota: account closed")
)

// LevelAssociation is the Level of a TooLargeError raised by an Account's
// own limit. The other levels are named by their Budget's name.
const LevelAssociation = "association"

// TooLargeError reports a charge that can never fit: its cost exceeds the
// limit of a level even with nothing else charged.
type TooLargeError struct {
	Cost  int64  // the charge, in bytes
	Limit int64  // the limit it exceeds
	Level string // LevelAssociation or the name of a Budget
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("quota: charge of %d bytes exceeds %s limit of %d", e.Cost, e.Level, e.Limit)
}

// Is reports whether target is ErrTooLarge.
func (e *TooLargeError) Is(target error) bool { return target == ErrTooLarge }
