package domain

import "testing"

func TestUseOf(t *testing.T) {
	all := []string{"participation", "local-reporting", "national-benchmarking", "cross-service-linkage"}
	cases := []struct {
		name     string
		consents [][]string
		want     Use
	}{
		{"no consent seen", nil, Everywhere},
		{"every scope", [][]string{all}, Use{true, true}},
		{"national withdrawn", [][]string{{"participation", "local-reporting"}}, Use{true, false}},
		{"local withdrawn", [][]string{{"participation", "national-benchmarking"}}, Use{false, false}},
		{"all withdrawn", [][]string{{}}, Use{false, false}},
		{"one of two consents still local", [][]string{{}, {"participation", "local-reporting"}}, Use{true, false}},
		{"national from one, local from another", [][]string{{"participation", "local-reporting"}, {"participation", "national-benchmarking"}}, Use{true, true}},
	}
	for _, c := range cases {
		if got := UseOf(c.consents); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}
