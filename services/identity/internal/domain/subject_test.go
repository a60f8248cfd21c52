package domain

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

const personKeyWant = "g-Jlzob_hvxbEw2Afj9M0-8IG-TEC7Rs"

// Expected values computed independently with:
//
//	printf 'org_children_demo\x0012345' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef -binary | base64 | tr '+/' '-_' | cut -c1-32
func keyring(t *testing.T, key []byte) *SubjectKeyring {
	t.Helper()
	k, err := NewSubjectKeyring(map[int][]byte{1: key}, 1)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// ref is version 1's reference.
func (k *SubjectKeyring) ref1(org, local string) string {
	r, err := k.Ref(1, org, local)
	if err != nil {
		panic(err)
	}
	return r
}

func TestRefMatchesIndependentHMAC(t *testing.T) {
	k := keyring(t, testKey)
	cases := []struct{ org, local, want string }{
		{"org_children_demo", "12345", "sub_jLGOqFTCUaFZkO-xkPMem0PinPy3yGgF"},
		{"org_adult_demo", "12345", "sub_b_LT1e3YMafzWOqaxnN-RS1biRkq3eYA"},
	}
	for _, c := range cases {
		if got := k.ref1(c.org, c.local); got != c.want {
			t.Errorf("Ref(%s, %s) = %s, want %s", c.org, c.local, got, c.want)
		}
	}
}

// A second version makes new references; references made with version 1
// can still be remade, so existing subjects keep theirs.
func TestVersionedSubjectKeys(t *testing.T) {
	k, err := NewSubjectKeyring(map[int][]byte{1: testKey, 2: []byte(strings.Repeat("v", 32))}, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref, v := k.NewRef("org_children_demo", "12345")
	if v != 2 || ref == "sub_jLGOqFTCUaFZkO-xkPMem0PinPy3yGgF" {
		t.Fatalf("NewRef = %s v%d, want version 2's reference", ref, v)
	}
	if old, _ := k.Ref(1, "org_children_demo", "12345"); old != "sub_jLGOqFTCUaFZkO-xkPMem0PinPy3yGgF" {
		t.Fatalf("version 1 reference changed: %s", old)
	}
	if got := k.Versions(); len(got) != 2 || got[0] != 2 || got[1] != 1 {
		t.Fatalf("Versions = %v, want [2 1]", got)
	}
	if _, err := k.Ref(3, "org_a1", "1"); !errors.Is(err, ErrUnknownKeyVersion) {
		t.Fatalf("unknown version: %v", err)
	}
	if _, err := NewSubjectKeyring(map[int][]byte{1: testKey}, 2); !errors.Is(err, ErrUnknownKeyVersion) {
		t.Fatalf("current without key: %v", err)
	}
	if _, err := NewSubjectKeyring(map[int][]byte{0: testKey}, 0); err == nil {
		t.Fatal("version 0 accepted")
	}
}

// Expected value computed independently with:
//
//	printf 'prs_EXAMPLE' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef -binary | base64 | tr '+/' '-_' | cut -c1-32
func TestPersonKey(t *testing.T) {
	k, err := NewPersonKeyring(testKey)
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Key("prs_EXAMPLE"); got != "pk_"+personKeyWant {
		t.Fatalf("Key = %s, want pk_%s", got, personKeyWant)
	}
	contract := regexp.MustCompile(`^pk_[0-9A-Za-z_-]{16,64}$`) // api-specs/events/common.json
	a, b := NewPersonID(), NewPersonID()
	if a == b || !strings.HasPrefix(a, "prs_") || len(a) != 30 {
		t.Fatalf("person ids %s %s: want distinct prs_ + 26 random characters", a, b)
	}
	if !contract.MatchString(k.Key(a)) || k.Key(a) == k.Key(b) {
		t.Fatal("person keys must match the contract and differ per person")
	}
	if _, err := NewPersonKeyring(make([]byte, 31)); !errors.Is(err, ErrWeakSubjectKey) {
		t.Fatalf("short reporting key: %v", err)
	}
}

func TestRefShapeAndSeparation(t *testing.T) {
	k := keyring(t, testKey)
	contract := regexp.MustCompile(`^sub_[0-9A-Za-z_-]{16,64}$`) // api-specs/events/common.json
	ref := k.ref1("org_children_demo", "A-1")
	if len(ref) != 36 || !contract.MatchString(ref) {
		t.Fatalf("ref %q: want sub_ + 32 base64url characters matching the event contract", ref)
	}
	if k.ref1("org_children_demo", "A-1") != ref {
		t.Error("the same local id in the same organisation must give the same reference")
	}
	// Without the NUL separator both would hash "org_abc".
	if k.ref1("org_ab", "c") == k.ref1("org_a", "bc") {
		t.Error("organisation and local id must be separated before hashing")
	}
	other := keyring(t, []byte(strings.Repeat("k", 32)))
	if other.ref1("org_children_demo", "A-1") == ref {
		t.Error("another key must give another reference")
	}
}

func TestKeyringRefusesShortKey(t *testing.T) {
	if _, err := NewSubjectKeyring(map[int][]byte{1: make([]byte, 31)}, 1); !errors.Is(err, ErrWeakSubjectKey) {
		t.Fatalf("31-byte key: err = %v, want ErrWeakSubjectKey", err)
	}
	key := []byte(strings.Repeat("x", 32))
	k := keyring(t, key)
	before := k.ref1("org_a1", "1")
	key[0] = 'y' // the keyring keeps its own copy
	if k.ref1("org_a1", "1") != before {
		t.Error("changing the caller's slice changed the keyring's key")
	}
}

func TestLocalIDRules(t *testing.T) {
	if got := NormaliseLocalID("  NB-123 \t"); got != "NB-123" {
		t.Errorf("NormaliseLocalID = %q", got)
	}
	for name, c := range map[string]struct {
		id    string
		valid bool
	}{
		"ordinary":  {"NB-123", true},
		"200 chars": {strings.Repeat("é", 200), true},
		"empty":     {"", false},
		"201 chars": {strings.Repeat("a", 201), false},
		"newline":   {"a\nb", false},
		"nul":       {"a\x00b", false},
		"bad utf8":  {"a\xffb", false},
	} {
		errs := ValidateLocalID(c.id)
		if (len(errs) == 0) != c.valid {
			t.Errorf("%s: errors %v, want valid=%v", name, errs, c.valid)
		}
		for _, e := range errs {
			if e.Pointer != "/local_id" || (c.id != "" && strings.Contains(e.Reason, c.id)) {
				t.Errorf("%s: %+v must point at /local_id and not quote the id", name, e)
			}
		}
	}
}
