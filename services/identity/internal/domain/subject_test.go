package domain

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// Expected values computed independently with:
//
//	printf 'org_children_demo\x0012345' | openssl dgst -sha256 -hmac 0123456789abcdef0123456789abcdef -binary | base64 | tr '+/' '-_' | cut -c1-32
func TestRefMatchesIndependentHMAC(t *testing.T) {
	k, err := NewSubjectKeyring(testKey)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct{ org, local, want string }{
		{"org_children_demo", "12345", "sub_jLGOqFTCUaFZkO-xkPMem0PinPy3yGgF"},
		{"org_adult_demo", "12345", "sub_b_LT1e3YMafzWOqaxnN-RS1biRkq3eYA"},
	}
	for _, c := range cases {
		if got := k.Ref(c.org, c.local); got != c.want {
			t.Errorf("Ref(%s, %s) = %s, want %s", c.org, c.local, got, c.want)
		}
	}
}

func TestRefShapeAndSeparation(t *testing.T) {
	k, _ := NewSubjectKeyring(testKey)
	contract := regexp.MustCompile(`^sub_[0-9A-Za-z_-]{16,64}$`) // api-specs/events/common.json
	ref := k.Ref("org_children_demo", "A-1")
	if len(ref) != 36 || !contract.MatchString(ref) {
		t.Fatalf("ref %q: want sub_ + 32 base64url characters matching the event contract", ref)
	}
	if k.Ref("org_children_demo", "A-1") != ref {
		t.Error("the same local id in the same organisation must give the same reference")
	}
	// Without the NUL separator both would hash "org_abc".
	if k.Ref("org_ab", "c") == k.Ref("org_a", "bc") {
		t.Error("organisation and local id must be separated before hashing")
	}
	other, _ := NewSubjectKeyring([]byte(strings.Repeat("k", 32)))
	if other.Ref("org_children_demo", "A-1") == ref {
		t.Error("another key must give another reference")
	}
}

func TestKeyringRefusesShortKey(t *testing.T) {
	if _, err := NewSubjectKeyring(make([]byte, 31)); !errors.Is(err, ErrWeakSubjectKey) {
		t.Fatalf("31-byte key: err = %v, want ErrWeakSubjectKey", err)
	}
	key := []byte(strings.Repeat("x", 32))
	k, err := NewSubjectKeyring(key)
	if err != nil {
		t.Fatal(err)
	}
	before := k.Ref("org_a1", "1")
	key[0] = 'y' // the keyring keeps its own copy
	if k.Ref("org_a1", "1") != before {
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
