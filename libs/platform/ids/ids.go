// Package ids makes the platform's opaque identifiers and unguessable tokens.
//
// Identifiers carry a readable prefix ("resp_", "cmp_") and a time-ordered
// body (UUIDv7 in Crockford base32), so they sort by creation and index well,
// yet reveal nothing about the person. Tokens are 256 random bits.
package ids

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"regexp"

	"github.com/google/uuid"
)

// Crockford's alphabet: no I, L, O or U, so ids survive being read aloud or
// typed from paper.
var crockford = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

var prefixPattern = regexp.MustCompile(`^[a-z]{2,8}$`)

// New returns prefix + "_" + a 26-character time-ordered body.
func New(prefix string) string {
	if !prefixPattern.MatchString(prefix) {
		panic(fmt.Sprintf("ids: bad prefix %q", prefix)) // programming error, caught by tests
	}
	u, err := uuid.NewV7()
	if err != nil {
		// crypto/rand failing leaves nothing safe to do.
		panic(fmt.Sprintf("ids: %v", err))
	}
	return prefix + "_" + crockford.EncodeToString(u[:])
}

// Token returns an unguessable URL-safe token of 256 random bits.
func Token() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("ids: %v", err))
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Valid reports whether s looks like an id made by New with this prefix.
func Valid(prefix, s string) bool {
	if len(s) != len(prefix)+1+26 || s[:len(prefix)+1] != prefix+"_" {
		return false
	}
	_, err := crockford.DecodeString(s[len(prefix)+1:])
	return err == nil
}
