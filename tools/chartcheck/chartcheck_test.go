//go:build charts

// These tests need helm (tools/chartcheck/install-helm.sh); `make charts-check`
// runs them with -tags charts, so the Go-only fast tier does not need helm.

package chartcheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// servicePorts is the platform's contract: every service, its HTTP port.
var servicePorts = map[string]int32{
	"survey":    8081,
	"consent":   8082,
	"identity":  8083,
	"scoring":   8084,
	"reporting": 8085,
	"web":       8080,
}

// withDatabase lists the services that get DATABASE_URL (web has no store).
var withDatabase = []string{"survey", "consent", "identity", "scoring", "reporting"}

const (
	release     = "poet"
	chartDir    = "charts/poet"
	allOnValues = "tools/chartcheck/testdata/all-on.yaml"
	// Pinned so the render does not depend on how the helm binary was built
	// (a plain `go install` helm assumes Kubernetes 1.20).
	kubeVersion = "1.34.0"
)

func serviceNames() []string {
	names := make([]string, 0, len(servicePorts))
	for n := range servicePorts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// repoRoot is two levels above this package; checked by its contents.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"go.work", chartDir, "skaffold.yaml"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Fatalf("repo root %s: %v", root, err)
		}
	}
	return root
}

func helmBin(t *testing.T) string {
	t.Helper()
	p, err := FindHelm()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// runHelm runs helm in the repo root and returns stdout; stderr goes into
// the error so failures explain themselves.
func runHelm(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(helmBin(t), args...)
	cmd.Dir = repoRoot(t)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("helm %s: %w\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return out, nil
}

// render runs helm template with the given extra arguments and strictly
// decodes the result, failing the test on any undecodable document.
func render(t *testing.T, extra ...string) []Object {
	t.Helper()
	args := append([]string{"template", release, chartDir, "--namespace", "poet", "--kube-version", kubeVersion}, extra...)
	out, err := runHelm(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DecodeAll(out)
	if err != nil {
		t.Fatalf("rendered manifests do not decode strictly:\n%v", err)
	}
	return objs
}

// index groups decoded objects by kind and name.
type index map[string]map[string]Object

func byKind(objs []Object) index {
	ix := index{}
	for _, o := range objs {
		kind := strings.TrimPrefix(fmt.Sprintf("%T", o), "*")
		if ix[kind] == nil {
			ix[kind] = map[string]Object{}
		}
		ix[kind][o.GetName()] = o
	}
	return ix
}

func (ix index) counts() map[string]int {
	c := map[string]int{}
	for k, m := range ix {
		c[k] = len(m)
	}
	return c
}

func wantCounts(t *testing.T, ix index, want map[string]int) {
	t.Helper()
	got := ix.counts()
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: rendered %d, want %d (all counts: %v)", k, got[k], n, got)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected kind %s rendered (%d)", k, got[k])
		}
	}
}

func get[T Object](t *testing.T, ix index, kind, name string) T {
	t.Helper()
	o, ok := ix[kind][name]
	if !ok {
		t.Fatalf("no %s %q rendered", kind, name)
	}
	return o.(T)
}

func TestHelmLintStrict(t *testing.T) {
	for _, values := range []string{"", allOnValues, "charts/env/dev.yaml", "charts/env/prod.yaml"} {
		args := []string{"lint", "--strict", chartDir}
		if values != "" {
			args = append(args, "--values", values)
		}
		if _, err := runHelm(t, args...); err != nil {
			t.Errorf("values %q: %v", values, err)
		}
	}
}

// The schema is what turns a typo in values into a failure; make sure it bites.
func TestSchemaRejectsTyposInValues(t *testing.T) {
	for _, set := range []string{
		"services.survy.enabled=true",                // unknown service
		"defaults.replcas=2",                         // unknown default
		"services.survey.autoscaling.enabeld=true",   // typo in a nested override
		"services.web.env.DATABASE_URL=postgres://x", // would shadow the chart's own variable
		"services.consent.logLevel=verbose",          // not a level the services know
		"global.kafka.brokers=a:9092 b:9092",         // space instead of a comma
		"networkPolicy.ingressControllerNamespace=",  // policy would match nothing
		"services.identity.database.existingSecret=", // DATABASE_URL from nowhere
	} {
		out, err := runHelm(t, "lint", "--strict", chartDir, "--set", set)
		if err == nil {
			t.Errorf("--set %s: helm lint --strict passed, want a schema failure\n%s", set, out)
		} else if !strings.Contains(err.Error(), "schema") {
			t.Errorf("--set %s: failed, but not on the schema: %v", set, err)
		}
	}
}

func TestRenderDefaults(t *testing.T) {
	objs := render(t)
	ix := byKind(objs)
	t.Logf("default values: %d documents %v", len(objs), ix.counts())
	wantCounts(t, ix, map[string]int{
		"v1.Deployment": 6, "v1.Service": 6, "v1.ServiceAccount": 6,
		"v1.ConfigMap": 1, "v1.NetworkPolicy": 6,
	})
	for _, name := range serviceNames() {
		checkService(t, ix, name, 1)
	}
	cm := get[*corev1.ConfigMap](t, ix, "v1.ConfigMap", "poet-auth-issuers")
	if cm.Data["issuers.json"] != "[]" {
		t.Errorf("issuers.json = %q, want []", cm.Data["issuers.json"])
	}
	// Without an Ingress nothing outside the release may reach web.
	np := get[*networkingv1.NetworkPolicy](t, ix, "v1.NetworkPolicy", "poet-web")
	if got := allowedNamespaces(np); len(got) != 0 {
		t.Errorf("web NetworkPolicy admits namespaces %v with ingress disabled", got)
	}
}

func TestRenderAllOn(t *testing.T) {
	objs := render(t, "--values", allOnValues)
	ix := byKind(objs)
	t.Logf("all-on values: %d documents %v", len(objs), ix.counts())
	wantCounts(t, ix, map[string]int{
		"v1.Deployment": 6, "v1.Service": 6, "v1.ServiceAccount": 6, "v1.ConfigMap": 1,
		"v1.NetworkPolicy": 6, "v1.PodDisruptionBudget": 6, "v2.HorizontalPodAutoscaler": 2,
		"v1.Ingress": 1,
	})
	for _, name := range serviceNames() {
		checkService(t, ix, name, 2)
		pdb := get[*policyv1.PodDisruptionBudget](t, ix, "v1.PodDisruptionBudget", "poet-"+name)
		dep := get[*appsv1.Deployment](t, ix, "v1.Deployment", "poet-"+name)
		if pdb.Spec.MaxUnavailable == nil || pdb.Spec.MaxUnavailable.IntValue() != 1 {
			t.Errorf("%s PDB maxUnavailable = %v, want 1", name, pdb.Spec.MaxUnavailable)
		}
		if !selects(pdb.Spec.Selector.MatchLabels, dep.Spec.Template.Labels) {
			t.Errorf("%s PDB selector %v misses the pods %v", name, pdb.Spec.Selector.MatchLabels, dep.Spec.Template.Labels)
		}
		c := dep.Spec.Template.Spec.Containers[0]
		if c.Image != "registry.example.org/poet/poet-"+name+":1.2.3" {
			t.Errorf("%s image = %q", name, c.Image)
		}
		if dep.Labels["team"] != "poet-platform" {
			t.Errorf("%s: commonLabels missing: %v", name, dep.Labels)
		}
	}

	// Autoscaled services leave replicas to the HPA.
	for _, name := range []string{"survey", "web"} {
		hpa := get[*autoscalingv2.HorizontalPodAutoscaler](t, ix, "v2.HorizontalPodAutoscaler", "poet-"+name)
		if hpa.Spec.ScaleTargetRef.Name != "poet-"+name || hpa.Spec.ScaleTargetRef.Kind != "Deployment" {
			t.Errorf("%s HPA targets %+v", name, hpa.Spec.ScaleTargetRef)
		}
		if dep := get[*appsv1.Deployment](t, ix, "v1.Deployment", "poet-"+name); dep.Spec.Replicas != nil {
			t.Errorf("%s is autoscaled but its Deployment fixes replicas=%d", name, *dep.Spec.Replicas)
		}
	}
	if hpa := get[*autoscalingv2.HorizontalPodAutoscaler](t, ix, "v2.HorizontalPodAutoscaler", "poet-survey"); *hpa.Spec.MinReplicas != 3 || hpa.Spec.MaxReplicas != 10 {
		t.Errorf("survey HPA %d..%d, want 3..10 from values", *hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	}

	ing := get[*networkingv1.Ingress](t, ix, "v1.Ingress", "poet-web")
	if len(ing.Spec.Rules) != 1 || ing.Spec.Rules[0].Host != "poet.example.org" {
		t.Fatalf("ingress rules %+v", ing.Spec.Rules)
	}
	backend := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service
	if backend.Name != "poet-web" || backend.Port.Name != "http" {
		t.Errorf("ingress backend %+v, want poet-web:http", backend)
	}
	if len(ing.Spec.TLS) != 1 || ing.Spec.TLS[0].SecretName != "poet-web-tls" {
		t.Errorf("ingress TLS %+v", ing.Spec.TLS)
	}

	// The ingress controller reaches web only; monitoring reaches everyone.
	for _, name := range serviceNames() {
		np := get[*networkingv1.NetworkPolicy](t, ix, "v1.NetworkPolicy", "poet-"+name)
		want := []string{"monitoring"}
		if name == "web" {
			want = []string{"ingress-nginx", "monitoring"}
		}
		if got := allowedNamespaces(np); !slices.Equal(got, want) {
			t.Errorf("%s NetworkPolicy admits namespaces %v, want %v", name, got, want)
		}
	}

	env := envOf(get[*appsv1.Deployment](t, ix, "v1.Deployment", "poet-web"))
	if env["SURVEY_URL"].Value != "http://poet-survey:8081" {
		t.Errorf("templated env SURVEY_URL = %q", env["SURVEY_URL"].Value)
	}
	idEnv := envOf(get[*appsv1.Deployment](t, ix, "v1.Deployment", "poet-identity"))
	if ref := idEnv["IDENTITY_KEKS"].ValueFrom; ref == nil || ref.SecretKeyRef == nil || ref.SecretKeyRef.Name != "poet-identity-keys-rotated" {
		t.Errorf("secretEnv IDENTITY_KEKS = %+v", idEnv["IDENTITY_KEKS"])
	}
	if lvl := envOf(get[*appsv1.Deployment](t, ix, "v1.Deployment", "poet-reporting"))["LOG_LEVEL"].Value; lvl != "debug" {
		t.Errorf("reporting LOG_LEVEL = %q, want the per-service override", lvl)
	}
	rep := get[*appsv1.Deployment](t, ix, "v1.Deployment", "poet-reporting").Spec.Template.Spec.Containers[0].Resources
	if rep.Limits.Memory().String() != "512Mi" || rep.Requests.Memory().String() != "64Mi" {
		t.Errorf("reporting resources %v: want the limit overridden and default requests kept", rep)
	}
}

// The environment files used by the Skaffold profiles must render too.
func TestRenderProfiles(t *testing.T) {
	for file, replicas := range map[string]int32{"charts/env/dev.yaml": 1, "charts/env/prod.yaml": 2} {
		objs := render(t, "--values", file)
		ix := byKind(objs)
		t.Logf("%s: %d documents %v", file, len(objs), ix.counts())
		for _, name := range serviceNames() {
			checkService(t, ix, name, replicas)
		}
	}
}

// Skaffold sets each image's repository and "<tag>@<digest>", with an empty
// digest for images it did not push; both must give a valid reference.
func TestSkaffoldImageValues(t *testing.T) {
	for tag, want := range map[string]string{
		"abc123@": "localhost:5000/poet-survey:abc123",
		"abc123@sha256:" + strings.Repeat("0", 64): "localhost:5000/poet-survey:abc123@sha256:" + strings.Repeat("0", 64),
	} {
		objs := render(t,
			"--set-string", "services.survey.image.repository=localhost:5000/poet-survey",
			"--set-string", "services.survey.image.tag="+tag)
		dep := get[*appsv1.Deployment](t, byKind(objs), "v1.Deployment", "poet-survey")
		if got := dep.Spec.Template.Spec.Containers[0].Image; got != want {
			t.Errorf("tag %q: image %q, want %q", tag, got, want)
		}
	}
}

// checkService asserts the contract for one service: Deployment with both
// probes on the right path and port, hardened security context, graceful
// shutdown and scrape annotations; a Service in front; its ServiceAccount.
func checkService(t *testing.T, ix index, name string, minReplicas int32) {
	t.Helper()
	full := "poet-" + name
	port := servicePorts[name]
	dep := get[*appsv1.Deployment](t, ix, "v1.Deployment", full)
	spec := dep.Spec.Template.Spec

	if dep.Spec.Replicas != nil && *dep.Spec.Replicas != minReplicas {
		t.Errorf("%s replicas = %d, want %d", name, *dep.Spec.Replicas, minReplicas)
	}
	if !selects(dep.Spec.Selector.MatchLabels, dep.Spec.Template.Labels) {
		t.Errorf("%s: selector %v does not match its own pods", name, dep.Spec.Selector.MatchLabels)
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", name, len(spec.Containers))
	}
	c := spec.Containers[0]
	if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != port {
		t.Errorf("%s ports %+v, want http:%d", name, c.Ports, port)
	}
	for probeName, tc := range map[string]struct {
		probe *corev1.Probe
		path  string
	}{
		"liveness":  {c.LivenessProbe, "/healthz"},
		"readiness": {c.ReadinessProbe, "/readyz"},
		"startup":   {c.StartupProbe, "/healthz"},
	} {
		if tc.probe == nil || tc.probe.HTTPGet == nil {
			t.Errorf("%s: no HTTP %s probe", name, probeName)
			continue
		}
		if tc.probe.HTTPGet.Path != tc.path {
			t.Errorf("%s %s probe path %q, want %q", name, probeName, tc.probe.HTTPGet.Path, tc.path)
		}
		if p := resolvePort(c, tc.probe.HTTPGet.Port.String()); p != port {
			t.Errorf("%s %s probe port %s resolves to %d, want %d", name, probeName, tc.probe.HTTPGet.Port.String(), p, port)
		}
	}

	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Errorf("%s: pod must run as a non-root user: %+v", name, psc)
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: pod seccomp profile must be RuntimeDefault", name)
	}
	csc := c.SecurityContext
	switch {
	case csc == nil:
		t.Errorf("%s: container has no securityContext", name)
	case csc.RunAsNonRoot == nil || !*csc.RunAsNonRoot:
		t.Errorf("%s: container runAsNonRoot not set", name)
	case csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem:
		t.Errorf("%s: root filesystem is writable", name)
	case csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation:
		t.Errorf("%s: privilege escalation allowed", name)
	case csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(csc.Capabilities.Add) > 0:
		t.Errorf("%s: capabilities %+v, want drop [ALL]", name, csc.Capabilities)
	case csc.SeccompProfile == nil || csc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Errorf("%s: container seccomp profile must be RuntimeDefault", name)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Errorf("%s: service account token is mounted", name)
	}

	grace := spec.TerminationGracePeriodSeconds
	if grace == nil || *grace < 30 {
		t.Errorf("%s terminationGracePeriodSeconds = %v, want >= 30", name, grace)
	}
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Sleep == nil ||
		c.Lifecycle.PreStop.Sleep.Seconds < 1 || (grace != nil && c.Lifecycle.PreStop.Sleep.Seconds >= *grace) {
		t.Errorf("%s: want a preStop sleep shorter than the grace period, got %+v", name, c.Lifecycle)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: resources must request cpu and memory and limit memory: %+v", name, c.Resources)
	}

	ann := dep.Spec.Template.Annotations
	if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/path"] != "/metrics" || ann["prometheus.io/port"] != fmt.Sprint(port) {
		t.Errorf("%s scrape annotations %v", name, ann)
	}

	env := envOf(dep)
	for k, want := range map[string]string{"SERVICE_NAME": name, "HTTP_ADDR": fmt.Sprintf(":%d", port)} {
		if env[k].Value != want {
			t.Errorf("%s env %s = %q, want %q", name, k, env[k].Value, want)
		}
	}
	for _, k := range []string{"LOG_LEVEL", "KAFKA_BROKERS", "OTEL_EXPORTER_OTLP_ENDPOINT"} {
		if env[k].Value == "" {
			t.Errorf("%s env %s is empty", name, k)
		}
	}
	if ref := env["AUTH_ISSUERS"].ValueFrom; ref == nil || ref.ConfigMapKeyRef == nil || ref.ConfigMapKeyRef.Name != "poet-auth-issuers" {
		t.Errorf("%s AUTH_ISSUERS must come from the issuers ConfigMap: %+v", name, env["AUTH_ISSUERS"])
	}
	db, hasDB := env["DATABASE_URL"]
	if slices.Contains(withDatabase, name) {
		if !hasDB || db.Value != "" || db.ValueFrom == nil || db.ValueFrom.SecretKeyRef == nil ||
			db.ValueFrom.SecretKeyRef.Name == "" || db.ValueFrom.SecretKeyRef.Key == "" {
			t.Errorf("%s DATABASE_URL must come from a Secret: %+v", name, db)
		}
	} else if hasDB {
		t.Errorf("%s has no database but gets DATABASE_URL", name)
	}

	svc := get[*corev1.Service](t, ix, "v1.Service", full)
	if svc.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("%s Service type %q, want ClusterIP", name, svc.Spec.Type)
	}
	if !selects(svc.Spec.Selector, dep.Spec.Template.Labels) {
		t.Errorf("%s Service selector %v misses pods %v", name, svc.Spec.Selector, dep.Spec.Template.Labels)
	}
	if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != port || resolvePort(c, svc.Spec.Ports[0].TargetPort.String()) != port {
		t.Errorf("%s Service ports %+v, want %d -> container %d", name, svc.Spec.Ports, port, port)
	}
	sa := get[*corev1.ServiceAccount](t, ix, "v1.ServiceAccount", full)
	if spec.ServiceAccountName != sa.Name {
		t.Errorf("%s runs as %q, not its own ServiceAccount", name, spec.ServiceAccountName)
	}
	if np, ok := ix["v1.NetworkPolicy"][full]; ok {
		if !selects(np.(*networkingv1.NetworkPolicy).Spec.PodSelector.MatchLabels, dep.Spec.Template.Labels) {
			t.Errorf("%s NetworkPolicy does not select its pods", name)
		}
	}
}

// resolvePort turns a probe or Service target (number or port name) into the
// container port number it reaches, or 0.
func resolvePort(c corev1.Container, target string) int32 {
	for _, p := range c.Ports {
		if p.Name == target || fmt.Sprint(p.ContainerPort) == target {
			return p.ContainerPort
		}
	}
	return 0
}

func selects(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func envOf(dep *appsv1.Deployment) map[string]corev1.EnvVar {
	m := map[string]corev1.EnvVar{}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		m[e.Name] = e
	}
	return m
}

func allowedNamespaces(np *networkingv1.NetworkPolicy) []string {
	var ns []string
	for _, rule := range np.Spec.Ingress {
		for _, peer := range rule.From {
			if peer.NamespaceSelector != nil {
				ns = append(ns, peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"])
			}
		}
	}
	slices.Sort(ns)
	return ns
}

// The checker itself: broken manifests must be rejected, a good one accepted.
func TestDecodeIsStrict(t *testing.T) {
	const good = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ok
spec:
  replicas: 2
  selector:
    matchLabels: {app: ok}
  template:
    metadata:
      labels: {app: ok}
    spec:
      containers:
        - name: ok
          image: ok:1
`
	obj, err := Decode([]byte(good))
	if err != nil {
		t.Fatalf("valid Deployment rejected: %v", err)
	}
	if d := obj.(*appsv1.Deployment); *d.Spec.Replicas != 2 {
		t.Fatalf("decoded replicas %d, want 2", *d.Spec.Replicas)
	}

	for name, tc := range map[string]struct{ doc, wantErr string }{
		"unknown field": {
			doc:     strings.Replace(good, "replicas: 2", "replicas: 2\n  replica: 3", 1),
			wantErr: `unknown field "spec.replica"`,
		},
		"misplaced field": {
			doc:     strings.Replace(good, "          image: ok:1", "          image: ok:1\n          readinessPath: /readyz", 1),
			wantErr: "unknown field",
		},
		"wrong case": {
			doc:     strings.Replace(good, "replicas: 2", "Replicas: 2", 1),
			wantErr: "unknown field",
		},
		"duplicate key": {
			doc:     strings.Replace(good, "replicas: 2", "replicas: 2\n  replicas: 3", 1),
			wantErr: `key "replicas" already set`,
		},
		"wrong type": {
			doc:     strings.Replace(good, "replicas: 2", "replicas: two", 1),
			wantErr: "cannot unmarshal",
		},
		"unknown kind": {
			doc:     strings.Replace(good, "kind: Deployment", "kind: StatefulSet", 1),
			wantErr: "unexpected kind",
		},
		"old apiVersion": {
			doc:     strings.Replace(good, "apps/v1", "extensions/v1beta1", 1),
			wantErr: "unexpected kind",
		},
		"no name": {
			doc:     strings.Replace(good, "  name: ok\nspec", "  labels: {}\nspec", 1),
			wantErr: "metadata.name",
		},
	} {
		if tc.doc == good {
			t.Fatalf("%s: test case did not change the manifest", name)
		}
		_, err := Decode([]byte(tc.doc))
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.wantErr)
		}
	}
}

func TestDecodeAllReportsEachBadDocument(t *testing.T) {
	stream := "# Source: poet/templates/a.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: a\n" +
		"---\n# Source: poet/templates/empty.yaml\n# nothing rendered\n" +
		"---\n# Source: poet/templates/b.yaml\napiVersion: v1\nkind: Service\nmetadata:\n  name: b\nspec:\n  portz: []\n"
	if n := len(SplitDocuments([]byte(stream))); n != 2 {
		t.Fatalf("split into %d documents, want 2 (comment-only dropped)", n)
	}
	objs, err := DecodeAll([]byte(stream))
	if len(objs) != 1 || err == nil || !strings.Contains(err.Error(), "poet/templates/b.yaml") {
		t.Fatalf("objs=%d err=%v: want 1 decoded and an error naming b.yaml", len(objs), err)
	}
}

// skaffoldConfig holds the parts of skaffold.yaml the platform relies on.
type skaffoldConfig struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Build      struct {
		Artifacts []struct {
			Image string `json:"image"`
			Ko    *struct {
				Dir  string `json:"dir"`
				Main string `json:"main"`
			} `json:"ko"`
		} `json:"artifacts"`
	} `json:"build"`
	Manifests struct {
		Helm struct {
			Releases []struct {
				Name              string            `json:"name"`
				ChartPath         string            `json:"chartPath"`
				SetValueTemplates map[string]string `json:"setValueTemplates"`
			} `json:"releases"`
		} `json:"helm"`
	} `json:"manifests"`
	PortForward []struct {
		ResourceType string `json:"resourceType"`
		ResourceName string `json:"resourceName"`
		Port         any    `json:"port"`
	} `json:"portForward"`
	Profiles []struct {
		Name    string `json:"name"`
		Patches []struct {
			Path  string `json:"path"`
			Value any    `json:"value"`
		} `json:"patches"`
	} `json:"profiles"`
}

func TestSkaffoldConfig(t *testing.T) {
	root := repoRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, "skaffold.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg skaffoldConfig
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatalf("skaffold.yaml: %v", err)
	}
	if !strings.HasPrefix(cfg.APIVersion, "skaffold/v4") || cfg.Kind != "Config" {
		t.Errorf("skaffold.yaml is %s %s, want a skaffold/v4* Config", cfg.APIVersion, cfg.Kind)
	}

	got := map[string]string{}
	for _, a := range cfg.Build.Artifacts {
		if a.Ko == nil {
			t.Errorf("artifact %s is not built with ko", a.Image)
			continue
		}
		if a.Ko.Dir != "." {
			t.Errorf("artifact %s: ko.dir %q, want \".\" (the go.work root)", a.Image, a.Ko.Dir)
		}
		if _, dup := got[a.Image]; dup {
			t.Errorf("artifact %s listed twice", a.Image)
		}
		got[a.Image] = a.Ko.Main
	}
	if len(got) != len(servicePorts) || len(cfg.Build.Artifacts) != len(servicePorts) {
		t.Errorf("skaffold builds %d artifacts %v, want exactly the %d services", len(cfg.Build.Artifacts), got, len(servicePorts))
	}
	for _, name := range serviceNames() {
		image := "poet-" + name
		wantMain := "./services/" + name + "/cmd/" + name
		if got[image] != wantMain {
			t.Errorf("artifact %s main = %q, want %q", image, got[image], wantMain)
			continue
		}
		// The main package must exist: ko builds it from the repo root.
		goFiles, _ := filepath.Glob(filepath.Join(root, wantMain, "*.go"))
		if len(goFiles) == 0 {
			t.Errorf("artifact %s: no Go files in %s", image, wantMain)
		}
	}

	if n := len(cfg.Manifests.Helm.Releases); n != 1 {
		t.Fatalf("%d helm releases, want 1", n)
	}
	rel := cfg.Manifests.Helm.Releases[0]
	if rel.ChartPath != chartDir {
		t.Errorf("release chartPath %q, want %q", rel.ChartPath, chartDir)
	}
	for _, name := range serviceNames() {
		key := "poet_" + name
		if v := rel.SetValueTemplates["services."+name+".image.repository"]; v != "{{.IMAGE_REPO_"+key+"}}" {
			t.Errorf("setValueTemplates for %s repository = %q", name, v)
		}
		if v := rel.SetValueTemplates["services."+name+".image.tag"]; v != "{{.IMAGE_TAG_"+key+"}}@{{.IMAGE_DIGEST_"+key+"}}" {
			t.Errorf("setValueTemplates for %s tag = %q", name, v)
		}
	}
	if len(rel.SetValueTemplates) != 2*len(servicePorts) {
		t.Errorf("%d setValueTemplates, want repository and tag for each of %d services", len(rel.SetValueTemplates), len(servicePorts))
	}

	fwd := false
	for _, pf := range cfg.PortForward {
		fwd = fwd || (pf.ResourceType == "service" && pf.ResourceName == "poet-web" && fmt.Sprint(pf.Port) == "8080")
	}
	if !fwd {
		t.Errorf("no portForward for service poet-web:8080: %+v", cfg.PortForward)
	}

	profiles := map[string]bool{}
	for _, p := range cfg.Profiles {
		profiles[p.Name] = true
		for _, patch := range p.Patches {
			if !strings.HasSuffix(patch.Path, "/valuesFiles") {
				continue
			}
			files, _ := patch.Value.([]any)
			if len(files) == 0 {
				t.Errorf("profile %s: empty valuesFiles patch", p.Name)
			}
			for _, f := range files {
				if _, err := os.Stat(filepath.Join(root, fmt.Sprint(f))); err != nil {
					t.Errorf("profile %s: values file: %v", p.Name, err)
				}
			}
		}
	}
	for _, want := range []string{"dev", "prod"} {
		if !profiles[want] {
			t.Errorf("no %s profile", want)
		}
	}
}
