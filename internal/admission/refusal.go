package admission

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Refusal is a request the webhook denies: the user's input is wrong, and
// each reason names the field and the fix. Any other error from the
// Validator is the webhook's own failure (the API server then applies the
// failure policy).
type Refusal struct{ Reasons []string }

// maxReasons bounds the reasons one refusal lists: a hostile annotation
// with thousands of bad elements gets a short answer.
const maxReasons = 5

func (r *Refusal) Error() string {
	if len(r.Reasons) <= maxReasons {
		return strings.Join(r.Reasons, "; ")
	}
	return strings.Join(r.Reasons[:maxReasons], "; ") + fmt.Sprintf("; and %d more", len(r.Reasons)-maxReasons)
}

func (r *Refusal) add(format string, args ...any) {
	r.Reasons = append(r.Reasons, fmt.Sprintf(format, args...))
}

// orNil returns r as an error if it holds any reason.
func (r *Refusal) orNil() error {
	if len(r.Reasons) == 0 {
		return nil
	}
	return r
}

// maxQuoted is how much of a user's string a message repeats.
const maxQuoted = 64

// quote quotes s for a message, cut to maxQuoted runes.
func quote(s string) string {
	if utf8.RuneCountInString(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	r := []rune(s)
	return fmt.Sprintf("%q...", string(r[:maxQuoted]))
}
