package linkage

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

var (
	testBoys   = strings.Fields("OLIVER GEORGE HARRY JACK NOAH CHARLIE LEO OSCAR THOMAS ARTHUR JAMES HENRY WILLIAM ALFIE JOSHUA FREDDIE ARCHIE ETHAN ISAAC MUHAMMAD LUCAS SAMUEL DANIEL JOSEPH MAX LOGAN")
	testGirls  = strings.Fields("AMELIA OLIVIA ISLA AVA MIA IVY LILY ISABELLA ROSIE SOPHIA GRACE WILLOW FREYA FLORENCE EMILY ELLA POPPY EVIE ELSIE CHARLOTTE MAISIE RUBY HARPER ALICE SIENNA MATILDA")
	testFamily = strings.Fields(`SMITH JONES WILLIAMS TAYLOR BROWN DAVIES EVANS WILSON THOMAS JOHNSON ROBERTS ROBINSON
		THOMPSON WRIGHT WALKER WHITE EDWARDS HUGHES GREEN HALL LEWIS HARRIS CLARKE PATEL JACKSON WOOD TURNER MARTIN
		COOPER HILL WARD MORRIS MOORE CLARK LEE KING BAKER HARRISON MORGAN ALLEN JAMES SCOTT PHILLIPS WATSON DAVIS
		PARKER PRICE BENNETT YOUNG GRIFFITHS MITCHELL KELLY COOK CARTER RICHARDSON BAILEY COLLINS BELL SHAW MURPHY
		MILLER COX RICHARDS KHAN MARSHALL ANDERSON SIMPSON ELLIS ADAMS SINGH BEGUM WILKINSON FOSTER CHAPMAN POWELL
		ASHWORTH BRADSHAW CROMPTON DUCKWORTH FAIRCLOUGH GREENHALGH HARGREAVES ISHERWOOD KERSHAW LIVESEY MCLOUGHLIN`)
)

func testNHS(rng *rand.Rand) string {
	for {
		nine := fmt.Sprintf("%09d", 400000000+rng.IntN(300000000))
		if d := NHSCheckDigit(nine); d >= 0 {
			return nine + string(rune('0'+d))
		}
	}
}

func typo(rng *rand.Rand, s string) string {
	b := []byte(s)
	i := 1 + rng.IntN(len(b)-1)
	b[i] = byte('A' + rng.IntN(26))
	return string(b)
}

// background builds people with two records each: a health record with an
// NHS number, and a children's record without one and with some noise, so
// the engine has matches to learn from. truth gives the person of each.
func background(n int) (recs []Record, truth []int32) {
	rng := rand.New(rand.NewPCG(3, 5))
	for p := 0; p < n; p++ {
		sex, given := "M", testBoys[rng.IntN(len(testBoys))]
		if rng.IntN(2) == 0 {
			sex, given = "F", testGirls[rng.IntN(len(testGirls))]
		}
		family := testFamily[rng.IntN(len(testFamily))]
		dob := fmt.Sprintf("%04d-%02d-%02d", 1995+rng.IntN(30), 1+rng.IntN(12), 1+rng.IntN(28))
		pc := fmt.Sprintf("NB%d %d%c%c", 1+rng.IntN(20), rng.IntN(10), 'A'+rng.IntN(20), 'A'+rng.IntN(20))
		h := Record{Organisation: "org_health", LocalID: fmt.Sprintf("H%d", p), NHSNumber: testNHS(rng),
			GivenName: given, FamilyName: family, BirthDate: dob, Sex: sex, Postcode: pc, Eligible: true}
		c := h
		c.Organisation, c.LocalID, c.NHSNumber = "org_children", fmt.Sprintf("C%d", p), ""
		if rng.Float64() < 0.10 {
			c.GivenName = typo(rng, c.GivenName)
		}
		if rng.Float64() < 0.05 {
			c.FamilyName = typo(rng, c.FamilyName)
		}
		if rng.Float64() < 0.30 {
			c.Postcode = fmt.Sprintf("NB%d %d%c%c", 1+rng.IntN(20), rng.IntN(10), 'A'+rng.IntN(20), 'A'+rng.IntN(20))
		}
		recs = append(recs, h, c)
		truth = append(truth, int32(p), int32(p))
	}
	return recs, truth
}

func testConfig() Config {
	c := DefaultConfig()
	c.RandomPairs = 200_000
	c.EMSampleRate = 1
	return c
}

type hardCase struct {
	name string
	a, b Record
	// wantLinked: both records end in one cluster; otherwise neither linked
	// nor queued for review, unless wantReview.
	wantLinked, wantReview bool
	check                  func(t *testing.T, d Decision, e Explanation)
}

func person(given, family, dob, sex, pc string) Record {
	return Record{Organisation: "org_x", GivenName: given, FamilyName: family, BirthDate: dob, Sex: sex, Postcode: pc, Eligible: true}
}

func withNHS(r Record, nhs string) Record {
	r.NHSNumber = nhs
	return r
}

func TestHardCases(t *testing.T) {
	cases := []hardCase{
		{name: "nickname", a: person("William", "Hartley", "2003-06-21", "M", "NB7 3HQ"), b: person("Bill", "Hartley", "2003-06-21", "M", "NB9 1TX"), wantLinked: true,
			check: func(t *testing.T, d Decision, e Explanation) {
				if d.Comparison[FieldGivenName] != GivenAlias || e.Fields[0].Outcome != "nickname or same first forename" || e.Fields[0].Weight <= 0 {
					t.Errorf("nickname not recognised: %+v", e.Fields[0])
				}
			}},
		{name: "swapped names", a: person("Priya", "Ramsbottom", "1999-11-02", "F", "NB2 8LP"), b: person("Ramsbottom", "Priya", "1999-11-02", "F", "NB2 8LP"), wantLinked: true,
			check: func(t *testing.T, d Decision, e Explanation) {
				if d.Flags&FlagNamesSwapped == 0 || !strings.Contains(strings.Join(e.Notes, ";"), "swapped") {
					t.Errorf("swap not noted: %+v", e)
				}
			}},
		{name: "surname change", a: person("Emily", "Thornton", "1998-07-14", "F", "NB4 2QT"), b: person("Emily", "Whitaker-Thornton", "1998-07-14", "F", "NB4 2QT"), wantLinked: true},
		{name: "surname change, new name only", a: person("Imogen", "Thornton", "1997-03-19", "F", "NB5 6RS"), b: person("Imogen", "Whitaker", "1997-03-19", "F", "NB5 6RS"), wantLinked: true,
			check: func(t *testing.T, d Decision, e Explanation) {
				if d.Comparison[FieldFamilyName] != FamilyDisagree || e.Fields[1].Weight >= 0 {
					t.Errorf("family names should disagree and count against: %+v", e.Fields[1])
				}
			}},
		{name: "day-month swap", a: person("Keira", "Fairclough", "2006-03-05", "F", "NB11 4DE"), b: person("Keira", "Fairclough", "2006-05-03", "F", "NB11 4DE"), wantLinked: true,
			check: func(t *testing.T, d Decision, e Explanation) {
				if d.Comparison[FieldBirthDate] != BirthSwapped || e.Fields[2].Outcome != "day and month swapped" {
					t.Errorf("swap not seen: %+v", e.Fields[2])
				}
			}},
		{name: "typo and a move", a: person("Theodore", "Kershaw", "2010-09-30", "M", "NB1 2AB"), b: person("Theodroe", "Kershaw", "2010-09-30", "M", "NB14 7ZZ"), wantLinked: true},
		{name: "unrelated twin-like pair", a: person("Jack", "Pemberton", "2008-04-12", "M", "NB6 5GH"), b: person("Oscar", "Pemberton", "2008-04-12", "M", "NB6 5GH"), wantLinked: false},
		{name: "same name, different person", a: person("Harry", "Smith", "2001-01-17", "M", "NB3 1AA"), b: person("Harry", "Smith", "1996-08-02", "M", "NB12 9BB"), wantLinked: false},
		// Household rules: siblings sharing an NHS number by a clerical slip
		// agree on surname, address and number, nothing personal.
		{name: "siblings with one NHS number", a: withNHS(person("Melissa", "Nelson", "2005-08-07", "F", "NB8 6AY"), "9434765919"),
			b: withNHS(person("Talyn", "Nelson", "2007-02-16", "F", "NB8 6AY"), "9434765919"), wantReview: true},
		{name: "given name missing, twin possible", a: person("Noah", "Gladenby", "2014-09-21", "M", "NB4 1RP"), b: person("", "Gladenby", "2014-09-21", "M", "NB4 1RP"), wantReview: true},
	}
	recs, _ := background(2500)
	base := len(recs)
	for _, c := range cases {
		recs = append(recs, c.a, c.b)
	}
	res, err := Link(recs, nil, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	byPair := map[[2]int32]Decision{}
	for _, d := range res.Decisions {
		byPair[[2]int32{d.A, d.B}] = d
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := int32(base+2*i), int32(base+2*i+1)
			linked := res.Clusters[a] == res.Clusters[b]
			d, decided := byPair[[2]int32{a, b}]
			if linked != c.wantLinked {
				t.Fatalf("linked = %v, want %v (decision %+v, %+v)", linked, c.wantLinked, d, res.Model.Explain(d))
			}
			if c.wantReview {
				if !decided || d.Band != BandReview || d.Flags&FlagHeld == 0 {
					t.Fatalf("want a review held by the household rules, got %+v (found %v)", d, decided)
				}
				return
			}
			if !c.wantLinked {
				if decided {
					t.Errorf("an unrelated pair got a decision: %+v", res.Model.Explain(d))
				}
				return
			}
			if !decided || d.Band != BandLink || d.Rule != RuleProbabilistic {
				t.Fatalf("want a probabilistic link decision, got %+v (found %v)", d, decided)
			}
			e := res.Model.Explain(d)
			if e.Probability < 0.99 || len(e.Fields) != int(NumFields) {
				t.Errorf("explanation %+v", e)
			}
			if c.check != nil {
				c.check(t, d, e)
			}
		})
	}
}

func TestBackgroundQualityAndModel(t *testing.T) {
	recs, truth := background(3000)
	res, err := Link(recs, nil, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	q := EvaluatePairs(res.Clusters, truth)
	if q.F1 < 0.97 {
		t.Errorf("F1 %.4f on easy data: %+v", q.F1, q)
	}
	m := res.Model
	if !m.Converged {
		t.Error("EM did not converge")
	}
	// Agreement must count for a match and disagreement against, field by field.
	for f := Field(0); f < NumFields; f++ {
		last := len(m.Weights[f]) - 1
		if f != FieldUPN && !(m.Weights[f][0] > 0 && m.Weights[f][last] < 0) {
			t.Errorf("%s: weights %v", FieldNames[f], m.Weights[f])
		}
	}
	if res.Stats.PairsCompared >= int64(len(recs))*int64(len(recs)-1)/2/20 {
		t.Errorf("blocking compared %d pairs of %d records", res.Stats.PairsCompared, len(recs))
	}
	if res.Stats.Eligible != len(recs) || res.Stats.Clusters == 0 {
		t.Errorf("stats %+v", res.Stats)
	}
}

func TestDeterministicRulesEligibilityAndConflicts(t *testing.T) {
	recs, _ := background(1500)
	base := int32(len(recs))
	rng := rand.New(rand.NewPCG(9, 9))
	x, y := testNHS(rng), testNHS(rng)
	extra := []Record{
		// 0, 1: same NHS number and date of birth, nothing else alike.
		{Organisation: "org_a", NHSNumber: x, GivenName: "Zara", FamilyName: "Quinn", BirthDate: "2011-10-10", Eligible: true},
		{Organisation: "org_b", NHSNumber: x, GivenName: "Sky", FamilyName: "Mortimer", BirthDate: "2011-10-10", Eligible: true},
		// 2, 3: same local id in one organisation.
		{Organisation: "org_c", LocalID: "CASE-77", GivenName: "Rowan", FamilyName: "Ibbotson", BirthDate: "2012-01-01", Eligible: true},
		{Organisation: "org_c", LocalID: " CASE-77 ", GivenName: "Ro", FamilyName: "Ibotson", BirthDate: "2012-01-02", Eligible: true},
		// 4, 5: same local id in two organisations: not deterministic.
		{Organisation: "org_d", LocalID: "9", GivenName: "Anwen", FamilyName: "Pugh", BirthDate: "2000-02-02", Eligible: true},
		{Organisation: "org_e", LocalID: "9", GivenName: "Idris", FamilyName: "Price", BirthDate: "1990-09-09", Eligible: true},
		// 6, 7: identical, but 7 has no linkage consent.
		person("Bethany", "Ackroyd", "2004-12-24", "F", "NB8 8YY"),
		{Organisation: "org_x", GivenName: "Bethany", FamilyName: "Ackroyd", BirthDate: "2004-12-24", Sex: "F", Postcode: "NB8 8YY"},
		// 8, 9, 10: one chain that would join two NHS numbers.
		{Organisation: "org_x", NHSNumber: x, GivenName: "Hugo", FamilyName: "Fairbairn", BirthDate: "2011-10-11", Sex: "M", Postcode: "NB1 1AA", Eligible: true},
		{Organisation: "org_x", GivenName: "Hugo", FamilyName: "Fairbairn", BirthDate: "2011-10-11", Sex: "M", Postcode: "NB1 1AA", Eligible: true},
		{Organisation: "org_x", NHSNumber: y, GivenName: "Hugo", FamilyName: "Fairbairn", BirthDate: "2011-10-11", Sex: "M", Postcode: "NB1 1AA", Eligible: true},
	}
	recs = append(recs, extra...)
	res, err := Link(recs, nil, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	cl := func(i int32) int32 { return res.Clusters[base+i] }
	rule := map[[2]int32]Decision{}
	for _, d := range res.Decisions {
		rule[[2]int32{d.A, d.B}] = d
	}
	if cl(0) != cl(1) || rule[[2]int32{base, base + 1}].Rule != RuleNHSNumber {
		t.Error("same NHS number and date of birth must link deterministically")
	}
	if cl(2) != cl(3) || rule[[2]int32{base + 2, base + 3}].Rule != RuleLocalID {
		t.Error("same local id in one organisation must link deterministically")
	}
	if cl(4) == cl(5) {
		t.Error("local ids of two organisations are unrelated")
	}
	if cl(6) == cl(7) || cl(7) != base+7 {
		t.Error("a record without linkage consent must stay alone")
	}
	if cl(8) == cl(10) {
		t.Error("two valid NHS numbers joined in one cluster")
	}
	conflict := false
	for _, d := range res.Decisions {
		if d.Flags&FlagConflict != 0 && d.Band == BandReview && d.A >= base+8 {
			conflict = true
		}
	}
	if !conflict {
		t.Error("the refused link must be queued for review, flagged as a conflict")
	}
	if res.Stats.DeterministicNHS < 1 || res.Stats.DeterministicLocalID < 1 || res.Stats.ConflictsHeld < 1 {
		t.Errorf("stats %+v", res.Stats)
	}
}

func TestOperatorResolutions(t *testing.T) {
	recs, _ := background(1000)
	base := int32(len(recs))
	recs = append(recs,
		person("William", "Hartley", "2003-06-21", "M", "NB7 3HQ"), person("Bill", "Hartley", "2003-06-21", "M", "NB9 1TX"),
		person("Nell", "Oddie", "2002-02-02", "F", "NB3 3CC"), person("Ffion", "Bakewell", "1996-06-06", "F", "NB4 4DD"))
	res, err := Link(recs, []Resolution{{A: base, B: base + 1, Link: false}, {A: base + 3, B: base + 2, Link: true}}, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if res.Clusters[base] == res.Clusters[base+1] {
		t.Error("an operator's no-link must hold")
	}
	if res.Clusters[base+2] != res.Clusters[base+3] || res.Stats.OperatorLinks != 1 {
		t.Error("an operator's link must join the records")
	}
	for _, d := range res.Decisions {
		if d.A == base && d.B == base+1 {
			t.Errorf("a refused pair came back: %+v", d)
		}
		if d.A == base+2 && (d.Rule != RuleOperator || d.Flags&FlagOperator == 0) {
			t.Errorf("operator link recorded as %+v", d)
		}
	}
	if _, err := Link(recs, []Resolution{{A: 0, B: int32(len(recs))}}, testConfig()); err == nil {
		t.Error("a resolution outside the records must be refused")
	}
	bad := testConfig()
	bad.ReviewProbability = 0.999
	if _, err := Link(recs, nil, bad); err == nil {
		t.Error("review above link threshold must be refused")
	}
}

func TestEvaluate(t *testing.T) {
	clusters := []int32{0, 0, 0, 3, 3, 5}
	truth := []int32{1, 1, 2, 2, 2, 9}
	q := EvaluatePairs(clusters, truth)
	// Cells: (0,1)=2 → 1 pair, (0,2)=1, (3,2)=2 → 1 pair. Predicted 3+1, true 1+3.
	if q.TruePositives != 2 || q.PredictedPairs != 4 || q.TruePairs != 4 || q.F1 != 0.5 {
		t.Errorf("%+v", q)
	}
	g := EvaluateGroups(clusters, truth, []uint16{0, 0, 1, 1, 1, 1}, 2)
	// Group 0: records 0,1 both have a match and found it; both share a cluster with record 2 (another person).
	if g[0] != (GroupQuality{Records: 2, WithMatch: 2, Found: 2, FalselyJoined: 2}) {
		t.Errorf("group 0: %+v", g[0])
	}
	// Group 1: record 2 (match elsewhere, not found, joined wrongly), 3 and 4 found, 5 alone.
	if g[1] != (GroupQuality{Records: 4, WithMatch: 3, Found: 2, FalselyJoined: 1}) {
		t.Errorf("group 1: %+v", g[1])
	}
	// Accepting the review (2, 5) puts 5 in 2's cluster; the rejected
	// (3, 5) and the link-band decision are ignored.
	got := ResolveReviews([]int32{0, 0, 2, 3, 3, 5}, []Decision{
		{A: 2, B: 5, Band: BandReview}, {A: 3, B: 5, Band: BandReview}, {A: 0, B: 3, Band: BandLink},
	}, func(d Decision) bool { return d.A == 2 })
	if want := []int32{0, 0, 2, 3, 3, 2}; !slices.Equal(got, want) {
		t.Errorf("ResolveReviews = %v, want %v", got, want)
	}
}
