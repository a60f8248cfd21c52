package linkage

// JaroWinkler returns the Jaro-Winkler similarity of a and b in [0, 1]:
// Jaro's matching-characters measure with Winkler's boost for a common
// prefix of up to four characters (scale 0.1), applied when Jaro exceeds
// 0.7 as Winkler proposed. It suits names: typos near the end of a name cost
// less than at the start, where clerks rarely err. Comparison is by
// character (rune); callers normalise case first.
func JaroWinkler(a, b string) float64 {
	if isASCII(a) && isASCII(b) {
		return jaroWinkler([]byte(a), []byte(b))
	}
	return jaroWinkler([]rune(a), []rune(b))
}

// similarity is JaroWinkler on two interned names, answering only which
// band it falls in (≥ close, ≥ weak, or below). A letter-count bound skips
// the full computation for most pairs of plainly different names.
func similarity(x, y *nameInfo) float64 {
	if x.runes != nil || y.runes != nil {
		return JaroWinkler(x.text, y.text)
	}
	a, b := x.text, y.text
	// Upper bound: matches ≤ letters of a found anywhere in b (and back),
	// transpositions ≥ 0, common prefix as it is.
	ma, mb := 0, 0
	for i := 0; i < len(a); i++ {
		if y.letters&(1<<(a[i]&31)) != 0 {
			ma++
		}
	}
	for i := 0; i < len(b); i++ {
		if x.letters&(1<<(b[i]&31)) != 0 {
			mb++
		}
	}
	m := float64(min(ma, mb))
	if m == 0 {
		return 0
	}
	j := (m/float64(len(a)) + m/float64(len(b)) + 1) / 3
	if j+0.4*(1-j) < weakSimilarity {
		return j // an upper bound, already below every band that matters
	}
	return jaroWinkler(x.bytes, y.bytes)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func jaroWinkler[E byte | rune](a, b []E) float64 {
	j := jaro(a, b)
	if j <= 0.7 {
		return j
	}
	l := 0
	for l < 4 && l < len(a) && l < len(b) && a[l] == b[l] {
		l++
	}
	return j + float64(l)*0.1*(1-j)
}

// jaro is the Jaro similarity. Flags live on the stack for names of up to 64
// characters, so the hot path of a million-record run does not allocate.
func jaro[E byte | rune](a, b []E) float64 {
	la, lb := len(a), len(b)
	if la == 0 || lb == 0 {
		if la == lb {
			return 1
		}
		return 0
	}
	var fa, fb [64]bool
	ma, mb := fa[:], fb[:]
	if la > 64 {
		ma = make([]bool, la)
	}
	if lb > 64 {
		mb = make([]bool, lb)
	}
	window := max(la, lb)/2 - 1
	if window < 0 {
		window = 0
	}
	matches := 0
	for i := 0; i < la; i++ {
		lo, hi := max(0, i-window), min(lb-1, i+window)
		for k := lo; k <= hi; k++ {
			if !mb[k] && a[i] == b[k] {
				ma[i], mb[k] = true, true
				matches++
				break
			}
		}
	}
	if matches == 0 {
		return 0
	}
	half, k := 0, 0
	for i := 0; i < la; i++ {
		if !ma[i] {
			continue
		}
		for !mb[k] {
			k++
		}
		if a[i] != b[k] {
			half++
		}
		k++
	}
	m := float64(matches)
	return (m/float64(la) + m/float64(lb) + (m-float64(half)/2)/m) / 3
}

// soundex codes a normalised (upper-case) name as American Soundex, packed
// into a number: first letter (1-26) * 1000 + three digits. Zero means the
// name has no letter A-Z to code. It groups spellings (SMITH, SMYTH) into one
// blocking key, so a typo rarely moves a record out of its block.
func soundex(s string) uint32 { return soundexN(s, 3) }

// soundexN is Soundex keeping n digits (n ≤ 6): letter * 10^n + digits.
// Longer codes split the big blocks of common openings (GREEN…, ASH…)
// while still forgiving vowels and most late typos.
func soundexN(s string, n int) uint32 {
	var first byte
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			first = c
			break
		}
	}
	if first == 0 {
		return 0
	}
	var digits [6]uint32
	k := 0
	last := soundexDigit(first)
	for i++; i < len(s) && k < n; i++ {
		c := s[i]
		if c < 'A' || c > 'Z' {
			continue
		}
		d := soundexDigit(c)
		switch {
		case c == 'H' || c == 'W':
			// H and W do not separate letters with the same code.
		case d == 0:
			last = 0
		case d != last:
			digits[k] = uint32(d)
			k++
			last = d
		}
	}
	code := uint32(first - 'A' + 1)
	for j := 0; j < n; j++ {
		code = code*10 + digits[j]
	}
	return code
}

func soundexDigit(c byte) byte {
	switch c {
	case 'B', 'F', 'P', 'V':
		return 1
	case 'C', 'G', 'J', 'K', 'Q', 'S', 'X', 'Z':
		return 2
	case 'D', 'T':
		return 3
	case 'L':
		return 4
	case 'M', 'N':
		return 5
	case 'R':
		return 6
	}
	return 0
}
