package vault

import (
	"bytes"
	"errors"
	"testing"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, KeyBytes) }

func keks(t *testing.T, current int, versions ...int) *KEKs {
	t.Helper()
	m := map[int][]byte{}
	for _, v := range versions {
		m[v] = key(byte(v))
	}
	k, err := NewKEKs(m, current)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const ref = "sub_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

var secret = []byte(`{"given_name":"Quillfeather","family_name":"Zanzibar","nhs_number":"9434765919"}`)

func TestSealOpen(t *testing.T) {
	k := keks(t, 1, 1)
	s, err := k.Seal(ref, secret)
	if err != nil {
		t.Fatal(err)
	}
	if s.KEKVersion != 1 || bytes.Contains(s.Ciphertext, []byte("Quillfeather")) || bytes.Contains(s.WrappedKey, []byte("Quillfeather")) {
		t.Fatalf("sealed entry shows plaintext or wrong version: %+v", s)
	}
	if len(s.WrappedKey) != 1+12+KeyBytes+16 || s.WrappedKey[0] != format {
		t.Fatalf("wrapped key is %d bytes, want format+nonce+key+tag = 61", len(s.WrappedKey))
	}
	got, err := k.Open(ref, s)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := k.Seal(ref, secret)
	if bytes.Equal(again.Ciphertext, s.Ciphertext) || bytes.Equal(again.WrappedKey, s.WrappedKey) {
		t.Fatal("two seals of the same identifiers must differ (fresh data key and nonces)")
	}
}

func TestOpenRefusesWhatIsNotThisSubjectsEntry(t *testing.T) {
	k := keks(t, 1, 1)
	s, _ := k.Seal(ref, secret)
	other, _ := k.Seal("sub_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", secret)
	cases := map[string]struct {
		ref string
		s   Sealed
	}{
		"another subject's reference":  {"sub_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", s},
		"another subject's ciphertext": {ref, Sealed{KEKVersion: 1, WrappedKey: s.WrappedKey, Ciphertext: other.Ciphertext}},
		"another subject's data key":   {ref, Sealed{KEKVersion: 1, WrappedKey: other.WrappedKey, Ciphertext: s.Ciphertext}},
		"flipped ciphertext bit":       {ref, Sealed{KEKVersion: 1, WrappedKey: s.WrappedKey, Ciphertext: flip(s.Ciphertext, 20)}},
		"flipped wrapped key bit":      {ref, Sealed{KEKVersion: 1, WrappedKey: flip(s.WrappedKey, 20), Ciphertext: s.Ciphertext}},
		"version relabelled":           {ref, Sealed{KEKVersion: 2, WrappedKey: s.WrappedKey, Ciphertext: s.Ciphertext}},
		"shredded (no data key)":       {ref, Sealed{KEKVersion: 1, Ciphertext: s.Ciphertext}},
		"truncated":                    {ref, Sealed{KEKVersion: 1, WrappedKey: s.WrappedKey, Ciphertext: s.Ciphertext[:10]}},
	}
	k2 := keks(t, 1, 1, 2)
	for name, c := range cases {
		if _, err := k2.Open(c.ref, c.s); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", name, err)
		}
	}
	if _, err := k.Open(ref, Sealed{KEKVersion: 9, WrappedKey: s.WrappedKey, Ciphertext: s.Ciphertext}); !errors.Is(err, ErrUnknownKEK) {
		t.Errorf("unknown version: %v", err)
	}
}

// Without its wrapped data key, a ciphertext cannot be opened even by
// someone holding every KEK: the data key is random, not derived.
func TestShreddedCiphertextResistsEveryKEK(t *testing.T) {
	k := keks(t, 2, 1, 2)
	s, _ := k.Seal(ref, secret)
	for _, v := range []int{1, 2} {
		for _, wrapped := range [][]byte{nil, {format}} {
			if _, err := k.Open(ref, Sealed{KEKVersion: v, WrappedKey: wrapped, Ciphertext: s.Ciphertext}); err == nil {
				t.Fatalf("opened a shredded entry with KEK %d", v)
			}
		}
		// Nor is the KEK itself the data key.
		a, _ := newGCM(key(byte(v)))
		if _, err := open(a, s.Ciphertext, contentAD(ref)); err == nil {
			t.Fatalf("KEK %d opened the ciphertext directly", v)
		}
	}
}

func TestRewrapMovesToCurrentKEK(t *testing.T) {
	old := keks(t, 1, 1)
	s, _ := old.Seal(ref, secret)
	both := keks(t, 2, 1, 2)
	r, err := both.Rewrap(ref, s)
	if err != nil {
		t.Fatal(err)
	}
	if r.KEKVersion != 2 || !bytes.Equal(r.Ciphertext, s.Ciphertext) || bytes.Equal(r.WrappedKey, s.WrappedKey) {
		t.Fatalf("rewrap: version %d, ciphertext kept %v", r.KEKVersion, bytes.Equal(r.Ciphertext, s.Ciphertext))
	}
	onlyNew := keks(t, 2, 2)
	if got, err := onlyNew.Open(ref, r); err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("after rewrap, version 2 alone must open it: %v", err)
	}
	if _, err := onlyNew.Open(ref, s); !errors.Is(err, ErrUnknownKEK) {
		t.Fatalf("before rewrap, version 2 alone cannot: %v", err)
	}
}

func TestKEKConfiguration(t *testing.T) {
	if _, err := NewKEKs(map[int][]byte{1: make([]byte, 16)}, 1); err == nil {
		t.Error("AES-128 key accepted")
	}
	if _, err := NewKEKs(map[int][]byte{1: key(1)}, 2); !errors.Is(err, ErrUnknownKEK) {
		t.Errorf("current without key: %v", err)
	}
	if _, err := NewKEKs(map[int][]byte{0: key(1)}, 0); err == nil {
		t.Error("version 0 accepted")
	}
	k := keks(t, 3, 3, 1)
	if k.Current() != 3 || !k.Has(1) || k.Has(2) || len(k.Versions()) != 2 || k.Versions()[0] != 1 {
		t.Errorf("current %d versions %v", k.Current(), k.Versions())
	}
}

// Expected digests computed independently with openssl:
//
//	K=$(printf 'poet-identity/blind-index/nhs-number/v1' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef -binary | xxd -p -c 64)
//	printf '9434765919' | openssl dgst -sha256 -mac HMAC -macopt hexkey:$K -binary | base64 | tr '+/' '-_' | tr -d '='
//
// and likewise for 'poet-identity/blind-index/local-id/v1' over
// 'org_children_demo\x00NB-1'.
func TestBlindIndex(t *testing.T) {
	b, err := NewBlindIndex([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	if got := b.NHSNumber("9434765919"); got != "t3RSUEYyPhN4wtkYWRz-obAzbu3BgGtecfRjWXLA-Rg" {
		t.Errorf("NHS digest %s", got)
	}
	if got := b.LocalID("org_children_demo", "NB-1"); got != "yO52MVqoXNuq4g2NyXYPdwj6CIgi9zN2CMWBqlNCSos" {
		t.Errorf("local digest %s", got)
	}
	// The two indexes use different keys: the same text digests differently.
	if b.NHSNumber("org_a1\x009434765919") == b.LocalID("org_a1", "9434765919") {
		t.Error("the NHS and local-id indexes share a key")
	}
	if _, err := NewBlindIndex(make([]byte, 31)); err == nil {
		t.Error("short index key accepted")
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}
