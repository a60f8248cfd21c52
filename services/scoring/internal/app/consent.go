package app

import (
	"errors"
	"slices"
	"time"

	"poet.local/apispecs"
	"poet.local/services/scoring/internal/domain"
)

// ConsentScopes is one consent decision as scoring keeps it: the scopes in
// force now, by consent id.
type ConsentScopes struct {
	ConsentID, OrganisationID, SubjectRef string
	Scopes                                []string
}

// Reasons a score is withdrawn (score-withdrawn.v1).
const (
	ReasonResponseWithdrawn = "response-withdrawn"
	ReasonErasure           = "erasure"
	ReasonConsentWithdrawn  = "consent-withdrawn"
)

// ApplyConsentRecorded keeps a consent's scopes and brings the subject's
// scores in line with what their consents now allow (see reconcile).
func (s *Service) ApplyConsentRecorded(tx Tx, c ConsentScopes) error {
	if err := tx.SaveSubjectConsent(c); err != nil {
		return err
	}
	return s.reconcile(tx, c.SubjectRef)
}

// ApplyConsentWithdrawn takes scopes out of a consent and brings the
// subject's scores in line. A withdrawal from a consent never seen leaves
// it with no scope: without the decision, nothing can be assumed granted.
func (s *Service) ApplyConsentWithdrawn(tx Tx, c ConsentScopes) error {
	cur, err := tx.SubjectConsent(c.ConsentID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		cur = ConsentScopes{ConsentID: c.ConsentID, OrganisationID: c.OrganisationID, SubjectRef: c.SubjectRef}
	case err != nil:
		return err
	}
	cur.Scopes = slices.DeleteFunc(slices.Clone(cur.Scopes), func(sc string) bool {
		// Participation carries every other scope with it.
		return slices.Contains(c.Scopes, sc) || slices.Contains(c.Scopes, "participation")
	})
	if cur.Scopes == nil {
		cur.Scopes = []string{}
	}
	if err := tx.SaveSubjectConsent(cur); err != nil {
		return err
	}
	return s.reconcile(tx, c.SubjectRef)
}

// reconcile makes what read models were told about each of the subject's
// scores match the subject's consent, all in tx: a score that may no
// longer count locally is withdrawn (score-withdrawn, consent-withdrawn);
// one that may count again, or whose national standing changed, is
// announced again as response-scored with the national flag, which
// replaces the earlier announcement. Announcements are keyed like the
// score's first, so each follows what it corrects.
func (s *Service) reconcile(tx Tx, subjectRef string) error {
	use, err := s.useOf(tx, subjectRef)
	if err != nil {
		return err
	}
	scores, err := tx.SubjectScores(subjectRef)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	for _, sc := range scores {
		var a Announcement
		switch {
		case sc.Reported && !use.Local:
			a = scoreWithdrawn(sc, ReasonConsentWithdrawn, now)
		case use.Local && (!sc.Reported || sc.National != use.National):
			sc.National = use.National
			a = responseScored(sc)
		default:
			continue
		}
		if err := tx.SaveUse(sc.ResponseID, use.Local, use.National); err != nil {
			return err
		}
		if err := tx.Announce(a); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) useOf(tx Tx, subjectRef string) (domain.Use, error) {
	scopes, err := tx.SubjectConsentScopes(subjectRef)
	if err != nil {
		return domain.Use{}, err
	}
	return domain.UseOf(scopes), nil
}

// WithdrawResponse deletes the score of a response survey withdrew and, if
// read models counted it, announces score-withdrawn with the reason
// (erasure when survey erased it). A response never scored, or withdrawn
// before, changes nothing.
func (s *Service) WithdrawResponse(tx Tx, responseID, reason string) error {
	sc, err := tx.Scored(responseID)
	if errors.Is(err, domain.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := tx.DeleteScored(responseID); err != nil {
		return err
	}
	if !sc.Reported {
		return nil
	}
	return tx.Announce(scoreWithdrawn(sc, reason, s.now().UTC()))
}

// EraseSubject deletes every score about the subject in org, announcing
// score-withdrawn (erasure) for each one read models counted, and forgets
// the subject's consents. Consent's erasure request and identity's
// subject-erased both call it; the second finds nothing left.
func (s *Service) EraseSubject(tx Tx, org, subjectRef string) error {
	scores, err := tx.SubjectScores(subjectRef)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	for _, sc := range scores {
		if sc.OrganisationID != org {
			continue // a subject reference is one organisation's; never act on another's word
		}
		if err := tx.DeleteScored(sc.ResponseID); err != nil {
			return err
		}
		if sc.Reported {
			if err := tx.Announce(scoreWithdrawn(sc, ReasonErasure, now)); err != nil {
				return err
			}
		}
	}
	return tx.DeleteSubjectConsents(org, subjectRef)
}

// scoreWithdrawn is keyed as s's response-scored was: by the person key
// stored with it, else the response id.
func scoreWithdrawn(s domain.Scored, reason string, at time.Time) Announcement {
	key := s.ResponseID
	if s.PersonKey != "" {
		key = s.PersonKey
	}
	return Announcement{Topic: apispecs.TopicScoringScores, Key: key, Type: apispecs.TypeScoreWithdrawn, Subject: key,
		Payload: map[string]any{
			"response_id":     s.ResponseID,
			"organisation_id": s.OrganisationID,
			"site_id":         s.SiteID,
			"reason":          reason,
			"withdrawn_at":    at.Format(time.RFC3339Nano),
		}}
}
