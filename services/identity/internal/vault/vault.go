// Package vault is the cryptography of identity's identifier vault, kept
// apart from storage so every property is tested on plain bytes.
//
// Envelope encryption: each subject's identifiers are sealed with AES-256-GCM
// under a fresh random 256-bit data key, and the data key is wrapped (also
// AES-256-GCM, with the subject reference and key version as associated data)
// under a versioned key-encryption key (KEK) from configuration. Why:
//   - erasure deletes the wrapped data key with the ciphertext: nothing left
//     anywhere, including the KEKs, can open that subject's entry again
//     (crypto-shredding), and no other subject is touched;
//   - rotating a KEK re-wraps 32-byte data keys, never re-encrypts records;
//   - the subject reference is bound into both layers as associated data, so
//     an entry copied onto another subject's row fails to open.
//
// GCM key wrapping rather than AES-KW (RFC 3394): the standard library has
// GCM, it authenticates the associated data, and a random 96-bit nonce per
// wrap is safe at the volume of one wrap per registration or rotation.
//
// Blind indexes are keyed HMAC-SHA256 digests of normalised identifiers, so
// "who has this NHS number" and "which subject is this local id" are answered
// by equality on digests without decrypting anything. The NHS number and the
// local id get separate keys derived from one configured index key, so a
// digest from one index means nothing in the other.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// KeyBytes is the size of every AES-256 key here: KEKs and data keys.
const KeyBytes = 32

// MinIndexKeyBytes is the shortest blind-index key accepted.
const MinIndexKeyBytes = 32

// format is the first byte of each sealed blob, so the layout can change
// later without guessing.
const format byte = 1

// Errors.
var (
	// ErrUnknownKEK: an entry is wrapped under a KEK version not configured.
	ErrUnknownKEK = errors.New("vault: no key-encryption key is configured for this version")
	// ErrOpen: authentication failed (wrong key, wrong subject, tampering)
	// or the entry has been shredded.
	ErrOpen = errors.New("vault: the entry cannot be opened")
)

// Sealed is one subject's vault entry as stored.
type Sealed struct {
	KEKVersion int
	WrappedKey []byte // format || nonce || GCM(KEK, data key)
	Ciphertext []byte // format || nonce || GCM(data key, identifiers)
}

// KEKs are the configured key-encryption keys by version.
type KEKs struct {
	aeads   map[int]cipher.AEAD
	current int
}

// NewKEKs checks keys (version => 32-byte key, versions from 1) and that
// the current version has one.
func NewKEKs(keys map[int][]byte, current int) (*KEKs, error) {
	k := &KEKs{aeads: map[int]cipher.AEAD{}, current: current}
	for v, key := range keys {
		if v < 1 {
			return nil, fmt.Errorf("vault: KEK version %d: versions start at 1", v)
		}
		if len(key) != KeyBytes {
			return nil, fmt.Errorf("vault: KEK version %d: %d bytes, want exactly %d (AES-256)", v, len(key), KeyBytes)
		}
		a, err := newGCM(key)
		if err != nil {
			return nil, err
		}
		k.aeads[v] = a
	}
	if _, ok := k.aeads[current]; !ok {
		return nil, fmt.Errorf("vault: current KEK version %d: %w", current, ErrUnknownKEK)
	}
	return k, nil
}

// Current is the version new entries and re-wraps use.
func (k *KEKs) Current() int { return k.current }

// Has reports whether version is configured.
func (k *KEKs) Has(version int) bool { _, ok := k.aeads[version]; return ok }

// Versions lists the configured versions, oldest first.
func (k *KEKs) Versions() []int {
	out := make([]int, 0, len(k.aeads))
	for v := range k.aeads {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}

// Seal encrypts plaintext for subjectRef under a fresh data key wrapped by
// the current KEK.
func (k *KEKs) Seal(subjectRef string, plaintext []byte) (Sealed, error) {
	dek := make([]byte, KeyBytes)
	if _, err := rand.Read(dek); err != nil {
		return Sealed{}, err
	}
	defer clear(dek)
	data, err := newGCM(dek)
	if err != nil {
		return Sealed{}, err
	}
	ct, err := seal(data, plaintext, contentAD(subjectRef))
	if err != nil {
		return Sealed{}, err
	}
	wrapped, err := seal(k.aeads[k.current], dek, wrapAD(subjectRef, k.current))
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{KEKVersion: k.current, WrappedKey: wrapped, Ciphertext: ct}, nil
}

// Open decrypts subjectRef's entry.
func (k *KEKs) Open(subjectRef string, s Sealed) ([]byte, error) {
	dek, err := k.unwrap(subjectRef, s)
	if err != nil {
		return nil, err
	}
	defer clear(dek)
	data, err := newGCM(dek)
	if err != nil {
		return nil, err
	}
	return open(data, s.Ciphertext, contentAD(subjectRef))
}

// Rewrap moves an entry's data key under the current KEK; the ciphertext is
// unchanged.
func (k *KEKs) Rewrap(subjectRef string, s Sealed) (Sealed, error) {
	dek, err := k.unwrap(subjectRef, s)
	if err != nil {
		return Sealed{}, err
	}
	defer clear(dek)
	wrapped, err := seal(k.aeads[k.current], dek, wrapAD(subjectRef, k.current))
	if err != nil {
		return Sealed{}, err
	}
	return Sealed{KEKVersion: k.current, WrappedKey: wrapped, Ciphertext: s.Ciphertext}, nil
}

func (k *KEKs) unwrap(subjectRef string, s Sealed) ([]byte, error) {
	a, ok := k.aeads[s.KEKVersion]
	if !ok {
		return nil, ErrUnknownKEK
	}
	dek, err := open(a, s.WrappedKey, wrapAD(subjectRef, s.KEKVersion))
	if err != nil {
		return nil, err
	}
	if len(dek) != KeyBytes {
		return nil, ErrOpen
	}
	return dek, nil
}

func contentAD(subjectRef string) []byte { return []byte("poet-identity/vault/v1\x00" + subjectRef) }

func wrapAD(subjectRef string, version int) []byte {
	return []byte("poet-identity/dek/v1\x00" + subjectRef + "\x00" + strconv.Itoa(version))
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func seal(a cipher.AEAD, plaintext, ad []byte) ([]byte, error) {
	out := make([]byte, 1+a.NonceSize(), 1+a.NonceSize()+len(plaintext)+a.Overhead())
	out[0] = format
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return a.Seal(out, out[1:], plaintext, ad), nil
}

func open(a cipher.AEAD, blob, ad []byte) ([]byte, error) {
	n := a.NonceSize()
	if len(blob) < 1+n+a.Overhead() || blob[0] != format {
		return nil, ErrOpen
	}
	pt, err := a.Open(nil, blob[1:1+n], blob[1+n:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// BlindIndex computes lookup digests of normalised identifiers.
type BlindIndex struct {
	nhs, local []byte
}

// NewBlindIndex derives the NHS-number and local-id keys from key.
func NewBlindIndex(key []byte) (*BlindIndex, error) {
	if len(key) < MinIndexKeyBytes {
		return nil, fmt.Errorf("vault: the index key must be at least %d bytes", MinIndexKeyBytes)
	}
	return &BlindIndex{
		nhs:   mac(key, []byte("poet-identity/blind-index/nhs-number/v1")),
		local: mac(key, []byte("poet-identity/blind-index/local-id/v1")),
	}, nil
}

// NHSNumber is the digest of a normalised NHS number: equal across
// organisations, so one number held by two organisations is found by it.
func (b *BlindIndex) NHSNumber(normalised string) string {
	return digest(b.nhs, []byte(normalised))
}

// LocalID is the digest of (organisation, local id).
func (b *BlindIndex) LocalID(organisationID, localID string) string {
	return digest(b.local, []byte(organisationID+"\x00"+localID))
}

func mac(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}

func digest(key, msg []byte) string { return base64.RawURLEncoding.EncodeToString(mac(key, msg)) }
