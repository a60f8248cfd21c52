package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"poet.local/libs/storage"
	"poet.local/tools/e2e"
	"poet.local/tools/stack"
)

func numCPU() int { return runtime.NumCPU() }

// pipeline starts the platform, submits n responses through an open link
// with `workers` concurrent clients, and waits until reporting has counted
// every one. Latency per response is reporting's counted_at minus survey's
// submitted_at, both read back after the run.
func pipeline(ctx context.Context, root, dataDir string, brokers []string, n, workers int) (result, error) {
	broker := "embedded (kfake)"
	if len(brokers) > 0 {
		broker = "Apache Kafka (real)"
		// Start from empty topics so old events are not counted again.
		if err := stack.ResetTopics(ctx, brokers); err != nil {
			return result{}, err
		}
	}
	extra := map[string][]string{}
	if profileDir != "" {
		for i, svc := range []string{"survey", "scoring", "reporting"} {
			extra[svc] = []string{fmt.Sprintf("PPROF_ADDR=127.0.0.1:%d", 26060+i)}
		}
	}
	s, err := stack.Start(ctx, stack.Options{Root: root, DataDir: dataDir, Brokers: brokers, KafkaAddr: "127.0.0.1:0", OIDCAddr: "127.0.0.1:0", PortBase: 20000, LogLevel: "warn", ExtraEnv: extra})
	if err != nil {
		return result{}, err
	}
	defer s.Close(context.Background())
	c := &e2e.Client{HTTP: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}, Survey: s.URL("survey"), Reporting: s.URL("reporting")}
	analyst, err := s.Token("children-demo", "ana")
	if err != nil {
		return result{}, err
	}
	operator, err := s.Token("national-demo", "ops")
	if err != nil {
		return result{}, err
	}
	cmp, err := c.CreateCampaign(ctx, analyst, "site_children_demo")
	if err != nil {
		return result{}, err
	}
	// Warm up connections and code paths; these are counted too.
	const warm = 50
	for i := 0; i < warm; i++ {
		if code, raw, err := c.Submit(ctx, cmp.OpenLinkToken, e2e.ShortSetAnswers(i), ""); err != nil || code != http.StatusCreated {
			return result{}, fmt.Errorf("warm-up submit: %d %s %v", code, raw, err)
		}
	}
	if err := waitCounted(ctx, c, operator, warm, time.Minute); err != nil {
		return result{}, err
	}

	cpuBefore := s.CPU()
	if profileDir != "" {
		go captureProfiles(dataDir)
	}
	var next atomic.Int64
	submitLat := make([]time.Duration, n)
	errs := make(chan error, workers)
	began := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				code, raw, err := c.Submit(ctx, cmp.OpenLinkToken, e2e.ShortSetAnswers(i), "")
				if err != nil || code != http.StatusCreated {
					errs <- fmt.Errorf("submit %d: %d %s %v", i, code, raw, err)
					return
				}
				submitLat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return result{}, err
	}
	if err := waitCounted(ctx, c, operator, warm+n, 10*time.Minute); err != nil {
		return result{}, err
	}
	elapsed := time.Since(began)
	cpuAfter := s.CPU()
	cpu := map[string]time.Duration{}
	for name, d := range cpuAfter {
		cpu[name] = d - cpuBefore[name]
	}
	lat, err := counted(dataDir, warm)
	if err != nil {
		return result{}, err
	}
	r := result{What: "pipeline: HTTP submit → counted in reporting", Broker: broker, Count: n, Elapsed: elapsed, PerSecond: float64(n) / elapsed.Seconds(), HasLatency: true, CPU: cpu}
	r.P50, r.P99 = pct(lat, 0.50), pct(lat, 0.99)
	r.SubmitP50, r.SubmitP99 = pct(submitLat, 0.50), pct(submitLat, 0.99)
	return r, nil
}

func waitCounted(ctx context.Context, c *e2e.Client, token string, want int, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		var p struct {
			ContributionsApplied int `json:"contributions_applied"`
		}
		code, raw, err := c.Do(ctx, http.MethodGet, c.Reporting+"/v1/pipeline", token, nil, nil, &p)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("reporting pipeline status: %d %s", code, raw)
		}
		if p.ContributionsApplied >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("reporting counted %d of %d within %s", p.ContributionsApplied, want, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// counted reads reporting's own record of when each contribution was
// counted, against the submission time the event carried, skipping the
// warm-up responses (the first `skip` submitted).
func counted(dataDir string, skip int) ([]time.Duration, error) {
	db, err := storage.Open(context.Background(), "sqlite:"+dataDir+"/reporting.db")
	if err != nil {
		return nil, err
	}
	defer storage.Close(db)
	var rows []struct {
		SubmittedAt time.Time
		CountedAt   time.Time
	}
	if err := db.Raw("SELECT submitted_at, counted_at FROM contributions ORDER BY submitted_at").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("read reporting's contributions: %w", err)
	}
	if len(rows) <= skip {
		return nil, fmt.Errorf("only %d contributions recorded", len(rows))
	}
	out := make([]time.Duration, 0, len(rows)-skip)
	for _, r := range rows[skip:] {
		out = append(out, r.CountedAt.Sub(r.SubmittedAt))
	}
	return out, nil
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(float64(len(s)-1)*p)]
}

// profileDir, when set by -profile, makes each pipeline run save 5-second CPU
// profiles of survey, scoring and reporting taken while the load runs.
var profileDir string

func captureProfiles(dataDir string) {
	time.Sleep(time.Second)
	var wg sync.WaitGroup
	for i, svc := range []string{"survey", "scoring", "reporting"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/debug/pprof/profile?seconds=5", 26060+i))
			if err != nil {
				return
			}
			defer resp.Body.Close()
			f, err := os.Create(filepath.Join(profileDir, filepath.Base(dataDir)+"-"+svc+".pprof"))
			if err != nil {
				return
			}
			defer f.Close()
			_, _ = io.Copy(f, resp.Body)
		}()
	}
	wg.Wait()
}
