package synthpop

import (
	"fmt"
	"math/rand/v2"
)

// nhsCheckDigit is the modulus 11 check digit of nine digits (weights 10 to
// 2), or -1 when there is none (remainder gives 10).
func nhsCheckDigit(nine string) int {
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(nine[i]-'0') * (10 - i)
	}
	switch d := 11 - sum%11; d {
	case 11:
		return 0
	case 10:
		return -1
	default:
		return d
	}
}

// validNHS reports whether ten digits carry a correct check digit.
func validNHS(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < 10; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	d := nhsCheckDigit(s[:9])
	return d >= 0 && int(s[9]-'0') == d
}

// newNHS draws an unused valid NHS number in the 400-799 million ranges
// issued in England and Wales.
func newNHS(rng *rand.Rand, used map[string]bool) string {
	for {
		nine := fmt.Sprintf("%09d", 400_000_000+rng.IntN(400_000_000))
		if d := nhsCheckDigit(nine); d >= 0 {
			s := nine + string(rune('0'+d))
			if !used[s] {
				used[s] = true
				return s
			}
		}
	}
}

const upnLetters = "ABCDEFGHJKLMNPQRTUVWXYZ"

// upnCheckLetter: position-weighted sum (positions 2 to 13) modulo 23.
func upnCheckLetter(body string) byte {
	sum := 0
	for i := 0; i < 12; i++ {
		sum += int(body[i]-'0') * (i + 2)
	}
	return upnLetters[sum%23]
}

func validUPN(s string) bool {
	if len(s) != 13 {
		return false
	}
	for i := 1; i < 13; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s[0] == upnCheckLetter(s[1:])
}

// newUPN makes an unused permanent UPN: check letter, LA number, school
// number, two-digit year of issue, three-digit serial.
func newUPN(rng *rand.Rand, la, year int, used map[string]bool) string {
	for {
		body := fmt.Sprintf("%03d%04d%02d%03d", la, 2000+rng.IntN(1000), year%100, rng.IntN(1000))
		s := string(upnCheckLetter(body)) + body
		if !used[s] {
			used[s] = true
			return s
		}
	}
}
