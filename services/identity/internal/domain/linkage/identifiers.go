package linkage

// NHSCheckDigit returns the modulus 11 check digit of the first nine digits
// of an NHS number (weights 10 down to 2; 11 - remainder, 11 becomes 0), or
// -1 when the nine digits can have no valid number (the result would be 10)
// or are not nine digits.
func NHSCheckDigit(nine string) int {
	if len(nine) != 9 {
		return -1
	}
	sum := 0
	for i := 0; i < 9; i++ {
		c := nine[i]
		if c < '0' || c > '9' {
			return -1
		}
		sum += int(c-'0') * (10 - i)
	}
	d := 11 - sum%11
	switch d {
	case 11:
		return 0
	case 10:
		return -1
	}
	return d
}

// ValidNHSNumber reports whether s is ten digits whose last is the check
// digit of the first nine. Spaces are not accepted: callers normalise.
// A single mistyped digit or two swapped neighbours always fail the check,
// which is why a number that passes can be trusted for deterministic linkage.
func ValidNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	d := NHSCheckDigit(s[:9])
	return d >= 0 && int(s[9]-'0') == d
}

// upnLetters are the check letters of a Unique Pupil Number, indexed by the
// weighted sum modulo 23 (I, O and S are not used).
const upnLetters = "ABCDEFGHJKLMNPQRTUVWXYZ"

// UPNCheckLetter returns the check letter for the twelve characters that
// follow it in a Unique Pupil Number: each character's value (a digit, or for
// a temporary UPN's last character its letter's index in upnLetters) times
// its position (2 to 13), summed modulo 23. It returns 0 for a malformed body.
func UPNCheckLetter(body string) byte {
	if len(body) != 12 {
		return 0
	}
	sum := 0
	for i := 0; i < 12; i++ {
		c := body[i]
		v := -1
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case i == 11:
			for k := 0; k < len(upnLetters); k++ {
				if upnLetters[k] == c {
					v = k
				}
			}
		}
		if v < 0 {
			return 0
		}
		sum += v * (i + 2)
	}
	return upnLetters[sum%23]
}

// ValidUPN reports whether s is a 13-character Unique Pupil Number whose first
// letter is the check letter of the rest.
func ValidUPN(s string) bool {
	if len(s) != 13 {
		return false
	}
	c := UPNCheckLetter(s[1:])
	return c != 0 && s[0] == c
}
