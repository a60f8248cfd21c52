package domain

import (
	"errors"
	"reflect"
	"testing"
)

func TestONS4BandsAtEveryBoundary(t *testing.T) {
	// ONS bands: positive items 0-4 low, 5-6 medium, 7-8 high, 9-10 very high;
	// anxiety 0-1 very low, 2-3 low, 4-5 medium, 6-10 high.
	positive := []string{"low", "low", "low", "low", "low", "medium", "medium", "high", "high", "very-high", "very-high"}
	anxiety := []string{"very-low", "very-low", "low", "low", "medium", "medium", "high", "high", "high", "high", "high"}
	for score := 0; score <= 10; score++ {
		if b, _ := ONS4Band(MethodONS4Positive, score); b != positive[score] {
			t.Errorf("positive %d: band %s, want %s", score, b, positive[score])
		}
		if b, _ := ONS4Band(MethodONS4Anxiety, score); b != anxiety[score] {
			t.Errorf("anxiety %d: band %s, want %s", score, b, anxiety[score])
		}
	}
	for _, bad := range []int{-1, 11} {
		if _, err := ONS4Band(MethodONS4Positive, bad); err == nil {
			t.Errorf("score %d banded", bad)
		}
	}
	if _, err := ONS4Band(MethodSWEMWBS, 5); err == nil {
		t.Error("SWEMWBS banded as ONS4")
	}
}

func TestSWEMWBSConversionTable(t *testing.T) {
	// The published table, raw 7..35.
	want := map[int]float64{7: 7.00, 8: 9.51, 9: 11.25, 10: 12.40, 11: 13.33, 12: 14.08, 13: 14.75, 14: 15.32, 15: 15.84,
		16: 16.36, 17: 16.88, 18: 17.43, 19: 17.98, 20: 18.59, 21: 19.25, 22: 19.98, 23: 20.73, 24: 21.54, 25: 22.35,
		26: 23.21, 27: 24.11, 28: 25.03, 29: 26.02, 30: 27.03, 31: 28.13, 32: 29.31, 33: 30.70, 34: 32.55, 35: 35.00}
	for raw, metric := range want {
		if got, err := SWEMWBSMetric(raw); err != nil || got != metric {
			t.Errorf("raw %d: metric %v (%v), want %v", raw, got, err, metric)
		}
	}
	for _, bad := range []int{6, 36} {
		if _, err := SWEMWBSMetric(bad); err == nil {
			t.Errorf("raw %d converted", bad)
		}
	}
}

func wellbeingRules() Rules {
	r := shortSet("1.0.0")
	r.Measures = []MeasureRule{
		{Measure: "ons4-life-satisfaction", Method: MethodONS4Positive, Questions: []string{"ons-life"}},
		{Measure: "ons4-anxiety", Method: MethodONS4Anxiety, Questions: []string{"ons-anxiety"}},
		{Measure: "swemwbs", Method: MethodSWEMWBS, Questions: []string{"sw1", "sw2", "sw3", "sw4", "sw5", "sw6", "sw7"}},
	}
	return r
}

func TestScoreMeasuresHandWorked(t *testing.T) {
	// SWEMWBS items 3,4,2,5,3,4,3 sum to 24, which the table makes 21.54.
	answers := map[string]any{"ons-life": 7.0, "ons-anxiety": 3.0,
		"sw1": 3.0, "sw2": 4.0, "sw3": 2.0, "sw4": 5.0, "sw5": 3.0, "sw6": 4.0, "sw7": 3.0}
	got, err := Score(wellbeingRules(), response(answers))
	if err != nil {
		t.Fatal(err)
	}
	raw := 24
	want := []MeasureValue{
		{Measure: "ons4-life-satisfaction", Method: MethodONS4Positive, Value: 7, Band: BandHigh},
		{Measure: "ons4-anxiety", Method: MethodONS4Anxiety, Value: 3, Band: BandLow},
		{Measure: "swemwbs", Method: MethodSWEMWBS, Value: 21.54, Raw: &raw},
	}
	if !reflect.DeepEqual(got.Measures, want) {
		t.Fatalf("measures = %+v, want %+v", got.Measures, want)
	}

	// One SWEMWBS item missing: no SWEMWBS (no imputation); ONS4 items still scored.
	delete(answers, "sw5")
	got, err = Score(wellbeingRules(), response(answers))
	if err != nil || len(got.Measures) != 2 || got.Measures[1].Measure != "ons4-anxiety" {
		t.Fatalf("measures with an item missing = %+v (%v), want the two ONS4 items only", got.Measures, err)
	}
	// Rules without measures: the field stays empty, so v1 consumers see no change.
	if got, _ := Score(shortSet("1.0.0"), response(answers)); got.Measures != nil {
		t.Errorf("measures without measure rules: %+v", got.Measures)
	}
}

func TestScoreMeasuresRefusesOffScaleAnswers(t *testing.T) {
	for name, answers := range map[string]map[string]any{
		"ons above 10":     {"ons-life": 11.0},
		"ons fractional":   {"ons-life": 6.5},
		"ons as text":      {"ons-life": "7"},
		"swemwbs item 0":   {"sw1": 0.0, "sw2": 1.0, "sw3": 1.0, "sw4": 1.0, "sw5": 1.0, "sw6": 1.0, "sw7": 1.0},
		"swemwbs item six": {"sw1": 6.0},
	} {
		_, err := Score(wellbeingRules(), response(answers))
		var ae *AnswerError
		if !errors.As(err, &ae) {
			t.Errorf("%s: err = %v, want an AnswerError", name, err)
		}
	}
}

func TestRulesCheckMeasures(t *testing.T) {
	if err := wellbeingRules().Check(); err != nil {
		t.Fatalf("good measure rules refused: %v", err)
	}
	bad := map[string]func(*Rules){
		"unknown method":      func(r *Rules) { r.Measures[0].Method = "wemwbs-14" },
		"swemwbs six items":   func(r *Rules) { r.Measures[2].Questions = r.Measures[2].Questions[:6] },
		"ons4 two items":      func(r *Rules) { r.Measures[0].Questions = []string{"a1", "a2"} },
		"measure twice":       func(r *Rules) { r.Measures[1].Measure = r.Measures[0].Measure },
		"question reused":     func(r *Rules) { r.Measures[1].Questions = []string{"ons-life"} },
		"question is outcome": func(r *Rules) { r.Measures[0].Questions = []string{"outcome-health"} },
		"bad measure name":    func(r *Rules) { r.Measures[0].Measure = "ONS 4" },
	}
	for name, mutate := range bad {
		r := wellbeingRules()
		mutate(&r)
		if err := r.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
