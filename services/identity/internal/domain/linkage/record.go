package linkage

import (
	_ "embed"
	"strings"
	"unicode"
)

// Record is one subject's identifiers as a site recorded them. Fields may be
// empty; an empty or malformed field is "missing" and neither counts for nor
// against a match.
type Record struct {
	Organisation string // organisation id: local ids are only compared within one
	LocalID      string // the site's own person id
	NHSNumber    string // ten digits; spaces allowed; an invalid check digit makes it missing
	UPN          string // Unique Pupil Number; an invalid check letter makes it missing
	GivenName    string
	FamilyName   string
	BirthDate    string // YYYY-MM-DD
	Sex          string // M or F (male, female, 1, 2 accepted); anything else is unknown
	Postcode     string
	// Eligible is true when the subject has cross-service-linkage consent.
	// Ineligible records are never compared and stay alone in their cluster.
	Eligible bool
}

// rec is a record reduced to numbers: names, postcodes and UPNs are interned,
// the NHS number is an integer and the date packed, so a million of them
// take 48 MB and comparing two is a handful of integer tests.
type rec struct {
	nhs      uint64
	given    uint32 // name id; 0 when missing
	family   uint32
	postcode uint32 // full postcode id; 0 when missing
	sector   uint32 // outward code and first inward digit; 0 when unparsed
	district uint32 // outward code; 0 when unparsed
	upn      uint32
	dob      uint32 // year<<9 | month<<5 | day; 0 when missing
	sex      uint8  // 0 unknown, 1 male, 2 female
	eligible bool
}

func (r *rec) year() uint32  { return r.dob >> 9 }
func (r *rec) month() uint32 { return (r.dob >> 5) & 15 }
func (r *rec) day() uint32   { return r.dob & 31 }

// nameInfo is what is known about one normalised name. Given and family
// names share one table so that swapped names compare by id.
type nameInfo struct {
	text        string
	bytes       []byte   // text, for Jaro-Winkler without conversion
	runes       []rune   // text as runes when it is not ASCII
	letters     uint32   // bit c&31 set for each byte c: a quick similarity bound
	code        uint32   // Soundex
	long        uint32   // Soundex with five digits, for blocking
	canon       uint32   // the formal name of its first nickname group, else itself
	tokens      []uint32 // ids of the parts of a multi-part name; nil for one part
	groups      []uint16 // nickname groups it belongs to
	givenCount  uint32
	familyCount uint32
}

type nameTable struct {
	byRaw  map[string]uint32
	byNorm map[string]uint32
	info   []nameInfo // info[0] is the missing name
}

func newNameTable() *nameTable {
	return &nameTable{byRaw: map[string]uint32{}, byNorm: map[string]uint32{}, info: []nameInfo{{}}}
}

// intern returns the id of raw's normalised form, 0 when nothing is left.
func (t *nameTable) intern(raw string) uint32 {
	if raw == "" {
		return 0
	}
	if id, ok := t.byRaw[raw]; ok {
		return id
	}
	id := t.internNorm(normaliseName(raw))
	t.byRaw[strings.Clone(raw)] = id
	return id
}

func (t *nameTable) internNorm(s string) uint32 {
	if s == "" {
		return 0
	}
	if id, ok := t.byNorm[s]; ok {
		return id
	}
	id := uint32(len(t.info))
	t.byNorm[s] = id
	in := nameInfo{text: s, bytes: []byte(s), code: soundex(s), long: soundexN(s, 5), canon: id, groups: nicknames.groups[s]}
	if !isASCII(s) {
		in.runes = []rune(s)
	}
	for i := 0; i < len(s); i++ {
		in.letters |= 1 << (s[i] & 31)
	}
	t.info = append(t.info, in)
	if parts := strings.Fields(s); len(parts) > 1 {
		tokens := make([]uint32, len(parts))
		for i, p := range parts {
			tokens[i] = t.internNorm(p)
		}
		t.info[id].tokens = tokens
	}
	if g := t.info[id].groups; len(g) > 0 {
		t.info[id].canon = t.internNorm(nicknames.formal[g[0]])
	}
	return id
}

// first returns the id of a name's first part (itself for a one-part name).
func (t *nameTable) first(id uint32) uint32 {
	if tk := t.info[id].tokens; tk != nil {
		return tk[0]
	}
	return id
}

//go:embed nicknames.txt
var nicknameData string

// nicknames is the parsed table: the groups each name belongs to, and
// formal[g], the formal name of group g.
var nicknames = parseNicknames(nicknameData)

type nicknameTable struct {
	groups map[string][]uint16
	formal []string
}

func parseNicknames(data string) nicknameTable {
	t := nicknameTable{groups: map[string][]uint16{}}
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(line)
		formal, shorts, ok := strings.Cut(line, ":")
		if line == "" || line[0] == '#' || !ok {
			continue
		}
		g := uint16(len(t.formal))
		formal = strings.TrimSpace(formal)
		t.formal = append(t.formal, formal)
		t.groups[formal] = append(t.groups[formal], g)
		for _, s := range strings.Fields(shorts) {
			t.groups[s] = append(t.groups[s], g)
		}
	}
	return t
}

// normaliseName upper-cases, folds common accents, drops apostrophes and
// other marks, and turns hyphens and runs of spaces into one space:
// "O'Brien" → "OBRIEN", "smith-Jones" → "SMITH JONES".
func normaliseName(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'A' || c > 'Z' {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case r == '-' || r == ' ' || r == '\t' || r == '.' || r == ',':
			space = b.Len() > 0
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
			fallthrough
		case r >= 'A' && r <= 'Z':
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		case unicode.IsLetter(r):
			if space {
				b.WriteByte(' ')
				space = false
			}
			if f, ok := accentFold[unicode.ToLower(r)]; ok {
				b.WriteString(f)
			} else {
				b.WriteRune(unicode.ToUpper(r))
			}
		}
	}
	return b.String()
}

var accentFold = map[rune]string{
	'à': "A", 'á': "A", 'â': "A", 'ä': "A", 'ã': "A", 'å': "A", 'æ': "AE", 'ç': "C",
	'è': "E", 'é': "E", 'ê': "E", 'ë': "E", 'ì': "I", 'í': "I", 'î': "I", 'ï': "I",
	'ñ': "N", 'ò': "O", 'ó': "O", 'ô': "O", 'ö': "O", 'õ': "O", 'ø': "O", 'œ': "OE",
	'ù': "U", 'ú': "U", 'û': "U", 'ü': "U", 'ý': "Y", 'ÿ': "Y", 'ß': "SS",
}

// parseDate packs a YYYY-MM-DD date, 0 when malformed or impossible.
func parseDate(s string) uint32 {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0
	}
	n := func(t string) int {
		v := 0
		for i := 0; i < len(t); i++ {
			if t[i] < '0' || t[i] > '9' {
				return -1
			}
			v = v*10 + int(t[i]-'0')
		}
		return v
	}
	y, m, d := n(s[:4]), n(s[5:7]), n(s[8:])
	if y < 1850 || y > 2200 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0
	}
	return uint32(y)<<9 | uint32(m)<<5 | uint32(d)
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func parseSex(s string) uint8 {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "M", "MALE", "1":
		return 1
	case "F", "FEMALE", "2":
		return 2
	}
	return 0
}

// parseNHS returns a valid NHS number as an integer, 0 otherwise.
func parseNHS(s string) uint64 {
	if len(s) != 10 {
		s = strings.Map(func(r rune) rune {
			if r == ' ' || r == '-' {
				return -1
			}
			return r
		}, s)
	}
	if !ValidNHSNumber(s) {
		return 0
	}
	var v uint64
	for i := 0; i < 10; i++ {
		v = v*10 + uint64(s[i]-'0')
	}
	return v
}

// splitPostcode normalises a UK postcode to "OUT IN" and returns it with its
// sector ("OUT I") and district ("OUT"); sector and district are empty when
// the text does not look like a postcode.
func splitPostcode(s string) (full, sector, district string) {
	var b [8]byte
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
			if n == len(b) {
				return strings.ToUpper(strings.TrimSpace(s)), "", ""
			}
			b[n] = c
			n++
		}
	}
	if n == 0 {
		return "", "", ""
	}
	if n < 5 || b[n-3] < '0' || b[n-3] > '9' {
		return string(b[:n]), "", ""
	}
	out, in := string(b[:n-3]), string(b[n-3:n])
	return out + " " + in, out + " " + in[:1], out
}

type stringTable struct {
	ids map[string]uint32
}

func (t *stringTable) intern(s string) uint32 {
	if s == "" {
		return 0
	}
	if id, ok := t.ids[s]; ok {
		return id
	}
	id := uint32(len(t.ids) + 1)
	t.ids[strings.Clone(s)] = id
	return id
}

// prepared is the engine's working copy of the input.
type prepared struct {
	recs  []rec
	names *nameTable
	// totals of non-missing given and family names, for term frequencies.
	givenTotal, familyTotal uint32
}

func prepare(records []Record) *prepared {
	p := &prepared{recs: make([]rec, len(records)), names: newNameTable()}
	postcodes := &stringTable{ids: map[string]uint32{}}
	rawPostcodes := map[string][3]uint32{}
	upns := &stringTable{ids: map[string]uint32{}}
	for i := range records {
		in := &records[i]
		r := &p.recs[i]
		r.eligible = in.Eligible
		if !in.Eligible {
			continue
		}
		r.given = p.names.intern(in.GivenName)
		r.family = p.names.intern(in.FamilyName)
		if r.given != 0 {
			p.names.info[r.given].givenCount++
			p.givenTotal++
		}
		if r.family != 0 {
			p.names.info[r.family].familyCount++
			p.familyTotal++
		}
		r.dob = parseDate(in.BirthDate)
		r.sex = parseSex(in.Sex)
		r.nhs = parseNHS(in.NHSNumber)
		if u := strings.ToUpper(strings.TrimSpace(in.UPN)); ValidUPN(u) {
			r.upn = upns.intern(u)
		}
		if in.Postcode != "" {
			ids, ok := rawPostcodes[in.Postcode]
			if !ok {
				full, sector, district := splitPostcode(in.Postcode)
				ids = [3]uint32{postcodes.intern(full), postcodes.intern(sector), postcodes.intern(district)}
				rawPostcodes[strings.Clone(in.Postcode)] = ids
			}
			r.postcode, r.sector, r.district = ids[0], ids[1], ids[2]
		}
	}
	return p
}
