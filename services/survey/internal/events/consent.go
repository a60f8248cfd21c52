package events

import (
	"context"
	"encoding/json"

	"gorm.io/gorm"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/store"
)

// erasureRequested is the part of
// api-specs/events/consent/erasure-requested.v1.json survey acts on.
type erasureRequested struct {
	OrganisationID string `json:"organisation_id"`
	SubjectRef     string `json:"subject_ref"`
}

// ConsentDecisions honours erasure requests: every response about the
// subject in that organisation is deleted and announced as withdrawn, in
// the consumer's transaction. Consent and withdrawal of scopes are acted on
// downstream (scoring, reporting, identity); survey keeps the answers
// while participation stands.
func ConsentDecisions(a *app.Service, s *store.Store) libevents.Handler {
	return func(ctx context.Context, tx *gorm.DB, ev libevents.Event) error {
		if ev.Type != apispecs.TypeErasureRequested {
			return nil
		}
		var p erasureRequested
		if err := json.Unmarshal(ev.Data, &p); err != nil {
			return libevents.Permanent(err)
		}
		_, err := a.EraseSubject(s.InErasureTx(ctx, tx), app.ErasureRequested{OrganisationID: p.OrganisationID, SubjectRef: p.SubjectRef})
		return err
	}
}
