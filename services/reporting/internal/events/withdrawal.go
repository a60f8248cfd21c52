package events

import (
	"encoding/json"

	"gorm.io/gorm"

	libevents "poet.local/libs/events"
	"poet.local/services/reporting/internal/app"
	"poet.local/services/reporting/internal/store"
)

// scoreWithdrawn is the part of
// api-specs/events/scoring/score-withdrawn.v1.json reporting acts on.
type scoreWithdrawn struct {
	ResponseID string `json:"response_id"`
}

// withdrawScore takes a withdrawn score's contribution out of the rollups.
// It arrives on the scores topic under the key of the score it withdraws,
// so it always follows it.
func withdrawScore(a *app.Service, s *store.Store, tx *gorm.DB, ev libevents.Event) error {
	var p scoreWithdrawn
	if err := json.Unmarshal(ev.Data, &p); err != nil {
		return libevents.Permanent(err)
	}
	return a.WithdrawScore(s.InTx(tx), p.ResponseID)
}
