package domain

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHashTokenIsHexSHA256(t *testing.T) {
	// FIPS 180-2 test vector.
	if got := HashToken("abc"); got != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Fatalf("HashToken(abc) = %s", got)
	}
}

func TestCampaignModes(t *testing.T) {
	got, reason := CheckModes(nil)
	if reason != "" || strings.Join(got, ",") != strings.Join(Modes, ",") {
		t.Fatalf("no modes: %v %q, want all", got, reason)
	}
	got, reason = CheckModes([]string{"paper", "online", "paper"})
	if reason != "" || strings.Join(got, ",") != "online,paper" {
		t.Fatalf("canonical order without repeats: %v %q", got, reason)
	}
	if _, reason := CheckModes([]string{"carrier-pigeon"}); reason == "" {
		t.Fatal("unknown mode accepted")
	}
	c := Campaign{Modes: []string{"online", "paper"}}
	if !c.AllowsMode("paper") || c.AllowsMode("telephone") {
		t.Fatal("AllowsMode ignores the campaign's modes")
	}
	if !(Campaign{}).AllowsMode("telephone") {
		t.Fatal("a campaign from before modes existed takes every mode")
	}
	if CheckCohort(strings.Repeat("a", 100)) != "" || CheckCohort(strings.Repeat("a", 101)) == "" || CheckCohort("a\x00") == "" {
		t.Fatal("cohort bounds")
	}
}

func TestInvitationUsable(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	later := now.Add(time.Hour)
	inv := Invitation{ExpiresAt: &later}
	if err := inv.Usable(now); err != nil {
		t.Fatalf("fresh: %v", err)
	}
	if err := inv.Usable(later); !errors.Is(err, ErrExpired) {
		t.Fatalf("at the expiry instant: %v, want expired", err)
	}
	inv.UsedAt = &now
	if err := inv.Usable(now); !errors.Is(err, ErrInvitationUsed) {
		t.Fatalf("used: %v", err)
	}
	if err := (Invitation{}).Usable(now.AddDate(10, 0, 0)); err != nil {
		t.Fatalf("no expiry: %v", err)
	}
}

func TestDraftsCheckTypesButNotRequirednessOrSkipLogic(t *testing.T) {
	in := skipInstrument()
	// Nothing answered yet: fine for a draft.
	if errs := in.ValidateDraft(map[string]any{}, now); len(errs) != 0 {
		t.Fatalf("empty draft: %+v", errs)
	}
	// holding is hidden while has-budget is "no", but a draft may hold it:
	// the respondent may be about to change has-budget back.
	if errs := in.ValidateDraft(map[string]any{"has-budget": "no", "holding": "mixed"}, now); len(errs) != 0 {
		t.Fatalf("hidden answer in a draft: %+v", errs)
	}
	// Types are still checked, and unknown questions refused.
	errs := in.ValidateDraft(map[string]any{"has-budget": "perhaps", "age": 130.0, "nope": "x", "started": "2024-02-30"}, now)
	if got := strings.Join(pointers(errs), " "); got != "/answers/has-budget /answers/age /answers/started /answers/nope" {
		t.Fatalf("problems %+v", errs)
	}
	// The same answers as a submission would also demand the required ones.
	if errs := in.ValidateAnswers(map[string]any{"has-budget": "yes"}, now); len(errs) == 0 {
		t.Fatal("submission without the required holding accepted")
	}
}

func TestExampleAnswersAreValid(t *testing.T) {
	in := skipInstrument()
	ex := in.Example()
	if errs := in.ValidateAnswers(ex, now); len(errs) != 0 {
		t.Fatalf("example %v refused: %+v", ex, errs)
	}
	// Hand-worked: has-budget takes its first option "yes", so holding and
	// spent-on are asked (first option; first two ticks: care, travel),
	// most-impact takes the first ticked, why-not is hidden, and travel-ok
	// is asked because travel was ticked.
	want := map[string]any{"has-budget": "yes", "holding": "direct-payment", "most-impact": "care", "travel-ok": "yes", "ease": 5.0, "score": 0.0,
		"amount": 0.0, "count": 0.0, "age": 40.0, "started": "2024-03-31", "life": "better"}
	for k, v := range want {
		if ex[k] != v {
			t.Errorf("%s = %v, want %v", k, ex[k], v)
		}
	}
	if got := ex["spent-on"].([]any); len(got) != 2 || got[0] != "care" || got[1] != "travel" {
		t.Errorf("spent-on = %v", got)
	}
	for _, hidden := range []string{"why-not"} {
		if _, ok := ex[hidden]; ok {
			t.Errorf("%s answered though hidden", hidden)
		}
	}
}
