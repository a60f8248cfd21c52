package domain

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strings"
	"unicode/utf8"
)

// MinSubjectKeyBytes is the shortest subject key accepted: HMAC-SHA256's own
// block of security, so a short secret cannot be brute-forced from refs.
const MinSubjectKeyBytes = 32

// subjectRefChars is how much of the base64url HMAC a reference keeps:
// 32 characters are 192 bits, ample against collisions and guessing.
const subjectRefChars = 32

// maxLocalIDChars bounds a local id; real ones (case numbers, NHS numbers,
// Unique Pupil Numbers) are far shorter.
const maxLocalIDChars = 200

// ErrWeakSubjectKey: the configured subject key is too short.
var ErrWeakSubjectKey = errors.New("the subject key must be at least 32 bytes")

// SubjectKeyring makes subject references with identity's secret key. The
// key never leaves it.
type SubjectKeyring struct{ key []byte }

// NewSubjectKeyring copies key, refusing one shorter than MinSubjectKeyBytes.
func NewSubjectKeyring(key []byte) (*SubjectKeyring, error) {
	if len(key) < MinSubjectKeyBytes {
		return nil, ErrWeakSubjectKey
	}
	return &SubjectKeyring{key: append([]byte(nil), key...)}, nil
}

// Ref returns "sub_" + base64url(HMAC-SHA256(key, organisation + 0x00 +
// localID)) cut to 32 characters. Organisation ids cannot hold a NUL byte, so
// the separator keeps ("org_a", "b…") and ("org_ab", "…") apart. The same
// person has unrelated references in two organisations.
func (k *SubjectKeyring) Ref(organisationID, localID string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(organisationID))
	m.Write([]byte{0})
	m.Write([]byte(localID))
	return "sub_" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:subjectRefChars]
}

// NormaliseLocalID trims surrounding spaces, so " 123 " and "123" typed on
// two forms give one reference.
func NormaliseLocalID(s string) string { return strings.TrimSpace(s) }

// ValidateLocalID checks a normalised local id. The reason never quotes the
// value: it is an identifier.
func ValidateLocalID(s string) []FieldError {
	switch {
	case s == "":
		return []FieldError{{"/local_id", "Give the person's id in your organisation's records"}}
	case !utf8.ValidString(s):
		return []FieldError{{"/local_id", "The id is not valid UTF-8 text"}}
	case utf8.RuneCountInString(s) > maxLocalIDChars:
		return []FieldError{{"/local_id", "The id is too long: use at most 200 characters"}}
	case strings.ContainsFunc(s, isControl):
		return []FieldError{{"/local_id", "Remove control characters from the id"}}
	}
	return nil
}
