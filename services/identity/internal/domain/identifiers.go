package domain

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Identifiers are what an organisation knows about one of its people. They
// live only in the vault, encrypted; every other table holds the subject
// reference or a keyed digest. Validation reasons never quote a value, so a
// problem+json reply or a log line cannot leak one.
type Identifiers struct {
	LocalID           string `json:"local_id"`
	NHSNumber         string `json:"nhs_number,omitempty"`
	NHSNumberVerified bool   `json:"nhs_number_verified,omitempty"`
	GivenName         string `json:"given_name,omitempty"`
	FamilyName        string `json:"family_name,omitempty"`
	DateOfBirth       string `json:"date_of_birth,omitempty"` // YYYY-MM-DD
	Sex               string `json:"sex,omitempty"`
	Postcode          string `json:"postcode,omitempty"`
	UPN               string `json:"upn,omitempty"`
}

// OnlyLocalID reports whether nothing but the local id is given.
func (ids Identifiers) OnlyLocalID() bool {
	return ids == Identifiers{LocalID: ids.LocalID}
}

// Sexes are FHIR R4 AdministrativeGender codes: what records hold, not a
// judgement about the person.
var Sexes = []string{"female", "male", "other", "unknown"}

const maxNameChars = 100

var (
	postcodePattern = regexp.MustCompile(`^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}$`)
	datePattern     = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)
)

// Normalise puts each identifier in the one form the vault keeps and the
// blind indexes hash, so "943 476 5919" and "9434765919" are one number and
// "zz993cz" is "ZZ99 3CZ".
func (ids Identifiers) Normalise() Identifiers {
	ids.LocalID = NormaliseLocalID(ids.LocalID)
	ids.NHSNumber = NormaliseNHSNumber(ids.NHSNumber)
	if ids.NHSNumber == "" {
		ids.NHSNumberVerified = false
	}
	ids.GivenName = collapseSpaces(ids.GivenName)
	ids.FamilyName = collapseSpaces(ids.FamilyName)
	ids.DateOfBirth = strings.TrimSpace(ids.DateOfBirth)
	ids.Sex = strings.ToLower(strings.TrimSpace(ids.Sex))
	ids.Postcode = NormalisePostcode(ids.Postcode)
	ids.UPN = strings.ToUpper(strings.Join(strings.Fields(ids.UPN), ""))
	return ids
}

// Validate lists every problem with normalised identifiers; today is the
// date a birth date may not be after.
func (ids Identifiers) Validate(today time.Time) []FieldError {
	errs := ValidateLocalID(ids.LocalID)
	add := func(ptr, reason string) { errs = append(errs, FieldError{ptr, reason}) }
	if ids.NHSNumber != "" && !ValidNHSNumber(ids.NHSNumber) {
		add("/nhs_number", "This is not a valid NHS number: it needs 10 digits with a correct check digit")
	}
	for ptr, v := range map[string]string{"/given_name": ids.GivenName, "/family_name": ids.FamilyName} {
		if reason := nameProblem(v); reason != "" {
			add(ptr, reason)
		}
	}
	if ids.DateOfBirth != "" {
		if reason := birthDateProblem(ids.DateOfBirth, today); reason != "" {
			add("/date_of_birth", reason)
		}
	}
	if ids.Sex != "" && !slices.Contains(Sexes, ids.Sex) {
		add("/sex", "Choose one of: female, male, other, unknown")
	}
	if ids.Postcode != "" && !postcodePattern.MatchString(ids.Postcode) {
		add("/postcode", "This is not a UK postcode")
	}
	if ids.UPN != "" && !ValidUPN(ids.UPN) {
		add("/upn", "This is not a valid Unique Pupil Number: it needs 13 characters with a correct check letter")
	}
	sortFieldErrors(errs)
	return errs
}

// NormaliseNHSNumber drops the spaces and hyphens people type.
func NormaliseNHSNumber(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\t' {
			return -1
		}
		return r
	}, s)
}

// ValidNHSNumber checks the modulus 11 check digit: the first nine digits
// weighted 10 down to 2, 11 minus the sum's remainder is the tenth digit
// (11 counts as 0; 10 means the number was never issued).
func ValidNHSNumber(s string) bool {
	if len(s) != 10 {
		return false
	}
	sum := 0
	for i := 0; i < 10; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if i < 9 {
			sum += int(s[i]-'0') * (10 - i)
		}
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(s[9]-'0')
}

// upnLetters maps 0..22 to the check letters; I, O and S are never used.
const upnLetters = "ABCDEFGHJKLMNPQRTUVWXYZ"

// ValidUPN checks a Unique Pupil Number (DfE): a check letter, then eleven
// digits and a twelfth digit (or, for a temporary UPN, a letter from the
// check-letter alphabet). Characters 2 to 13 are weighted 2 to 13; the sum
// modulo 23 picks the check letter.
func ValidUPN(s string) bool {
	if len(s) != 13 {
		return false
	}
	sum := 0
	for i := 1; i < 13; i++ {
		c := s[i]
		var v int
		switch {
		case c >= '0' && c <= '9':
			v = int(c - '0')
		case i == 12 && strings.IndexByte(upnLetters, c) >= 0:
			v = strings.IndexByte(upnLetters, c)
		default:
			return false
		}
		sum += v * (i + 1)
	}
	return s[0] == upnLetters[sum%23]
}

// NormalisePostcode upper-cases and puts the single space before the
// inward code (the last three characters).
func NormalisePostcode(s string) string {
	compact := strings.ToUpper(strings.Join(strings.Fields(s), ""))
	if len(compact) < 5 {
		return compact
	}
	return compact[:len(compact)-3] + " " + compact[len(compact)-3:]
}

func collapseSpaces(s string) string { return strings.Join(strings.Fields(s), " ") }

func nameProblem(s string) string {
	switch {
	case s == "":
		return ""
	case !utf8.ValidString(s):
		return "This is not valid UTF-8 text"
	case utf8.RuneCountInString(s) > maxNameChars:
		return fmt.Sprintf("Use at most %d characters", maxNameChars)
	case strings.ContainsFunc(s, isControl):
		return "Remove control characters"
	}
	return ""
}

func birthDateProblem(s string, today time.Time) string {
	if !datePattern.MatchString(s) {
		return "Give the date as YYYY-MM-DD"
	}
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return "This is not a real date"
	}
	if d.Year() < 1900 || d.After(today) {
		return "Give a date of birth between 1900 and today"
	}
	return ""
}

// sortFieldErrors orders errors by pointer, so replies do not depend on map
// iteration.
func sortFieldErrors(errs []FieldError) {
	slices.SortStableFunc(errs, func(a, b FieldError) int { return strings.Compare(a.Pointer, b.Pointer) })
}
