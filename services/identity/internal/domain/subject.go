package domain

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
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

// ErrWeakSubjectKey: a configured HMAC key is too short.
var ErrWeakSubjectKey = errors.New("the key must be at least 32 bytes")

// Errors of the subject use cases.
var (
	// ErrErased: the subject's vault entry was shredded.
	ErrErased = errors.New("the subject's identifiers were erased")
	// ErrNoConsent: no consent in force allows this use.
	ErrNoConsent = errors.New("no consent in force allows this")
	// ErrNotLinked: the subject is not linked to a person.
	ErrNotLinked = errors.New("the subject is not linked to a person")
)

// ErrUnknownKeyVersion: a reference was made with a key version that is no
// longer configured.
var ErrUnknownKeyVersion = errors.New("no key is configured for this version")

// SubjectKeyring makes subject references with identity's versioned secret
// keys. New references use the current version; each subject keeps the
// version that made its reference, so adding a version changes no one's
// reference. The keys never leave it.
type SubjectKeyring struct {
	keys    map[int][]byte
	current int
}

// NewSubjectKeyring copies keys (version => key, versions from 1), refusing
// a key shorter than MinSubjectKeyBytes or a current version without a key.
func NewSubjectKeyring(keys map[int][]byte, current int) (*SubjectKeyring, error) {
	k := &SubjectKeyring{keys: map[int][]byte{}, current: current}
	for v, key := range keys {
		if v < 1 {
			return nil, fmt.Errorf("key version %d: versions start at 1", v)
		}
		if len(key) < MinSubjectKeyBytes {
			return nil, fmt.Errorf("key version %d: %w", v, ErrWeakSubjectKey)
		}
		k.keys[v] = append([]byte(nil), key...)
	}
	if _, ok := k.keys[current]; !ok {
		return nil, fmt.Errorf("current version %d: %w", current, ErrUnknownKeyVersion)
	}
	return k, nil
}

// Current is the version new references are made with.
func (k *SubjectKeyring) Current() int { return k.current }

// Versions lists the configured versions, newest first.
func (k *SubjectKeyring) Versions() []int {
	out := make([]int, 0, len(k.keys))
	for v := range k.keys {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b int) int { return b - a })
	return out
}

// Ref returns "sub_" + base64url(HMAC-SHA256(key version, organisation +
// 0x00 + localID)) cut to 32 characters. Organisation ids cannot hold a NUL
// byte, so the separator keeps ("org_a", "b…") and ("org_ab", "…") apart.
// The same person has unrelated references in two organisations.
func (k *SubjectKeyring) Ref(version int, organisationID, localID string) (string, error) {
	key, ok := k.keys[version]
	if !ok {
		return "", ErrUnknownKeyVersion
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte(organisationID))
	m.Write([]byte{0})
	m.Write([]byte(localID))
	return "sub_" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:subjectRefChars], nil
}

// NewRef is Ref with the current version.
func (k *SubjectKeyring) NewRef(organisationID, localID string) (ref string, version int) {
	ref, _ = k.Ref(k.current, organisationID, localID) // the current version always has a key
	return ref, k.current
}

// PersonKeyring makes reporting person keys from internal person ids with
// identity's reporting key, a different secret from the subject keys: a
// person key reveals neither the person id nor any subject reference.
type PersonKeyring struct{ key []byte }

// NewPersonKeyring copies key, refusing one shorter than MinSubjectKeyBytes.
func NewPersonKeyring(key []byte) (*PersonKeyring, error) {
	if len(key) < MinSubjectKeyBytes {
		return nil, ErrWeakSubjectKey
	}
	return &PersonKeyring{key: append([]byte(nil), key...)}, nil
}

// Key returns "pk_" + base64url(HMAC-SHA256(reporting key, personID)) cut
// to 32 characters (192 bits).
func (k *PersonKeyring) Key(personID string) string {
	m := hmac.New(sha256.New, k.key)
	m.Write([]byte(personID))
	return "pk_" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:subjectRefChars]
}

// NewPersonID returns a random internal person id ("prs_" + 128 random
// bits). Unlike the platform's time-ordered ids it carries no creation time;
// it never leaves identity.
func NewPersonID() string { return "prs_" + rand.Text() }

// Consent scopes identity acts on (api-specs/events/common.json).
const (
	ScopeCrossServiceLinkage = "cross-service-linkage"
	ScopeTransitionSharing   = "transition-sharing"
)

// Subject is what identity keeps about a subject reference outside the
// vault: keyed digests for lookups, the key version that made the reference,
// the person it is linked to (internal id, "" when unlinked) and when it was
// erased.
type Subject struct {
	Ref            string
	OrganisationID string
	KeyVersion     int
	// LocalDigest and NHSDigest are blind indexes ("" when absent or erased).
	LocalDigest string
	NHSDigest   string
	PersonID    string
	ErasedAt    *time.Time
}

// Erased reports whether the subject's vault entry was shredded.
func (s Subject) Erased() bool { return s.ErasedAt != nil }

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
