package linkage

import (
	"math"
	"testing"
)

func TestJaroWinklerPublishedValues(t *testing.T) {
	// Values from Winkler (1990) and the standard worked examples.
	cases := []struct {
		a, b string
		want float64
	}{
		{"MARTHA", "MARHTA", 0.961},
		{"DWAYNE", "DUANE", 0.840},
		{"DIXON", "DICKSONX", 0.813},
		{"JONES", "JOHNSON", 0.832},
		{"SMITH", "SMITH", 1},
		{"ABC", "XYZ", 0},
		{"", "", 1},
		{"A", "", 0},
	}
	for _, c := range cases {
		if got := JaroWinkler(c.a, c.b); math.Abs(got-c.want) > 0.0005 {
			t.Errorf("JaroWinkler(%q, %q) = %.4f, want %.3f", c.a, c.b, got, c.want)
		}
		if got, back := JaroWinkler(c.a, c.b), JaroWinkler(c.b, c.a); math.Abs(got-back) > 1e-12 {
			t.Errorf("JaroWinkler is not symmetric on %q, %q: %v vs %v", c.a, c.b, got, back)
		}
	}
	// Non-ASCII text compares by character: one differing rune out of six.
	if got, want := JaroWinkler("RENÉE", "RENEE"), JaroWinkler("RENXE", "RENEE"); math.Abs(got-want) > 1e-12 {
		t.Errorf("rune comparison: got %v want %v", got, want)
	}
}

func TestSoundex(t *testing.T) {
	cases := map[string]uint32{
		"ROBERT": 18163, "RUPERT": 18163, "ASHCRAFT": 1261, "TYMCZAK": 20522, "PFISTER": 16236,
		"HONEYMAN": 8555, "SMITH": 19530, "SMYTH": 19530, "LEE": 12000, "": 0, "123": 0,
	}
	for in, want := range cases {
		if got := soundex(in); got != want {
			t.Errorf("soundex(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestNormaliseName(t *testing.T) {
	cases := map[string]string{
		"O'Brien": "OBRIEN", "smith-Jones": "SMITH JONES", "  Anne  Marie ": "ANNE MARIE",
		"Zoë": "ZOE", "SMITH": "SMITH", "d'Arcy-Évans": "DARCY EVANS", "42": "",
	}
	for in, want := range cases {
		if got := normaliseName(in); got != want {
			t.Errorf("normaliseName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParsers(t *testing.T) {
	if parseDate("2004-02-29") == 0 || parseDate("2003-02-29") != 0 || parseDate("2003-13-01") != 0 || parseDate("03/02/2001") != 0 {
		t.Error("parseDate accepts or rejects the wrong dates")
	}
	if d := parseDate("2001-03-05"); d>>9 != 2001 || (d>>5)&15 != 3 || d&31 != 5 {
		t.Errorf("parseDate packs %x", d)
	}
	full, sector, district := splitPostcode("nb3 4ab")
	if full != "NB3 4AB" || sector != "NB3 4" || district != "NB3" {
		t.Errorf("splitPostcode = %q %q %q", full, sector, district)
	}
	if full, sector, _ := splitPostcode("unknown"); full != "UNKNOWN" || sector != "" {
		t.Errorf("a non-postcode keeps only its text: %q %q", full, sector)
	}
	if parseSex("female") != 2 || parseSex("M") != 1 || parseSex("X") != 0 {
		t.Error("parseSex")
	}
	if parseNHS("943 476 5919") != 9434765919 || parseNHS("9434765918") != 0 {
		t.Error("parseNHS")
	}
}

func TestOneEditAndBirthLevels(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"AVA", "AAV", true}, {"AVA", "EVA", true}, {"JOHN", "JON", true}, {"SMITH", "SMIHT", true}, {"ANNA", "ANNAS", true},
		{"AVA", "AVA", false}, {"AL", "AN", false}, {"JOHN", "JANE", false}, {"SMITH", "SMYTHE", false}, {"ABCD", "BADC", false},
	} {
		if got := oneEdit(c.a, c.b); got != c.want {
			t.Errorf("oneEdit(%q, %q) = %v", c.a, c.b, got)
		}
	}
	d := func(s string) uint32 { return parseDate(s) }
	for _, c := range []struct {
		a, b string
		want Level
	}{
		{"2001-03-05", "2001-03-05", BirthExact}, {"2001-03-05", "2001-05-03", BirthSwapped},
		{"2001-03-05", "2001-03-07", BirthNear}, {"2001-03-05", "2001-03-25", BirthNear}, {"2001-03-05", "2001-04-05", BirthNear},
		{"2001-03-05", "2000-03-05", BirthNear}, {"1998-03-05", "1988-03-05", BirthNear}, {"2001-03-05", "2001-03-18", BirthPartial},
		{"2001-03-05", "2001-11-05", BirthPartial}, {"2001-03-05", "1995-03-05", BirthPartial}, {"2001-03-05", "2002-04-05", BirthDisagree},
	} {
		if got := birthLevel(d(c.a), d(c.b)); got != c.want {
			t.Errorf("birthLevel(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if birthLevel(0, d("2001-03-05")) != Missing {
		t.Error("a missing date must be Missing")
	}
}

// TestSimilarityBands: the bounded similarity must put every pair in the
// same band as the full Jaro-Winkler.
func TestSimilarityBands(t *testing.T) {
	tb := newNameTable()
	names := []string{"OLIVER", "OLIVIA", "JACK", "JAKE", "MARTHA", "MARHTA", "DWAYNE", "DUANE", "SMITH", "SMYTHE", "SCHMIDT",
		"AVA", "EVA", "ZARA", "SARAH", "THOMPSON", "THOMSON", "GREENWOOD", "GREENHALGH", "LI", "LEE", "RENÉE", "RENEE", "MUHAMMAD", "MOHAMMED"}
	band := func(s float64) int {
		switch {
		case s >= closeSimilarity:
			return 0
		case s >= weakSimilarity:
			return 1
		}
		return 2
	}
	for _, a := range names {
		for _, b := range names {
			x, y := &tb.info[tb.intern(a)], &tb.info[tb.intern(b)]
			if got, want := band(similarity(x, y)), band(JaroWinkler(x.text, y.text)); got != want {
				t.Errorf("%s/%s: band %d, want %d", a, b, got, want)
			}
		}
	}
}
