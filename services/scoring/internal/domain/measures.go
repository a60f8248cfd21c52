package domain

import (
	"fmt"
	"math"
	"slices"
)

// Validated measures a rules file can ask for (MeasureRule.Method). Each is
// scored exactly as its publisher says, so figures compare with published
// norms; anything else would be a new, unvalidated scale.
const (
	// MethodONS4Positive scores one ONS personal well-being item that is
	// good when high (life satisfaction, worthwhile, happiness): 0-10,
	// banded 0-4 low, 5-6 medium, 7-8 high, 9-10 very high.
	MethodONS4Positive = "ons4-positive"
	// MethodONS4Anxiety scores the ONS anxiety item (good when low): 0-10,
	// banded 0-1 very low, 2-3 low, 4-5 medium, 6-10 high.
	MethodONS4Anxiety = "ons4-anxiety"
	// MethodSWEMWBS scores the Short Warwick-Edinburgh Mental Wellbeing
	// Scale: seven items 1-5, raw sum 7-35, converted to the metric score
	// by the published table.
	MethodSWEMWBS = "swemwbs"
)

// MeasureMethods lists the methods a rules file may name.
var MeasureMethods = []string{MethodONS4Positive, MethodONS4Anxiety, MethodSWEMWBS}

// MeasureRule names a validated measure and the questions that carry its
// items, in the publisher's item order.
type MeasureRule struct {
	Measure   string   `json:"measure"` // e.g. "ons4-life-satisfaction"
	Method    string   `json:"method"`
	Questions []string `json:"questions"`
}

// itemCount is how many questions each method takes.
func itemCount(method string) int {
	if method == MethodSWEMWBS {
		return 7
	}
	return 1
}

func (m MeasureRule) check() error {
	if !slugPattern.MatchString(m.Measure) {
		return fmt.Errorf("measure %q is not a lower-case slug", m.Measure)
	}
	if !slices.Contains(MeasureMethods, m.Method) {
		return fmt.Errorf("measure %s: unknown method %q", m.Measure, m.Method)
	}
	if want := itemCount(m.Method); len(m.Questions) != want {
		return fmt.Errorf("measure %s: method %s takes %d questions, not %d", m.Measure, m.Method, want, len(m.Questions))
	}
	return nil
}

// MeasureValue is one scored measure of a response. ONS4 items are reported
// item by item, never summed: Value is the answer and Band its ONS band.
// SWEMWBS has Raw (the item sum) and Value (the metric score), no band.
type MeasureValue struct {
	Measure string  `json:"measure"`
	Method  string  `json:"method"`
	Value   float64 `json:"value"`
	Raw     *int    `json:"raw,omitempty"`
	Band    string  `json:"band,omitempty"`
}

// ONS4 bands.
const (
	BandVeryLow  = "very-low"
	BandLow      = "low"
	BandMedium   = "medium"
	BandHigh     = "high"
	BandVeryHigh = "very-high"
)

// ONS4Band is the ONS band of an answer 0-10 to one ONS4 item (ONS,
// "Personal well-being user guidance"): for life satisfaction, worthwhile
// and happiness 0-4 low, 5-6 medium, 7-8 high, 9-10 very high; for anxiety
// 0-1 very low, 2-3 low, 4-5 medium, 6-10 high.
func ONS4Band(method string, score int) (string, error) {
	if score < 0 || score > 10 {
		return "", fmt.Errorf("ONS4 score %d is outside 0-10", score)
	}
	switch method {
	case MethodONS4Positive:
		switch {
		case score <= 4:
			return BandLow, nil
		case score <= 6:
			return BandMedium, nil
		case score <= 8:
			return BandHigh, nil
		default:
			return BandVeryHigh, nil
		}
	case MethodONS4Anxiety:
		switch {
		case score <= 1:
			return BandVeryLow, nil
		case score <= 3:
			return BandLow, nil
		case score <= 5:
			return BandMedium, nil
		default:
			return BandHigh, nil
		}
	}
	return "", fmt.Errorf("%q is not an ONS4 method", method)
}

// swemwbsMetric is the published SWEMWBS raw-to-metric conversion table
// (Stewart-Brown et al. 2009, Rasch-derived; as published by Warwick Medical
// School), indexed by raw score - 7.
var swemwbsMetric = [29]float64{
	7.00, 9.51, 11.25, 12.40, 13.33, 14.08, 14.75, 15.32, 15.84, 16.36, // 7-16
	16.88, 17.43, 17.98, 18.59, 19.25, 19.98, 20.73, 21.54, 22.35, 23.21, // 17-26
	24.11, 25.03, 26.02, 27.03, 28.13, 29.31, 30.70, 32.55, 35.00, // 27-35
}

// SWEMWBSMetric converts a SWEMWBS raw score (7-35) to its metric score.
func SWEMWBSMetric(raw int) (float64, error) {
	if raw < 7 || raw > 35 {
		return 0, fmt.Errorf("SWEMWBS raw score %d is outside 7-35", raw)
	}
	return swemwbsMetric[raw-7], nil
}

// scoreMeasures scores each measure of the rules whose items are all
// answered. A measure with an item unanswered is omitted: neither ONS nor
// the SWEMWBS authors allow imputing a missing item. An answer outside its
// item's range is an *AnswerError.
func scoreMeasures(rules []MeasureRule, answers map[string]any) ([]MeasureValue, error) {
	var out []MeasureValue
	for _, m := range rules {
		items := make([]int, 0, len(m.Questions))
		for _, q := range m.Questions {
			v, ok, err := wholeAnswer(answers, q)
			if err != nil {
				return nil, err
			}
			if !ok {
				break
			}
			lo, hi := 0, 10
			if m.Method == MethodSWEMWBS {
				lo, hi = 1, 5
			}
			if v < lo || v > hi {
				return nil, &AnswerError{Question: q, Reason: fmt.Sprintf("outside %d-%d", lo, hi)}
			}
			items = append(items, v)
		}
		if len(items) != len(m.Questions) {
			continue
		}
		mv := MeasureValue{Measure: m.Measure, Method: m.Method}
		if m.Method == MethodSWEMWBS {
			raw := 0
			for _, v := range items {
				raw += v
			}
			metric, err := SWEMWBSMetric(raw)
			if err != nil {
				return nil, err
			}
			mv.Raw, mv.Value = &raw, metric
		} else {
			band, err := ONS4Band(m.Method, items[0])
			if err != nil {
				return nil, err
			}
			mv.Value, mv.Band = float64(items[0]), band
		}
		out = append(out, mv)
	}
	return out, nil
}

// wholeAnswer returns a whole-number answer (JSON numbers decode as
// float64); ok is false when unanswered.
func wholeAnswer(answers map[string]any, q string) (v int, ok bool, err error) {
	raw, present := answers[q]
	if !present || raw == nil {
		return 0, false, nil
	}
	f, isNumber := raw.(float64)
	if !isNumber || f != math.Trunc(f) || math.IsInf(f, 0) {
		return 0, false, &AnswerError{Question: q, Reason: "expected a whole number"}
	}
	return int(f), true, nil
}
