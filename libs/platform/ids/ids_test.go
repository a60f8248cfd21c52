package ids

import (
	"sort"
	"testing"
)

func TestNewIsPrefixedOrderedAndValid(t *testing.T) {
	var got []string
	for i := 0; i < 1000; i++ {
		id := New("resp")
		if !Valid("resp", id) {
			t.Fatalf("New made an id Valid rejects: %q", id)
		}
		got = append(got, id)
	}
	if !sort.StringsAreSorted(got) {
		t.Fatal("ids made one after another do not sort in creation order")
	}
	seen := map[string]bool{}
	for _, id := range got {
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		seen[id] = true
	}
}

func TestValidRejectsOtherPrefixesAndJunk(t *testing.T) {
	id := New("cmp")
	for _, s := range []string{"", "cmp_", "resp" + id[3:], id + "x", "cmp_!!!!!!!!!!!!!!!!!!!!!!!!!!"} {
		if Valid("cmp", s) {
			t.Errorf("Valid accepted %q", s)
		}
	}
}

func TestTokenIsLongAndUnique(t *testing.T) {
	a, b := Token(), Token()
	if len(a) != 43 || a == b {
		t.Fatalf("tokens %q %q", a, b)
	}
}

func TestNewPanicsOnBadPrefix(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("expected panic for bad prefix")
		}
	}()
	New("Bad Prefix")
}
