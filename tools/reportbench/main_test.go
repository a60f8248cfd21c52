package main

import (
	"strings"
	"testing"
)

func TestRenderShowsFiguresAndRatio(t *testing.T) {
	md := render(result{Events: 1000, Sites: 150, Periods: 8, Batch: 500, ReplaySeconds: 2, EventsPerSecond: 500,
		Period: "2026-Q4", SiteReport: latency{P50Ms: 9.5, P95Ms: 15, N: 10}, NationalReport: latency{P50Ms: 40, N: 10},
		NationalRaw: latency{P50Ms: 160, N: 10}, Ratio: 4, Same: true, GOMAXPROCS: 2, LoadAvgBefore: "1.0 1.0 1.0"})
	for _, want := range []string{"1000 scored responses", "**500 responses/s**", "| 9.5 | 15.0 |", "**4.0×**", "identical: true", "load average 1.0 1.0 1.0"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
}

func TestRunRefusesWithoutPostgres(t *testing.T) {
	if _, err := run(options{url: ""}); err == nil || !strings.Contains(err.Error(), "POET_TEST_POSTGRES_URL") {
		t.Errorf("err = %v", err)
	}
}
