package synthpop

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func gen(t *testing.T, n int, seed uint64, sc Scenario) []Record {
	t.Helper()
	recs, err := Generate(Config{Records: n, Seed: seed, Scenario: sc})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func csvOf(t *testing.T, recs []Record) []byte {
	var b bytes.Buffer
	if err := WriteCSV(&b, recs); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestSameSeedSameBytes(t *testing.T) {
	a := csvOf(t, gen(t, 20_000, 42, Standard()))
	b := csvOf(t, gen(t, 20_000, 42, Standard()))
	if !bytes.Equal(a, b) {
		t.Fatal("the same seed gave different output")
	}
	if c := csvOf(t, gen(t, 20_000, 43, Standard())); bytes.Equal(a, c) {
		t.Fatal("a different seed gave the same output")
	}
	if !bytes.HasPrefix(a, []byte(strings.Join(Header, ",")+"\n")) {
		t.Fatalf("header: %q", a[:120])
	}
}

func TestCheckDigits(t *testing.T) {
	if d := nhsCheckDigit("943476591"); d != 9 || !validNHS("9434765919") || validNHS("9434765918") {
		t.Errorf("NHS check digit: %d", d)
	}
	if c := upnCheckLetter("801200005001"); c != 'B' || !validUPN("B801200005001") || validUPN("A801200005001") {
		t.Errorf("UPN check letter: %c", c)
	}
}

// rates counts shares per service line.
type rates struct{ n, nhs, nhsValid, upn, upnValid, postcode, sex, dob, given map[Service]float64 }

func measure(recs []Record) rates {
	r := rates{map[Service]float64{}, map[Service]float64{}, map[Service]float64{}, map[Service]float64{}, map[Service]float64{},
		map[Service]float64{}, map[Service]float64{}, map[Service]float64{}, map[Service]float64{}}
	for _, x := range recs {
		s := x.Service
		r.n[s]++
		if x.NHSNumber != "" {
			r.nhs[s]++
			if validNHS(x.NHSNumber) {
				r.nhsValid[s]++
			}
		}
		if x.UPN != "" {
			r.upn[s]++
			if validUPN(x.UPN) {
				r.upnValid[s]++
			}
		}
		if x.Postcode == "" {
			r.postcode[s]++
		}
		if x.Sex == "" {
			r.sex[s]++
		}
		if x.BirthDate == "" {
			r.dob[s]++
		}
		if x.GivenName == "" {
			r.given[s]++
		}
	}
	return r
}

func near(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s: %.4f, want %.3f ± %.3f", what, got, want, tol)
	}
}

func TestScenarioRates(t *testing.T) {
	const n = 120_000
	std := gen(t, n, 1, Standard())
	low := gen(t, n, 1, LowQuality())
	s, l := measure(std), measure(low)
	for _, svc := range []Service{Health, Adult} {
		near(t, "standard "+string(svc)+" NHS present", s.nhs[svc]/s.n[svc], 0.95, 0.01)
		near(t, "low-quality "+string(svc)+" NHS present", l.nhs[svc]/l.n[svc], 0.95, 0.01)
		if s.upn[svc] != 0 {
			t.Errorf("%s records carry UPNs", svc)
		}
	}
	near(t, "standard children NHS present", s.nhs[Children]/s.n[Children], 0.15, 0.01)
	if got := l.nhs[Children] / l.n[Children]; got > 0.5 || got < 0.4 {
		t.Errorf("low-quality children NHS present %.3f: want half or fewer", got)
	}
	// Mistyped NHS numbers fail the check digit; the rest are valid.
	near(t, "standard health NHS valid", s.nhsValid[Health]/s.nhs[Health], 0.995, 0.003)
	near(t, "low-quality children NHS valid", l.nhsValid[Children]/l.nhs[Children], 0.98, 0.006)
	if v := s.upnValid[Children] / s.upn[Children]; v < 0.98 {
		t.Errorf("UPN check letters valid on %.3f", v)
	}
	near(t, "standard children postcode missing", s.postcode[Children]/s.n[Children], 0.03, 0.005)
	near(t, "low-quality children postcode missing", l.postcode[Children]/l.n[Children], 0.10, 0.01)
	near(t, "low-quality children sex missing", l.sex[Children]/l.n[Children], 0.03, 0.005)
	near(t, "low-quality children given missing", l.given[Children]/l.n[Children], 0.01, 0.003)
	near(t, "standard adult date missing", s.dob[Adult]/s.n[Adult], 0.002, 0.002)
	// The same people, more mistakes: records disagreeing with their
	// person's usual date of birth and name.
	if a, b := disagreement(std, Children), disagreement(low, Children); b < 2*a {
		t.Errorf("low-quality children's records should disagree more: %.4f vs %.4f", b, a)
	}
}

// disagreement is the share of a service's records whose date of birth or
// family name differs from the commonest one among their person's records.
func disagreement(recs []Record, svc Service) float64 {
	dob := map[int]map[string]int{}
	fam := map[int]map[string]int{}
	for _, r := range recs {
		if dob[r.Person] == nil {
			dob[r.Person], fam[r.Person] = map[string]int{}, map[string]int{}
		}
		dob[r.Person][r.BirthDate]++
		fam[r.Person][strings.ToUpper(r.FamilyName)]++
	}
	mode := func(m map[string]int) string {
		best, bn := "", 0
		for k, v := range m {
			if v > bn || v == bn && k < best {
				best, bn = k, v
			}
		}
		return best
	}
	bad, n := 0, 0
	for _, r := range recs {
		if r.Service != svc || len(dob[r.Person]) == 0 {
			continue
		}
		n++
		if r.BirthDate != mode(dob[r.Person]) || strings.ToUpper(r.FamilyName) != mode(fam[r.Person]) {
			bad++
		}
	}
	return float64(bad) / float64(n)
}

func TestPopulationShape(t *testing.T) {
	recs := gen(t, 60_000, 9, Standard())
	if len(recs) != 60_000 {
		t.Fatalf("%d records", len(recs))
	}
	perPerson := map[int]int{}
	for i, r := range recs {
		if r.ID != i {
			t.Fatalf("record %d has id %d", i, r.ID)
		}
		perPerson[r.Person]++
		switch {
		case r.Age < 0 || r.Age > 30:
			t.Errorf("age %d outside 0-30", r.Age)
		case r.Service == Children && r.Age > 17:
			t.Errorf("children's record at %d", r.Age)
		case r.Service == Adult && r.Age < 17:
			t.Errorf("adult record at %d", r.Age)
		}
		// People are 0 to 30 on 2026-01-01; a mistyped year may add one.
		if r.BirthDate != "" && (r.BirthDate < "1993-12-01" || r.BirthDate > DefaultToday) {
			t.Errorf("date of birth %s outside the window", r.BirthDate)
		}
		if r.LocalID == "" || r.Organisation == "" {
			t.Errorf("record %d has no organisation or local id", i)
		}
	}
	multi := 0
	for _, n := range perPerson {
		if n > 1 {
			multi++
		}
	}
	// Most people appear more than once, so there is something to link.
	if share := float64(multi) / float64(len(perPerson)); share < 0.5 || share > 0.85 {
		t.Errorf("%.2f of people have more than one record", share)
	}
}

func TestConfigErrors(t *testing.T) {
	if _, err := Generate(Config{Records: 0, Scenario: Standard()}); err == nil {
		t.Error("zero records accepted")
	}
	if _, err := Generate(Config{Records: 10}); err == nil {
		t.Error("no scenario accepted")
	}
	if _, err := Generate(Config{Records: 10, Scenario: Standard(), Today: "2026-02-30"}); err == nil {
		t.Error("an impossible date accepted")
	}
	if _, err := ScenarioNamed("nope"); err == nil {
		t.Error("unknown scenario accepted")
	}
	if s, err := ScenarioNamed("low-quality"); err != nil || s.Children.NHSPresent > 0.5 {
		t.Errorf("low-quality: %v %+v", err, s.Children)
	}
}

func TestTypoAndDates(t *testing.T) {
	for y := 1990; y < 2030; y++ {
		for _, d := range []int{dayNumber(y, 1, 1), dayNumber(y, 2, 28), dayNumber(y, 12, 31)} {
			yy, mm, dd := civil(d)
			if dayNumber(yy, mm, dd) != d {
				t.Fatalf("civil/dayNumber round trip fails at %d", d)
			}
		}
	}
	if y, m, d := civil(dayNumber(2024, 2, 29)); y != 2024 || m != 2 || d != 29 {
		t.Errorf("leap day: %d-%d-%d", y, m, d)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 1000; i++ {
		s := typo(rng, "Catherine")
		if s == "Catherine" || len(s) < 8 || len(s) > 10 {
			t.Fatalf("typo(Catherine) = %q", s)
		}
		y, m, d := shiftDate(rng, 2000, 2, 28)
		if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
			t.Fatalf("shiftDate gave %d-%d-%d", y, m, d)
		}
	}
}
