package domain

import "slices"

// Consent scopes scoring honours (the consent service's names).
const (
	ScopeLocalReporting       = "local-reporting"
	ScopeNationalBenchmarking = "national-benchmarking"
)

// Use says where a scored response may be counted: in its organisation's
// own reports (Local) and in national figures (National).
type Use struct {
	Local, National bool
}

// Everywhere is the use of a response with no consent to consult: an
// anonymous one, or one whose subject's consent has not arrived (the
// decision comes on another topic and may follow the response).
var Everywhere = Use{Local: true, National: true}

// UseOf derives a subject's use from the scopes in force of each of their
// consents scoring has seen: any consent with local-reporting lets the
// response count locally, and any with national-benchmarking too lets it
// count nationally. National figures are built from the organisations'
// reports, so without local-reporting a response counts nowhere. A subject
// whose every consent is withdrawn counts nowhere; one with no consent
// seen counts Everywhere.
func UseOf(consents [][]string) Use {
	if len(consents) == 0 {
		return Everywhere
	}
	var u Use
	for _, scopes := range consents {
		u.Local = u.Local || slices.Contains(scopes, ScopeLocalReporting)
		u.National = u.National || slices.Contains(scopes, ScopeNationalBenchmarking)
	}
	u.National = u.National && u.Local
	return u
}
