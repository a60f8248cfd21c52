// Package domain holds the web front end's types: the platform's parts and
// their reported health, as shown on the status page. No I/O here.
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
