package app_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"poet.local/services/survey/internal/app"
	"poet.local/services/survey/internal/domain"
)

func TestDraftsSaveAndResumeAndGoWithTheSubmission(t *testing.T) {
	e := setup(t)
	c := e.campaign(app.NewCampaign{})
	issued, err := e.app.CreateInvitations(e.ctx, children, c.ID, app.NewInvitations{Batches: []app.InvitationBatch{{Count: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	tok := issued[0].Token
	if _, err := e.app.InvitationDraft(e.ctx, tok); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("nothing saved yet: %v", err)
	}
	// Partial answers are fine; a wrong type is not.
	_, err = e.app.SaveInvitationDraft(e.ctx, tok, map[string]any{"knew-amount": "maybe"})
	var ve *app.ValidationError
	if !errors.As(err, &ve) || ve.Fields[0].Pointer != "/answers/knew-amount" {
		t.Fatalf("bad draft: %v", err)
	}
	partial := map[string]any{"knew-amount": "partly", "age-band": ""}
	if _, err := e.app.SaveInvitationDraft(e.ctx, tok, partial); err != nil {
		t.Fatal(err)
	}
	d, err := e.app.InvitationDraft(e.ctx, tok)
	if err != nil || len(d.Answers) != 1 || d.Answers["knew-amount"] != "partly" || d.SavedAt == nil {
		t.Fatalf("resumed %+v %v", d, err)
	}
	v, _ := e.app.Invitation(e.ctx, tok)
	if v.Status != app.InvitationOpen || v.Draft == nil || v.Draft.Answers["knew-amount"] != "partly" {
		t.Fatalf("invitation view %+v", v)
	}
	if _, err := e.app.SubmitInvitation(e.ctx, tok, app.Submission{Answers: answers(1)}); err != nil {
		t.Fatal(err)
	}
	if n := e.count("drafts"); n != 0 {
		t.Fatalf("%d drafts left after submission", n)
	}
	if _, err := e.app.SaveInvitationDraft(e.ctx, tok, partial); !errors.Is(err, domain.ErrInvitationUsed) {
		t.Fatalf("saving after submission: %v", err)
	}

	// Open link: a draft token, save, resume, submit clears it.
	dt, started, err := e.app.StartDraft(e.ctx, c.OpenLinkToken)
	if err != nil || len(dt) != 43 || !started.ExpiresAt.Equal(e.clock.Now().Add(app.OpenDraftLifetime)) {
		t.Fatalf("start: %q %+v %v", dt, started, err)
	}
	if _, err := e.app.SaveLinkDraft(e.ctx, c.OpenLinkToken, dt, map[string]any{"views-included": "no"}); err != nil {
		t.Fatal(err)
	}
	other := e.campaign(app.NewCampaign{Name: "Other"})
	if _, err := e.app.LinkDraft(e.ctx, other.OpenLinkToken, dt); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("draft through another campaign's link: %v", err)
	}
	if d, err := e.app.LinkDraft(e.ctx, c.OpenLinkToken, dt); err != nil || d.Answers["views-included"] != "no" {
		t.Fatalf("resume %+v %v", d, err)
	}
	if _, err := e.app.Submit(e.ctx, app.Submission{LinkToken: c.OpenLinkToken, Answers: answers(2), DraftToken: dt}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.LinkDraft(e.ctx, c.OpenLinkToken, dt); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("draft after submission: %v", err)
	}

	// Unsaved drafts expire, and are swept when the next one starts.
	dt2, _, err := e.app.StartDraft(e.ctx, c.OpenLinkToken)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(app.OpenDraftLifetime)
	if _, err := e.app.LinkDraft(e.ctx, c.OpenLinkToken, dt2); !errors.Is(err, domain.ErrExpired) {
		t.Fatalf("expired draft: %v", err)
	}
	if _, _, err := e.app.StartDraft(e.ctx, c.OpenLinkToken); err != nil {
		t.Fatal(err)
	}
	if n := e.count("drafts"); n != 1 {
		t.Fatalf("%d drafts; the expired one should have been swept", n)
	}
}

func TestPractitionerEntryIsAuditedButNotAnnounced(t *testing.T) {
	e := setup(t)
	c := e.campaign(app.NewCampaign{Modes: []string{"online", "telephone"}})
	r, err := e.app.EnterResponse(e.ctx, children, c.ID, app.Submission{Mode: "telephone", Answers: answers(0), IdempotencyKey: "call-0001"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.app.EnterResponse(e.ctx, children, c.ID, app.Submission{Mode: "telephone", Answers: answers(0), IdempotencyKey: "call-0001"})
	if err != nil || again.ID != r.ID {
		t.Fatalf("retry %+v %v", again, err)
	}
	entries, err := e.store.Entries(c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("entries %+v", entries)
	}
	got := entries[0]
	if got.ResponseID != r.ID || got.EnteredBy != "pat-subject" || got.Mode != "telephone" || !got.EnteredAt.Equal(e.clock.Now()) || got.OrganisationID != "org_children_demo" {
		t.Fatalf("entry %+v", got)
	}
	msgs := e.outbox()
	if len(msgs) != 1 || msgs[0]["mode"] != "telephone" {
		t.Fatalf("announcements %v", msgs)
	}
	if s := fmt.Sprint(msgs[0]); strings.Contains(s, "pat-subject") || strings.Contains(s, "entered") {
		t.Fatalf("the event tells who entered the response: %s", s)
	}

	for mode, pointer := range map[string]string{"": "/mode", "online": "/mode", "paper": "/mode"} {
		_, err := e.app.EnterResponse(e.ctx, children, c.ID, app.Submission{Mode: mode, Answers: answers(0)})
		var ve *app.ValidationError
		if !errors.As(err, &ve) || ve.Fields[0].Pointer != pointer {
			t.Errorf("mode %q: %v", mode, err)
		}
	}
	if _, err := e.app.EnterResponse(e.ctx, adult, c.ID, app.Submission{Mode: "telephone", Answers: answers(0)}); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("another organisation: %v", err)
	}
	if e.count("responses") != 1 || e.count("response_entries") != 1 {
		t.Fatal("refused entries were stored")
	}
}

func TestReturnsCountByModeAndDayFromTheRollup(t *testing.T) {
	e := setup(t)
	c := e.campaign(app.NewCampaign{Cohort: "annual reviews 2026"})
	if c.Cohort != "annual reviews 2026" || len(c.Modes) != len(domain.Modes) {
		t.Fatalf("campaign %+v", c)
	}
	// Day 1 (2026-03-02): 3 online, 1 paper. Day 2: 2 telephone.
	for i := range 3 {
		if _, err := e.app.Submit(e.ctx, app.Submission{LinkToken: c.OpenLinkToken, Answers: answers(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.app.EnterResponse(e.ctx, children, c.ID, app.Submission{Mode: "paper", Answers: answers(0)}); err != nil {
		t.Fatal(err)
	}
	// A retry counts nothing.
	for range 2 {
		if _, err := e.app.Submit(e.ctx, app.Submission{LinkToken: c.OpenLinkToken, Answers: answers(0), IdempotencyKey: "same-key"}); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Add(24 * time.Hour)
	for i := range 2 {
		if _, err := e.app.EnterResponse(e.ctx, children, c.ID, app.Submission{Mode: "telephone", Answers: answers(i)}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := e.app.Returns(e.ctx, children, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 7 || r.ByMode["online"] != 4 || r.ByMode["paper"] != 1 || r.ByMode["telephone"] != 2 || r.ByMode["face-to-face"] != 0 {
		t.Fatalf("returns %+v", r)
	}
	if len(r.ByDay) != 2 || r.ByDay[0].Day != "2026-03-02" || r.ByDay[0].Total != 5 || r.ByDay[1].Day != "2026-03-03" ||
		r.ByDay[1].ByMode["telephone"] != 2 || r.ByDay[1].Total != 2 {
		t.Fatalf("by day %+v", r.ByDay)
	}
	if n := e.count("responses"); n != r.Total {
		t.Fatalf("rollup says %d, responses hold %d", r.Total, n)
	}
	if _, err := e.app.Returns(e.ctx, adult, c.ID); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("another organisation's returns: %v", err)
	}
	// Cohorts filter the campaign list.
	e.campaign(app.NewCampaign{Name: "No cohort"})
	list, _, err := e.app.Campaigns(e.ctx, children, "annual reviews 2026", "", 50)
	if err != nil || len(list) != 1 || list[0].ID != c.ID {
		t.Fatalf("cohort list %+v %v", list, err)
	}
}
