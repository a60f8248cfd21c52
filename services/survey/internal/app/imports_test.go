package app_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"poet.local/libs/authn"
	"poet.local/libs/testkit"
	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
	"poet.local/services/survey/internal/identityclient"
	"poet.local/services/survey/internal/identityclient/identitytest"
)

const importHeader = "row_id,mode,respondent-role,knew-amount,views-included,outcome-quality-of-life,age-band\n"

func TestCSVImportTakesGoodRowsReportsBadOnesAndReRunsCreateNothing(t *testing.T) {
	e := setup(t)
	c := e.campaign(app.NewCampaign{Modes: []string{"online", "paper", "telephone"}})
	file := importHeader +
		"# form 1000 was spoilt\n" +
		"1001,paper,self,yes,yes,better,18-25\n" + // line 3: good
		"1002,,carer,partly,no,worse,\n" + // line 4: good (mode blank: paper)
		"1003,paper,self,maybe,yes,brilliant,18-25\n" + // line 5: two bad answers
		"1004,face-to-face,self,yes,yes,better,\n" + // line 6: mode not taken by the campaign
		",paper,self,yes,yes,better,\n" + // line 7: no row id
		"1005,telephone,self,yes,yes,\n" + // line 8: a cell short
		"1001,paper,self,yes,yes,better,18-25\n" + // line 9: same form again
		"1006,paper,parent-carer,no,yes,same,5-10\n" // line 10: good
	res, err := e.app.ImportCSV(e.ctx, children, c.ID, strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 3 || res.Duplicates != 1 || res.RejectedCount != 4 || len(res.Rejected) != 4 {
		t.Fatalf("result %+v", res)
	}
	want := []struct {
		line    int
		rowID   string
		columns string
	}{
		{5, "1003", "knew-amount outcome-quality-of-life"},
		{6, "1004", "mode"},
		{7, "", "row_id"},
		{8, "1005", ""},
	}
	for i, w := range want {
		got := res.Rejected[i]
		var cols []string
		for _, e := range got.Errors {
			cols = append(cols, e.Column)
		}
		if got.Line != w.line || got.RowID != w.rowID || strings.Join(cols, " ") != w.columns {
			t.Errorf("rejected %d: %+v, want line %d row %q columns %q", i, got, w.line, w.rowID, w.columns)
		}
	}
	if e.count("responses") != 3 || len(e.outbox()) != 3 || e.count("response_entries") != 3 {
		t.Fatalf("stored %d responses, %d events, %d entries", e.count("responses"), len(e.outbox()), e.count("response_entries"))
	}
	entries, _ := e.store.Entries(c.ID)
	for _, en := range entries {
		if en.EnteredBy != "pat-subject" || en.Mode != "paper" {
			t.Fatalf("entry %+v", en)
		}
	}

	// The same file again: every good row is a duplicate, nothing is new.
	res, err = e.app.ImportCSV(e.ctx, children, c.ID, strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 0 || res.Duplicates != 4 || res.RejectedCount != 4 {
		t.Fatalf("re-run %+v", res)
	}
	if e.count("responses") != 3 || len(e.outbox()) != 3 {
		t.Fatal("the re-run stored something")
	}
	// A form entered by hand with its paper-form key is a duplicate too.
	if _, err := e.app.EnterResponse(e.ctx, children, c.ID, app.Submission{Mode: "paper", Answers: answers(0), IdempotencyKey: "paper-form:2001"}); err != nil {
		t.Fatal(err)
	}
	res, err = e.app.ImportCSV(e.ctx, children, c.ID, strings.NewReader(importHeader+"2001,paper,self,yes,yes,better,\n"))
	if err != nil || res.Duplicates != 1 || res.Accepted != 0 {
		t.Fatalf("hand-entered form: %+v %v", res, err)
	}
	r, _ := e.app.Returns(e.ctx, children, c.ID)
	if r.Total != 4 || r.ByMode["paper"] != 4 {
		t.Fatalf("returns %+v", r)
	}
}

func TestCSVImportInBatches(t *testing.T) {
	e := setup(t)
	c := e.campaign(app.NewCampaign{})
	var b strings.Builder
	b.WriteString(importHeader)
	n := app.ImportBatchSize*2 + 7
	for i := range n {
		fmt.Fprintf(&b, "F%05d,paper,self,yes,yes,better,\n", i)
	}
	res, err := e.app.ImportCSV(e.ctx, children, c.ID, strings.NewReader(b.String()))
	if err != nil || res.Accepted != n || res.RejectedCount != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if e.count("responses") != int64(n) {
		t.Fatalf("%d stored", e.count("responses"))
	}
	r, _ := e.app.Returns(e.ctx, children, c.ID)
	if r.Total != int64(n) {
		t.Fatalf("returns %d, want %d", r.Total, n)
	}
}

func TestCSVImportRefusesAWrongHeaderAnotherOrganisationAndAClosedCampaign(t *testing.T) {
	e := setup(t)
	c := e.campaign(app.NewCampaign{})
	_, err := e.app.ImportCSV(e.ctx, children, c.ID, strings.NewReader("form,knew-amount\n1,yes\n"))
	var ve *app.ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Pointer != "/columns/form" || ve.Fields[1].Pointer != "/columns/row_id" {
		t.Fatalf("wrong header: %v", err)
	}
	if _, err := e.app.ImportCSV(e.ctx, adult, c.ID, strings.NewReader(importHeader)); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("another organisation: %v", err)
	}
	opens := e.clock.Now().AddDate(0, 0, -10)
	closes := e.clock.Now().AddDate(0, 0, -1)
	shut := e.campaign(app.NewCampaign{Name: "Last year", OpensAt: &opens, ClosesAt: &closes})
	if _, err := e.app.ImportCSV(e.ctx, children, shut.ID, strings.NewReader(importHeader)); !errors.Is(err, domain.ErrCampaignShut) {
		t.Fatalf("closed campaign: %v", err)
	}
	if e.count("responses") != 0 {
		t.Fatal("stored responses")
	}
}

// The embedded use case against a stand-in that follows identity's contract:
// only the subject reference is stored and announced, never the local id.
func TestEmbeddedResponsesCarryOnlyTheSubjectReference(t *testing.T) {
	e := setup(t)
	oidc := testkit.OIDC(t, "poet-platform")
	issuers, err := authn.ParseIssuers(oidc.IssuersJSON())
	if err != nil {
		t.Fatal(err)
	}
	id := identitytest.Start(authn.NewVerifier(issuers))
	defer id.Close()
	e.app.SetSubjectResolver(identityclient.New(id.URL, nil))
	tok, _ := oidc.Mint("children-demo", "pat")
	pat := children
	pat.Token = tok
	c := e.campaign(app.NewCampaign{})
	const canary = "NB-LOCAL-CANARY-77331"

	r, err := e.app.SubmitEmbedded(e.ctx, pat, c.ID, app.Embedded{LocalPersonID: canary, Answers: answers(0), IdempotencyKey: "review-77331"})
	if err != nil {
		t.Fatal(err)
	}
	want := id.Ref("org_children_demo", canary)
	stored, err := e.store.Entries(c.ID)
	if err != nil || len(stored) != 1 || stored[0].Mode != domain.ModeEmbedded {
		t.Fatalf("entries %+v %v", stored, err)
	}
	var ref string
	if err := e.db.Table("responses").Where("id = ?", r.ID).Pluck("subject_ref", &ref).Error; err != nil || ref != want {
		t.Fatalf("stored subject %q %v, want %q", ref, err, want)
	}
	msgs := e.outbox()
	if len(msgs) != 1 || msgs[0]["subject_ref"] != want || msgs[0]["mode"] != "embedded-review" {
		t.Fatalf("announced %v", msgs)
	}
	if strings.Contains(fmt.Sprint(msgs), canary) {
		t.Fatal("the local id was announced")
	}
	dir := filepath.Dir(strings.TrimPrefix(e.dsn, "sqlite:"))
	assertNotInFiles(t, dir, canary)

	// A retry returns the first receipt without asking identity again.
	calls := id.Calls()
	again, err := e.app.SubmitEmbedded(e.ctx, pat, c.ID, app.Embedded{LocalPersonID: canary, Answers: answers(0), IdempotencyKey: "review-77331"})
	if err != nil || again.ID != r.ID || id.Calls() != calls {
		t.Fatalf("retry %+v %v (%d calls)", again, err, id.Calls()-calls)
	}

	// Bad answers never reach identity.
	_, err = e.app.SubmitEmbedded(e.ctx, pat, c.ID, app.Embedded{LocalPersonID: canary, Answers: map[string]any{"knew-amount": "x"}})
	var ve *app.ValidationError
	if !errors.As(err, &ve) || id.Calls() != calls {
		t.Fatalf("bad answers: %v (%d calls)", err, id.Calls()-calls)
	}
	// Practice instruments have no subject.
	practice := e.campaign(app.NewCampaign{Name: "Practice", InstrumentID: "children-practitioner", InstrumentVersion: "1.0.0"})
	_, err = e.app.SubmitEmbedded(e.ctx, pat, practice.ID, app.Embedded{LocalPersonID: canary, Answers: map[string]any{}})
	if !errors.As(err, &ve) || ve.Fields[0].Pointer != "/local_person_id" || id.Calls() != calls {
		t.Fatalf("practice instrument: %v", err)
	}
	// An analyst's token is refused by identity; nothing is stored.
	ana := children
	ana.Token, _ = oidc.Mint("children-demo", "ana")
	if _, err := e.app.SubmitEmbedded(e.ctx, ana, c.ID, app.Embedded{LocalPersonID: "P-2", Answers: answers(1)}); !errors.Is(err, app.ErrIdentityRefused) {
		t.Fatalf("analyst: %v", err)
	}
	// Identity down: unavailable, nothing stored.
	id.Close()
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	if _, err := e.app.SubmitEmbedded(ctx, pat, c.ID, app.Embedded{LocalPersonID: "P-3", Answers: answers(2)}); !errors.Is(err, app.ErrIdentityUnavailable) {
		t.Fatalf("identity down: %v", err)
	}
	if e.count("responses") != 1 || len(e.outbox()) != 1 || e.count("response_entries") != 1 {
		t.Fatal("a refused embedded response was stored")
	}
	if _, err := e.app.SubmitEmbedded(e.ctx, adult, c.ID, app.Embedded{LocalPersonID: "P-4", Answers: answers(2)}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("another organisation: %v", err)
	}
}
