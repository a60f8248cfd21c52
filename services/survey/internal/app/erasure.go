package app

import (
	"time"

	"poet.local/apispecs"
	"poet.local/services/survey/internal/domain"
)

// ErasureTx is the unit of work erasure needs beyond Tx: finding and
// deleting one subject's responses.
type ErasureTx interface {
	Tx
	// SubjectResponses lists the responses about subjectRef in org (ids,
	// campaign, site, mode and submission time; no answers).
	SubjectResponses(org, subjectRef string) ([]domain.Response, error)
	// DeleteResponse deletes one response and its answers.
	DeleteResponse(id string) error
}

// ErasureRequested is the part of consent's erasure-requested survey acts on.
type ErasureRequested struct {
	OrganisationID, SubjectRef string
}

// ReasonErasure is response-withdrawn's reason when the subject asked to be
// erased.
const ReasonErasure = "erasure"

// EraseSubject deletes every response about the subject in the requesting
// organisation, answers and all, takes each out of its campaign's returns,
// and announces response-withdrawn (reason erasure) for each, keyed by the
// subject so it follows the response's own response-submitted: scoring and
// reporting drop what they derived from it. It runs in the consumer's
// transaction, so a repeat finds nothing and announces nothing. Drafts are
// never about a subject (they hang off links and invitations), so there are
// none to delete. It returns how many responses went.
func (s *Service) EraseSubject(tx ErasureTx, e ErasureRequested) (int, error) {
	rs, err := tx.SubjectResponses(e.OrganisationID, e.SubjectRef)
	if err != nil || len(rs) == 0 {
		return 0, err
	}
	now := s.now().UTC()
	for _, r := range rs {
		if err := tx.DeleteResponse(r.ID); err != nil {
			return 0, err
		}
		if err := tx.CountReturns(r.CampaignID, Day(r.SubmittedAt), r.Mode, -1); err != nil {
			return 0, err
		}
		if err := tx.Announce(responseWithdrawn(r, now, ReasonErasure)); err != nil {
			return 0, err
		}
	}
	return len(rs), nil
}

func responseWithdrawn(r domain.Response, at time.Time, reason string) Announcement {
	payload := map[string]any{
		"response_id":     r.ID,
		"organisation_id": r.OrganisationID,
		"site_id":         r.SiteID,
		"withdrawn_at":    at.Format(time.RFC3339Nano),
		"reason":          reason,
	}
	key := r.ID
	if r.SubjectRef != "" {
		payload["subject_ref"] = r.SubjectRef
		key = r.SubjectRef
	}
	return Announcement{Topic: apispecs.TopicSurveyResponses, Key: key, Type: apispecs.TypeResponseWithdrawn, Subject: key, Payload: payload}
}
