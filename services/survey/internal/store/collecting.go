package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
)

type invitationRow struct {
	ID             string `gorm:"primaryKey"`
	CampaignID     string
	OrganisationID string
	TokenHash      string
	ExpiresAt      *time.Time
	UsedAt         *time.Time
	ResponseID     *string
	IdempotencyKey *string
	CreatedAt      time.Time
}

func (invitationRow) TableName() string { return "invitations" }

func (r invitationRow) domain() domain.Invitation {
	return domain.Invitation{ID: r.ID, CampaignID: r.CampaignID, OrganisationID: r.OrganisationID, TokenHash: r.TokenHash,
		ExpiresAt: utcPtr(r.ExpiresAt), UsedAt: utcPtr(r.UsedAt), ResponseID: deref(r.ResponseID),
		IdempotencyKey: deref(r.IdempotencyKey), CreatedAt: r.CreatedAt.UTC()}
}

type draftRow struct {
	TokenHash    string `gorm:"primaryKey"`
	CampaignID   string
	InvitationID *string
	Answers      []byte
	SavedAt      *time.Time
	ExpiresAt    *time.Time
}

func (draftRow) TableName() string { return "drafts" }

type entryRow struct {
	ResponseID     string `gorm:"primaryKey"`
	CampaignID     string
	OrganisationID string
	EnteredBy      string
	EnteredAt      time.Time
	Mode           string
}

func (entryRow) TableName() string { return "response_entries" }

type returnRow struct {
	CampaignID string `gorm:"primaryKey"`
	Day        string `gorm:"primaryKey"`
	Mode       string `gorm:"primaryKey"`
	Shard      int    `gorm:"primaryKey"`
	Returns    int64
}

func (returnRow) TableName() string { return "campaign_returns" }

// returnShards spreads each rollup count over this many rows: enough that
// concurrent submissions to one campaign rarely wait on each other's row
// lock, few enough that a read adds up a handful of rows per day and mode.
const returnShards = 8

func (t *txn) InsertInvitations(invs ...domain.Invitation) error {
	rows := make([]invitationRow, len(invs))
	for i, inv := range invs {
		rows[i] = invitationRow{ID: inv.ID, CampaignID: inv.CampaignID, OrganisationID: inv.OrganisationID, TokenHash: inv.TokenHash,
			ExpiresAt: inv.ExpiresAt, UsedAt: inv.UsedAt, ResponseID: optional(inv.ResponseID),
			IdempotencyKey: optional(inv.IdempotencyKey), CreatedAt: inv.CreatedAt}
	}
	return t.db.CreateInBatches(rows, insertBatch).Error
}

func (t *txn) InvitationByTokenHash(hash string) (domain.Invitation, error) {
	var r invitationRow
	if err := t.db.Take(&r, "token_hash = ?", hash).Error; err != nil {
		return domain.Invitation{}, notFound(err)
	}
	return r.domain(), nil
}

func (t *txn) InvitationsByIdempotencyKey(campaignID, key string) ([]domain.Invitation, error) {
	var rows []invitationRow
	if err := t.db.Where("campaign_id = ? AND idempotency_key = ?", campaignID, key).Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.Invitation, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

func (t *txn) ReplaceInvitationToken(id, newHash string) error {
	res := t.db.Model(&invitationRow{}).Where("id = ? AND used_at IS NULL", id).Update("token_hash", newHash)
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return domain.ErrInvitationUsed
	}
	return nil
}

func (t *txn) MarkInvitationUsed(id, responseID string, at time.Time) error {
	res := t.db.Model(&invitationRow{}).Where("id = ? AND used_at IS NULL", id).
		Updates(map[string]any{"used_at": at.UTC(), "response_id": responseID})
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected != 1 {
		return domain.ErrInvitationUsed
	}
	return nil
}

func (t *txn) Draft(tokenHash string) (domain.Draft, error) {
	var r draftRow
	if err := t.db.Take(&r, "token_hash = ?", tokenHash).Error; err != nil {
		return domain.Draft{}, notFound(err)
	}
	answers := map[string]any{}
	if err := json.Unmarshal(r.Answers, &answers); err != nil {
		return domain.Draft{}, fmt.Errorf("draft: stored answers: %w", err)
	}
	return domain.Draft{TokenHash: r.TokenHash, CampaignID: r.CampaignID, InvitationID: deref(r.InvitationID), Answers: answers,
		SavedAt: utcPtr(r.SavedAt), ExpiresAt: utcPtr(r.ExpiresAt)}, nil
}

func (t *txn) SaveDraft(d domain.Draft) error {
	answers, err := json.Marshal(d.Answers)
	if err != nil {
		return err
	}
	row := draftRow{TokenHash: d.TokenHash, CampaignID: d.CampaignID, InvitationID: optional(d.InvitationID), Answers: answers,
		SavedAt: utcPtr(d.SavedAt), ExpiresAt: utcPtr(d.ExpiresAt)}
	return t.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "token_hash"}},
		DoUpdates: clause.AssignmentColumns([]string{"answers", "saved_at", "expires_at"}),
	}).Create(&row).Error
}

func (t *txn) DeleteDraft(tokenHash string) error {
	return t.db.Where("token_hash = ?", tokenHash).Delete(&draftRow{}).Error
}

func (t *txn) DeleteExpiredDrafts(now time.Time) error {
	return t.db.Where("expires_at IS NOT NULL AND expires_at <= ?", now.UTC()).Delete(&draftRow{}).Error
}

func (t *txn) InvitationDrafts(invitationIDs []string) (int64, error) {
	if len(invitationIDs) == 0 {
		return 0, nil
	}
	var n int64
	err := t.db.Model(&draftRow{}).Where("invitation_id IN ?", invitationIDs).Count(&n).Error
	return n, err
}

func (t *txn) InsertEntries(es ...domain.Entry) error {
	rows := make([]entryRow, len(es))
	for i, e := range es {
		rows[i] = entryRow{ResponseID: e.ResponseID, CampaignID: e.CampaignID, OrganisationID: e.OrganisationID,
			EnteredBy: e.EnteredBy, EnteredAt: e.EnteredAt.UTC(), Mode: e.Mode}
	}
	return t.db.CreateInBatches(rows, insertBatch).Error
}

// Entries lists a campaign's entry audit rows, oldest first (for audit
// tools and tests; no use case reads them back).
func (s *Store) Entries(campaignID string) ([]domain.Entry, error) {
	var rows []entryRow
	if err := s.db.Where("campaign_id = ?", campaignID).Order("entered_at, response_id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]domain.Entry, len(rows))
	for i, r := range rows {
		out[i] = domain.Entry{ResponseID: r.ResponseID, CampaignID: r.CampaignID, OrganisationID: r.OrganisationID,
			EnteredBy: r.EnteredBy, EnteredAt: r.EnteredAt.UTC(), Mode: r.Mode}
	}
	return out, nil
}

func (t *txn) CountReturns(campaignID, day, mode string, n int64) error {
	if t.returns == nil {
		t.returns = map[returnKey]int64{}
	}
	t.returns[returnKey{campaignID, day, mode}] += n
	if t.immediate {
		return t.flushReturns()
	}
	return nil
}

// flushReturns adds the transaction's counts to the rollup, in key order so
// that two transactions never wait on each other's rows in a cycle. One
// shard per transaction: a batch's rows land together.
func (t *txn) flushReturns() error {
	if len(t.returns) == 0 {
		return nil
	}
	keys := make([]returnKey, 0, len(t.returns))
	for k := range t.returns {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.campaign != b.campaign {
			return a.campaign < b.campaign
		}
		if a.day != b.day {
			return a.day < b.day
		}
		return a.mode < b.mode
	})
	shard := rand.IntN(returnShards)
	for _, k := range keys {
		row := returnRow{CampaignID: k.campaign, Day: k.day, Mode: k.mode, Shard: shard, Returns: t.returns[k]}
		err := t.db.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "campaign_id"}, {Name: "day"}, {Name: "mode"}, {Name: "shard"}},
			DoUpdates: clause.Assignments(map[string]any{"returns": gorm.Expr("campaign_returns.returns + excluded.returns")}),
		}).Create(&row).Error
		if err != nil {
			return fmt.Errorf("returns rollup: %w", err)
		}
	}
	t.returns = nil
	return nil
}

func (t *txn) ReturnCounts(campaignID string) ([]app.ReturnCount, error) {
	var out []app.ReturnCount
	err := t.db.Model(&returnRow{}).Select("day, mode, SUM(returns) AS count").Where("campaign_id = ?", campaignID).
		Group("day, mode").Order("day, mode").Scan(&out).Error
	return out, err
}
