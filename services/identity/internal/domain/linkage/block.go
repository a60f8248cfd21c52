package linkage

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
)

// blockingRules name the keys records are grouped by; only records sharing
// a key value are compared. Each rule catches what the others miss, so their
// union finds nearly every match while comparing a tiny share of all pairs.
// A pair is compared once, under the first rule it shares.
var blockingRules = [...]string{
	"nhs_number",                      // same NHS number, whatever else differs
	"upn",                             // same Unique Pupil Number
	"family_soundex5+birth_year",      // typos in given name, day or month
	"given_initial+date_of_birth",     // surname changes and typos (nicknames resolved)
	"postcode_district+date_of_birth", // surname change with an unknown nickname
	"family_soundex+birth_date_unordered",
	// ^ the same key for 05/03 and 03/05: day-month swaps
	"name_soundexes_unordered+birth_year", // swapped given and family names
	"given_soundex+family_soundex5",       // wrong birth year
}

const numRules = len(blockingRules)

// ruleFields are the fields each rule's key pins down. EM learns m for a
// field only from rules that leave it free: inside a block the key's fields
// agree for matches and non-matches alike, which would break the model's
// assumption that fields are independent given the class. A key that fixes
// only part of a field (an initial, a birth year) leaves it free: EM's u
// absorbs the partial agreement, and hiding it would make twins (who differ
// only in given name) look like matches.
var ruleFields = [numRules][]Field{
	{FieldNHSNumber}, {FieldUPN},
	{FieldFamilyName}, {FieldBirthDate}, {FieldPostcode, FieldBirthDate},
	{FieldFamilyName, FieldBirthDate}, {FieldGivenName, FieldFamilyName},
	{FieldGivenName, FieldFamilyName},
}

// ruleLearns: rules whose blocks hold enough non-matches for EM (blocks on
// an identifier hold almost only matches).
var ruleLearns = [numRules]bool{false, false, true, true, true, true, true, true}

type keyed struct {
	key uint64
	idx int32
}

// span is one block: positions lo..hi-1 of a rule's sorted keys.
type span struct{ lo, hi int32 }

// blocking holds every record's keys and each rule's blocks.
type blocking struct {
	keys     [numRules][]uint64 // keys[rule][record]; 0 = no key
	sorted   [numRules][]keyed
	blocks   [numRules][]span
	oversize [numRules]map[uint64]bool
	stats    [numRules]RuleStats
}

func (p *prepared) keysOf(r *rec) (k [numRules]uint64) {
	if !r.eligible {
		return k
	}
	names := p.names.info
	k[0] = r.nhs
	k[1] = uint64(r.upn)
	year := uint64(r.year())
	var gc, fc, gi uint64
	if r.given != 0 {
		canon := &names[names[r.given].canon]
		gc = uint64(canon.code)
		gi = gc / 1000 // the initial's letter number
	}
	var fl uint64 // long family code: finer blocks where no DOB narrows them
	if r.family != 0 {
		fc = uint64(names[r.family].code)
		fl = uint64(names[r.family].long)
	}
	if fc != 0 && r.dob != 0 {
		k[2] = fl<<16 | year
		d, m := r.day(), r.month()
		if d <= 12 && d > m {
			d, m = m, d
		}
		k[5] = fc<<32 | year<<9 | uint64(m)<<5 | uint64(d)
	}
	if gi != 0 && r.dob != 0 {
		k[3] = gi<<32 | uint64(r.dob)
	}
	if r.district != 0 && r.dob != 0 {
		k[4] = uint64(r.district)<<32 | uint64(r.dob)
	}
	if r.given != 0 && r.family != 0 {
		own := uint64(names[r.given].code)
		lo, hi := min(own, fc), max(own, fc)
		if lo != 0 && r.dob != 0 {
			k[6] = lo<<32 | hi<<16 | year
		}
		if gc != 0 && fc != 0 {
			k[7] = gc<<32 | fl
		}
	}
	return k
}

// buildBlocks computes keys, sorts each rule's records by key and cuts the
// blocks, leaving out blocks above maxBlock (counted as oversize: their
// pairs would cost more than they find, and other rules cover them).
func (p *prepared) buildBlocks(maxBlock, workers int) *blocking {
	n := len(p.recs)
	b := &blocking{}
	for k := range b.keys {
		b.keys[k] = make([]uint64, n)
	}
	parallelRange(n, workers, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			ks := p.keysOf(&p.recs[i])
			for k := range ks {
				b.keys[k][i] = ks[k]
			}
		}
	})
	var wg sync.WaitGroup
	sem := make(chan struct{}, workers)
	for k := 0; k < numRules; k++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var s []keyed
			for i, key := range b.keys[k] {
				if key != 0 {
					s = append(s, keyed{key, int32(i)})
				}
			}
			slices.SortFunc(s, func(x, y keyed) int {
				if c := cmp.Compare(x.key, y.key); c != 0 {
					return c
				}
				return cmp.Compare(x.idx, y.idx)
			})
			b.sorted[k] = s
			b.oversize[k] = map[uint64]bool{}
			st := RuleStats{Rule: blockingRules[k]}
			for lo := 0; lo < len(s); {
				hi := lo + 1
				for hi < len(s) && s[hi].key == s[lo].key {
					hi++
				}
				switch size := hi - lo; {
				case size > maxBlock:
					b.oversize[k][s[lo].key] = true
					st.OversizeBlocks++
				case size > 1:
					b.blocks[k] = append(b.blocks[k], span{int32(lo), int32(hi)})
					st.Blocks++
					if size > st.LargestBlock {
						st.LargestBlock = size
					}
				}
				lo = hi
			}
			b.stats[k] = st
		}()
	}
	wg.Wait()
	return b
}

// sample keeps the blocks whose key hashes below rate: a random share of
// blocks, the same on every run.
func (b *blocking) sample(k int, rate float64) []span {
	if rate >= 1 {
		return b.blocks[k]
	}
	limit := uint64(rate * (1 << 63))
	var out []span
	for _, s := range b.blocks[k] {
		if mix64(b.sorted[k][s.lo].key)>>1 < limit {
			out = append(out, s)
		}
	}
	return out
}

// mix64 is SplitMix64's finaliser: a fixed, well-spread hash of a key.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// seenEarlier reports whether a and b share a key of an earlier rule whose
// block was compared, so the pair has been seen already.
func (b *blocking) seenEarlier(k int, a, c int32) bool {
	for e := 0; e < k; e++ {
		if ka := b.keys[e][a]; ka != 0 && ka == b.keys[e][c] && !b.oversize[e][ka] {
			return true
		}
	}
	return false
}

// forPairs calls visit(worker, a, b, fresh) with a < b for every pair in
// spans that is not deterministically linked already, spreading blocks over
// workers. fresh is false when the pair shares a key of an earlier rule (it
// is compared there); with all false such pairs are skipped. It returns the
// pairs visited.
func (p *prepared) forPairs(b *blocking, k int, spans []span, det []int32, workers int, all bool, visit func(w int, a, c int32, fresh bool)) int64 {
	var next atomic.Int64
	var total atomic.Int64
	var wg sync.WaitGroup
	const chunk = 64
	s := b.sorted[k]
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var n int64
			for {
				start := int(next.Add(chunk)) - chunk
				if start >= len(spans) {
					break
				}
				for _, sp := range spans[start:min(start+chunk, len(spans))] {
					for i := sp.lo; i < sp.hi; i++ {
						a := s[i].idx
						for j := i + 1; j < sp.hi; j++ {
							c := s[j].idx
							if det[a] == det[c] {
								continue
							}
							fresh := !b.seenEarlier(k, a, c)
							if !fresh && !all {
								continue
							}
							n++
							if a < c {
								visit(w, a, c, fresh)
							} else {
								visit(w, c, a, fresh)
							}
						}
					}
				}
			}
			total.Add(n)
		}()
	}
	wg.Wait()
	return total.Load()
}

// parallelRange runs fn over [0, n) cut into one range per worker.
func parallelRange(n, workers int, fn func(lo, hi int)) {
	var wg sync.WaitGroup
	step := (n + workers - 1) / max(workers, 1)
	for lo := 0; lo < n; lo += step {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(lo, min(lo+step, n))
	}
	wg.Wait()
}
