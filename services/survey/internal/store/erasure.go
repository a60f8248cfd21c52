package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
)

// InErasureTx adapts a consumer's transaction to app.ErasureTx.
func (s *Store) InErasureTx(ctx context.Context, tx *gorm.DB) app.ErasureTx {
	return s.InTx(ctx, tx).(*txn)
}

func (t *txn) SubjectResponses(org, subjectRef string) ([]domain.Response, error) {
	var rows []responseRow
	err := t.db.Select("id", "campaign_id", "organisation_id", "site_id", "mode", "subject_ref", "submitted_at").
		Where("organisation_id = ? AND subject_ref = ?", org, subjectRef).Order("id").Find(&rows).Error
	if err != nil {
		return nil, err
	}
	out := make([]domain.Response, len(rows))
	for i, r := range rows {
		out[i] = domain.Response{ID: r.ID, CampaignID: r.CampaignID, OrganisationID: r.OrganisationID, SiteID: r.SiteID,
			Mode: r.Mode, SubjectRef: deref(r.SubjectRef), SubmittedAt: r.SubmittedAt.UTC()}
	}
	return out, nil
}

func (t *txn) DeleteResponse(id string) error {
	res := t.db.Where("id = ?", id).Delete(&responseRow{})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("store: response %s vanished during erasure", id)
	}
	return nil
}
