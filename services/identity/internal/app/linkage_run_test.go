package app

import (
	"strings"
	"testing"

	"poet.local/services/identity/internal/domain"
	"poet.local/services/identity/internal/domain/linkage"
)

func TestEngineRecordGivesOnlyVerifiedNHSNumbers(t *testing.T) {
	idf := domain.Identifiers{LocalID: "L1", NHSNumber: "9434765919", GivenName: "Ann", DateOfBirth: "2007-11-23", Sex: "female"}
	if r := engineRecord("org_a", idf); r.NHSNumber != "" || !r.Eligible || r.GivenName != "Ann" || r.Organisation != "org_a" {
		t.Fatalf("unverified: %+v", r)
	}
	idf.NHSNumberVerified = true
	if r := engineRecord("org_a", idf); r.NHSNumber != "9434765919" {
		t.Fatalf("verified: %+v", r)
	}
}

func TestAssignPersons(t *testing.T) {
	in := func(ref, person string) LinkageInput {
		return LinkageInput{Subject: domain.Subject{Ref: ref, PersonID: person}}
	}
	inputs := []LinkageInput{
		in("a", "prs_1"), in("b", "prs_1"), in("c", "prs_2"), // cluster 0: keeps prs_1 (two members hold it)
		in("d", "prs_1"), in("e", ""), // cluster 3: split from prs_1, gets a new person
		in("f", "prs_2"),         // alone: unlinked
		in("g", ""), in("h", ""), // cluster 6: new person
	}
	clusters := []int32{0, 0, 0, 3, 3, 5, 6, 6}
	got := (&Service{}).assignPersons(inputs, clusters)
	if got[0] != "prs_1" || got[1] != "prs_1" || got[2] != "prs_1" {
		t.Fatalf("cluster 0: %v", got[:3])
	}
	if got[3] == "" || got[3] == "prs_1" || got[3] == "prs_2" || got[3] != got[4] {
		t.Fatalf("split cluster: %v", got[3:5])
	}
	if got[5] != "" {
		t.Fatalf("singleton: %q", got[5])
	}
	if got[6] == "" || got[6] != got[7] || got[6] == got[3] {
		t.Fatalf("new cluster: %v", got[6:])
	}
}

func TestExplanationLinesHoldNoValues(t *testing.T) {
	e := linkage.Explanation{Rule: "probabilistic", Band: "review", Weight: 12.07, Probability: 0.9998,
		Fields: []linkage.FieldEvidence{{Field: "given_name", Outcome: "missing"}, {Field: "family_name", Outcome: "exact", Weight: 9.3}},
		Notes:  []string{"held for review"}}
	got := strings.Join(ExplanationLines(e), "\n")
	want := "probabilistic rule, review band: match probability 0.9998 (weight +12.1 bits)\ngiven name: missing (+0.0 bits)\nfamily name: exact (+9.3 bits)\nheld for review"
	if got != want {
		t.Fatalf("lines:\n%s\nwant:\n%s", got, want)
	}
}
