package domain

// OutcomeCounts tallies one domain's answers over many responses: the input
// of the domain indicators.
type OutcomeCounts struct {
	ALotBetter, Better, Same, Worse, ALotWorse, DontKnow, NotApplicable int
}

// Add counts one answer; an answer off the scale is not counted.
func (c *OutcomeCounts) Add(outcome string) {
	switch outcome {
	case OutcomeALotBetter:
		c.ALotBetter++
	case OutcomeBetter:
		c.Better++
	case OutcomeSame:
		c.Same++
	case OutcomeWorse:
		c.Worse++
	case OutcomeALotWorse:
		c.ALotWorse++
	case OutcomeDontKnow:
		c.DontKnow++
	case OutcomeNotApplicable:
		c.NotApplicable++
	}
}

// Answered counts every answer, "don't know" and "does not apply" included.
func (c OutcomeCounts) Answered() int {
	return c.Rated() + c.DontKnow + c.NotApplicable
}

// Rated counts the answers that say which way things went: the denominator
// of the shares. "Don't know" and "does not apply" say nothing about the
// direction, so counting them would dilute both shares alike.
func (c OutcomeCounts) Rated() int {
	return c.ALotBetter + c.Better + c.Same + c.Worse + c.ALotWorse
}

// ShareBetter is (a lot better + better) / rated; ok is false when nobody
// rated the domain.
func (c OutcomeCounts) ShareBetter() (share float64, ok bool) {
	return ratio(c.ALotBetter+c.Better, c.Rated())
}

// ShareWorse is (worse + a lot worse) / rated; ok is false when nobody rated
// the domain.
func (c OutcomeCounts) ShareWorse() (share float64, ok bool) {
	return ratio(c.Worse+c.ALotWorse, c.Rated())
}

// Net is share better minus share worse, from -1 (all worse) to 1 (all
// better); ok is false when nobody rated the domain.
func (c OutcomeCounts) Net() (net float64, ok bool) {
	b, ok := c.ShareBetter()
	if !ok {
		return 0, false
	}
	w, _ := c.ShareWorse()
	return b - w, true
}

func ratio(n, d int) (float64, bool) {
	if d == 0 {
		return 0, false
	}
	return float64(n) / float64(d), true
}
