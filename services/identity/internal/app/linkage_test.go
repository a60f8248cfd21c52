package app

import "testing"

func TestDeterministicMatcher(t *testing.T) {
	cand := Record{ID: "sub_a", OrgID: "org_children_demo", NHSNumber: "9434765919", NHSVerified: true, DOB: "2007-11-23", Eligible: true}
	pool := []Record{
		{ID: "sub_same", OrgID: "org_adult_demo", NHSNumber: "9434765919", NHSVerified: true, DOB: "2007-11-23", Eligible: true},
		{ID: "sub_dob", OrgID: "org_health_demo", NHSNumber: "9434765919", NHSVerified: true, DOB: "2007-11-24", Eligible: true},
		{ID: "sub_unverified", OrgID: "org_health_demo", NHSNumber: "9434765919", DOB: "2007-11-23", Eligible: true},
		{ID: "sub_noconsent", OrgID: "org_adult_demo", NHSNumber: "9434765919", NHSVerified: true, DOB: "2007-11-23"},
		{ID: "sub_other", OrgID: "org_adult_demo", NHSNumber: "4010232137", NHSVerified: true, DOB: "2007-11-23", Eligible: true},
		{ID: "sub_a", OrgID: "org_children_demo", NHSNumber: "9434765919", NHSVerified: true, DOB: "2007-11-23", Eligible: true},
	}
	got := map[string]Band{}
	for _, d := range (DeterministicMatcher{}).Match(cand, pool) {
		if len(d.Explanations) == 0 {
			t.Errorf("%s: no explanation", d.ID)
		}
		got[d.ID] = d.Band
	}
	want := map[string]Band{"sub_same": BandLink, "sub_dob": BandReview, "sub_unverified": BandReview}
	if len(got) != len(want) {
		t.Fatalf("decisions %v, want %v", got, want)
	}
	for id, b := range want {
		if got[id] != b {
			t.Errorf("%s: %s, want %s", id, got[id], b)
		}
	}
	// A candidate without linkage consent matches nothing.
	cand.Eligible = false
	if d := (DeterministicMatcher{}).Match(cand, pool); len(d) != 0 {
		t.Fatalf("ineligible candidate matched %v", d)
	}
	// Without an NHS number the deterministic step has nothing to say.
	cand.Eligible, cand.NHSNumber = true, ""
	if d := (DeterministicMatcher{}).Match(cand, pool); len(d) != 0 {
		t.Fatalf("no NHS number matched %v", d)
	}
}
