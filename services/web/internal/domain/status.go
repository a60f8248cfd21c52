// Package domain holds the web front end's types and rules, with no I/O:
// the platform's parts and their health (the status page), and the
// respondent journey's reading of instruments (skip logic mirrored from
// survey, form fields read into answers, what is still missing).
package domain

// Part is one backing service the front end depends on.
type Part struct {
	Name string
	URL  string
}

// PartStatus is what a readiness probe said about a part.
type PartStatus struct {
	Part
	Ready  bool
	Detail string
}

// AllReady reports whether every part is ready.
func AllReady(ss []PartStatus) bool {
	for _, s := range ss {
		if !s.Ready {
			return false
		}
	}
	return len(ss) > 0
}
