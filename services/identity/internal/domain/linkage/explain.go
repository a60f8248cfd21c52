package linkage

// FieldEvidence is what one field contributed to a decision.
type FieldEvidence struct {
	Field   string  `json:"field"`
	Outcome string  `json:"outcome"` // the level, e.g. "exact", "day and month swapped", "missing"
	Weight  float64 `json:"weight"`  // bits for (positive) or against (negative) a match
	// TermFrequency is the part of Weight due to how common the agreeing
	// name is.
	TermFrequency float64 `json:"term_frequency,omitempty"`
}

// Explanation is a decision in words and numbers, for the review screen and
// the audit record. It holds no identifier, only how fields compared.
type Explanation struct {
	Rule        string          `json:"rule"`
	Band        string          `json:"band"`
	Weight      float64         `json:"weight"`
	Probability float64         `json:"probability"`
	PriorWeight float64         `json:"prior_weight"`
	Fields      []FieldEvidence `json:"fields"`
	Notes       []string        `json:"notes,omitempty"`
}

// Explain breaks a decision down field by field with the model's weights.
func (m *Model) Explain(d Decision) Explanation {
	e := Explanation{Rule: d.Rule.String(), Band: d.Band.String(), Weight: float64(d.Weight),
		Probability: d.Probability(), PriorWeight: m.PriorWeight}
	for f := Field(0); f < NumFields; f++ {
		ev := FieldEvidence{Field: FieldNames[f], Outcome: "missing"}
		if l := d.Comparison[f]; l != Missing {
			ev.Outcome = levelNames[f][l]
			if m.Weights[f] != nil {
				ev.Weight = m.Weights[f][l]
			}
		}
		switch f {
		case FieldGivenName:
			ev.TermFrequency = float64(d.TermFrequency[0])
		case FieldFamilyName:
			ev.TermFrequency = float64(d.TermFrequency[1])
		}
		ev.Weight += ev.TermFrequency
		e.Fields = append(e.Fields, ev)
	}
	switch d.Rule {
	case RuleNHSNumber:
		e.Notes = append(e.Notes, "linked deterministically: the same valid NHS number and date of birth")
	case RuleLocalID:
		e.Notes = append(e.Notes, "linked deterministically: the same local id within one organisation")
	case RuleOperator:
		e.Notes = append(e.Notes, "linked by an operator's resolution")
	}
	if d.Flags&FlagNamesSwapped != 0 {
		e.Notes = append(e.Notes, "given and family names agree when swapped")
	}
	if d.Flags&FlagHeld != 0 {
		e.Notes = append(e.Notes, "held for review: only household details (surname, address, a shared number) agree, or the given name is missing where a twin could be meant")
	}
	if d.Flags&FlagConflict != 0 {
		e.Notes = append(e.Notes, "held for review: the link would join two different valid NHS numbers")
	}
	return e
}
