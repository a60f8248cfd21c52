package store

import (
	"context"
	"time"

	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/vault"
)

type linkageRunRow struct {
	ID          string `gorm:"primaryKey"`
	StartedAt   time.Time
	FinishedAt  time.Time
	Fingerprint string
	Subjects    int
	Links       int
	Reviews     int
	Linked      int
	Unlinked    int
	TriggeredBy string
}

func (linkageRunRow) TableName() string { return "linkage_runs" }

type linkageDecisionRow struct {
	RunID       string `gorm:"primaryKey"`
	SubjectA    string `gorm:"column:subject_a;primaryKey"`
	SubjectB    string `gorm:"column:subject_b;primaryKey"`
	Rule        string
	Band        string
	Weight      float64
	Explanation string
	DecidedAt   time.Time
}

func (linkageDecisionRow) TableName() string { return "linkage_decisions" }

func (t *txn) LinkageInputs(scope string, at time.Time) ([]app.LinkageInput, error) {
	var subs []subjectRefRow
	err := t.db.Where("erased_at IS NULL AND EXISTS (SELECT 1 FROM consent_grants g WHERE g.subject_ref = subject_refs.subject_ref AND g.scope = ? AND (g.lapses_at IS NULL OR g.lapses_at > ?))", scope, at.UTC()).
		Order("subject_ref").Find(&subs).Error
	if err != nil {
		return nil, err
	}
	out := make([]app.LinkageInput, 0, len(subs))
	// Vault entries in chunks, within the bound on bound parameters.
	for lo := 0; lo < len(subs); lo += 500 {
		chunk := subs[lo:min(lo+500, len(subs))]
		refs := make([]string, len(chunk))
		for i, r := range chunk {
			refs[i] = r.SubjectRef
		}
		var entries []vaultRow
		if err := t.db.Where("subject_ref IN ?", refs).Find(&entries).Error; err != nil {
			return nil, err
		}
		byRef := make(map[string]vaultRow, len(entries))
		for _, v := range entries {
			byRef[v.SubjectRef] = v
		}
		for _, r := range chunk {
			if v, ok := byRef[r.SubjectRef]; ok {
				out = append(out, app.LinkageInput{Subject: r.domain(), Sealed: vault.Sealed{KEKVersion: v.KEKVersion, WrappedKey: v.WrappedKey, Ciphertext: v.Ciphertext}})
			}
		}
	}
	return out, nil
}

func (t *txn) LastLinkageRun() (app.LinkageRun, error) {
	var r linkageRunRow
	if err := t.db.Order("started_at DESC, id DESC").Take(&r).Error; err != nil {
		return app.LinkageRun{}, notFound(err)
	}
	return r.app(), nil
}

func (r linkageRunRow) app() app.LinkageRun {
	return app.LinkageRun{ID: r.ID, StartedAt: r.StartedAt.UTC(), FinishedAt: r.FinishedAt.UTC(), Fingerprint: r.Fingerprint,
		Subjects: r.Subjects, Links: r.Links, Reviews: r.Reviews, Linked: r.Linked, Unlinked: r.Unlinked, TriggeredBy: r.TriggeredBy}
}

func (t *txn) SaveLinkageRun(r app.LinkageRun, decisions []app.LinkageDecision) error {
	row := linkageRunRow{ID: r.ID, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Fingerprint: r.Fingerprint, Subjects: r.Subjects,
		Links: r.Links, Reviews: r.Reviews, Linked: r.Linked, Unlinked: r.Unlinked, TriggeredBy: r.TriggeredBy}
	if err := t.db.Create(&row).Error; err != nil {
		return err
	}
	if len(decisions) == 0 {
		return nil
	}
	rows := make([]linkageDecisionRow, len(decisions))
	for i, d := range decisions {
		rows[i] = linkageDecisionRow{RunID: d.RunID, SubjectA: d.SubjectA, SubjectB: d.SubjectB, Rule: d.Rule, Band: d.Band,
			Weight: d.Weight, Explanation: string(d.Explanation), DecidedAt: d.DecidedAt}
	}
	return t.db.CreateInBatches(rows, 200).Error
}

func (t *txn) DeleteLinkageDecisions(ref string) error {
	return t.db.Where("subject_a = ? OR subject_b = ?", ref, ref).Delete(&linkageDecisionRow{}).Error
}

// LinkageDecisions returns the decisions of one run, by pair (for
// operators' tooling and tests; no API serves them yet).
func (s *Store) LinkageDecisions(ctx context.Context, runID string) ([]app.LinkageDecision, error) {
	var rows []linkageDecisionRow
	if err := s.db.WithContext(ctx).Where("run_id = ?", runID).Order("subject_a, subject_b").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]app.LinkageDecision, len(rows))
	for i, r := range rows {
		out[i] = app.LinkageDecision{RunID: r.RunID, SubjectA: r.SubjectA, SubjectB: r.SubjectB, Rule: r.Rule, Band: r.Band,
			Weight: r.Weight, Explanation: []byte(r.Explanation), DecidedAt: r.DecidedAt.UTC()}
	}
	return out, nil
}
