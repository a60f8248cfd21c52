package events_test

import (
	"context"
	"testing"
	"time"

	"poet.local/apispecs"
	libevents "poet.local/libs/events"
	"poet.local/services/scoring/internal/domain"
	"poet.local/services/scoring/internal/rules"
)

// TestScoredMeasuresFitTheEventSchema scores a response to the shipped
// adult wellbeing instrument by its shipped rules and checks the result,
// measures included, is a valid response-scored event; and that a result
// without measures still is (the field is optional, added compatibly).
func TestScoredMeasuresFitTheEventSchema(t *testing.T) {
	schemas, err := libevents.LoadSchemas(apispecs.Events())
	if err != nil {
		t.Fatal(err)
	}
	catalogue, err := rules.Load(apispecs.ScoringRules(), apispecs.Instruments())
	if err != nil {
		t.Fatal(err)
	}
	r, ok := catalogue.Active("adult-wellbeing", "1.0.0")
	if !ok {
		t.Fatal("no rules for adult-wellbeing 1.0.0")
	}
	answers := map[string]any{"respondent-role": "self", "outcome-quality-of-life": "better", "views-included": "yes",
		"ons-life-satisfaction": 8.0, "ons-worthwhile": 9.0, "ons-happiness": 4.0, "ons-anxiety": 6.0}
	for i := 1; i <= 7; i++ {
		answers["swemwbs-"+string(rune('0'+i))] = 5.0
	}
	res, err := domain.Score(r, domain.Response{ID: "resp_01JD0000000000000000000009", OrganisationID: "org_adult_demo", SiteID: "site_adult_demo",
		ServiceLine: "adult", InstrumentID: "adult-wellbeing", InstrumentVersion: "1.0.0", Mode: "online", RespondentRole: "self",
		SubmittedAt: time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC), Answers: answers})
	if err != nil {
		t.Fatal(err)
	}
	bands := map[string]string{}
	for _, m := range res.Measures {
		bands[m.Measure] = m.Band
		if m.Measure == "swemwbs" && (m.Value != 35 || m.Raw == nil || *m.Raw != 35) {
			t.Errorf("SWEMWBS all 5s = %+v, want raw 35, metric 35.00", m)
		}
	}
	want := map[string]string{"ons4-life-satisfaction": "high", "ons4-worthwhile": "very-high", "ons4-happiness": "low", "ons4-anxiety": "high", "swemwbs": ""}
	if len(bands) != len(want) {
		t.Fatalf("measures %+v", res.Measures)
	}
	for k, v := range want {
		if bands[k] != v {
			t.Errorf("%s band %q, want %q", k, bands[k], v)
		}
	}
	msg := func(p any) error {
		_, err := libevents.NewOutboxMessage(context.Background(), schemas, libevents.Message{Topic: apispecs.TopicScoringScores,
			Key: res.ResponseID, Type: apispecs.TypeResponseScored, Source: "scoring", Subject: res.ResponseID, Payload: p})
		return err
	}
	if err := msg(res); err != nil {
		t.Errorf("a result with measures is not a valid event: %v", err)
	}
	res.Measures = nil
	if err := msg(res); err != nil {
		t.Errorf("a result without measures is not a valid event: %v", err)
	}
	res.Measures = []domain.MeasureValue{{Measure: "ons4-anxiety", Method: "ons5", Value: 3}}
	if err := msg(res); err == nil {
		t.Error("an unknown measure method passed the schema")
	}
}
