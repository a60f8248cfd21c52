package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"poet.local/apispecs"
	"poet.local/services/consent/internal/app"
	"poet.local/services/consent/internal/domain"
)

// A parent's consent to linkage lapses at the young person's 18th birthday:
// the recorded event carries lapses_at; the sweep, on an injected clock,
// does nothing the day before, withdraws linkage and transition sharing on
// the day (history "lapsed at 18", consent-withdrawn effective at the
// birthday), and never again; the young person's own consent is untouched.
func TestParentConsentLapsesAt18(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	turns18 := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC) // BST: lapses 31 May 23:00 UTC
	lapse := time.Date(2025, 5, 31, 23, 0, 0, 0, time.UTC)
	d := decision()
	d.Scopes = domain.AllScopes
	d.SubjectTurns18On = &turns18
	parent, err := e.app.Record(ctx, pat, d, "")
	if err != nil {
		t.Fatal(err)
	}
	if parent.LapsesAt == nil || !parent.LapsesAt.Equal(lapse) {
		t.Fatalf("lapses at %v, want %v", parent.LapsesAt, lapse)
	}
	byself := decision()
	byself.Scopes = domain.AllScopes
	byself.GivenBy = domain.GivenBySelf
	self, err := e.app.Record(ctx, pat, byself, "")
	if err != nil {
		t.Fatal(err)
	}
	// Another parent's consent, without linkage: nothing of it lapses.
	noLink := decision()
	noLink.SubjectTurns18On = &turns18
	if c, err := e.app.Record(ctx, pat, noLink, ""); err != nil || c.LapsesAt != nil {
		t.Fatalf("consent without linkage: lapses at %v, %v", c.LapsesAt, err)
	}

	out := e.outbox(t)
	var recorded map[string]any
	_ = json.Unmarshal(out[0].Data, &recorded)
	if recorded["lapses_at"] != "2025-05-31T23:00:00Z" {
		t.Fatalf("consent-recorded lapses_at = %v", recorded["lapses_at"])
	}
	var own map[string]any
	_ = json.Unmarshal(out[1].Data, &own)
	if _, has := own["lapses_at"]; has {
		t.Fatal("the young person's own consent lapses")
	}

	e.now = lapse.Add(-time.Second)
	if n, err := e.app.SweepLapses(ctx); err != nil || n != 0 {
		t.Fatalf("sweep the day before: %d %v", n, err)
	}
	e.now = lapse.Add(90 * time.Second)
	if n, err := e.app.SweepLapses(ctx); err != nil || n != 1 {
		t.Fatalf("sweep on the day: %d %v", n, err)
	}
	if n, err := e.app.SweepLapses(ctx); err != nil || n != 0 {
		t.Fatalf("second sweep: %d %v", n, err)
	}

	list, _, _ := e.app.Consents(ctx, pat, ref, "", 10)
	got := list[0]
	if got.ID != parent.ID || !reflect.DeepEqual(got.Scopes, []domain.Scope{domain.ScopeParticipation, domain.ScopeLocalReporting, domain.ScopeNationalBenchmarking}) ||
		got.Status != domain.StatusActive || got.LapsedAt == nil || len(got.History) != 2 {
		t.Fatalf("parent's consent after the lapse %+v", got)
	}
	ch := got.History[1]
	if ch.Reason != domain.ReasonLapsedAt18 || ch.RecordedBy != domain.LapseSweeper || !ch.EffectiveAt.Equal(lapse) || ch.Action != domain.ActionWithdrawn {
		t.Fatalf("history entry %+v", ch)
	}
	if len(list[1].Scopes) != 5 || list[1].ID != self.ID || len(list[1].History) != 1 {
		t.Fatalf("the young person's own consent changed: %+v", list[1])
	}

	out = e.outbox(t)
	if len(out) != 4 || out[3].EventType != apispecs.TypeConsentWithdrawn {
		t.Fatalf("outbox %d events", len(out))
	}
	var w struct {
		ConsentID   string   `json:"consent_id"`
		Scopes      []string `json:"scopes"`
		EffectiveAt string   `json:"effective_at"`
	}
	_ = json.Unmarshal(out[3].Data, &w)
	if w.ConsentID != parent.ID || !reflect.DeepEqual(w.Scopes, []string{"cross-service-linkage", "transition-sharing"}) || w.EffectiveAt != "2025-05-31T23:00:00Z" {
		t.Fatalf("lapse announced %+v", w)
	}

	// Giving linkage again is the young person's: a parent's consent
	// asking for it now is refused.
	e.now = lapse.Add(24 * time.Hour)
	var ve *app.ValidationError
	if _, err := e.app.Record(ctx, pat, d, ""); !errors.As(err, &ve) || ve.Fields[0].Pointer != "/subject_turns_18_on" {
		t.Fatalf("parent's consent after 18: %v", err)
	}
}

// A lapse whose scopes were already withdrawn is marked applied without a
// new history entry or announcement; a withdrawn consent likewise.
func TestLapseAfterManualWithdrawal(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	turns18 := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	d := decision()
	d.Scopes = domain.AllScopes
	d.SubjectTurns18On = &turns18
	a, _ := e.app.Record(ctx, pat, d, "")
	b, _ := e.app.Record(ctx, pat, d, "")
	if _, err := e.app.Withdraw(ctx, pat, a.ID, domain.LapseScopes); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Withdraw(ctx, pat, b.ID, []domain.Scope{domain.ScopeParticipation}); err != nil {
		t.Fatal(err)
	}
	before := len(e.outbox(t))
	e.now = time.Date(2026, 1, 10, 6, 0, 0, 0, time.UTC)
	if n, err := e.app.SweepLapses(ctx); err != nil || n != 0 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if got := len(e.outbox(t)); got != before {
		t.Fatalf("sweep announced %d events", got-before)
	}
	var pending int64
	e.db.Table("consents").Where("lapses_at IS NOT NULL AND lapsed_at IS NULL").Count(&pending)
	if pending != 0 {
		t.Fatalf("%d lapses still pending", pending)
	}
	list, _, _ := e.app.Consents(ctx, pat, ref, "", 10)
	if len(list[0].History) != 2 || len(list[1].History) != 2 {
		t.Fatal("the sweep wrote history for nothing")
	}
}

// The sweep works through more due lapses than one batch holds.
func TestSweepCoversEveryDueLapse(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	turns18 := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	d := decision()
	d.Scopes = []domain.Scope{domain.ScopeParticipation, domain.ScopeCrossServiceLinkage}
	d.SubjectTurns18On = &turns18
	const n = 130
	for range n {
		if _, err := e.app.Record(ctx, pat, d, ""); err != nil {
			t.Fatal(err)
		}
	}
	e.now = time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	if got, err := e.app.SweepLapses(ctx); err != nil || got != n {
		t.Fatalf("swept %d, %v; want %d", got, err, n)
	}
}
