package domain

import (
	"strings"
	"testing"
	"time"
)

var today = time.Date(2025, 3, 4, 0, 0, 0, 0, time.UTC)

// Hand-worked: the first nine digits weighted 10 down to 2, then
// 11 - (sum mod 11) is the tenth digit.
func TestNHSNumberCheckDigit(t *testing.T) {
	for s, want := range map[string]bool{
		"9434765919":  true,  // 90+36+24+28+42+30+20+27+2 = 299; 299 mod 11 = 2; 11-2 = 9
		"9434765918":  false, // same, wrong check digit
		"4010232137":  true,  // 40+0+8+0+12+15+8+3+6 = 92; 92 mod 11 = 4; 11-4 = 7
		"1000000001":  true,  // 10; 10 mod 11 = 10; 11-10 = 1
		"1000000060":  true,  // 10+12 = 22; remainder 0; 11 counts as 0
		"1000000061":  false,
		"943476591":   false, // nine digits
		"94347659190": false,
		"943476591X":  false,
		"943476591١":  false, // a non-ASCII digit
	} {
		if got := ValidNHSNumber(s); got != want {
			t.Errorf("ValidNHSNumber(%s) = %v, want %v", s, got, want)
		}
	}
	// 000000006: 6*2 = 12, remainder 1, check 10: never issued, whatever
	// the tenth digit.
	for d := '0'; d <= '9'; d++ {
		if ValidNHSNumber("000000006" + string(d)) {
			t.Errorf("000000006%c accepted: a check of 10 is never issued", d)
		}
	}
}

// Hand-worked with the DfE rule: B801200005001 (python-stdnum's example:
// 8*2+1*4+2*5+5*10+1*13 = 93; 93 mod 23 = 1 = B) and P207000016049
// (2*2+7*4+1*9+6*10+4*12+9*13 = 266; 266 mod 23 = 13 = P, the alphabet
// skipping I, O and S); a temporary UPN ends in a letter valued by the same
// table.
func TestUPNCheckLetter(t *testing.T) {
	for s, want := range map[string]bool{
		"B801200005001": true,
		"A801200005001": false,
		"P207000016049": true,
		"Q207000016049": false,
		"X80120000A001": false, // letters only allowed last
		"B80120000500":  false,
	} {
		if got := ValidUPN(s); got != want {
			t.Errorf("ValidUPN(%s) = %v, want %v", s, got, want)
		}
	}
	// Temporary: 80120000500 then "A" (0): 93 - 13*1 + 13*0 = 80; 80 mod 23
	// = 11 = M.
	if !ValidUPN("M80120000500A") || ValidUPN("B80120000500A") {
		t.Error("temporary UPN check letter")
	}
	if ValidUPN("M80120000500I") {
		t.Error("I is never used")
	}
}

func TestNormaliseIdentifiers(t *testing.T) {
	got := Identifiers{LocalID: " NB-1 ", NHSNumber: "943 476-5919", NHSNumberVerified: true, GivenName: "  Quillfeather ",
		FamilyName: "Van  der Berg", DateOfBirth: " 2007-11-23", Sex: "Female", Postcode: "zz993cz", UPN: "b801 2000 05001"}.Normalise()
	want := Identifiers{LocalID: "NB-1", NHSNumber: "9434765919", NHSNumberVerified: true, GivenName: "Quillfeather",
		FamilyName: "Van der Berg", DateOfBirth: "2007-11-23", Sex: "female", Postcode: "ZZ99 3CZ", UPN: "B801200005001"}
	if got != want {
		t.Fatalf("Normalise:\n got %+v\nwant %+v", got, want)
	}
	if (Identifiers{LocalID: "1", NHSNumberVerified: true}).Normalise().NHSNumberVerified {
		t.Error("no NHS number cannot be verified")
	}
	if errs := got.Validate(today); len(errs) != 0 {
		t.Fatalf("valid identifiers refused: %v", errs)
	}
}

func TestValidateNamesFieldsWithoutEchoingValues(t *testing.T) {
	cases := map[string]struct {
		ids Identifiers
		ptr string
		val string
	}{
		"nhs check digit": {Identifiers{NHSNumber: "9434765918"}, "/nhs_number", "9434765918"},
		"nhs letters":     {Identifiers{NHSNumber: "94347X5919"}, "/nhs_number", "94347X5919"},
		"dob format":      {Identifiers{DateOfBirth: "23/11/2007"}, "/date_of_birth", "23/11/2007"},
		"dob unreal":      {Identifiers{DateOfBirth: "2007-02-30"}, "/date_of_birth", "2007-02-30"},
		"dob future":      {Identifiers{DateOfBirth: "2030-01-01"}, "/date_of_birth", "2030-01-01"},
		"sex":             {Identifiers{Sex: "f"}, "/sex", ""},
		"postcode":        {Identifiers{Postcode: "Quillfeather"}, "/postcode", "QUILLFEATHER"},
		"upn":             {Identifiers{UPN: "A801200005001"}, "/upn", "A801200005001"},
		"given name":      {Identifiers{GivenName: "Quill\x01feather"}, "/given_name", "Quill"},
		"family name":     {Identifiers{FamilyName: strings.Repeat("Z", 101)}, "/family_name", "ZZZZ"},
		"local id":        {Identifiers{}, "/local_id", ""},
	}
	for name, c := range cases {
		ids := c.ids
		if name != "local id" {
			ids.LocalID = "NB-1"
		}
		errs := ids.Normalise().Validate(today)
		if len(errs) != 1 || errs[0].Pointer != c.ptr {
			t.Errorf("%s: %+v, want one error at %s", name, errs, c.ptr)
			continue
		}
		if c.val != "" && strings.Contains(errs[0].Reason, c.val) {
			t.Errorf("%s: the reason %q repeats the value", name, errs[0].Reason)
		}
	}
	// Several at once come back in pointer order.
	errs := Identifiers{LocalID: "1", UPN: "x", NHSNumber: "1", Sex: "x"}.Normalise().Validate(today)
	if len(errs) != 3 || errs[0].Pointer != "/nhs_number" || errs[1].Pointer != "/sex" || errs[2].Pointer != "/upn" {
		t.Fatalf("order: %+v", errs)
	}
}
