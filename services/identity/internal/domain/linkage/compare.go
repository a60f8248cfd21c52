package linkage

// Field is one compared identifier.
type Field uint8

// Fields compared for probabilistic linkage, in the order of Comparison.
const (
	FieldGivenName Field = iota
	FieldFamilyName
	FieldBirthDate
	FieldSex
	FieldPostcode
	FieldNHSNumber
	FieldUPN
	NumFields
)

// Level is how well a field agrees between two records: 0 is the strongest
// agreement, larger is weaker, and Missing means one side had no value.
type Level uint8

// Missing: the field is absent from one or both records, so it weighs
// nothing either way.
const Missing Level = 255

// Comparison holds one Level per Field.
type Comparison [NumFields]Level

// Levels of each field (index = Level).
const (
	GivenExact    Level = iota // identical after normalisation
	GivenAlias                 // nickname of the same formal name, or the same first forename
	GivenClose                 // one edit apart or Jaro-Winkler ≥ 0.92: a typo
	GivenWeak                  // Jaro-Winkler ≥ 0.80
	GivenDisagree              //
)

// Family name levels.
const (
	FamilyExact    Level = iota
	FamilyClose          // one edit apart, Jaro-Winkler ≥ 0.92, or a shared part of a double-barrelled name
	FamilyWeak           // Jaro-Winkler ≥ 0.80
	FamilyDisagree       // includes surname changes: their rate is learnt as m
)

// Date of birth levels.
const (
	BirthExact    Level = iota
	BirthSwapped        // day and month transposed, same year
	BirthNear           // one part a typo away: one digit, ±3 days, ±1 month or year
	BirthPartial        // two of day, month and year agree
	BirthDisagree       //
)

// Postcode levels.
const (
	PostcodeExact    Level = iota
	PostcodeSector         // same outward code and sector
	PostcodeDistrict       // same outward code
	PostcodeDisagree       //
)

// Levels of the two-valued fields (sex, NHS number, UPN).
const (
	Agree    Level = 0
	Disagree Level = 1
)

// FieldNames are the stable names used in explanations and metrics.
var FieldNames = [NumFields]string{"given_name", "family_name", "date_of_birth", "sex", "postcode", "nhs_number", "upn"}

// levelNames[f][l] describes level l of field f.
var levelNames = [NumFields][]string{
	{"exact", "nickname or same first forename", "a typo apart (one edit or Jaro-Winkler ≥ 0.92)", "weakly similar (Jaro-Winkler ≥ 0.80)", "different"},
	{"exact", "a typo apart (one edit or Jaro-Winkler ≥ 0.92) or a shared part", "weakly similar (Jaro-Winkler ≥ 0.80)", "different"},
	{"exact", "day and month swapped", "one part a typo away", "two of day, month, year agree", "different"},
	{"agree", "different"},
	{"exact", "same sector", "same district", "different"},
	{"agree", "different"},
	{"agree", "different"},
}

// numLevels[f] is the number of levels of field f, Missing excluded.
var numLevels = func() (n [NumFields]int) {
	for f := range levelNames {
		n[f] = len(levelNames[f])
	}
	return n
}()

// numPatterns is the number of distinct Comparisons (each field's levels
// plus Missing); EM works on counts per pattern, not on pairs.
var numPatterns = func() int {
	p := 1
	for _, n := range numLevels {
		p *= n + 1
	}
	return p
}()

// pattern maps a Comparison to a dense index (mixed radix, Missing last).
func (c *Comparison) pattern() int {
	p := 0
	for f := NumFields; f > 0; f-- {
		l := int(c[f-1])
		if c[f-1] == Missing {
			l = numLevels[f-1]
		}
		p = p*(numLevels[f-1]+1) + l
	}
	return p
}

func comparisonOf(p int) (c Comparison) {
	for f := Field(0); f < NumFields; f++ {
		r := numLevels[f] + 1
		l := p % r
		p /= r
		if l == numLevels[f] {
			c[f] = Missing
		} else {
			c[f] = Level(l)
		}
	}
	return c
}

// Flags note facts about a decision beyond the field levels.
type Flags uint8

// Decision flags.
const (
	// FlagNamesSwapped: the names agreed only after swapping given and family.
	FlagNamesSwapped Flags = 1 << iota
	// FlagConflict: a link would have joined two clusters holding different
	// valid NHS numbers, so it was held for review instead.
	FlagConflict
	// FlagOperator: an operator decided this pair.
	FlagOperator
	// FlagHeld: weighty enough to link, but the household rules (see
	// ceiling) hold it for review.
	FlagHeld
)

// Similarity thresholds on Jaro-Winkler.
const (
	closeSimilarity = 0.92
	weakSimilarity  = 0.80
)

// compare grades every field of a pair.
func (p *prepared) compare(a, b *rec) (c Comparison, flags Flags) {
	c[FieldGivenName] = p.givenLevel(a.given, b.given)
	c[FieldFamilyName] = p.familyLevel(a.family, b.family)
	if c[FieldGivenName] != Missing && c[FieldFamilyName] != Missing &&
		(c[FieldGivenName] > GivenAlias || c[FieldFamilyName] > FamilyExact) && a.given != a.family &&
		p.sameInitial(a.given, b.family) && p.sameInitial(a.family, b.given) {
		// Swapped names: given of one against family of the other.
		if g, f := p.crossLevel(a.given, b.family), p.crossLevel(a.family, b.given); g <= 1 && f <= 1 &&
			int(g)+int(f) < int(c[FieldGivenName])+int(c[FieldFamilyName]) {
			c[FieldGivenName], c[FieldFamilyName] = GivenExact, FamilyExact
			if g == 1 {
				c[FieldGivenName] = GivenClose
			}
			if f == 1 {
				c[FieldFamilyName] = FamilyClose
			}
			flags |= FlagNamesSwapped
		}
	}
	c[FieldBirthDate] = birthLevel(a.dob, b.dob)
	c[FieldSex] = eqLevel(uint64(a.sex), uint64(b.sex))
	switch {
	case a.postcode == 0 || b.postcode == 0:
		c[FieldPostcode] = Missing
	case a.postcode == b.postcode:
		c[FieldPostcode] = PostcodeExact
	case a.sector != 0 && a.sector == b.sector:
		c[FieldPostcode] = PostcodeSector
	case a.district != 0 && a.district == b.district:
		c[FieldPostcode] = PostcodeDistrict
	default:
		c[FieldPostcode] = PostcodeDisagree
	}
	c[FieldNHSNumber] = eqLevel(a.nhs, b.nhs)
	c[FieldUPN] = eqLevel(uint64(a.upn), uint64(b.upn))
	return c, flags
}

func eqLevel(a, b uint64) Level {
	switch {
	case a == 0 || b == 0:
		return Missing
	case a == b:
		return Agree
	}
	return Disagree
}

func birthLevel(a, b uint32) Level {
	if a == 0 || b == 0 {
		return Missing
	}
	if a == b {
		return BirthExact
	}
	ya, ma, da := a>>9, (a>>5)&15, a&31
	yb, mb, db := b>>9, (b>>5)&15, b&31
	if ya == yb && da == mb && ma == db {
		return BirthSwapped
	}
	switch {
	case ya == yb && ma == mb:
		return nearOr(da, db, 3)
	case ya == yb && da == db:
		return nearOr(ma, mb, 1)
	case ma == mb && da == db:
		return nearOr(ya, yb, 1)
	}
	return BirthDisagree
}

// nearOr grades the one differing part of a date: near when it is within
// span or one decimal digit off (07 for 01, 1998 for 1988), else partial.
func nearOr(a, b, span uint32) Level {
	if a-b <= span || b-a <= span {
		return BirthNear
	}
	diff := 0
	for ; a > 0 || b > 0; a, b = a/10, b/10 {
		if a%10 != b%10 {
			diff++
		}
	}
	if diff == 1 {
		return BirthNear
	}
	return BirthPartial
}

func (p *prepared) givenLevel(x, y uint32) Level {
	switch {
	case x == 0 || y == 0:
		return Missing
	case x == y:
		return GivenExact
	}
	nx, ny := &p.names.info[x], &p.names.info[y]
	if sharesGroup(nx.groups, ny.groups) || (nx.tokens != nil || ny.tokens != nil) && p.names.first(x) == p.names.first(y) {
		return GivenAlias
	}
	if oneEdit(nx.text, ny.text) {
		return GivenClose
	}
	switch s := similarity(nx, ny); {
	case s >= closeSimilarity:
		return GivenClose
	case s >= weakSimilarity:
		return GivenWeak
	}
	return GivenDisagree
}

func sharesGroup(a, b []uint16) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return true
			}
		}
	}
	return false
}

func (p *prepared) familyLevel(x, y uint32) Level {
	switch {
	case x == 0 || y == 0:
		return Missing
	case x == y:
		return FamilyExact
	}
	nx, ny := &p.names.info[x], &p.names.info[y]
	if nx.tokens != nil || ny.tokens != nil {
		tx, ty := nx.tokens, ny.tokens
		if tx == nil {
			tx = []uint32{x}
		}
		if ty == nil {
			ty = []uint32{y}
		}
		for _, a := range tx {
			for _, b := range ty {
				if a == b {
					return FamilyClose
				}
			}
		}
	}
	if oneEdit(nx.text, ny.text) {
		return FamilyClose
	}
	switch s := similarity(nx, ny); {
	case s >= closeSimilarity:
		return FamilyClose
	case s >= weakSimilarity:
		return FamilyWeak
	}
	return FamilyDisagree
}

// crossLevel compares two names irrespective of role: 0 same, 1 close, 2 not.
func (p *prepared) crossLevel(x, y uint32) uint8 {
	if x == y {
		return 0
	}
	nx, ny := &p.names.info[x], &p.names.info[y]
	if oneEdit(nx.text, ny.text) || similarity(nx, ny) >= closeSimilarity {
		return 1
	}
	return 2
}

// oneEdit reports whether a and b (three letters or more) are one
// substitution, insertion, deletion or swap of neighbours apart: the
// clerical slips Jaro-Winkler underrates in short names (AVA, AAV).
func oneEdit(a, b string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(a) < 3 || len(b)-len(a) > 1 || a == b {
		return false
	}
	i := 0
	for i < len(a) && a[i] == b[i] {
		i++
	}
	if len(a) == len(b) {
		if a[i+1:] == b[i+1:] {
			return true // substitution
		}
		return i+1 < len(a) && a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:] // swap
	}
	return a[i:] == b[i+1:] // insertion
}

// sameInitial: a cheap first test for swapped names, which keep their first
// letters (Jaro-Winkler ≥ 0.92 is rare between names starting differently).
func (p *prepared) sameInitial(x, y uint32) bool {
	return p.names.info[x].text[0] == p.names.info[y].text[0]
}
