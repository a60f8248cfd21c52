package linkage

import "testing"

func TestNHSNumber(t *testing.T) {
	if !ValidNHSNumber("9434765919") {
		t.Error("9434765919 is valid")
	}
	for _, bad := range []string{"9434765918", "943476591", "94347659190", "943476591X", "4349765919"} {
		if ValidNHSNumber(bad) {
			t.Errorf("%s must be invalid", bad)
		}
	}
	// 943476591: 9*10+4*9+3*8+4*7+7*6+6*5+5*4+9*3+1*2 = 299; 299 mod 11 = 2; 11-2 = 9.
	if d := NHSCheckDigit("943476591"); d != 9 {
		t.Errorf("check digit = %d, want 9", d)
	}
	// 100000001: 10 + 2 = 12; 12 mod 11 = 1; 11-1 = 10: no valid number.
	if d := NHSCheckDigit("100000001"); d != -1 {
		t.Errorf("check digit 10 must be refused, got %d", d)
	}
	// Every single-digit substitution of a valid number is caught.
	valid := "9434765919"
	for i := 0; i < 10; i++ {
		for c := byte('0'); c <= '9'; c++ {
			if c == valid[i] {
				continue
			}
			b := []byte(valid)
			b[i] = c
			if ValidNHSNumber(string(b)) {
				t.Errorf("typo %s passes the check", b)
			}
		}
	}
}

func TestUPN(t *testing.T) {
	// B801200005001: 8*2+1*4+2*5+5*10+1*13 = 93; 93 mod 23 = 1 → B.
	if !ValidUPN("B801200005001") || ValidUPN("A801200005001") {
		t.Error("B801200005001 is valid, A801200005001 is not")
	}
	// 207000016049: 2*2+7*4+1*9+6*10+4*12+9*13 = 266; 266 mod 23 = 13 → P
	// (A..H are 0..7, then J K L M N P: I and O are skipped).
	if c := UPNCheckLetter("207000016049"); c != 'P' {
		t.Errorf("check letter = %c, want P", c)
	}
	// Temporary UPN ending in a letter: 8*2+1*4+2*5+5*10 = 80, A counts 0;
	// 80 mod 23 = 11 → M.
	if !ValidUPN("M80120000500A") {
		t.Error("temporary UPN M80120000500A is valid")
	}
	for _, bad := range []string{"", "B80120000500", "B8012000050X1", "I801200005001"} {
		if ValidUPN(bad) {
			t.Errorf("%q must be invalid", bad)
		}
	}
}
