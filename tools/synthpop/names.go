package synthpop

import (
	"embed"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

//go:embed data/*.txt
var data embed.FS

// nameTable draws names: from the embedded table with probability share
// (the table's weights per 100,000 people), otherwise from a long tail of
// made-up names, so that, as in life, most people do not share one of the
// few hundred commonest names.
type nameTable struct {
	names []string
	cum   []float64
	share float64
	tail  *nameTable
}

func (t *nameTable) draw(rng *rand.Rand) string {
	if t.tail != nil && rng.Float64() >= t.share {
		return t.tail.draw(rng)
	}
	x := rng.Float64() * t.cum[len(t.cum)-1]
	return t.names[sort.SearchFloat64s(t.cum, x)]
}

func loadTable(file string) (*nameTable, error) {
	raw, err := data.ReadFile("data/" + file)
	if err != nil {
		return nil, err
	}
	t := &nameTable{}
	sum := 0.0
	for i, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line == "" || line[0] == '#' {
			continue
		}
		name, w, ok := strings.Cut(line, ",")
		v, err := strconv.ParseFloat(w, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("synthpop: %s line %d: want name,weight", file, i+1)
		}
		sum += v
		t.names = append(t.names, name)
		t.cum = append(t.cum, sum)
	}
	t.share = sum / 100_000
	return t, nil
}

// tailTable makes the long tail: every combination of the parts, shuffled
// with a fixed seed (so names do not change with the run's seed) and weighted
// Zipf-like from the rank where the table stops.
func tailTable(seed uint64, startRank int, parts ...[]string) *nameTable {
	combos := []string{""}
	for _, p := range parts {
		var next []string
		for _, c := range combos {
			for _, s := range p {
				next = append(next, c+s)
			}
		}
		combos = next
	}
	rng := rand.New(rand.NewPCG(seed, 0x7a11))
	rng.Shuffle(len(combos), func(i, j int) { combos[i], combos[j] = combos[j], combos[i] })
	t := &nameTable{}
	sum := 0.0
	for i, c := range combos {
		sum += 1 / math.Pow(float64(startRank+i), 0.9)
		t.names = append(t.names, strings.ToUpper(c[:1])+c[1:])
		t.cum = append(t.cum, sum)
	}
	return t
}

var (
	surnameStarts = strings.Fields(`ash black brad bram brook burn cald card clay cole craw dal dun elm fair farn fen fox gal
		glad gold green hal ham hart hay heath hol holl kers king lang lind mar mid mill mor nor oak pen pem rad rams red
		ros rud sal shel stan stock sud thorn thwait wad wal war wes whit wood wy brom chad dray`)
	surnameMiddles = []string{"", "e", "er", "ing", "s", "en", "el", "an", "ow", "ers"}
	surnameEnds    = strings.Fields(`by bury croft den don field ford gate ham hurst land ley low man more ridge shaw son
		stead stone thorpe ton well wick win wood worth ell ock ett ington ingham cott dale holme lock mere hill brook
		bourne combe side wright`)
	givenStarts = strings.Fields("ka ja ma ri le ay za ro ni el ar sa ta bri da ke mi lu na so fa ha ra ye ze ko")
	boyEnds     = strings.Fields("den son ron ley an el ir uel iel as io ko vin ren")
	girlEnds    = strings.Fields("ya la na ra leigh lyn ette elle ina issa ah ia ie anne")
)

// nicknameTable maps a formal forename to the short forms it is recorded
// under.
func nicknameTable() (map[string][]string, error) {
	raw, err := data.ReadFile("data/nicknames.txt")
	if err != nil {
		return nil, err
	}
	m := map[string][]string{}
	for i, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line == "" || line[0] == '#' {
			continue
		}
		formal, short, ok := strings.Cut(line, ",")
		if !ok {
			return nil, fmt.Errorf("synthpop: nicknames.txt line %d: want formal,short", i+1)
		}
		m[formal] = append(m[formal], short)
	}
	return m, nil
}

type tables struct {
	boys, girls, surnames *nameTable
	nicknames             map[string][]string
}

func loadTables() (*tables, error) {
	t := &tables{}
	var err error
	if t.boys, err = loadTable("forenames_male.txt"); err != nil {
		return nil, err
	}
	if t.girls, err = loadTable("forenames_female.txt"); err != nil {
		return nil, err
	}
	if t.surnames, err = loadTable("surnames.txt"); err != nil {
		return nil, err
	}
	if t.nicknames, err = nicknameTable(); err != nil {
		return nil, err
	}
	t.boys.tail = tailTable(1, len(t.boys.names), givenStarts, boyEnds)
	t.girls.tail = tailTable(2, len(t.girls.names), givenStarts, girlEnds)
	t.surnames.tail = tailTable(3, len(t.surnames.names), surnameStarts, surnameMiddles, surnameEnds)
	return t, nil
}
