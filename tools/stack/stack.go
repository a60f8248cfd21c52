// Package stack starts the whole platform on one machine: an embedded
// Kafka-protocol broker, the development OpenID provider with one issuer per
// demo organisation, and every service as its own process on SQLite files.
// `make run` (tools/devstack), the end-to-end tests and the benchmarks use it,
// so they exercise the same binaries, ports and events as each other.
package stack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"poet.local/apispecs"
	"poet.local/libs/testkit"
	"poet.local/libs/testkit/devoidc"
)

// Audience is the platform's token audience on the local run.
const Audience = "poet-platform"

// Service is one platform service and its local port.
type Service struct {
	Name string
	Port int
}

// Services lists the platform's services in start order: identity first so
// that organisations are announced before the others ask for them.
var Services = []Service{
	{"identity", 8083}, {"consent", 8082}, {"survey", 8081}, {"scoring", 8084}, {"reporting", 8085}, {"web", 8080},
}

// Options configure a local platform.
type Options struct {
	Root      string // repository root
	DataDir   string // SQLite files, binaries and logs
	KafkaAddr string // default 127.0.0.1:9092
	// Brokers, when set, points the services at an existing Kafka instead of
	// starting the embedded broker (the benchmark's real-Kafka run).
	Brokers  []string
	OIDCAddr string // default 127.0.0.1:9090
	PortBase int    // added to each service's port (0 for the defaults)
	LogLevel string
	Logger   *slog.Logger
	ExtraEnv map[string][]string // per service name, KEY=VALUE entries
	// DatabaseURL, when set, gives each service's DATABASE_URL (the
	// integration tier's PostgreSQL databases); otherwise SQLite files.
	DatabaseURL func(service string) string
	SkipBuild   bool
}

// Stack is a running local platform.
type Stack struct {
	opts    Options
	Kafka   *testkit.EmbeddedKafka
	Brokers []string
	OIDC    *devoidc.Server
	procs   []*proc
}

type proc struct {
	svc  Service
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// URL returns a service's base URL.
func (s *Stack) URL(name string) string {
	for _, svc := range Services {
		if svc.Name == name {
			return fmt.Sprintf("http://127.0.0.1:%d", svc.Port+s.opts.PortBase)
		}
	}
	return ""
}

// Start builds the services, starts broker, issuer and services, and waits
// until every service reports ready.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.KafkaAddr == "" {
		o.KafkaAddr = "127.0.0.1:9092"
	}
	if o.OIDCAddr == "" {
		o.OIDCAddr = "127.0.0.1:9090"
	}
	if o.LogLevel == "" {
		o.LogLevel = "info"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, d := range []string{o.DataDir, filepath.Join(o.DataDir, "logs"), filepath.Join(o.DataDir, "bin")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	s := &Stack{opts: o}
	if !o.SkipBuild {
		if err := Build(ctx, o.Root, filepath.Join(o.DataDir, "bin")); err != nil {
			return nil, err
		}
	}
	if len(o.Brokers) > 0 {
		s.Brokers = o.Brokers
	} else {
		var topics []string
		for _, t := range apispecs.Topics() {
			topics = append(topics, t.Name)
		}
		k, err := testkit.StartKafka(o.KafkaAddr, topics...)
		if err != nil {
			return nil, err
		}
		s.Kafka, s.Brokers = k, k.Addrs()
	}
	oidc, err := devoidc.Start(ctx, devoidc.Config{
		Addr:          o.OIDCAddr,
		Audience:      Audience,
		Organisations: devoidc.DemoOrganisations(Audience, fmt.Sprintf("http://127.0.0.1:%d/auth/callback", 8080+o.PortBase)),
		Logger:        o.Logger,
	})
	if err != nil {
		s.Close(context.Background())
		return nil, fmt.Errorf("development OIDC issuer: %w", err)
	}
	s.OIDC = oidc
	for _, svc := range Services {
		if err := s.startService(svc); err != nil {
			s.Close(context.Background())
			return nil, err
		}
	}
	if err := s.WaitReady(ctx, 90*time.Second); err != nil {
		s.Close(context.Background())
		return nil, err
	}
	return s, nil
}

// Build compiles every service into binDir with one go build, so the
// packages they share compile once.
func Build(ctx context.Context, root, binDir string) error {
	args := []string{"build", "-o", binDir + string(os.PathSeparator)}
	for _, svc := range Services {
		args = append(args, "./services/"+svc.Name+"/cmd/"+svc.Name)
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build: %v\n%s", err, out)
	}
	return nil
}

func (s *Stack) env(svc Service) []string {
	o := s.opts
	env := append(os.Environ(),
		"SERVICE_NAME="+svc.Name,
		fmt.Sprintf("HTTP_ADDR=127.0.0.1:%d", svc.Port+o.PortBase),
		"LOG_LEVEL="+o.LogLevel,
		"KAFKA_BROKERS="+strings.Join(s.Brokers, ","),
		"AUTH_ISSUERS="+s.OIDC.IssuersJSON(),
		"OTEL_EXPORTER_OTLP_ENDPOINT=",
	)
	if svc.Name != "web" {
		dsn := "sqlite:" + filepath.Join(o.DataDir, svc.Name+".db")
		if o.DatabaseURL != nil {
			dsn = o.DatabaseURL(svc.Name)
		}
		env = append(env, "DATABASE_URL="+dsn)
	}
	switch svc.Name {
	case "identity":
		env = append(env, "IDENTITY_SEED_DEMO=true", "IDENTITY_DEMO_ISSUER_BASE="+s.OIDC.BaseURL(), "IDENTITY_DEV_KEYS=true")
	case "survey":
		// The embedded-in-review API asks identity for subject references.
		env = append(env, fmt.Sprintf("IDENTITY_URL=http://127.0.0.1:%d", 8083+o.PortBase))
	case "reporting":
		// Journeys: reporting asks identity for person keys with its own
		// client-credentials token from the platform's (national) issuer.
		env = append(env, fmt.Sprintf("IDENTITY_URL=http://127.0.0.1:%d", 8083+o.PortBase),
			"REPORTING_TOKEN_URL="+s.OIDC.IssuerURL("national-demo")+"/oauth/token",
			"REPORTING_CLIENT_ID=poet-service", "REPORTING_CLIENT_SECRET=dev-secret")
	case "web":
		for _, other := range Services {
			if other.Name != "web" {
				env = append(env, fmt.Sprintf("%s_URL=http://127.0.0.1:%d", strings.ToUpper(other.Name), other.Port+o.PortBase))
			}
		}
	}
	return append(env, o.ExtraEnv[svc.Name]...)
}

func (s *Stack) startService(svc Service) error {
	logPath := filepath.Join(s.opts.DataDir, "logs", svc.Name+".log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(s.opts.DataDir, "bin", svc.Name))
	cmd.Dir = s.opts.Root
	cmd.Env = s.env(svc)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", svc.Name, err)
	}
	p := &proc{svc: svc, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logFile.Close()
		close(p.done)
	}()
	s.procs = append(s.procs, p)
	return nil
}

// WaitReady polls every service's /readyz until all answer 200.
func (s *Stack) WaitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for _, p := range s.procs {
		url := s.URL(p.svc.Name) + "/readyz"
		for {
			select {
			case <-p.done:
				return fmt.Errorf("%s stopped during start-up (%v); its log: %s\n%s", p.svc.Name, p.err, s.LogPath(p.svc.Name), tail(s.LogPath(p.svc.Name), 15))
			default:
			}
			resp, err := client.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s was not ready within %s; its log: %s\n%s", p.svc.Name, limit, s.LogPath(p.svc.Name), tail(s.LogPath(p.svc.Name), 15))
			case <-time.After(100 * time.Millisecond):
			}
		}
	}
	return nil
}

// LogPath is where a service's JSON log goes.
func (s *Stack) LogPath(name string) string {
	return filepath.Join(s.opts.DataDir, "logs", name+".log")
}

// Token mints an access token for a demo user of a demo organisation.
func (s *Stack) Token(slug, username string) (string, error) { return s.OIDC.Mint(slug, username) }

// Close stops the services with SIGTERM (graceful), then the issuer and the
// broker. A service that has not stopped after 25 s is killed.
func (s *Stack) Close(ctx context.Context) error {
	var errs []error
	var wg sync.WaitGroup
	for i := len(s.procs) - 1; i >= 0; i-- {
		p := s.procs[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(25 * time.Second):
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.done
				errs = append(errs, fmt.Errorf("%s did not stop within 25s", p.svc.Name))
			}
		}()
	}
	wg.Wait()
	if s.OIDC != nil {
		errs = append(errs, s.OIDC.Close(ctx))
	}
	if s.Kafka != nil {
		s.Kafka.Close()
	}
	return errors.Join(errs...)
}

// Exited reports services that have stopped by themselves.
func (s *Stack) Exited() []string {
	var out []string
	for _, p := range s.procs {
		select {
		case <-p.done:
			out = append(out, p.svc.Name)
		default:
		}
	}
	return out
}

// CPU returns the processor time (user + system) each running service has
// used so far, read from /proc; the benchmark reports it per service.
func (s *Stack) CPU() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, p := range s.procs {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
		if err != nil {
			continue
		}
		// Fields after the command name (which may hold spaces) start at ")".
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		if len(f) < 13 {
			continue
		}
		var ut, st int64
		fmt.Sscan(f[11], &ut)
		fmt.Sscan(f[12], &st)
		out[p.svc.Name] = time.Duration(ut+st) * time.Second / 100 // USER_HZ is 100 on Linux
	}
	return out
}

func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	return strings.Join(lines, "\n")
}
