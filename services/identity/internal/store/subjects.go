package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"poet.local/services/identity/internal/app"
	"poet.local/services/identity/internal/domain"
	"poet.local/services/identity/internal/vault"
)

// linkageLockKey is the PostgreSQL advisory lock that serialises changes to
// persons ("poetlnk" in ASCII): two subjects of one person consenting at the
// same moment must see each other, or neither would link.
const linkageLockKey int64 = 0x706f65746c6e6b

type vaultRow struct {
	SubjectRef string `gorm:"primaryKey"`
	KEKVersion int    `gorm:"column:kek_version"`
	WrappedKey []byte
	Ciphertext []byte
	UpdatedAt  time.Time
}

func (vaultRow) TableName() string { return "vault_entries" }

type grantRow struct {
	SubjectRef string `gorm:"primaryKey"`
	ConsentID  string `gorm:"primaryKey"`
	Scope      string `gorm:"primaryKey"`
	LapsesAt   *time.Time
}

func (grantRow) TableName() string { return "consent_grants" }

type reviewRow struct {
	ID            string `gorm:"primaryKey"`
	SubjectA      string `gorm:"column:subject_a"`
	SubjectB      string `gorm:"column:subject_b"`
	OrganisationA string `gorm:"column:organisation_a"`
	OrganisationB string `gorm:"column:organisation_b"`
	Score         float64
	Explanations  string
	Decision      string
	CreatedAt     time.Time
	DecidedAt     *time.Time
	DecidedBy     string
}

func (reviewRow) TableName() string { return "linkage_reviews" }

type auditRow struct {
	ID                int64 `gorm:"primaryKey;autoIncrement"`
	At                time.Time
	ActorOrganisation string
	Actor             string
	Action            string
	SubjectRef        string
	Purpose           string
	Outcome           string
}

func (auditRow) TableName() string { return "audit_log" }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func (r subjectRefRow) domain() domain.Subject {
	var erased *time.Time
	if r.ErasedAt != nil {
		t := r.ErasedAt.UTC()
		erased = &t
	}
	return domain.Subject{Ref: r.SubjectRef, OrganisationID: r.OrganisationID, KeyVersion: r.KeyVersion,
		LocalDigest: deref(r.LocalDigest), NHSDigest: deref(r.NHSDigest), PersonID: deref(r.PersonID), ErasedAt: erased}
}

func subjects(rows []subjectRefRow) []domain.Subject {
	out := make([]domain.Subject, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out
}

func (t *txn) Subject(ref string, forUpdate bool) (domain.Subject, error) {
	q := t.db
	if forUpdate && t.postgres {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var r subjectRefRow
	if err := q.Take(&r, "subject_ref = ?", ref).Error; err != nil {
		return domain.Subject{}, notFound(err)
	}
	return r.domain(), nil
}

func (t *txn) SubjectByLocalDigest(digest string) (domain.Subject, error) {
	var r subjectRefRow
	if err := t.db.Take(&r, "local_digest = ?", digest).Error; err != nil {
		return domain.Subject{}, notFound(err)
	}
	return r.domain(), nil
}

func (t *txn) SubjectsByNHSDigest(digest string) ([]domain.Subject, error) {
	var rows []subjectRefRow
	err := t.db.Where("nhs_digest = ? AND erased_at IS NULL", digest).Order("subject_ref").Find(&rows).Error
	return subjects(rows), err
}

func (t *txn) PersonSubjects(personID string) ([]domain.Subject, error) {
	var rows []subjectRefRow
	err := t.db.Where("person_id = ?", personID).Order("subject_ref").Find(&rows).Error
	return subjects(rows), err
}

func (t *txn) SaveSubject(s domain.Subject, created bool) error {
	r := subjectRefRow{SubjectRef: s.Ref, OrganisationID: s.OrganisationID, KeyVersion: s.KeyVersion,
		LocalDigest: nullable(s.LocalDigest), NHSDigest: nullable(s.NHSDigest), PersonID: nullable(s.PersonID), ErasedAt: s.ErasedAt}
	if !created {
		res := t.db.Model(&subjectRefRow{}).Where("subject_ref = ?", s.Ref).Updates(map[string]any{
			"local_digest": r.LocalDigest, "nhs_digest": r.NHSDigest, "person_id": r.PersonID, "erased_at": r.ErasedAt,
		})
		if res.Error == nil && res.RowsAffected != 1 {
			return fmt.Errorf("store: subject vanished during update")
		}
		return res.Error
	}
	if err := t.db.Create(&r).Error; err != nil {
		return err
	}
	return t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "organisation_id"}},
		DoUpdates: clause.Assignments(map[string]any{"subjects": gorm.Expr("subject_counts.subjects + 1")}),
	}).Create(&subjectCountRow{OrganisationID: s.OrganisationID, Subjects: 1}).Error
}

func (t *txn) VaultEntry(ref string) (vault.Sealed, error) {
	var r vaultRow
	if err := t.db.Take(&r, "subject_ref = ?", ref).Error; err != nil {
		return vault.Sealed{}, notFound(err)
	}
	return vault.Sealed{KEKVersion: r.KEKVersion, WrappedKey: r.WrappedKey, Ciphertext: r.Ciphertext}, nil
}

func (t *txn) SaveVaultEntry(ref string, s vault.Sealed, at time.Time) error {
	if err := t.secureDelete(); err != nil {
		return err
	}
	return t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "subject_ref"}},
		DoUpdates: clause.AssignmentColumns([]string{"kek_version", "wrapped_key", "ciphertext", "updated_at"}),
	}).Create(&vaultRow{SubjectRef: ref, KEKVersion: s.KEKVersion, WrappedKey: s.WrappedKey, Ciphertext: s.Ciphertext, UpdatedAt: at}).Error
}

// DeleteVaultEntry deletes the row: the wrapped data key and ciphertext.
func (t *txn) DeleteVaultEntry(ref string) error {
	if err := t.secureDelete(); err != nil {
		return err
	}
	return t.db.Where("subject_ref = ?", ref).Delete(&vaultRow{}).Error
}

// secureDelete makes SQLite overwrite the bytes of replaced and deleted
// vault rows instead of leaving them in free space of the file, where an
// old wrapped key would outlive its erasure. (PostgreSQL reclaims dead rows
// at VACUUM; autovacuum does so soon after.)
func (t *txn) secureDelete() error {
	if t.postgres {
		return nil
	}
	return t.db.Exec("PRAGMA secure_delete = ON").Error
}

func (t *txn) VaultEntriesNotUnder(version, limit int) ([]app.VaultEntry, error) {
	var rows []vaultRow
	if err := t.db.Where("kek_version <> ?", version).Order("subject_ref").Limit(limit).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]app.VaultEntry, len(rows))
	for i, r := range rows {
		out[i] = app.VaultEntry{SubjectRef: r.SubjectRef, Sealed: vault.Sealed{KEKVersion: r.KEKVersion, WrappedKey: r.WrappedKey, Ciphertext: r.Ciphertext}}
	}
	return out, nil
}

func (t *txn) VaultVersions() (map[int]int64, error) {
	var rows []struct {
		KEKVersion int `gorm:"column:kek_version"`
		N          int64
	}
	if err := t.db.Model(&vaultRow{}).Select("kek_version, count(*) AS n").Group("kek_version").Scan(&rows).Error; err != nil {
		return nil, err
	}
	out := map[int]int64{}
	for _, r := range rows {
		out[r.KEKVersion] = r.N
	}
	return out, nil
}

func (t *txn) GrantScopes(ref, consentID string, scopes []string, lapsesAt *time.Time) error {
	for _, sc := range scopes {
		err := t.db.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "subject_ref"}, {Name: "consent_id"}, {Name: "scope"}},
			DoUpdates: clause.AssignmentColumns([]string{"lapses_at"}),
		}).Create(&grantRow{SubjectRef: ref, ConsentID: consentID, Scope: sc, LapsesAt: lapsesAt}).Error
		if err != nil {
			return err
		}
	}
	return nil
}

func (t *txn) RevokeScopes(ref, consentID string, scopes []string) error {
	if len(scopes) == 0 {
		return nil
	}
	return t.db.Where("subject_ref = ? AND consent_id = ? AND scope IN ?", ref, consentID, scopes).Delete(&grantRow{}).Error
}

func (t *txn) DeleteGrants(ref string) error {
	return t.db.Where("subject_ref = ?", ref).Delete(&grantRow{}).Error
}

func (t *txn) HasScope(ref, scope string, at time.Time) (bool, error) {
	var n int64
	err := t.db.Model(&grantRow{}).Where("subject_ref = ? AND scope = ? AND (lapses_at IS NULL OR lapses_at > ?)", ref, scope, at.UTC()).Count(&n).Error
	return n > 0, err
}

func (t *txn) LinkedWithoutScope(scope string, at time.Time, limit int) ([]domain.Subject, error) {
	var rows []subjectRefRow
	err := t.db.Where("person_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM consent_grants g WHERE g.subject_ref = subject_refs.subject_ref AND g.scope = ? AND (g.lapses_at IS NULL OR g.lapses_at > ?))", scope, at.UTC()).
		Order("subject_ref").Limit(limit).Find(&rows).Error
	return subjects(rows), err
}

func (t *txn) LockLinkage() error {
	if !t.postgres {
		return nil // SQLite has a single writer: transactions are already serial
	}
	return t.db.Exec("SELECT pg_advisory_xact_lock(?)", linkageLockKey).Error
}

func (r reviewRow) domain() (domain.Review, error) {
	var expl []string
	if err := json.Unmarshal([]byte(r.Explanations), &expl); err != nil {
		return domain.Review{}, fmt.Errorf("store: review explanations: %w", err)
	}
	var decided *time.Time
	if r.DecidedAt != nil {
		t := r.DecidedAt.UTC()
		decided = &t
	}
	return domain.Review{ID: r.ID, SubjectA: r.SubjectA, SubjectB: r.SubjectB, OrganisationA: r.OrganisationA, OrganisationB: r.OrganisationB,
		Score: r.Score, Explanations: expl, Decision: domain.ReviewDecision(r.Decision), CreatedAt: r.CreatedAt.UTC(), DecidedAt: decided, DecidedBy: r.DecidedBy}, nil
}

func reviews(rows []reviewRow) ([]domain.Review, error) {
	out := make([]domain.Review, len(rows))
	for i, r := range rows {
		var err error
		if out[i], err = r.domain(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (t *txn) Review(id string, forUpdate bool) (domain.Review, error) {
	q := t.db
	if forUpdate && t.postgres {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var r reviewRow
	if err := q.Take(&r, "id = ?", id).Error; err != nil {
		return domain.Review{}, notFound(err)
	}
	return r.domain()
}

func (t *txn) ReviewForPair(a, b string) (domain.Review, error) {
	var r reviewRow
	if err := t.db.Take(&r, "subject_a = ? AND subject_b = ?", a, b).Error; err != nil {
		return domain.Review{}, notFound(err)
	}
	return r.domain()
}

func (t *txn) ReviewPartners(ref string, d domain.ReviewDecision) ([]string, error) {
	var rows []reviewRow
	if err := t.db.Select("subject_a, subject_b").Where("decision = ? AND (subject_a = ? OR subject_b = ?)", string(d), ref, ref).Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]string, 0, len(rows))
	for _, r := range rows {
		if r.SubjectA == ref {
			out = append(out, r.SubjectB)
		} else {
			out = append(out, r.SubjectA)
		}
	}
	return out, nil
}

func (t *txn) SaveReview(r domain.Review, created bool) error {
	expl, err := json.Marshal(r.Explanations)
	if err != nil {
		return err
	}
	row := reviewRow{ID: r.ID, SubjectA: r.SubjectA, SubjectB: r.SubjectB, OrganisationA: r.OrganisationA, OrganisationB: r.OrganisationB,
		Score: r.Score, Explanations: string(expl), Decision: string(r.Decision), CreatedAt: r.CreatedAt, DecidedAt: r.DecidedAt, DecidedBy: r.DecidedBy}
	if created {
		return t.db.Create(&row).Error
	}
	return t.db.Model(&reviewRow{}).Where("id = ?", r.ID).Updates(map[string]any{
		"decision": row.Decision, "decided_at": row.DecidedAt, "decided_by": row.DecidedBy,
	}).Error
}

func (t *txn) Reviews(status, after string, limit int) ([]domain.Review, error) {
	q := t.db.Order("id").Limit(limit)
	switch status {
	case "pending":
		q = q.Where("decision = ''")
	case "decided":
		q = q.Where("decision <> ''")
	}
	if after != "" {
		q = q.Where("id > ?", after)
	}
	var rows []reviewRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, err
	}
	return reviews(rows)
}

func (t *txn) DeleteReviews(ref string) error {
	return t.db.Where("subject_a = ? OR subject_b = ?", ref, ref).Delete(&reviewRow{}).Error
}

func (t *txn) Audit(e app.AuditEntry) error {
	return t.db.Create(&auditRow{At: e.At, ActorOrganisation: e.ActorOrganisation, Actor: e.Actor, Action: e.Action,
		SubjectRef: e.SubjectRef, Purpose: e.Purpose, Outcome: e.Outcome}).Error
}

// AuditLog returns the audit log, oldest first (for operators' tooling and
// tests; no API serves it yet).
func (s *Store) AuditLog(ctx context.Context) ([]app.AuditEntry, error) {
	var rows []auditRow
	if err := s.db.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]app.AuditEntry, len(rows))
	for i, r := range rows {
		out[i] = app.AuditEntry{At: r.At.UTC(), ActorOrganisation: r.ActorOrganisation, Actor: r.Actor, Action: r.Action,
			SubjectRef: r.SubjectRef, Purpose: r.Purpose, Outcome: r.Outcome}
	}
	return out, nil
}
