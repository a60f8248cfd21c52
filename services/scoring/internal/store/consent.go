package store

import (
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm/clause"

	"poet.local/services/scoring/internal/app"
	"poet.local/services/scoring/internal/domain"
)

// subjectConsentRow is one consent decision's scopes in force, as the
// consent service last announced them.
type subjectConsentRow struct {
	ConsentID      string `gorm:"primaryKey"`
	OrganisationID string
	SubjectRef     string
	Scopes         string // JSON array
	UpdatedAt      time.Time
}

func (subjectConsentRow) TableName() string { return "subject_consents" }

func (t *txn) SubjectConsent(consentID string) (app.ConsentScopes, error) {
	var r subjectConsentRow
	if err := t.db.Take(&r, "consent_id = ?", consentID).Error; err != nil {
		return app.ConsentScopes{}, notFound(err)
	}
	scopes, err := parseScopes(r.Scopes)
	if err != nil {
		return app.ConsentScopes{}, err
	}
	return app.ConsentScopes{ConsentID: r.ConsentID, OrganisationID: r.OrganisationID, SubjectRef: r.SubjectRef, Scopes: scopes}, nil
}

func (t *txn) SaveSubjectConsent(c app.ConsentScopes) error {
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	b, err := json.Marshal(scopes)
	if err != nil {
		return err
	}
	return t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "consent_id"}},
		DoUpdates: clause.AssignmentColumns([]string{"scopes", "updated_at"}),
	}).Create(&subjectConsentRow{ConsentID: c.ConsentID, OrganisationID: c.OrganisationID, SubjectRef: c.SubjectRef,
		Scopes: string(b), UpdatedAt: time.Now().UTC()}).Error
}

func (t *txn) SubjectConsentScopes(subjectRef string) ([][]string, error) {
	var raw []string
	if err := t.db.Model(&subjectConsentRow{}).Where("subject_ref = ?", subjectRef).Order("consent_id").Pluck("scopes", &raw).Error; err != nil {
		return nil, err
	}
	out := make([][]string, len(raw))
	for i, s := range raw {
		scopes, err := parseScopes(s)
		if err != nil {
			return nil, err
		}
		out[i] = scopes
	}
	return out, nil
}

func (t *txn) DeleteSubjectConsents(org, subjectRef string) error {
	return t.db.Where("organisation_id = ? AND subject_ref = ?", org, subjectRef).Delete(&subjectConsentRow{}).Error
}

func (t *txn) SubjectScores(subjectRef string) ([]domain.Scored, error) {
	var rows []scoredRow
	if err := t.db.Where("subject_ref = ?", subjectRef).Order("submitted_at, response_id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.Scored, len(rows))
	for i, r := range rows {
		sc, err := r.domain()
		if err != nil {
			return nil, err
		}
		out[i] = sc
	}
	return out, nil
}

func (t *txn) SaveUse(responseID string, reported, national bool) error {
	res := t.db.Model(&scoredRow{}).Where("response_id = ?", responseID).Updates(map[string]any{"reported": reported, "national": national})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("store: scored response %s vanished", responseID)
	}
	return nil
}

func (t *txn) DeleteScored(responseID string) error {
	return t.db.Where("response_id = ?", responseID).Delete(&scoredRow{}).Error
}

func parseScopes(s string) ([]string, error) {
	out := []string{}
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		return nil, fmt.Errorf("store: scopes column: %w", err)
	}
	return out, nil
}
