package app

import (
	"context"
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"poet.local/services/survey/internal/domain"
)

// EnterResponse records answers a practitioner took on paper, by telephone
// or face to face for one of their organisation's campaigns. The mode is
// required; who entered it, when and how go to the entry audit table (not
// into the event). A retry with the same Idempotency-Key returns the first
// receipt; "paper-form:<number>" makes a later CSV import of that form a
// duplicate.
func (s *Service) EnterResponse(ctx context.Context, who Caller, campaignID string, sub Submission) (domain.Response, error) {
	if !domain.ValidEntryMode(sub.Mode) {
		return domain.Response{}, invalid("Some answers need correcting", "/mode", "Say how the answers were given: paper, telephone or face-to-face")
	}
	sub.EnteredBy, sub.SubjectRef, sub.DraftToken = who.Subject, "", ""
	var out domain.Response
	err := s.do(ctx, func(tx Tx) error {
		c, err := ownCampaign(tx, who, campaignID)
		if err != nil {
			return err
		}
		out, _, err = s.accept(tx, c, sub, nil)
		return err
	})
	return out, err
}

// SubjectResolver is the port to identity: it registers one of the caller's
// organisation's people by their local id, on the caller's behalf (bearer
// is the caller's token), and returns their subject reference. The local id
// goes to identity and nowhere else.
type SubjectResolver interface {
	SubjectRef(ctx context.Context, bearer, localID string) (string, error)
}

// Errors a SubjectResolver returns (wrapped).
var (
	// ErrIdentityUnavailable: identity could not be reached or failed.
	ErrIdentityUnavailable = errors.New("identity is unavailable")
	// ErrIdentityRefused: identity would not register people for this caller.
	ErrIdentityRefused = errors.New("identity refused the caller")
	// ErrLocalIDRejected: identity found the local id itself unacceptable.
	ErrLocalIDRejected = errors.New("identity rejected the local id")
)

// MaxLocalIDLength is identity's limit on a local person id.
const MaxLocalIDLength = 200

// Embedded is the short set answered during an assessment or review: the
// answers and the site's own id for the person they are about.
type Embedded struct {
	LocalPersonID  string
	Answers        map[string]any
	IdempotencyKey string
}

// SubmitEmbedded takes answers given in a review for one of the caller's
// organisation's campaigns. Everything survey can check is checked first;
// then identity turns the local person id into a subject reference, and only
// that reference is stored and announced (the local id is never stored,
// announced or logged). If identity cannot be reached nothing is stored
// (ErrIdentityUnavailable). A retry with the same Idempotency-Key returns
// the first receipt without calling identity.
func (s *Service) SubmitEmbedded(ctx context.Context, who Caller, campaignID string, e Embedded) (domain.Response, error) {
	local := strings.TrimSpace(e.LocalPersonID)
	switch {
	case local == "":
		return domain.Response{}, invalid("The response could not be taken", "/local_person_id", "Give the person's id in your own records")
	case utf8.RuneCountInString(local) > MaxLocalIDLength || strings.IndexFunc(local, unicode.IsControl) >= 0:
		return domain.Response{}, invalid("The response could not be taken", "/local_person_id", "A person id has 1 to 200 characters and no control characters")
	}
	sub := Submission{Mode: domain.ModeEmbedded, Answers: e.Answers, IdempotencyKey: e.IdempotencyKey, EnteredBy: who.Subject}
	var prev *domain.Response
	err := s.store.Do(ctx, func(tx Tx) error {
		c, err := ownCampaign(tx, who, campaignID)
		if err != nil {
			return err
		}
		if sub.IdempotencyKey != "" {
			r, err := tx.ResponseByIdempotencyKey(c.ID, sub.IdempotencyKey)
			if err == nil {
				prev = &r
				return nil
			}
			if !errors.Is(err, domain.ErrNotFound) {
				return err
			}
		}
		in, err := s.instrument(c)
		if err != nil {
			return err
		}
		var fields []domain.FieldError
		if !in.HasSubject() {
			fields = append(fields, domain.FieldError{Pointer: "/local_person_id", Reason: "This campaign's instrument is about practice, not a person: its answers have no subject"})
		}
		_, err = s.prepare(c, sub, fields, s.now().UTC())
		return err
	})
	if err != nil || prev != nil {
		return deref(prev), err
	}
	if s.subjects == nil {
		return domain.Response{}, ErrIdentityUnavailable
	}
	ref, err := s.subjects.SubjectRef(ctx, who.Token, local)
	if errors.Is(err, ErrLocalIDRejected) {
		return domain.Response{}, invalid("The response could not be taken", "/local_person_id", "Identity did not accept this person id")
	}
	if err != nil {
		return domain.Response{}, err
	}
	sub.SubjectRef = ref
	var out domain.Response
	err = s.do(ctx, func(tx Tx) error {
		c, err := ownCampaign(tx, who, campaignID)
		if err != nil {
			return err
		}
		out, _, err = s.accept(tx, c, sub, nil)
		return err
	})
	return out, err
}

func deref(r *domain.Response) domain.Response {
	if r == nil {
		return domain.Response{}
	}
	return *r
}
