package domain

import (
	"errors"
	"time"
)

// ReviewDecision is an operator's verdict on a pair of subjects the matcher
// could not settle.
type ReviewDecision string

// Review decisions; "" is still pending.
const (
	ReviewPending ReviewDecision = ""
	ReviewLink    ReviewDecision = "link"
	ReviewNoLink  ReviewDecision = "no-link"
)

// ErrAlreadyDecided: a review can be decided once.
var ErrAlreadyDecided = errors.New("this review was already decided")

// Review is one pair in the linkage review queue. It holds subject
// references, the matcher's score and its explanations (which fields agreed),
// never an identifier: an operator decides from the evidence, not the data.
type Review struct {
	ID                           string
	SubjectA, SubjectB           string // SubjectA < SubjectB
	OrganisationA, OrganisationB string
	Score                        float64
	Explanations                 []string
	Decision                     ReviewDecision
	CreatedAt                    time.Time
	DecidedAt                    *time.Time
	DecidedBy                    string
}

// OrderPair returns a and b in the order a review stores them, so a pair has
// one row whichever side the matcher saw first.
func OrderPair(a, b string) (string, string) {
	if b < a {
		return b, a
	}
	return a, b
}
