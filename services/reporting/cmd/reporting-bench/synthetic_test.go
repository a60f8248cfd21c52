package main

import (
	"reflect"
	"testing"
)

func TestSyntheticResponsesAreValidOrderedAndRepeatable(t *testing.T) {
	sites := registry(150)
	if got := len(organisations(sites)); got != 50 {
		t.Errorf("%d organisations, want 50 (three sites each)", got)
	}
	a, b := newGenerator(7, sites), newGenerator(7, sites)
	last := ""
	for i := range 2000 {
		c := a.next(i, 2000)
		if err := c.Check(); err != nil {
			t.Fatalf("response %d: %v", i, err)
		}
		if c.Period < last {
			t.Fatalf("response %d in %s after %s: not in submission order", i, c.Period, last)
		}
		last = c.Period
		if d := b.next(i, 2000); !reflect.DeepEqual(c, d) {
			t.Fatalf("response %d differs between runs with one seed", i)
		}
	}
	if last != periods[len(periods)-1] {
		t.Errorf("last period %s", last)
	}
}
