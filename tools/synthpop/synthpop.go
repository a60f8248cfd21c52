// Package synthpop generates a synthetic population of people aged 0 to 30
// and the records that children's, adult and health sites would hold about
// them, with realistic mistakes and the ground truth, to measure identity
// linkage without touching anyone's data.
//
// People come in families (siblings share a surname and addresses; 1.5% of
// births are twins), move house, change surname (through family change as
// children, marriage as adults), get valid NHS numbers (modulus 11) and, at
// school age, Unique Pupil Numbers (check letter). Each appearance at a site
// copies the person's details as they were then and corrupts them at the
// scenario's rates: typos, nicknames, swapped names, shifted dates, day-month
// swaps, missing values, stale addresses, absent or wrong NHS numbers. Output
// is shuffled; the same seed gives the same bytes.
package synthpop

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
)

// Service is the service line of a record.
type Service string

// Service lines.
const (
	Children Service = "children"
	Adult    Service = "adult"
	Health   Service = "health"
)

// Record is one site's record of a person, and the truth about it.
type Record struct {
	ID           int
	Person       int // ground truth: records of one person share it
	Service      Service
	Age          int // the person's age when the record was made
	Organisation string
	LocalID      string
	NHSNumber    string
	UPN          string
	GivenName    string
	FamilyName   string
	BirthDate    string // YYYY-MM-DD
	Sex          string // M, F or empty
	Postcode     string
}

// Rates are the chances, per record, of each kind of recording. Name typos
// apply to each name separately.
type Rates struct {
	NHSPresent   float64 // the NHS number was recorded
	NHSTypo      float64 // ... with one digit wrong (fails the check)
	WrongNHS     float64 // ... as a sibling's number
	UPNPresent   float64 // a school-age child's UPN was recorded
	NameTypo     float64
	Nickname     float64 // a short form of the forename, when it has one
	SwapNames    float64 // given and family names entered the wrong way round
	MissingGiven float64
	DateShift    float64 // a day, month or year wrong
	DayMonthSwap float64 // day and month transposed (when both could be months)
	MissingDate  float64
	MissingSex   float64
	WrongSex     float64
	Postcode     struct {
		Missing, Typo, Stale float64 // Stale: an earlier address
	}
	NewLocalID float64 // a returning person registered again under a new id
	Uppercase  float64 // names in capitals (some systems)
}

// Scenario sets the rates per service line.
type Scenario struct {
	Name                    string
	Children, Adult, Health Rates
}

func baseRates() Rates {
	r := Rates{NHSPresent: 0.95, NHSTypo: 0.005, WrongNHS: 0.001, UPNPresent: 0, NameTypo: 0.02, Nickname: 0.05,
		SwapNames: 0.005, MissingGiven: 0.002, DateShift: 0.01, DayMonthSwap: 0.005, MissingDate: 0.002,
		MissingSex: 0.01, WrongSex: 0.002, NewLocalID: 0.10, Uppercase: 0.15}
	r.Postcode.Missing, r.Postcode.Typo, r.Postcode.Stale = 0.03, 0.01, 0.05
	return r
}

// Standard: NHS numbers on about 95% of health and adult records and on
// few children's social care records; modest error rates.
func Standard() Scenario {
	ch := baseRates()
	ch.NHSPresent, ch.UPNPresent = 0.15, 0.6
	return Scenario{Name: "standard", Children: ch, Adult: baseRates(), Health: baseRates()}
}

// LowQuality: children's social care records of poor quality: NHS numbers
// on under half, errors two to four times as common. Adult and health
// records are as in Standard.
func LowQuality() Scenario {
	ch := baseRates()
	ch.NHSPresent, ch.NHSTypo, ch.WrongNHS, ch.UPNPresent = 0.45, 0.02, 0.005, 0.35
	ch.NameTypo, ch.Nickname, ch.SwapNames, ch.MissingGiven = 0.05, 0.10, 0.02, 0.01
	ch.DateShift, ch.DayMonthSwap, ch.MissingDate = 0.03, 0.02, 0.01
	ch.MissingSex, ch.WrongSex = 0.03, 0.01
	ch.Postcode.Missing, ch.Postcode.Typo, ch.Postcode.Stale = 0.10, 0.03, 0.15
	ch.NewLocalID, ch.Uppercase = 0.25, 0.3
	return Scenario{Name: "low-quality", Children: ch, Adult: baseRates(), Health: baseRates()}
}

// ScenarioNamed returns a scenario by name.
func ScenarioNamed(name string) (Scenario, error) {
	for _, s := range []Scenario{Standard(), LowQuality()} {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, fmt.Errorf("synthpop: unknown scenario %q (standard, low-quality)", name)
}

// Config says what to generate.
type Config struct {
	Records  int
	Seed     uint64
	Scenario Scenario
	// Today is the census date (YYYY-MM-DD); people are 0 to 30 on it.
	Today string
}

// DefaultToday fixes the census date so output does not drift with the clock.
const DefaultToday = "2026-01-01"

func (s Scenario) rates(svc Service) *Rates {
	switch svc {
	case Children:
		return &s.Children
	case Adult:
		return &s.Adult
	}
	return &s.Health
}

// Areas of the fictional region: postcode area, local authority, its LA
// number (for UPNs) and integrated care board.
var areas = []struct {
	code, la, icb string
	laNumber      int
}{
	{"NB", "org_la_northbrook", "org_icb_north", 350},
	{"KX", "org_la_kexley", "org_icb_north", 351},
	{"WL", "org_la_wellford", "org_icb_south", 352},
}

const districtsPerArea = 20

// unitLetters are the letters real postcode units use.
const unitLetters = "ABDEFGHJLNPQRSTUWXYZ"

type address struct {
	from     int // day number
	area     int
	district int
	postcode string
}

type person struct {
	id        int
	sex       byte
	given     string
	family    string
	changes   []surnameChange
	dob       int // day number
	nhs       string
	upn       string
	sibling   *person
	addresses []address
	localIDs  map[string]string
}

type surnameChange struct {
	at   int
	name string
}

type generator struct {
	cfg     Config
	rng     *rand.Rand
	t       *tables
	today   int
	usedNHS map[string]bool
	usedUPN map[string]bool
	nextID  map[string]int
	out     []Record
	persons int
}

// Generate makes cfg.Records records, shuffled, numbered 0..n-1.
func Generate(cfg Config) ([]Record, error) {
	if cfg.Records < 1 {
		return nil, errors.New("synthpop: need at least one record")
	}
	if cfg.Scenario.Name == "" {
		return nil, errors.New("synthpop: no scenario")
	}
	if cfg.Today == "" {
		cfg.Today = DefaultToday
	}
	today, ok := parseDay(cfg.Today)
	if !ok {
		return nil, fmt.Errorf("synthpop: today %q is not YYYY-MM-DD", cfg.Today)
	}
	t, err := loadTables()
	if err != nil {
		return nil, err
	}
	g := &generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), t: t, today: today,
		usedNHS: map[string]bool{}, usedUPN: map[string]bool{}, nextID: map[string]int{}}
	g.out = make([]Record, 0, cfg.Records+64)
	for len(g.out) < cfg.Records {
		g.family()
	}
	g.out = g.out[:cfg.Records]
	g.rng.Shuffle(len(g.out), func(i, j int) { g.out[i], g.out[j] = g.out[j], g.out[i] })
	for i := range g.out {
		g.out[i].ID = i
	}
	return g.out, nil
}

const year = 365.25

func (g *generator) days(years float64) int { return int(math.Round(years * year)) }

// family makes one family's children, their lives and their records.
func (g *generator) family() {
	rng := g.rng
	start := g.today - g.days(31) + 1
	// Children's births: the first uniform over the window (extended back so
	// the oldest ages are as common as the youngest), the rest 1-5 years on.
	n := 1 + pick(rng, []float64{0.45, 0.35, 0.15, 0.05})
	birth := start - g.days(4) + rng.IntN(g.today-start+g.days(4))
	surname := g.t.surnames.draw(rng)
	home := g.moves(g.newAddress(nil), birth-g.days(1), g.today, 0.08)
	var kids []*person
	names := map[string]bool{} // siblings get different forenames
	for i := 0; i < n; i++ {
		if i > 0 {
			birth += g.days(1 + 4*rng.Float64())
		}
		twins := 1
		if rng.Float64() < 0.015 {
			twins = 2
		}
		var first *person
		for k := 0; k < twins; k++ {
			if birth < start || birth > g.today {
				continue
			}
			p := g.person(birth, surname, first, names)
			if first == nil {
				first = p
			}
			p.addresses = g.leaveHome(p, home)
			kids = append(kids, p)
		}
	}
	for i, p := range kids {
		if len(kids) > 1 {
			p.sibling = kids[(i+1)%len(kids)]
		}
	}
	for _, p := range kids {
		g.appearances(p)
	}
}

func (g *generator) person(dob int, surname string, twin *person, siblings map[string]bool) *person {
	rng := g.rng
	p := &person{id: g.persons, dob: dob, family: surname, localIDs: map[string]string{}}
	g.persons++
	p.sex = 'M'
	if rng.IntN(2) == 0 {
		p.sex = 'F'
	}
	if twin != nil && rng.Float64() < 0.65 {
		p.sex = twin.sex
	}
	for {
		if p.sex == 'M' {
			p.given = g.t.boys.draw(rng)
		} else {
			p.given = g.t.girls.draw(rng)
		}
		if !siblings[p.given] {
			siblings[p.given] = true
			break
		}
	}
	if rng.Float64() < 0.05 {
		// A surname other than the family's (a parent's, a double-barrel).
		p.family = g.t.surnames.draw(rng)
	}
	p.nhs = newNHS(rng, g.usedNHS)
	// Surname changes: family change in childhood, marriage as an adult.
	if rng.Float64() < 0.03 {
		p.changes = append(p.changes, surnameChange{dob + g.days(1+15*rng.Float64()), g.newSurname(p.family, 0.4)})
	}
	marriage := 0.03
	if p.sex == 'F' {
		marriage = 0.22
	}
	if rng.Float64() < marriage {
		p.changes = append(p.changes, surnameChange{dob + g.days(20+10*rng.Float64()), g.newSurname(p.family, 0.15)})
	}
	return p
}

func (g *generator) newSurname(old string, hyphen float64) string {
	n := g.t.surnames.draw(g.rng)
	if g.rng.Float64() < hyphen {
		if g.rng.IntN(2) == 0 {
			return old + "-" + n
		}
		return n + "-" + old
	}
	return n
}

func (p *person) familyAt(day int) string {
	name := p.family
	for _, c := range p.changes {
		if c.at <= day && c.at > 0 {
			name = c.name
		}
	}
	return name
}

// leaveHome gives the person the family's addresses until they leave, at 18
// to 25, and their own afterwards.
func (g *generator) leaveHome(p *person, home []address) []address {
	leave := p.dob + g.days(18+7*g.rng.Float64())
	var out []address
	for _, a := range home {
		if a.from < leave {
			out = append(out, a)
		}
	}
	if leave < g.today {
		out = append(out, g.moves(g.newAddress(&out[len(out)-1]), leave, g.today, 0.2)...)
	}
	return out
}

// moves is an address history from start to end: first at start, then
// moves at rate per year.
func (g *generator) moves(first address, start, end int, rate float64) []address {
	first.from = start
	hist := []address{first}
	for t := start; ; {
		t += g.days(g.rng.ExpFloat64() / rate)
		if t >= end {
			return hist
		}
		next := g.newAddress(&hist[len(hist)-1])
		next.from = t
		hist = append(hist, next)
	}
}

// newAddress: near the last one usually (same district 55%, same area 30%).
func (g *generator) newAddress(last *address) address {
	rng := g.rng
	a := address{area: rng.IntN(len(areas)), district: 1 + rng.IntN(districtsPerArea)}
	if last != nil {
		switch x := rng.Float64(); {
		case x < 0.55:
			a.area, a.district = last.area, last.district
		case x < 0.85:
			a.area = last.area
		}
	}
	a.postcode = fmt.Sprintf("%s%d %d%c%c", areas[a.area].code, a.district, rng.IntN(10),
		unitLetters[rng.IntN(len(unitLetters))], unitLetters[rng.IntN(len(unitLetters))])
	return a
}

func (p *person) addressAt(day int) (cur, prev *address) {
	for i := range p.addresses {
		if p.addresses[i].from <= day {
			prev, cur = cur, &p.addresses[i]
		}
	}
	if cur == nil {
		cur = &p.addresses[0]
	}
	return cur, prev
}

// appearances decides at which sites and ages the person is recorded:
// children's services (0-17), adult services (18+), health (any age).
func (g *generator) appearances(p *person) {
	rng := g.rng
	age := float64(g.today-p.dob) / year
	type span struct {
		svc        Service
		p, extra   float64
		from, upto float64
	}
	for _, s := range []span{
		{Children, 0.5, 0.7, 0, math.Min(age, 18)},
		{Adult, 0.45, 0.4, 18, age},
		{Health, 0.4, 0.5, 0, age},
	} {
		if s.upto <= s.from || rng.Float64() >= s.p {
			continue
		}
		for k := 1 + poisson(rng, s.extra); k > 0; k-- {
			at := s.from + rng.Float64()*(s.upto-s.from)
			g.record(p, s.svc, p.dob+int(at*year))
		}
	}
}

func (g *generator) record(p *person, svc Service, day int) {
	rng := g.rng
	r := g.cfg.Scenario.rates(svc)
	cur, prev := p.addressAt(day)
	area := areas[cur.area]
	rec := Record{Person: p.id, Service: svc, Age: int(float64(day-p.dob) / year)}
	rec.Organisation = area.la
	if svc == Health {
		rec.Organisation = area.icb
	}
	key := rec.Organisation + "/" + string(svc)
	if id, ok := p.localIDs[key]; ok && rng.Float64() >= r.NewLocalID {
		rec.LocalID = id
	} else {
		g.nextID[key]++
		rec.LocalID = fmt.Sprintf("%c%07d", strings.ToUpper(string(svc))[0], g.nextID[key])
		p.localIDs[key] = rec.LocalID
	}

	given, family := p.given, p.familyAt(day)
	if short := g.t.nicknames[given]; len(short) > 0 && rng.Float64() < r.Nickname {
		given = short[rng.IntN(len(short))]
	}
	if rng.Float64() < r.NameTypo {
		given = typo(rng, given)
	}
	if rng.Float64() < r.NameTypo {
		family = typo(rng, family)
	}
	if rng.Float64() < r.SwapNames {
		given, family = family, given
	}
	if rng.Float64() < r.MissingGiven {
		given = ""
	}
	if rng.Float64() < r.Uppercase {
		given, family = strings.ToUpper(given), strings.ToUpper(family)
	}
	rec.GivenName, rec.FamilyName = given, family

	y, m, d := civil(p.dob)
	switch x := rng.Float64(); {
	case x < r.DayMonthSwap:
		if d <= 12 && d != m {
			m, d = d, m
		}
	case x < r.DayMonthSwap+r.DateShift:
		// Systems refuse a birth date after the record is made.
		for try := 0; try < 4; try++ {
			sy, sm, sd := shiftDate(rng, y, m, d)
			if dayNumber(sy, sm, sd) <= day {
				y, m, d = sy, sm, sd
				break
			}
		}
	}
	if dayNumber(y, m, d) > day {
		y, m, d = civil(p.dob) // a swap can do it too, for a new baby
	}
	if rng.Float64() >= r.MissingDate {
		rec.BirthDate = fmt.Sprintf("%04d-%02d-%02d", y, m, d)
	}

	rec.Sex = string(p.sex)
	switch x := rng.Float64(); {
	case x < r.MissingSex:
		rec.Sex = ""
	case x < r.MissingSex+r.WrongSex:
		rec.Sex = "M"
		if p.sex == 'M' {
			rec.Sex = "F"
		}
	}

	pc := cur.postcode
	if prev != nil && rng.Float64() < r.Postcode.Stale {
		pc = prev.postcode
	}
	if rng.Float64() < r.Postcode.Typo {
		b := []byte(pc)
		b[len(b)-1-rng.IntN(2)] = unitLetters[rng.IntN(len(unitLetters))]
		pc = string(b)
	}
	if rng.Float64() >= r.Postcode.Missing {
		rec.Postcode = pc
	}

	if rng.Float64() < r.NHSPresent {
		nhs := p.nhs
		switch x := rng.Float64(); {
		case x < r.NHSTypo:
			b := []byte(nhs)
			i := rng.IntN(10)
			b[i] = '0' + byte((int(b[i]-'0')+1+rng.IntN(9))%10)
			nhs = string(b)
		case x < r.NHSTypo+r.WrongNHS && p.sibling != nil:
			nhs = p.sibling.nhs
		}
		rec.NHSNumber = nhs
	}

	if svc == Children && rec.Age >= 5 && rng.Float64() < r.UPNPresent {
		if p.upn == "" {
			// Issued on starting school, by the local authority of the day.
			startDay := p.dob + g.days(4.5)
			y, _, _ := civil(startDay)
			at, _ := p.addressAt(startDay)
			p.upn = newUPN(rng, areas[at.area].laNumber, y, g.usedUPN)
		}
		upn := p.upn
		if rng.Float64() < 0.01 {
			b := []byte(upn)
			i := 1 + rng.IntN(12)
			b[i] = '0' + byte((int(b[i]-'0')+1+rng.IntN(9))%10)
			upn = string(b)
		}
		rec.UPN = upn
	}
	g.out = append(g.out, rec)
}

// keyboard neighbours on a UK QWERTY keyboard, for substitution typos.
var neighbours = map[byte]string{
	'a': "qwsz", 'b': "vghn", 'c': "xdfv", 'd': "serfcx", 'e': "wsdr", 'f': "drtgvc", 'g': "ftyhbv",
	'h': "gyujnb", 'i': "ujko", 'j': "huikmn", 'k': "jiolm", 'l': "kop", 'm': "njk", 'n': "bhjm",
	'o': "iklp", 'p': "ol", 'q': "wa", 'r': "edft", 's': "awedxz", 't': "rfgy", 'u': "yhji",
	'v': "cfgb", 'w': "qase", 'x': "zsdc", 'y': "tghu", 'z': "asx",
}

// typo makes one clerical slip in a name: a neighbouring key, a dropped or
// doubled letter, or two letters swapped; rarely in the first letter.
func typo(rng *rand.Rand, s string) string {
	b := []byte(s)
	if len(b) < 3 {
		return s
	}
	i := 1 + rng.IntN(len(b)-1)
	if rng.Float64() < 0.1 {
		i = 0
	}
	switch x := rng.Float64(); {
	case x < 0.5:
		c := b[i] | 0x20
		if nb, ok := neighbours[c]; ok {
			r := nb[rng.IntN(len(nb))]
			if b[i] < 'a' {
				r &^= 0x20
			}
			b[i] = r
		}
	case x < 0.7:
		b = append(b[:i], b[i+1:]...)
	case x < 0.85:
		b = append(b[:i+1], b[i:]...)
	default:
		if i == len(b)-1 {
			i--
		}
		b[i], b[i+1] = b[i+1], b[i]
	}
	return string(b)
}

// shiftDate moves one part of a date: the day by up to three (50%), the
// month by one (20%) or the year by one (30%), keeping it a real date.
func shiftDate(rng *rand.Rand, y, m, d int) (int, int, int) {
	sign := 1 - 2*rng.IntN(2)
	switch x := rng.Float64(); {
	case x < 0.5:
		delta := sign * (1 + rng.IntN(3))
		if d+delta < 1 || d+delta > daysIn(y, m) {
			delta = -delta // stay in the month
		}
		d = min(max(d+delta, 1), daysIn(y, m))
	case x < 0.7:
		m += sign
		if m < 1 || m > 12 {
			m -= 2 * sign
		}
		d = min(d, daysIn(y, m))
	default:
		y += sign
		d = min(d, daysIn(y, m))
	}
	return y, m, d
}

func pick(rng *rand.Rand, p []float64) int {
	x := rng.Float64()
	for i, q := range p {
		if x < q {
			return i
		}
		x -= q
	}
	return len(p) - 1
}

func poisson(rng *rand.Rand, mean float64) int {
	l, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// civil converts a day number (days since 1970-01-01) to a date, and
// dayNumber back (Howard Hinnant's algorithms).
func civil(z int) (y, m, d int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = doy - (153*mp+2)/5 + 1
	m = mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

func dayNumber(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func parseDay(s string) (int, bool) {
	var y, m, d int
	if _, err := fmt.Sscanf(s, "%4d-%2d-%2d", &y, &m, &d); err != nil || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, false
	}
	return dayNumber(y, m, d), true
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
