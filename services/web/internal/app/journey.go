package app

import (
	"context"
	"errors"
	"strings"

	"poet.local/services/web/internal/domain"
)

// Errors the survey port reports.
var (
	// ErrNotFound: the link or instrument does not exist.
	ErrNotFound = errors.New("not found")
	// ErrClosed: the campaign is not taking answers.
	ErrClosed = errors.New("campaign closed")
	// ErrUnavailable: survey could not be reached or failed.
	ErrUnavailable = errors.New("survey unavailable")
)

// Link is what an open campaign link is for.
type Link struct {
	CampaignName      string
	InstrumentID      string
	InstrumentVersion string
	Closed            bool
}

// Receipt is survey's acknowledgement of a stored response.
type Receipt struct {
	ResponseID string
	CampaignID string
}

// ValidationError is survey's refusal of answers, field by field.
type ValidationError struct {
	Detail string
	Fields []domain.FieldError
}

func (e *ValidationError) Error() string { return "answers refused: " + e.Detail }

// Survey is the survey service's respondent API, the only store of answers.
type Survey interface {
	Link(ctx context.Context, token string) (Link, error)
	Instrument(ctx context.Context, id, version string) (domain.Instrument, error)
	Submit(ctx context.Context, token, idempotencyKey string, answers domain.Answers) (Receipt, error)
}

// Respondent runs the respondent journey over survey.
type Respondent struct{ survey Survey }

// NewRespondent returns the respondent use cases.
func NewRespondent(s Survey) *Respondent { return &Respondent{survey: s} }

// Open finds what a link is for. hint ("id@version", from the link's query)
// is used only when survey cannot say (it has no link lookup yet).
func (r *Respondent) Open(ctx context.Context, token, hint string) (Link, domain.Instrument, error) {
	l, err := r.survey.Link(ctx, token)
	if errors.Is(err, ErrNotFound) {
		id, version, ok := strings.Cut(hint, "@")
		if !ok || id == "" || version == "" {
			return Link{}, domain.Instrument{}, ErrNotFound
		}
		l = Link{InstrumentID: id, InstrumentVersion: version}
	} else if err != nil {
		return Link{}, domain.Instrument{}, err
	}
	if l.Closed {
		return l, domain.Instrument{}, ErrClosed
	}
	in, err := r.survey.Instrument(ctx, l.InstrumentID, l.InstrumentVersion)
	return l, in, err
}

// Instrument returns one instrument version.
func (r *Respondent) Instrument(ctx context.Context, id, version string) (domain.Instrument, error) {
	return r.survey.Instrument(ctx, id, version)
}

// Submit sends the asked questions' answers; nothing else is sent.
func (r *Respondent) Submit(ctx context.Context, token, key string, in domain.Instrument, a domain.Answers) (Receipt, error) {
	return r.survey.Submit(ctx, token, key, in.Prune(a))
}
