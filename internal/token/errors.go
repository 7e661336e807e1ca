package token

import (
	"errors"
	"fmt"
)

// Reason says why a token was rejected. The values are stable: they appear in
// Kubernetes events, in pod conditions and in the IDCO audit log.
type Reason string

// The reasons Verify reports, in the order it checks them.
const (
	ReasonMalformed    Reason = "Malformed"    // not a switchboard token: bad encoding, bad JSON, unknown alg, missing claim
	ReasonUnknownUser  Reason = "UnknownUser"  // the key source has no key at all for the token's user
	ReasonForged       Reason = "Forged"       // the signature matches none of the user's keys
	ReasonRevokedKey   Reason = "RevokedKey"   // the signature matches only revoked keys of the user
	ReasonExpired      Reason = "Expired"      // exp is not after now minus the leeway
	ReasonNotYetValid  Reason = "NotYetValid"  // nbf or iat is after now plus the leeway
	ReasonWrongNetwork Reason = "WrongNetwork" // the token is for another network
	ReasonWrongCluster Reason = "WrongCluster" // the token names clusters and this one is not among them
)

// Error is a token rejected for a Reason. Detail is a lower-case sentence for
// people: what is wrong and what to do about it.
type Error struct {
	Reason Reason
	Detail string
}

func (e *Error) Error() string {
	if e.Detail == "" {
		return "token rejected: " + string(e.Reason)
	}
	return e.Detail
}

// ReasonOf reports the Reason of the first *Error in err's chain. An error
// that a KeySource returned is never reported as a Reason, even if it wraps an
// *Error: a failing key lookup says nothing about the token.
func ReasonOf(err error) (Reason, bool) {
	var ks *keySourceError
	if errors.As(err, &ks) {
		return "", false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason, true
	}
	return "", false
}

func reject(r Reason, detail string) *Error {
	return &Error{Reason: r, Detail: detail}
}

// keySourceError wraps an error from KeySource.Keys so that callers can tell
// "could not check" from "checked and refused". It unwraps, so errors.Is
// still finds context.Canceled and the like.
type keySourceError struct {
	user string
	err  error
}

func (e *keySourceError) Error() string {
	return fmt.Sprintf("look up public keys of user %q: %v", e.user, e.err)
}

func (e *keySourceError) Unwrap() error { return e.err }
